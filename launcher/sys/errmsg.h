/* errmsg.h — the launcher's one error type, after hiredis's err/errstr and redis's
 * anetSetError: a kind and one line a person can act on, set where the failure
 * happens, carried up unchanged (a caller may put what it was doing in front of the
 * text, never change the kind), and turned into an exit status in one place.
 *
 *   ERR_USAGE    the command line: an unknown option, a missing argument
 *   ERR_INPUT    a file, field or value given by the user or the admin: a
 *                connection file, a kernelspec, the matrix, a setting
 *   ERR_RUNTIME  the work itself failed: the kernel died, a request was refused,
 *                a download or a build failed
 *   ERR_SYSTEM   the machine: a socket, a signal, a directory, a process
 *   ERR_NOMEM    out of memory: error_nomem is the one place that says so
 *
 * A function that can fail takes `struct error *err` last and returns -1 (or its own
 * non-zero status) with ERR set by error_set / error_nomem (the setters take a NULL
 * ERR: no report wanted, where a function's header allows it). Callers branch on
 * err->kind, never on err->text. Work that goes on past a failure (many jars, many
 * kernelspecs) tells each one to an error_report_fn and returns the first. A command
 * says err->text and exits with error_exit_status(err): 2 for USAGE and INPUT, 1 for
 * the others (0 is success, never an error), so the exit statuses of docs and tests
 * stay one table.
 *
 * kernel/ (the Jupyter protocol layer) may not include this file: it keeps the
 * shape (err, errlen) filled with snprintf and -1 as its own convention; its callers
 * pass err->text and give its errors their kind with error_adopt (connection_read:
 * ERR_INPUT; the relay's set-up: ERR_SYSTEM). */
#ifndef SPARK_K8S_ERRMSG_H
#define SPARK_K8S_ERRMSG_H

#include <stddef.h>

enum err_kind {
    ERR_NONE = 0, /* nothing failed (yet) */
    ERR_USAGE,
    ERR_INPUT,
    ERR_RUNTIME,
    ERR_SYSTEM,
    ERR_NOMEM,
};

/* Long enough for a message that names a path (4096) and a value. */
#define ERROR_TEXT_MAX 4608

struct error {
    enum err_kind kind;
    char text[ERROR_TEXT_MAX]; /* "" while kind is ERR_NONE */
};

/* Set E (when not NULL) to KIND with the formatted text; returns -1, so that
 * `return error_set(err, ERR_INPUT, ...)` reports. */
int error_set(struct error *e, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Out of memory: ERR_NOMEM, "out of memory"; returns -1. */
int error_nomem(struct error *e);

/* Put what the caller was doing in front of E's text ("PREFIX" + text), keeping its
 * kind; returns -1. An E nobody set (a bug below) reads "PREFIX" + "no reason
 * given", ERR_SYSTEM, rather than an empty line. */
int error_prefix(struct error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* E->text was written by a kernel/ function ((err, errlen) of its own convention):
 * give it KIND. Returns -1. */
int error_adopt(struct error *e, enum err_kind kind);

/* Where work goes on past a failure (a jar of many, a kernelspec of many), each
 * failure is told to such a function as it happens, to be said; the work returns the
 * first one. */
typedef void error_report_fn(void *ctx, const struct error *e);

/* Nothing failed: ERR_NONE, "". */
void error_clear(struct error *e);

/* The exit status of a command that ends with an error of KIND: 2 for ERR_USAGE and
 * ERR_INPUT, 1 for the others. */
int err_exit_status(enum err_kind kind);
/* The same for E's kind (1 for an E nobody set: something failed). */
int error_exit_status(const struct error *e);

/* "usage", "input", "runtime", "system", "out of memory", "none": for logs and tests. */
const char *err_kind_name(enum err_kind kind);

#endif
