/* kernel_env.h — the Python environment a kernel runs in: the one installed beside
 * the spark-k8s binary (PREFIX/lib/spark-k8s/envs/spark-<line>, by `make install`),
 * what an interpreter holds (found by running it with an argv, never a shell), and
 * the extra jars of the gpu and iceberg variants, kept inside the environment
 * (<env>/share/spark-k8s/jars) because outside the images they come from Maven
 * Central (`spark-k8s jars fetch`). */
#ifndef SPARK_K8S_KERNEL_ENV_H
#define SPARK_K8S_KERNEL_ENV_H

#include <stddef.h>

#include "launcher/images/matrix.h"
#include "launcher/sys/errmsg.h"

#define KERNEL_ENV_PROBE_TIMEOUT_MS 60000L

/* What an interpreter holds. An empty string: not installed there. */
struct kernel_env_probe {
    char python[32];    /* "3.11.2" */
    char prefix[4096];  /* sys.prefix */
    char ipykernel[64]; /* "7.4.0" */
    char pyspark[64];   /* "4.1.3" */
};

/* The environment of Spark LINE installed beside the spark-k8s binary EXE:
 * <dir of EXE>/../lib/spark-k8s/envs/spark-<LINE>/bin/python into BUF.
 * 1 if that file exists, 0 if not (BUF still set), -1 if BUF is too small. */
int kernel_env_bundled_python(const char *exe, const char *line, char *buf, size_t len);

/* Run PYTHON and read what it holds. 0, or -1 with ERR naming PYTHON and why. */
int kernel_env_probe(const char *python, struct kernel_env_probe *out, struct error *err);

/* 0 if P suits a kernel of LINE: ipykernel installed, pyspark of that Spark line,
 * and for a gpu VARIANT a Spark version RAPIDS supports. Else -1 and ERR says what
 * was found, naming OPTION (e.g. "--python /x/bin/python"). */
int kernel_env_check(const struct kernel_env_probe *p, const char *option,
                     const struct matrix_spark *line, const char *variant, struct error *err);

/* A jar a variant needs beyond Spark's own. */
struct kernel_jar {
    const char *feature; /* "RAPIDS", "Iceberg", "Iceberg AWS bundle" */
    const char *what;    /* "rapids", "iceberg", "iceberg_aws_bundle": the matrix object */
    int required;        /* the feature cannot work without it */
    const struct matrix_component *component;
    const struct matrix_classifier *classifier; /* the build (RAPIDS: cuda12, ...), or NULL */
    const char *sha256;  /* what the matrix pins for this file, "" when nothing */
    const char *sha1;    /* (both owned by the matrix) */
    char file[256];      /* "rapids-4-spark_2.13-26.08.1-cuda12.jar" */
    char url[1024];      /* where the matrix says it is published */
};
#define KERNEL_JARS_MAX 3

/* The jars VARIANT needs on LINE of M, into OUT; returns how many (0..KERNEL_JARS_MAX).
 * The URL is under REPOSITORY when given, else the matrix's Maven repository. RAPIDS,
 * published per architecture and CUDA major, is listed as this machine's default
 * build (kernel_env_rapids_default). */
size_t kernel_env_jars(const struct matrix *m, const struct matrix_spark *line,
                       const char *variant, const char *repository,
                       struct kernel_jar out[KERNEL_JARS_MAX]);

/* The same for the kernel environment whose jars are in DIR: RAPIDS is the build
 * present there (whichever classifier: an environment holds one), else the default.
 * What a kernel puts on its driver's class path and checks at its start. */
size_t kernel_env_jars_in(const struct matrix *m, const struct matrix_spark *line,
                          const char *variant, const char *repository, const char *dir,
                          struct kernel_jar out[KERNEL_JARS_MAX]);

/* The RAPIDS jar of LINE present in DIR, of any of its classifiers (the matrix's
 * default classifier looked at first): 1 with OUT filled, 0 when there is none.
 * Presence only (a readable file of that name); `spark-k8s jars` verifies sums. */
int kernel_env_rapids_present(const struct matrix *m, const struct matrix_spark *line,
                              const char *dir, const char *repository, struct kernel_jar *out);

/* Make J (a jar of COMPONENT) the jar of classifier K (NULL: the component's own):
 * its file, URL (under REPOSITORY when given) and sums. 0, or -1 when no URL can be
 * made. */
int kernel_env_jar_set(const struct matrix *m, const char *repository, struct kernel_jar *j,
                       const struct matrix_classifier *k);

/* This machine's architecture as the matrix names it: "x86_64", "aarch64" (uname's
 * arm64 too), else uname's own word, into BUF. 0, or -1 when uname fails. */
int kernel_env_machine_arch(char *buf, size_t len);

/* The RAPIDS build a machine of ARCH gets unless told otherwise: for ARCH, the CUDA
 * major of the matrix's default classifier (CUDA 12). NULL when LINE's RAPIDS has no
 * classifiers or no such build. */
const struct matrix_classifier *kernel_env_rapids_default(const struct matrix_spark *line,
                                                          const char *arch);

/* Where the kernel whose Python is PYTHON (an absolute path <env>/bin/NAME) keeps
 * its jars: <env>/share/spark-k8s/jars. 0, or -1 when PYTHON is not such a path. */
int kernel_env_jars_dir(const char *python, char *buf, size_t len);

/* The same folder inside the images of Spark LINE (the matrix's images.layout.python,
 * its {line} replaced). 0, or -1 when the matrix has no layout or BUF is too small. */
int kernel_env_image_jars_dir(const struct matrix *m, const char *line, char *buf, size_t len);

#endif
