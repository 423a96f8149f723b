/* gpus.c — GPU discovery: loads the CUDA runtime with dlopen and asks it which
 * devices are visible, or hands over to the driver API (gpus_driver.c) where no
 * runtime is installed (see gpus.h). No CUDA header is needed to build this file:
 * the few ABI facts it relies on are written out below, with where they come from. */
#include "launcher/sys/gpus.h"
#include "launcher/sys/errmsg.h"

#include <dlfcn.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cudaError_t values (driver_types.h, enum cudaError; identical in CUDA 12 and 13). */
enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_INSUFFICIENT_DRIVER = 35,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
};

/* enum cudaDeviceAttr (driver_types.h): cudaDevAttrComputeCapabilityMajor/Minor. */
enum { CUDA_ATTR_CC_MAJOR = 75, CUDA_ATTR_CC_MINOR = 76 };

/* struct cudaDeviceProp is not read through a declaration of our own: its size and
 * most of its layout change between CUDA releases (CUDA 12 has clockRate before
 * totalConstMem and is 1032 bytes with reserved2[2] and reserved[61]; CUDA 13 dropped the
 * deprecated fields and is 1008 bytes). Its head, though, has been the same since
 * CUDA 10 added uuid and luid, in CUDA 12's and CUDA 13's driver_types.h alike:
 *     char name[256];                    offset   0
 *     cudaUUID_t uuid;  (16 bytes)       offset 256
 *     char luid[8];                      offset 272
 *     unsigned int luidDeviceNodeMask;   offset 280
 *     size_t totalGlobalMem;             offset 288 (after 4 bytes of padding)
 * So the runtime writes into a zeroed buffer four times the largest known size,
 * and only those three fields are read back. Everything else (compute capability)
 * comes from cudaDeviceGetAttribute, whose attribute numbers are stable. */
enum {
    PROP_BUFFER_SIZE = 4096,
    PROP_NAME_OFFSET = 0,
    PROP_NAME_SIZE = 256,
    PROP_UUID_OFFSET = 256,
    PROP_UUID_SIZE = 16,
    PROP_TOTAL_GLOBAL_MEM_OFFSET = 288,
};

/* A device count beyond this is a broken library, not a machine. */
enum { GPUS_MAX_DEVICES = 1024 };

typedef int (*cuda_int_out_fn)(int *value);
typedef int (*cuda_attribute_fn)(int *value, int attribute, int device);
typedef int (*cuda_properties_fn)(void *prop, int device);
typedef int (*cuda_pci_bus_id_fn)(char *pci_bus_id, int len, int device);
typedef const char *(*cuda_error_text_fn)(int error);

/* One loaded CUDA runtime and the entry points this file uses. */
struct cudart {
    void *handle;
    char library[4096];
    cuda_int_out_fn get_device_count;
    cuda_int_out_fn runtime_get_version;
    cuda_int_out_fn driver_get_version;
    cuda_attribute_fn device_get_attribute;
    cuda_properties_fn get_device_properties;
    cuda_pci_bus_id_fn device_get_pci_bus_id;
    cuda_error_text_fn get_error_string;
    cuda_error_text_fn get_error_name; /* optional */
};

int gpus_fill(int count, const char *call, const char *library, gpus_probe_fn *probe,
              const void *ctx, struct gpu_list *out, struct error *err)
{
    if (count < 0 || count > GPUS_MAX_DEVICES) {
        error_set(err, ERR_RUNTIME, "%s in %s reported %d devices, which cannot be right", call, library,
                  count);
        return GPUS_ERROR;
    }
    struct gpu_device *devices = calloc((size_t)count, sizeof *devices);
    if (!devices) {
        error_nomem(err);
        return GPUS_ERROR;
    }
    for (int i = 0; i < count; i++) {
        int status = probe(ctx, i, &devices[i], err);
        if (status != GPUS_OK) {
            free(devices);
            return status;
        }
    }
    out->devices = devices;
    out->n = (size_t)count;
    return GPUS_OK;
}

const char *gpus_status_name(int status)
{
    switch (status) {
    case GPUS_OK: return "ok";
    case GPUS_NO_LIBRARY: return "no_library";
    case GPUS_NO_DRIVER: return "no_driver";
    case GPUS_NO_DEVICE: return "no_device";
    default: return "error";
    }
}

void gpus_version_string(int version, char *buf, size_t buflen)
{
    if (buflen == 0)
        return;
    if (version <= 0)
        buf[0] = '\0';
    else
        snprintf(buf, buflen, "%d.%d", version / 1000, (version % 1000) / 10);
}

void gpu_list_free(struct gpu_list *l)
{
    if (!l)
        return;
    free(l->devices);
    l->devices = NULL;
    l->n = 0;
}

