/* log.c — "NAME: message" lines on stderr, one write each (see log.h). */
#include "kernel/log.h"

#include <string.h>

void log_vto(FILE *out, const char *name, const char *fmt, va_list ap)
{
    char line[LOG_LINE];
    int n = snprintf(line, sizeof line, "%s: ", name ? name : "spark-k8s");
    if (n < 0 || (size_t)n >= sizeof line - 1)
        n = 0;
    int m = vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, out);
    fflush(out);
}

void log_to(FILE *out, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vto(out, name, fmt, ap);
    va_end(ap);
}

void log_line(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vto(stderr, name, fmt, ap);
    va_end(ap);
}
