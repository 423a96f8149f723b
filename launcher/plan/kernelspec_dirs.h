/* kernelspec_dirs.h — spark-k8s kernelspecs in Jupyter's folders, several at a time
 * (`spark-k8s kernelspec install|list|remove`): install one, or every Spark line and
 * variant of the matrix, each checked before any is written and each with the Python
 * environment it runs (the one installed beside the binary, or a given interpreter,
 * probed); list them; remove them. One kernelspec's folder is kernelspec.h's. */
#ifndef SPARK_K8S_KERNELSPEC_DIRS_H
#define SPARK_K8S_KERNELSPEC_DIRS_H

#include <stddef.h>

#include "launcher/plan/kernelspec.h"
#include "launcher/sys/errmsg.h"

#define KERNELSPEC_DEFAULT_DIR "/usr/local/share/jupyter/kernels"

struct kernelspec_install_options {
    const char *location;          /* the kernels folder; NULL: KERNELSPEC_DEFAULT_DIR */
    int all;                       /* every line and variant (narrowed by req.spark, variant) */
    int replace;                   /* an existing kernelspec of the name is replaced */
    struct kernelspec_request req; /* the options of each kernelspec */
};

/* Build and check every kernelspec O asks for, then install them ("installed NAME in
 * DIR" on stdout each). 0, or -1 with ERR: ERR_INPUT for a value, the matrix or a
 * Python environment (nothing installed), ERR_RUNTIME when one is there already
 * (without replace) or the file system refused, ERR_NOMEM. */
int kernelspecs_install(const struct kernelspec_install_options *o, struct error *err);

/* The spark-k8s kernelspecs in LOCATION (NULL: Jupyter's path, the first of a name
 * winning) on stdout: a table, or JSON {"kernelspecs": {NAME: {...}}}. 0, or -1 with
 * ERR. */
int kernelspecs_list(const char *location, int json, struct error *err);

/* Remove the kernelspecs NAMES (N of them; or with ALL every spark-k8s kernelspec) from
 * LOCATION (NULL: Jupyter's path), saying "removed DIR/NAME" on stdout each; a
 * kernelspec that is not ours, a name found nowhere or a folder the file system keeps
 * goes through REPORT and the others are still removed. 0, or -1 with ERR the first
 * failure (ERR_RUNTIME). */
int kernelspecs_remove(const char *location, int all, const char *const *names, size_t n,
                       error_report_fn *report, void *ctx, struct error *err);

#endif
