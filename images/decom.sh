#!/bin/bash
# decom.sh — the executor pod's preStop hook when Spark decommissions executors
# (spark.decommission.enabled; Spark's spark.kubernetes.executor.decommissionScript
# defaults to /opt/decom.sh, as in Apache's images): SIGPWR to the executor JVM,
# which then migrates its blocks and exits; wait for that, within the pod's grace
# period (Kubernetes kills the container when it runs out).
set -uo pipefail

pid="$(pgrep -o -f org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend || true)"
if [ -z "$pid" ]; then
    echo "decom: no executor JVM is running" >&2
    exit 0
fi
echo "decom: SIGPWR to the executor JVM (pid $pid)" | tee -a /dev/termination-log 2>/dev/null
kill -s PWR "$pid" || exit 0
while kill -0 "$pid" 2>/dev/null; do
    sleep 1
done
echo "decom: the executor JVM has exited" | tee -a /dev/termination-log 2>/dev/null
