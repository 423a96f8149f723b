/* plan.h — the launch plan: everything a kernel needs to start its runtime,
 * derived from the kernelspec's metadata (kernel.json "metadata"."spark_k8s"),
 * the image matrix, the admin config file and SPARK_K8S_* environment variables
 * (in that order of precedence, the last winning; see kernelspecs/README.md).
 *
 * The kernel command reads a plan; `render` prints one; the runtimes act on one.
 * It is the one input of a kernel's start: the matrix is read once, into it, and the
 * numbers and booleans of its settings are parsed once, when each is set (a bad value
 * is refused then, naming the setting and where it came from).
 * A plan owns all its strings and the matrix; plan_free releases them. */
#ifndef SPARK_K8S_PLAN_H
#define SPARK_K8S_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/config.h"
#include "launcher/sys/errmsg.h"

struct plan;

/* Load the plan for the kernelspec in DIR (the folder holding kernel.json).
 * DIR may be NULL: then a default plan (local runtime, python3 -m ipykernel_launcher).
 * On error returns -1 and writes a message naming the file, the field and the value. */
int plan_load(const char *kernelspec_dir, struct plan **out, struct error *err);
void plan_free(struct plan *plan);

/* Flags of plan_from_json. */
#define PLAN_NO_ADMIN 1 /* ignore the admin config file and the environment */

/* The plan of an already parsed kernel.json (borrowed). DIR names the kernelspec
 * folder (NULL: none), PATH the file in messages. `kernelspec install` validates
 * what it writes with this (PLAN_NO_ADMIN). */
int plan_from_json(json_t *kernel_json, const char *dir, const char *path, int flags,
                   struct plan **out, struct error *err);
/* The same with a matrix the caller has loaded, which the plan borrows (MATRIX must
 * outlive the plan; plan_free leaves it): `kernelspec install` checks every spec it
 * writes against the one matrix it built them from, parsing it once. */
int plan_from_json_in(const struct matrix *matrix, json_t *kernel_json, const char *dir,
                      const char *path, int flags, struct plan **out, struct error *err);

const char *plan_kernel_name(const struct plan *plan);   /* "spark-4.1-baseline" or "" */
const char *plan_display_name(const struct plan *plan);
const char *plan_spark_version(const struct plan *plan); /* "4.1.1"; "" without metadata */
const char *plan_spark_line(const struct plan *plan);    /* "4.1";   "" without metadata */
const char *plan_variant(const struct plan *plan);       /* "baseline", "gpu", ... */
const char *plan_runtime(const struct plan *plan);       /* "local" or "kubernetes" */
const char *plan_path(const struct plan *plan);          /* ".../kernel.json" or "(default)" */

/* Every setting with its source (images, resources, namespace, Iceberg catalog,
 * extra Spark properties). A value may be NULL (unset). */
const struct setting *plan_setting(const struct plan *plan, enum setting_id id);
const struct settings *plan_settings(const struct plan *plan);

/* A setting's value as parsed once, when it was set (struct setting's number): counts
 * and ports, memory sizes in MiB (resources.driver_memory "2g": 2048); 0 when unset. */
long plan_number(const struct plan *plan, enum setting_id id);
/* A boolean setting (spark_connect.enabled, progress.enabled, s3.path_style_access):
 * 1 or 0; 0 when unset. */
int plan_flag(const struct plan *plan, enum setting_id id);
/* 1 for a gpu variant whose rapids.mode is explainOnly (no GPU is used). */
int plan_rapids_explain_only(const struct plan *plan);

/* The image matrix the plan was made from, loaded once by plan_load / plan_from_json
 * and owned by the plan (or borrowed, plan_from_json_in): what the layers below read
 * (images, layout, jars), never loading it again. */
const struct matrix *plan_matrix(const struct plan *plan);
/* The plan's Spark line in that matrix; NULL for a plan without spark_version. */
const struct matrix_spark *plan_matrix_line(const struct plan *plan);

/* The runtime command as a NULL-terminated argv; "{connection_file}" in an
 * element stands for the runtime's private connection file and "{resource_dir}"
 * for the kernelspec folder (the launcher substitutes both). */
char *const *plan_runtime_argv(const struct plan *plan);

/* Where every pod mounts the claim of Spark's warehouse (spark_warehouse.claim): the
 * path of spark_warehouse.dir, without "file:"; NULL without a claim. */
const char *plan_warehouse_mount_path(const struct plan *plan);

/* 1 if LOCATION is on storage every pod reaches (s3a://, s3://, gs://, abfs://, hdfs://
 * ...), 0 for a local path. */
int plan_shared_storage(const char *location);

#endif
