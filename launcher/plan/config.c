/* config.c — kernel settings by layer: kernelspec metadata, the admin config file and
 * SPARK_K8S_* environment variables, each value checked and kept with its source. */
#include "launcher/plan/config.h"
#include "launcher/sys/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "launcher/plan/sparkconf.h"

static const struct setting_info infos[SETTING_COUNT] = {
    [SETTING_RUNTIME] = {"runtime", "SPARK_K8S_RUNTIME", "--runtime", SETTING_RUNTIME_NAME, 1},
    [SETTING_NAMESPACE] = {"kubernetes.namespace", "SPARK_K8S_NAMESPACE", "--namespace",
                           SETTING_DNS_LABEL, 1},
    [SETTING_SERVICE_ACCOUNT] = {"kubernetes.service_account", "SPARK_K8S_SERVICE_ACCOUNT",
                                 "--service-account", SETTING_DNS_LABEL, 1},
    [SETTING_IMAGE_REGISTRY] = {"image_registry", "SPARK_K8S_IMAGE_REGISTRY", "--registry",
                                SETTING_REGISTRY, 0},
    [SETTING_DRIVER_IMAGE] = {"images.driver", "SPARK_K8S_DRIVER_IMAGE", "--driver-image",
                              SETTING_IMAGE, 1},
    [SETTING_EXECUTOR_IMAGE] = {"images.executor", "SPARK_K8S_EXECUTOR_IMAGE",
                                "--executor-image", SETTING_IMAGE, 1},
    [SETTING_DRIVER_CORES] = {"resources.driver_cores", "SPARK_K8S_DRIVER_CORES",
                              "--driver-cores", SETTING_COUNT_POS, 1},
    [SETTING_DRIVER_MEMORY] = {"resources.driver_memory", "SPARK_K8S_DRIVER_MEMORY",
                               "--driver-memory", SETTING_MEMORY, 1},
    [SETTING_EXECUTOR_CORES] = {"resources.executor_cores", "SPARK_K8S_EXECUTOR_CORES",
                                "--executor-cores", SETTING_COUNT_POS, 1},
    [SETTING_EXECUTOR_MEMORY] = {"resources.executor_memory", "SPARK_K8S_EXECUTOR_MEMORY",
                                 "--executor-memory", SETTING_MEMORY, 1},
    [SETTING_EXECUTOR_INSTANCES] = {"resources.executor_instances",
                                    "SPARK_K8S_EXECUTOR_INSTANCES", "--executor-instances",
                                    SETTING_COUNT_ANY, 1},
    [SETTING_EXECUTOR_GPUS] = {"resources.executor_gpus", "SPARK_K8S_EXECUTOR_GPUS",
                               "--executor-gpus", SETTING_COUNT_ANY, 1},
    [SETTING_EXECUTOR_MAX_INSTANCES] = {"resources.executor_max_instances",
                                        "SPARK_K8S_EXECUTOR_MAX_INSTANCES",
                                        "--executor-max-instances", SETTING_COUNT_POS, 1},
    [SETTING_DRIVER_GPUS] = {"resources.driver_gpus", "SPARK_K8S_DRIVER_GPUS", "--driver-gpus",
                             SETTING_COUNT_ANY, 1},
    [SETTING_ICEBERG_NAME] = {"iceberg.name", "SPARK_K8S_ICEBERG_NAME", "--iceberg-name",
                              SETTING_CATALOG, 1},
    [SETTING_ICEBERG_TYPE] = {"iceberg.type", "SPARK_K8S_ICEBERG_TYPE", "--iceberg-type",
                              SETTING_ICEBERG_KIND, 1},
    [SETTING_ICEBERG_URI] = {"iceberg.uri", "SPARK_K8S_ICEBERG_URI", "--iceberg-uri",
                             SETTING_TEXT, 1},
    [SETTING_ICEBERG_WAREHOUSE] = {"iceberg.warehouse", "SPARK_K8S_ICEBERG_WAREHOUSE",
                                   "--iceberg-warehouse", SETTING_TEXT, 1},
    [SETTING_CONNECT] = {"spark_connect.enabled", "SPARK_K8S_SPARK_CONNECT", "--spark-connect",
                         SETTING_BOOL, 1},
    [SETTING_CONNECT_PORT] = {"spark_connect.port", "SPARK_K8S_SPARK_CONNECT_PORT",
                              "--spark-connect-port", SETTING_PORT, 1},
    [SETTING_PROGRESS] = {"progress.enabled", "SPARK_K8S_PROGRESS", "--progress", SETTING_BOOL, 1},
    [SETTING_PROGRESS_INTERVAL] = {"progress.interval_ms", "SPARK_K8S_PROGRESS_INTERVAL_MS",
                                   "--progress-interval-ms", SETTING_COUNT_POS, 1},
    [SETTING_POD_TEMPLATE] = {"kubernetes.pod_template", "SPARK_K8S_POD_TEMPLATE", NULL,
                              SETTING_PATH, 0},
    [SETTING_IMAGE_PULL_SECRETS] = {"kubernetes.image_pull_secrets", "SPARK_K8S_IMAGE_PULL_SECRETS",
                                    NULL, SETTING_NAME_LIST, 0},
    [SETTING_SPARK_WAREHOUSE] = {"spark_warehouse.dir", "SPARK_K8S_SPARK_WAREHOUSE",
                                 "--spark-warehouse", SETTING_WAREHOUSE, 1},
    [SETTING_SPARK_WAREHOUSE_CLAIM] = {"spark_warehouse.claim", "SPARK_K8S_SPARK_WAREHOUSE_CLAIM",
                                       "--spark-warehouse-claim", SETTING_DNS_LABEL, 1},
    [SETTING_S3_ENDPOINT] = {"s3.endpoint", "SPARK_K8S_S3_ENDPOINT", "--s3-endpoint", SETTING_URL,
                             1},
    [SETTING_S3_REGION] = {"s3.region", "SPARK_K8S_S3_REGION", "--s3-region", SETTING_REGION, 1},
    [SETTING_S3_PATH_STYLE] = {"s3.path_style_access", "SPARK_K8S_S3_PATH_STYLE_ACCESS",
                               "--s3-path-style-access", SETTING_BOOL, 1},
    [SETTING_S3_CREDENTIALS_SECRET] = {"s3.credentials_secret", "SPARK_K8S_S3_CREDENTIALS_SECRET",
                                       "--s3-credentials-secret", SETTING_DNS_LABEL, 1},
    [SETTING_RAPIDS_MODE] = {"rapids.mode", "SPARK_K8S_RAPIDS_MODE", "--rapids-mode",
                             SETTING_RAPIDS_MODE_KIND, 1},
    [SETTING_LIMIT_EXECUTORS] = {"limits.executors", "SPARK_K8S_LIMIT_EXECUTORS", NULL,
                                 SETTING_COUNT_POS, 0},
    [SETTING_LIMIT_EXECUTOR_CORES] = {"limits.executor_cores", "SPARK_K8S_LIMIT_EXECUTOR_CORES",
                                      NULL, SETTING_COUNT_POS, 0},
    [SETTING_LIMIT_EXECUTOR_MEMORY] = {"limits.executor_memory",
                                       "SPARK_K8S_LIMIT_EXECUTOR_MEMORY", NULL, SETTING_MEMORY, 0},
    [SETTING_LIMIT_EXECUTOR_GPUS] = {"limits.executor_gpus", "SPARK_K8S_LIMIT_EXECUTOR_GPUS", NULL,
                                     SETTING_COUNT_ANY, 0},
    [SETTING_LIMIT_LOCKED] = {"limits.locked_properties", "SPARK_K8S_LIMIT_LOCKED_PROPERTIES",
                              NULL, SETTING_PROPERTY_LIST, 0},
};

