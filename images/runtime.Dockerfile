# runtime.Dockerfile — the Spark runtime image (executor pods, and the base of the
# Jupyter image): the official Spark distribution checked against its SHA-512,
# Java, Python with pandas and pyarrow, tini, the spark-k8s binary, uid 185 like
# the apache/spark images. gpu adds the RAPIDS jar (it carries its CUDA runtime:
# the node supplies the driver) with spark-k8s as the GPU discovery script;
# iceberg adds the Iceberg runtime jar and the Iceberg AWS bundle.
#
# Every version and checksum arrives as a build argument generated from
# images/matrix.json (`spark-k8s images plan` lists them; `images bake|build` pass
# them); this file names none. Build context: the repository root.
# Stages: fetch (downloads), spark-k8s (compiler), pyenv (pip) -> the final image,
# which gets their results and none of their tools.

ARG BASE_IMAGE
ARG BUILDER_IMAGE

# ---- fetch: every download, verified against the matrix ----
FROM ${BASE_IMAGE} AS fetch
ARG DEBIAN_SNAPSHOT
ARG SPARK_URL
ARG SPARK_SHA512
ARG VARIANT
ARG RAPIDS_URL=""
ARG RAPIDS_SHA512=""
ARG RAPIDS_SHA1=""
ARG ICEBERG_URL=""
ARG ICEBERG_SHA512=""
ARG ICEBERG_SHA1=""
ARG ICEBERG_AWS_URL=""
ARG ICEBERG_AWS_SHA512=""
ARG ICEBERG_AWS_SHA1=""
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh images/fetch-verified.sh /usr/local/sbin/
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN /usr/local/sbin/fetch-verified.sh "${SPARK_URL}" /tmp/spark.tgz "${SPARK_SHA512}" \
    && mkdir -p /opt/spark \
    && tar -xzf /tmp/spark.tgz -C /opt/spark --strip-components=1 --no-same-owner \
    && rm /tmp/spark.tgz \
    && test -f /opt/spark/kubernetes/dockerfiles/spark/entrypoint.sh \
    && rm -rf /opt/spark/R /opt/spark/data /opt/spark/examples/src /opt/spark/yarn \
    && mkdir -p /opt/spark/work-dir
RUN case "-${VARIANT}-" in \
      *-gpu-*) /usr/local/sbin/fetch-verified.sh "${RAPIDS_URL}" "/opt/spark/jars/${RAPIDS_URL##*/}" "${RAPIDS_SHA512}" "${RAPIDS_SHA1}" ;; \
    esac \
    && case "-${VARIANT}-" in \
      *-iceberg-*) /usr/local/sbin/fetch-verified.sh "${ICEBERG_URL}" "/opt/spark/jars/${ICEBERG_URL##*/}" "${ICEBERG_SHA512}" "${ICEBERG_SHA1}" \
        && if [ -n "${ICEBERG_AWS_URL}" ]; then /usr/local/sbin/fetch-verified.sh "${ICEBERG_AWS_URL}" "/opt/spark/jars/${ICEBERG_AWS_URL##*/}" "${ICEBERG_AWS_SHA512}" "${ICEBERG_AWS_SHA1}"; fi ;; \
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

# ---- pyenv: Python with pandas, pyarrow, numpy at the matrix's versions ----
FROM ${BASE_IMAGE} AS pyenv
ARG DEBIAN_SNAPSHOT
ARG PYTHON_PACKAGE
ARG PYTHON_PACKAGES
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh /usr/local/sbin/
# PYTHON_PACKAGE is "python3.X=VERSION"; its venv module is python3.X-venv=VERSION
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${PYTHON_PACKAGE}" "${PYTHON_PACKAGE%%=*}-venv=${PYTHON_PACKAGE#*=}" \
    && rm -rf /var/lib/apt/lists/*
RUN "${PYTHON_PACKAGE%%=*}" -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
       ${PYTHON_PACKAGES} \
    && /opt/venv/bin/pip freeze >/opt/venv/constraints.txt

# ---- the runtime image ----
FROM ${BASE_IMAGE}
ARG DEBIAN_SNAPSHOT
ARG JAVA_PACKAGE
ARG PYTHON_PACKAGE
ARG TINI_PACKAGE
ARG SPARK_UID
ARG BASE_IMAGE
ARG SPARK_LINE
ARG SPARK_VERSION
ARG SCALA_VERSION
ARG VARIANT
ARG SPARK_K8S_VERSION
ARG VCS_REF
ARG SOURCE_URL
ARG RAPIDS_VERSION=""
ARG ICEBERG_VERSION=""
SHELL ["/bin/sh", "-eu", "-c"]
COPY images/apt-snapshot.sh /usr/local/sbin/
# Java, Python and tini pinned by version; the libraries spark-k8s links; procps
# for Spark's scripts. JAVA_HOME is a stable link to wherever Debian put the JRE.
# (the JRE's postinst links man pages, which -slim images do not have a folder for)
RUN /usr/local/sbin/apt-snapshot.sh "${DEBIAN_SNAPSHOT}" \
    && mkdir -p /usr/share/man/man1 \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       "${JAVA_PACKAGE}" "${PYTHON_PACKAGE}" "${TINI_PACKAGE}" \
       bash procps ca-certificates libzmq5 libjansson4 libcurl4 libyaml-0-2 libuuid1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && ln -s "$(dirname "$(dirname "$(readlink -f /usr/bin/java)")")" /opt/java \
    && groupadd --system --gid "${SPARK_UID}" spark \
    && useradd --system --uid "${SPARK_UID}" --gid spark --home-dir /home/spark --create-home \
       --shell /bin/bash spark
COPY --from=fetch /opt/spark /opt/spark
COPY --from=pyenv /opt/venv /opt/venv
COPY --from=spark-k8s /src/build/spark-k8s /usr/local/bin/spark-k8s
# Spark's own Kubernetes entrypoint (executor/driver commands, under tini); pyspark
# from the distribution on the venv's path; spark-k8s as the GPU discovery script.
RUN cp /opt/spark/kubernetes/dockerfiles/spark/entrypoint.sh /opt/entrypoint.sh \
    && if [ -f /opt/spark/kubernetes/dockerfiles/spark/decom.sh ]; then \
         cp /opt/spark/kubernetes/dockerfiles/spark/decom.sh /opt/decom.sh; fi \
    && chmod 0755 /opt/entrypoint.sh \
    && ln -s spark-k8s /usr/local/bin/spark-k8s-gpu-discovery \
    && site="$(/opt/venv/bin/python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && { echo /opt/spark/python; ls /opt/spark/python/lib/py4j-*-src.zip; } >"${site}/spark-distribution.pth" \
    && chown -R spark:spark /opt/spark/work-dir \
    && chmod g+w /opt/spark/work-dir \
    && /opt/venv/bin/python3 -c 'import pyspark, pandas, pyarrow' \
    && /usr/local/bin/spark-k8s version
ENV JAVA_HOME=/opt/java \
    SPARK_HOME=/opt/spark \
    PATH=/opt/venv/bin:/opt/spark/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYSPARK_PYTHON=/opt/venv/bin/python3 \
    PYSPARK_DRIVER_PYTHON=/opt/venv/bin/python3
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
WORKDIR /opt/spark/work-dir
USER ${SPARK_UID}
ENTRYPOINT ["/opt/entrypoint.sh"]
