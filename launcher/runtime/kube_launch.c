/* kube_launch.c — launch plan → kube_inputs (see kube_launch.h). */
#include "launcher/runtime/kube_launch.h"
#include "launcher/sys/errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/spec/config.h"
#include "launcher/images/matrix.h"
#include "launcher/spec/kernel_env.h"
#include "launcher/spec/render.h"
#include "launcher/spec/sparkconf.h"
#include "launcher/sys/yaml_json.h"

#define KUBE_MIN_OVERHEAD_MIB 384
#define KUBE_OVERHEAD_PERCENT 40

void kube_launch_free(struct kube_launch *l)
{
    if (!l)
        return;
    free(l->kernel_id);
    free(l->user);
    free(l->namespace);
    free(l->driver_image);
    free(l->service_account);
    free(l->spark_defaults);
    free(l->init);
    free(l->shim);
    for (size_t i = 0; l->kernel_argv && l->kernel_argv[i]; i++)
        free(l->kernel_argv[i]);
    free(l->kernel_argv);
    json_decref(l->pod_template);
    json_decref(l->executor_tolerations);
    for (size_t i = 0; l->pull_secrets && l->pull_secrets[i]; i++)
        free(l->pull_secrets[i]);
    free(l->pull_secrets);
    free(l);
}

long kube_memory_mib(const char *text)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    long long n = strtoll(text, &end, 10);
    if (end == text || n <= 0)
        return -1;
    long long mib;
    if (*end == '\0' || strcmp(end, "m") == 0 || strcmp(end, "M") == 0)
        mib = n;
    else if (strcmp(end, "k") == 0 || strcmp(end, "K") == 0)
        mib = (n + 1023) / 1024;
    else if (strcmp(end, "g") == 0 || strcmp(end, "G") == 0)
        mib = n * 1024;
    else if (strcmp(end, "t") == 0 || strcmp(end, "T") == 0)
        mib = n * 1024 * 1024;
    else
        return -1;
    return mib > (1LL << 40) ? -1 : (long)mib;
}

static const char *setting_value(const struct plan *plan, enum setting_id id)
{
    const struct setting *s = plan_setting(plan, id);
    return s && s->value && *s->value ? s->value : NULL;
}

static int dup_into(char **dst, const char *src, struct error *err)
{
    *dst = strdup(src);
    if (!*dst)
        error_nomem(err);
    return *dst ? 0 : -1;
}

/* The spark-defaults.conf text for the driver pod. */
static int render_spark_defaults(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    struct render_pod pod = {
        .api_server = KUBE_IN_CLUSTER_API,
        .namespace = l->namespace,
        .driver_pod_name = l->names.base,
        .driver_host = l->driver_host,
        .pod_ip = "0.0.0.0",
    };
    /* the image of the driver pod holds the variant's jars in its kernel environment */
    char jars_dir[4200];
    struct render_env env = {0};
    if (l->kernel_argv && l->kernel_argv[0] &&
        kernel_env_jars_dir(l->kernel_argv[0], jars_dir, sizeof jars_dir) == 0)
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
        error_set(err, ERR_INPUT, "cannot render spark-defaults.conf");
        return -1;
    }
    l->spark_defaults = text;
    return 0;
}

/* TEMPLATE with each "{line}" replaced by LINE (the image's Spark line), malloc'd; NULL when out of memory. */
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

/* What the image holds (the matrix's images.layout): the kernel runs the image's
 * Python with the plan's arguments; tini and spark-k8s are where the image has them. */
static int image_layout(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err) < 0)
        return -1;
    int rc = -1;
    if (!m->image_python[0]) {
        error_set(err, ERR_INPUT, "matrix %s: images.layout.python is not set: the kubernetes runtime "
                  "does not know the image's Python", m->origin);
        goto out;
    }
    char *const *argv = plan_runtime_argv(plan);
    size_t n = 0;
    while (argv[n])
        n++;
    l->kernel_argv = calloc(n + 1, sizeof *l->kernel_argv);
    if (!l->kernel_argv)
        goto oom;
    l->kernel_argv[0] = with_line(m->image_python, plan_spark_line(plan));
    for (size_t i = 1; i < n && l->kernel_argv[0]; i++)
        if (!(l->kernel_argv[i] = strdup(argv[i])))
            goto oom;
    l->init = strdup(m->image_tini);
    l->shim = strdup(m->image_spark_k8s[0] ? m->image_spark_k8s : "spark-k8s");
    if (!l->kernel_argv[0] || !l->init || !l->shim)
        goto oom;
    rc = 0;
    goto out;
oom:
    error_nomem(err);
out:
    matrix_free(m);
    return rc;
}

/* The admin's pod template and image pull secrets (config file or environment). */
static int load_admin_settings(const struct plan *plan, struct kube_launch *l, struct error *err)
{
    const struct setting *tmpl = plan_setting(plan, SETTING_POD_TEMPLATE);
    if (tmpl->value && *tmpl->value) {
        if (yaml_json_load_file(tmpl->value, &l->pod_template, err) < 0)
            return error_prefix(err, "%s: kubernetes.pod_template: ", tmpl->source);
        if (!json_is_object(l->pod_template)) {
            error_set(err, ERR_INPUT, "%s: kubernetes.pod_template: %s: expected a Pod object",
                      tmpl->source, tmpl->value);
            return -1;
        }
    }
    l->pull_secrets = calloc(17, sizeof *l->pull_secrets);
    if (!l->pull_secrets) {
        error_nomem(err);
        return -1;
    }
    /* checked already (setting_check: at most 16 names) */
    const char *secrets = setting_value(plan, SETTING_IMAGE_PULL_SECRETS);
    for (size_t n = 0; secrets && *secrets && n < 16; n++) {
        size_t len = strcspn(secrets, ",");
        if (!(l->pull_secrets[n] = strndup(secrets, len))) {
            error_nomem(err);
            return -1;
        }
        secrets += len + (secrets[len] == ',');
    }
    return 0;
}

