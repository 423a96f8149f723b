/* render.h — a launch plan rendered into Spark properties (struct sparkconf):
 * the local runtime (spark.master local[*]) or Kubernetes client mode given the
 * facts of the driver pod; and the local runtime's spark-defaults.conf written
 * from it. The caller owns the struct sparkconf it gets (sparkconf_free). */
#ifndef SPARK_K8S_RENDER_H
#define SPARK_K8S_RENDER_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

struct plan;
struct sparkconf;

/* The fixed ports of the driver in Kubernetes client mode (Spark's own defaults
 * for Kubernetes): the headless service of the driver pod exposes these two. */
#define RENDER_DRIVER_PORT 7078
#define RENDER_BLOCK_MANAGER_PORT 7079

/* Where RAPIDS finds the GPUs of an executor: spark-k8s itself, invoked under this
 * name (argv[0]), prints Spark's resource discovery JSON. */
#define RENDER_GPU_DISCOVERY_SCRIPT "/usr/local/bin/spark-k8s-gpu-discovery"

/* What a Kubernetes runtime knows about the driver pod it runs the kernel in. */
struct render_pod {
    const char *api_server;      /* "https://10.96.0.1:443" or "10.96.0.1:443" (https assumed) */
    const char *namespace;       /* the namespace executors are created in */
    const char *driver_pod_name; /* executors get an ownerReference to this pod */
    const char *driver_host;     /* headless service DNS name executors connect to */
    const char *pod_ip;          /* the address the driver binds */
};

/* What the runtime adds to a plan when it renders; every field may be NULL. */
struct render_env {
    /* The folder of the kernel's extra jars (RAPIDS, Iceberg) on this machine: the
     * variant's jars found there go on the driver's class path
     * (spark.driver.extraClassPath, read before the JVM starts); a feature whose jar
     * is not there is left out (the kernel says so in the notebook). */
    const char *jars_dir;
    /* Kubernetes: the same folder inside the driver pod's image, which holds exactly
     * the variant's jars: the whole folder goes on the driver's class path (the
     * executors' image puts it on theirs: the jars are never shipped, nor loaded
     * twice). */
    const char *image_jars_dir;
    /* The pre-shared token clients of the Spark Connect server must present. */
    const char *connect_token;
};

/* The properties of PLAN: POD NULL renders the local runtime (spark.master
 * local[*]); otherwise Kubernetes client mode inside that driver pod. ENV may be
 * NULL. */
int render_spark_conf(const struct plan *plan, const struct render_pod *pod,
                     const struct render_env *env, struct sparkconf **out, struct error *err);

/* The Spark Connect server's plugin class (Spark 4). */
#define RENDER_CONNECT_PLUGIN "org.apache.spark.sql.connect.SparkConnectPlugin"
#define RENDER_RAPIDS_PLUGIN "com.nvidia.spark.SQLPlugin"
/* A JVM property of RAPIDS: GPU memory set up when a GPU task starts, not when the
 * executor does (explain-only mode: no GPU, and no GPU task ever). */
#define RENDER_RAPIDS_LAZY_GPU_INIT "-Dcom.nvidia.spark.rapids.memory.gpu.rmm.init.task=true"
/* RAPIDS' pinned host memory pool per executor, in MiB (added to the pod's overhead). */
#define RENDER_RAPIDS_PINNED_MIB "1024"
/* How long an idle executor that holds shuffle files is kept (dynamic allocation). */
#define RENDER_SHUFFLE_TRACKING_TIMEOUT "600s"
/* Spark's warehouse in a driver pod without shared storage: the pod's writable /tmp;
 * RENDER_SHARED_WAREHOUSE "false" then tells the kernel's session to refuse managed
 * tables of spark_catalog (the executors would write them into their own pods). */
#define RENDER_POD_WAREHOUSE "/tmp/spark-warehouse"
#define RENDER_SHARED_WAREHOUSE "spark.k8s.notebook.sharedWarehouse"
/* The executors' volume of Spark's warehouse claim (spark_warehouse.claim). */
#define RENDER_WAREHOUSE_VOLUME "spark-warehouse"

/* Read by the kernel's startup file (kernelspecs/spark_session.py), not by Spark:
 * whether cells show Spark's progress, and how often it updates. */
#define RENDER_PROGRESS "spark.k8s.notebook.progress"
#define RENDER_PROGRESS_INTERVAL "spark.k8s.notebook.progress.intervalMs"
/* The admin's limits on the session settings a notebook asks for (limits.*), read by
 * the kernel's %%spark_conf and spark_k8s.configure: RENDER_LIMITS + "executors",
 * "executorCores", "executorMemory", "executorGpus", "lockedProperties". */
#define RENDER_LIMITS "spark.k8s.notebook.limits."

/* Write DIR/spark-defaults.conf of PLAN for the local runtime (ENV may be NULL),
 * with a header naming the kernel. 0, or -1 with ERR. */
int render_write_spark_conf(const struct plan *plan, const char *dir,
                            const struct render_env *env, struct error *err);

#endif
