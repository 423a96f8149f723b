/* sparkconf.c — Spark properties with provenance: checks, rendering a plan into
 * properties, and writing them as spark-defaults.conf (see sparkconf.h). */
#include "launcher/sparkconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/config.h"
#include "launcher/kernel_env.h"
#include "launcher/matrix.h"
#include "launcher/plan.h"

struct property {
    char *key, *value, *source;
};

struct sparkconf {
    struct property *items;
    size_t n, cap;
};

/* Set by the runtime from facts it alone knows; extra properties must not move them. */
static const char *const reserved_keys[] = {
    "spark.master",          "spark.submit.deployMode",          "spark.driver.host",
    "spark.driver.bindAddress", "spark.driver.port",             "spark.blockManager.port",
    "spark.kubernetes.namespace", "spark.kubernetes.driver.pod.name",
    "spark.connect.authenticate.token",
};

struct sparkconf *sparkconf_new(void)
{
    return calloc(1, sizeof(struct sparkconf));
}

void sparkconf_free(struct sparkconf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->items[i].key);
        free(conf->items[i].value);
        free(conf->items[i].source);
    }
    free(conf->items);
    free(conf);
}

int sparkconf_check_key(const char *key, const char *origin, char *err, size_t errlen)
{
    int ok = strncmp(key, "spark.", 6) == 0 && key[6] != '\0' && strlen(key) < 256;
    for (const char *p = key; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("._-[]", *p);
    if (ok)
        return 0;
    snprintf(err, errlen,
             "%s: Spark property name '%s' is not acceptable: it must start with 'spark.' and "
             "use only letters, digits and . _ - [ ]", origin, key);
    return -1;
}

int sparkconf_check_value(const char *key, const char *value, const char *origin, char *err,
                          size_t errlen)
{
    for (const char *p = value; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen,
                     "%s: the value of Spark property '%s' contains a control character "
                     "(newline, tab, ...) at offset %zu; it would corrupt spark-defaults.conf",
                     origin, key, (size_t)(p - value));
            return -1;
        }
    }
    if (strlen(value) > 8192) {
        snprintf(err, errlen, "%s: the value of Spark property '%s' is longer than 8192 bytes",
                 origin, key);
        return -1;
    }
    return 0;
}

int sparkconf_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return 1;
    return 0;
}

int sparkconf_set(struct sparkconf *conf, const char *key, const char *value,
                  const char *source, char *err, size_t errlen)
{
    if (sparkconf_check_key(key, source, err, errlen) ||
        sparkconf_check_value(key, value, source, err, errlen))
        return -1;
    char *v = strdup(value), *s = strdup(source);
    if (!v || !s)
        goto oom;
    for (size_t i = 0; i < conf->n; i++) {
        if (strcmp(conf->items[i].key, key) == 0) {
            free(conf->items[i].value);
            free(conf->items[i].source);
            conf->items[i].value = v;
            conf->items[i].source = s;
            return 0;
        }
    }
    if (conf->n == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 16;
        struct property *grown = realloc(conf->items, cap * sizeof *grown);
        if (!grown)
            goto oom;
        conf->items = grown;
        conf->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        goto oom;
    conf->items[conf->n++] = (struct property){k, v, s};
    return 0;
oom:
    free(v);
    free(s);
    snprintf(err, errlen, "out of memory");
    return -1;
}

const char *sparkconf_get(const struct sparkconf *conf, const char *key)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->items[i].key, key) == 0)
            return conf->items[i].value;
    return NULL;
}

size_t sparkconf_count(const struct sparkconf *conf) { return conf->n; }
const char *sparkconf_key(const struct sparkconf *conf, size_t i) { return conf->items[i].key; }
const char *sparkconf_value(const struct sparkconf *conf, size_t i)
{
    return conf->items[i].value;
}
const char *sparkconf_source(const struct sparkconf *conf, size_t i)
{
    return conf->items[i].source;
}

/* A value as java.util.Properties reads it back unchanged: backslashes doubled, and a
 * leading separator or blank escaped (Properties would swallow it). */
static void print_value(FILE *out, const char *v)
{
    if (*v == '=' || *v == ':' || *v == ' ' || *v == '#' || *v == '!')
        fputc('\\', out);
    for (; *v; v++) {
        if (*v == '\\')
            fputc('\\', out);
        fputc(*v, out);
    }
}

/* A comment line. Names reach it (a kernelspec folder, a path in a source): a
 * control character is shown as \n, \r or \xHH, so that none can end the line
 * and start a property of its own. */
static void print_comment(FILE *out, const char *prefix, const char *text)
{
    fprintf(out, "# %s", prefix);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '\n')
            fputs("\\n", out);
        else if (*c == '\r')
            fputs("\\r", out);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(*c, out);
    }
    fputc('\n', out);
}

