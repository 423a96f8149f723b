/* kube_objects.c — builds the Pod, Secret, Service and ConfigMap of one kernel
 * as jansson values (see kube_objects.h). */
#include "launcher/kube/kube_objects.h"
#include "launcher/sys/errmsg.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/kube/kube_json.h"
#include "launcher/kube/merge_patch.h"

#define KUBE_DEFAULT_DRIVER_PORT 7078
#define KUBE_DEFAULT_BLOCK_MANAGER_PORT 7079
#define KUBE_REDACTED "<redacted>"
#define KUBE_CONTAINER_NAME "kernel"
#define KUBE_EXECUTOR_CONTAINER_NAME "spark-kubernetes-executor"

/* Port names (IANA service names, at most 15 characters) in channel order. */
static const char *const kube_shim_port_names[KUBE_SHIM_PORTS] = {
    "shim-shell", "shim-iopub", "shim-stdin", "shim-control", "shim-hb"};

/* ---- small builders ---------------------------------------------------------- */

static json_t *str(const char *s)
{
    return json_string(s);
}

static json_t *labels(const struct kube_inputs *in, const struct kube_names *names,
                      const char *component, int *bad)
{
    char user[KUBE_NAME_MAX + 1];
    kube_label_value(in->user && in->user[0] ? in->user : "unknown", user);
    json_t *l = json_object();
    put(l, "app.kubernetes.io/name", str("spark-k8s"), bad);
    put(l, "app.kubernetes.io/component", str(component), bad);
    put(l, "app.kubernetes.io/managed-by", str("spark-k8s"), bad);
    put(l, "app.kubernetes.io/instance", str(names->base), bad);
    put(l, "spark-k8s.io/kernel-id", str(names->kernel_label), bad);
    put(l, "spark-k8s.io/user", str(user), bad);
    if (!l)
        *bad = 1;
    return l;
}

static json_t *metadata(const struct kube_inputs *in, const struct kube_names *names,
                        const char *name, int *bad)
{
    json_t *meta = json_object();
    put(meta, "name", str(name), bad);
    put(meta, "namespace", str(in->namespace), bad);
    put(meta, "labels", labels(in, names, "kernel", bad), bad);
    json_t *annotations = json_object();
    /* the exact values, which labels may have had to shorten */
    put(annotations, "spark-k8s.io/kernel-id", str(in->kernel_id), bad);
    put(annotations, "spark-k8s.io/user", str(in->user && in->user[0] ? in->user : "unknown"),
        bad);
    put(meta, "annotations", annotations, bad);
    return meta;
}

static int port_or(int port, int fallback)
{
    return port > 0 ? port : fallback;
}

static int check_quantity(const char *what, const char *q, struct error *err)
{
    if (!q)
        return 0;
    size_t i = 0, digits = 0;
    while ((q[i] >= '0' && q[i] <= '9') || q[i] == '.') {
        digits += q[i] != '.';
        i++;
    }
    static const char *const suffixes[] = {"", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi",
                                           "Gi", "Ti", "Pi", "Ei", NULL};
    int suffix_ok = 0;
    for (size_t s = 0; suffixes[s]; s++)
        if (strcmp(q + i, suffixes[s]) == 0)
            suffix_ok = 1;
    if (!digits || !suffix_ok) {
        error_set(err, ERR_INPUT, "%s: '%s' is not a Kubernetes quantity (e.g. 2, 500m, 4Gi)", what,
                  q);
        return -1;
    }
    return 0;
}

static int check_text(const char *what, const char *value, int required, struct error *err)
{
    if (!value || !value[0]) {
        if (!required)
            return 0;
        error_set(err, ERR_INPUT, "%s: required", what);
        return -1;
    }
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            error_set(err, ERR_INPUT, "%s: '%s' contains whitespace or control characters", what,
                      value);
            return -1;
        }
    return 0;
}

