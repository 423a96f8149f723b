/* matrix.h — the image matrix (images/matrix.json) as a C struct: the Spark lines,
 * their pinned components, the variants, the image names, the budgets and the
 * compatibility facts. The one place a version number lives is that file; the
 * image build, the kernelspecs and the docs read it through this API, which three
 * files implement: matrix.c loads and frees it, matrix_images.c answers questions
 * (lines, variants, image names, budgets, jar URLs and builds), matrix_check.c holds
 * it to its compatibility facts and to the pins a build needs.
 *
 * The file is embedded in the binary at build time (launcher/images/matrix_data.S);
 * $SPARK_K8S_MATRIX names another file to use instead.
 *
 * A loaded matrix owns every string and array it points to; matrix_free releases
 * it. Optional string fields absent from the file are "" (never NULL). */
#ifndef SPARK_K8S_MATRIX_H
#define SPARK_K8S_MATRIX_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

/* One build of a jar published in several (RAPIDS: one per CPU architecture and CUDA
 * major), named by its Maven classifier: <artifact>-<version>-<name>.jar. */
struct matrix_classifier {
    char *name;   /* "cuda12-arm64" */
    char *arch;   /* "x86_64" | "aarch64" (uname -m; Docker's amd64 | arm64) */
    int cuda;     /* CUDA major it is built for: 12 */
    char *url;    /* download URL; "" = derived from the component's, with "-<name>" */
    char *sha256; /* hex of the jar's bytes, or "" until pinned */
    char *sha1;   /* hex, the repository's .sha1, or "" until pinned */
};

/* A jar pinned by version and checksums (sha256 of its bytes, and the sha1 Maven
 * publishes beside it), or, with classifiers, a set of such jars of which one is
 * installed (the component's own url/sha256/sha1 are then "": each classifier has
 * its own). */
struct matrix_component {
    char *version;          /* "1.6.1" */
    char *artifact;         /* Maven "group:artifact": "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12" */
    char **supported_spark; /* Iceberg: Spark lines ("3.5"); RAPIDS: exact Spark versions ("3.5.5") */
    size_t n_supported_spark;
    char *url;              /* download URL; "" = derived from maven_repository + artifact + version */
    char *sha256;           /* hex, or "" */
    char *sha1;             /* hex, or "" */
    struct matrix_classifier *classifiers; /* in the file's order; NULL when none */
    size_t n_classifiers;
    char *default_classifier; /* "cuda12": its CUDA major is the default one; "" when none */
};

/* One Spark line: what goes into the runtime and Jupyter images of that line.
 * Spark itself, and every Python package with it (pandas, pyarrow, ...), is the
 * line's kernel environment, hash-locked in kernelspecs/envs/spark-<line>.lock:
 * PyPI's pyspark at this version carries Spark's jars and scripts. */
struct matrix_spark {
    char *line;        /* "3.5" */
    char *version;     /* "3.5.5" */
    char *scala;       /* "2.12" */
    char *java;        /* "17" (major) */
    char *python_min;  /* "3.8" */
    struct matrix_component iceberg;
    struct matrix_component iceberg_aws; /* iceberg-aws-bundle: version "" when absent */
    struct matrix_component rapids;
};

/* Which Spark modules a release of a component has: Iceberg "1.10.0" -> ["3.4_2.12", ...]
 * (Spark minor "_" Scala), RAPIDS "25.12.0" -> ["3.5.7", ...] (exact Spark versions). */
struct matrix_release {
    char *version;
    char **items;
    size_t n_items;
};

/* A pinned Debian package of the images (apt "name=version"). */
struct matrix_package {
    char *role;    /* "java17", "python", "tini", ... */
    char *name;    /* "openjdk-17-jre-headless" */
    char *version; /* "17.0.17+10-1~deb12u1" */
};

/* A pinned Python package of the images beyond the locked environments (pip
 * "name==version"): only the GPU Python libraries, which gpu Jupyter images add to
 * the kernel environment on request (GPU_PYTHON=1). */
struct matrix_pypackage {
    char *name;
    char *version;
    char *scope; /* "jupyter_gpu" */
};

struct matrix_budget {
    char *kind;    /* "runtime" | "jupyter" */
    char *variant; /* "baseline", ... */
    long mb;       /* budget in MB (10^6 bytes) */
};

struct matrix {
    char *origin;        /* where it came from: a path or "<embedded images/matrix.json>" */
    int schema;
    char *name;          /* project name, "spark-k8s" */
    char *source;        /* project source URL (OCI label) */
    char *runtime_image; /* "spark-k8s-runtime" */
    char *jupyter_image; /* "spark-k8s-jupyter" */
    char **variants;     /* "baseline", "gpu", "iceberg", "gpu-iceberg" */
    size_t n_variants;
    struct matrix_spark *spark;
    size_t n_spark;
    struct matrix_release *iceberg_releases; /* compat.iceberg_spark_modules */
    size_t n_iceberg_releases;
    struct matrix_release *rapids_releases;  /* compat.rapids_spark_versions */
    size_t n_rapids_releases;
    struct matrix_release *spark_java;       /* compat.spark_java: line -> Java majors */
    size_t n_spark_java;
    struct matrix_budget *budgets;
    size_t n_budgets;
    /* image build inputs ("images" section); "" / 0 when absent */
    char *base_image;        /* runtime base: exact tag, optionally @sha256:digest */
    char *builder_image;     /* image that builds spark-k8s from source */
    char *debian_snapshot;   /* snapshot.debian.org timestamp, "20251117T000000Z", or "" */
    char *maven_repository;  /* "https://repo1.maven.org/maven2" */
    char *uid;               /* "185" */
    /* images.layout: where things are inside the images; "" when absent */
    char *image_python;      /* the image's Python with ipykernel and pyspark, "/opt/venv/bin/python3" */
    char *image_tini;        /* "/usr/bin/tini" */
    char *image_spark_k8s;   /* "/usr/local/bin/spark-k8s" */
    struct matrix_package *packages;
    size_t n_packages;
    struct matrix_pypackage *pypackages;
    size_t n_pypackages;
};

