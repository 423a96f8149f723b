/* plan.c — reads a kernelspec's metadata into a launch plan (see plan.h): the matrix
 * and built-in defaults, then the metadata, then the admin config file and the
 * environment, then the checks that need all of them together. */
#include "launcher/plan/plan.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/images/matrix.h"
#include "launcher/sys/strv.h"

struct plan {
    char *kernel_name;
    char *display_name;
    char *spark_version;
    char *spark_line;
    char *variant;
    char *path;
    struct settings settings;
    char **runtime_argv; /* NULL-terminated */
    const struct matrix *matrix;      /* loaded once, for the plan and the layers below */
    struct matrix *owned_matrix;      /* that matrix when the plan loaded it (plan_free frees
                                       * it); NULL when borrowed (plan_from_json_in) */
    const struct matrix_spark *line;  /* the plan's Spark line in it, or NULL */
};

static const char *const default_argv[] = {
    "/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}", NULL,
};

static const char builtin[] = "built-in default";

/* Dynamic allocation's cap by default: a notebook gets at most this many executors (and
 * GPUs, on gpu variants) unless the kernelspec or an admin says otherwise. */
#define PLAN_DEFAULT_MAX_EXECUTORS "4"

void plan_free(struct plan *plan)
{
    if (!plan)
        return;
    free(plan->kernel_name);
    free(plan->display_name);
    free(plan->spark_version);
    free(plan->spark_line);
    free(plan->variant);
    free(plan->path);
    settings_free(&plan->settings);
    strv_free(plan->runtime_argv);
    matrix_free(plan->owned_matrix);
    free(plan);
}

static int set_string(char **dst, const char *value, struct error *err)
{
    char *copy = strdup(value);
    if (!copy)
        return error_nomem(err);
    free(*dst);
    *dst = copy;
    return 0;
}

/* A string field of OBJ, or FALLBACK when absent; -1 when present but not a string. */
static int take_string(json_t *obj, const char *field, const char *fallback, char **dst,
                       const char *path, const char *where, struct error *err)
{
    json_t *v = obj ? json_object_get(obj, field) : NULL;
    if (!v)
        return set_string(dst, fallback, err);
    if (!json_is_string(v)) {
        char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        error_set(err, ERR_INPUT, "%s: field %s%s must be a string, not %s", path, where, field,
                  dump ? dump : "?");
        free(dump);
        return -1;
    }
    return set_string(dst, json_string_value(v), err);
}

static int take_argv(json_t *meta, const char *path, struct plan *plan, struct error *err)
{
    json_t *cmd = meta ? json_object_get(meta, "runtime_command") : NULL;
    if (!cmd) {
        plan->runtime_argv = strv_copy(default_argv);
        return plan->runtime_argv ? 0 : error_nomem(err);
    }
    size_t n = json_is_array(cmd) ? json_array_size(cmd) : 0;
    if (n == 0) {
        char *dump = json_dumps(cmd, JSON_ENCODE_ANY | JSON_COMPACT);
        error_set(err, ERR_INPUT,
                  "%s: field metadata.spark_k8s.runtime_command must be a non-empty array of "
                  "strings, not %s", path, dump ? dump : "?");
        free(dump);
        return -1;
    }
    plan->runtime_argv = calloc(n + 1, sizeof *plan->runtime_argv);
    if (!plan->runtime_argv)
        return error_nomem(err);
    for (size_t i = 0; i < n; i++) {
        json_t *arg = json_array_get(cmd, i);
        if (!json_is_string(arg) || json_string_length(arg) == 0) {
            char *dump = json_dumps(arg, JSON_ENCODE_ANY | JSON_COMPACT);
            error_set(err, ERR_INPUT,
                      "%s: field metadata.spark_k8s.runtime_command[%zu] must be a non-empty "
                      "string, not %s", path, i, dump ? dump : "?");
            free(dump);
            return -1;
        }
        plan->runtime_argv[i] = strdup(json_string_value(arg));
        if (!plan->runtime_argv[i])
            return error_nomem(err);
    }
    return 0;
}