static int check_inputs(const struct kube_inputs *in, struct kube_names *names, struct error *err)
{
    if (kube_names_for(in->kernel_id, names, err) < 0)
        return -1;
    if (!in->namespace || !kube_is_dns_label(in->namespace)) {
        error_set(err, ERR_INPUT, "namespace: '%s' is not a DNS-1123 label",
                  in->namespace ? in->namespace : "");
        return -1;
    }
    if (check_text("driver image", in->driver_image, 1, err) < 0 ||
        check_text("service account", in->service_account, 0, err) < 0 ||
        check_text("image pull policy", in->image_pull_policy, 0, err) < 0)
        return -1;
    const char *names_[] = {in->warehouse_claim, in->s3_credentials_secret};
    for (size_t i = 0; i < 2; i++)
        if (names_[i] && !kube_is_dns_label(names_[i])) {
            error_set(err, ERR_INPUT, "%s: '%s' is not a DNS-1123 name",
                      i ? "S3 credentials secret" : "warehouse claim", names_[i]);
            return -1;
        }
    if (in->warehouse_claim && (!in->warehouse_path || in->warehouse_path[0] != '/')) {
        error_set(err, ERR_INPUT, "warehouse claim: no absolute path to mount it at");
        return -1;
    }
    if (in->service_account && in->service_account[0] && !kube_is_dns_label(in->service_account)) {
        error_set(err, ERR_INPUT, "service account: '%s' is not a DNS-1123 name",
                  in->service_account);
        return -1;
    }
    if (in->image_pull_policy && strcmp(in->image_pull_policy, "Always") != 0 &&
        strcmp(in->image_pull_policy, "IfNotPresent") != 0 &&
        strcmp(in->image_pull_policy, "Never") != 0) {
        error_set(err, ERR_INPUT, "image pull policy: '%s' is not Always, IfNotPresent or Never",
                  in->image_pull_policy);
        return -1;
    }
    for (size_t i = 0; in->image_pull_secrets && in->image_pull_secrets[i]; i++)
        if (!kube_is_dns_label(in->image_pull_secrets[i]) &&
            check_text("image pull secret", in->image_pull_secrets[i], 1, err) < 0)
            return -1;
    if (check_quantity("cpu request", in->cpu_request, err) < 0 ||
        check_quantity("cpu limit", in->cpu_limit, err) < 0 ||
        check_quantity("memory request", in->memory_request, err) < 0 ||
        check_quantity("memory limit", in->memory_limit, err) < 0)
        return -1;
    if (in->node_selector && !json_is_object(in->node_selector)) {
        error_set(err, ERR_INPUT, "node selector: must be an object of label → value");
        return -1;
    }
    if (in->executor_node_selector && !json_is_object(in->executor_node_selector)) {
        error_set(err, ERR_INPUT, "executor node selector: must be an object of label → value");
        return -1;
    }
    if ((in->tolerations && !json_is_array(in->tolerations)) ||
        (in->executor_tolerations && !json_is_array(in->executor_tolerations))) {
        error_set(err, ERR_INPUT, "tolerations: must be a list");
        return -1;
    }
    if ((in->pod_template && !json_is_object(in->pod_template)) ||
        (in->executor_pod_template && !json_is_object(in->executor_pod_template))) {
        error_set(err, ERR_INPUT, "pod template: must be an object (a Pod)");
        return -1;
    }
    if ((in->owner_pod_name != NULL) != (in->owner_pod_uid != NULL)) {
        error_set(err, ERR_INPUT, "owner pod: name and uid go together");
        return -1;
    }
    return 0;
}

static json_t *pod_security_context(int *bad)
{
    json_t *sc = json_object();
    put(sc, "runAsNonRoot", json_true(), bad);
    put(sc, "runAsUser", json_integer(KUBE_SPARK_UID), bad);
    put(sc, "runAsGroup", json_integer(KUBE_SPARK_UID), bad);
    put(sc, "fsGroup", json_integer(KUBE_SPARK_UID), bad);
    json_t *seccomp = json_object();
    put(seccomp, "type", str("RuntimeDefault"), bad);
    put(sc, "seccompProfile", seccomp, bad);
    return sc;
}

