/* bench_client.c — the lean Jupyter client that `make bench` times (C, so Python's own
 * overhead stays out of the figures).
 *
 * usage: bench-client rtt CONNECTION_FILE N WARMUP
 *            N timed kernel_info round trips on shell (after WARMUP untimed ones);
 *            each request is built and signed before its clock starts, and the
 *            next one goes out only after the kernel's idle status for the last.
 *            Prints {"samples_ns": [...]}.
 *        bench-client burst CONNECTION_FILE small N
 *        bench-client burst CONNECTION_FILE large N SIZE
 *            asks the echo runtime for a burst of N iopub stream messages and
 *            counts those that arrive on a SUB socket with no high-water mark,
 *            until the request's idle status. Prints {"expected", "count",
 *            "bytes", "first_to_last_s", "request_to_last_s"}; exit 1 when
 *            count differs from N.
 *        bench-client first-reply CONNECTION_FILE
 *            connects (retrying every millisecond), queues one kernel_info_request,
 *            prints "armed", and once the reply arrives prints {"t_reply":
 *            CLOCK_MONOTONIC seconds, "implementation": "..."}.
 * Before rtt and burst the client waits until the kernel's own reply comes
 * (implementation other than "spark-k8s", which is the launcher answering
 * for a runtime that is still starting) and its iopub reaches us.
 * Exit status: 0 done, 1 failed, 2 bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "kernel/connection.h"
#include "kernel/message.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"

#define WAIT_MS 60000 /* longest wait for any one answer */

