/* fake_cudart.c — a stand-in CUDA runtime for tests: the entry points spark-k8s
 * uses, with the real names, signatures (cuda_runtime_api.h) and error codes
 * (driver_types.h), so tests drive the real dlopen/dlsym path with no GPU.
 * Built as build/tests/libcudart-fake.so; configured per call from the environment:
 *
 *   FAKE_CUDART_DEVICES=N          number of devices (default 0: cudaErrorNoDevice)
 *   FAKE_CUDART_ERROR=KIND         cudaGetDeviceCount fails: insufficient_driver (driver
 *                                  version 0), old_driver (driver 12.2), stub_library,
 *                                  system_driver_mismatch, no_device, unknown
 *   FAKE_CUDART_FAIL=CALL[:N]      cudaGetDeviceProperties (props), cudaDeviceGetAttribute
 *                                  (attr) or cudaDeviceGetPCIBusId (pci) fails with
 *                                  cudaErrorUnknown for device N (default 0)
 *   FAKE_CUDART_ZERO_OK=1          with 0 devices, succeed with count 0 (not cudaErrorNoDevice)
 *   FAKE_CUDART_COUNT=N            report N devices whatever FAKE_CUDART_DEVICES says
 *   FAKE_CUDART_NAMES=a;b          device names (default "Fake GPU i")
 *   FAKE_CUDART_MEMORY_MIB=a;b     total memory in MiB (default 16384)
 *   FAKE_CUDART_CC=9.0;8.6         compute capability (default 8.0)
 *   FAKE_CUDART_PCI=a;b            PCI bus ids (default 0000:1i:00.0)
 *   FAKE_CUDART_RUNTIME_VERSION=N  default 13000
 *   FAKE_CUDART_DRIVER_VERSION=N   default 13000
 *
 * The environment is read on every call, never cached: a test changes it between
 * probes of the same loaded library. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The real enum values (driver_types.h, CUDA 12 and 13). */
typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorStubLibrary = 34,
    cudaErrorInsufficientDriver = 35,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorSystemDriverMismatch = 803,
    cudaErrorUnknown = 999,
} cudaError_t;

enum cudaDeviceAttr {
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
};

/* The head of struct cudaDeviceProp, laid out as in driver_types.h; the runtime
 * writes the whole struct (1008 bytes in CUDA 13), which the fake imitates so a
 * caller's buffer that is too small shows up under ASan and valgrind. */
struct fake_device_prop_head {
    char name[256];
    unsigned char uuid[16];
    char luid[8];
    unsigned int luidDeviceNodeMask;
    size_t totalGlobalMem;
};
enum { FAKE_PROP_SIZE_CUDA13 = 1008 };
_Static_assert(offsetof(struct fake_device_prop_head, uuid) == 256, "uuid offset as in driver_types.h");
_Static_assert(offsetof(struct fake_device_prop_head, totalGlobalMem) == 288, "totalGlobalMem offset as in driver_types.h");

struct cudaDeviceProp;

static int env_int(const char *name, int fallback)
{
    const char *value = getenv(name);
    if (!value || !value[0])
        return fallback;
    return atoi(value);
}

/* Copy the index-th ';'-separated field of env var NAME into out; 0 if absent. */
static int env_field(const char *name, int index, char *out, size_t outlen)
{
    const char *value = getenv(name);
    if (!value)
        return 0;
    for (int i = 0; i < index; i++) {
        value = strchr(value, ';');
        if (!value)
            return 0;
        value++;
    }
    size_t len = strcspn(value, ";");
    if (len == 0)
        return 0;
    if (len >= outlen)
        len = outlen - 1;
    memcpy(out, value, len);
    out[len] = '\0';
    return 1;
}

static int device_count(void)
{
    return env_int("FAKE_CUDART_DEVICES", 0);
}

static int valid_device(int device)
{
    return device >= 0 && device < device_count();
}

/* FAKE_CUDART_FAIL=call[:device] selects one call to fail. */
static int should_fail(const char *call, int device)
{
    char spec[64];
    if (!env_field("FAKE_CUDART_FAIL", 0, spec, sizeof spec))
        return 0;
    char *colon = strchr(spec, ':');
    int target = 0;
    if (colon) {
        *colon = '\0';
        target = atoi(colon + 1);
    }
    return strcmp(spec, call) == 0 && device == target;
}