static json_t *container_security_context(int read_only_root, int *bad)
{
    json_t *sc = json_object();
    put(sc, "allowPrivilegeEscalation", json_false(), bad);
    put(sc, "privileged", json_false(), bad);
    put(sc, "runAsNonRoot", json_true(), bad);
    put(sc, "runAsUser", json_integer(KUBE_SPARK_UID), bad);
    if (read_only_root)
        put(sc, "readOnlyRootFilesystem", json_true(), bad);
    json_t *caps = json_object();
    json_t *drop = json_array();
    push(drop, str("ALL"), bad);
    put(caps, "drop", drop, bad);
    put(sc, "capabilities", caps, bad);
    json_t *seccomp = json_object();
    put(seccomp, "type", str("RuntimeDefault"), bad);
    put(sc, "seccompProfile", seccomp, bad);
    return sc;
}

static json_t *env_value(const char *name, const char *value, int *bad)
{
    json_t *e = json_object();
    put(e, "name", str(name), bad);
    put(e, "value", str(value), bad);
    return e;
}

static json_t *env_field(const char *name, const char *field_path, int *bad)
{
    json_t *ref = json_object();
    put(ref, "fieldPath", str(field_path), bad);
    json_t *from = json_object();
    put(from, "fieldRef", ref, bad);
    json_t *e = json_object();
    put(e, "name", str(name), bad);
    put(e, "valueFrom", from, bad);
    return e;
}

/* The AWS SDK's static credentials, from the admin's Secret: only its name is in the
 * objects; the kubelet puts the values into the container's environment. */
