/* echo_runtime.c — a stand-in kernel for `make bench` that measures the relay, not Python.
 *
 * usage: echo-runtime -f CONNECTION_FILE
 *
 * Binds the five channels of CONNECTION_FILE as a kernel does (ROUTER shell,
 * control and stdin, PUB iopub, ROUTER heartbeat echo), answers
 * kernel_info_request with busy/idle on iopub (parent: the request, as the
 * launcher's readiness probe needs), and on an execute_request whose code is
 *     "bench small N"        publishes N small stream messages,
 *     "bench large N SIZE"   publishes N stream messages of SIZE bytes of text,
 * as fast as libzmq takes them, then replies. The burst is one message signed
 * once and sent N times; frames of 1 KiB or more go out zero-copy
 * (zmq_msg_init_data), the burst freed by whoever drops its last reference.
 * iopub has no high-water mark, so nothing is dropped. shutdown_request ends it.
 * Exit status: 0 after a shutdown, 1 on a runtime error, 2 on bad usage or file. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/connection.h"
#include "kernel/message.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"

#define SMALL_TEXT "0123456789abcde\n"
#define MAX_BURST_BYTES ((size_t)1 << 30) /* one message's text */
#define ZERO_COPY_MIN 1024               /* frames at least this big go out without a copy */

struct echo {
    struct connection conn;
    struct signer *signer;
    struct session session;
    void *zmq;
    void *sock[CH_COUNT];
    struct zmessage in;
    long execution_count;
    int done;
};

/* One signed stream message sent many times. libzmq holds a reference per
 * zero-copy frame until its I/O thread has written it; the last one frees it. */
struct burst {
    struct outgoing msg;
    atomic_long refs;
};

static void burst_release(void *data, void *hint)
{
    struct burst *b = hint;
    (void)data;
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        outgoing_free(&b->msg);
        free(b);
    }
}

static void echo_free(struct echo *e)
{
    zmessage_free(&e->in);
    for (int ch = 0; ch < CH_COUNT; ch++)
        if (e->sock[ch])
            zmq_close(e->sock[ch]);
    if (e->zmq)
        zmq_ctx_term(e->zmq); /* waits for iopub to flush (linger) */
    signer_free(e->signer);
    connection_clear(&e->conn);
}

