/* wire.h — multipart ZMQ messages received and sent without copying.
 *
 * A zmessage owns the zmq_msg_t frames of one multipart message. Sending moves
 * the frames to the socket (ZMQ takes the buffers, nothing is copied); the
 * zmessage is then empty and can receive again. */
#ifndef SPARK_K8S_WIRE_H
#define SPARK_K8S_WIRE_H

#include <stddef.h>
#include <zmq.h>

#include "kernel/message.h"
#include "kernel/session.h"

struct zmessage {
    zmq_msg_t *frames;
    struct frame *view; /* frames[i] as pointer + size, kept in step with frames */
    size_t n, cap;
    size_t bytes;       /* total payload of all frames */
    int oversized;      /* zmessage_recv_bounded: over a limit, frames past it closed */
};

void zmessage_init(struct zmessage *m);
/* Close every frame; keep the arrays for the next receive. */
void zmessage_reset(struct zmessage *m);
void zmessage_free(struct zmessage *m);
/* Move M's frames into DST (which must be empty), leaving M empty. */
void zmessage_move(struct zmessage *dst, struct zmessage *m);

/* Receive every part of one message (FLAGS: 0 or ZMQ_DONTWAIT). Returns 0, or
 * -1 with errno (EAGAIN when nothing is waiting). */
int zmessage_recv(struct zmessage *m, void *sock, int flags);

/* zmessage_recv for untrusted peers: once the message passes MAX_BYTES of
 * payload or MAX_FRAMES frames, the rest of its frames are received and closed
 * at once (never kept), `oversized` is set and `bytes` still counts them all. */
int zmessage_recv_bounded(struct zmessage *m, void *sock, int flags, size_t max_bytes,
                          size_t max_frames);

/* Send frames [FROM, n) as one message and reset M. The first frame never
 * waits: a peer at its high-water mark gets -1 with EAGAIN. Returns 0 or -1
 * with errno (the unsent frames are closed either way). */
int zmessage_send(struct zmessage *m, void *sock, size_t from);

/* Like zmessage_send from frame 0, but when the socket cannot take the message
 * now (EAGAIN) M is left whole and 1 is returned, to be offered again later. */
int zmessage_offer(struct zmessage *m, void *sock);

/* Send an outgoing message built by session_build, after the identity frames IDS.
 * Never waits: a peer at its high-water mark gets -1 with EAGAIN. */
int wire_send_outgoing(void *sock, const struct frame *ids, size_t n_ids, const struct outgoing *o);

#endif
