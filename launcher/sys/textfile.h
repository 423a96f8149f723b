/* textfile.h — a small file read whole, or copied: the one way the launcher reads a
 * configuration-sized file (kubeconfig parts, a kernelspec's log4j2.properties). */
#ifndef SPARK_K8S_TEXTFILE_H
#define SPARK_K8S_TEXTFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "launcher/sys/errmsg.h"

/* PATH's bytes (at most MAX) into *OUT, NUL-terminated (the caller frees it), their count in
 * *LEN (may be NULL). 0, or -1 with ERR naming PATH and errno kept (ENOENT: no such file);
 * a larger file is refused (EFBIG). */
int textfile_read(const char *path, size_t max, char **out, size_t *len, struct error *err);

/* FROM (at most MAX bytes) into a new file TO with MODE (never over an existing one): 0,
 * 1 when FROM does not exist (nothing written), -1 with ERR. */
int textfile_copy(const char *from, const char *to, mode_t mode, size_t max, struct error *err);

#endif
