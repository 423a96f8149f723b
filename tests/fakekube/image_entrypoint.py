#!/usr/bin/python3 -I
"""fakekube.image_entrypoint: the runtime image's ENTRYPOINT (/opt/entrypoint.sh) as fakekube runs it.

The runtime image copies Spark's own Kubernetes entrypoint (kubernetes/dockerfiles/spark/
entrypoint.sh of the distribution).  This does what that script does with the arguments and
environment Spark puts on its pods, so that an executor pod created by a real Spark driver
starts the real executor backend:

  executor  ->  exec /usr/bin/tini -s -- $JAVA_HOME/bin/java SPARK_JAVA_OPT_0.. (in numeric
                order) -Xms$SPARK_EXECUTOR_MEMORY -Xmx$SPARK_EXECUTOR_MEMORY
                -cp $SPARK_CONF_DIR:$SPARK_CLASSPATH:$SPARK_HOME/jars/*:$SPARK_K8S_ENV/share/spark-k8s/jars/*
                    :$SPARK_DIST_CLASSPATH
                org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
                --driver-url $SPARK_DRIVER_URL --executor-id $SPARK_EXECUTOR_ID
                --cores $SPARK_EXECUTOR_CORES --app-id $SPARK_APPLICATION_ID
                --hostname $SPARK_EXECUTOR_POD_IP --resourceProfileId $SPARK_RESOURCE_PROFILE_ID
                --podName $SPARK_EXECUTOR_POD_NAME
  driver    ->  exec tini -s -- $SPARK_HOME/bin/spark-submit
                --conf spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS --deploy-mode client ARGS
  anything else runs as given, under tini.

(HADOOP_HOME/HADOOP_CONF_DIR handling and K8S_SPARK_LOG_PATH are left out: the images set
neither.)  The command is echoed first, as the script's `set -x` does."""

import os
import re
import sys

TINI = "/usr/bin/tini"


def java_opts(env):
    opts = [(int(m.group(1)), v) for k, v in env.items() for m in [re.match(r"^SPARK_JAVA_OPT_(\d+)$", k)] if m]
    return [v for _, v in sorted(opts)]


def classpath(env):
    home = env.get("SPARK_HOME", "/opt/spark")
    cp = "%s:%s/jars/*" % (env.get("SPARK_CLASSPATH", ""), home)
    # the variant's jars (RAPIDS, Iceberg) in the image's kernel environment, as
    # images/entrypoint.sh puts them on the executors' class path
    jars = os.path.join(env.get("SPARK_K8S_ENV", ""), "share", "spark-k8s", "jars")
    if env.get("SPARK_K8S_ENV") and os.path.isdir(jars):
        cp += ":" + jars + "/*"
    if env.get("SPARK_EXTRA_CLASSPATH"):
        cp += ":" + env["SPARK_EXTRA_CLASSPATH"]
    conf = env.get("SPARK_CONF_DIR") or home + "/conf"
    return "%s:%s:%s" % (conf, cp, env.get("SPARK_DIST_CLASSPATH", ""))


def command(argv, env):
    if argv and argv[0] == "executor":
        return ([env.get("JAVA_HOME", "/usr") + "/bin/java"] + java_opts(env)
                + ["-Xms" + env.get("SPARK_EXECUTOR_MEMORY", ""), "-Xmx" + env.get("SPARK_EXECUTOR_MEMORY", ""),
                   "-cp", classpath(env), "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend",
                   "--driver-url", env.get("SPARK_DRIVER_URL", ""),
                   "--executor-id", env.get("SPARK_EXECUTOR_ID", ""),
                   "--cores", env.get("SPARK_EXECUTOR_CORES", ""),
                   "--app-id", env.get("SPARK_APPLICATION_ID", ""),
                   "--hostname", env.get("SPARK_EXECUTOR_POD_IP", ""),
                   "--resourceProfileId", env.get("SPARK_RESOURCE_PROFILE_ID", ""),
                   "--podName", env.get("SPARK_EXECUTOR_POD_NAME", "")])
    if argv and argv[0] == "driver":
        return ([env.get("SPARK_HOME", "/opt/spark") + "/bin/spark-submit",
                 "--conf", "spark.driver.bindAddress=" + env.get("SPARK_DRIVER_BIND_ADDRESS", ""),
                 "--deploy-mode", "client"] + argv[1:])
    print("Non-spark-on-k8s command provided, proceeding in pass-through mode...", flush=True)
    return list(argv)


def main():
    env = dict(os.environ)
    cmd = command(sys.argv[1:], env)
    if not cmd:
        sys.exit("entrypoint: nothing to run")
    print("+ exec %s -s -- %s" % (TINI, " ".join(cmd)), file=sys.stderr, flush=True)
    os.execve(TINI, [TINI, "-s", "--"] + cmd, env)


if __name__ == "__main__":
    main()