/* "cudaErrorInsufficientDriver: CUDA driver version is insufficient ..." for rc. */
static void describe_error(const struct cudart *rt, int rc, char *buf, size_t buflen)
{
    const char *name = rt->get_error_name ? rt->get_error_name(rc) : NULL;
    const char *text = rt->get_error_string ? rt->get_error_string(rc) : NULL;
    char number[32];
    if (!name) {
        snprintf(number, sizeof number, "cudaError %d", rc);
        name = number;
    }
    snprintf(buf, buflen, "%s: %s", name, text ? text : "no description");
}

/* Resolve one symbol; a missing required one makes the library unusable. */
static int resolve(struct cudart *rt, const char *symbol, void **out, int required, struct error *err)
{
    dlerror();
    *out = dlsym(rt->handle, symbol);
    if (!*out && required) {
        const char *why = dlerror();
        error_set(err, ERR_SYSTEM, "%s is not a usable CUDA runtime library: symbol %s is missing (%s)",
                  rt->library, symbol, why ? why : "no such symbol");
        return -1;
    }
    return 0;
}

static int cudart_resolve_all(struct cudart *rt, struct error *err)
{
    void *sym;
    if (resolve(rt, "cudaGetDeviceCount", &sym, 1, err) != 0)
        return -1;
    rt->get_device_count = (cuda_int_out_fn)sym;
    if (resolve(rt, "cudaRuntimeGetVersion", &sym, 1, err) != 0)
        return -1;
    rt->runtime_get_version = (cuda_int_out_fn)sym;
    if (resolve(rt, "cudaDriverGetVersion", &sym, 1, err) != 0)
        return -1;
    rt->driver_get_version = (cuda_int_out_fn)sym;
    if (resolve(rt, "cudaDeviceGetAttribute", &sym, 1, err) != 0)
        return -1;
    rt->device_get_attribute = (cuda_attribute_fn)sym;
    /* CUDA 12 exports the current struct as cudaGetDeviceProperties_v2 and keeps
     * cudaGetDeviceProperties for binaries built against CUDA 11's struct; CUDA 13
     * has only cudaGetDeviceProperties. Either fills the stable head read here. */
    if (resolve(rt, "cudaGetDeviceProperties_v2", &sym, 0, err) != 0)
        return -1;
    if (!sym && resolve(rt, "cudaGetDeviceProperties", &sym, 1, err) != 0)
        return -1;
    rt->get_device_properties = (cuda_properties_fn)sym;
    if (resolve(rt, "cudaDeviceGetPCIBusId", &sym, 1, err) != 0)
        return -1;
    rt->device_get_pci_bus_id = (cuda_pci_bus_id_fn)sym;
    if (resolve(rt, "cudaGetErrorString", &sym, 1, err) != 0)
        return -1;
    rt->get_error_string = (cuda_error_text_fn)sym;
    if (resolve(rt, "cudaGetErrorName", &sym, 0, err) != 0)
        return -1;
    rt->get_error_name = (cuda_error_text_fn)sym;
    return 0;
}