const struct setting_info *setting_info(enum setting_id id)
{
    return (unsigned)id < SETTING_COUNT ? &infos[id] : NULL;
}

static int all_chars_in(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return 0;
    return 1;
}

static int parse_count(const char *v, long min)
{
    if (!*v || strlen(v) > 9)
        return 0;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    if (v[0] == '0' && v[1])
        return 0;
    return strtol(v, NULL, 10) >= min;
}

/* Spark's (and the JVM's) size format as the Spark docs give it: 512m, 2g, 4096m. */
static int memory_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 2 || n > 12 || !strchr("kKmMgGtT", v[n - 1]))
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (!isdigit((unsigned char)v[i]))
            return 0;
    return strtoll(v, NULL, 10) > 0;
}

/* "a,b,c": 1 to 16 DNS-1123 labels. */
static int name_list_ok(const char *v)
{
    size_t n = 0;
    const char *p = v;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > 63 || p[0] == '-' || p[len - 1] == '-' || ++n > 16)
            return 0;
        for (size_t i = 0; i < len; i++)
            if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
                return 0;
        if (!p[len])
            return 1;
        p += len + 1;
    }
}

/* "spark.a.b,spark.c.*": 1 to 64 Spark property names, each of letters, digits and
 * . _ - [ ], starting with "spark.", the last character may be '*' (a prefix). */
