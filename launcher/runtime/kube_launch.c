/* kube_launch.c — launch plan → kube_inputs (see kube_launch.h). */
#include "launcher/runtime/kube_launch.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/plan/config.h"
#include "launcher/images/matrix.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/plan/kernelspec.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"
#include "launcher/sys/yaml_json.h"
#include "launcher/sys/strv.h"
#include "launcher/sys/textfile.h"

#define KUBE_MIN_OVERHEAD_MIB 384
#define KUBE_OVERHEAD_PERCENT 40
#define KUBE_MAX_PULL_SECRETS 16 /* setting_check allows no more */

void kube_launch_free(struct kube_launch *l)
{
    if (!l)
        return;
    struct kube_inputs *in = &l->in;
    free((char *)in->kernel_id);
    free((char *)in->user);
    free((char *)in->namespace);
    free((char *)in->driver_image);
    free((char *)in->service_account);
    free((char *)in->spark_defaults);
    free((char *)in->log4j2);
    free((char *)in->init);
    free((char *)in->shim);
    strv_free((char **)in->kernel_argv);
    strv_free((char **)in->image_pull_secrets);
    json_decref((json_t *)in->pod_template);
    json_decref((json_t *)in->executor_tolerations);
    free(l);
}

static const char *setting_value(const struct plan *plan, enum setting_id id)
{
    const struct setting *s = plan_setting(plan, id);
    return s && s->value && *s->value ? s->value : NULL;
}

/* *DST = a copy of SRC, owned by the launch. */
static int dup_into(const char **dst, const char *src, struct error *err)
{
    char *copy = strdup(src);
    *dst = copy;
    return copy ? 0 : error_nomem(err);
}

