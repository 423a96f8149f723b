/* runtime_kube.h — the kubernetes runtime: the kernel runs in a driver pod
 * (`spark-k8s shim`), reached over TCP with CurveZMQ. See runtime_kube.c.
 *
 * Environment of the launcher:
 *   SPARK_K8S_LAUNCH_TIMEOUT  seconds a pod may take to become reachable (600)
 *   SPARK_K8S_WATCHDOG        seconds the shim waits for the launcher's pings (60)
 *   KUBECONFIG, KUBERNETES_SERVICE_HOST/PORT, SPARK_K8S_SA_DIR: the API (kube_config.h)
 *   POD_NAME or HOSTNAME (in a pod): the launcher's own pod, owner of the kernel pod
 *   JUPYTERHUB_USER or USER: the person, for the spark-k8s.io/user label */
#ifndef SPARK_K8S_RUNTIME_KUBE_H
#define SPARK_K8S_RUNTIME_KUBE_H

#include "launcher/runtime/runtime.h"

extern const struct runtime_ops runtime_kube_ops;

/* Longest pause between the launcher's pings to the shim (the shim's watchdog counts
 * them); a quarter of the watchdog window when that is shorter. */
#define KUBE_PING_INTERVAL_MS 5000

/* The janitor's on_death hook: the launcher died with its pod running. VALUE is
 * "<pod path> <uid>"; that pod (if it is still that one) is deleted at once, with
 * a client configured afresh from the environment. */
void runtime_kube_orphaned(const char *value);

#endif