/* The values a kernel has when nobody says otherwise. */
static int set_defaults(struct plan *plan, const struct matrix *m, const struct matrix_spark *s,
                        struct error *err)
{
    struct settings *st = &plan->settings;
    int gpu = matrix_variant_has(plan->variant, "gpu");
    if (settings_set(st, SETTING_RUNTIME, "local", builtin, err) ||
        settings_set(st, SETTING_DRIVER_CORES, "1", builtin, err) ||
        settings_set(st, SETTING_DRIVER_MEMORY, "2g", builtin, err) ||
        settings_set(st, SETTING_EXECUTOR_CORES, "4", builtin, err) ||
        settings_set(st, SETTING_EXECUTOR_MEMORY, "8g", builtin, err) ||
        settings_set(st, SETTING_EXECUTOR_INSTANCES, "2", builtin, err) ||
        settings_set(st, SETTING_EXECUTOR_GPUS, gpu ? "1" : "0", builtin, err) ||
        settings_set(st, SETTING_EXECUTOR_MAX_INSTANCES, PLAN_DEFAULT_MAX_EXECUTORS, builtin, err) ||
        settings_set(st, SETTING_DRIVER_GPUS, "0", builtin, err) ||
        settings_set(st, SETTING_CONNECT, "false", builtin, err) ||
        settings_set(st, SETTING_CONNECT_PORT, "15002", builtin, err) ||
        settings_set(st, SETTING_PROGRESS, "true", builtin, err) ||
        settings_set(st, SETTING_PROGRESS_INTERVAL, "500", builtin, err))
        return -1;
    /* the hadoop catalog's default warehouse is set in check_plan, once the catalog's
     * type is known: a REST or Hive catalog gets none (the catalog has its own) */
    if (matrix_variant_has(plan->variant, "iceberg") &&
        (settings_set(st, SETTING_ICEBERG_NAME, "iceberg", builtin, err) ||
         settings_set(st, SETTING_ICEBERG_TYPE, "hadoop", builtin, err)))
        return -1;
    if (gpu && settings_set(st, SETTING_RAPIDS_MODE, "executeOnGPU", builtin, err))
        return -1;
    if (!s)
        return 0;
    char ref[1024];
    static const struct {
        enum setting_id id;
        const char *kind;
    } images[] = {{SETTING_DRIVER_IMAGE, "jupyter"}, {SETTING_EXECUTOR_IMAGE, "runtime"}};
    for (size_t i = 0; i < 2; i++) {
        if (matrix_image_ref(m, NULL, images[i].kind, s, plan->variant, ref, sizeof ref))
            return error_set(err, ERR_INPUT, "matrix %s: no image for Spark %s, variant %s",
                             m->origin, s->line, plan->variant);
        if (settings_set(st, images[i].id, ref, "matrix default", err))
            return -1;
    }
    return 0;
}

/* An admin's registry replaces the registry of both images, whatever their source. */
static int apply_registry(struct plan *plan, const struct matrix *m,
                          const struct matrix_spark *s, struct error *err)
{
    const struct setting *reg = &plan->settings.values[SETTING_IMAGE_REGISTRY];
    if (!reg->value || !s)
        return 0;
    char ref[1024], src[4700];
    snprintf(src, sizeof src, "%s with the matrix's image name", reg->source);
    static const struct {
        enum setting_id id;
        const char *kind;
    } images[] = {{SETTING_DRIVER_IMAGE, "jupyter"}, {SETTING_EXECUTOR_IMAGE, "runtime"}};
    for (size_t i = 0; i < 2; i++) {
        if (matrix_image_ref(m, reg->value, images[i].kind, s, plan->variant, ref, sizeof ref)) {
            error_set(err, ERR_INPUT, "%s: image_registry '%s' makes no valid image name",
                      reg->source, reg->value);
            return -1;
        }
        if (settings_set(&plan->settings, images[i].id, ref, src, err))
            return -1;
    }
    return 0;
}

static int check_spark_warehouse(struct plan *plan, int kubernetes, struct error *err);

