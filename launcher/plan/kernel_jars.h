/* kernel_jars.h — `spark-k8s jars list|fetch`: the jars the gpu and iceberg kernels need
 * beyond Spark's own (RAPIDS, Iceberg), which outside the images live in the kernel
 * environment (<env>/share/spark-k8s/jars). `fetch` downloads the missing ones from
 * the matrix's Maven repository (or a mirror), or takes them from a cache folder
 * (hard-linked where it can), each verified against the sha256 (and sha1) the
 * matrix pins; a jar the matrix pins no sha256 for is refused. A jar is written under
 * a temporary name and renamed into place only once verified, so a failed fetch
 * leaves nothing behind. RAPIDS comes in one build per architecture and CUDA major
 * (a Maven classifier): one is chosen (an option, the one installed, or the
 * machine's architecture with CUDA 12), said with why, and an environment holds one. */
#ifndef SPARK_K8S_KERNEL_JARS_H
#define SPARK_K8S_KERNEL_JARS_H

#include "launcher/sys/errmsg.h"

#define KERNEL_JARS_TIMEOUT_S 60L
#define KERNEL_JARS_REPOSITORY_ENV "SPARK_K8S_MAVEN_REPOSITORY"

struct kernel_jars_options {
    const char *python;     /* the kernel environment of that interpreter, or NULL */
    const char *dir;        /* a folder of jars instead, or NULL */
    const char *spark;      /* with dir: only this Spark line; NULL: every line */
    const char *variant;    /* only this variant's jars; NULL: every variant */
    const char *repository; /* a Maven repository or mirror; NULL: the matrix's */
    const char *cache;      /* fetch: take verified jars from here, downloading into it */
    const char *classifier; /* the RAPIDS build by its Maven classifier, or NULL */
    const char *arch;       /* the RAPIDS build for this architecture; NULL: this machine's */
    int cuda;               /* the RAPIDS build for this CUDA major; 0: installed, else 12 */
    long timeout_s;         /* a download's stall timeout */
    int fetch;              /* 0: list what is there; 1: fetch what is not */
};

/* List or fetch the jars O names with the matrix (matrix_load_default): a line per jar
 * on stdout ("present ...", "missing ...", "fetched ..."), each failure through
 * REPORT. 0 when every jar is there (and verified); else -1 with ERR the first
 * failure: ERR_USAGE for an option the matrix does not know, ERR_INPUT for the matrix
 * or a RAPIDS build the release lacks, ERR_RUNTIME for a jar missing, different or
 * not fetched, ERR_SYSTEM for the machine. A jar missing from a listing is said on
 * stdout alone. */
int kernel_jars_run(const struct kernel_jars_options *o, error_report_fn *report,
                    void *ctx, struct error *err);

#endif