static void credentials_env(json_t *env, const char *secret, int *bad)
{
    static const char *const keys[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    for (size_t i = 0; secret && secret[0] && i < 2; i++) {
        json_t *ref = json_object();
        put(ref, "name", str(secret), bad);
        put(ref, "key", str(keys[i]), bad);
        json_t *from = json_object();
        put(from, "secretKeyRef", ref, bad);
        json_t *e = json_object();
        put(e, "name", str(keys[i]), bad);
        put(e, "valueFrom", from, bad);
        push(env, e, bad);
    }
}

static json_t *container_port(const char *name, int port, int *bad)
{
    json_t *p = json_object();
    put(p, "name", str(name), bad);
    put(p, "containerPort", json_integer(port), bad);
    put(p, "protocol", str("TCP"), bad);
    return p;
}

static json_t *volume_mount(const char *name, const char *path, int read_only, int *bad)
{
    json_t *m = json_object();
    put(m, "name", str(name), bad);
    put(m, "mountPath", str(path), bad);
    if (read_only)
        put(m, "readOnly", json_true(), bad);
    return m;
}

static json_t *resources(const struct kube_inputs *in, int *bad)
{
    json_t *requests = json_object();
    json_t *limits = json_object();
    if (in->cpu_request)
        put(requests, "cpu", str(in->cpu_request), bad);
    if (in->memory_request)
        put(requests, "memory", str(in->memory_request), bad);
    if (in->cpu_limit)
        put(limits, "cpu", str(in->cpu_limit), bad);
    if (in->memory_limit)
        put(limits, "memory", str(in->memory_limit), bad);
    if (in->driver_gpus > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", in->driver_gpus);
        put(limits, "nvidia.com/gpu", str(n), bad);
    }
    json_t *r = json_object();
    if (json_object_size(requests))
        put(r, "requests", requests, bad);
    else
        json_decref(requests);
    if (json_object_size(limits))
        put(r, "limits", limits, bad);
    else
        json_decref(limits);
    return r;
}

static json_t *pull_secrets(const struct kube_inputs *in, int *bad)
{
    json_t *list = json_array();
    for (size_t i = 0; in->image_pull_secrets && in->image_pull_secrets[i]; i++) {
        json_t *ref = json_object();
        put(ref, "name", str(in->image_pull_secrets[i]), bad);
        push(list, ref, bad);
    }
    return list;
}

static json_t *driver_container(const struct kube_inputs *in, const struct kube_names *names,
                                int *bad)
{
    int shim_port = port_or(in->shim_port, KUBE_SHIM_PORT);
    char port_text[16], watchdog_text[16], host[KUBE_NAME_MAX * 2 + 16];
    snprintf(port_text, sizeof port_text, "%d", shim_port);
    snprintf(watchdog_text, sizeof watchdog_text, "%d", in->watchdog_s > 0 ? in->watchdog_s : 60);
    snprintf(host, sizeof host, "%s.%s.svc", names->base, in->namespace);

    json_t *c = json_object();
    put(c, "name", str(KUBE_CONTAINER_NAME), bad);
    put(c, "image", str(in->driver_image), bad);
    put(c, "imagePullPolicy", str(in->image_pull_policy ? in->image_pull_policy : "IfNotPresent"),
        bad);
    /* a kernel that fails leaves the end of its log in the pod's status, for the notebook */
    put(c, "terminationMessagePolicy", str("FallbackToLogsOnError"), bad);
    /* Under tini (the images' init): the shim's orphans are reaped, and the pod's
     * SIGTERM reaches the shim's process group. -s: a subreaper where tini is not PID 1. */
    json_t *command = json_array();
    if (in->init && in->init[0]) {
        push(command, str(in->init), bad);
        push(command, str("-s"), bad);
        push(command, str("-g"), bad);
        push(command, str("--"), bad);
    }
    push(command, str(in->shim && in->shim[0] ? in->shim : "spark-k8s"), bad);
    push(command, str("shim"), bad);
    put(c, "command", command, bad);
    /* File paths only: the keys never appear in argv or the environment. */
    json_t *args = json_array();
    push(args, str("--keys"), bad);
    push(args, str(KUBE_KEYS_DIR), bad);
    push(args, str("--conf"), bad);
    push(args, str(KUBE_CONF_DIR "/" KUBE_SPARK_DEFAULTS_KEY), bad);
    push(args, str("--port"), bad);
    push(args, str(port_text), bad);
    push(args, str("--watchdog"), bad);
    push(args, str(watchdog_text), bad);
    if (in->kernel_name && in->kernel_name[0]) {
        push(args, str("--kernel-name"), bad);
        push(args, str(in->kernel_name), bad);
    }
    if (in->kernel_argv && in->kernel_argv[0]) {
        push(args, str("--"), bad);
        for (size_t i = 0; in->kernel_argv[i]; i++)
            push(args, str(in->kernel_argv[i]), bad);
    }
    put(c, "args", args, bad);

    json_t *env = json_array();
    push(env, env_field("SPARK_K8S_POD_NAME", "metadata.name", bad), bad);
    push(env, env_field("SPARK_K8S_POD_NAMESPACE", "metadata.namespace", bad), bad);
    push(env, env_field("SPARK_K8S_POD_UID", "metadata.uid", bad), bad);
    push(env, env_field("SPARK_K8S_POD_IP", "status.podIP", bad), bad);
    push(env, env_value("SPARK_K8S_DRIVER_HOST", host, bad), bad);
    push(env, env_value("SPARK_K8S_KERNEL_ID", in->kernel_id, bad), bad);
    if (in->ui_path)
        push(env, env_value("SPARK_K8S_UI_PATH", in->ui_path, bad), bad);
    /* the root filesystem is read-only: everything writable lives in /tmp */
    push(env, env_value("HOME", "/tmp", bad), bad);
    push(env, env_value("SPARK_LOCAL_DIRS", "/tmp/spark-local", bad), bad);
    if (in->driver_gpus > 0)
        push(env, env_value("NVIDIA_DRIVER_CAPABILITIES", KUBE_NVIDIA_CAPABILITIES, bad), bad);
    credentials_env(env, in->s3_credentials_secret, bad);
    put(c, "env", env, bad);
    /* the working directory must be writable (Spark, Derby and notebooks write there) */
    put(c, "workingDir", str("/tmp"), bad);

    json_t *ports = json_array();
    for (int i = 0; i < KUBE_SHIM_PORTS; i++)
        push(ports, container_port(kube_shim_port_names[i], shim_port + i, bad), bad);
    push(ports, container_port("driver-rpc", port_or(in->driver_port, KUBE_DEFAULT_DRIVER_PORT),
                               bad),
         bad);
    push(ports, container_port("blockmanager",
                               port_or(in->block_manager_port, KUBE_DEFAULT_BLOCK_MANAGER_PORT),
                               bad),
         bad);
    if (in->connect_port > 0)
        push(ports, container_port("spark-connect", in->connect_port, bad), bad);
    push(ports, container_port("spark-ui", KUBE_SPARK_UI_PORT, bad), bad);
    put(c, "ports", ports, bad);
    put(c, "resources", resources(in, bad), bad);
    put(c, "securityContext", container_security_context(1, bad), bad);
    json_t *mounts = json_array();
    push(mounts, volume_mount("keys", KUBE_KEYS_DIR, 1, bad), bad);
    push(mounts, volume_mount("conf", KUBE_CONF_DIR, 1, bad), bad);
    push(mounts, volume_mount("tmp", "/tmp", 0, bad), bad);
    if (in->warehouse_claim && in->warehouse_path)
        push(mounts, volume_mount(KUBE_WAREHOUSE_VOLUME, in->warehouse_path, 0, bad), bad);
    put(c, "volumeMounts", mounts, bad);
    return c;
}

static json_t *volumes(const struct kube_inputs *in, const struct kube_names *names, int *bad)
{
    json_t *list = json_array();
    json_t *secret = json_object();
    put(secret, "secretName", str(names->secret), bad);
    put(secret, "defaultMode", json_integer(0400), bad);
    json_t *keys = json_object();
    put(keys, "name", str("keys"), bad);
    put(keys, "secret", secret, bad);
    push(list, keys, bad);

    json_t *cm = json_object();
    put(cm, "name", str(names->configmap), bad);
    put(cm, "defaultMode", json_integer(0444), bad);
    json_t *conf = json_object();
    put(conf, "name", str("conf"), bad);
    put(conf, "configMap", cm, bad);
    push(list, conf, bad);

    json_t *tmp = json_object();
    put(tmp, "name", str("tmp"), bad);
    put(tmp, "emptyDir", json_object(), bad);
    push(list, tmp, bad);

    if (in->warehouse_claim && in->warehouse_path) {
        json_t *claim = json_object();
        put(claim, "claimName", str(in->warehouse_claim), bad);
        json_t *wh = json_object();
        put(wh, "name", str(KUBE_WAREHOUSE_VOLUME), bad);
        put(wh, "persistentVolumeClaim", claim, bad);
        push(list, wh, bad);
    }
    return list;
}

static json_t *owner_reference(const char *kind, const char *name, const char *uid, int *bad)
{
    json_t *ref = json_object();
    put(ref, "apiVersion", str("v1"), bad);
    put(ref, "kind", str(kind), bad);
    put(ref, "name", str(name), bad);
    put(ref, "uid", str(uid), bad);
    return ref;
}

int kube_objects_set_owner(json_t *obj, const char *pod_name, const char *pod_uid)
{
    int bad = 0;
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta) || !pod_name || !pod_uid)
        return -1;
    json_t *refs = json_object_get(meta, "ownerReferences");
    if (!json_is_array(refs)) {
        refs = json_array();
        put(meta, "ownerReferences", refs, &bad);
    }
    push(refs, owner_reference("Pod", pod_name, pod_uid, &bad), &bad);
    return bad ? -1 : 0;
}

