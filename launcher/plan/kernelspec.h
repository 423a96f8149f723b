/* kernelspec.h — spark-k8s kernelspecs on disk: building kernel.json from the image
 * matrix and install options, installing a kernelspec folder atomically (temporary
 * folder beside the target, then rename), removing one, and finding kernelspecs
 * where Jupyter looks for them. The metadata object is documented in
 * kernelspecs/README.md. */
#ifndef SPARK_K8S_KERNELSPEC_H
#define SPARK_K8S_KERNELSPEC_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/plan/config.h"
#include "launcher/sys/errmsg.h"

struct matrix;

/* What `kernelspec install` was asked for, for one kernelspec. NULL = not given. */
struct kernelspec_request {
    const char *spark;         /* "4.1" or "4.1.1": a line of the matrix */
    const char *variant;       /* one of the matrix's variants */
    const char *name;          /* default spark-<line>-<variant> */
    const char *display_name;  /* default "Spark 4.1 · GPU · Iceberg" */
    const char *executable;    /* argv[0] of kernel.json: the spark-k8s binary */
    const char *python;        /* the runtime's Python; default /usr/bin/python3 */
    const char *registry;      /* registry of both images */
    const char *values[SETTING_COUNT]; /* --driver-memory etc. (image_registry unused) */
    const char *const *conf;   /* "KEY=VALUE" extra Spark properties */
    size_t n_conf;
};

#define KERNELSPEC_DEFAULT_PYTHON "/usr/bin/python3"
/* Spark's logging configuration in a kernelspec folder (admins may edit it), and the most
 * of it a kernel reads: it goes into SPARK_CONF_DIR on both runtimes. */
#define KERNELSPEC_LOG4J2 "log4j2.properties"
#define KERNELSPEC_LOG4J2_MAX (256u << 10)

/* The variant feature ("iceberg", "gpu") whose code alone reads setting ID, or NULL:
 * a kernelspec of a variant without it refuses the setting (with --all, it is left
 * to the variants that have the feature). */
const char *kernelspec_setting_feature(enum setting_id id);

/* Build and check kernel.json for REQ: *NAME_OUT (malloc'd, free it) and *JSON_OUT
 * (json_decref it). Refuses bad values with a message naming the option and value. */
int kernelspec_build(const struct matrix *m, const struct kernelspec_request *req,
                     char **name_out, json_t **json_out, struct error *err);

/* Install KERNEL_JSON and the embedded files as KERNELS_DIR/NAME (created if needed):
 * written in a temporary folder beside it and renamed into place, so a reader sees
 * the old spec or the new one, never part of one. An existing NAME is an error
 * unless REPLACE. */
int kernelspec_install(const char *kernels_dir, const char *name, json_t *kernel_json,
                       int replace, struct error *err);

/* Remove KERNELS_DIR/NAME, which must be a spark-k8s kernelspec. 1 if there was
 * none, 0 removed, -1 error. */
int kernelspec_remove(const char *kernels_dir, const char *name, struct error *err);

/* 1 if DIR holds a kernel.json with a metadata.spark_k8s object. */
int kernelspec_is_ours(const char *dir);

/* The kernels folder Jupyter's --user means: $JUPYTER_DATA_DIR/kernels, else
 * $XDG_DATA_HOME/jupyter/kernels, else ~/.local/share/jupyter/kernels. */
int kernelspec_user_dir(char *buf, size_t len);

/* Where Jupyter looks, in its order: each $JUPYTER_PATH entry, the user folder,
 * /usr/local/share/jupyter, /usr/share/jupyter (each + "/kernels"), without
 * duplicates. Returns a NULL-terminated array; strv_free (launcher/sys/strv.h) frees it. */
char **kernelspec_search_path(void);

/* The folder of kernelspec NAME_OR_PATH: a path (containing '/') to a kernelspec
 * folder or its kernel.json, else the first NAME on the search path. Malloc'd. */
int kernelspec_find(const char *name_or_path, char **dir_out, struct error *err);

/* The embedded files of a kernelspec folder: NAME, bytes and size, by index
 * (0..n-1); NULL name past the end. */
const char *kernelspec_file(size_t i, const unsigned char **data, size_t *size);

/* Write every embedded file into the existing folder DIR, making the folders their
 * names hold ("spark_k8s_session/..."); files 0644, folders 0755. */
int kernelspec_write_files(const char *dir, struct error *err);

#endif
