/* config.h — the settings of a kernel and where each one came from: built-in
 * defaults and the matrix, the kernelspec's metadata, the admin config file
 * (/etc/spark-k8s/config.json, or $SPARK_K8S_CONFIG) and SPARK_K8S_* environment
 * variables, applied in that order (a later layer wins). See kernelspecs/README.md.
 *
 * struct settings owns its strings and extra properties; settings_free releases them. */
#ifndef SPARK_K8S_CONFIG_H
#define SPARK_K8S_CONFIG_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/sys/errmsg.h"

#define CONFIG_DEFAULT_PATH "/etc/spark-k8s/config.json"
#define CONFIG_PATH_ENV "SPARK_K8S_CONFIG"
#define CONFIG_SPARK_CONF_ENV "SPARK_K8S_SPARK_CONF"

enum setting_id {
    SETTING_RUNTIME,            /* "local" | "kubernetes" */
    SETTING_NAMESPACE,          /* Kubernetes namespace; "" = the runtime's own */
    SETTING_SERVICE_ACCOUNT,    /* service account of the driver pod; "" = the runtime's choice */
    SETTING_IMAGE_REGISTRY,     /* replaces the registry of both images (admin only) */
    SETTING_DRIVER_IMAGE,       /* Jupyter image the driver pod runs */
    SETTING_EXECUTOR_IMAGE,     /* runtime image executors run */
    SETTING_DRIVER_CORES,
    SETTING_DRIVER_MEMORY,
    SETTING_EXECUTOR_CORES,
    SETTING_EXECUTOR_MEMORY,
    SETTING_EXECUTOR_INSTANCES,
    SETTING_EXECUTOR_GPUS,
    SETTING_EXECUTOR_MAX_INSTANCES, /* dynamic allocation's cap: one notebook cannot take a pool */
    SETTING_DRIVER_GPUS,        /* nvidia.com/gpu of the driver pod (cudf, cupy in the notebook) */
    SETTING_ICEBERG_NAME,
    SETTING_ICEBERG_TYPE,       /* "hadoop" | "hive" | "rest" */
    SETTING_ICEBERG_URI,
    SETTING_ICEBERG_WAREHOUSE,
    SETTING_CONNECT,            /* "true" | "false": a Spark Connect server in the driver (4.x) */
    SETTING_CONNECT_PORT,       /* its port */
    SETTING_PROGRESS,           /* "true" | "false": Spark's progress under the running cell */
    SETTING_PROGRESS_INTERVAL,  /* milliseconds between its updates, at least 100 */
    SETTING_POD_TEMPLATE,       /* admin: a Pod (JSON or YAML file) merged into the kernel's pods */
    SETTING_IMAGE_PULL_SECRETS, /* admin: Secret names, comma-separated */
    SETTING_SPARK_WAREHOUSE,    /* Spark's own warehouse (managed tables): shared storage */
    SETTING_SPARK_WAREHOUSE_CLAIM, /* kubernetes: the PersistentVolumeClaim holding it */
    SETTING_S3_ENDPOINT,        /* S3FileIO's endpoint (MinIO, Ceph, a region's URL) */
    SETTING_S3_REGION,          /* S3FileIO's region */
    SETTING_S3_PATH_STYLE,      /* "true" | "false": path-style S3 requests */
    SETTING_S3_CREDENTIALS_SECRET, /* kubernetes: Secret with AWS_ACCESS_KEY_ID/..._SECRET_... */
    SETTING_RAPIDS_MODE,        /* "executeOnGPU" | "explainOnly" (RAPIDS' spark.rapids.sql.mode) */
    /* Admin limits on what a notebook asks for its session (%%spark_conf,
     * spark_k8s.configure): checked by the kernel, not by Spark or Kubernetes (a
     * namespace's ResourceQuota is what holds whatever the kernel's code does). */
    SETTING_LIMIT_EXECUTORS,       /* most executors: instances, dynamic allocation's bounds */
    SETTING_LIMIT_EXECUTOR_CORES,  /* most spark.executor.cores */
    SETTING_LIMIT_EXECUTOR_MEMORY, /* most spark.executor.memory */
    SETTING_LIMIT_EXECUTOR_GPUS,   /* most spark.executor.resource.gpu.amount */
    SETTING_LIMIT_LOCKED,          /* Spark properties a notebook may not set: names, prefix* */
    SETTING_COUNT
};

