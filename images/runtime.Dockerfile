# runtime.Dockerfile — the Spark runtime image (executor pods, and the base of the
# Jupyter image). Spark is PyPI's pyspark: the kernel environment of this Spark
# line, installed from its hash-locked file (kernelspecs/envs/spark-LINE.lock) by
# the same installer as `make install`, at the same place
# (/usr/local/lib/spark-k8s/envs/spark-LINE), so executors run exactly the Spark,
# Python, pandas and pyarrow the kernels run. Java and Python come from Debian;
# tini, the spark-k8s binary, and our own Kubernetes entrypoint (images/entrypoint.sh:
# `executor` starts Spark's KubernetesExecutorBackend the way Apache's images do).
# uid 185 like the apache/spark images. gpu adds the RAPIDS jar (it carries its CUDA
# runtime: the node supplies the driver), the build for the image's architecture and
# RAPIDS_CUDA (the matrix's default, 12; --build-arg RAPIDS_CLASSIFIER=NAME for
# another, images/rapids-jar.sh), with spark-k8s as the GPU discovery script;
# iceberg adds the Iceberg runtime jar and the Iceberg AWS bundle; both go where the
# kernels look for them (<env>/share/spark-k8s/jars), which the entrypoint puts on
# the executor's class path.
#
# Every version and checksum arrives as a build argument generated from
# images/matrix.json (`spark-k8s images plan` lists them; `images bake|build` pass
# them); this file names none. Build context: the repository root.
# Stages: fetch (jars), spark-k8s (compiler), pyenv (pip) -> the final image, which
# gets their results and none of their tools.

ARG BASE_IMAGE
ARG BUILDER_IMAGE