static int finish(json_t *obj, int bad, json_t **out, struct error *err)
{
    if (bad || !obj) {
        json_decref(obj);
        error_nomem(err);
        return -1;
    }
    *out = obj;
    return 0;
}

int kube_build_pod(const struct kube_inputs *in, json_t **out, struct error *err)
{
    *out = NULL;
    struct kube_names names;
    if (check_inputs(in, &names, err) < 0)
        return -1;
    int bad = 0;
    json_t *pod = json_object();
    put(pod, "apiVersion", str("v1"), &bad);
    put(pod, "kind", str("Pod"), &bad);
    put(pod, "metadata", metadata(in, &names, names.base, &bad), &bad);
    json_t *spec = json_object();
    put(spec, "restartPolicy", str("Never"), &bad);
    if (in->service_account && in->service_account[0])
        put(spec, "serviceAccountName", str(in->service_account), &bad);
    /* the driver creates executor pods with this pod's service account */
    put(spec, "automountServiceAccountToken", json_true(), &bad);
    put(spec, "enableServiceLinks", json_false(), &bad);
    put(spec, "terminationGracePeriodSeconds", json_integer(10), &bad);
    put(spec, "securityContext", pod_security_context(&bad), &bad);
    json_t *secrets = pull_secrets(in, &bad);
    if (json_array_size(secrets))
        put(spec, "imagePullSecrets", secrets, &bad);
    else
        json_decref(secrets);
    if (in->node_selector && json_object_size(in->node_selector))
        put(spec, "nodeSelector", json_deep_copy(in->node_selector), &bad);
    if (in->tolerations && json_array_size(in->tolerations))
        put(spec, "tolerations", json_deep_copy(in->tolerations), &bad);
    json_t *containers = json_array();
    push(containers, driver_container(in, &names, &bad), &bad);
    put(spec, "containers", containers, &bad);
    put(spec, "volumes", volumes(in, &names, &bad), &bad);
    put(pod, "spec", spec, &bad);
    if (bad)
        return finish(pod, bad, out, err);
    if (in->pod_template) {
        if (merge_patch_apply(&pod, in->pod_template) < 0 || !json_is_object(pod))
            return finish(pod, 1, out, err);
        /* The template may add to the Pod but not rename, move or relabel it. */
        json_t *meta = json_object_get(pod, "metadata");
        if (!json_is_object(meta)) {
            meta = json_object();
            put(pod, "metadata", meta, &bad);
        }
        put(pod, "apiVersion", str("v1"), &bad);
        put(pod, "kind", str("Pod"), &bad);
        put(meta, "name", str(names.base), &bad);
        put(meta, "namespace", str(in->namespace), &bad);
        json_t *ours = labels(in, &names, "kernel", &bad);
        json_t *theirs = json_object_get(meta, "labels");
        if (json_is_object(theirs) && ours)
            json_object_update(theirs, ours);
        else
            put(meta, "labels", json_incref(ours), &bad);
        json_decref(ours);
    }
    if (in->owner_pod_name) {
        json_t *meta = json_object_get(pod, "metadata");
        json_object_del(meta, "ownerReferences");
        if (kube_objects_set_owner(pod, in->owner_pod_name, in->owner_pod_uid) < 0)
            bad = 1;
    }
    return finish(pod, bad, out, err);
}