enum setting_kind {
    SETTING_TEXT,     /* any text without control characters */
    SETTING_RUNTIME_NAME,
    SETTING_DNS_LABEL,  /* Kubernetes names: [a-z0-9-], at most 63 */
    SETTING_REGISTRY,   /* host[:port][/path], no spaces */
    SETTING_IMAGE,      /* image reference, no spaces */
    SETTING_COUNT_POS,  /* integer >= 1 */
    SETTING_COUNT_ANY,  /* integer >= 0 */
    SETTING_MEMORY,     /* Spark/JVM size: digits and k|m|g|t: 512m, 4g */
    SETTING_CATALOG,    /* Iceberg catalog name: [A-Za-z0-9_] */
    SETTING_ICEBERG_KIND,
    SETTING_BOOL,       /* "true" | "false" (JSON true/false in files) */
    SETTING_PORT,       /* TCP port, 1..65535 */
    SETTING_PATH,       /* an absolute file path */
    SETTING_NAME_LIST,  /* Kubernetes names separated by ',' (at most 16) */
    SETTING_WAREHOUSE,  /* a Hadoop location Spark can write: /path, file:/, hdfs://, viewfs:// */
    SETTING_URL,        /* http:// or https:// URL */
    SETTING_REGION,     /* a cloud region: lowercase letters, digits and '-' */
    SETTING_RAPIDS_MODE_KIND, /* "executeOnGPU" | "explainOnly" (any case) */
    SETTING_PROPERTY_LIST, /* Spark property names or prefixes (ending in '*'), ',' between */
};

/* 1 if MODE (a rapids.mode value) is RAPIDS' explain-only mode: plans say what would
 * run on a GPU, nothing runs on one, and no GPU is asked for. */
int setting_rapids_explain_only(const char *mode);

/* Spark/JVM memory text ("512m", "4g", "1024" = MiB) in MiB; -1 if malformed. */
long setting_memory_mib(const char *text);

/* The file systems Spark can write a table through, with the jars the kernel
 * environments and images carry (Spark's own and HDFS's client): "" when LOCATION is
 * one of them (a path, file:, hdfs://, viewfs://), else why not (a sentence naming
 * the connector the scheme needs). */
const char *setting_hadoop_unsupported(const char *location);

/* How a setting is spelled in each place. PATH is the dotted path inside the
 * kernelspec metadata object and the config file ("resources.driver_memory"); a
 * setting whose IN_METADATA is 0 is admin only (config file and environment; OPTION
 * is then NULL, or an option of its own outside kernelspec metadata). */
struct setting_info {
    const char *path;
    const char *env;    /* "SPARK_K8S_DRIVER_MEMORY" */
    const char *option; /* "--driver-memory" (kernelspec install) */
    enum setting_kind kind;
    int in_metadata;
};
const struct setting_info *setting_info(enum setting_id id);

/* 0 if VALUE is acceptable for ID; else -1 and a message naming ORIGIN (a file and
 * field, or a variable), the field and the value. */
int setting_check(enum setting_id id, const char *value, const char *origin, struct error *err);

struct setting {
    char *value;  /* NULL = unset */
    char *source; /* "built-in default", "kernelspec PATH (metadata.spark_k8s.F)", ... */
    /* The value as a number, parsed once when it is set (settings_set): a count or a
     * port as such, a memory size in MiB, 1 or 0 for a boolean and for rapids.mode
     * (explainOnly or not); 0 for the other kinds and when unset. */
    long number;
};

struct extra_property {
    char *key, *value, *source;
};

struct settings {
    struct setting values[SETTING_COUNT];
    struct extra_property *extra; /* extra Spark properties in order of arrival */
    size_t n_extra;
};

void settings_free(struct settings *s); /* frees the contents, not S itself */

/* Set one value with its source (both copied); checks VALUE. */
int settings_set(struct settings *s, enum setting_id id, const char *value, const char *source,
                 struct error *err);
/* Add an extra Spark property (checked: key, value, not reserved by the runtime). */
int settings_add_extra(struct settings *s, const char *key, const char *value,
                       const char *source, struct error *err);

/* Read the settings in OBJ, a metadata or config object: every known path, plus
 * "spark_conf" (object of strings). DESC names the layer in sources and messages
 * ("kernelspec /x/kernel.json", "config file /etc/spark-k8s/config.json"); PREFIX
 * is the path of OBJ inside its file ("metadata.spark_k8s." or ""). Admin-only
 * settings are refused in metadata and metadata-only fields are ignored. */
int settings_from_json(struct settings *s, json_t *obj, const char *desc, const char *prefix,
                       int is_metadata, struct error *err);

/* The admin config file: $SPARK_K8S_CONFIG if set (then it must exist), else
 * /etc/spark-k8s/config.json if it exists. No file is not an error. */
int settings_from_config_file(struct settings *s, struct error *err);

/* SPARK_K8S_* variables, and SPARK_K8S_SPARK_CONF="k=v;k=v" (';' or newline separated). */
int settings_from_env(struct settings *s, struct error *err);

#endif
