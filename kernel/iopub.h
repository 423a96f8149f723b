/* iopub.h — the clients' side of iopub: subscriptions, welcomes, and a fan-out
 * where a subscriber that stops reading affects only itself.
 *
 * The front iopub is an XPUB that refuses a message some subscriber has no room
 * for (ZMQ_XPUB_NODROP). The relay then holds that message and stops reading the
 * runtime's iopub until there is room: a reader that is slow for a moment, even
 * one the machine does not schedule for most of a second, loses nothing. But
 * when no message has reached every subscriber for IOPUB_STALL_MS, a subscriber
 * has stopped reading: from then on each message that some subscriber has no
 * room for is sent anyway, dropped for the subscribers that are full and only
 * for them (as ipykernel's own PUB socket drops at its high-water mark), until
 * one reaches everyone again. The runtime and the other clients wait at most
 * IOPUB_STALL_MS, once, for a subscriber that reads nothing.
 *
 * Subscriptions are capped in size by libzmq on receipt (ZMQ_MAXMSGSIZE on the
 * socket, set by the caller); each gets an iopub_welcome of its own (JEP 65).
 * Messages the launcher writes itself never wait: they go out at once, dropped
 * only for a subscriber that is full. */
#ifndef SPARK_K8S_IOPUB_H
#define SPARK_K8S_IOPUB_H

#include "kernel/loop.h"
#include "kernel/ratelog.h"
#include "kernel/session.h"
#include "kernel/wire.h"

#define IOPUB_HWM 1000          /* messages queued per subscriber, as ipykernel's PUB */
#define IOPUB_MAX_TOPIC 1023    /* bytes of a subscription's topic (ZMQ_MAXMSGSIZE - 1) */
#define IOPUB_STALL_MS 1000     /* nothing reached everyone for this long: someone stopped reading */

struct iopub {
    void *socket;             /* the front XPUB, borrowed */
    struct loop *loop;        /* borrowed */
    struct session *session;  /* borrowed: signs welcomes */
    struct ratelog *log;      /* borrowed */
    long long last_room;      /* when a message last reached every subscriber */
    int dropping;             /* messages are being dropped for a full subscriber */
    long long blocked_since;  /* when `held` was refused; 0: nothing held */
    struct zmessage held;     /* refused by a full subscriber: sent first */
    int retry_timer;
    unsigned long long stalls;/* times messages began to be dropped for a full subscriber */
    void (*resumed)(void *ctx); /* the held message went out: read the runtime again */
    void *ctx;
};

/* Put SOCKET (bound, ZMQ_XPUB_VERBOSE set) in the normal mode. */
int iopub_init(struct iopub *io, void *socket, struct loop *l, struct session *session,
               struct ratelog *log, void (*resumed)(void *ctx), void *ctx);
/* Cancel the retry timer and close what is held. */
void iopub_clear(struct iopub *io);

/* 1 while a message is held: the caller does not offer another. */
int iopub_blocked(const struct iopub *io);

/* Send M (from the runtime) to the subscribers. 0: sent (M is empty); 1: held
 * (M is empty, `resumed` is called when it has gone); -1: failed (logged). */
int iopub_offer(struct iopub *io, struct zmessage *m);

/* Send a message the launcher built (topic frames TOPIC, then the message). */
int iopub_send_own(struct iopub *io, const struct frame *topic, size_t n_topic,
                   const struct outgoing *o);

/* The socket is readable: take subscriptions and answer each with a welcome. */
void iopub_on_readable(struct iopub *io, struct zmessage *scratch);

#endif
