/* shim_host.h — the driver pod's side of the kubernetes runtime (`spark-k8s shim`).
 *
 * Serves the launcher on the pod's IP over TCP secured with CurveZMQ (the
 * proxy's front side as a CURVE server that admits exactly the launcher's public
 * key, checked by a ZAP handler), and runs the real kernel next to it with the
 * local runtime (ipykernel on ipc, same HMAC key, so frames pass unchanged).
 * Keys come from the pod's Secret files only, never from argv or the environment.
 *
 * Before the kernel starts it writes the kernel's SPARK_CONF_DIR, which holds
 * spark-defaults.conf alone (Spark copies every other file of it into a ConfigMap for
 * the executors): the launcher's properties (the ConfigMap) with
 * spark.driver.bindAddress set to this pod's IP (downward API), spark.master at the
 * API server as the kubelet names it (KUBERNETES_SERVICE_HOST/PORT), and a Spark
 * Connect token made here when that server is on (never in the ConfigMap).
 *
 * Watchdog: the launcher pings the shim's heartbeat channel every few seconds;
 * silent longer than the watchdog's seconds (the launcher was SIGKILLed, its node
 * died, the network split), the shim stops the kernel and deletes its own Pod,
 * which takes the Secret, Service, ConfigMap and Spark's executors with it. */
#ifndef SPARK_K8S_SHIM_HOST_H
#define SPARK_K8S_SHIM_HOST_H

#include "launcher/sys/errmsg.h"

#define SHIM_DEFAULT_WATCHDOG_S 60

struct shim_options {
    const char *keys_dir;    /* the Secret's files: hmac-key, curve-server-secret, ... */
    const char *conf_path;   /* spark-defaults.conf from the launcher (the ConfigMap) */
    const char *kernel_name; /* the kernelspec's name, or NULL */
    long port;               /* the first of the five channel ports */
    long watchdog_s;         /* stop and delete the pod after this long without the launcher */
    char **kernel_argv;      /* the kernel to run ({connection_file}, {resource_dir}) */
    int kernel_argc;         /* 0: the default kernel */
};

/* Serve the launcher and run the kernel until it ends, then clean up. The loop's
 * status (0, or 1 when the kernel died or the launcher went silent) once the kernel
 * ran; -1 with ERR when it could not: ERR_INPUT for the keys, ERR_SYSTEM for the
 * set-up, ERR_RUNTIME when the kernel could not start. ERR's text is the log line. */
int shim_host_run(const struct shim_options *o, struct error *err);

#endif
