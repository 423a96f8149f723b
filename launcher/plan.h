/* plan.h — the launch plan: everything a kernel needs to start its runtime,
 * derived from the kernelspec's metadata (kernel.json "metadata"."spark_k8s"),
 * the admin config file and SPARK_K8S_* environment variables.
 *
 * The kernel command reads a plan; `render` prints one; the runtimes act on one.
 * A plan owns all its strings; plan_free releases it. */
#ifndef SPARK_K8S_PLAN_H
#define SPARK_K8S_PLAN_H

#include <stddef.h>

struct plan;

/* Load the plan for the kernelspec in DIR (the folder holding kernel.json).
 * DIR may be NULL: then a default plan (local runtime, python3 -m ipykernel_launcher).
 * On error returns -1 and writes a message naming the file, the field and the value. */
int plan_load(const char *kernelspec_dir, struct plan **out, char *err, size_t errlen);
void plan_free(struct plan *plan);

const char *plan_kernel_name(const struct plan *plan);   /* "spark-4.1-baseline" or "" */
const char *plan_display_name(const struct plan *plan);
const char *plan_spark_version(const struct plan *plan); /* "4.1.1" */
const char *plan_variant(const struct plan *plan);       /* "baseline", "gpu", ... */
const char *plan_runtime(const struct plan *plan);       /* "local" or "kubernetes" */

/* The runtime command as a NULL-terminated argv; "{connection_file}" in an
 * element stands for the runtime's private connection file. */
char *const *plan_runtime_argv(const struct plan *plan);

/* Write DIR/spark-defaults.conf for this plan (mode 0600). */
int plan_write_spark_conf(const struct plan *plan, const char *dir, char *err, size_t errlen);

#endif
