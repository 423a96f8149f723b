/* gpus.h — GPU discovery: which NVIDIA GPUs CUDA can see here.
 *
 * CUDA is loaded with dlopen at run time, never linked, so the same spark-k8s binary
 * runs on machines without CUDA. Two libraries answer the same question: the CUDA
 * runtime (libcudart, gpus.c) and the CUDA driver API (libcuda.so.1, gpus_driver.c),
 * which is what the NVIDIA container toolkit mounts into a GPU container (the images
 * carry no CUDA runtime: RAPIDS has its own, statically). The search order is the
 * runtime override (argument, else SPARK_K8S_CUDART), else the driver override
 * (SPARK_K8S_LIBCUDA), else libcuda.so.1, then libcudart.so.13, libcudart.so.12,
 * libcudart.so through the dynamic linker's path.
 *
 * Device indices are CUDA runtime ordinals: they honour CUDA_VISIBLE_DEVICES and
 * CUDA_DEVICE_ORDER, which is what Spark and RAPIDS pass to cudaSetDevice. */
#ifndef SPARK_K8S_GPUS_H
#define SPARK_K8S_GPUS_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

/* The environment variables naming the CUDA runtime, or the driver library, to load. */
#define GPUS_CUDART_ENV "SPARK_K8S_CUDART"
#define GPUS_LIBCUDA_ENV "SPARK_K8S_LIBCUDA"
#define GPUS_LIBCUDA "libcuda.so.1"

/* Invoked under this name (argv[0]'s basename, e.g. a symlink), spark-k8s acts as
 * `spark-k8s gpus --spark-resource`: Spark runs a discovery script with no arguments. */
#define GPUS_DISCOVERY_NAME "spark-k8s-gpu-discovery"

struct gpu_device {
    int index;              /* CUDA runtime ordinal, 0.. */
    char name[256];         /* "NVIDIA H100 80GB HBM3" */
    size_t memory_bytes;    /* total global memory */
    int cc_major, cc_minor; /* compute capability, 9 and 0 for 9.0 */
    char pci_bus_id[32];    /* "0000:65:00.0" as cudaDeviceGetPCIBusId writes it */
    char uuid[48];          /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (nvidia-smi's form), or "" */
};

struct gpu_list {
    struct gpu_device *devices; /* n devices, owned; gpu_list_free releases them */
    size_t n;
    int runtime_version;        /* cudaRuntimeGetVersion: 13000 for 13.0; 0 if unknown (or
                                 * the driver API answered) */
    int driver_version;         /* cudaDriverGetVersion: 0 when no driver is installed */
    char library[4096];         /* the loaded library, as the dynamic linker resolved it; or "" */
};

/* The probe's outcome, a value (the command maps it to an exit status); the error
 * report itself is (err), as everywhere (errmsg.h). */
enum gpus_status {
    GPUS_OK = 0,
    GPUS_NO_LIBRARY, /* no CUDA runtime library could be loaded, or it lacks a needed symbol */
    GPUS_NO_DRIVER,  /* the runtime loaded but no (or too old an) NVIDIA driver */
    GPUS_NO_DEVICE,  /* driver fine, zero devices visible */
    GPUS_ERROR,      /* anything else the runtime reported */
};

/* Probe the CUDA runtime. library_override: a path or soname to dlopen; NULL means
 * SPARK_K8S_CUDART if set and non-empty, else the default search. An override that
 * cannot be loaded is GPUS_NO_LIBRARY (no fallback to the default search).
 *
 * Returns an enum gpus_status. *out is always initialised (library and versions are
 * filled as far as the probe got, devices only on GPUS_OK); call gpu_list_free in
 * every case. On anything but GPUS_OK, err holds one line a notebook user can act on,
 * e.g. "no NVIDIA driver found (cudaErrorInsufficientDriver: ...)". */
int gpus_probe(const char *library_override, struct gpu_list *out, struct error *err);
void gpu_list_free(struct gpu_list *l);

/* The same through the CUDA driver API in LIBRARY (a path or soname; gpus_driver.c). */
int gpus_probe_driver(const char *library, struct gpu_list *out, struct error *err);

/* For the two probes (runtime API here, driver API in gpus_driver.c): COUNT devices,
 * as CALL in LIBRARY reported them, each described by PROBE(CTX, ordinal, device),
 * into OUT->devices. GPUS_OK, or the first failing probe's status with ERR. */
typedef int gpus_probe_fn(const void *ctx, int ordinal, struct gpu_device *dev, struct error *err);
int gpus_fill(int count, const char *call, const char *library, gpus_probe_fn *probe,
              const void *ctx, struct gpu_list *out, struct error *err);

/* "ok", "no_library", "no_driver", "no_device", "error" (for JSON and logs). */
const char *gpus_status_name(int status);

/* Format a CUDA version number (13000 -> "13.0", 12040 -> "12.4"); "" for 0. */
void gpus_version_string(int version, char *buf, size_t buflen);

#endif
