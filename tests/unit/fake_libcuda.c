/* fake_libcuda.c — a stand-in NVIDIA driver library (libcuda.so.1) for tests: the CUDA
 * driver API entry points spark-k8s uses (cuda.h names, signatures and CUresult codes),
 * answering from the same configuration as fake_cudart.c (FAKE_CUDART_* variables;
 * FAKE_CUDART_ERROR=stub_library makes cuInit fail as a stub library does). Built with
 * fake_cudart.c as build/tests/libcuda-fake.so (soname libcuda.so.1), so a directory
 * holding it as libcuda.so.1 stands in for what the NVIDIA container toolkit mounts. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_STUB_LIBRARY = 34,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_UNKNOWN = 999,
};

/* From fake_cudart.c, built into the same library. */
struct cudaDeviceProp;
int cudaGetDeviceCount(int *count);
int cudaDriverGetVersion(int *version);
int cudaDeviceGetAttribute(int *value, int attr, int device);
int cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);
int cudaDeviceGetPCIBusId(char *id, int len, int device);

CUresult cuInit(unsigned int flags);
CUresult cuDriverGetVersion(int *version);
CUresult cuDeviceGetCount(int *count);
CUresult cuDeviceGet(CUdevice *device, int ordinal);
CUresult cuDeviceGetName(char *name, int len, CUdevice device);
CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice device);
CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device);
CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice device);
CUresult cuDeviceGetUuid_v2(unsigned char uuid[16], CUdevice device);
CUresult cuGetErrorName(CUresult error, const char **text);
CUresult cuGetErrorString(CUresult error, const char **text);

/* The runtime's answers carry over: its error codes are the driver's for these cases. */
static CUresult same(int rc)
{
    return rc == 35 ? CUDA_ERROR_STUB_LIBRARY : rc; /* insufficient driver: no usable driver */
}

CUresult cuInit(unsigned int flags)
{
    const char *kind = getenv("FAKE_CUDART_ERROR");
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (kind && strcmp(kind, "stub_library") == 0)
        return CUDA_ERROR_STUB_LIBRARY;
    return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int *version)
{
    return same(cudaDriverGetVersion(version));
}

CUresult cuDeviceGetCount(int *count)
{
    int rc = cudaGetDeviceCount(count);
    if (rc == CUDA_ERROR_NO_DEVICE) { /* the driver API reports 0 devices, not an error */
        *count = 0;
        return CUDA_SUCCESS;
    }
    return same(rc);
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    int count = 0;
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (cuDeviceGetCount(&count) != CUDA_SUCCESS || ordinal < 0 || ordinal >= count)
        return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
}

/* The runtime's struct head holds name, uuid and memory (see fake_cudart.c). */
static CUresult head(CUdevice device, unsigned char buf[1024])
{
    return same(cudaGetDeviceProperties((struct cudaDeviceProp *)buf, device));
}

CUresult cuDeviceGetName(char *name, int len, CUdevice device)
{
    unsigned char buf[1024];
    if (!name || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = head(device, buf);
    if (rc == CUDA_SUCCESS)
        snprintf(name, (size_t)len, "%.255s", (const char *)buf);
    return rc;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice device)
{
    unsigned char buf[1024];
    if (!bytes)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = head(device, buf);
    if (rc == CUDA_SUCCESS)
        memcpy(bytes, buf + 288, sizeof *bytes);
    return rc;
}

CUresult cuDeviceGetUuid_v2(unsigned char uuid[16], CUdevice device)
{
    unsigned char buf[1024];
    if (!uuid)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult rc = head(device, buf);
    if (rc == CUDA_SUCCESS)
        memcpy(uuid, buf + 256, 16);
    return rc;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice device)
{
    return same(cudaDeviceGetAttribute(value, attribute, device));
}

CUresult cuDeviceGetPCIBusId(char *id, int len, CUdevice device)
{
    return same(cudaDeviceGetPCIBusId(id, len, device));
}

CUresult cuGetErrorName(CUresult error, const char **text)
{
    if (!text)
        return CUDA_ERROR_INVALID_VALUE;
    switch (error) {
    case CUDA_SUCCESS: *text = "CUDA_SUCCESS"; break;
    case CUDA_ERROR_INVALID_VALUE: *text = "CUDA_ERROR_INVALID_VALUE"; break;
    case CUDA_ERROR_STUB_LIBRARY: *text = "CUDA_ERROR_STUB_LIBRARY"; break;
    case CUDA_ERROR_NO_DEVICE: *text = "CUDA_ERROR_NO_DEVICE"; break;
    case CUDA_ERROR_INVALID_DEVICE: *text = "CUDA_ERROR_INVALID_DEVICE"; break;
    default: *text = "CUDA_ERROR_UNKNOWN"; break;
    }
    return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult error, const char **text)
{
    if (!text)
        return CUDA_ERROR_INVALID_VALUE;
    switch (error) {
    case CUDA_SUCCESS: *text = "no error"; break;
    case CUDA_ERROR_STUB_LIBRARY: *text = "CUDA driver is a stub library"; break;
    case CUDA_ERROR_NO_DEVICE: *text = "no CUDA-capable device is detected"; break;
    case CUDA_ERROR_INVALID_DEVICE: *text = "invalid device ordinal"; break;
    default: *text = "unknown error"; break;
    }
    return CUDA_SUCCESS;
}
