/* gpus_report.h — what `spark-k8s gpus` prints of the GPUs gpus_probe finds: a table,
 * a JSON document, or Spark's resource discovery JSON (the discovery-script mode, in
 * which a machine without a usable GPU lists none rather than fails: Spark then says
 * itself that an executor got fewer GPUs than it asked for). */
#ifndef SPARK_K8S_GPUS_REPORT_H
#define SPARK_K8S_GPUS_REPORT_H

#include <stdio.h>

#include "launcher/sys/errmsg.h"

enum gpus_format {
    GPUS_FORMAT_TABLE,          /* index, name, memory, compute capability, PCI bus id */
    GPUS_FORMAT_JSON,           /* library, versions, devices */
    GPUS_FORMAT_SPARK_RESOURCE, /* {"name":"gpu","addresses":["0",...]} */
};

/* Probe (CUDART: the library to load, or NULL: gpus_probe's search) and print onto OUT
 * in FORMAT. Returns the probe's enum gpus_status, with ERR saying why when it is not
 * GPUS_OK; in GPUS_FORMAT_SPARK_RESOURCE a missing library, driver or device prints
 * no addresses and returns GPUS_OK with ERR still saying why (for the log). A JSON
 * document that cannot be made is GPUS_ERROR with ERR_NOMEM. */
int gpus_report(const char *cudart, enum gpus_format format, FILE *out, struct error *err);

#endif