/* GPUs per executor: exactly one for RAPIDS, none in its explain-only mode. */
static int check_gpus(struct plan *plan, struct error *err)
{
    const struct setting *v = plan->settings.values;
    if (plan_rapids_explain_only(plan)) {
        /* explain-only: nothing runs on a GPU, so no executor asks for one */
        if (strcmp(v[SETTING_EXECUTOR_GPUS].source, builtin) == 0) {
            char src[4200];
            snprintf(src, sizeof src, "built-in default: rapids.mode explainOnly (%s)",
                     v[SETTING_RAPIDS_MODE].source);
            if (settings_set(&plan->settings, SETTING_EXECUTOR_GPUS, "0", src, err))
                return -1;
        } else if (v[SETTING_EXECUTOR_GPUS].number != 0) {
            error_set(err, ERR_INPUT,
                      "%s: resources.executor_gpus has value '%s', but rapids.mode is explainOnly "
                      "(%s): RAPIDS then runs nothing on a GPU, so executors ask for none; set "
                      "rapids.mode to executeOnGPU, or leave resources.executor_gpus unset",
                      v[SETTING_EXECUTOR_GPUS].source, v[SETTING_EXECUTOR_GPUS].value,
                      v[SETTING_RAPIDS_MODE].source);
            return -1;
        }
    } else if (matrix_variant_has(plan->variant, "gpu") && v[SETTING_EXECUTOR_GPUS].number != 1) {
        error_set(err, ERR_INPUT,
                  "%s: resources.executor_gpus has value '%s'; the RAPIDS Accelerator uses "
                  "exactly one GPU per executor, so a %s kernel needs 1",
                  v[SETTING_EXECUTOR_GPUS].source, v[SETTING_EXECUTOR_GPUS].value, plan->variant);
        return -1;
    }
    return 0;
}

/* The executors asked for fit under the cap (the default cap follows them). */
static int check_executors(struct plan *plan, struct error *err)
{
    const struct setting *v = plan->settings.values;
    long instances = v[SETTING_EXECUTOR_INSTANCES].number;
    long max = v[SETTING_EXECUTOR_MAX_INSTANCES].number;
    if (instances > max && strcmp(v[SETTING_EXECUTOR_MAX_INSTANCES].source, builtin) == 0) {
        /* nobody set a cap: the default one never refuses the executors asked for */
        char src[4200];
        snprintf(src, sizeof src, "built-in default: resources.executor_instances, %s",
                 v[SETTING_EXECUTOR_INSTANCES].source);
        if (settings_set(&plan->settings, SETTING_EXECUTOR_MAX_INSTANCES,
                         v[SETTING_EXECUTOR_INSTANCES].value, src, err))
            return -1;
    } else if (instances > max) {
        error_set(err, ERR_INPUT,
                  "%s: resources.executor_instances has value '%s', more than "
                  "resources.executor_max_instances '%s' (%s): raise the cap or start fewer",
                  v[SETTING_EXECUTOR_INSTANCES].source, v[SETTING_EXECUTOR_INSTANCES].value,
               v[SETTING_EXECUTOR_MAX_INSTANCES].value, v[SETTING_EXECUTOR_MAX_INSTANCES].source);
        return -1;
    }
    return 0;
}

/* The Iceberg catalog: a hadoop catalog's default warehouse, a REST catalog's uri, and a
 * warehouse the catalog's file systems and the runtime can reach. */
