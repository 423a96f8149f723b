/* ui_route.h — the kernel's Spark UI through the Jupyter server that started it.
 *
 * The server extension spark_k8s_ui (serverext/) serves each kernel's Spark UI at
 * <server base URL>spark-k8s/ui/<kernel id>/, under the server's own login, and puts
 * that prefix in the server's environment (SPARK_K8S_UI_PROXY), which the launchers it
 * starts inherit. A launcher that finds it gives its kernel the path of its UI (the
 * link the notebook shows: SPARK_K8S_UI_PATH) and has the UI's address published in a
 * registration file beside Jupyter's connection file, which the extension reads: on
 * the local runtime the kernel writes it once its UI listens (it alone knows the port:
 * SPARK_K8S_UI_REGISTRY names the file), on Kubernetes the launcher does (the pod's IP,
 * port 4040). The launcher removes the file when the kernel ends (the janitor, should
 * the launcher be killed). Without the variable nothing changes. */
#ifndef SPARK_K8S_UI_ROUTE_H
#define SPARK_K8S_UI_ROUTE_H

#include "launcher/sys/errmsg.h"

#define UI_ROUTE_ENV "SPARK_K8S_UI_PROXY"
#define UI_ROUTE_PATH_ENV "SPARK_K8S_UI_PATH"
#define UI_ROUTE_REGISTRY_ENV "SPARK_K8S_UI_REGISTRY"
#define UI_ROUTE_CONNECTION_ENV "SPARK_K8S_UI_CONNECTION"
/* Spark's UI port in a kernel pod (Spark's default; the pod's network is its own). */
#define UI_ROUTE_POD_PORT 4040

struct ui_route {
    char path[512];       /* "/user/a/spark-k8s/ui/<kernel id>/": the UI's link */
    char registry[4200];  /* "<connection file's folder>/spark-k8s-ui-<kernel id>.json" */
    char connection[4200]; /* Jupyter's connection file, absolute: the extension checks
                            * that one of its kernels has it */
};

/* 1 and R filled when the launcher runs under a server with the extension
 * (SPARK_K8S_UI_PROXY set), KERNEL_ID being the launcher's kernel id and
 * CONNECTION_FILE Jupyter's; 0 without the variable; -1 with ERR when the variable is
 * not a URL path ("/" ... "/", without spaces, quotes or control characters). */
int ui_route_find(struct ui_route *r, const char *kernel_id, const char *connection_file,
                  struct error *err);

/* Write the registration file: the UI is at URL (http://host:port). Atomic (a new
 * file renamed over), mode 0600. 0, or -1 with ERR. */
int ui_route_publish(const struct ui_route *r, const char *url, struct error *err);

/* Remove the registration file (there or not). */
void ui_route_withdraw(const struct ui_route *r);

#endif
