/* msgqueue.c — a ring of whole messages with a count and a byte total (see msgqueue.h). */
#include "kernel/msgqueue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct msgqueue_entry {
    struct zmessage msg;
    size_t bytes; /* as pushed: sending empties msg before it is popped */
};

void msgqueue_init(struct msgqueue *q, size_t max_count, size_t max_bytes)
{
    memset(q, 0, sizeof *q);
    q->max_count = max_count;
    q->max_bytes = max_bytes;
}

void msgqueue_free(struct msgqueue *q)
{
    while (q->n)
        msgqueue_pop(q);
    free(q->items);
    msgqueue_init(q, q->max_count, q->max_bytes);
}

int msgqueue_has_room(const struct msgqueue *q)
{
    return q->n < q->max_count && q->bytes < q->max_bytes;
}

static int grow(struct msgqueue *q)
{
    size_t cap = q->cap ? q->cap * 2 : 8;
    struct msgqueue_entry *items = malloc(cap * sizeof *items);
    if (!items) {
        errno = ENOMEM;
        return -1;
    }
    /* Unroll the ring; zmessages hold no pointers into themselves, so a copy moves them. */
    for (size_t i = 0; i < q->n; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->head = 0;
    q->cap = cap;
    return 0;
}

int msgqueue_push(struct msgqueue *q, struct zmessage *m)
{
    if (q->n == q->cap && grow(q))
        return -1;
    struct msgqueue_entry *e = &q->items[(q->head + q->n) % q->cap];
    zmessage_init(&e->msg);
    e->bytes = m->bytes;
    zmessage_move(&e->msg, m);
    q->n++;
    q->bytes += e->bytes;
    return 0;
}

struct zmessage *msgqueue_at(struct msgqueue *q, size_t i)
{
    return i < q->n ? &q->items[(q->head + i) % q->cap].msg : NULL;
}

void msgqueue_pop(struct msgqueue *q)
{
    if (!q->n)
        return;
    struct msgqueue_entry *e = &q->items[q->head];
    zmessage_free(&e->msg);
    q->bytes -= e->bytes;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    if (!q->n)
        q->head = 0;
}