static int check_iceberg(struct plan *plan, int kubernetes, struct error *err)
{
    const struct setting *v = plan->settings.values;
    if (!matrix_variant_has(plan->variant, "iceberg"))
        return 0;
    const char *type = v[SETTING_ICEBERG_TYPE].value;
    if (strcmp(type, "hadoop") == 0 && !v[SETTING_ICEBERG_WAREHOUSE].value) {
        /* the kernel's working directory: the notebook's folder, on the local runtime */
        char src[4200];
        snprintf(src, sizeof src, "built-in default for iceberg.type 'hadoop' (%s)",
                 v[SETTING_ICEBERG_TYPE].source);
        if (settings_set(&plan->settings, SETTING_ICEBERG_WAREHOUSE, "iceberg-warehouse", src,
                         err))
            return -1;
    }
    /* a hive catalog without uri uses hive.metastore.uris of hive-site.xml (Iceberg docs) */
    if (strcmp(type, "rest") == 0 && !v[SETTING_ICEBERG_URI].value) {
        error_set(err, ERR_INPUT, "%s: iceberg.type '%s' needs iceberg.uri (the catalog's address)",
                  v[SETTING_ICEBERG_TYPE].source, type);
        return -1;
    }
    const char *wh = v[SETTING_ICEBERG_WAREHOUSE].value;
    /* A hadoop catalog keeps its tables' metadata through Hadoop's file systems: a
     * scheme without its connector fails at the first table ("No FileSystem for
     * scheme"), so it is refused here, at install. */
    if (strcmp(type, "hadoop") == 0 && *setting_hadoop_unsupported(wh)) {
        error_set(err, ERR_INPUT,
                  "%s: iceberg.warehouse has value '%s' for a hadoop catalog, which keeps its "
                  "tables through Hadoop's file systems: %s, and the kernels and images carry none "
               "but HDFS's client. A hadoop catalog works on hdfs:// (or, on the local runtime, a "
                  "path); for tables on S3 use a REST or Hive catalog (--iceberg-type rest "
                  "--iceberg-uri URL): Iceberg's own S3FileIO, which the iceberg kernels carry, "
                  "reads and writes s3:// there",
                  v[SETTING_ICEBERG_WAREHOUSE].source, wh, setting_hadoop_unsupported(wh));
        return -1;
    }
    /* Executors are pods: a warehouse on a local path would be each pod's own (and the
     * driver's root is read-only). A hadoop catalog needs shared storage there. */
    if (kubernetes && strcmp(type, "hadoop") == 0 && !plan_shared_storage(wh)) {
        error_set(err, ERR_INPUT,
               "%s: iceberg.warehouse has value '%s', a path on one machine; with the kubernetes "
                  "runtime the executors are pods and need shared storage: a REST or Hive catalog "
                  "(--iceberg-type rest --iceberg-uri URL) with the tables on s3:// or s3a:// "
                  "(read through Iceberg's S3FileIO, which the images carry), or a hadoop catalog "
               "whose warehouse (--iceberg-warehouse) is on hdfs://; a hadoop catalog on s3a://, "
                  "gs:// or abfs:// needs Hadoop's connector jars, which the images do not carry",
                  v[SETTING_ICEBERG_WAREHOUSE].source, wh);
        return -1;
    }
    return 0;
}

/* Checks across settings, once every layer is in. */
static int check_plan(struct plan *plan, struct error *err)
{
    const struct setting *v = plan->settings.values;
    int kubernetes = strcmp(v[SETTING_RUNTIME].value, "kubernetes") == 0;
    if (check_gpus(plan, err))
        return -1;
    if (v[SETTING_PROGRESS_INTERVAL].number < 100) {
        error_set(err, ERR_INPUT,
                  "%s: progress.interval_ms has value '%s'; expected at least 100 (a few "
                  "updates a second at most)",
                  v[SETTING_PROGRESS_INTERVAL].source, v[SETTING_PROGRESS_INTERVAL].value);
        return -1;
    }
    if (v[SETTING_CONNECT].number && plan->spark_line[0] && plan->spark_line[0] < '4') {
        error_set(err, ERR_INPUT,
                  "%s: spark_connect.enabled is true, but Spark %s has no Spark Connect server in "
                  "its Python package (pyspark 4 carries it); use a Spark 4 kernel",
                  v[SETTING_CONNECT].source, plan->spark_line);
        return -1;
    }
    if (check_executors(plan, err) || check_spark_warehouse(plan, kubernetes, err))
        return -1;
    return check_iceberg(plan, kubernetes, err);
}

/* Spark's own warehouse: on Kubernetes a path must be a volume every pod mounts
 * (spark_warehouse.claim), and a claim needs a path to mount it at. */
