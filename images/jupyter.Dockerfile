# jupyter.Dockerfile — the Jupyter image: JupyterLab on port 8888 and the PySpark
# driver, FROM the runtime image of the same Spark line and variant (so driver and
# executors run the same Spark, Java, Python, pandas and pyarrow). It adds
# JupyterLab and ipykernel at the matrix's versions, the image's own kernelspecs
# (local runtime) with the Spark session startup file, and for gpu variants, on
# request (GPU_PYTHON=1), cudf, cuml and cupy. It also serves as the driver pod of
# the Kubernetes runtime: `spark-k8s shim` runs under the same tini.
#
# pyspark is the distribution's own python/ directory (put on the path by the
# runtime image), and spark-k8s is the binary the runtime image built in its
# spark-k8s builder stage: nothing here compiles, so no build tool is installed.
# Every version arrives as a build argument from images/matrix.json.

ARG RUNTIME_IMAGE

FROM ${RUNTIME_IMAGE}
ARG PYTHON_PACKAGES
ARG GPU_PYTHON=0
ARG GPU_PYTHON_PACKAGES=""
ARG SPARK_UID
ARG RUNTIME_IMAGE
ARG SPARK_LINE
ARG SPARK_VERSION
ARG SCALA_VERSION
ARG VARIANT
ARG SPARK_K8S_VERSION
ARG VCS_REF
ARG SOURCE_URL
ARG RAPIDS_VERSION=""
ARG ICEBERG_VERSION=""
USER root
SHELL ["/bin/sh", "-eu", "-c"]
# Wheels only (nothing to compile), and the runtime's pins held as constraints so
# JupyterLab's dependencies cannot move pandas, pyarrow or numpy.
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
       --constraint /opt/venv/constraints.txt ${PYTHON_PACKAGES} \
    && if [ "${GPU_PYTHON}" = 1 ]; then \
         case "-${VARIANT}-" in \
           *-gpu-*) /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check \
                      --only-binary=:all: --constraint /opt/venv/constraints.txt ${GPU_PYTHON_PACKAGES} ;; \
           *) echo "GPU_PYTHON=1 applies to gpu variants only; ${VARIANT} is not one" >&2; exit 2 ;; \
         esac; \
       fi \
    && spark-k8s kernelspec install --sys-prefix --spark "${SPARK_LINE}" --variant "${VARIANT}" \
       --runtime local --python /opt/venv/bin/python3 \
    && jupyter kernelspec list \
    && mkdir -p /home/spark/work \
    && chown -R spark:spark /home/spark
LABEL org.opencontainers.image.title="spark-k8s-jupyter" \
      org.opencontainers.image.description="JupyterLab with Spark ${SPARK_VERSION} (${VARIANT}) kernels for spark-k8s" \
      org.opencontainers.image.version="${SPARK_K8S_VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}" \
      io.spark-k8s.spark.line="${SPARK_LINE}" \
      io.spark-k8s.spark.version="${SPARK_VERSION}" \
      io.spark-k8s.scala.version="${SCALA_VERSION}" \
      io.spark-k8s.variant="${VARIANT}" \
      io.spark-k8s.rapids.version="${RAPIDS_VERSION}" \
      io.spark-k8s.iceberg.version="${ICEBERG_VERSION}" \
      io.spark-k8s.gpu-python="${GPU_PYTHON}"
ENV HOME=/home/spark \
    JUPYTER_PORT=8888
WORKDIR /home/spark/work
USER ${SPARK_UID}
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/venv/bin/python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=4)"]
# tini -g: a signal reaches the whole process group (kernels included)
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/spark/work"]
