/* buffer.c — a growing byte buffer with a size limit (see buffer.h). */
#include "launcher/sys/buffer.h"

#include <stdlib.h>
#include <string.h>

void buffer_free(struct buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int buffer_append(struct buffer *b, const char *p, size_t n)
{
    if (b->limit && (n > b->limit || b->len > b->limit - n)) {
        b->overflow = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *data = realloc(b->data, cap);
        if (!data)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

size_t buffer_curl_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;
    return buffer_append(userdata, ptr, n) < 0 ? 0 : n;
}
