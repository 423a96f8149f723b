#!/bin/bash
# entrypoint.sh — the runtime image's entrypoint, as Spark on Kubernetes calls it.
#
#   executor  Spark's executor pod: runs org.apache.spark.scheduler.cluster.k8s.
#             KubernetesExecutorBackend with what Spark's BasicExecutorFeatureStep puts
#             in the pod's environment (SPARK_DRIVER_URL, SPARK_EXECUTOR_ID,
#             SPARK_EXECUTOR_CORES, SPARK_EXECUTOR_MEMORY, SPARK_APPLICATION_ID,
#             SPARK_EXECUTOR_POD_IP, SPARK_EXECUTOR_POD_NAME, SPARK_RESOURCE_PROFILE_ID,
#             SPARK_JAVA_OPT_0.., SPARK_CLASSPATH, SPARK_CONF_DIR), as the entrypoint.sh of
#             Apache's images does; the class path adds the kernel environment's jars
#             ($SPARK_K8S_ENV/share/spark-k8s/jars: RAPIDS, Iceberg), so executors see
#             what the kernels see.
#   driver    spark-submit in client mode inside a driver pod (Spark's cluster mode).
#   anything else runs as given.
#
# Spark comes from the environment's pyspark ($SPARK_HOME links to it). The JVM runs
# under tini (-s: subreaper), so zombies are reaped and signals reach it.
set -euo pipefail

: "${SPARK_HOME:=/opt/spark}"
: "${JAVA_HOME:=/opt/java}"

# need NAME: refuse to start, naming the variable, when Spark did not set it
need() {
    if [ -z "${!1:-}" ]; then
        echo "entrypoint: $1 is not set (Spark on Kubernetes sets it in the executor pod)" >&2
        exit 2
    fi
}

# Spark's class path: user entries (spark.*.extraClassPath), Spark's jars, the
# variant's jars, configuration directories first, the working directory last (as
# Apache's entrypoint: files shipped with --files land there).
classpath() {
    local cp="${SPARK_CLASSPATH:-}"
    cp="${cp:+$cp:}$SPARK_HOME/jars/*"
    if [ -n "${SPARK_K8S_ENV:-}" ] && [ -d "$SPARK_K8S_ENV/share/spark-k8s/jars" ]; then
        cp="$cp:$SPARK_K8S_ENV/share/spark-k8s/jars/*"
    fi
    if [ -n "${SPARK_EXTRA_CLASSPATH:-}" ]; then
        cp="$cp:$SPARK_EXTRA_CLASSPATH"
    fi
    if [ -n "${HADOOP_CONF_DIR:-}" ]; then
        cp="$HADOOP_CONF_DIR:$cp"
    fi
    cp="${SPARK_CONF_DIR:-$SPARK_HOME/conf}:$cp"
    if [ -n "${SPARK_DIST_CLASSPATH:-}" ]; then
        cp="$cp:$SPARK_DIST_CLASSPATH"
    fi
    printf '%s:%s' "$cp" "$PWD"
}

case "${1:-}" in
    executor)
        shift
        for v in SPARK_DRIVER_URL SPARK_EXECUTOR_ID SPARK_EXECUTOR_CORES SPARK_APPLICATION_ID \
            SPARK_EXECUTOR_POD_IP SPARK_EXECUTOR_MEMORY; do
            need "$v"
        done
        # SPARK_JAVA_OPT_<n> in the order of n (the driver numbers them; bash lists
        # names in text order, where 10 sorts before 2)
        java_opts=()
        while IFS= read -r name; do
            [ -n "$name" ] && java_opts+=("${!name}")
        done < <(compgen -v SPARK_JAVA_OPT_ | sort -t_ -k4 -n)
        cmd=(
            "$JAVA_HOME/bin/java"
            "${java_opts[@]}"
            "-Xms$SPARK_EXECUTOR_MEMORY"
            "-Xmx$SPARK_EXECUTOR_MEMORY"
            -cp "$(classpath)"
            org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
            --driver-url "$SPARK_DRIVER_URL"
            --executor-id "$SPARK_EXECUTOR_ID"
            --cores "$SPARK_EXECUTOR_CORES"
            --app-id "$SPARK_APPLICATION_ID"
            --hostname "$SPARK_EXECUTOR_POD_IP"
            --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}"
        )
        if [ -n "${SPARK_EXECUTOR_POD_NAME:-}" ]; then
            cmd+=(--podName "$SPARK_EXECUTOR_POD_NAME")
        fi
        exec /usr/bin/tini -s -- "${cmd[@]}" "$@"
        ;;
    driver)
        shift
        need SPARK_DRIVER_BIND_ADDRESS
        exec /usr/bin/tini -s -- "$SPARK_HOME/bin/spark-submit" \
            --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
            --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" \
            --deploy-mode client "$@"
        ;;
    "")
        exec /bin/bash
        ;;
    *)
        exec "$@"
        ;;
esac
