/* kube_objects.h — the Kubernetes objects of one kernel, built field by field
 * with jansson (never by splicing strings): the driver Pod running
 * `spark-k8s shim`, a Secret with the kernel's keys (files, mode 0400), a
 * headless Service for the driver, and an optional ConfigMap carrying
 * spark-defaults.conf and the executor pod template.
 *
 * Names derive from the kernel id (kube_names.h); labels are
 * app.kubernetes.io/{name,component,managed-by,instance} plus spark-k8s.io/kernel-id
 * and spark-k8s.io/user.
 *
 * Order of creation: the Pod first, then the Secret, Service and ConfigMap with
 * an ownerReference to the Pod (kube_objects_set_owner, once the Pod's uid is
 * known), so deleting the Pod deletes everything. The kubelet waits for the
 * Secret and ConfigMap volumes before starting the container. */
#ifndef SPARK_K8S_KUBE_OBJECTS_H
#define SPARK_K8S_KUBE_OBJECTS_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/kube/kube_names.h"
#include "launcher/sys/errmsg.h"

/* Where the shim finds its files inside the driver container. */
#define KUBE_KEYS_DIR "/etc/spark-k8s/keys"
#define KUBE_CONF_DIR "/etc/spark-k8s/conf"
#define KUBE_SPARK_DEFAULTS_KEY "spark-defaults.conf"
#define KUBE_EXECUTOR_TEMPLATE_KEY "executor-pod-template.json"
#define KUBE_LOG4J2_KEY "log4j2.properties" /* the kernelspec's, when it has one */
/* Secret keys (file names under KUBE_KEYS_DIR). */
#define KUBE_SECRET_HMAC_KEY "hmac-key"                  /* Jupyter HMAC key */
#define KUBE_SECRET_SERVER_SECRET "curve-server-secret"  /* shim's CURVE secret key, Z85 */
#define KUBE_SECRET_SERVER_PUBLIC "curve-server-public"  /* shim's CURVE public key, Z85 */
#define KUBE_SECRET_CLIENT_PUBLIC "curve-client-public"  /* the launcher's public key, Z85 */
/* The shim's five channels (shell, iopub, stdin, control, hb) on consecutive
 * ports from KUBE_SHIM_PORT: below Spark's driver (7078) and block manager (7079). */
#define KUBE_SHIM_PORT 7070
#define KUBE_SHIM_PORTS 5
/* Spark's UI in the kernel pod (Spark's default port), which the Jupyter server's
 * extension serves under its own URL (launcher/runtime/ui_route.h). */
#define KUBE_SPARK_UI_PORT 4040
/* What the NVIDIA container toolkit mounts into a GPU container: the CUDA driver
 * (libcuda.so.1, "compute") and NVML with nvidia-smi ("utility"), which GPU
 * discovery reads. */
#define KUBE_NVIDIA_CAPABILITIES "compute,utility"
#define KUBE_SPARK_UID 185                               /* the spark user of Spark's images */
#define KUBE_WAREHOUSE_VOLUME "spark-warehouse"          /* the volume of warehouse_claim */

/* Everything the objects are built from. Strings are borrowed; NULL means unset.
 * JSON values are borrowed and only read. */
struct kube_inputs {
    const char *kernel_id;          /* required: any text, a UUID normally */
    const char *user;               /* the person (label spark-k8s.io/user), NULL → "unknown" */
    const char *namespace;          /* required */
    const char *driver_image;       /* required: the variant's Jupyter image */
    const char *image_pull_policy;  /* NULL → IfNotPresent */
    const char *service_account;    /* NULL → the namespace's default */
    const char *const *image_pull_secrets; /* NULL-terminated, or NULL */
    const char *cpu_request, *cpu_limit;        /* Kubernetes quantities, "2", "500m" */
    const char *memory_request, *memory_limit;  /* "4Gi"; NULL → none */
    int driver_gpus;                /* nvidia.com/gpu limit on the driver; 0 normally */
    int shim_port;                  /* first of the shim's 5 ports; 0 → KUBE_SHIM_PORT */
    int driver_port;                /* 0 → 7078 */
    int block_manager_port;         /* 0 → 7079 */
    int watchdog_s;                 /* 0 → the shim's default (60) */
    const char *spark_defaults;     /* spark-defaults.conf text, NULL → none */
    const char *log4j2;             /* the kernelspec's log4j2.properties text, NULL → none */
    const char *init;               /* the image's tini: the pod runs `INIT -s -g -- SHIM shim ...`
                                     * so orphans are reaped; NULL → the shim is PID 1 */
    const char *shim;               /* the spark-k8s binary in the image; NULL → "spark-k8s" */
    int connect_port;               /* Spark Connect's port on the pod and Service; 0 → none */
    const char *kernel_name;        /* kernelspec name, passed to the shim; NULL → none */
    const char *ui_path;            /* the Spark UI's path on the Jupyter server (the kernel's
                                     * SPARK_K8S_UI_PATH), or NULL */
    const char *const *kernel_argv; /* the kernel the shim starts (NULL-terminated; may hold
                                     * {connection_file} and {resource_dir}); NULL → default */
    const json_t *node_selector;    /* object, driver pod; NULL → none */
    const json_t *tolerations;      /* array, driver pod; NULL → none */
    const json_t *executor_node_selector; /* object, executor template; NULL → none */
    const json_t *executor_tolerations;   /* array, executor template; NULL → none */
    int executor_gpus;              /* nvidia.com/gpu limit per executor (template) */
    const json_t *pod_template;     /* admin's template: merge-patched into the driver Pod */
    const json_t *executor_pod_template; /* admin's executor template (merge base) */
    const char *warehouse_claim;    /* PVC holding Spark's warehouse (every pod mounts it), or NULL */
    const char *warehouse_path;     /* where: the path of spark.sql.warehouse.dir */
    const char *s3_credentials_secret; /* Secret whose AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
                                     * reach driver and executors as environment, or NULL */
    const char *owner_pod_name;     /* the launcher's own pod (same namespace), or NULL */
    const char *owner_pod_uid;
    /* Secret material (Z85 text for CURVE keys). NULL values with `redact` set:
     * the Secret shows "<redacted>" (render). */
    const char *hmac_key;
    const char *server_secret_key, *server_public_key, *client_public_key;
    int redact;
};

int kube_build_pod(const struct kube_inputs *in, json_t **out, struct error *err);
int kube_build_secret(const struct kube_inputs *in, json_t **out, struct error *err);
int kube_build_service(const struct kube_inputs *in, json_t **out, struct error *err);
/* *out is NULL when there is nothing to carry (no spark-defaults, no executor template). */
int kube_build_configmap(const struct kube_inputs *in, json_t **out, struct error *err);

/* Add an ownerReference to OBJ naming the Pod NAME/UID. */
int kube_objects_set_owner(json_t *obj, const char *pod_name, const char *pod_uid);

/* All objects as one v1 List, in creation order (Pod, Secret, Service,
 * ConfigMap); secret values redacted when in->redact. For `render`. */
int kube_render_list(const struct kube_inputs *in, json_t **list_out, struct error *err);

#endif