struct client {
    struct connection conn;
    struct signer *signer;
    struct session session;
    void *zmq;
    void *shell;
    void *iopub; /* NULL when not subscribed */
    struct zmessage in;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void client_free(struct client *c)
{
    zmessage_free(&c->in);
    if (c->shell)
        zmq_close(c->shell);
    if (c->iopub)
        zmq_close(c->iopub);
    if (c->zmq)
        zmq_ctx_term(c->zmq);
    signer_free(c->signer);
    connection_clear(&c->conn);
}

static void *client_socket(struct client *c, int type, enum channel ch, int reconnect_ms,
                           char *err, size_t errlen)
{
    char endpoint[600];
    void *s = zmq_socket(c->zmq, type);
    int zero = 0;
    if (!s || connection_endpoint(&c->conn, ch, endpoint, sizeof endpoint)) {
        snprintf(err, errlen, "cannot create the %s socket", channel_name(ch));
        if (s)
            zmq_close(s);
        return NULL;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms);
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s, endpoint)) {
        snprintf(err, errlen, "cannot connect the %s socket to %s: %s", channel_name(ch), endpoint,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int client_open(struct client *c, const char *path, int with_iopub, int reconnect_ms,
                       char *err, size_t errlen)
{
    if (connection_read(path, &c->conn, err, errlen) ||
        signer_new(c->conn.signature_scheme, c->conn.key, c->conn.key_len, &c->signer, err, errlen))
        return -1;
    session_init(&c->session, c->signer, "bench");
    c->zmq = zmq_ctx_new();
    if (!c->zmq) {
        snprintf(err, errlen, "cannot create a ZMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    c->shell = client_socket(c, ZMQ_DEALER, CH_SHELL, reconnect_ms, err, errlen);
    if (!c->shell)
        return -1;
    if (with_iopub) {
        c->iopub = client_socket(c, ZMQ_SUB, CH_IOPUB, reconnect_ms, err, errlen);
        if (!c->iopub)
            return -1;
    }
    return 0;
}

/* Build and sign a request; the caller sends it with wire_send_outgoing. */
static int build_request(struct client *c, const char *type, json_t *content, struct outgoing *o)
{
    int rc = content ? session_build(&c->session, type, NULL, content, o) : -1;
    json_decref(content);
    return rc;
}

/* 1 when HEADER's msg_type is TYPE, in compact JSON (ours) or Python's (ipykernel). */
static int header_is(const struct frame *header, const char *type)
{
    char compact[96], spaced[96];
    snprintf(compact, sizeof compact, "\"msg_type\":\"%s\"", type);
    snprintf(spaced, sizeof spaced, "\"msg_type\": \"%s\"", type);
    return frame_contains(header, compact) || frame_contains(header, spaced);
}

/* Receive on SOCK until a message whose parent header names MSG_ID arrives
 * (and, when TYPE is set, whose header names that msg_type). The message stays
 * in c->in. Returns 0, or -1 after TIMEOUT_MS. */
static int recv_answer_within(struct client *c, void *sock, const char *msg_id, const char *type,
                              long timeout_ms, struct message_view *v)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int rc = zmessage_recv(&c->in, sock, ZMQ_DONTWAIT);
        if (rc == 0) {
            if (message_split(c->in.view, c->in.n, v) == MESSAGE_OK &&
                frame_contains(&v->parent, msg_id) &&
                (!type || header_is(&v->header, type)))
                return 0;
            continue;
        }
        if (errno != EAGAIN)
            return -1;
        int64_t left = deadline - now_ns();
        if (left <= 0)
            return -1;
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        zmq_poll(&item, 1, (long)(left / 1000000) + 1);
    }
}

static int recv_answer(struct client *c, void *sock, const char *msg_id, const char *type,
                       struct message_view *v)
{
    return recv_answer_within(c, sock, msg_id, type, WAIT_MS, v);
}

/* The idle status on iopub that ends the request MSG_ID. */
static int wait_idle(struct client *c, const char *msg_id, long timeout_ms)
{
    struct message_view v;
    while (recv_answer_within(c, c->iopub, msg_id, "status", timeout_ms, &v) == 0)
        if (frame_contains(&v.content, "\"idle\""))
            return 0;
    return -1;
}

/* Until the kernel itself answers kernel_info (not the launcher for a runtime
 * still starting) and, when subscribed, its iopub reaches us. */
static int wait_kernel(struct client *c, char *err, size_t errlen)
{
    int64_t deadline = now_ns() + (int64_t)WAIT_MS * 1000000;
    while (now_ns() < deadline) {
        struct outgoing o;
        struct message_view v;
        if (build_request(c, "kernel_info_request", json_object(), &o) ||
            wire_send_outgoing(c->shell, NULL, 0, &o) ||
            recv_answer(c, c->shell, o.msg_id, "kernel_info_reply", &v)) {
            outgoing_free(&o);
            snprintf(err, errlen, "no kernel_info_reply");
            return -1;
        }
        int launcher = frame_contains(&v.content, "\"implementation\":\"spark-k8s\"");
        /* Status messages published before our subscription reached the kernel
         * are lost (that is PUB/SUB): then ask again. */
        int subscribed = !c->iopub || wait_idle(c, o.msg_id, 200) == 0;
        outgoing_free(&o);
        if (!launcher && subscribed)
            return 0;
        if (launcher)
            zmq_poll(NULL, 0, 20); /* the runtime is still starting: ask again shortly */
    }
    snprintf(err, errlen, "the kernel did not become ready in %d ms", WAIT_MS);
    return -1;
}

/* ---- modes -------------------------------------------------------------------- */

static int run_rtt(struct client *c, long n, long warmup, char *err, size_t errlen)
{
    int64_t *samples = calloc((size_t)n, sizeof *samples);
    if (!samples) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = wait_kernel(c, err, errlen);
    for (long i = 0; rc == 0 && i < warmup + n; i++) {
        struct outgoing o;
        struct message_view v;
        if (build_request(c, "kernel_info_request", json_object(), &o)) {
            snprintf(err, errlen, "cannot build a request");
            rc = -1;
            break;
        }
        int64_t t0 = now_ns();
        if (wire_send_outgoing(c->shell, NULL, 0, &o) ||
            recv_answer(c, c->shell, o.msg_id, "kernel_info_reply", &v)) {
            snprintf(err, errlen, "round trip %ld: no reply", i);
            rc = -1;
        }
        int64_t t1 = now_ns();
        if (rc == 0 && wait_idle(c, o.msg_id, WAIT_MS)) {
            snprintf(err, errlen, "round trip %ld: no idle status", i);
            rc = -1;
        }
        if (rc == 0 && i >= warmup)
            samples[i - warmup] = t1 - t0;
        outgoing_free(&o);
    }
    if (rc == 0) {
        printf("{\"samples_ns\": [");
        for (long i = 0; i < n; i++)
            printf("%s%" PRId64, i ? ", " : "", samples[i]);
        printf("]}\n");
    }
    free(samples);
    return rc;
}

static int run_burst(struct client *c, const char *code, long expected, char *err, size_t errlen)
{
    if (wait_kernel(c, err, errlen))
        return -1;
    struct outgoing o;
    json_t *content = json_pack("{s:s, s:b, s:b, s:{}, s:b, s:b}", "code", code, "silent", 0,
                                "store_history", 0, "user_expressions", "allow_stdin", 0,
                                "stop_on_error", 1);
    if (build_request(c, "execute_request", content, &o)) {
        snprintf(err, errlen, "cannot build the request");
        return -1;
    }
    long count = 0;
    size_t bytes = 0;
    int64_t t_request = now_ns(), t_first = 0, t_last = 0;
    int rc = wire_send_outgoing(c->shell, NULL, 0, &o);
    struct message_view v;
    /* Every stream message of the burst precedes the idle status on the same socket. */
    while (rc == 0) {
        if (recv_answer(c, c->iopub, o.msg_id, NULL, &v)) {
            snprintf(err, errlen, "no idle status after %ld of %ld messages", count, expected);
            rc = -1;
            break;
        }
        if (header_is(&v.header, "stream")) {
            t_last = now_ns();
            if (count++ == 0)
                t_first = t_last;
            bytes += c->in.bytes;
        } else if (header_is(&v.header, "status") &&
                   frame_contains(&v.content, "\"idle\"")) {
            break;
        }
    }
    if (rc == 0 && recv_answer(c, c->shell, o.msg_id, "execute_reply", &v)) {
        snprintf(err, errlen, "no execute_reply");
        rc = -1;
    }
    if (rc == 0 && !frame_contains(&v.content, "\"status\":\"ok\"")) {
        snprintf(err, errlen, "execute_reply is not ok: %.*s", (int)v.content.size,
                 (const char *)v.content.data);
        rc = -1;
    }
    outgoing_free(&o);
    if (rc == 0)
        printf("{\"expected\": %ld, \"count\": %ld, \"bytes\": %zu, \"first_to_last_s\": %.9f, "
               "\"request_to_last_s\": %.9f}\n",
               expected, count, bytes, (double)(t_last - t_first) / 1e9,
               (double)(t_last - t_request) / 1e9);
    if (rc == 0 && count != expected) {
        snprintf(err, errlen, "received %ld stream messages, expected %ld", count, expected);
        rc = -1;
    }
    return rc;
}

static int run_first_reply(struct client *c, char *err, size_t errlen)
{
    struct outgoing o;
    struct message_view v;
    if (build_request(c, "kernel_info_request", json_object(), &o) ||
        wire_send_outgoing(c->shell, NULL, 0, &o)) {
        snprintf(err, errlen, "cannot queue the request");
        return -1;
    }
    printf("armed\n");
    fflush(stdout);
    int rc = recv_answer(c, c->shell, o.msg_id, "kernel_info_reply", &v);
    int64_t t = now_ns();
    if (rc == 0) {
        json_t *content = json_loadb(v.content.data, v.content.size, 0, NULL);
        const char *impl = json_string_value(json_object_get(content, "implementation"));
        printf("{\"t_reply\": %.9f, \"implementation\": \"%s\"}\n", (double)t / 1e9,
               impl ? impl : "?");
        json_decref(content);
    } else {
        snprintf(err, errlen, "no kernel_info_reply in %d ms", WAIT_MS);
    }
    outgoing_free(&o);
    return rc;
}

static int parse_long(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench-client rtt CONNECTION_FILE N WARMUP\n"
                    "       bench-client burst CONNECTION_FILE small N\n"
                    "       bench-client burst CONNECTION_FILE large N SIZE\n"
                    "       bench-client first-reply CONNECTION_FILE\n");
}

int main(int argc, char **argv)
{
    long n = 0, warmup = 0, size = 0;
    char code[128];
    enum { RTT, BURST, FIRST } mode;
    if (argc == 5 && strcmp(argv[1], "rtt") == 0 && parse_long(argv[3], &n) == 0 &&
        parse_long(argv[4], &warmup) == 0 && n > 0) {
        mode = RTT;
    } else if (argc == 5 && strcmp(argv[1], "burst") == 0 && strcmp(argv[3], "small") == 0 &&
               parse_long(argv[4], &n) == 0) {
        mode = BURST;
        snprintf(code, sizeof code, "bench small %ld", n);
    } else if (argc == 6 && strcmp(argv[1], "burst") == 0 && strcmp(argv[3], "large") == 0 &&
               parse_long(argv[4], &n) == 0 && parse_long(argv[5], &size) == 0 && size > 0) {
        mode = BURST;
        snprintf(code, sizeof code, "bench large %ld %ld", n, size);
    } else if (argc == 3 && strcmp(argv[1], "first-reply") == 0) {
        mode = FIRST;
    } else {
        usage();
        return 2;
    }
    struct client c;
    memset(&c, 0, sizeof c);
    zmessage_init(&c.in);
    char err[2048] = "";
    int rc = client_open(&c, argv[2], mode != FIRST, mode == FIRST ? 1 : 10, err, sizeof err);
    if (rc == 0 && mode == RTT)
        rc = run_rtt(&c, n, warmup, err, sizeof err);
    else if (rc == 0 && mode == BURST)
        rc = run_burst(&c, code, n, err, sizeof err);
    else if (rc == 0)
        rc = run_first_reply(&c, err, sizeof err);
    if (rc)
        fprintf(stderr, "bench-client %s: %s: %s\n", argv[1], argv[2], err);
    client_free(&c);
    return rc ? 1 : 0;
}
