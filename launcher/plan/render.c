/* render.c — a launch plan rendered into Spark properties: the local runtime's
 * or Kubernetes client mode inside the driver pod (see render.h). */
#include "launcher/plan/render.h"
#include "launcher/sys/errmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/plan/config.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/images/matrix.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/sparkconf.h"

struct render {
    struct sparkconf *conf;
    const struct plan *plan;
    struct error *err;
    int failed;
    char *class_path; /* the variant's jars on the driver's class path (owned), or NULL */
};

static void put(struct render *r, const char *key, const char *value, const char *source)
{
    if (!r->failed && sparkconf_set(r->conf, key, value, source, r->err))
        r->failed = 1;
}

/* A property whose value is a setting: it takes that setting's source. */
static void put_setting(struct render *r, const char *key, enum setting_id id)
{
    const struct setting *s = plan_setting(r->plan, id);
    if (s && s->value && *s->value)
        put(r, key, s->value, s->source);
}

/* Our JVM options (space-separated) stay in front of whatever spark_conf adds: see
 * keep_ours. */
static void add_java_option(struct render *r, const char *key, const char *option,
                            const char *source)
{
    const char *now = sparkconf_get(r->conf, key);
    char *both = NULL;
    if (asprintf(&both, "%s%s%s", now ? now : "", now ? " " : "", option) < 0) {
        error_nomem(r->err);
        r->failed = 1;
        return;
    }
    put(r, key, both, source);
    free(both);
}

static void render_kubernetes(struct render *r, const struct render_pod *pod)
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
    snprintf(buf, sizeof buf, "%d", RENDER_DRIVER_PORT);
    put(r, "spark.driver.port", buf, runtime);
    snprintf(buf, sizeof buf, "%d", RENDER_BLOCK_MANAGER_PORT);
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
    put(r, "spark.dynamicAllocation.shuffleTracking.timeout", RENDER_SHUFFLE_TRACKING_TIMEOUT,
        builtin);
    put_setting(r, "spark.dynamicAllocation.maxExecutors", SETTING_EXECUTOR_MAX_INSTANCES);
}

/* RAPIDS: the plugin everywhere; GPU scheduling only where executors are pods (in
 * local mode Spark cannot schedule GPUs, and RAPIDS asks for no resource requests). */
