/* kube_launch.h — a launch plan turned into the inputs of the kernel's
 * Kubernetes objects (kube_objects.h): names, images, pod resources, the
 * spark-defaults.conf the driver gets (and the kernelspec's log4j2.properties), GPU
 * placement, and the admin's pod template and image pull secrets.
 *
 * Admin settings (the config file's kubernetes.pod_template and
 * kubernetes.image_pull_secrets, or SPARK_K8S_POD_TEMPLATE and
 * SPARK_K8S_IMAGE_PULL_SECRETS in the environment, which wins):
 *   pod template        a Pod (JSON or YAML file) merged into the driver pod and used
 *                       as the executors' template (RFC 7386)
 *   image pull secrets  comma-separated Secret names
 *
 * Pod resources: cpu request = limit = driver cores; memory request = limit =
 * driver memory + max(384 MiB, 40 %) for Python and the JVM's off-heap (Spark's
 * own factor for PySpark drivers), so kernel pods get the Guaranteed QoS class
 * and are the last to be evicted.
 *
 * The kernel in the pod runs the image's own Python (images.layout.python of the
 * matrix: the images' ipykernel and pyspark live in their environment), with the
 * arguments of the plan's runtime command; the shim runs under the image's tini.
 *
 * A kube_launch owns the strings its kube_inputs points to, each held there alone (no
 * second pointer to it), except those that stay the plan's: the kernel name, the
 * warehouse claim and path, the credentials Secret (the plan must outlive the
 * launch); kube_launch_free releases them. */
#ifndef SPARK_K8S_KUBE_LAUNCH_H
#define SPARK_K8S_KUBE_LAUNCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "launcher/kube/kube_objects.h"
#include "launcher/plan/plan.h"
#include "launcher/sys/errmsg.h"

#define KUBE_IN_CLUSTER_API "https://kubernetes.default.svc"

struct kube_launch {
    /* What the objects are built from. Owned here: kernel_id, user, namespace,
     * driver_image, service_account, spark_defaults, log4j2, init, shim, kernel_argv,
     * image_pull_secrets, pod_template, executor_tolerations; cpu and memory point at
     * the arrays below. */
    struct kube_inputs in;
    struct kube_names names;
    char cpu[32], memory[32];
    char driver_host[KUBE_NAME_MAX * 2 + 8];  /* "<service>.<namespace>.svc" */
};

/* Build the inputs for PLAN and KERNEL_ID. NAMESPACE: the plan's namespace
 * setting wins; otherwise this one (the client configuration's). USER may be NULL.
 * The spark-defaults.conf is rendered with render_spark_conf for the driver pod
 * (bind address 0.0.0.0 until the shim writes the pod's own IP). */
int kube_launch_new(const struct plan *plan, const char *kernel_id, const char *user,
                    const char *namespace, struct kube_launch **out, struct error *err);
void kube_launch_free(struct kube_launch *launch);

/* `render --runtime kubernetes`: the objects a kernel of PLAN would create, as one
 * v1 List (secret values redacted) on OUT, for a placeholder kernel id. */
#define KUBE_RENDER_KERNEL_ID "00000000-0000-0000-0000-000000000000"
int kube_render_plan(const struct plan *plan, FILE *out, struct error *err);

#endif