static json_t *base64(const char *text)
{
    size_t n = strlen(text);
    char *buf = malloc(4 * ((n + 2) / 3) + 1);
    if (!buf)
        return NULL;
    EVP_EncodeBlock((unsigned char *)buf, (const unsigned char *)text, (int)n);
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

int kube_build_secret(const struct kube_inputs *in, json_t **out, struct error *err)
{
    *out = NULL;
    struct kube_names names;
    if (check_inputs(in, &names, err) < 0)
        return -1;
    const char *keys[] = {KUBE_SECRET_HMAC_KEY, KUBE_SECRET_SERVER_SECRET,
                          KUBE_SECRET_SERVER_PUBLIC, KUBE_SECRET_CLIENT_PUBLIC};
    const char *values[] = {in->hmac_key, in->server_secret_key, in->server_public_key,
                            in->client_public_key};
    for (size_t i = 0; i < 4 && !in->redact; i++)
        if (!values[i] || !values[i][0]) {
            error_set(err, ERR_INPUT, "secret: %s is missing", keys[i]);
            return -1;
        }
    int bad = 0;
    json_t *secret = json_object();
    put(secret, "apiVersion", str("v1"), &bad);
    put(secret, "kind", str("Secret"), &bad);
    put(secret, "metadata", metadata(in, &names, names.secret, &bad), &bad);
    put(secret, "type", str("Opaque"), &bad);
    put(secret, "immutable", json_true(), &bad);
    json_t *data = json_object();
    for (size_t i = 0; i < 4; i++)
        put(data, keys[i], in->redact ? str(KUBE_REDACTED) : base64(values[i]), &bad);
    /* stringData shows the redaction as text; data carries the real bytes */
    put(secret, in->redact ? "stringData" : "data", data, &bad);
    return finish(secret, bad, out, err);
}

static json_t *service_port(const char *name, int port, int *bad)
{
    json_t *p = json_object();
    put(p, "name", str(name), bad);
    put(p, "port", json_integer(port), bad);
    put(p, "targetPort", json_integer(port), bad);
    put(p, "protocol", str("TCP"), bad);
    return p;
}

int kube_build_service(const struct kube_inputs *in, json_t **out, struct error *err)
{
    *out = NULL;
    struct kube_names names;
    if (check_inputs(in, &names, err) < 0)
        return -1;
    int bad = 0;
    json_t *svc = json_object();
    put(svc, "apiVersion", str("v1"), &bad);
    put(svc, "kind", str("Service"), &bad);
    put(svc, "metadata", metadata(in, &names, names.base, &bad), &bad);
    json_t *spec = json_object();
    put(spec, "clusterIP", str("None"), &bad);
    put(spec, "type", str("ClusterIP"), &bad);
    /* executors resolve the driver before it reports ready */
    put(spec, "publishNotReadyAddresses", json_true(), &bad);
    json_t *selector = json_object();
    put(selector, "app.kubernetes.io/instance", str(names.base), &bad);
    put(selector, "app.kubernetes.io/component", str("kernel"), &bad);
    put(selector, "spark-k8s.io/kernel-id", str(names.kernel_label), &bad);
    put(spec, "selector", selector, &bad);
    json_t *ports = json_array();
    push(ports, service_port("driver-rpc", port_or(in->driver_port, KUBE_DEFAULT_DRIVER_PORT), &bad),
         &bad);
    push(ports, service_port("blockmanager",
                             port_or(in->block_manager_port, KUBE_DEFAULT_BLOCK_MANAGER_PORT), &bad),
         &bad);
    for (int i = 0; i < KUBE_SHIM_PORTS; i++)
        push(ports, service_port(kube_shim_port_names[i], port_or(in->shim_port, KUBE_SHIM_PORT) + i,
                                 &bad),
             &bad);
    if (in->connect_port > 0)
        push(ports, service_port("spark-connect", in->connect_port, &bad), &bad);
    put(spec, "ports", ports, &bad);
    put(svc, "spec", spec, &bad);
    return finish(svc, bad, out, err);
}

/* The executor pod template Spark reads (spark.kubernetes.executor.podTemplateFile):
 * the same pod security as the driver, executor placement, GPUs, pull secrets,
 * then the admin's template merged over it. */
static json_t *executor_template(const struct kube_inputs *in, const struct kube_names *names,
                                 int *bad)
{
    json_t *pod = json_object();
    put(pod, "apiVersion", str("v1"), bad);
    put(pod, "kind", str("Pod"), bad);
    json_t *meta = json_object();
    put(meta, "labels", labels(in, names, "executor", bad), bad);
    put(pod, "metadata", meta, bad);
    json_t *spec = json_object();
    put(spec, "enableServiceLinks", json_false(), bad);
    /* The kernel pod's account, for what the cloud grants it (IRSA, EKS Pod Identity,
     * GKE Workload Identity give executors' S3FileIO or GCS their credentials): in
     * client mode Spark names no account of its own, and the namespace's default
     * would be used. Executors never call the API server: no token in their pods. */
    if (in->service_account && in->service_account[0])
        put(spec, "serviceAccountName", str(in->service_account), bad);
    put(spec, "automountServiceAccountToken", json_false(), bad);
    put(spec, "securityContext", pod_security_context(bad), bad);
    json_t *secrets = pull_secrets(in, bad);
    if (json_array_size(secrets))
        put(spec, "imagePullSecrets", secrets, bad);
    else
        json_decref(secrets);
    if (in->executor_node_selector && json_object_size(in->executor_node_selector))
        put(spec, "nodeSelector", json_deep_copy(in->executor_node_selector), bad);
    if (in->executor_tolerations && json_array_size(in->executor_tolerations))
        put(spec, "tolerations", json_deep_copy(in->executor_tolerations), bad);
    json_t *c = json_object();
    put(c, "name", str(KUBE_EXECUTOR_CONTAINER_NAME), bad);
    /* Spark writes its work dir under the image's root: no read-only root here */
    put(c, "securityContext", container_security_context(0, bad), bad);
    if (in->executor_gpus > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", in->executor_gpus);
        json_t *limits = json_object();
        put(limits, "nvidia.com/gpu", str(n), bad);
        json_t *r = json_object();
        put(r, "limits", limits, bad);
        put(c, "resources", r, bad);
    }
    json_t *env = json_array();
    if (in->executor_gpus > 0)
        push(env, env_value("NVIDIA_DRIVER_CAPABILITIES", KUBE_NVIDIA_CAPABILITIES, bad), bad);
    credentials_env(env, in->s3_credentials_secret, bad);
    if (json_array_size(env))
        put(c, "env", env, bad);
    else
        json_decref(env);
    json_t *containers = json_array();
    push(containers, c, bad);
    put(spec, "containers", containers, bad);
    put(pod, "spec", spec, bad);
    const json_t *admin = in->executor_pod_template ? in->executor_pod_template : in->pod_template;
    if (admin && !*bad && merge_patch_apply(&pod, admin) < 0)
        *bad = 1;
    return pod;
}

int kube_build_configmap(const struct kube_inputs *in, json_t **out, struct error *err)
{
    *out = NULL;
    struct kube_names names;
    if (check_inputs(in, &names, err) < 0)
        return -1;
    int bad = 0;
    json_t *tmpl = executor_template(in, &names, &bad);
    char *tmpl_text = bad ? NULL : json_dumps(tmpl, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(tmpl);
    if (!tmpl_text) {
        error_nomem(err);
        return -1;
    }
    /* Spark must be told where the template is; appended last so it wins. */
    static const char template_line[] = "spark.kubernetes.executor.podTemplateFile " KUBE_CONF_DIR
                                        "/" KUBE_EXECUTOR_TEMPLATE_KEY "\n";
    const char *defaults = in->spark_defaults ? in->spark_defaults : "";
    size_t dlen = strlen(defaults);
    size_t size = dlen + 1 + sizeof template_line;
    char *conf = malloc(size);
    if (!conf) {
        free(tmpl_text);
        error_nomem(err);
        return -1;
    }
    snprintf(conf, size, "%s%s%s", defaults, dlen && defaults[dlen - 1] != '\n' ? "\n" : "",
             template_line);
    json_t *cm = json_object();
    put(cm, "apiVersion", str("v1"), &bad);
    put(cm, "kind", str("ConfigMap"), &bad);
    put(cm, "metadata", metadata(in, &names, names.configmap, &bad), &bad);
    put(cm, "immutable", json_true(), &bad);
    json_t *data = json_object();
    put(data, KUBE_SPARK_DEFAULTS_KEY, json_string(conf), &bad);
    put(data, KUBE_EXECUTOR_TEMPLATE_KEY, json_string(tmpl_text), &bad);
    if (in->log4j2) /* the shim puts it beside spark-defaults.conf: driver and executors */
        put(data, KUBE_LOG4J2_KEY, json_string(in->log4j2), &bad);
    put(cm, "data", data, &bad);
    free(conf);
    free(tmpl_text);
    return finish(cm, bad, out, err);
}

int kube_render_list(const struct kube_inputs *in, json_t **list_out, struct error *err)
{
    *list_out = NULL;
    json_t *objects[4] = {NULL, NULL, NULL, NULL};
    int rc = kube_build_pod(in, &objects[0], err);
    if (rc == 0)
        rc = kube_build_secret(in, &objects[1], err);
    if (rc == 0)
        rc = kube_build_service(in, &objects[2], err);
    if (rc == 0)
        rc = kube_build_configmap(in, &objects[3], err);
    int bad = 0;
    json_t *list = NULL;
    if (rc == 0) {
        json_t *items = json_array();
        for (size_t i = 0; i < 4; i++) {
            push(items, objects[i], &bad);
            objects[i] = NULL;
        }
        list = kube_json_list(items, &bad);
    }
    for (size_t i = 0; i < 4; i++)
        json_decref(objects[i]);
    if (rc < 0)
        return -1;
    return finish(list, bad, list_out, err);
}
