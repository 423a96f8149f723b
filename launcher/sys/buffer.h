/* buffer.h — a growing byte buffer with a size limit, and the libcurl write
 * callback that fills one: the one way the launcher collects an HTTP body
 * (the Kubernetes client's responses and watch lines, http_get's small files).
 *
 * The caller owns the struct (zeroed, LIMIT set) and frees its bytes with
 * buffer_free. */
#ifndef SPARK_K8S_BUFFER_H
#define SPARK_K8S_BUFFER_H

#include <stddef.h>

struct buffer {
    char *data;    /* NUL-terminated once anything was appended; malloc'd */
    size_t len, cap;
    size_t limit;  /* the most bytes it may hold; 0: no limit */
    int overflow;  /* set when an append would have passed LIMIT */
};

/* Append N bytes of P. 0, or -1 when it would pass the limit (overflow set) or
 * memory ran out (nothing appended either way). */
int buffer_append(struct buffer *b, const char *p, size_t n);

/* Free the bytes; B can be appended to again. */
void buffer_free(struct buffer *b);

/* CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA a struct buffer: appends, and
 * fails the transfer (returns 0) when the append fails. */
size_t buffer_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata);

#endif