int sparkconf_print(const struct sparkconf *conf, FILE *out, const char *header,
                    int with_sources)
{
    if (header)
        print_comment(out, "", header);
    for (size_t i = 0; i < conf->n; i++) {
        if (with_sources)
            print_comment(out, "from: ", conf->items[i].source);
        fprintf(out, "%s ", conf->items[i].key);
        print_value(out, conf->items[i].value);
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

int sparkconf_write(const struct sparkconf *conf, const char *dir, const char *header,
                    char *err, size_t errlen)
{
    char path[4096], tmp[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/spark-defaults.conf", dir) >= sizeof path) {
        snprintf(err, errlen, "%s: directory name too long", dir);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.spark-defaults.conf.XXXXXX", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a file: %s", dir, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    int rc = fchmod(fd, 0600);
    rc |= sparkconf_print(conf, f, header, 0);
    rc |= fflush(f) != 0 || fsync(fd) != 0;
    if (fclose(f) != 0 || rc != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- rendering a plan ---- */

struct render {
    struct sparkconf *conf;
    const struct plan *plan;
    char *err;
    size_t errlen;
    int failed;
};

static void put(struct render *r, const char *key, const char *value, const char *source)
{
    if (!r->failed && sparkconf_set(r->conf, key, value, source, r->err, r->errlen))
        r->failed = 1;
}

/* A property whose value is a setting: it takes that setting's source. */
static void put_setting(struct render *r, const char *key, enum setting_id id)
{
    const struct setting *s = plan_setting(r->plan, id);
    if (s && s->value && *s->value)
        put(r, key, s->value, s->source);
}

static void render_kubernetes(struct render *r, const struct sparkconf_pod *pod)
{
    static const char runtime[] = "runtime (the driver pod)";
    char buf[1024];
    const char *api = pod->api_server ? pod->api_server : "";
    snprintf(buf, sizeof buf, "k8s://%s%s", strncmp(api, "https://", 8) == 0 ? "" : "https://",
             api);
    put(r, "spark.master", buf, runtime);
    put(r, "spark.submit.deployMode", "client", runtime);
    put(r, "spark.kubernetes.namespace", pod->namespace ? pod->namespace : "", runtime);
    put_setting(r, "spark.kubernetes.container.image", SETTING_EXECUTOR_IMAGE);
    put(r, "spark.kubernetes.driver.pod.name", pod->driver_pod_name ? pod->driver_pod_name : "",
        runtime);
    put(r, "spark.driver.host", pod->driver_host ? pod->driver_host : "", runtime);
    put(r, "spark.driver.bindAddress", pod->pod_ip ? pod->pod_ip : "", runtime);
    snprintf(buf, sizeof buf, "%d", SPARKCONF_DRIVER_PORT);
    put(r, "spark.driver.port", buf, runtime);
    snprintf(buf, sizeof buf, "%d", SPARKCONF_BLOCK_MANAGER_PORT);
    put(r, "spark.blockManager.port", buf, runtime);
}

static void render_executors(struct render *r)
{
    static const char builtin[] = "built-in default";
    put_setting(r, "spark.executor.cores", SETTING_EXECUTOR_CORES);
    put_setting(r, "spark.executor.memory", SETTING_EXECUTOR_MEMORY);
    put_setting(r, "spark.executor.instances", SETTING_EXECUTOR_INSTANCES);
    put(r, "spark.dynamicAllocation.enabled", "true", builtin);
    put(r, "spark.dynamicAllocation.shuffleTracking.enabled", "true", builtin);
    /* An executor that holds shuffle files is otherwise kept until the driver's garbage
     * collector drops the shuffle (30 minutes and more): a notebook left idle would keep
     * its executors. After this, an idle one goes (its shuffle output is recomputed if
     * needed again). */
    put(r, "spark.dynamicAllocation.shuffleTracking.timeout", SPARKCONF_SHUFFLE_TRACKING_TIMEOUT,
        builtin);
    put_setting(r, "spark.dynamicAllocation.maxExecutors", SETTING_EXECUTOR_MAX_INSTANCES);
}

/* A Spark size ("512m", "4g") in MiB; -1 when malformed. */
static long size_mib(const char *text)
{
    char *end = NULL;
    long long n = text ? strtoll(text, &end, 10) : -1;
    if (!text || end == text || n <= 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': return (long)((n + 1023) / 1024);
    case 'm': case 'M': case '\0': return (long)n;
    case 'g': case 'G': return (long)(n * 1024);
    case 't': case 'T': return (long)(n * 1024 * 1024);
    default: return -1;
    }
}

/* RAPIDS: the plugin everywhere; GPU scheduling only where executors are pods (in
 * local mode Spark cannot schedule GPUs, and RAPIDS asks for no resource requests). */
static void render_gpu(struct render *r, int kubernetes)
{
    char src[128], buf[64];
    snprintf(src, sizeof src, "matrix default (variant %s)", plan_variant(r->plan));
    put(r, "spark.plugins", SPARKCONF_RAPIDS_PLUGIN, src);
    put(r, "spark.rapids.sql.enabled", "true", src);
    if (!kubernetes)
        return;
    put_setting(r, "spark.executor.resource.gpu.amount", SETTING_EXECUTOR_GPUS);
    put(r, "spark.executor.resource.gpu.vendor", "nvidia.com", src);
    put(r, "spark.executor.resource.gpu.discoveryScript", SPARKCONF_GPU_DISCOVERY_SCRIPT, src);
    /* Every task slot of an executor shares its one GPU: 1/cores, cut (never rounded up)
     * to six decimals so that Spark's floor(1/amount) gives back exactly the cores. */
    const struct setting *cores = plan_setting(r->plan, SETTING_EXECUTOR_CORES);
    long n = cores && cores->value ? strtol(cores->value, NULL, 10) : 1;
    if (n <= 1) {
        snprintf(buf, sizeof buf, "1");
    } else {
        long micro = 1000000 / n;
        snprintf(buf, sizeof buf, "0.%06ld", micro);
        for (size_t len = strlen(buf); len > 3 && buf[len - 1] == '0'; len--)
            buf[len - 1] = '\0';
    }
    char tsrc[256];
    snprintf(tsrc, sizeof tsrc, "1 / executor cores, %s", cores ? cores->source : "");
    put(r, "spark.task.resource.gpu.amount", buf, tsrc);
    /* Pinned host memory speeds up host <-> GPU copies; it is off-heap, so the pod's
     * memory (Spark's overhead) must hold it besides Spark's own overhead (10 %, at
     * least 384 MiB), or the kernel OOM-kills the executor (RAPIDS tuning guide). */
    put(r, "spark.rapids.memory.pinnedPool.size", SPARKCONF_RAPIDS_PINNED_MIB "m", src);
    const struct setting *mem = plan_setting(r->plan, SETTING_EXECUTOR_MEMORY);
    long heap = size_mib(mem ? mem->value : NULL);
    if (heap > 0) {
        long overhead = heap / 10 < 384 ? 384 : heap / 10;
        snprintf(buf, sizeof buf, "%ldm", overhead + strtol(SPARKCONF_RAPIDS_PINNED_MIB, NULL, 10));
        snprintf(tsrc, sizeof tsrc, "pinned pool + max(10 %% of executor memory, 384m), %s",
                 mem->source);
        put(r, "spark.executor.memoryOverhead", buf, tsrc);
    }
}

static void render_iceberg(struct render *r)
{
    char src[128], key[128];
    snprintf(src, sizeof src, "matrix default (variant %s)", plan_variant(r->plan));
    put(r, "spark.sql.extensions",
        "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions", src);
    const struct setting *name = plan_setting(r->plan, SETTING_ICEBERG_NAME);
    const char *catalog = name && name->value ? name->value : "iceberg";
    snprintf(key, sizeof key, "spark.sql.catalog.%s", catalog);
    put(r, key, "org.apache.iceberg.spark.SparkCatalog", name ? name->source : src);
    snprintf(key, sizeof key, "spark.sql.catalog.%s.type", catalog);
    put_setting(r, key, SETTING_ICEBERG_TYPE);
    snprintf(key, sizeof key, "spark.sql.catalog.%s.uri", catalog);
    put_setting(r, key, SETTING_ICEBERG_URI);
    snprintf(key, sizeof key, "spark.sql.catalog.%s.warehouse", catalog);
    put_setting(r, key, SETTING_ICEBERG_WAREHOUSE);
    /* s3:// is not a Hadoop file system: Iceberg's own S3 client (the AWS bundle) reads it */
    const struct setting *wh = plan_setting(r->plan, SETTING_ICEBERG_WAREHOUSE);
    if (wh && wh->value && strncmp(wh->value, "s3://", 5) == 0) {
        snprintf(key, sizeof key, "spark.sql.catalog.%s.io-impl", catalog);
        put(r, key, "org.apache.iceberg.aws.s3.S3FileIO", wh->source);
    }
}

/* Spark's own warehouse (tables of its session catalog): by default "spark-warehouse"
 * in the working directory, which in the driver pod is on its read-only root. Shared
 * storage when the Iceberg warehouse is on some, else the pod's /tmp. */
static void render_warehouse(struct render *r, int iceberg)
{
    const struct setting *wh = plan_setting(r->plan, SETTING_ICEBERG_WAREHOUSE);
    char buf[4200];
    if (iceberg && wh && wh->value && plan_shared_storage(wh->value)) {
        snprintf(buf, sizeof buf, "%s%sspark-warehouse", wh->value,
                 wh->value[strlen(wh->value) - 1] == '/' ? "" : "/");
        put(r, "spark.sql.warehouse.dir", buf, wh->source);
    } else {
        put(r, "spark.sql.warehouse.dir", SPARKCONF_POD_WAREHOUSE,
            "runtime (the driver pod's root is read-only; /tmp is its own)");
    }
}

/* The Spark Connect server in the driver: its plugin (after RAPIDS', if any), its
 * port, its address (loopback for a local kernel) and its token. */
static void render_connect(struct render *r, const struct sparkconf_pod *pod,
                           const struct sparkconf_env *env)
{
    const struct setting *on = plan_setting(r->plan, SETTING_CONNECT);
    if (!on || !on->value || strcmp(on->value, "true") != 0)
        return;
    const char *plugins = sparkconf_get(r->conf, "spark.plugins");
    char buf[512];
    if (plugins && *plugins)
        snprintf(buf, sizeof buf, "%s,%s", plugins, SPARKCONF_CONNECT_PLUGIN);
    else
        snprintf(buf, sizeof buf, "%s", SPARKCONF_CONNECT_PLUGIN);
    put(r, "spark.plugins", buf, on->source);
    put_setting(r, "spark.connect.grpc.binding.port", SETTING_CONNECT_PORT);
    if (!pod)
        put(r, "spark.connect.grpc.binding.address", "127.0.0.1", "runtime (local)");
    if (env && env->connect_token)
        put(r, "spark.connect.authenticate.token", env->connect_token, "runtime (a new token)");
}

/* The kernel's progress display; Spark's console bar off while it is on (both would
 * draw the same jobs in the cell). */
static void render_progress(struct render *r)
{
    const struct setting *on = plan_setting(r->plan, SETTING_PROGRESS);
    int enabled = on && on->value && strcmp(on->value, "true") == 0;
    put(r, SPARKCONF_PROGRESS, enabled ? "true" : "false", on ? on->source : "built-in default");
    if (!enabled)
        return;
    put_setting(r, SPARKCONF_PROGRESS_INTERVAL, SETTING_PROGRESS_INTERVAL);
    put(r, "spark.ui.showConsoleProgress", "false", on->source);
}

/* Local runtime: which of the variant's jars are in ENV->jars_dir. *GPU and
 * *ICEBERG are cleared when a required jar is missing; the present ones go to
 * spark.jars. */
static void render_jars(struct render *r, const struct sparkconf_env *env, int *gpu,
                        int *iceberg)
{
    if (!env || !env->jars_dir || (!*gpu && !*iceberg))
        return;
    struct matrix *m = NULL;
    char err[512];
    if (matrix_load_default(&m, err, sizeof err)) {
        snprintf(r->err, r->errlen, "%s", err);
        r->failed = 1;
        return;
    }
    const struct matrix_spark *line = matrix_spark_find(m, plan_spark_version(r->plan));
    struct kernel_jar jars[KERNEL_JARS_MAX];
    size_t n = line ? kernel_env_jars(m, line, plan_variant(r->plan), NULL, jars) : 0;
    char list[4 * 4200] = "";
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", env->jars_dir, jars[i].file);
        if (access(path, R_OK) == 0) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "", path);
        } else if (jars[i].required && strcmp(jars[i].what, "rapids") == 0) {
            *gpu = 0;
        } else if (jars[i].required) {
            *iceberg = 0;
        }
    }
    matrix_free(m);
    if (*list)
        put(r, "spark.jars", list, "runtime (the kernel environment's jars)");
}

int sparkconf_render(const struct plan *plan, const struct sparkconf_pod *pod,
                     const struct sparkconf_env *env, struct sparkconf **out, char *err,
                     size_t errlen)
{
    struct render r = {sparkconf_new(), plan, err, errlen, 0};
    if (!r.conf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (pod)
        render_kubernetes(&r, pod);
    else
        put(&r, "spark.master", "local[*]", "runtime (local)");
    put_setting(&r, "spark.driver.memory", SETTING_DRIVER_MEMORY);
    if (pod)
        render_executors(&r);
    const char *variant = plan_variant(plan);
    int gpu = matrix_variant_has(variant, "gpu"), iceberg = matrix_variant_has(variant, "iceberg");
    if (!pod)
        render_jars(&r, env, &gpu, &iceberg);
    if (gpu)
        render_gpu(&r, pod != NULL);
    if (iceberg)
        render_iceberg(&r);
    if (pod)
        render_warehouse(&r, iceberg);
    render_connect(&r, pod, env);
    render_progress(&r);
    const struct settings *s = plan_settings(plan);
    for (size_t i = 0; s && i < s->n_extra; i++)
        put(&r, s->extra[i].key, s->extra[i].value, s->extra[i].source);
    if (r.failed) {
        sparkconf_free(r.conf);
        return -1;
    }
    *out = r.conf;
    return 0;
}
