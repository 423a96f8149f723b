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
    zmessage_init(&io->held);
    int hwm = IOPUB_HWM;
    return set_nodrop(io, 1) || zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm) ? -1 : 0;
}

void iopub_clear(struct iopub *io)
{
    if (io->retry_timer)
        loop_timer_cancel(io->loop, io->retry_timer);
    io->retry_timer = 0;
    zmessage_free(&io->held);
    io->blocked_since = 0;
}

int iopub_blocked(const struct iopub *io)
{
    return io->blocked_since != 0;
}

static void go_lossy(struct iopub *io, long long now)
{
    if (!io->lossy && set_nodrop(io, 0) == 0)
        io->lossy = 1;
    io->lossy_until = now + IOPUB_LOSSY_MS;
}

static void resume(struct iopub *io)
{
    io->blocked_since = 0;
    if (io->resumed)
        io->resumed(io->ctx);
}

static void retry(void *ctx)
{
    struct iopub *io = ctx;
    io->retry_timer = 0;
    int rc = zmessage_offer(&io->held, io->socket);
    if (rc == 0) {
        io->suspect = 0;
        resume(io);
        return;
    }
    if (rc < 0) {
        ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        resume(io);
        return;
    }
    long long now = monotonic_ms();
    if (now - io->blocked_since >= IOPUB_STALL_MS) {
        /* Nobody made room for a while: someone stopped reading. From now on
         * messages are dropped for the subscribers that are full, and only them. */
        io->stalls++;
        io->suspect = 1;
        ratelog_drop(io->log,
                     "dropped iopub messages for a subscriber that reads nothing (%d ms without "
                     "room); the others get everything",
                     IOPUB_STALL_MS);
        go_lossy(io, now);
        if (zmessage_send(&io->held, io->socket, 0))
            ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        resume(io);
        return;
    }
    int id = loop_timer(io->loop, IOPUB_RETRY_MS, retry, io);
    if (id < 0) {
        /* Cannot wait: rather drop for the full subscriber than stall everyone. */
        go_lossy(io, now);
        zmessage_send(&io->held, io->socket, 0);
        resume(io);
        return;
    }
    io->retry_timer = id;
}

int iopub_offer(struct iopub *io, struct zmessage *m)
{
    if (io->blocked_since) {
        errno = EBUSY;
        return -1;
    }
    long long now = monotonic_ms();
    if (io->lossy && now >= io->lossy_until && set_nodrop(io, 1) == 0)
        io->lossy = 0;
    if (io->lossy) {
        if (zmessage_send(m, io->socket, 0) == 0)
            return 0;
        ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        return -1;
    }
    int rc = zmessage_offer(m, io->socket);
    if (rc == 0) {
        io->suspect = 0; /* everyone had room */
        return 0;
    }
    if (rc < 0) {
        ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        return -1;
    }
    if (io->suspect) {
        /* Back from dropping and still no room: the reader that stopped is
         * still there; do not make everyone wait for it again. */
        go_lossy(io, now);
        if (zmessage_send(m, io->socket, 0) == 0)
            return 0;
        ratelog_drop(io->log, "dropped an iopub message: %s", zmq_strerror(errno));
        return -1;
    }
    zmessage_move(&io->held, m);
    io->blocked_since = now;
    int id = loop_timer(io->loop, IOPUB_RETRY_MS, retry, io);
    if (id < 0) {
        go_lossy(io, now);
        zmessage_send(&io->held, io->socket, 0);
        io->blocked_since = 0;
        return 0;
    }
    io->retry_timer = id;
    return 1;
}

int iopub_send_own(struct iopub *io, const struct frame *topic, size_t n_topic,
                   const struct outgoing *o)
{
    /* Never held: dropped for a full subscriber only. */
    int was_lossy = io->lossy;
    if (!was_lossy)
        set_nodrop(io, 0);
    int rc = wire_send_outgoing(io->socket, topic, n_topic, o);
    int e = errno;
    if (!was_lossy)
        set_nodrop(io, 1);
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
