/* cmd_common.c — a command's error line and its exit status (see cmd_common.h). */
#include "launcher/cmd/cmd_common.h"

#include <stdarg.h>
#include <stdio.h>

__attribute__((format(printf, 2, 0))) static void say(const char *cmd, const char *fmt,
                                                      va_list ap)
{
    fprintf(stderr, "spark-k8s %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cmd_error(const char *cmd, enum err_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, fmt, ap);
    va_end(ap);
    return err_exit_status(kind);
}

int cmd_fail(const char *cmd, const struct error *e)
{
    return cmd_error(cmd, e->kind, "%s", e->text);
}

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Run 'spark-k8s %s --help' for the options.\n", cmd);
    return err_exit_status(ERR_USAGE);
}