static int echo_open(struct echo *e, const char *path, char *err, size_t errlen)
{
    static const int types[CH_COUNT] = {ZMQ_ROUTER, ZMQ_PUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};
    if (connection_read(path, &e->conn, err, errlen) ||
        signer_new(e->conn.signature_scheme, e->conn.key, e->conn.key_len, &e->signer, err, errlen))
        return -1;
    session_init(&e->session, e->signer, "echo-runtime");
    e->zmq = zmq_ctx_new();
    if (!e->zmq) {
        snprintf(err, errlen, "cannot create a ZMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    for (int ch = 0; ch < CH_COUNT; ch++) {
        char endpoint[600];
        int linger = ch == CH_IOPUB ? 5000 : 1000, hwm = 0;
        e->sock[ch] = zmq_socket(e->zmq, types[ch]);
        if (!e->sock[ch] || connection_endpoint(&e->conn, ch, endpoint, sizeof endpoint)) {
            snprintf(err, errlen, "%s: cannot create the %s socket", path, channel_name(ch));
            return -1;
        }
        zmq_setsockopt(e->sock[ch], ZMQ_LINGER, &linger, sizeof linger);
        /* No high-water mark anywhere: a bench that drops messages measures nothing. */
        zmq_setsockopt(e->sock[ch], ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(e->sock[ch], ZMQ_RCVHWM, &hwm, sizeof hwm);
        if (zmq_bind(e->sock[ch], endpoint)) {
            snprintf(err, errlen, "%s: cannot bind the %s channel to %s: %s", path,
                     channel_name(ch), endpoint, zmq_strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* ---- sending ------------------------------------------------------------------ */

static int send_own(struct echo *e, void *sock, const struct frame *ids, size_t n_ids,
                    const char *type, const struct frame *parent, json_t *content)
{
    struct outgoing o;
    int rc = -1;
    if (content && session_build(&e->session, type, parent, content, &o) == 0) {
        rc = wire_send_outgoing(sock, ids, n_ids, &o);
        outgoing_free(&o);
    }
    json_decref(content);
    if (rc)
        fprintf(stderr, "echo-runtime: cannot send %s: %s\n", type, zmq_strerror(errno));
    return rc;
}

static int publish_status(struct echo *e, const struct frame *parent, const char *state)
{
    static const struct frame topic = {"status", 6};
    return send_own(e, e->sock[CH_IOPUB], &topic, 1, "status", parent,
                    json_pack("{s:s}", "execution_state", state));
}

static int send_frame(void *sock, struct burst *b, const void *data, size_t size, int more)
{
    int flags = more ? ZMQ_SNDMORE : 0;
    if (size < ZERO_COPY_MIN)
        return zmq_send(sock, data, size, flags) < 0 ? -1 : 0;
    zmq_msg_t msg;
    atomic_fetch_add(&b->refs, 1);
    if (zmq_msg_init_data(&msg, (void *)data, size, burst_release, b)) {
        burst_release(NULL, b);
        return -1;
    }
    if (zmq_msg_send(&msg, sock, flags) < 0) {
        zmq_msg_close(&msg); /* drops the reference */
        return -1;
    }
    return 0;
}

/* Publish COUNT copies of one stream message with TEXT (TEXT_LEN bytes, no
 * characters that JSON escapes), signed once. */
static int publish_burst(struct echo *e, const struct frame *parent, const char *text,
                         size_t text_len, long count)
{
    static const char topic[] = "stream.stdout";
    struct burst *b = calloc(1, sizeof *b);
    json_t *c = json_pack("{s:s, s:s%}", "name", "stdout", "text", text, text_len);
    if (!b || !c || session_build(&e->session, "stream", parent, c, &b->msg)) {
        json_decref(c);
        free(b);
        fprintf(stderr, "echo-runtime: cannot build the stream message\n");
        return -1;
    }
    json_decref(c);
    atomic_init(&b->refs, 1); /* ours, dropped below */
    const struct outgoing *o = &b->msg;
    const struct frame frames[] = {
        {topic, sizeof topic - 1},
        {MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN},
        {o->signature, strlen(o->signature)},
        {o->header, strlen(o->header)},
        {o->parent, strlen(o->parent)},
        {o->metadata, strlen(o->metadata)},
        {o->content, strlen(o->content)},
    };
    size_t n = sizeof frames / sizeof frames[0];
    int rc = 0;
    for (long i = 0; i < count && rc == 0; i++)
        for (size_t f = 0; f < n && rc == 0; f++)
            rc = send_frame(e->sock[CH_IOPUB], b, frames[f].data, frames[f].size, f + 1 < n);
    if (rc)
        fprintf(stderr, "echo-runtime: cannot publish: %s\n", zmq_strerror(errno));
    burst_release(NULL, b);
    return rc;
}

/* ---- requests ----------------------------------------------------------------- */

static json_t *kernel_info_content(void)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:[]}", "status", "ok",
                     "protocol_version", PROTOCOL_VERSION, "implementation", "echo-runtime",
                     "implementation_version", "1", "language_info", "name", "echo", "version",
                     "1", "mimetype", "text/plain", "file_extension", ".txt", "banner",
                     "echo runtime for make bench", "help_links");
}

/* Parse "bench small N" or "bench large N SIZE"; 0 when CODE is one of them. */
static int parse_bench(const char *code, long *count, size_t *size)
{
    char kind[8], tail;
    long n = 0;
    unsigned long long sz = 0;
    if (sscanf(code, "bench %7s %ld %c", kind, &n, &tail) == 2 && strcmp(kind, "small") == 0 &&
        n >= 0) {
        *count = n;
        *size = 0;
        return 0;
    }
    if (sscanf(code, "bench %7s %ld %llu %c", kind, &n, &sz, &tail) == 3 &&
        strcmp(kind, "large") == 0 && n >= 0 && sz >= 1 && sz <= MAX_BURST_BYTES) {
        *count = n;
        *size = (size_t)sz;
        return 0;
    }
    return -1;
}

static json_t *execute(struct echo *e, const struct message_view *v)
{
    json_t *c = json_loadb(v->content.data, v->content.size, 0, NULL);
    const char *code = c ? json_string_value(json_object_get(c, "code")) : NULL;
    long count = 0;
    size_t size = 0;
    int rc = 0;
    e->execution_count++;
    if (code && parse_bench(code, &count, &size) == 0) {
        if (size == 0) {
            rc = publish_burst(e, &v->header, SMALL_TEXT, strlen(SMALL_TEXT), count);
        } else {
            char *text = malloc(size);
            if (!text) {
                rc = -1;
            } else {
                memset(text, 'x', size);
                rc = publish_burst(e, &v->header, text, size, count);
                free(text);
            }
        }
    }
    json_decref(c);
    if (rc)
        return json_pack("{s:s, s:s, s:s, s:[], s:I}", "status", "error", "ename", "BenchError",
                         "evalue", "the burst could not be published", "traceback",
                         "execution_count", (json_int_t)e->execution_count);
    return json_pack("{s:s, s:I, s:{}}", "status", "ok", "execution_count",
                     (json_int_t)e->execution_count, "user_expressions");
}

static void on_request(struct echo *e, enum channel ch)
{
    struct zmessage *m = &e->in;
    struct message_view v;
    struct message_header h;
    enum message_status st = message_split(m->view, m->n, &v);
    if (st == MESSAGE_OK)
        st = message_verify(e->signer, &v);
    if (st == MESSAGE_OK)
        st = message_header_read(&v.header, &h);
    if (st != MESSAGE_OK) {
        fprintf(stderr, "echo-runtime: dropped a %s message: %s\n", channel_name(ch),
                message_status_text(st));
        return;
    }
    char reply_type[80];
    if (message_reply_type(h.msg_type, reply_type, sizeof reply_type))
        return; /* not a request: nothing to answer */
    json_t *content;
    publish_status(e, &v.header, "busy");
    if (strcmp(h.msg_type, "kernel_info_request") == 0) {
        content = kernel_info_content();
    } else if (strcmp(h.msg_type, "execute_request") == 0) {
        content = execute(e, &v);
    } else if (strcmp(h.msg_type, "shutdown_request") == 0) {
        json_t *c = json_loadb(v.content.data, v.content.size, 0, NULL);
        int restart = c && json_is_true(json_object_get(c, "restart"));
        json_decref(c);
        content = json_pack("{s:s, s:b}", "status", "ok", "restart", restart);
        e->done = 1;
    } else {
        content = json_pack("{s:s}", "status", "ok");
    }
    send_own(e, e->sock[ch], m->view, v.n_ids, reply_type, &v.header, content);
    publish_status(e, &v.header, "idle");
}

static int echo_run(struct echo *e)
{
    static const int polled[] = {CH_SHELL, CH_CONTROL, CH_STDIN, CH_HB};
    enum { N_POLLED = sizeof polled / sizeof polled[0] };
    while (!e->done) {
        zmq_pollitem_t items[N_POLLED];
        for (int i = 0; i < N_POLLED; i++)
            items[i] = (zmq_pollitem_t){e->sock[polled[i]], 0, ZMQ_POLLIN, 0};
        if (zmq_poll(items, N_POLLED, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "echo-runtime: poll failed: %s\n", zmq_strerror(errno));
            return 1;
        }
        for (int i = 0; i < N_POLLED && !e->done; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            while (!e->done && zmessage_recv(&e->in, e->sock[polled[i]], ZMQ_DONTWAIT) == 0) {
                if (polled[i] == CH_HB)
                    zmessage_send(&e->in, e->sock[CH_HB], 0); /* identity and all, back */
                else if (polled[i] != CH_STDIN)
                    on_request(e, polled[i]);
                zmessage_reset(&e->in);
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "f:")) != -1) {
        if (opt != 'f') {
            fprintf(stderr, "usage: echo-runtime -f CONNECTION_FILE\n");
            return 2;
        }
        path = optarg;
    }
    if (!path || optind != argc) {
        fprintf(stderr, "usage: echo-runtime -f CONNECTION_FILE\n");
        return 2;
    }
    /* An interrupt has nothing to stop here; SIGTERM still ends the process. */
    signal(SIGINT, SIG_IGN);
    struct echo e;
    memset(&e, 0, sizeof e);
    zmessage_init(&e.in);
    char err[2048];
    int status = 2;
    if (echo_open(&e, path, err, sizeof err) == 0)
        status = echo_run(&e);
    else
        fprintf(stderr, "echo-runtime: %s\n", err);
    echo_free(&e);
    return status;
}
