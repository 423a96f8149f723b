/* cmd_common.h — one job: a command's error, said on stderr as "spark-k8s CMD: ..."
 * and turned into its exit status through error_exit_status / err_exit_status
 * (launcher/sys/errmsg.h), the one table of exit statuses. CMD is the command's name
 * as the person typed it ("jars", "kernelspec install"). */
#ifndef SPARK_K8S_CMD_COMMON_H
#define SPARK_K8S_CMD_COMMON_H

#include "launcher/sys/errmsg.h"

/* The error E a lower layer returned: print "spark-k8s CMD: <E's text>" and return
 * error_exit_status(E). */
int cmd_fail(const char *cmd, const struct error *e);

/* Print "spark-k8s CMD: <message>" and return err_exit_status(KIND). */
int cmd_error(const char *cmd, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A bad command line: the same line, then "Run 'spark-k8s CMD --help' for the
 * options.", and err_exit_status(ERR_USAGE). */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
