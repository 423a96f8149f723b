/* wire.c — zero-copy multipart receive and send over ZMQ sockets (see wire.h). */
#include "kernel/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void zmessage_init(struct zmessage *m)
{
    memset(m, 0, sizeof *m);
}

void zmessage_reset(struct zmessage *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->frames[i]);
    m->n = 0;
    m->bytes = 0;
    m->oversized = 0;
}

void zmessage_free(struct zmessage *m)
{
    zmessage_reset(m);
    free(m->frames);
    free(m->view);
    zmessage_init(m);
}

void zmessage_move(struct zmessage *dst, struct zmessage *m)
{
    zmessage_free(dst);
    *dst = *m;
    zmessage_init(m);
}

static int grow(struct zmessage *m)
{
    size_t cap = m->cap ? m->cap * 2 : 8;
    zmq_msg_t *frames = realloc(m->frames, cap * sizeof *frames);
    if (!frames)
        return -1;
    m->frames = frames;
    struct frame *view = realloc(m->view, cap * sizeof *view);
    if (!view)
        return -1;
    m->view = view;
    m->cap = cap;
    /* Small frames keep their bytes inside the zmq_msg_t, which just moved. */
    for (size_t i = 0; i < m->n; i++)
        m->view[i].data = zmq_msg_data(&m->frames[i]);
    return 0;
}

int zmessage_recv_bounded(struct zmessage *m, void *sock, int flags, size_t max_bytes,
                          size_t max_frames)
{
    zmessage_reset(m);
    int more = 1;
    while (more) {
        if (m->oversized) {
            /* Past a limit: take the frame only to let it go. */
            zmq_msg_t skip;
            zmq_msg_init(&skip);
            if (zmq_msg_recv(&skip, sock, 0) < 0) {
                int e = errno;
                zmq_msg_close(&skip);
                zmessage_reset(m);
                errno = e;
                return -1;
            }
            m->bytes += zmq_msg_size(&skip);
            more = zmq_msg_more(&skip);
            zmq_msg_close(&skip);
            continue;
        }
        if (m->n == m->cap && grow(m)) {
            /* Out of memory: drain the rest of the message so the socket stays in step. */
            zmq_msg_t skip;
            zmq_msg_init(&skip);
            while (m->n > 0 && zmq_msg_recv(&skip, sock, 0) >= 0 && zmq_msg_more(&skip))
                ;
            zmq_msg_close(&skip);
            zmessage_reset(m);
            errno = ENOMEM;
            return -1;
        }
        zmq_msg_t *f = &m->frames[m->n];
        zmq_msg_init(f);
        if (zmq_msg_recv(f, sock, m->n == 0 ? flags : 0) < 0) {
            int e = errno;
            zmq_msg_close(f);
            zmessage_reset(m);
            errno = e;
            return -1;
        }
        m->view[m->n].data = zmq_msg_data(f);
        m->view[m->n].size = zmq_msg_size(f);
        m->bytes += zmq_msg_size(f);
        m->n++;
        more = zmq_msg_more(f);
        if (more && (m->bytes > max_bytes || m->n >= max_frames)) {
            /* Refused whole: what was kept goes now, the rest as it passes. */
            size_t seen = m->bytes;
            zmessage_reset(m);
            m->oversized = 1;
            m->bytes = seen;
        }
    }
    if (m->bytes > max_bytes)
        m->oversized = 1;
    return 0;
}

int zmessage_recv(struct zmessage *m, void *sock, int flags)
{
    return zmessage_recv_bounded(m, sock, flags, (size_t)-1, (size_t)-1);
}

/* Send frames [FROM, n); ZMQ takes each frame it accepts. Returns 0, or -1
 * with errno and the frame index where sending stopped in *STOPPED. */
static int send_frames(struct zmessage *m, void *sock, size_t from, size_t *stopped)
{
    for (size_t i = from; i < m->n; i++) {
        int flags = (i + 1 < m->n ? ZMQ_SNDMORE : 0) | (i == from ? ZMQ_DONTWAIT : 0);
        if (zmq_msg_send(&m->frames[i], sock, flags) < 0) {
            *stopped = i;
            return -1;
        }
    }
    return 0;
}

int zmessage_offer(struct zmessage *m, void *sock)
{
    size_t stopped = 0;
    if (send_frames(m, sock, 0, &stopped) == 0) {
        zmessage_reset(m);
        return 0;
    }
    /* Only the first frame can be refused for lack of room; nothing was taken. */
    if (errno == EAGAIN && stopped == 0)
        return 1;
    int e = errno;
    zmessage_reset(m);
    errno = e;
    return -1;
}

int zmessage_send(struct zmessage *m, void *sock, size_t from)
{
    size_t stopped = 0;
    int rc = send_frames(m, sock, from, &stopped);
    int e = errno;
    zmessage_reset(m);
    errno = e;
    return rc;
}

static int send_part(void *sock, const void *data, size_t size, int more)
{
    return zmq_send(sock, data, size, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

int wire_send_outgoing(void *sock, const struct frame *ids, size_t n_ids, const struct outgoing *o)
{
    for (size_t i = 0; i < n_ids; i++)
        if (zmq_send(sock, ids[i].data, ids[i].size, ZMQ_SNDMORE | (i == 0 ? ZMQ_DONTWAIT : 0)) < 0)
            return -1;
    if (n_ids == 0 && zmq_send(sock, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN,
                               ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if ((n_ids > 0 && send_part(sock, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN, 1)) ||
        send_part(sock, o->signature, strlen(o->signature), 1) ||
        send_part(sock, o->header, strlen(o->header), 1) ||
        send_part(sock, o->parent, strlen(o->parent), 1) ||
        send_part(sock, o->metadata, strlen(o->metadata), 1) ||
        send_part(sock, o->content, strlen(o->content), 0))
        return -1;
    return 0;
}
