/* iopub.h — the clients' side of iopub: subscriptions, welcomes, and a fan-out
 * where a subscriber that stops reading affects only itself.
 *
 * The front iopub is an XPUB that refuses a message some subscriber has no room
 * for (ZMQ_XPUB_NODROP). Such a message, and every one after it, waits here in
 * order (at most IOPUB_WAIT_COUNT messages and IOPUB_WAIT_BYTES; beyond, the
 * relay stops reading the runtime's iopub) and goes out as soon as there is room:
 * a reader that is slow for a while, even one the machine does not schedule for
 * most of a second, loses nothing, and the runtime goes on writing meanwhile.
 * But when nothing has got through for IOPUB_STALL_MS, a subscriber has stopped
 * reading: the oldest waiting message is sent anyway, dropped for the subscribers
 * that are full and only for them (as ipykernel's own PUB socket drops at its
 * high-water mark), and libzmq sets those aside until they read again, so they
 * hold up nobody after that. The runtime and the other clients wait at most
 * IOPUB_STALL_MS, once, for a subscriber that reads nothing.
 *
 * Subscriptions are capped in size by libzmq on receipt (ZMQ_MAXMSGSIZE on the
 * socket, set by the caller); each gets an iopub_welcome of its own (JEP 65).
 * Messages the launcher writes itself never wait: they go out at once, dropped
 * only for a subscriber that is full. */
#ifndef SPARK_K8S_IOPUB_H
#define SPARK_K8S_IOPUB_H

#include "kernel/loop.h"
#include "kernel/msgqueue.h"
#include "kernel/ratelog.h"
#include "kernel/session.h"
#include "kernel/wire.h"

#define IOPUB_HWM 1000          /* messages queued per subscriber, as ipykernel's PUB */
#define IOPUB_MAX_TOPIC 1023    /* bytes of a subscription's topic (ZMQ_MAXMSGSIZE - 1) */
#define IOPUB_STALL_MS 1000     /* nothing got through for this long: someone stopped reading */
#define IOPUB_WAIT_COUNT 10000  /* messages waiting for room ... */
#define IOPUB_WAIT_BYTES (64u << 20) /* ... and their bytes */

struct iopub {
    void *socket;             /* the front XPUB, borrowed */
    struct loop *loop;        /* borrowed */
    struct session *session;  /* borrowed: signs welcomes */
    struct ratelog *log;      /* borrowed */
    long long last_room;      /* when a message last got through */
    struct msgqueue waiting;  /* refused for lack of room, oldest first */
    int retry_timer;
    unsigned long long stalls;/* messages sent dropping for full subscribers */
    void (*resumed)(void *ctx); /* there is room to wait again: read the runtime */
    void *ctx;
};

/* Put SOCKET (bound, ZMQ_XPUB_VERBOSE set) in the normal mode. */
int iopub_init(struct iopub *io, void *socket, struct loop *l, struct session *session,
               struct ratelog *log, void (*resumed)(void *ctx), void *ctx);
/* Cancel the retry timer and close what waits. */
void iopub_clear(struct iopub *io);

/* 1 while another message may be offered (the waiting queue has room). */
int iopub_has_room(const struct iopub *io);

/* Send M (from the runtime) to the subscribers, after what waits. 0: sent or
 * waiting (M is empty); -1: failed (logged). */
int iopub_offer(struct iopub *io, struct zmessage *m);

/* Send a message the launcher built (topic frames TOPIC, then the message). */
int iopub_send_own(struct iopub *io, const struct frame *topic, size_t n_topic,
                   const struct outgoing *o);

/* The socket is readable: take subscriptions and answer each with a welcome. */
void iopub_on_readable(struct iopub *io, struct zmessage *scratch);

#endif
