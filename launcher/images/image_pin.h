/* image_pin.h — `spark-k8s images pin`: pins every jar the variants download
 * (the Iceberg runtime and AWS bundle, each RAPIDS classifier; Spark itself comes
 * hash-locked from PyPI with the kernel environments) by the sha256 of its bytes and
 * the sha1 its Maven repository publishes. Each jar is downloaded with libcurl
 * (http/https only, TLS verified, a stall timeout) through the digests only, nothing
 * written to disk; its sha1 must equal the repository's <jar>.sha1 (and its sha256
 * the repository's <jar>.sha256 where one is published), else the run is refused.
 * The values go into the matrix file in place (every other byte kept) through a
 * temp file and a rename. Any HTTP error, malformed checksum file or mismatch
 * refuses the whole run and changes nothing. */
#ifndef SPARK_K8S_IMAGE_PIN_H
#define SPARK_K8S_IMAGE_PIN_H

#include "launcher/sys/errmsg.h"

enum image_pin_mode {
    IMAGE_PIN_VERIFY,     /* fetch every jar; a pinned value must match (nothing else set) */
    IMAGE_PIN_IF_MISSING, /* fetch only the jars a checksum is missing for */
    IMAGE_PIN_FORCE,      /* fetch every jar and replace what differs */
};

struct image_pin_options {
    const char *matrix;   /* the matrix file to pin */
    enum image_pin_mode mode;
    long timeout_s;       /* a download's stall timeout */
};

/* Pin O->matrix: what each jar gave goes to stdout, what was decided to stderr. 0, or
 * -1 with ERR (the matrix left unchanged): ERR_INPUT for a matrix that cannot be read,
 * ERR_RUNTIME for a download, checksum file or write that was refused. */
int image_pin_run(const struct image_pin_options *o, struct error *err);

#endif
