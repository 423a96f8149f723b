/* zap.c — one allowed CURVE client key, answered on the loop (see zap.h). */
#include "kernel/zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_PER_PASS 16

struct zap {
    void *socket;
    struct loop *loop;
    struct ratelog *log;
    char allowed[41];
    struct zmessage in;
};

/* [version, request id, domain, address, identity, mechanism, credentials...] */
static void answer(struct zap *z, const struct zmessage *m)
{
    int ok = 0;
    if (m->n >= 7 && m->view[5].size == 5 && memcmp(m->view[5].data, "CURVE", 5) == 0 &&
        m->view[6].size == 32) {
        char z85[41];
        if (zmq_z85_encode(z85, (const uint8_t *)m->view[6].data, 32) &&
            strcmp(z85, z->allowed) == 0)
            ok = 1;
    }
    if (!ok)
        ratelog_drop(z->log, "refused a connection: unknown CURVE client key");
    zmq_send(z->socket, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(z->socket, m->view[1].data, m->view[1].size, ZMQ_SNDMORE);
    zmq_send(z->socket, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(z->socket, ok ? "OK" : "unknown key", ok ? 2 : 11, ZMQ_SNDMORE);
    zmq_send(z->socket, ok ? "launcher" : "", ok ? 8 : 0, ZMQ_SNDMORE);
    zmq_send(z->socket, "", 0, 0);
}

static void on_request(void *ctx, void *socket, int events)
{
    struct zap *z = ctx;
    (void)socket;
    (void)events;
    for (int i = 0; i < ZAP_PER_PASS; i++) {
        if (zmessage_recv(&z->in, z->socket, ZMQ_DONTWAIT))
            return;
        if (z->in.n >= 2) /* a REP socket must answer before it reads again */
            answer(z, &z->in);
        zmessage_reset(&z->in);
    }
}

int zap_new(void *zmq_ctx, struct loop *l, const char *allowed_key, struct ratelog *log,
            struct zap **out, char *err, size_t errlen)
{
    struct zap *z = calloc(1, sizeof *z);
    if (!z) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    z->loop = l;
    z->log = log;
    zmessage_init(&z->in);
    snprintf(z->allowed, sizeof z->allowed, "%s", allowed_key);
    int zero = 0;
    z->socket = zmq_socket(zmq_ctx, ZMQ_REP);
    if (!z->socket || zmq_setsockopt(z->socket, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(z->socket, ZAP_ENDPOINT)) {
        snprintf(err, errlen, "cannot start the CURVE authenticator: %s", zmq_strerror(errno));
        zap_free(z);
        return -1;
    }
    if (loop_watch_socket(l, z->socket, LOOP_READABLE, on_request, z)) {
        snprintf(err, errlen, "cannot watch the CURVE authenticator: %s", strerror(errno));
        zap_free(z);
        return -1;
    }
    *out = z;
    return 0;
}

void zap_free(struct zap *z)
{
    if (!z)
        return;
    if (z->socket) {
        loop_unwatch_socket(z->loop, z->socket);
        zmq_close(z->socket);
    }
    zmessage_free(&z->in);
    free(z);
}