static int property_list_ok(const char *v)
{
    size_t n = 0;
    const char *p = v;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len <= 6 || len > 255 || strncmp(p, "spark.", 6) != 0 || ++n > 64)
            return 0;
        for (size_t i = 0; i < len; i++)
            if (!isalnum((unsigned char)p[i]) && !strchr("._-[]", p[i]) &&
                !(p[i] == '*' && i == len - 1))
                return 0;
        if (!p[len])
            return 1;
        p += len + 1;
    }
}

static int has_control(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 1;
    return 0;
}

int setting_rapids_explain_only(const char *mode)
{
    return mode && strcasecmp(mode, "explainOnly") == 0;
}

long setting_memory_mib(const char *text)
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

/* VALUE (checked) of a setting of ID as the number struct setting keeps. */
static long setting_number(enum setting_id id, const char *v)
{
    switch (setting_info(id)->kind) {
    case SETTING_COUNT_POS:
    case SETTING_COUNT_ANY:
    case SETTING_PORT:
        return strtol(v, NULL, 10);
    case SETTING_MEMORY:
        return setting_memory_mib(v);
    case SETTING_BOOL:
        return strcmp(v, "true") == 0;
    case SETTING_RAPIDS_MODE_KIND:
        return setting_rapids_explain_only(v);
    default:
        return 0;
    }
}

const char *setting_hadoop_unsupported(const char *location)
{
    static const struct {
        const char *scheme, *why;
    } schemes[] = {
        {"s3a://", "s3a:// needs Hadoop's S3A connector (hadoop-aws and the AWS SDK bundle)"},
        {"s3n://", "s3n:// is gone from Hadoop (S3A replaced it)"},
        {"s3://", "s3:// is none of them (Iceberg's S3FileIO reads it, for a REST or Hive "
                  "catalog's tables)"},
        {"gs://", "gs:// needs Google's GCS connector"},
        {"abfs://", "abfs:// needs Hadoop's Azure connector (hadoop-azure)"},
        {"abfss://", "abfss:// needs Hadoop's Azure connector (hadoop-azure)"},
        {"wasb://", "wasb:// needs Hadoop's Azure connector (hadoop-azure)"},
        {"wasbs://", "wasbs:// needs Hadoop's Azure connector (hadoop-azure)"},
        {"oss://", "oss:// needs Hadoop's Aliyun connector"},
    };
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncasecmp(location, schemes[i].scheme, strlen(schemes[i].scheme)) == 0)
            return schemes[i].why;
    if (location[0] == '/' || strncmp(location, "file:", 5) == 0 ||
        strncmp(location, "hdfs://", 7) == 0 || strncmp(location, "viewfs://", 9) == 0)
        return "";
    if (strstr(location, "://"))
        return "that scheme has no Hadoop file system in the kernels (they carry Spark's jars "
               "and HDFS's client: paths, file:, hdfs:// and viewfs://)";
    return ""; /* a relative path: the kernel's working directory */
}

/* http(s)://host[:port][/path], no spaces or control characters. */
static int url_ok(const char *v)
{
    const char *host = strncmp(v, "https://", 8) == 0 ? v + 8
                       : strncmp(v, "http://", 7) == 0 ? v + 7
                                                       : NULL;
    if (!host || !*host || *host == '/' || strlen(v) > 2048 || has_control(v))
        return 0;
    return strchr(v, ' ') == NULL;
}