static cudaError_t configured_error(void)
{
    const char *kind = getenv("FAKE_CUDART_ERROR");
    if (!kind || !kind[0])
        return cudaSuccess;
    if (strcmp(kind, "insufficient_driver") == 0 || strcmp(kind, "old_driver") == 0)
        return cudaErrorInsufficientDriver;
    if (strcmp(kind, "stub_library") == 0)
        return cudaErrorStubLibrary;
    if (strcmp(kind, "system_driver_mismatch") == 0)
        return cudaErrorSystemDriverMismatch;
    if (strcmp(kind, "no_device") == 0)
        return cudaErrorNoDevice;
    return cudaErrorUnknown;
}

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaRuntimeGetVersion(int *runtimeVersion);
cudaError_t cudaDriverGetVersion(int *driverVersion);
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device);
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);
cudaError_t cudaGetDeviceProperties_v2(struct cudaDeviceProp *prop, int device);
cudaError_t cudaDeviceGetPCIBusId(char *pciBusId, int len, int device);
const char *cudaGetErrorString(cudaError_t error);
const char *cudaGetErrorName(cudaError_t error);

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count)
        return cudaErrorInvalidValue;
    *count = 0;
    cudaError_t error = configured_error();
    if (error != cudaSuccess)
        return error;
    int n = env_int("FAKE_CUDART_COUNT", device_count());
    if (n == 0 && !env_int("FAKE_CUDART_ZERO_OK", 0))
        return cudaErrorNoDevice;
    *count = n;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion)
        return cudaErrorInvalidValue;
    *runtimeVersion = env_int("FAKE_CUDART_RUNTIME_VERSION", 13000);
    return cudaSuccess;
}

/* Like the real one: succeeds with 0 when no driver is installed. */
cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    if (!driverVersion)
        return cudaErrorInvalidValue;
    const char *kind = getenv("FAKE_CUDART_ERROR");
    if (kind && strcmp(kind, "insufficient_driver") == 0)
        *driverVersion = 0;
    else if (kind && strcmp(kind, "old_driver") == 0)
        *driverVersion = 12020;
    else
        *driverVersion = env_int("FAKE_CUDART_DRIVER_VERSION", 13000);
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    if (!value)
        return cudaErrorInvalidValue;
    if (!valid_device(device))
        return cudaErrorInvalidDevice;
    if (should_fail("attr", device))
        return cudaErrorUnknown;
    char cc[32] = "8.0";
    env_field("FAKE_CUDART_CC", device, cc, sizeof cc);
    int major = 0, minor = 0;
    if (sscanf(cc, "%d.%d", &major, &minor) != 2)
        return cudaErrorUnknown;
    switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *value = major; return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor: *value = minor; return cudaSuccess;
    default: return cudaErrorInvalidValue;
    }
}

static cudaError_t fill_properties(struct cudaDeviceProp *prop, int device)
{
    if (!prop)
        return cudaErrorInvalidValue;
    if (!valid_device(device))
        return cudaErrorInvalidDevice;
    if (should_fail("props", device))
        return cudaErrorUnknown;
    /* The whole struct is written, as the real runtime does; through a call the
     * compiler cannot inline, so ASan's memset interceptor checks the caller's buffer. */
    void *(*volatile clear)(void *, int, size_t) = memset;
    clear(prop, 0, FAKE_PROP_SIZE_CUDA13);
    struct fake_device_prop_head head;
    memset(&head, 0, sizeof head);
    if (!env_field("FAKE_CUDART_NAMES", device, head.name, sizeof head.name))
        snprintf(head.name, sizeof head.name, "Fake GPU %d", device);
    for (int i = 0; i < 16; i++)
        head.uuid[i] = (unsigned char)(0xa0 + i + device);
    char mib[32] = "16384";
    env_field("FAKE_CUDART_MEMORY_MIB", device, mib, sizeof mib);
    head.totalGlobalMem = (size_t)strtoull(mib, NULL, 10) * 1024u * 1024u;
    memcpy(prop, &head, sizeof head);
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    return fill_properties(prop, device);
}

cudaError_t cudaGetDeviceProperties_v2(struct cudaDeviceProp *prop, int device)
{
    return fill_properties(prop, device);
}

cudaError_t cudaDeviceGetPCIBusId(char *pciBusId, int len, int device)
{
    if (!pciBusId || len <= 0)
        return cudaErrorInvalidValue;
    if (!valid_device(device))
        return cudaErrorInvalidDevice;
    if (should_fail("pci", device))
        return cudaErrorUnknown;
    char id[64];
    if (!env_field("FAKE_CUDART_PCI", device, id, sizeof id))
        snprintf(id, sizeof id, "0000:%02x:00.0", 0x10 + device);
    snprintf(pciBusId, (size_t)len, "%s", id);
    return cudaSuccess;
}

/* The texts of the real cudaGetErrorString for these codes. */
const char *cudaGetErrorString(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorStubLibrary: return "CUDA driver is a stub library";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorSystemDriverMismatch: return "system has unsupported display driver / cuda driver combination";
    default: return "unknown error";
    }
}

const char *cudaGetErrorName(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorStubLibrary: return "cudaErrorStubLibrary";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorSystemDriverMismatch: return "cudaErrorSystemDriverMismatch";
    default: return "cudaErrorUnknown";
    }
}
