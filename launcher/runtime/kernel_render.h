/* kernel_render.h — what a kernel would run, without starting anything (`spark-k8s
 * render`): its settings and the spark-defaults.conf it would get, each value with
 * where it came from (matrix / built-in default, kernelspec, config file, env), as
 * text or JSON; or the Kubernetes objects it would create. For a kubernetes runtime,
 * facts only the driver pod knows are shown as <...>. */
#ifndef SPARK_K8S_KERNEL_RENDER_H
#define SPARK_K8S_KERNEL_RENDER_H

#include <stdio.h>

#include "launcher/sys/errmsg.h"

enum kernel_render_what {
    KERNEL_RENDER_TEXT,    /* settings and properties, each under a "# from:" comment */
    KERNEL_RENDER_JSON,    /* the same as one JSON object */
    KERNEL_RENDER_OBJECTS, /* the kernel's Pod, Secret (redacted), Service, ConfigMap */
};

/* Render the kernelspec NAME (a name on Jupyter's path, or a path) onto OUT. 0, or -1
 * with ERR: ERR_RUNTIME when it is not found or unreadable, ERR_INPUT for a bad
 * value. */
int kernel_render(const char *name, enum kernel_render_what what, FILE *out, struct error *err);

#endif