static int check_spark_warehouse(struct plan *plan, int kubernetes, struct error *err)
{
    const struct setting *dir = &plan->settings.values[SETTING_SPARK_WAREHOUSE];
    const struct setting *claim = &plan->settings.values[SETTING_SPARK_WAREHOUSE_CLAIM];
    if (!kubernetes)
        return 0; /* one machine: any path is shared; a claim has nothing to do */
    int is_path = dir->value && (dir->value[0] == '/' || strncmp(dir->value, "file:", 5) == 0);
    if (claim->value && !is_path) {
        error_set(err, ERR_INPUT,
                  "%s: spark_warehouse.claim has value '%s', but %s: a claim is mounted at the "
                  "path spark_warehouse.dir names (--spark-warehouse /mnt/warehouse)",
                  claim->source, claim->value,
               dir->value ? "spark_warehouse.dir is not a path" : "spark_warehouse.dir is unset");
        return -1;
    }
    if (is_path && !claim->value) {
        error_set(err, ERR_INPUT,
                  "%s: spark_warehouse.dir has value '%s', a path: on the kubernetes runtime each "
               "pod has its own disk, so the executors' files would never reach the driver. Name "
                  "the PersistentVolumeClaim (ReadWriteMany) that every pod mounts there "
                  "(spark_warehouse.claim, --spark-warehouse-claim NAME), or use hdfs://",
                  dir->source, dir->value);
        return -1;
    }
    return 0;
}

const char *plan_warehouse_mount_path(const struct plan *plan)
{
    const char *dir = plan->settings.values[SETTING_SPARK_WAREHOUSE].value;
    if (!dir || !plan->settings.values[SETTING_SPARK_WAREHOUSE_CLAIM].value)
        return NULL;
    if (strncmp(dir, "file://", 7) == 0)
        return dir + 7;
    if (strncmp(dir, "file:", 5) == 0)
        return dir + 5;
    return dir;
}

int plan_shared_storage(const char *location)
{
    static const char *const schemes[] = {"s3a://", "s3://", "s3n://", "gs://", "abfs://",
                                          "abfss://", "wasb://", "wasbs://", "hdfs://",
                                          "viewfs://", "oss://", NULL};
    for (size_t i = 0; location && schemes[i]; i++)
        if (strncmp(location, schemes[i], strlen(schemes[i])) == 0 && location[strlen(schemes[i])])
            return 1;
    return 0;
}

/* The Spark line and variant named by the metadata, checked against the matrix. */
static int take_spark(struct plan *plan, const struct matrix *m,
                      const struct matrix_spark **line, struct error *err)
{
    *line = NULL;
    if (!plan->spark_version[0])
        return 0;
    *line = matrix_spark_find(m, plan->spark_version);
    if (!*line) {
        char known[256] = "";
        for (size_t i = 0; i < m->n_spark; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                     i ? ", " : "", m->spark[i].version);
        error_set(err, ERR_INPUT,
                  "%s: field metadata.spark_k8s.spark_version has value '%s'; this spark-k8s "
                  "knows Spark %s (reinstall the kernelspecs)", plan->path, plan->spark_version,
                  known);
        return -1;
    }
    if (!matrix_variant_valid(m, plan->variant)) {
        error_set(err, ERR_INPUT,
                  "%s: field metadata.spark_k8s.variant has value '%s'; expected one of the "
                  "matrix's variants", plan->path, plan->variant);
        return -1;
    }
    if (set_string(&plan->spark_version, (*line)->version, err) ||
        set_string(&plan->spark_line, (*line)->line, err))
        return -1;
    return 0;
}

int plan_from_json(json_t *root, const char *dir, const char *path, int flags,
                   struct plan **out, struct error *err)
{
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err))
        return -1;
    if (plan_from_json_in(m, root, dir, path, flags, out, err)) {
        matrix_free(m);
        return -1;
    }
    (*out)->owned_matrix = m;
    return 0;
}

