/* notices.h — what a kernel's notebook is told with its first cell about this machine,
 * before Spark would fail or quietly leave a feature out: a GPU kernel where no GPU is
 * visible, RAPIDS in explain-only mode, a RAPIDS or Iceberg jar missing from the kernel's
 * environment (with the command that fetches it). The local runtime only: in a pod the
 * image holds the jars and Kubernetes places the GPUs. */
#ifndef SPARK_K8S_NOTICES_H
#define SPARK_K8S_NOTICES_H

#include <stddef.h>

#include "launcher/plan/plan.h"

/* The notice for PLAN into NOTE (LEN bytes), one line per fact; "" when there is none. */
void kernel_notices(const struct plan *plan, char *note, size_t len);

#endif
