/* busy_said.c — the requests the relay has said busy for itself (see busy_said.h). */
#include "kernel/busy_said.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void drop(struct busy_said *b, size_t i)
{
    free(b->ids[i]);
    b->ids[i] = b->ids[--b->n];
}

static long find(const struct busy_said *b, const char *quoted)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ids[i], quoted) == 0)
            return (long)i;
    return -1;
}

static char *quote(const char *msg_id)
{
    size_t len = strlen(msg_id) + 3;
    char *q = malloc(len);
    if (q)
        snprintf(q, len, "\"%s\"", msg_id);
    return q;
}

int busy_said_add(struct busy_said *b, const char *msg_id)
{
    char *q = quote(msg_id);
    if (!q)
        return -1;
    if (find(b, q) >= 0) {
        free(q);
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        if (cap > BUSY_SAID_MAX)
            cap = BUSY_SAID_MAX;
        char **ids = b->n < cap ? realloc(b->ids, cap * sizeof *ids) : NULL;
        if (!ids) {
            free(q);
            return -1;
        }
        b->ids = ids;
        b->cap = cap;
    }
    b->ids[b->n++] = q;
    return 1;
}

int busy_said_remove(struct busy_said *b, const char *msg_id)
{
    char *q = quote(msg_id);
    long i = q ? find(b, q) : -1;
    free(q);
    if (i < 0)
        return 0;
    drop(b, (size_t)i);
    return 1;
}

int busy_said_take(struct busy_said *b, const struct frame *parent)
{
    for (size_t i = 0; i < b->n; i++)
        if (frame_contains(parent, b->ids[i])) {
            drop(b, i);
            return 1;
        }
    return 0;
}

void busy_said_clear(struct busy_said *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->ids[i]);
    free(b->ids);
    *b = (struct busy_said){0};
}