/* Record the path the dynamic linker actually resolved, for the user to see. */
static void cudart_record_path(struct cudart *rt, const char *requested)
{
    struct link_map *map = NULL;
    const char *path = requested;
    if (dlinfo(rt->handle, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && map->l_name[0])
        path = map->l_name;
    snprintf(rt->library, sizeof rt->library, "%s", path);
}

/* RTLD_NODELETE: once cudaGetDeviceCount has run, the CUDA driver holds state (and
 * may hold threads) that point into the runtime; NVIDIA does not support unloading
 * it, so dlclose only drops our reference and the code stays mapped. */
static void *cudart_dlopen(const char *name)
{
    return dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
}

/* source: "" for the --cudart argument, GPUS_CUDART_ENV when it came from there. */
static int cudart_open(struct cudart *rt, const char *override, const char *source, struct error *err)
{
    static const char *const search[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
    memset(rt, 0, sizeof *rt);
    if (override) {
        rt->handle = cudart_dlopen(override);
        if (!rt->handle) {
            const char *why = dlerror();
            error_set(err, ERR_SYSTEM, "the CUDA runtime library %s%s%s could not be loaded (%s)",
                    source[0] ? source : "", source[0] ? "=" : "", override, why ? why : "unknown reason");
            return GPUS_NO_LIBRARY;
        }
        cudart_record_path(rt, override);
    } else {
        for (size_t i = 0; i < sizeof search / sizeof search[0] && !rt->handle; i++) {
            rt->handle = cudart_dlopen(search[i]);
            if (rt->handle)
                cudart_record_path(rt, search[i]);
        }
        if (!rt->handle) {
            error_set(err, ERR_SYSTEM,
                      "the CUDA runtime library libcudart.so.13/.12/.so was not found; "
                      "install the CUDA runtime or set %s to its path", GPUS_CUDART_ENV);
            return GPUS_NO_LIBRARY;
        }
    }
    if (cudart_resolve_all(rt, err) != 0) {
        dlclose(rt->handle);
        rt->handle = NULL;
        return GPUS_NO_LIBRARY;
    }
    return GPUS_OK;
}

static void cudart_close(struct cudart *rt)
{
    if (rt->handle)
        dlclose(rt->handle);
    rt->handle = NULL;
}

/* The one-line explanation for a failed cudaGetDeviceCount. */
static int explain_count_failure(const struct cudart *rt, int rc, int driver_version, int runtime_version,
                                 struct error *err)
{
    char why[512];
    describe_error(rt, rc, why, sizeof why);
    if (rc == CUDA_ERROR_INSUFFICIENT_DRIVER && driver_version > 0) {
        char have[16], need[16];
        gpus_version_string(driver_version, have, sizeof have);
        gpus_version_string(runtime_version, need, sizeof need);
        error_set(err, ERR_SYSTEM, "the NVIDIA driver supports CUDA %s but the CUDA runtime %s (%s) needs a newer driver (%s)",
                  have, need, rt->library, why);
        return GPUS_NO_DRIVER;
    }
    if (rc == CUDA_ERROR_INSUFFICIENT_DRIVER || rc == CUDA_ERROR_STUB_LIBRARY) {
        error_set(err, ERR_SYSTEM, "no NVIDIA driver found (%s)", why);
        return GPUS_NO_DRIVER;
    }
    if (rc == CUDA_ERROR_SYSTEM_DRIVER_MISMATCH) {
        error_set(err, ERR_SYSTEM, "the NVIDIA driver cannot be used (%s)", why);
        return GPUS_NO_DRIVER;
    }
    if (rc == CUDA_ERROR_NO_DEVICE)
        return GPUS_NO_DEVICE; /* the caller words it, with the visibility variables */
    error_set(err, ERR_RUNTIME, "cudaGetDeviceCount failed in %s (%s)", rt->library, why);
    return GPUS_ERROR;
}

/* "no CUDA device is visible (CUDA_VISIBLE_DEVICES=...)": the variables that hide
 * devices are the first thing to check, so they are always named. */
static void explain_no_device(const struct cudart *rt, int rc, struct error *err)
{
    const char *cuda_visible = getenv("CUDA_VISIBLE_DEVICES");
    const char *nvidia_visible = getenv("NVIDIA_VISIBLE_DEVICES");
    char visible[1024];
    if (cuda_visible)
        snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES=%s", cuda_visible);
    else
        snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES is not set");
    char nvidia[512] = "";
    if (nvidia_visible)
        snprintf(nvidia, sizeof nvidia, ", NVIDIA_VISIBLE_DEVICES=%s", nvidia_visible);
    char why[512] = "the CUDA runtime counted 0 devices";
    if (rc != CUDA_SUCCESS)
        describe_error(rt, rc, why, sizeof why);
    error_set(err, ERR_SYSTEM, "no CUDA device is visible (%s%s; %s)", visible, nvidia, why);
}

/* The header calls name "ASCII string identifying device"; anything else (a broken
 * library) is replaced so that tables stay aligned and JSON stays valid UTF-8. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
}

static void format_uuid(const unsigned char *bytes, char *out, size_t outlen)
{
    int all_zero = 1;
    for (int i = 0; i < PROP_UUID_SIZE; i++)
        if (bytes[i])
            all_zero = 0;
    if (all_zero) {
        out[0] = '\0';
        return;
    }
    snprintf(out, outlen,
             "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
             bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

/* Fill dev for CUDA ordinal index. */
static int probe_device(const void *ctx, int index, struct gpu_device *dev, struct error *err)
{
    const struct cudart *rt = ctx;
    char why[512];
    _Alignas(16) unsigned char prop[PROP_BUFFER_SIZE];
    memset(prop, 0, sizeof prop);
    memset(dev, 0, sizeof *dev);
    dev->index = index;

    int rc = rt->get_device_properties(prop, index);
    if (rc != CUDA_SUCCESS) {
        describe_error(rt, rc, why, sizeof why);
        error_set(err, ERR_RUNTIME, "cudaGetDeviceProperties(device %d) failed in %s (%s)", index, rt->library, why);
        return GPUS_ERROR;
    }
    memcpy(dev->name, prop + PROP_NAME_OFFSET, PROP_NAME_SIZE);
    dev->name[sizeof dev->name - 1] = '\0';
    printable(dev->name);
    memcpy(&dev->memory_bytes, prop + PROP_TOTAL_GLOBAL_MEM_OFFSET, sizeof dev->memory_bytes);
    format_uuid(prop + PROP_UUID_OFFSET, dev->uuid, sizeof dev->uuid);

    static const struct {
        int attribute;
        const char *name;
    } attributes[] = {
        {CUDA_ATTR_CC_MAJOR, "cudaDevAttrComputeCapabilityMajor"},
        {CUDA_ATTR_CC_MINOR, "cudaDevAttrComputeCapabilityMinor"},
    };
    int *targets[] = {&dev->cc_major, &dev->cc_minor};
    for (size_t i = 0; i < sizeof attributes / sizeof attributes[0]; i++) {
        rc = rt->device_get_attribute(targets[i], attributes[i].attribute, index);
        if (rc != CUDA_SUCCESS) {
            describe_error(rt, rc, why, sizeof why);
            error_set(err, ERR_RUNTIME, "cudaDeviceGetAttribute(%s, device %d) failed in %s (%s)", attributes[i].name,
                      index, rt->library, why);
            return GPUS_ERROR;
        }
    }

    rc = rt->device_get_pci_bus_id(dev->pci_bus_id, (int)sizeof dev->pci_bus_id, index);
    dev->pci_bus_id[sizeof dev->pci_bus_id - 1] = '\0';
    printable(dev->pci_bus_id);
    if (rc != CUDA_SUCCESS) {
        describe_error(rt, rc, why, sizeof why);
        error_set(err, ERR_RUNTIME, "cudaDeviceGetPCIBusId(device %d) failed in %s (%s)", index, rt->library, why);
        return GPUS_ERROR;
    }
    return GPUS_OK;
}

static int probe_loaded(const struct cudart *rt, struct gpu_list *out, struct error *err)
{
    char why[512];
    int rc = rt->runtime_get_version(&out->runtime_version);
    if (rc != CUDA_SUCCESS) {
        describe_error(rt, rc, why, sizeof why);
        error_set(err, ERR_RUNTIME, "cudaRuntimeGetVersion failed in %s (%s)", rt->library, why);
        return GPUS_ERROR;
    }
    /* With no driver installed this succeeds and reports 0. */
    rc = rt->driver_get_version(&out->driver_version);
    if (rc != CUDA_SUCCESS)
        out->driver_version = 0;

    int count = 0;
    rc = rt->get_device_count(&count);
    if (rc != CUDA_SUCCESS) {
        int status = explain_count_failure(rt, rc, out->driver_version, out->runtime_version, err);
        if (status == GPUS_NO_DEVICE)
            explain_no_device(rt, rc, err);
        return status;
    }
    if (count == 0) {
        explain_no_device(rt, rc, err);
        return GPUS_NO_DEVICE;
    }
    return gpus_fill(count, "cudaGetDeviceCount", rt->library, probe_device, rt, out, err);
}

int gpus_probe(const char *library_override, struct gpu_list *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    error_clear(err);

    const char *source = "";
    if (!library_override) {
        const char *env = getenv(GPUS_CUDART_ENV);
        if (env && env[0]) {
            library_override = env;
            source = GPUS_CUDART_ENV;
        }
    } else if (!library_override[0]) {
        error_set(err, ERR_SYSTEM, "the CUDA runtime library path given with --cudart is empty");
        return GPUS_NO_LIBRARY;
    }

    const char *libcuda = getenv(GPUS_LIBCUDA_ENV);
    if (!library_override && libcuda && libcuda[0])
        return gpus_probe_driver(libcuda, out, err);
    int status;
    if (!library_override) {
        /* the driver first: what the NVIDIA container toolkit mounts, and on a host it
         * comes with every usable GPU; then a CUDA runtime, where one is installed */
        status = gpus_probe_driver(GPUS_LIBCUDA, out, err);
        if (status != GPUS_NO_LIBRARY)
            return status;
        error_clear(err);
        gpu_list_free(out);
        memset(out, 0, sizeof *out);
    }
    struct cudart rt;
    status = cudart_open(&rt, library_override, source, err);
    if (status == GPUS_NO_LIBRARY && !library_override)
        error_set(err, ERR_SYSTEM,
                  "neither the NVIDIA driver (%s, which the NVIDIA container toolkit mounts into "
                  "GPU containers) nor a CUDA runtime (libcudart.so.13/.12/.so) was found; on "
                "Kubernetes, run on a GPU node with NVIDIA_DRIVER_CAPABILITIES including compute; "
                  "elsewhere install the NVIDIA driver, or set %s or %s",
                  GPUS_LIBCUDA, GPUS_LIBCUDA_ENV, GPUS_CUDART_ENV);
    if (status != GPUS_OK)
        return status;
    snprintf(out->library, sizeof out->library, "%s", rt.library);
    status = probe_loaded(&rt, out, err);
    cudart_close(&rt);
    return status;
}
