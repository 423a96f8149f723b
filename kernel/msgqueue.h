/* msgqueue.h — client requests waiting for the runtime, bounded in count and bytes.
 *
 * Requests wait here while the runtime starts, and afterwards whenever the
 * runtime's queue is full. The relay reads a client channel only while its
 * queue has room, so beyond the bound the clients' own queues fill, as they
 * would against a busy kernel, and nothing is dropped. Messages are moved in
 * whole (zero-copy frames) and leave in order. */
#ifndef SPARK_K8S_MSGQUEUE_H
#define SPARK_K8S_MSGQUEUE_H

#include <stddef.h>

#include "kernel/wire.h"

struct msgqueue {
    struct msgqueue_entry *items; /* a ring */
    size_t head, n, cap;
    size_t bytes;                 /* payload bytes of the messages queued */
    size_t max_count, max_bytes;
};

void msgqueue_init(struct msgqueue *q, size_t max_count, size_t max_bytes);
void msgqueue_free(struct msgqueue *q);

/* 1 while one more message may be taken: fewer than max_count and under
 * max_bytes (so the bytes queued stay below max_bytes + one message). */
int msgqueue_has_room(const struct msgqueue *q);

/* Move M to the back (M is left empty). 0, or -1 (ENOMEM) with M untouched. */
int msgqueue_push(struct msgqueue *q, struct zmessage *m);

/* The I-th message from the front (0: the next to leave), or NULL. */
struct zmessage *msgqueue_at(struct msgqueue *q, size_t i);
/* Remove the front message, closing what is left of its frames. */
void msgqueue_pop(struct msgqueue *q);

#endif
