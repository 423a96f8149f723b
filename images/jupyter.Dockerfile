# jupyter.Dockerfile — the Jupyter image: JupyterLab on port 8888 and the PySpark
# driver, FROM the runtime image of the same Spark line and variant (so driver and
# executors run the same kernel environment: Spark, Python, pandas, pyarrow). It
# adds the Jupyter environment (JupyterLab, jupyter_server; kernelspecs/envs/
# jupyter.lock, hash-checked, at /usr/local/lib/spark-k8s/envs/jupyter), the image's
# own kernelspec (local runtime; the kernel runs the runtime image's environment)
# with the Spark session startup file, and for gpu variants, on request
# (GPU_PYTHON=1), cudf, cuml and cupy in the kernel environment, from the line's
# hash-checked GPU lock (kernelspecs/envs/spark-LINE-gpu.lock, which keeps every
# version of the kernel environment's lock). It also serves as the driver pod of the
# Kubernetes runtime:
# `spark-k8s shim` runs under the same tini.
#
# spark-k8s is the binary the runtime image built; nothing here compiles. Every
# version arrives as a build argument from images/matrix.json.

ARG RUNTIME_IMAGE

# ---- jupyterenv: the Jupyter environment, from its lock (needs venv's ensurepip) ----
FROM ${RUNTIME_IMAGE} AS jupyterenv
ARG DEBIAN_SNAPSHOT
ARG PYTHON_PACKAGE
USER root
SHELL ["/bin/sh", "-eu", "-c"]
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${PYTHON_PACKAGE%%=*}-venv=${PYTHON_PACKAGE#*=}" \
    && rm -rf /var/lib/apt/lists/*
COPY kernelspecs/envs /src/envs
RUN /usr/bin/python3 /src/envs/install.py jupyter /usr/local/lib/spark-k8s/envs/jupyter

# ---- the Jupyter image ----
FROM ${RUNTIME_IMAGE}
ARG GPU_PYTHON=0
ARG GPU_PYTHON_PACKAGES=""
ARG SPARK_UID
ARG SPARK_LINE
ARG VARIANT
USER root
SHELL ["/bin/sh", "-eu", "-c"]
COPY --from=jupyterenv /usr/local/lib/spark-k8s/envs/jupyter /usr/local/lib/spark-k8s/envs/jupyter
COPY kernelspecs/envs /src/envs
# the server extension that serves each kernel's Spark UI under JupyterLab's URL
COPY serverext/spark_k8s_ui /usr/local/lib/spark-k8s/serverext/spark_k8s_ui
# GPU_PYTHON=1: install.py adds what spark-LINE-gpu.lock has beyond spark-LINE.lock to
# the kernel environment (pip --require-hashes --no-deps, wheels only), after checking
# that the lock keeps every kernel environment version (pyspark, pandas, pyarrow,
# numpy, ...) and pins the matrix's GPU_PYTHON_PACKAGES; then pip check.
# The kernelspec finds the kernel environment beside /usr/local/bin/spark-k8s.
# JupyterLab offers that kernel, as its default, and not its own Python's (the
# Jupyter environment's config: a changed CMD keeps it).
RUN if [ "${GPU_PYTHON}" = 1 ]; then \
      case "-${VARIANT}-" in \
        *-gpu-*) PIP_NO_CACHE_DIR=1 /usr/bin/python3 /src/envs/install.py "spark-${SPARK_LINE}-gpu" "${SPARK_K8S_ENV}" \
                   --over "spark-${SPARK_LINE}" --expect "${GPU_PYTHON_PACKAGES}" ;; \
        *) echo "GPU_PYTHON=1 applies to gpu variants only; ${VARIANT} is not one" >&2; exit 2 ;; \
      esac; \
    fi \
    && rm -rf /src/envs \
    && spark-k8s kernelspec install --spark "${SPARK_LINE}" --variant "${VARIANT}" --runtime local \
    && spark-k8s kernelspec list \
    && rm -rf /usr/local/lib/spark-k8s/envs/jupyter/share/jupyter/kernels/python3 \
    && mkdir -p /usr/local/lib/spark-k8s/envs/jupyter/etc/jupyter \
    && printf '{"KernelSpecManager": {"ensure_native_kernel": false},\n "MappingKernelManager": {"default_kernel_name": "spark-%s-%s"},\n "ServerApp": {"jpserver_extensions": {"spark_k8s_ui": true}}}\n' \
       "${SPARK_LINE}" "${VARIANT}" >/usr/local/lib/spark-k8s/envs/jupyter/etc/jupyter/jupyter_server_config.json \
    && for d in /usr/local/lib/spark-k8s/envs/jupyter/lib/python3*/site-packages; do \
         echo /usr/local/lib/spark-k8s/serverext >"$d/spark_k8s_ui.pth"; done \
    && mkdir -p /home/spark/work \
    && chown -R spark:spark /home/spark
# what only the labels use comes last, so a new commit (VCS_REF) rebuilds no layer above
ARG RUNTIME_IMAGE
ARG SPARK_VERSION
ARG SCALA_VERSION
ARG SPARK_K8S_VERSION
ARG VCS_REF
ARG SOURCE_URL
ARG RAPIDS_VERSION=""
ARG ICEBERG_VERSION=""
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
# the kernel environment first (python3, pip, pyspark are the kernels'); the Jupyter
# environment's commands after it
ENV HOME=/home/spark \
    JUPYTER_PORT=8888 \
    PATH=${SPARK_K8S_ENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/lib/spark-k8s/envs/jupyter/bin
WORKDIR /home/spark/work
USER ${SPARK_UID}
EXPOSE 8888
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/usr/bin/python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=4)"]
# tini -g: a signal reaches the whole process group (kernels included)
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["/usr/local/lib/spark-k8s/envs/jupyter/bin/jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/spark/work"]