static void render_gpu(struct render *r, int kubernetes)
{
    char src[128], buf[64];
    snprintf(src, sizeof src, "matrix default (variant %s)", plan_variant(r->plan));
    put(r, "spark.plugins", RENDER_RAPIDS_PLUGIN, src);
    put(r, "spark.rapids.sql.enabled", "true", src);
    const struct setting *mode = plan_setting(r->plan, SETTING_RAPIDS_MODE);
    if (plan_rapids_explain_only(r->plan)) {
        /* RAPIDS plans every query and says what would run on a GPU, runs it on the
         * CPU, and needs no GPU: no resource is asked for, no pinned memory. Its executor
         * plugin would still look for a GPU at its start (RAPIDS 25.04 does; later ones
         * skip it in this mode): the architecture check off, and GPU memory set up at
         * a GPU task's start (a JVM property; none ever runs) rather than the
         * executor's. */
        put(r, "spark.rapids.sql.mode", "explainOnly", mode->source);
        put(r, "spark.rapids.skipGpuArchitectureCheck", "true", mode->source);
        add_java_option(r, "spark.driver.extraJavaOptions", RENDER_RAPIDS_LAZY_GPU_INIT,
                        mode->source);
        if (kubernetes)
            add_java_option(r, "spark.executor.extraJavaOptions", RENDER_RAPIDS_LAZY_GPU_INIT,
                            mode->source);
        return;
    }
    if (!kubernetes)
        return;
    put_setting(r, "spark.executor.resource.gpu.amount", SETTING_EXECUTOR_GPUS);
    put(r, "spark.executor.resource.gpu.vendor", "nvidia.com", src);
    put(r, "spark.executor.resource.gpu.discoveryScript", RENDER_GPU_DISCOVERY_SCRIPT, src);
    /* Every task slot of an executor shares its one GPU: 1/cores, cut (never rounded up)
     * to six decimals so that Spark's floor(1/amount) gives back exactly the cores. */
    const struct setting *cores = plan_setting(r->plan, SETTING_EXECUTOR_CORES);
    long n = cores && cores->value ? plan_number(r->plan, SETTING_EXECUTOR_CORES) : 1;
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
    put(r, "spark.rapids.memory.pinnedPool.size", RENDER_RAPIDS_PINNED_MIB "m", src);
    const struct setting *mem = plan_setting(r->plan, SETTING_EXECUTOR_MEMORY);
    long heap = mem && mem->value ? plan_number(r->plan, SETTING_EXECUTOR_MEMORY) : -1;
    if (heap > 0) {
        long overhead = heap / 10 < 384 ? 384 : heap / 10;
        snprintf(buf, sizeof buf, "%ldm", overhead + strtol(RENDER_RAPIDS_PINNED_MIB, NULL, 10));
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
    /* a REST or Hive catalog has a warehouse of its own: one is passed only when given
     * (a REST server takes it as the name of the warehouse to serve) */
    snprintf(key, sizeof key, "spark.sql.catalog.%s.warehouse", catalog);
    put_setting(r, key, SETTING_ICEBERG_WAREHOUSE);
    /* s3:// is not a Hadoop file system, and s3a:// needs hadoop-aws, which the images
     * do not carry: Iceberg's own S3 client (S3FileIO, in the AWS bundle the iceberg
     * images carry; its S3URI takes s3, s3a and s3n) reads and writes the tables */
    const struct setting *wh = plan_setting(r->plan, SETTING_ICEBERG_WAREHOUSE);
    const struct setting *endpoint = plan_setting(r->plan, SETTING_S3_ENDPOINT);
    const struct setting *io = NULL;
    if (wh && wh->value && (strncmp(wh->value, "s3://", 5) == 0 || strncmp(wh->value, "s3a://", 6) == 0 ||
                            strncmp(wh->value, "s3n://", 6) == 0))
        io = wh;
    else if (endpoint && endpoint->value)
        io = endpoint;
    if (io) {
        snprintf(key, sizeof key, "spark.sql.catalog.%s.io-impl", catalog);
        put(r, key, "org.apache.iceberg.aws.s3.S3FileIO", io->source);
    }
    /* S3FileIO's own properties (Iceberg's S3FileIOProperties / AwsClientProperties);
     * the credentials are never among them: the AWS SDK's default chain finds them in
     * the environment or the service account's identity */
    static const struct {
        const char *property;
        enum setting_id id;
    } s3[] = {{"s3.endpoint", SETTING_S3_ENDPOINT},
              {"client.region", SETTING_S3_REGION},
              {"s3.path-style-access", SETTING_S3_PATH_STYLE}};
    for (size_t i = 0; i < sizeof s3 / sizeof s3[0]; i++) {
        snprintf(key, sizeof key, "spark.sql.catalog.%s.%s", catalog, s3[i].property);
        put_setting(r, key, s3[i].id);
    }
}

/* Spark's own warehouse (tables of its session catalog, spark_catalog): where the
 * kernelspec puts it (spark_warehouse.dir, on Kubernetes with the claim every pod mounts
 * there); else, in a driver pod, on the Iceberg warehouse's storage when Spark can
 * reach it there (the session qualifies the path through Hadoop at its start: the images
 * carry HDFS's client, so hdfs:// and viewfs:// qualify); else the pod's own /tmp, and
 * the kernel refuses managed tables there (RENDER_SHARED_WAREHOUSE): executors are pods
 * of their own, and what they wrote into their /tmp would never reach the table. */
static void render_warehouse(struct render *r, int kubernetes, int iceberg)
{
    const struct setting *dir = plan_setting(r->plan, SETTING_SPARK_WAREHOUSE);
    const struct setting *wh = plan_setting(r->plan, SETTING_ICEBERG_WAREHOUSE);
    char buf[4200];
    if (dir && dir->value) {
        put(r, "spark.sql.warehouse.dir", dir->value, dir->source);
        const char *mount = plan_warehouse_mount_path(r->plan);
        const struct setting *claim = plan_setting(r->plan, SETTING_SPARK_WAREHOUSE_CLAIM);
        if (!kubernetes || !mount)
            return;
#define VOLUME "spark.kubernetes.executor.volumes.persistentVolumeClaim." RENDER_WAREHOUSE_VOLUME
        put(r, VOLUME ".options.claimName", claim->value, claim->source);
        put(r, VOLUME ".mount.path", mount, dir->source);
        put(r, VOLUME ".mount.readOnly", "false", claim->source);
#undef VOLUME
        return;
    }
    if (!kubernetes)
        return;
    if (iceberg && wh && wh->value && plan_shared_storage(wh->value) &&
        (strncmp(wh->value, "hdfs://", 7) == 0 || strncmp(wh->value, "viewfs://", 9) == 0)) {
        snprintf(buf, sizeof buf, "%s%sspark-warehouse", wh->value,
                 wh->value[strlen(wh->value) - 1] == '/' ? "" : "/");
        put(r, "spark.sql.warehouse.dir", buf, wh->source);
    } else {
        static const char why[] = "runtime (no shared warehouse: spark_warehouse.dir is unset)";
        put(r, "spark.sql.warehouse.dir", RENDER_POD_WAREHOUSE, why);
        put(r, RENDER_SHARED_WAREHOUSE, "false", why);
    }
}

/* The Spark Connect server in the driver: its plugin (after RAPIDS', if any), its
 * port, its address (loopback for a local kernel) and its token. */
static void render_connect(struct render *r, const struct render_pod *pod,
                           const struct render_env *env)
{
    const struct setting *on = plan_setting(r->plan, SETTING_CONNECT);
    if (!plan_flag(r->plan, SETTING_CONNECT))
        return;
    const char *plugins = sparkconf_get(r->conf, "spark.plugins");
    char buf[512];
    if (plugins && *plugins)
        snprintf(buf, sizeof buf, "%s,%s", plugins, RENDER_CONNECT_PLUGIN);
    else
        snprintf(buf, sizeof buf, "%s", RENDER_CONNECT_PLUGIN);
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
    int enabled = plan_flag(r->plan, SETTING_PROGRESS);
    put(r, RENDER_PROGRESS, enabled ? "true" : "false", on ? on->source : "built-in default");
    if (!enabled)
        return;
    put_setting(r, RENDER_PROGRESS_INTERVAL, SETTING_PROGRESS_INTERVAL);
    put(r, "spark.ui.showConsoleProgress", "false", on->source);
}

/* The admin's limits, for the kernel to hold a notebook's session settings to. */
static void render_limits(struct render *r)
{
    static const struct {
        const char *name;
        enum setting_id id;
    } limits[] = {
        {RENDER_LIMITS "executors", SETTING_LIMIT_EXECUTORS},
        {RENDER_LIMITS "executorCores", SETTING_LIMIT_EXECUTOR_CORES},
        {RENDER_LIMITS "executorMemory", SETTING_LIMIT_EXECUTOR_MEMORY},
        {RENDER_LIMITS "executorGpus", SETTING_LIMIT_EXECUTOR_GPUS},
        {RENDER_LIMITS "lockedProperties", SETTING_LIMIT_LOCKED},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
        put_setting(r, limits[i].name, limits[i].id);
}

/* The variant's jars on the driver's class path: spark.driver.extraClassPath is read
 * by spark-submit from spark-defaults.conf before the driver's JVM starts, so the
 * plugin and the catalog classes are there from its first instruction (spark.jars
 * would load them later, in a child class loader, and have each executor download
 * them again). Local runtime: the files found in ENV->jars_dir, *GPU and *ICEBERG
 * cleared when a required one is missing; Kubernetes: the image's folder. */
static void render_jars(struct render *r, const struct render_env *env, int *gpu,
                        int *iceberg)
{
    if (!env || (!*gpu && !*iceberg))
        return;
    if (env->image_jars_dir) {
        if (asprintf(&r->class_path, "%s/*", env->image_jars_dir) < 0)
            r->class_path = NULL;
    } else if (env->jars_dir) {
        const struct matrix *m = plan_matrix(r->plan);
        const struct matrix_spark *line = plan_matrix_line(r->plan);
        struct kernel_jar jars[KERNEL_JARS_MAX];
        size_t n = line ? kernel_env_jars_in(m, line, plan_variant(r->plan), NULL, env->jars_dir, jars)
                        : 0;
        char list[4 * 4200] = "";
        for (size_t i = 0; i < n; i++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", env->jars_dir, jars[i].file);
            if (access(path, R_OK) == 0) {
                size_t used = strlen(list);
                snprintf(list + used, sizeof list - used, "%s%s", used ? ":" : "", path);
            } else if (jars[i].required && strcmp(jars[i].what, "rapids") == 0) {
                *gpu = 0;
            } else if (jars[i].required) {
                *iceberg = 0;
            }
        }
        if (*list && !(r->class_path = strdup(list))) {
            error_nomem(r->err);
            r->failed = 1;
        }
    }
    if (r->class_path)
        put(r, "spark.driver.extraClassPath", r->class_path,
            env->image_jars_dir ? "runtime (the image's jars)"
                                : "runtime (the kernel environment's jars)");
}

/* What spark_conf gives for a property the runtime set too (the driver's class path,
 * the JVMs' options) comes after the runtime's value, not instead of it: OURS is the
 * conf before the extra properties went in. */
static void keep_ours(struct render *r, const struct sparkconf *ours)
{
    static const struct {
        const char *key, *separator;
    } joined[] = {{"spark.driver.extraClassPath", ":"},
                  {"spark.driver.extraJavaOptions", " "},
                  {"spark.executor.extraJavaOptions", " "}};
    for (size_t i = 0; i < sizeof joined / sizeof joined[0]; i++) {
        const char *mine = sparkconf_get(ours, joined[i].key);
        const char *now = sparkconf_get(r->conf, joined[i].key);
        if (!mine || !now || strcmp(mine, now) == 0)
            continue;
        char *both = NULL, source[256];
        if (asprintf(&both, "%s%s%s", mine, joined[i].separator, now) < 0) {
            error_nomem(r->err);
            r->failed = 1;
            return;
        }
        snprintf(source, sizeof source, "runtime (its %s, then spark_conf's)", joined[i].key);
        put(r, joined[i].key, both, source);
        free(both);
    }
}

int render_spark_conf(const struct plan *plan, const struct render_pod *pod,
                     const struct render_env *env, struct sparkconf **out, struct error *err)
{
    struct render r = {sparkconf_new(), plan, err, 0, NULL};
    if (!r.conf) {
        error_nomem(err);
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
    render_jars(&r, env, &gpu, &iceberg);
    if (gpu)
        render_gpu(&r, pod != NULL);
    if (iceberg)
        render_iceberg(&r);
    render_warehouse(&r, pod != NULL, iceberg);
    render_connect(&r, pod, env);
    render_progress(&r);
    render_limits(&r);
    const struct settings *s = plan_settings(plan);
    struct sparkconf *ours = sparkconf_new();
    for (size_t i = 0; ours && !r.failed && i < sparkconf_count(r.conf); i++)
        if (sparkconf_set(ours, sparkconf_key(r.conf, i), sparkconf_value(r.conf, i),
                          sparkconf_source(r.conf, i), err))
            r.failed = 1;
    if (!ours) {
        error_nomem(err);
        r.failed = 1;
    }
    for (size_t i = 0; s && i < s->n_extra; i++)
        put(&r, s->extra[i].key, s->extra[i].value, s->extra[i].source);
    if (ours && !r.failed)
        keep_ours(&r, ours);
    sparkconf_free(ours);
    free(r.class_path);
    if (r.failed) {
        sparkconf_free(r.conf);
        return -1;
    }
    *out = r.conf;
    return 0;
}

int render_write_spark_conf(const struct plan *plan, const char *dir,
                          const struct render_env *env, struct error *err)
{
    struct sparkconf *conf = NULL;
    if (render_spark_conf(plan, NULL, env, &conf, err))
        return -1;
    char header[512];
    snprintf(header, sizeof header, "spark-k8s: %s (Spark %s, %s, %s runtime)",
             plan_kernel_name(plan)[0] ? plan_kernel_name(plan) : "default",
             plan_spark_version(plan)[0] ? plan_spark_version(plan) : "?", plan_variant(plan),
             plan_runtime(plan));
    int rc = sparkconf_write(conf, dir, header, err);
    sparkconf_free(conf);
    return rc;
}
