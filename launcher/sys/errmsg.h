/* errmsg.h — writing an error message into a caller's (err, errlen) buffer. */
#ifndef SPARK_K8S_ERRMSG_H
#define SPARK_K8S_ERRMSG_H

#include <stddef.h>

/* Format into ERR (when not NULL) and return -1, so `return errorf(...)` reports. */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