# ---- fetch: the variant's jars, each verified against the matrix's sha256 and sha1 ----
FROM ${BASE_IMAGE} AS fetch
ARG DEBIAN_SNAPSHOT
ARG VARIANT
ARG RAPIDS_JARS=""
ARG RAPIDS_CUDA=""
ARG RAPIDS_CLASSIFIER=""
ARG ICEBERG_URL=""
ARG ICEBERG_SHA256=""
ARG ICEBERG_SHA1=""
ARG ICEBERG_AWS_URL=""
ARG ICEBERG_AWS_SHA256=""
ARG ICEBERG_AWS_SHA1=""
# A CA bundle the jar downloads trust (a TLS-inspecting proxy; images-test gives it).
ARG FETCH_CA=""
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh images/fetch-verified.sh images/rapids-jar.sh /usr/local/sbin/
# baseline needs no jar: no download tool, no request
RUN mkdir -p /jars \
    && case "-${VARIANT}-" in \
      *-gpu-* | *-iceberg-*) /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates \
        && rm -rf /var/lib/apt/lists/* ;; \
    esac \
    && case "-${VARIANT}-" in \
      *-gpu-*) /usr/local/sbin/rapids-jar.sh /jars "${RAPIDS_JARS}" "${RAPIDS_CUDA}" "${RAPIDS_CLASSIFIER}" ;; \
    esac \
    && case "-${VARIANT}-" in \
      *-iceberg-*) /usr/local/sbin/fetch-verified.sh "${ICEBERG_URL}" "/jars/${ICEBERG_URL##*/}" "${ICEBERG_SHA256}" "${ICEBERG_SHA1}" \
        && if [ -n "${ICEBERG_AWS_URL}" ]; then /usr/local/sbin/fetch-verified.sh "${ICEBERG_AWS_URL}" "/jars/${ICEBERG_AWS_URL##*/}" "${ICEBERG_AWS_SHA256}" "${ICEBERG_AWS_SHA1}"; fi ;; \
    esac

# ---- spark-k8s: the binary, built from this repository with Debian's toolchain ----
FROM ${BUILDER_IMAGE} AS spark-k8s
ARG DEBIAN_SNAPSHOT
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh /usr/local/sbin/
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       gcc libc6-dev make pkg-config libzmq3-dev libjansson-dev libssl-dev uuid-dev \
       libcurl4-openssl-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY kernel ./kernel
COPY launcher ./launcher
COPY kernelspecs ./kernelspecs
COPY images/matrix.json ./images/matrix.json
RUN make build/spark-k8s CFLAGS="-O2 -g0" && ./build/spark-k8s version

# ---- pyenv: the kernel environment of this Spark line, from its lock ----
FROM ${BASE_IMAGE} AS pyenv
ARG DEBIAN_SNAPSHOT
ARG PYTHON_PACKAGE
ARG SPARK_LINE
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh /usr/local/sbin/
# PYTHON_PACKAGE is "python3.X=VERSION"; venv's ensurepip is python3.X-venv=VERSION;
# python3 gives /usr/bin/python3, the interpreter install.py makes environments of
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${PYTHON_PACKAGE}" "${PYTHON_PACKAGE%%=*}-venv=${PYTHON_PACKAGE#*=}" python3 \
    && rm -rf /var/lib/apt/lists/*
COPY kernelspecs/envs /src/envs
# pip with --require-hashes from the lock (pyspark's sdist built with the locked
# build tools), exactly as `make install` does it
RUN /usr/bin/python3 /src/envs/install.py "spark-${SPARK_LINE}" "/usr/local/lib/spark-k8s/envs/spark-${SPARK_LINE}" \
    && "/usr/local/lib/spark-k8s/envs/spark-${SPARK_LINE}/bin/python" -c 'import pyspark, pandas, pyarrow; print("pyspark", pyspark.__version__)'

# ---- the runtime image ----
FROM ${BASE_IMAGE}
ARG DEBIAN_SNAPSHOT
ARG JAVA_PACKAGE
ARG PYTHON_PACKAGE
ARG TINI_PACKAGE
ARG SPARK_UID
ARG SPARK_LINE
ARG SPARK_VERSION
ARG SCALA_VERSION
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh /usr/local/sbin/
# Java, Python and tini pinned by version; the libraries spark-k8s links; bash and
# procps for Spark's scripts. JAVA_HOME is a stable link to wherever Debian put the
# JRE. (the JRE's postinst links man pages, which -slim images have no folder for)
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && mkdir -p /usr/share/man/man1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${JAVA_PACKAGE}" "${PYTHON_PACKAGE}" python3 "${TINI_PACKAGE}" \
       bash procps ca-certificates libzmq5 libjansson4 libcurl4 libyaml-0-2 libuuid1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /opt/java \
    && groupadd --system --gid "${SPARK_UID}" spark \
    && useradd --system --uid "${SPARK_UID}" --gid spark --home-dir /home/spark --create-home \
       --shell /bin/bash spark \
    && chmod 0775 /home/spark
ENV SPARK_K8S_ENV=/usr/local/lib/spark-k8s/envs/spark-${SPARK_LINE}
COPY --from=pyenv /usr/local/lib/spark-k8s/envs /usr/local/lib/spark-k8s/envs
COPY --from=fetch /jars/ ${SPARK_K8S_ENV}/share/spark-k8s/jars/
COPY --from=spark-k8s /src/build/spark-k8s /usr/local/bin/spark-k8s
COPY images/entrypoint.sh images/decom.sh /opt/
# SPARK_HOME is a stable link to the environment's pyspark (Spark's jars, bin, sbin);
# spark-k8s is also the GPU discovery script.
RUN ln -s "$("${SPARK_K8S_ENV}/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')" /opt/spark \
    && test -f /opt/spark/jars/spark-kubernetes_"${SCALA_VERSION}"-"${SPARK_VERSION}".jar \
    && ln -s spark-k8s /usr/local/bin/spark-k8s-gpu-discovery \
    && chmod 0755 /opt/entrypoint.sh /opt/decom.sh \
    && /usr/local/bin/spark-k8s version
ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/opt/spark \
    PYSPARK_PYTHON=${SPARK_K8S_ENV}/bin/python \
    PYSPARK_DRIVER_PYTHON=${SPARK_K8S_ENV}/bin/python \
    PATH=${SPARK_K8S_ENV}/bin:/opt/spark/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# what only the labels use comes last, so a new commit (VCS_REF) rebuilds no layer above
ARG BASE_IMAGE
ARG VARIANT
ARG SPARK_K8S_VERSION
ARG VCS_REF
ARG SOURCE_URL
ARG RAPIDS_VERSION=""
ARG ICEBERG_VERSION=""
LABEL org.opencontainers.image.title="spark-k8s-runtime" \
      org.opencontainers.image.description="Spark ${SPARK_VERSION} (${VARIANT}) runtime for spark-k8s executors" \
      org.opencontainers.image.version="${SPARK_K8S_VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      io.spark-k8s.spark.line="${SPARK_LINE}" \
      io.spark-k8s.spark.version="${SPARK_VERSION}" \
      io.spark-k8s.scala.version="${SCALA_VERSION}" \
      io.spark-k8s.variant="${VARIANT}" \
      io.spark-k8s.rapids.version="${RAPIDS_VERSION}" \
      io.spark-k8s.iceberg.version="${ICEBERG_VERSION}"
WORKDIR /home/spark
USER ${SPARK_UID}
ENTRYPOINT ["/opt/entrypoint.sh"]
