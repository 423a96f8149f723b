/* sparkconf.h — Spark properties with their provenance: an ordered list of
 * key/value pairs, each with the place it came from ("kernelspec ...",
 * "env SPARK_K8S_...", ...), the checks that keep spark-defaults.conf
 * well-formed, writing that file, and rendering a launch plan into properties
 * (local runtime, or Kubernetes client mode given the facts of the driver pod).
 *
 * A struct sparkconf owns all its strings; sparkconf_free releases it. */
#ifndef SPARK_K8S_SPARKCONF_H
#define SPARK_K8S_SPARKCONF_H

#include <stddef.h>
#include <stdio.h>

struct plan;
struct sparkconf;

/* The fixed ports of the driver in Kubernetes client mode (Spark's own defaults
 * for Kubernetes): the headless service of the driver pod exposes these two. */
#define SPARKCONF_DRIVER_PORT 7078
#define SPARKCONF_BLOCK_MANAGER_PORT 7079

/* Where RAPIDS finds the GPUs of an executor: spark-k8s itself, invoked under this
 * name (argv[0]), prints Spark's resource discovery JSON. */
#define SPARKCONF_GPU_DISCOVERY_SCRIPT "/usr/local/bin/spark-k8s-gpu-discovery"

/* What a Kubernetes runtime knows about the driver pod it runs the kernel in. */
struct sparkconf_pod {
    const char *api_server;      /* "https://10.96.0.1:443" or "10.96.0.1:443" (https assumed) */
    const char *namespace;       /* the namespace executors are created in */
    const char *driver_pod_name; /* executors get an ownerReference to this pod */
    const char *driver_host;     /* headless service DNS name executors connect to */
    const char *pod_ip;          /* the address the driver binds */
};

struct sparkconf *sparkconf_new(void); /* NULL when out of memory */
void sparkconf_free(struct sparkconf *conf);

/* A key must start with "spark." and use only letters, digits and ". _ - [ ]";
 * a value must be free of control characters (newlines above all). ORIGIN names
 * where the text came from in the message. 0 if acceptable, else -1. */
int sparkconf_check_key(const char *key, const char *origin, char *err, size_t errlen);
int sparkconf_check_value(const char *key, const char *value, const char *origin, char *err,
                          size_t errlen);
/* 1 if KEY belongs to the runtime (spark.master, driver host and ports, ...):
 * extra properties may not set it. */
int sparkconf_reserved(const char *key);

/* Set KEY to VALUE (both checked); an existing key keeps its place and takes the
 * new value and SOURCE. */
int sparkconf_set(struct sparkconf *conf, const char *key, const char *value,
                  const char *source, char *err, size_t errlen);

const char *sparkconf_get(const struct sparkconf *conf, const char *key); /* NULL if unset */
size_t sparkconf_count(const struct sparkconf *conf);
const char *sparkconf_key(const struct sparkconf *conf, size_t i);
const char *sparkconf_value(const struct sparkconf *conf, size_t i);
const char *sparkconf_source(const struct sparkconf *conf, size_t i);

/* The properties in spark-defaults.conf syntax (java.util.Properties, which
 * Spark reads): "key value" lines, backslashes and a leading '=' or ':' escaped.
 * HEADER (may be NULL) becomes a leading comment line. WITH_SOURCES puts a
 * "# from: SOURCE" comment above each property. */
int sparkconf_print(const struct sparkconf *conf, FILE *out, const char *header,
                    int with_sources);

/* Write DIR/spark-defaults.conf, mode 0600, through a temporary file renamed into place. */
int sparkconf_write(const struct sparkconf *conf, const char *dir, const char *header,
                    char *err, size_t errlen);

/* What the runtime adds to a plan when it renders; every field may be NULL. */
struct sparkconf_env {
    /* Local runtime: the folder of the kernel's extra jars (RAPIDS, Iceberg), which
     * spark.jars then names; a feature whose jar is not there is left out (the
     * kernel says so in the notebook). NULL: the jars are on Spark's classpath. */
    const char *jars_dir;
    /* The pre-shared token clients of the Spark Connect server must present. */
    const char *connect_token;
};

/* The properties of PLAN: POD NULL renders the local runtime (spark.master
 * local[*]); otherwise Kubernetes client mode inside that driver pod. ENV may be
 * NULL. */
int sparkconf_render(const struct plan *plan, const struct sparkconf_pod *pod,
                     const struct sparkconf_env *env, struct sparkconf **out, char *err,
                     size_t errlen);

/* The Spark Connect server's plugin class (Spark 4). */
#define SPARKCONF_CONNECT_PLUGIN "org.apache.spark.sql.connect.SparkConnectPlugin"
#define SPARKCONF_RAPIDS_PLUGIN "com.nvidia.spark.SQLPlugin"
/* RAPIDS' pinned host memory pool per executor, in MiB (added to the pod's overhead). */
#define SPARKCONF_RAPIDS_PINNED_MIB "1024"
/* How long an idle executor that holds shuffle files is kept (dynamic allocation). */
#define SPARKCONF_SHUFFLE_TRACKING_TIMEOUT "600s"
/* Spark's warehouse in a driver pod without shared storage: the pod's writable /tmp. */
#define SPARKCONF_POD_WAREHOUSE "/tmp/spark-warehouse"

/* Read by the kernel's startup file (kernelspecs/spark_session.py), not by Spark:
 * whether cells show Spark's progress, and how often it updates. */
#define SPARKCONF_PROGRESS "spark.k8s.notebook.progress"
#define SPARKCONF_PROGRESS_INTERVAL "spark.k8s.notebook.progress.intervalMs"

#endif
