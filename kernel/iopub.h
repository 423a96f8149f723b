/* iopub.h — the clients' side of iopub: subscriptions, welcomes, and a fan-out
 * where a subscriber that stops reading affects only itself.
 *
 * The front iopub is an XPUB. In its normal mode it refuses a message that a
 * subscriber has no room for (ZMQ_XPUB_NODROP), and the relay holds that
 * message and stops reading the runtime's iopub until there is room: a reader
 * that is slow for a moment loses nothing. If no message can go out for
 * IOPUB_STALL_MS, a subscriber has stopped reading: the fan-out switches to
 * dropping for the subscribers that are full (as ipykernel's own PUB socket
 * does at its high-water mark) for IOPUB_LOSSY_MS, sends what waited, and then
 * tries the normal mode again; while the reader that stopped is still full, its
 * first refusal switches straight back. Those who read keep everything; the
 * runtime and the other clients wait at most IOPUB_STALL_MS, once, for one who
 * does not.
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
#define IOPUB_STALL_MS 200      /* no room for this long: someone stopped reading */
#define IOPUB_LOSSY_MS 2000     /* then drop for full subscribers this long */
#define IOPUB_RETRY_MS 1        /* how often a held message is offered again */

struct iopub {
    void *socket;             /* the front XPUB, borrowed */
    struct loop *loop;        /* borrowed */
    struct session *session;  /* borrowed: signs welcomes */
    struct ratelog *log;      /* borrowed */
    int lossy;                /* NODROP is off until lossy_until */
    long long lossy_until;
    int suspect;              /* a reader stopped, and no message has reached everyone since */
    long long blocked_since;  /* when `held` was refused; 0: nothing held */
    struct zmessage held;     /* refused by a full subscriber: sent first */
    int retry_timer;
    unsigned long long stalls;/* times a subscriber was found not reading */
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