/* $SPARK_K8S_MATRIX if set and non-empty, else the copy embedded at build time. */
int matrix_load_default(struct matrix **out, struct error *err);
int matrix_load_file(const char *path, struct matrix **out, struct error *err);
/* ORIGIN names the text in messages (a path, or "<test>"). */
int matrix_load_string(const char *json, const char *origin, struct matrix **out,
                       struct error *err);
void matrix_free(struct matrix *m);

/* The text embedded in the binary (NUL-terminated). */
const char *matrix_embedded_json(void);

/* "4.1" or "4.1.1" -> that line; NULL if none. */
const struct matrix_spark *matrix_spark_find(const struct matrix *m, const char *line_or_version);
/* 1 if VARIANT is one of the matrix's variants. */
int matrix_variant_valid(const struct matrix *m, const char *variant);
/* 1 if VARIANT ("gpu-iceberg") has FEATURE ("gpu" | "iceberg"): its '-' separated words. */
int matrix_variant_has(const char *variant, const char *feature);
/* 1 if any variant of M has FEATURE: the matrix builds images that need its jars. */
int matrix_variants_use(const struct matrix *m, const char *feature);

/* Image names. Every image has two tags:
 *   "<line>-<spark version>-<variant>"                     4.1-4.1.3-gpu-iceberg
 *     the line's current image of that variant: a new spark-k8s release moves it;
 *   "<line>-<spark version>-<variant>-<spark-k8s version>" 4.1-4.1.3-gpu-iceberg-0.1.0
 *     immutable: the image built from this spark-k8s. Kernelspecs name this one, as
 *     the driver image's `spark-k8s shim` must be the launcher's own version.
 * REGISTRY may be NULL or ""; a trailing '/' on it is ignored. KIND is "runtime" or
 * "jupyter". Each returns 0, or -1 on an unknown kind/variant or if BUF is too small. */

/* "[REGISTRY/]spark-k8s-<kind>:<immutable tag>": what kernelspecs reference. */
int matrix_image_ref(const struct matrix *m, const char *registry, const char *kind,
                     const struct matrix_spark *s, const char *variant, char *buf, size_t len);
/* "[REGISTRY/]spark-k8s-<kind>:<line tag>". */
int matrix_image_line_ref(const struct matrix *m, const char *registry, const char *kind,
                          const struct matrix_spark *s, const char *variant, char *buf,
                          size_t len);
/* The tags alone: "<line>-<spark version>-<variant>", and with "-<spark-k8s version>". */
int matrix_image_tag(const struct matrix_spark *s, const char *variant, char *buf, size_t len);
int matrix_image_version_tag(const struct matrix_spark *s, const char *variant, char *buf,
                             size_t len);

/* Budget of an image in MB, or -1 if the matrix has none for it. */
long matrix_budget_mb(const struct matrix *m, const char *kind, const char *variant);

/* The compatibility facts: 0 if every Spark line, with every variant's components,
 * is a combination the facts allow; else -1 and ERR says which line, which field,
 * which value, and why. Loading does not check; callers that build call this. */
int matrix_check(const struct matrix *m, struct error *err);

/* What an image build needs beyond compatibility: every jar the variants download
 * (each classifier of one that has them) has a URL and a sha256 (a sha1, where given,
 * is 40 hex digits), the base images are pinned. (Spark and the Python
 * packages come from the hash-locked kernel environments.) 0 if so; else -1 naming
 * the field. */
int matrix_check_pins(const struct matrix *m, struct error *err);
/* The same for the images of one LINE and VARIANT only (a baseline image downloads no
 * jar, so it needs no checksum); NULL for either means all. */
int matrix_check_pins_for(const struct matrix *m, const char *line, const char *variant,
                          struct error *err);

/* The download URL of a component into BUF (its url, or derived from the Maven
 * repository, artifact and version). 0, or -1 if it has none or BUF is too small. */
int matrix_component_url(const struct matrix *m, const struct matrix_component *c,
                         char *buf, size_t len);
/* The same for classifier K of C (K NULL: the component's own jar): K's url, or the
 * component's URL with "-<name>" before ".jar". */
int matrix_classifier_url(const struct matrix *m, const struct matrix_component *c,
                          const struct matrix_classifier *k, char *buf, size_t len);

/* Classifier NAME of C, or NULL. */
const struct matrix_classifier *matrix_classifier_find(const struct matrix_component *c,
                                                       const char *name);
/* The classifier of C built for ARCH ("x86_64" | "aarch64") and CUDA major CUDA, or NULL. */
const struct matrix_classifier *matrix_classifier_pick(const struct matrix_component *c,
                                                       const char *arch, int cuda);
/* C's classifiers as "cuda12 (x86_64, CUDA 12), ..." into BUF ("none" when it has none). */
void matrix_classifiers_text(const struct matrix_component *c, char *buf, size_t len);

/* The pinned Debian package for ROLE, or NULL. */
const struct matrix_package *matrix_package_find(const struct matrix *m, const char *role);

#endif
