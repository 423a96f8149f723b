/* errmsg.h — the launcher's one error convention.
 *
 * A function that can fail takes (char *err, size_t errlen) and returns -1 (or
 * its own non-zero status) with one line a person can act on in ERR, written
 * with errorf (never an open-coded snprintf into err). Where the error reaches
 * a command, the command decides its kind, what the person must change:
 *
 *   ERR_USAGE    the command line: an unknown option, a missing argument
 *   ERR_INPUT    a file, field or value given by the user or the admin: a
 *                connection file, a kernelspec, the matrix, a setting
 *   ERR_RUNTIME  the work itself failed: the kernel died, a request was refused,
 *                a download or a build failed
 *   ERR_SYSTEM   the machine: out of memory, a socket, a signal, a directory
 *
 * and exits with err_exit_status(kind): 2 for USAGE and INPUT, 1 for RUNTIME and
 * SYSTEM (0 is success, never an error). Every command's exit path goes through
 * it, so the exit statuses of docs and tests stay one table.
 *
 * kernel/ (the Jupyter protocol layer) may not include this file: it keeps the
 * same shape, (err, errlen) filled with snprintf and -1, as its own convention;
 * the commands give its errors their kind (connection_read: ERR_INPUT; the relay's
 * set-up: ERR_SYSTEM). */
#ifndef SPARK_K8S_ERRMSG_H
#define SPARK_K8S_ERRMSG_H

#include <stddef.h>

enum err_kind {
    ERR_USAGE = 1,
    ERR_INPUT,
    ERR_RUNTIME,
    ERR_SYSTEM,
};

/* Format into ERR (when not NULL) and return -1, so `return errorf(...)` reports. */
int errorf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The exit status of a command that ends with an error of KIND: 2 for ERR_USAGE and
 * ERR_INPUT, 1 for ERR_RUNTIME and ERR_SYSTEM (and anything else). */
int err_exit_status(enum err_kind kind);

#endif