int plan_from_json_in(const struct matrix *m, json_t *root, const char *dir, const char *path,
                      int flags, struct plan **out, struct error *err)
{
    struct plan *plan = calloc(1, sizeof *plan);
    if (!plan) {
        error_nomem(err);
        return -1;
    }
    error_clear(err);
    json_t *meta = NULL;
    if (root) {
        if (!json_is_object(root)) {
            error_set(err, ERR_INPUT, "%s: a kernelspec must be a JSON object", path);
            goto fail;
        }
        json_t *md = json_object_get(root, "metadata");
        meta = md ? json_object_get(md, "spark_k8s") : NULL;
        if (meta && !json_is_object(meta)) {
            error_set(err, ERR_INPUT, "%s: field metadata.spark_k8s must be an object", path);
            goto fail;
        }
    }
    const char *base = dir ? strrchr(dir, '/') : NULL;
    if (base && base[1] == '\0') { /* "x/name/" */
        while (base > dir && base[-1] != '/')
            base--;
        base--;
    }
    if (set_string(&plan->path, path, err) ||
        set_string(&plan->kernel_name, dir ? (base ? base + 1 : dir) : "", err) ||
        set_string(&plan->spark_line, "", err) ||
        take_string(root, "display_name", "Python (spark-k8s)", &plan->display_name, path, "",
                    err) ||
        take_string(meta, "spark_version", "", &plan->spark_version, path,
                    "metadata.spark_k8s.", err) ||
        take_string(meta, "variant", "baseline", &plan->variant, path, "metadata.spark_k8s.",
                    err) ||
        take_argv(meta, path, plan, err))
        goto fail;
    size_t len = strlen(plan->kernel_name);
    if (len && plan->kernel_name[len - 1] == '/')
        plan->kernel_name[len - 1] = '\0';
    const struct matrix_spark *line = NULL;
    if (take_spark(plan, m, &line, err) ||
        set_defaults(plan, m, line, err))
        goto fail;
    char desc[4200];
    snprintf(desc, sizeof desc, "kernelspec %s", path);
    if (settings_from_json(&plan->settings, meta, desc, "metadata.spark_k8s.", 1, err))
        goto fail;
    if (!(flags & PLAN_NO_ADMIN) && (settings_from_config_file(&plan->settings, err) ||
                                     settings_from_env(&plan->settings, err)))
        goto fail;
    if (apply_registry(plan, m, line, err) || check_plan(plan, err))
        goto fail;
    plan->matrix = m;
    plan->line = line;
    *out = plan;
    return 0;
fail:
    plan_free(plan);
    return -1;
}

int plan_load(const char *dir, struct plan **out, struct error *err)
{
    if (!dir)
        return plan_from_json(NULL, NULL, "(default)", 0, out, err);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/kernel.json", dir) >= sizeof path) {
        error_set(err, ERR_INPUT, "%s: path too long", dir);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        error_set(err, ERR_INPUT, "%s: cannot read kernelspec: %s (line %d)", path, jerr.text,
                  jerr.line);
        return -1;
    }
    int rc = plan_from_json(root, dir, path, 0, out, err);
    json_decref(root);
    return rc;
}

const char *plan_kernel_name(const struct plan *plan) { return plan->kernel_name; }
const char *plan_display_name(const struct plan *plan) { return plan->display_name; }
const char *plan_spark_version(const struct plan *plan) { return plan->spark_version; }
const char *plan_spark_line(const struct plan *plan) { return plan->spark_line; }
const char *plan_variant(const struct plan *plan) { return plan->variant; }
const char *plan_path(const struct plan *plan) { return plan->path; }
const char *plan_runtime(const struct plan *plan)
{
    return plan->settings.values[SETTING_RUNTIME].value;
}
char *const *plan_runtime_argv(const struct plan *plan) { return plan->runtime_argv; }

const struct setting *plan_setting(const struct plan *plan, enum setting_id id)
{
    return (unsigned)id < SETTING_COUNT ? &plan->settings.values[id] : NULL;
}
const struct settings *plan_settings(const struct plan *plan) { return &plan->settings; }

long plan_number(const struct plan *plan, enum setting_id id)
{
    return (unsigned)id < SETTING_COUNT ? plan->settings.values[id].number : 0;
}

int plan_flag(const struct plan *plan, enum setting_id id)
{
    return plan_number(plan, id) != 0;
}

int plan_rapids_explain_only(const struct plan *plan)
{
    return matrix_variant_has(plan->variant, "gpu") && plan_flag(plan, SETTING_RAPIDS_MODE);
}

const struct matrix *plan_matrix(const struct plan *plan) { return plan->matrix; }
const struct matrix_spark *plan_matrix_line(const struct plan *plan) { return plan->line; }
