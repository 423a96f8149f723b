/* gpus_driver.c — GPU discovery through the CUDA driver API (libcuda.so.1), loaded
 * with dlopen: what the NVIDIA container toolkit mounts into a GPU container (with
 * NVML), where no CUDA runtime library exists (the images have none: the RAPIDS jar
 * carries its own, statically). The driver API numbers devices as the runtime does
 * (both honour CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER), so Spark's addresses
 * are the same whichever library answered. See gpus.h. */
#include "launcher/sys/gpus.h"
#include "launcher/sys/errmsg.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CUresult values (cuda.h, enum cudaError_enum; the same in CUDA 12 and 13). */
enum {
    CU_SUCCESS = 0,
    CU_ERROR_NOT_INITIALIZED = 3,
    CU_ERROR_STUB_LIBRARY = 34,
    CU_ERROR_NO_DEVICE = 100,
    CU_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    CU_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
};

/* CUdevice_attribute (cuda.h): compute capability major and minor. */
enum { CU_ATTR_CC_MAJOR = 75, CU_ATTR_CC_MINOR = 76 };

enum { GPUS_MAX_DEVICES = 1024 };

typedef int (*cu_init_fn)(unsigned int flags);
typedef int (*cu_int_out_fn)(int *value);
typedef int (*cu_device_get_fn)(int *device, int ordinal);
typedef int (*cu_name_fn)(char *name, int len, int device);
typedef int (*cu_total_mem_fn)(size_t *bytes, int device);
typedef int (*cu_attribute_fn)(int *value, int attribute, int device);
typedef int (*cu_uuid_fn)(unsigned char uuid[16], int device);
typedef int (*cu_error_text_fn)(int error, const char **text);

struct libcuda {
    void *handle;
    char library[4096];
    cu_init_fn init;
    cu_int_out_fn driver_get_version;
    cu_int_out_fn device_get_count;
    cu_device_get_fn device_get;
    cu_name_fn device_get_name;
    cu_total_mem_fn device_total_mem;
    cu_attribute_fn device_get_attribute;
    cu_name_fn device_get_pci_bus_id;
    cu_uuid_fn device_get_uuid;        /* optional */
    cu_error_text_fn get_error_name;   /* optional */
    cu_error_text_fn get_error_string; /* optional */
};

static void describe(const struct libcuda *cu, int rc, char *buf, size_t len)
{
    const char *name = NULL, *text = NULL;
    if (cu->get_error_name)
        cu->get_error_name(rc, &name);
    if (cu->get_error_string)
        cu->get_error_string(rc, &text);
    if (name)
        snprintf(buf, len, "%s: %s", name, text ? text : "no description");
    else
        snprintf(buf, len, "CUresult %d", rc);
}

static void *symbol(struct libcuda *cu, const char *name, int required, struct error *err)
{
    dlerror();
    void *sym = dlsym(cu->handle, name);
    if (!sym && required)
        error_set(err, ERR_SYSTEM, "%s is not a usable NVIDIA driver library: symbol %s is missing",
                  cu->library, name);
    return sym;
}

static int resolve_all(struct libcuda *cu, struct error *err)
{
    /* Casts through void * are the dlsym idiom (POSIX guarantees they work). */
    if (!(cu->init = (cu_init_fn)symbol(cu, "cuInit", 1, err)) ||
        !(cu->driver_get_version = (cu_int_out_fn)symbol(cu, "cuDriverGetVersion", 1, err)) ||
        !(cu->device_get_count = (cu_int_out_fn)symbol(cu, "cuDeviceGetCount", 1, err)) ||
        !(cu->device_get = (cu_device_get_fn)symbol(cu, "cuDeviceGet", 1, err)) ||
        !(cu->device_get_name = (cu_name_fn)symbol(cu, "cuDeviceGetName", 1, err)) ||
        !(cu->device_total_mem = (cu_total_mem_fn)symbol(cu, "cuDeviceTotalMem_v2", 1, err)) ||
        !(cu->device_get_attribute =
              (cu_attribute_fn)symbol(cu, "cuDeviceGetAttribute", 1, err)) ||
        !(cu->device_get_pci_bus_id = (cu_name_fn)symbol(cu, "cuDeviceGetPCIBusId", 1, err)))
        return -1;
    cu->device_get_uuid = (cu_uuid_fn)symbol(cu, "cuDeviceGetUuid_v2", 0, err);
    if (!cu->device_get_uuid)
        cu->device_get_uuid = (cu_uuid_fn)symbol(cu, "cuDeviceGetUuid", 0, err);
    cu->get_error_name = (cu_error_text_fn)symbol(cu, "cuGetErrorName", 0, err);
    cu->get_error_string = (cu_error_text_fn)symbol(cu, "cuGetErrorString", 0, err);
    return 0;
}

