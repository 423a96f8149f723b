/* log.h — one line to the server's log: "NAME: message" on stderr, written with
 * one write so that lines of concurrent processes do not interleave. The one way
 * the relay, the runtimes and the kernel and shim commands log; NAME says who
 * speaks ("spark-k8s", "spark-k8s shim"). Lines about dropped input go through
 * ratelog.h, which writes with log_to. Lines longer than LOG_LINE are cut. */
#ifndef SPARK_K8S_LOG_H
#define SPARK_K8S_LOG_H

#include <stdarg.h>
#include <stdio.h>

#define LOG_LINE 2048

/* "NAME: message\n" on stderr. */
void log_line(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same on OUT (a test's file), from a va_list. */
void log_vto(FILE *out, const char *name, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void log_to(FILE *out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
