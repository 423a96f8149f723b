/* iopub.c — subscriptions, welcomes and a fan-out that waits for slow readers
 * but not for stopped ones (see iopub.h). */
#include "kernel/iopub.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <zmq.h>

#define SUBSCRIPTIONS_PER_PASS 64

static int set_nodrop(struct iopub *io, int nodrop)
{
    return zmq_setsockopt(io->socket, ZMQ_XPUB_NODROP, &nodrop, sizeof nodrop);
}

int iopub_init(struct iopub *io, void *socket, struct loop *l, struct session *session,
               struct ratelog *log, void (*resumed)(void *ctx), void *ctx)
{
    memset(io, 0, sizeof *io);
    io->socket = socket;
    io->loop = l;
    io->session = session;
    io->log = log;
    io->resumed = resumed;
    io->ctx = ctx;
    io->last_room = monotonic_ms();
    msgqueue_init(&io->waiting, IOPUB_WAIT_COUNT, IOPUB_WAIT_BYTES);
    int hwm = IOPUB_HWM;
    return set_nodrop(io, 1) || zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm) ? -1 : 0;
}

void iopub_clear(struct iopub *io)
{
    if (io->retry_timer)
        loop_timer_cancel(io->loop, io->retry_timer);
    io->retry_timer = 0;
    msgqueue_free(&io->waiting);
}

int iopub_has_room(const struct iopub *io)
{
    return msgqueue_has_room(&io->waiting);
}

/* Send M now: dropped for the subscribers that are full, delivered to the rest.
 * libzmq then sets each full subscriber aside (no longer matched, and so no longer
 * able to refuse a message) until it reads again; the others are waited for as
 * before, with a fresh IOPUB_STALL_MS. */
static void send_dropping(struct iopub *io, struct zmessage *m)
{
    io->stalls++;
    ratelog_drop(io->log,
                 "dropped iopub messages for a subscriber that has read nothing for %d ms; "
                 "the others get everything",
                 IOPUB_STALL_MS);
    set_nodrop(io, 0);
    int rc = zmessage_send(m, io->socket, 0);
    int e = errno;
    set_nodrop(io, 1);
    io->last_room = monotonic_ms();
    if (rc)
        ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(e));
}

static void retry(void *ctx);

/* Send what waits, oldest first, while there is room (or the stall is over). */
static void flush(struct iopub *io)
{
    int had_room = msgqueue_has_room(&io->waiting);
    struct zmessage *m;
    loop_socket_touched(io->loop, io->socket);
    while ((m = msgqueue_at(&io->waiting, 0)) != NULL) {
        int rc = zmessage_offer(m, io->socket);
        if (rc == 1) {
            if (monotonic_ms() - io->last_room < IOPUB_STALL_MS)
                break;
            send_dropping(io, m);
        } else if (rc == 0) {
            io->last_room = monotonic_ms();
        } else {
            ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        }
        msgqueue_pop(&io->waiting);
    }
    if (io->waiting.n && !io->retry_timer) {
        /* Offered again on the next pass: a reader that makes room is served at
         * once, as by a socket that waits for it. */
        int id = loop_timer(io->loop, 0, retry, io);
        if (id > 0)
            io->retry_timer = id;
        else
            while ((m = msgqueue_at(&io->waiting, 0)) != NULL) { /* cannot wait: drop */
                send_dropping(io, m);
                msgqueue_pop(&io->waiting);
            }
    }
    if (!had_room && msgqueue_has_room(&io->waiting) && io->resumed)
        io->resumed(io->ctx);
}

static void retry(void *ctx)
{
    struct iopub *io = ctx;
    io->retry_timer = 0;
    flush(io);
}

int iopub_offer(struct iopub *io, struct zmessage *m)
{
    if (io->waiting.n == 0) {
        loop_socket_touched(io->loop, io->socket);
        int rc = zmessage_offer(m, io->socket);
        if (rc == 0) {
            io->last_room = monotonic_ms();
            return 0;
        }
        if (rc < 0) {
            ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
            return -1;
        }
    }
    if (msgqueue_push(&io->waiting, m)) {
        ratelog_drop(io->log, "dropped a %zu-byte iopub message: out of memory", m->bytes);
        zmessage_reset(m);
        return -1;
    }
    flush(io);
    return 0;
}

int iopub_send_own(struct iopub *io, const struct frame *topic, size_t n_topic,
                   const struct outgoing *o)
{
    /* Never held: dropped for a full subscriber only. */
    set_nodrop(io, 0);
    int rc = wire_send_outgoing(io->socket, topic, n_topic, o);
    int e = errno;
    set_nodrop(io, 1);
    loop_socket_touched(io->loop, io->socket);
    errno = e;
    return rc;
}

static void welcome(struct iopub *io, const struct frame *topic)
{
    json_t *c = json_pack("{s:s%}", "subscription", (const char *)topic->data, topic->size);
    struct outgoing o;
    if (!c || session_build(io->session, "iopub_welcome", NULL, c, &o)) {
        /* a topic that is not UTF-8 cannot be said in JSON */
        ratelog_drop(io->log, "dropped a subscription: its %zu-byte topic is not text",
                     topic->size);
        json_decref(c);
        return;
    }
    if (iopub_send_own(io, topic, topic->size ? 1 : 0, &o))
        ratelog_drop(io->log, "dropped an iopub_welcome: %s", zmq_strerror(errno));
    outgoing_free(&o);
    json_decref(c);
}

void iopub_on_readable(struct iopub *io, struct zmessage *m)
{
    for (int i = 0; i < SUBSCRIPTIONS_PER_PASS; i++) {
        if (zmessage_recv(m, io->socket, ZMQ_DONTWAIT))
            return;
        /* [1, topic...] subscribes, [0, topic...] unsubscribes; anything else a
         * subscriber sends upstream means nothing here. */
        if (m->n >= 1 && m->view[0].size >= 1 && ((const unsigned char *)m->view[0].data)[0] == 1) {
            struct frame topic = {(const char *)m->view[0].data + 1, m->view[0].size - 1};
            welcome(io, &topic);
        }
        zmessage_reset(m);
    }
}