int setting_check(enum setting_id id, const char *v, const char *origin, struct error *err)
{
    const struct setting_info *in = setting_info(id);
    const char *want = NULL;
    switch (in->kind) {
    case SETTING_TEXT:
        if (has_control(v))
            want = "text without control characters or newlines";
        break;
    case SETTING_RUNTIME_NAME:
        if (strcmp(v, "local") != 0 && strcmp(v, "kubernetes") != 0)
            want = "'local' or 'kubernetes'";
        break;
    case SETTING_DNS_LABEL:
        if (strlen(v) > 63 || !all_chars_in(v, "-") || v[0] == '-' ||
            (v[0] && v[strlen(v) - 1] == '-'))
            want = "a Kubernetes name: lowercase letters, digits and '-', at most 63";
        for (const char *p = v; !want && *p; p++)
            if (isupper((unsigned char)*p))
                want = "a Kubernetes name: lowercase letters, digits and '-', at most 63";
        break;
    case SETTING_REGISTRY:
        if (!*v || !all_chars_in(v, ".-_:/"))
            want = "a registry such as registry.example.com:5000/team (no spaces)";
        break;
    case SETTING_IMAGE:
        if (!*v || !all_chars_in(v, ".-_:/@"))
            want = "an image reference such as registry.example.com/spark-k8s-runtime:TAG "
                   "(no spaces)";
        break;
    case SETTING_COUNT_POS:
        if (!parse_count(v, 1))
            want = "a whole number of at least 1";
        break;
    case SETTING_COUNT_ANY:
        if (!parse_count(v, 0))
            want = "a whole number of at least 0";
        break;
    case SETTING_MEMORY:
        if (!memory_ok(v))
            want = "a size in Spark's format: digits and a unit k, m, g or t, like 512m or 4g";
        break;
    case SETTING_CATALOG:
        if (!*v || strlen(v) > 64 || !all_chars_in(v, "_"))
            want = "a catalog name of letters, digits and '_'";
        break;
    case SETTING_ICEBERG_KIND:
        if (strcmp(v, "hadoop") != 0 && strcmp(v, "hive") != 0 && strcmp(v, "rest") != 0)
            want = "'hadoop', 'hive' or 'rest'";
        break;
    case SETTING_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            want = "true or false";
        break;
    case SETTING_PORT:
        if (!parse_count(v, 1) || strtol(v, NULL, 10) > 65535)
            want = "a TCP port, 1 to 65535";
        break;
    case SETTING_PATH:
        if (v[0] != '/' || has_control(v))
            want = "an absolute file path";
        break;
    case SETTING_NAME_LIST:
        if (!name_list_ok(v))
            want = "Secret names (lowercase letters, digits and '-', at most 63 each) separated "
                   "by ',', at most 16";
        break;
    case SETTING_WAREHOUSE:
        if (!*v || has_control(v))
            want = "a location Spark can write tables to: hdfs://..., viewfs://..., or an "
                   "absolute path (file:/...) on storage every executor reaches";
        else if (*setting_hadoop_unsupported(v)) {
            error_set(err, ERR_INPUT, "%s: %s has value '%s', but Spark writes its tables through "
                      "Hadoop's file systems: %s, and the kernels and images carry none but HDFS's "
                      "client. Use hdfs://, viewfs://, or a path on a volume every pod mounts",
                      origin, in->path, v, setting_hadoop_unsupported(v));
            return -1;
        } else if (v[0] != '/' && !strstr(v, ":"))
            want = "an absolute location: a relative path would be each process's own";
        break;
    case SETTING_URL:
        if (!url_ok(v))
            want = "an http:// or https:// URL such as https://s3.eu-west-1.amazonaws.com or "
                   "http://minio.storage:9000";
        break;
    case SETTING_REGION:
        if (!*v || strlen(v) > 64 || !all_chars_in(v, "-"))
            want = "a region name such as us-east-1 (letters, digits and '-')";
        break;
    case SETTING_PROPERTY_LIST:
        if (!property_list_ok(v))
            want = "Spark property names separated by ',' (at most 64), each starting with "
                   "'spark.', of letters, digits and . _ - [ ]; one ending in '*' stands for "
                   "every name it starts";
        break;
    case SETTING_RAPIDS_MODE_KIND:
        if (strcasecmp(v, "executeOnGPU") != 0 && strcasecmp(v, "explainOnly") != 0)
            want = "'executeOnGPU' (queries run on the GPU) or 'explainOnly' (plans say what "
                   "would run on a GPU; no GPU needed)";
        break;
    }
    if (!want)
        return 0;
    error_set(err, ERR_INPUT, "%s: %s has value '%s'; expected %s", origin, in->path, v, want);
    return -1;
}