static void uuid_text(const unsigned char *b, char *out, size_t len)
{
    int zero = 1;
    for (int i = 0; i < 16; i++)
        zero &= b[i] == 0;
    if (zero) {
        out[0] = '\0';
        return;
    }
    snprintf(out, len, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

static int probe_device(const void *ctx, int ordinal, struct gpu_device *dev, struct error *err)
{
    const struct libcuda *cu = ctx;
    char why[512];
    int device = 0, rc;
    memset(dev, 0, sizeof *dev);
    dev->index = ordinal;
    const char *call = "cuDeviceGet";
    if ((rc = cu->device_get(&device, ordinal)) != CU_SUCCESS)
        goto fail;
    call = "cuDeviceGetName";
    if ((rc = cu->device_get_name(dev->name, (int)sizeof dev->name, device)) != CU_SUCCESS)
        goto fail;
    dev->name[sizeof dev->name - 1] = '\0';
    printable(dev->name);
    call = "cuDeviceTotalMem_v2";
    if ((rc = cu->device_total_mem(&dev->memory_bytes, device)) != CU_SUCCESS)
        goto fail;
    call = "cuDeviceGetAttribute";
    if ((rc = cu->device_get_attribute(&dev->cc_major, CU_ATTR_CC_MAJOR, device)) != CU_SUCCESS ||
        (rc = cu->device_get_attribute(&dev->cc_minor, CU_ATTR_CC_MINOR, device)) != CU_SUCCESS)
        goto fail;
    call = "cuDeviceGetPCIBusId";
    if ((rc = cu->device_get_pci_bus_id(dev->pci_bus_id, (int)sizeof dev->pci_bus_id, device)) !=
        CU_SUCCESS)
        goto fail;
    dev->pci_bus_id[sizeof dev->pci_bus_id - 1] = '\0';
    printable(dev->pci_bus_id);
    unsigned char uuid[16] = {0};
    if (cu->device_get_uuid && cu->device_get_uuid(uuid, device) == CU_SUCCESS)
        uuid_text(uuid, dev->uuid, sizeof dev->uuid);
    return GPUS_OK;
fail:
    describe(cu, rc, why, sizeof why);
    error_set(err, ERR_RUNTIME, "%s(device %d) failed in %s (%s)", call, ordinal, cu->library, why);
    return GPUS_ERROR;
}

static int probe_loaded(const struct libcuda *cu, struct gpu_list *out, struct error *err)
{
    char why[512];
    int rc = cu->init(0);
    if (rc == CU_SUCCESS)
        rc = cu->driver_get_version(&out->driver_version);
    int count = 0;
    if (rc == CU_SUCCESS)
        rc = cu->device_get_count(&count);
    if (rc == CU_ERROR_NO_DEVICE || (rc == CU_SUCCESS && count == 0)) {
        const char *cuda = getenv("CUDA_VISIBLE_DEVICES"), *nvidia = getenv("NVIDIA_VISIBLE_DEVICES");
        char visible[1024];
        int n = cuda ? snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES=%s", cuda)
                     : snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES is not set");
        if (nvidia && n > 0 && (size_t)n < sizeof visible)
            snprintf(visible + n, sizeof visible - (size_t)n, ", NVIDIA_VISIBLE_DEVICES=%s", nvidia);
        error_set(err, ERR_SYSTEM, "no CUDA device is visible (%s; the NVIDIA driver %s counted none)",
                  visible, cu->library);
        return GPUS_NO_DEVICE;
    }
    if (rc != CU_SUCCESS) {
        describe(cu, rc, why, sizeof why);
        int no_driver = rc == CU_ERROR_STUB_LIBRARY || rc == CU_ERROR_NOT_INITIALIZED ||
                        rc == CU_ERROR_SYSTEM_DRIVER_MISMATCH ||
                        rc == CU_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE;
        error_set(err, no_driver ? ERR_SYSTEM : ERR_RUNTIME, "%s in %s (%s)",
                  no_driver ? "the NVIDIA driver cannot be used" : "cuInit/cuDeviceGetCount failed",
                  cu->library, why);
        return no_driver ? GPUS_NO_DRIVER : GPUS_ERROR;
    }
    return gpus_fill(count, "cuDeviceGetCount", cu->library, probe_device, cu, out, err);
}

int gpus_probe_driver(const char *library, struct gpu_list *out, struct error *err)
{
    struct libcuda cu;
    memset(&cu, 0, sizeof cu);
    /* RTLD_NODELETE: the driver keeps threads and state once initialised */
    cu.handle = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!cu.handle) {
        const char *why = dlerror();
        error_set(err, ERR_SYSTEM, "the NVIDIA driver library %s could not be loaded (%s)", library,
                  why ? why : "unknown reason");
        return GPUS_NO_LIBRARY;
    }
    struct link_map *map = NULL;
    snprintf(cu.library, sizeof cu.library, "%s",
             dlinfo(cu.handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0]
                 ? map->l_name
                 : library);
    snprintf(out->library, sizeof out->library, "%s", cu.library);
    int status = resolve_all(&cu, err) < 0 ? GPUS_NO_LIBRARY : probe_loaded(&cu, out, err);
    dlclose(cu.handle);
    return status;
}