int kube_launch_new(const struct plan *plan, const char *kernel_id, const char *user,
                    const char *namespace, struct kube_launch **out, struct error *err)
{
    *out = NULL;
    struct kube_launch *l = calloc(1, sizeof *l);
    if (!l) {
        error_nomem(err);
        return -1;
    }
    const char *ns = setting_value(plan, SETTING_NAMESPACE);
    if (!ns)
        ns = namespace && *namespace ? namespace : "default";
    const char *image = setting_value(plan, SETTING_DRIVER_IMAGE);
    if (!image) {
        error_set(err, ERR_INPUT, "%s: no driver image (images.driver) for the kubernetes runtime",
                  plan_path(plan));
        goto fail;
    }
    if (dup_into(&l->kernel_id, kernel_id, err) < 0 ||
        dup_into(&l->user, user && *user ? user : "unknown", err) < 0 ||
        dup_into(&l->namespace, ns, err) < 0 ||
        dup_into(&l->driver_image, image, err) < 0)
        goto fail;
    const char *sa = setting_value(plan, SETTING_SERVICE_ACCOUNT);
    if (sa && dup_into(&l->service_account, sa, err) < 0)
        goto fail;
    if (kube_names_for(kernel_id, &l->names, err) < 0)
        goto fail;
    snprintf(l->driver_host, sizeof l->driver_host, "%s.%s.svc", l->names.base, l->namespace);

    const char *cores = setting_value(plan, SETTING_DRIVER_CORES);
    snprintf(l->cpu, sizeof l->cpu, "%s", cores ? cores : "1");
    const char *memory = setting_value(plan, SETTING_DRIVER_MEMORY);
    long heap = kube_memory_mib(memory ? memory : "1g");
    if (heap < 0) {
        error_set(err, ERR_INPUT, "%s: resources.driver_memory '%s' is not a JVM memory size",
                  plan_path(plan), memory);
        goto fail;
    }
    long overhead = heap * KUBE_OVERHEAD_PERCENT / 100;
    if (overhead < KUBE_MIN_OVERHEAD_MIB)
        overhead = KUBE_MIN_OVERHEAD_MIB;
    snprintf(l->memory, sizeof l->memory, "%ldMi", heap + overhead);

    if (image_layout(plan, l, err) < 0 || load_admin_settings(plan, l, err) < 0 ||
        render_spark_defaults(plan, l, err) < 0)
        goto fail;
    const char *gpus = setting_value(plan, SETTING_EXECUTOR_GPUS);
    if (gpus && strcmp(gpus, "0") != 0) { /* not in RAPIDS' explain-only mode */
        l->executor_tolerations =
            json_pack("[{s:s, s:s, s:s}]", "key", "nvidia.com/gpu", "operator", "Exists", "effect",
                      "NoSchedule");
        if (!l->executor_tolerations) {
            error_nomem(err);
            goto fail;
        }
    }

    struct kube_inputs *in = &l->in;
    in->kernel_id = l->kernel_id;
    in->user = l->user;
    in->namespace = l->namespace;
    in->driver_image = l->driver_image;
    in->service_account = l->service_account;
    in->image_pull_secrets = (const char *const *)l->pull_secrets;
    in->cpu_request = in->cpu_limit = l->cpu;
    const char *executor_gpus = setting_value(plan, SETTING_EXECUTOR_GPUS);
    in->executor_gpus = executor_gpus ? (int)strtol(executor_gpus, NULL, 10) : 0;
    const char *driver_gpus = setting_value(plan, SETTING_DRIVER_GPUS);
    in->driver_gpus = driver_gpus ? (int)strtol(driver_gpus, NULL, 10) : 0;
    in->memory_request = in->memory_limit = l->memory;
    in->driver_port = RENDER_DRIVER_PORT;
    in->block_manager_port = RENDER_BLOCK_MANAGER_PORT;
    in->spark_defaults = l->spark_defaults;
    in->kernel_name = plan_kernel_name(plan);
    in->kernel_argv = (const char *const *)l->kernel_argv;
    in->init = l->init[0] ? l->init : NULL;
    in->shim = l->shim;
    const char *connect = setting_value(plan, SETTING_CONNECT);
    const char *connect_port = setting_value(plan, SETTING_CONNECT_PORT);
    if (connect && strcmp(connect, "true") == 0 && connect_port)
        in->connect_port = (int)strtol(connect_port, NULL, 10);
    in->executor_tolerations = l->executor_tolerations;
    in->warehouse_claim = setting_value(plan, SETTING_SPARK_WAREHOUSE_CLAIM);
    in->warehouse_path = in->warehouse_claim ? plan_warehouse_mount_path(plan) : NULL;
    in->s3_credentials_secret = setting_value(plan, SETTING_S3_CREDENTIALS_SECRET);
    in->pod_template = l->pod_template;
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
    if (rc < 0 || fputc('\n', out) == EOF) {
        error_set(err, ERR_INPUT, "cannot write the objects");
        return -1;
    }
    return 0;
}