void settings_free(struct settings *s)
{
    for (int i = 0; i < SETTING_COUNT; i++) {
        free(s->values[i].value);
        free(s->values[i].source);
        s->values[i].value = s->values[i].source = NULL;
        s->values[i].number = 0;
    }
    for (size_t i = 0; i < s->n_extra; i++) {
        free(s->extra[i].key);
        free(s->extra[i].value);
        free(s->extra[i].source);
    }
    free(s->extra);
    s->extra = NULL;
    s->n_extra = 0;
}

int settings_set(struct settings *s, enum setting_id id, const char *value, const char *source,
                 struct error *err)
{
    if (setting_check(id, value, source, err))
        return -1;
    char *v = strdup(value), *src = strdup(source);
    if (!v || !src) {
        free(v);
        free(src);
        error_nomem(err);
        return -1;
    }
    free(s->values[id].value);
    free(s->values[id].source);
    s->values[id].value = v;
    s->values[id].source = src;
    s->values[id].number = setting_number(id, value);
    return 0;
}

int settings_add_extra(struct settings *s, const char *key, const char *value,
                       const char *source, struct error *err)
{
    if (sparkconf_check_key(key, source, err) ||
        sparkconf_check_value(key, value, source, err))
        return -1;
    if (sparkconf_reserved(key)) {
        error_set(err, ERR_INPUT, "%s: property '%s' is set by the runtime and cannot be overridden%s",
                  source, key,
                  strncmp(key, "spark.k8s.notebook.limits.", 26) == 0
                      ? " (the admin's limits.* settings set it)" : "");
        return -1;
    }
    struct extra_property *grown = realloc(s->extra, (s->n_extra + 1) * sizeof *grown);
    if (!grown) {
        error_nomem(err);
        return -1;
    }
    s->extra = grown;
    struct extra_property *e = &s->extra[s->n_extra];
    e->key = strdup(key);
    e->value = strdup(value);
    e->source = strdup(source);
    if (!e->key || !e->value || !e->source) {
        free(e->key);
        free(e->value);
        free(e->source);
        error_nomem(err);
        return -1;
    }
    s->n_extra++;
    return 0;
}

/* The JSON value at a dotted PATH ("resources.driver_memory") inside OBJ, or NULL.
 * An intermediate that is present but not an object is reported through *BAD. */
static json_t *json_at(json_t *obj, const char *path, const char **bad_part)
{
    char part[64];
    const char *p = path;
    *bad_part = NULL;
    while (obj) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        json_t *next = json_object_get(obj, part);
        if (!dot || !next)
            return next;
        if (!json_is_object(next)) {
            *bad_part = p;
            return NULL;
        }
        obj = next;
        p = dot + 1;
    }
    return NULL;
}

static int json_to_setting_text(json_t *v, enum setting_kind kind, char *buf, size_t len)
{
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) >= len)
            return -1;
        snprintf(buf, len, "%s", json_string_value(v));
        return 0;
    }
    if (json_is_boolean(v) && kind == SETTING_BOOL) {
        snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
        return 0;
    }
    if (json_is_integer(v) &&
        (kind == SETTING_COUNT_POS || kind == SETTING_COUNT_ANY || kind == SETTING_PORT)) {
        snprintf(buf, len, "%lld", (long long)json_integer_value(v));
        return 0;
    }
    return -1;
}