/* The spark-defaults.conf text for the driver pod. */
static int render_spark_defaults(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    struct render_pod pod = {
        .api_server = KUBE_IN_CLUSTER_API,
        .namespace = l->in.namespace,
        .driver_pod_name = l->names.base,
        .driver_host = l->driver_host,
        .pod_ip = "0.0.0.0",
    };
    /* the image of the driver pod holds the variant's jars in its kernel environment */
    char jars_dir[4200];
    struct render_env env = {0};
    if (l->in.kernel_argv && l->in.kernel_argv[0] &&
        kernel_env_jars_dir(l->in.kernel_argv[0], jars_dir, sizeof jars_dir) == 0)
        env.image_jars_dir = jars_dir;
    struct sparkconf *conf = NULL;
    if (render_spark_conf(plan, &pod, &env, &conf, err) < 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    int rc = -1;
    if (mem) {
        rc = sparkconf_print(conf, mem, "spark-k8s: Kubernetes client mode (driver pod)", 0);
        if (fclose(mem) != 0)
            rc = -1;
    }
    sparkconf_free(conf);
    if (rc < 0) {
        free(text);
        return error_nomem(err);
    }
    l->in.spark_defaults = text;
    return 0;
}

/* The kernelspec folder's log4j2.properties (beside PLAN's kernel.json), when it has one:
 * the shim puts it in the kernel's SPARK_CONF_DIR, and Spark passes that folder on to the
 * executors, as the local runtime copies it. */
static int read_log4j2(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    const char *spec = plan_path(plan);
    const char *slash = strrchr(spec, '/');
    if (!slash || strcmp(slash, "/kernel.json") != 0)
        return 0; /* the default plan: no kernelspec folder */
    char path[4200];
    snprintf(path, sizeof path, "%.*s/" KERNELSPEC_LOG4J2, (int)(slash - spec), spec);
    char *text = NULL;
    size_t len = 0;
    if (textfile_read(path, KERNELSPEC_LOG4J2_MAX, &text, &len, err) < 0)
        return errno == ENOENT ? (error_clear(err), 0) : -1;
    json_t *valid = json_stringn(text, len); /* what a ConfigMap can hold */
    if (!valid) {
        free(text);
        return error_set(err, ERR_INPUT, "%s: not UTF-8 text", path);
    }
    json_decref(valid);
    l->in.log4j2 = text;
    return 0;
}

/* TEMPLATE with each "{line}" replaced by LINE (the image's Spark line), malloc'd; NULL
 * when out of memory. */
static char *with_line(const char *template, const char *line)
{
    size_t n = 0;
    for (const char *s = template; (s = strstr(s, "{line}")) != NULL; s += 6)
        n++;
    char *out = malloc(strlen(template) + n * strlen(line) + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *s = template; *s;) {
        if (strncmp(s, "{line}", 6) == 0) {
            o = stpcpy(o, line);
            s += 6;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* What the image holds (the plan's matrix, images.layout): the kernel runs the image's
 * Python with the plan's arguments; tini and spark-k8s are where the image has them. */
static int image_layout(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    const struct matrix *m = plan_matrix(plan);
    if (!m->image_python[0])
        return error_set(err, ERR_INPUT, "matrix %s: images.layout.python is not set: the "
                         "kubernetes runtime does not know the image's Python", m->origin);
    char *const *argv = plan_runtime_argv(plan);
    size_t n = 0;
    while (argv[n])
        n++;
    char **kernel_argv = calloc(n + 1, sizeof *kernel_argv);
    l->in.kernel_argv = (const char *const *)kernel_argv;
    if (!kernel_argv)
        return error_nomem(err);
    kernel_argv[0] = with_line(m->image_python, plan_spark_line(plan));
    for (size_t i = 1; i < n && kernel_argv[0]; i++)
        if (!(kernel_argv[i] = strdup(argv[i])))
            return error_nomem(err);
    if (!kernel_argv[0] || dup_into(&l->in.shim, m->image_spark_k8s[0] ? m->image_spark_k8s
                                                                         : "spark-k8s", err))
        return error_nomem(err);
    /* without tini in the image, the shim is PID 1 */
    return m->image_tini[0] ? dup_into(&l->in.init, m->image_tini, err) : 0;
}

/* The admin's pod template and image pull secrets (config file or environment). */
static int load_admin_settings(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    const struct setting *tmpl = plan_setting(plan, SETTING_POD_TEMPLATE);
    if (tmpl->value && *tmpl->value) {
        json_t *pod_template = NULL;
        if (yaml_json_load_file(tmpl->value, &pod_template, err) < 0)
            return error_prefix(err, "%s: kubernetes.pod_template: ", tmpl->source);
        l->in.pod_template = pod_template;
        if (!json_is_object(pod_template))
            return error_set(err, ERR_INPUT,
                             "%s: kubernetes.pod_template: %s: expected a Pod object",
                             tmpl->source, tmpl->value);
    }
    char **secrets = calloc(KUBE_MAX_PULL_SECRETS + 1, sizeof *secrets);
    l->in.image_pull_secrets = (const char *const *)secrets;
    if (!secrets)
        return error_nomem(err);
    const char *names = setting_value(plan, SETTING_IMAGE_PULL_SECRETS);
    for (size_t n = 0; names && *names && n < KUBE_MAX_PULL_SECRETS; n++) {
        size_t len = strcspn(names, ",");
        if (!(secrets[n] = strndup(names, len)))
            return error_nomem(err);
        names += len + (names[len] == ',');
    }
    return 0;
}

/* CPU and memory of the driver pod: request = limit (the Guaranteed QoS class). */
static int pod_resources(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    const char *cores = setting_value(plan, SETTING_DRIVER_CORES);
    snprintf(l->cpu, sizeof l->cpu, "%s", cores ? cores : "1");
    long heap = setting_value(plan, SETTING_DRIVER_MEMORY)
                    ? plan_number(plan, SETTING_DRIVER_MEMORY)
                    : 1024;
    if (heap <= 0)
        return error_set(err, ERR_INPUT, "%s: resources.driver_memory '%s' is not a JVM memory size",
                         plan_path(plan), setting_value(plan, SETTING_DRIVER_MEMORY));
    long overhead = heap * KUBE_OVERHEAD_PERCENT / 100;
    if (overhead < KUBE_MIN_OVERHEAD_MIB)
        overhead = KUBE_MIN_OVERHEAD_MIB;
    snprintf(l->memory, sizeof l->memory, "%ldMi", heap + overhead);
    l->in.cpu_request = l->in.cpu_limit = l->cpu;
    l->in.memory_request = l->in.memory_limit = l->memory;
    return 0;
}

/* Names and who: the kernel id, the user, the namespace, the driver image and account. */
static int identity(const struct plan *plan, const char *kernel_id, const char *user,
                    const char *namespace, struct kube_launch *l, struct error *err)
{
    const char *ns = setting_value(plan, SETTING_NAMESPACE);
    if (!ns)
        ns = namespace && *namespace ? namespace : "default";
    const char *image = setting_value(plan, SETTING_DRIVER_IMAGE);
    if (!image)
        return error_set(err, ERR_INPUT,
                         "%s: no driver image (images.driver) for the kubernetes runtime",
                         plan_path(plan));
    const char *sa = setting_value(plan, SETTING_SERVICE_ACCOUNT);
    struct kube_inputs *in = &l->in;
    if (dup_into(&in->kernel_id, kernel_id, err) < 0 ||
        dup_into(&in->user, user && *user ? user : "unknown", err) < 0 ||
        dup_into(&in->namespace, ns, err) < 0 || dup_into(&in->driver_image, image, err) < 0 ||
        (sa && dup_into(&in->service_account, sa, err) < 0) ||
        kube_names_for(kernel_id, &l->names, err) < 0)
        return -1;
    snprintf(l->driver_host, sizeof l->driver_host, "%s.%s.svc", l->names.base, in->namespace);
    return 0;
}

int kube_launch_new(const struct plan *plan, const char *kernel_id, const char *user,
                    const char *namespace, struct kube_launch **out, struct error *err)
{
    *out = NULL;
    struct kube_launch *l = calloc(1, sizeof *l);
    if (!l)
        return error_nomem(err);
    struct kube_inputs *in = &l->in;
    if (identity(plan, kernel_id, user, namespace, l, err) < 0 ||
        pod_resources(plan, l, err) < 0 || image_layout(plan, l, err) < 0 ||
        load_admin_settings(plan, l, err) < 0 || render_spark_defaults(plan, l, err) < 0 ||
        read_log4j2(plan, l, err) < 0)
        goto fail;
    in->executor_gpus = (int)plan_number(plan, SETTING_EXECUTOR_GPUS);
    in->driver_gpus = (int)plan_number(plan, SETTING_DRIVER_GPUS);
    if (in->executor_gpus > 0) { /* not in RAPIDS' explain-only mode */
        json_t *tolerations = json_pack("[{s:s, s:s, s:s}]", "key", "nvidia.com/gpu",
                                        "operator", "Exists", "effect", "NoSchedule");
        in->executor_tolerations = tolerations;
        if (!tolerations) {
            error_nomem(err);
            goto fail;
        }
    }
    in->driver_port = RENDER_DRIVER_PORT;
    in->block_manager_port = RENDER_BLOCK_MANAGER_PORT;
    in->kernel_name = plan_kernel_name(plan);
    if (plan_flag(plan, SETTING_CONNECT))
        in->connect_port = (int)plan_number(plan, SETTING_CONNECT_PORT);
    in->warehouse_claim = setting_value(plan, SETTING_SPARK_WAREHOUSE_CLAIM);
    in->warehouse_path = in->warehouse_claim ? plan_warehouse_mount_path(plan) : NULL;
    in->s3_credentials_secret = setting_value(plan, SETTING_S3_CREDENTIALS_SECRET);
    *out = l;
    return 0;
fail:
    kube_launch_free(l);
    return -1;
}

int kube_render_plan(const struct plan *plan, FILE *out, struct error *err)
{
    const char *user = getenv("JUPYTERHUB_USER");
    if (!user || !*user)
        user = getenv("USER");
    struct kube_launch *l = NULL;
    if (kube_launch_new(plan, KUBE_RENDER_KERNEL_ID, user, NULL, &l, err) < 0)
        return -1;
    l->in.redact = 1;
    json_t *list = NULL;
    int rc = kube_render_list(&l->in, &list, err);
    kube_launch_free(l);
    if (rc < 0)
        return -1;
    rc = json_dumpf(list, out, JSON_INDENT(2));
    json_decref(list);
    if (rc < 0 || fputc('\n', out) == EOF)
        return error_set(err, ERR_SYSTEM, "cannot write the objects: %s", strerror(errno));
    return 0;
}
