/* notices.c — a kernel's first notices: GPUs, RAPIDS' mode, missing jars (see notices.h). */
#include "launcher/runtime/notices.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/sys/gpus.h"

/* A GPU kernel on a machine where no GPU is visible says so (into NOTE), before
 * Spark fails at the RAPIDS plugin. */
static void check_gpus(const struct plan *plan, char *note, size_t len)
{
    struct gpu_list gl;
    struct error err = {0};
    if (gpus_probe(NULL, &gl, &err) != GPUS_OK)
        snprintf(note + strlen(note), len - strlen(note),
                 "%sspark-k8s: %s is a GPU kernel, but no GPU is visible here: %s. Spark's RAPIDS "
                 "plugin needs an NVIDIA GPU; choose a kernel without GPU to run on CPUs, or run "
                 "RAPIDS in explain-only mode (rapids.mode explainOnly, SPARK_K8S_RAPIDS_MODE) to see "
                 "what it would run on a GPU.",
                 *note ? "\n" : "", plan_display_name(plan), err.text);
    gpu_list_free(&gl);
}

/* A kernel whose RAPIDS or Iceberg jar is not in its environment says which jar,
 * and how to fetch it (into NOTE); the runtime leaves that feature out of Spark's
 * properties, so Spark still starts (see render_spark_conf). */
static void check_jars(const struct plan *plan, char *note, size_t len)
{
    const char *python = plan_runtime_argv(plan)[0];
    char dir[4200];
    const struct matrix *m = plan_matrix(plan);
    const struct matrix_spark *line = plan_matrix_line(plan);
    struct kernel_jar jars[KERNEL_JARS_MAX];
    int have_dir = kernel_env_jars_dir(python, dir, sizeof dir) == 0;
    /* RAPIDS: whichever build (classifier) the environment holds */
    size_t n = line ? kernel_env_jars_in(m, line, plan_variant(plan), NULL,
                                         have_dir ? dir : NULL, jars)
                    : 0;
    for (size_t i = 0; i < n; i++) {
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", have_dir ? dir : "", jars[i].file);
        if (!jars[i].required || (have_dir && access(path, R_OK) == 0))
            continue;
        size_t used = strlen(note);
        if (have_dir)
            snprintf(note + used, len - used,
                     "%sspark-k8s: %s needs %s (%s), which is not in %s; %s is off in this "
                     "kernel. Fetch it with: spark-k8s jars fetch --python %s",
                     used ? "\n" : "", plan_display_name(plan), jars[i].file,
                     jars[i].feature, dir, jars[i].feature, python);
        else
            snprintf(note + used, len - used,
                     "%sspark-k8s: %s needs %s (%s), but its Python (%s) is not in a kernel "
                     "environment that can hold jars; %s is off in this kernel. Install the "
                     "kernelspecs with `make install`, or give --python ENV/bin/python",
                     used ? "\n" : "", plan_display_name(plan), jars[i].file,
                     jars[i].feature, python, jars[i].feature);
    }
}

void kernel_notices(const struct plan *plan, char *note, size_t len)
{
    note[0] = '\0';
    if (strcmp(plan_runtime(plan), "local") != 0)
        return;
    const struct setting *mode = plan_setting(plan, SETTING_RAPIDS_MODE);
    if (plan_rapids_explain_only(plan))
        snprintf(note, len,
                 "spark-k8s: %s runs RAPIDS in explain-only mode (rapids.mode, %s): queries run "
                 "on the CPU, and spark_k8s.gpu_plan(df) shows which of their operators would "
                 "run on a GPU.", plan_display_name(plan), mode->source);
    else if (matrix_variant_has(plan_variant(plan), "gpu"))
        check_gpus(plan, note, len);
    check_jars(plan, note, len);
}