int settings_from_json(struct settings *s, json_t *obj, const char *desc, const char *prefix,
                       int is_metadata, struct error *err)
{
    if (!obj)
        return 0;
    char source[4600], value[4096];
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting_info *in = setting_info(id);
        const char *bad = NULL;
        json_t *v = json_at(obj, in->path, &bad);
        if (bad) {
            error_set(err, ERR_INPUT, "%s: field %s%.*s must be an object", desc, prefix,
                      (int)(strcspn(bad, ".") + (size_t)(bad - in->path)), in->path);
            return -1;
        }
        if (!v || json_is_null(v))
            continue;
        if (is_metadata && !in->in_metadata) {
            error_set(err, ERR_INPUT, "%s: field %s%s belongs in the admin config file, not a "
                      "kernelspec", desc, prefix, in->path);
            return -1;
        }
        snprintf(source, sizeof source, "%s (%s%s)", desc, prefix, in->path);
        if (json_to_setting_text(v, in->kind, value, sizeof value)) {
            char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            const char *want = "a string";
            if (in->kind == SETTING_COUNT_POS || in->kind == SETTING_COUNT_ANY ||
                in->kind == SETTING_PORT)
                want = "a whole number";
            else if (in->kind == SETTING_BOOL)
                want = "true or false";
            error_set(err, ERR_INPUT, "%s: field %s%s must be %s, not %s", desc, prefix, in->path,
                      want, dump ? dump : "?");
            free(dump);
            return -1;
        }
        if (settings_set(s, id, value, source, err))
            return -1;
    }
    json_t *conf = json_object_get(obj, "spark_conf");
    if (!conf || json_is_null(conf))
        return 0;
    if (!json_is_object(conf)) {
        error_set(err, ERR_INPUT, "%s: field %sspark_conf must be an object of strings", desc,
                  prefix);
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(conf, key, v) {
        snprintf(source, sizeof source, "%s (%sspark_conf)", desc, prefix);
        if (!json_is_string(v)) {
            char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            error_set(err, ERR_INPUT, "%s: field %sspark_conf.%s must be a string, not %s", desc,
                      prefix, key, dump ? dump : "?");
            free(dump);
            return -1;
        }
        if (settings_add_extra(s, key, json_string_value(v), source, err))
            return -1;
    }
    return 0;
}

int settings_from_config_file(struct settings *s, struct error *err)
{
    const char *path = getenv(CONFIG_PATH_ENV);
    int must_exist = path && *path;
    if (!must_exist)
        path = CONFIG_DEFAULT_PATH;
    if (!must_exist && access(path, F_OK) != 0 && errno == ENOENT)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        error_set(err, ERR_INPUT, "config file %s%s: %s (line %d)", path,
                  must_exist ? " (from " CONFIG_PATH_ENV ")" : "", jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_object(root)) {
        error_set(err, ERR_INPUT, "config file %s: must hold a JSON object", path);
        json_decref(root);
        return -1;
    }
    /* a field is the first part of a setting's path ("resources" of
     * "resources.driver_memory"), spark_conf, or a comment */
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        int known = strcmp(key, "spark_conf") == 0 || strcmp(key, "_comment") == 0;
        for (int id = 0; !known && id < SETTING_COUNT; id++) {
            const char *p = setting_info(id)->path;
            size_t n = strcspn(p, ".");
            known = strlen(key) == n && strncmp(p, key, n) == 0;
        }
        if (!known) {
            error_set(err, ERR_INPUT, "config file %s: unknown field '%s'", path, key);
            json_decref(root);
            return -1;
        }
    }
    char desc[4200];
    snprintf(desc, sizeof desc, "config file %s", path);
    int rc = settings_from_json(s, root, desc, "", 0, err);
    json_decref(root);
    return rc;
}

/* SPARK_K8S_SPARK_CONF: "key=value" items separated by ';' or newlines. */
static int extra_from_env(struct settings *s, const char *text, struct error *err)
{
    char *copy = strdup(text);
    if (!copy) {
        error_nomem(err);
        return -1;
    }
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ";\n", &save); item && rc == 0;
         item = strtok_r(NULL, ";\n", &save)) {
        while (*item == ' ' || *item == '\t')
            item++;
        if (!*item)
            continue;
        char *eq = strchr(item, '=');
        if (!eq) {
            error_set(err, ERR_INPUT, "env %s: item '%s' is not KEY=VALUE", CONFIG_SPARK_CONF_ENV,
                      item);
            rc = -1;
            break;
        }
        *eq = '\0';
        rc = settings_add_extra(s, item, eq + 1, "env " CONFIG_SPARK_CONF_ENV, err);
    }
    free(copy);
    return rc;
}

int settings_from_env(struct settings *s, struct error *err)
{
    char source[128];
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting_info *in = setting_info(id);
        const char *v = getenv(in->env);
        if (!v || !*v)
            continue;
        snprintf(source, sizeof source, "env %s", in->env);
        if (settings_set(s, id, v, source, err))
            return -1;
    }
    const char *conf = getenv(CONFIG_SPARK_CONF_ENV);
    if (conf && *conf)
        return extra_from_env(s, conf, err);
    return 0;
}
