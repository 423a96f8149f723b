/* proxy.c — relays frames between Jupyter clients and the runtime (see proxy.h). */
#include "kernel/proxy.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/message.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"

#define MAX_WATCHES 8
#define MAX_TIMERS 8
#define BATCH 64 /* messages taken from one socket before polling again */
#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
/* iopub messages queued toward clients (and from the runtime) before the proxy
 * stops reading the runtime's iopub: output is never dropped here, memory stays
 * bounded, and a burst waits in the runtime exactly as it would without us. */
#define IOPUB_HWM 1000
#define PROGRESS_KEPT 32 /* progress lines kept to retell to a cell run during or after the start */

struct held {
    enum channel channel;
    struct zmessage msg;
};

struct watch {
    int fd;
    short events; /* POLLIN, POLLOUT */
    void (*cb)(void *ctx, int fd);
    void *ctx;
};

struct timer {
    int id;
    long long due;
    void (*cb)(void *ctx);
    void *ctx;
};

struct proxy {
    void *zmq;
    void *front[CH_COUNT];
    void *back[CH_COUNT]; /* hb unused on the back side */
    void *zap;            /* CURVE authentication handler, when the front is a CURVE server */
    char allowed_client[41];
    struct signer *signer;
    struct session session;
    struct proxy_hooks hooks;
    size_t max_bytes;
    int hold_kernel_info;  /* proxy_options.hold_kernel_info */
    char log_name[32];

    int attached, ready, alive, shutdown_requested;
    int probe_replied;     /* the runtime answered a probe on shell */
    int probe_iopub_seen;  /* ... and its iopub reaches us */
    int filter_probe_iopub;/* drop iopub messages caused by our own probes */
    char *notice;
    char *failure;        /* why the runtime could not start; requests get it as an error */
    char *last_execute;   /* header of the last execute_request sent to the runtime */
    char *progress[PROGRESS_KEPT]; /* the start's story, oldest first */
    size_t n_progress;

    struct held *held;
    size_t n_held, cap_held;

    struct watch watches[MAX_WATCHES];
    size_t n_watches;
    struct timer timers[MAX_TIMERS];
    int next_timer_id;

    long long last_heartbeat;
    int running, exit_code;
    struct zmessage in; /* receive buffer */
    struct zmessage iopub_pending; /* refused by a full front iopub; sent first */
    int iopub_blocked;
};

long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(struct proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct proxy *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", p->log_name, line);
}

/* ---- sockets ---------------------------------------------------------------- */

/* LINGER_MS bounds how long closing waits to deliver what is still queued:
 * replies to clients matter; what is queued for a dead runtime does not. */
static void *make_socket(struct proxy *p, int type, int linger_ms)
{
    void *s = zmq_socket(p->zmq, type);
    if (s)
        zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof linger_ms);
    return s;
}

static int apply_curve_server(struct proxy *p, void *s, const struct proxy_curve *c)
{
    int one = 1;
    (void)p;
    return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) ||
                   zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 40)
               ? -1
               : 0;
}

static int apply_curve_client(void *s, const struct proxy_curve *c)
{
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->peer_public_key, 40) ||
                   zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->public_key, 40) ||
                   zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->secret_key, 40)
               ? -1
               : 0;
}

static const int front_types[CH_COUNT] = {ZMQ_ROUTER, ZMQ_XPUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};

int proxy_new(const struct connection *front, const struct proxy_options *opt,
              const struct proxy_hooks *hooks, struct proxy **out, char *err, size_t errlen)
{
    struct proxy *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(p->log_name, sizeof p->log_name, "%s",
             opt && opt->log_name ? opt->log_name : "spark-k8s");
    p->max_bytes = opt && opt->max_message_bytes ? opt->max_message_bytes : PROXY_DEFAULT_MAX_MESSAGE;
    p->hold_kernel_info = opt && opt->hold_kernel_info;
    p->hooks = *hooks;
    p->next_timer_id = 1;
    zmessage_init(&p->in);
    zmessage_init(&p->iopub_pending);
    if (signer_new(front->signature_scheme, front->key, front->key_len, &p->signer, err, errlen))
        goto fail;
    const char *user = getenv("USER");
    session_init(&p->session, p->signer, user);
    p->zmq = zmq_ctx_new();
    if (!p->zmq) {
        snprintf(err, errlen, "cannot create a ZMQ context: %s", zmq_strerror(errno));
        goto fail;
    }
    const struct proxy_curve *curve = opt ? opt->curve : NULL;
    if (curve) {
        /* The ZAP handler must be bound before any CURVE server socket. */
        p->zap = make_socket(p, ZMQ_REP, 0);
        if (!p->zap || zmq_bind(p->zap, ZAP_ENDPOINT)) {
            snprintf(err, errlen, "cannot start the CURVE authenticator: %s", zmq_strerror(errno));
            goto fail;
        }
        snprintf(p->allowed_client, sizeof p->allowed_client, "%s", curve->peer_public_key);
    }
    for (int ch = 0; ch < CH_COUNT; ch++) {
        char endpoint[600];
        p->front[ch] = make_socket(p, front_types[ch], 500);
        if (!p->front[ch] || connection_endpoint(front, ch, endpoint, sizeof endpoint)) {
            snprintf(err, errlen, "cannot create the %s socket", channel_name(ch));
            goto fail;
        }
        if (ch == CH_IOPUB) {
            int one = 1, hwm = IOPUB_HWM;
            zmq_setsockopt(p->front[ch], ZMQ_XPUB_VERBOSE, &one, sizeof one);
            zmq_setsockopt(p->front[ch], ZMQ_XPUB_NODROP, &one, sizeof one);
            zmq_setsockopt(p->front[ch], ZMQ_SNDHWM, &hwm, sizeof hwm);
        }
        if (ch == CH_SHELL || ch == CH_STDIN || ch == CH_CONTROL) {
            int one = 1;
            /* A client that reconnects with the same identity takes over its route. */
            zmq_setsockopt(p->front[ch], ZMQ_ROUTER_HANDOVER, &one, sizeof one);
        }
        if (curve && apply_curve_server(p, p->front[ch], curve)) {
            snprintf(err, errlen, "cannot set CURVE keys on the %s socket", channel_name(ch));
            goto fail;
        }
        if (zmq_bind(p->front[ch], endpoint)) {
            snprintf(err, errlen, "cannot bind the %s channel to %s: %s", channel_name(ch), endpoint,
                     zmq_strerror(errno));
            goto fail;
        }
    }
    *out = p;
    return 0;
fail:
    proxy_free(p);
    return -1;
}

void proxy_free(struct proxy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_held; i++)
        zmessage_free(&p->held[i].msg);
    free(p->held);
    zmessage_free(&p->in);
    zmessage_free(&p->iopub_pending);
    for (int ch = 0; ch < CH_COUNT; ch++) {
        if (p->front[ch])
            zmq_close(p->front[ch]);
        if (p->back[ch])
            zmq_close(p->back[ch]);
    }
    if (p->zap)
        zmq_close(p->zap);
    if (p->zmq)
        zmq_ctx_term(p->zmq);
    signer_free(p->signer);
    free(p->notice);
    free(p->failure);
    free(p->last_execute);
    for (size_t i = 0; i < p->n_progress; i++)
        free(p->progress[i]);
    free(p);
}

/* ---- messages of our own ---------------------------------------------------- */

/* Send a message we build ourselves on SOCK after the identities IDS. */
static void send_own(struct proxy *p, void *sock, const struct frame *ids, size_t n_ids,
                     const char *type, const struct frame *parent, json_t *content)
{
    struct outgoing o;
    if (!content || session_build(&p->session, type, parent, content, &o)) {
        logf_(p, "cannot build a %s message", type);
        json_decref(content);
        return;
    }
    if (wire_send_outgoing(sock, ids, n_ids, &o))
        logf_(p, "cannot send %s: %s", type, zmq_strerror(errno));
    outgoing_free(&o);
    json_decref(content);
}

static void publish(struct proxy *p, const char *type, const struct frame *parent, json_t *content)
{
    send_own(p, p->front[CH_IOPUB], NULL, 0, type, parent, content);
}

static void publish_status(struct proxy *p, const struct frame *parent, const char *state)
{
    publish(p, "status", parent, json_pack("{s:s}", "execution_state", state));
}

static void publish_stderr(struct proxy *p, const struct frame *parent, const char *text)
{
    json_t *c = json_pack("{s:s, s:s+}", "name", "stderr", "text", text, "\n");
    publish(p, "stream", parent, c);
}

/* Reply to the request V (received on CH) with CONTENT. */
static void reply(struct proxy *p, enum channel ch, const struct zmessage *m,
                  const struct message_view *v, const char *request_type, json_t *content)
{
    char type[80];
    if (message_reply_type(request_type, type, sizeof type)) {
        json_decref(content);
        return;
    }
    send_own(p, p->front[ch], m->view, v->n_ids, type, &v->header, content);
}

/* ---- holding requests while the runtime starts ------------------------------ */

static int hold(struct proxy *p, enum channel ch, struct zmessage *m)
{
    if (p->n_held == p->cap_held) {
        size_t cap = p->cap_held ? p->cap_held * 2 : 8;
        struct held *h = realloc(p->held, cap * sizeof *h);
        if (!h)
            return -1;
        p->held = h;
        p->cap_held = cap;
    }
    struct held *h = &p->held[p->n_held++];
    h->channel = ch;
    zmessage_init(&h->msg);
    zmessage_move(&h->msg, m);
    return 0;
}

static void send_notice_if_execute(struct proxy *p, const struct message_view *v,
                                   const struct message_header *h)
{
    if (!p->notice || strcmp(h->msg_type, "execute_request") != 0)
        return;
    publish_stderr(p, &v->header, p->notice);
    free(p->notice);
    p->notice = NULL;
}

static void forward_request(struct proxy *p, enum channel ch, struct zmessage *m)
{
    if (p->notice && ch == CH_SHELL) {
        struct message_view v;
        struct message_header h;
        if (message_split(m->view, m->n, &v) == MESSAGE_OK &&
            message_header_read(&v.header, &h) == MESSAGE_OK)
            send_notice_if_execute(p, &v, &h);
    }
    if (zmessage_send(m, p->back[ch], 0))
        logf_(p, "cannot forward a %s message to the runtime: %s", channel_name(ch),
              zmq_strerror(errno));
}

static void release_held(struct proxy *p)
{
    for (size_t i = 0; i < p->n_held; i++) {
        forward_request(p, p->held[i].channel, &p->held[i].msg);
        zmessage_free(&p->held[i].msg);
    }
    p->n_held = 0;
}

void proxy_progress(struct proxy *p, const char *text)
{
    logf_(p, "%s", text);
    if (!p->failure) {
        if (p->n_progress == PROGRESS_KEPT) {
            free(p->progress[0]);
            memmove(p->progress, p->progress + 1, (PROGRESS_KEPT - 1) * sizeof p->progress[0]);
            p->n_progress--;
        }
        char *copy = strdup(text);
        if (copy)
            p->progress[p->n_progress++] = copy;
    }
    for (size_t i = 0; i < p->n_held; i++) {
        struct message_view v;
        if (p->held[i].channel == CH_SHELL &&
            message_split(p->held[i].msg.view, p->held[i].msg.n, &v) == MESSAGE_OK)
            publish_stderr(p, &v.header, text);
    }
}

/* A cell run while the runtime starts hears the start so far, then each new line. */
static void tell_story_so_far(struct proxy *p, const struct frame *parent)
{
    for (size_t i = 0; i < p->n_progress; i++)
        publish_stderr(p, parent, p->progress[i]);
}

void proxy_set_notice(struct proxy *p, const char *text)
{
    free(p->notice);
    p->notice = text ? strdup(text) : NULL;
}

/* Answer request M (received on CH) with an error saying REASON: busy, an iopub
 * error, the error reply, idle. */
static void reply_error(struct proxy *p, enum channel ch, const struct zmessage *m,
                        const struct message_view *v, const struct message_header *h,
                        const char *reason, int tell_story)
{
    json_t *tb = json_pack("[s]", reason);
    publish_status(p, &v->header, "busy");
    /* A request that came after the failure hears how the start went, too. */
    if (tell_story)
        tell_story_so_far(p, &v->header);
    publish(p, "error", &v->header,
            json_pack("{s:s, s:s, s:O}", "ename", "KernelStartError", "evalue", reason,
                      "traceback", tb));
    json_t *content = json_pack("{s:s, s:s, s:s, s:O}", "status", "error", "ename",
                                "KernelStartError", "evalue", reason, "traceback", tb);
    if (content && strcmp(h->msg_type, "execute_request") == 0)
        json_object_set_new(content, "execution_count", json_integer(0));
    reply(p, ch, m, v, h->msg_type, content);
    publish_status(p, &v->header, "idle");
    json_decref(tb);
}

void proxy_runtime_failed(struct proxy *p, const char *reason)
{
    logf_(p, "%s", reason);
    free(p->failure);
    p->failure = strdup(reason);
    for (size_t i = 0; i < p->n_held; i++) {
        struct zmessage *m = &p->held[i].msg;
        struct message_view v;
        struct message_header h;
        if (message_split(m->view, m->n, &v) == MESSAGE_OK &&
            message_header_read(&v.header, &h) == MESSAGE_OK)
            reply_error(p, p->held[i].channel, m, &v, &h, reason, 0);
        zmessage_free(m);
    }
    p->n_held = 0;
}

const char *proxy_failure(const struct proxy *p)
{
    return p->failure;
}

void proxy_notify(struct proxy *p, const char *text)
{
    proxy_progress(p, text);
    if (p->last_execute) {
        struct frame parent = {p->last_execute, strlen(p->last_execute)};
        publish_stderr(p, &parent, text);
    }
}

/* ---- the runtime's readiness ------------------------------------------------ */

static void send_probe(struct proxy *p)
{
    send_own(p, p->back[CH_SHELL], NULL, 0, "kernel_info_request", NULL, json_object());
}

static void check_ready(struct proxy *p)
{
    if (p->ready || !p->probe_replied)
        return;
    if (!p->probe_iopub_seen) {
        /* The shell answered but iopub is not connected yet: ask again. */
        p->probe_replied = 0;
        send_probe(p);
        return;
    }
    p->ready = 1;
    release_held(p);
    if (p->hooks.ready)
        p->hooks.ready(p->hooks.ctx);
}

int proxy_attach(struct proxy *p, char *const endpoints[CH_COUNT], const struct proxy_curve *curve,
                 char *err, size_t errlen)
{
    static const int types[CH_COUNT] = {ZMQ_DEALER, ZMQ_SUB, ZMQ_DEALER, ZMQ_DEALER, 0};
    char routing_id[40];
    /* One routing id for shell, control and stdin: the runtime answers an
     * input_request to the identity of the shell request, so stdin must match. */
    snprintf(routing_id, sizeof routing_id, "spark-k8s-%.8s", p->session.id);
    for (int ch = 0; ch < CH_COUNT; ch++) {
        if (!types[ch])
            continue;
        void *s = make_socket(p, types[ch], 0);
        if (!s) {
            snprintf(err, errlen, "cannot create the runtime's %s socket", channel_name(ch));
            return -1;
        }
        p->back[ch] = s;
        int ivl = 10, ivl_max = 200, hwm = IOPUB_HWM;
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        if (ch == CH_IOPUB) {
            zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
            zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
        } else {
            zmq_setsockopt(s, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
        }
        if (curve && apply_curve_client(s, curve)) {
            snprintf(err, errlen, "cannot set CURVE keys on the runtime's %s socket",
                     channel_name(ch));
            return -1;
        }
        if (zmq_connect(s, endpoints[ch])) {
            snprintf(err, errlen, "cannot connect to the runtime's %s channel %s: %s",
                     channel_name(ch), endpoints[ch], zmq_strerror(errno));
            return -1;
        }
    }
    p->attached = 1;
    p->filter_probe_iopub = 1;
    send_probe(p);
    return 0;
}

/* ---- handlers ---------------------------------------------------------------- */

static void early_kernel_info(struct proxy *p, const struct zmessage *m,
                              const struct message_view *v)
{
    json_t *content = p->hooks.kernel_info ? p->hooks.kernel_info(p->hooks.ctx) : NULL;
    if (!content)
        content = json_pack("{s:s}", "status", "ok");
    publish_status(p, &v->header, "busy");
    reply(p, CH_SHELL, m, v, "kernel_info_request", content);
    publish_status(p, &v->header, "idle");
}

static int shutdown_restart_flag(const struct message_view *v)
{
    json_t *c = json_loadb(v->content.data, v->content.size, 0, NULL);
    int restart = c && json_is_true(json_object_get(c, "restart"));
    json_decref(c);
    return restart;
}

static void handle_control(struct proxy *p, struct zmessage *m, const struct message_view *v,
                           const struct message_header *h)
{
    if (strcmp(h->msg_type, "interrupt_request") == 0) {
        int how = p->ready && p->hooks.interrupt ? p->hooks.interrupt(p->hooks.ctx) : 0;
        if (how == 1) {
            forward_request(p, CH_CONTROL, m);
            return;
        }
        reply(p, CH_CONTROL, m, v, h->msg_type,
              how == 0 ? json_pack("{s:s}", "status", "ok")
                       : json_pack("{s:s, s:s, s:s, s:[]}", "status", "error", "ename",
                                   "InterruptError", "evalue", "the runtime could not be interrupted",
                                   "traceback"));
        return;
    }
    if (strcmp(h->msg_type, "shutdown_request") == 0) {
        p->shutdown_requested = 1;
        if (!p->ready) {
            int restart = shutdown_restart_flag(v);
            reply(p, CH_CONTROL, m, v, h->msg_type,
                  json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
            if (p->hooks.shutdown_early)
                p->hooks.shutdown_early(p->hooks.ctx, restart);
            return;
        }
    }
    if (p->ready)
        forward_request(p, CH_CONTROL, m);
    else if (hold(p, CH_CONTROL, m))
        logf_(p, "out of memory: dropped a control request");
}

/* The header of the execute_request the runtime works on, so that what happens
 * to the runtime later can be told in that cell. */
static void remember_execute(struct proxy *p, const struct frame *header)
{
    char *copy = malloc(header->size + 1);
    if (!copy)
        return;
    memcpy(copy, header->data, header->size);
    copy[header->size] = '\0';
    free(p->last_execute);
    p->last_execute = copy;
}

/* After a failed start: answer what can be answered, refuse the rest with the reason. */
static void serve_failed(struct proxy *p, enum channel ch, struct zmessage *m,
                         const struct message_view *v, const struct message_header *h)
{
    if (strcmp(h->msg_type, "kernel_info_request") == 0 && ch == CH_SHELL) {
        early_kernel_info(p, m, v);
    } else if (strcmp(h->msg_type, "shutdown_request") == 0) {
        p->shutdown_requested = 1;
        int restart = shutdown_restart_flag(v);
        reply(p, ch, m, v, h->msg_type, json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
        if (p->hooks.shutdown_early)
            p->hooks.shutdown_early(p->hooks.ctx, restart);
    } else if (strcmp(h->msg_type, "interrupt_request") == 0) {
        reply(p, ch, m, v, h->msg_type, json_pack("{s:s}", "status", "ok"));
    } else if (ch != CH_STDIN) {
        reply_error(p, ch, m, v, h, p->failure,
                    ch == CH_SHELL && strcmp(h->msg_type, "execute_request") == 0);
    }
}

/* A message from a client on a ROUTER channel. */
static void on_client_message(struct proxy *p, enum channel ch, struct zmessage *m)
{
    struct message_view v;
    struct message_header h;
    enum message_status st = m->bytes > p->max_bytes ? MESSAGE_TOO_LARGE
                                                     : message_split(m->view, m->n, &v);
    if (st == MESSAGE_OK)
        st = message_verify(p->signer, &v);
    if (st == MESSAGE_OK)
        st = message_header_read(&v.header, &h);
    if (st != MESSAGE_OK) {
        logf_(p, "dropped a %zu-byte message on %s: %s", m->bytes, channel_name(ch),
              message_status_text(st));
        zmessage_reset(m);
        return;
    }
    if (p->failure) {
        serve_failed(p, ch, m, &v, &h);
    } else if (ch == CH_CONTROL) {
        handle_control(p, m, &v, &h);
    } else if (ch == CH_SHELL && !p->ready) {
        if (strcmp(h.msg_type, "kernel_info_request") == 0 && !p->hold_kernel_info)
            early_kernel_info(p, m, &v);
        else if (strcmp(h.msg_type, "shutdown_request") == 0)
            handle_control(p, m, &v, &h);
        else {
            if (strcmp(h.msg_type, "execute_request") == 0)
                tell_story_so_far(p, &v.header);
            if (hold(p, CH_SHELL, m))
                logf_(p, "out of memory: dropped a shell request");
        }
    } else if (ch == CH_STDIN && !p->ready) {
        logf_(p, "dropped a stdin message: the runtime is not ready");
    } else {
        if (ch == CH_SHELL && strcmp(h.msg_type, "shutdown_request") == 0)
            p->shutdown_requested = 1;
        if (ch == CH_SHELL && strcmp(h.msg_type, "execute_request") == 0)
            remember_execute(p, &v.header);
        forward_request(p, ch, m);
    }
    zmessage_reset(m);
}

/* Subscriptions on the XPUB: answer each with a welcome of our own (JEP 65). */
static void on_subscription(struct proxy *p, struct zmessage *m)
{
    if (m->n >= 1 && m->view[0].size >= 1 && ((const unsigned char *)m->view[0].data)[0] == 1) {
        struct frame topic = {(const char *)m->view[0].data + 1, m->view[0].size - 1};
        json_t *c = json_pack("{s:s%}", "subscription", (const char *)topic.data, topic.size);
        send_own(p, p->front[CH_IOPUB], &topic, topic.size ? 1 : 0, "iopub_welcome", NULL, c);
    }
    zmessage_reset(m);
}

static void on_heartbeat(struct proxy *p, struct zmessage *m)
{
    p->last_heartbeat = monotonic_ms();
    if (p->alive)
        zmessage_send(m, p->front[CH_HB], 0);
    else
        zmessage_reset(m);
}

/* A message from the runtime on iopub. */
static void on_runtime_iopub(struct proxy *p, struct zmessage *m)
{
    struct message_view v;
    if (message_split(m->view, m->n, &v) == MESSAGE_OK) {
        if (p->filter_probe_iopub) {
            if (frame_contains(&v.parent, p->session.id)) {
                p->probe_iopub_seen = 1;
                zmessage_reset(m);
                check_ready(p);
                return;
            }
            if (p->ready)
                p->filter_probe_iopub = 0; /* the probe's traffic is over */
        }
        /* Our front answers subscriptions itself: drop the runtime's welcomes,
         * which carry no topic frame. */
        if (v.n_ids == 0 && frame_contains(&v.header, "\"iopub_welcome\"")) {
            zmessage_reset(m);
            return;
        }
    }
    int rc = zmessage_offer(m, p->front[CH_IOPUB]);
    if (rc == 1) {
        /* A client is a full queue behind: hold this one and stop reading. */
        zmessage_move(&p->iopub_pending, m);
        p->iopub_blocked = 1;
    } else if (rc < 0) {
        logf_(p, "cannot publish: %s", zmq_strerror(errno));
    }
}

/* The front iopub has room again: send what waited, then read the runtime again. */
static void iopub_unblock(struct proxy *p)
{
    int rc = zmessage_offer(&p->iopub_pending, p->front[CH_IOPUB]);
    if (rc == 1)
        return;
    if (rc < 0)
        logf_(p, "cannot publish: %s", zmq_strerror(errno));
    p->iopub_blocked = 0;
}

/* A reply from the runtime on shell, control or stdin. */
static void on_runtime_reply(struct proxy *p, enum channel ch, struct zmessage *m)
{
    if (m->n > 0 && m->view[0].size == MESSAGE_DELIMITER_LEN &&
        memcmp(m->view[0].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0) {
        /* No client identity: the answer to a request of our own. */
        if (ch == CH_SHELL && !p->ready) {
            p->probe_replied = 1;
            check_ready(p);
        }
        zmessage_reset(m);
        return;
    }
    if (zmessage_send(m, p->front[ch], 0))
        logf_(p, "cannot deliver a %s reply: %s", channel_name(ch), zmq_strerror(errno));
}

/* ZAP (RFC 27): accept the one client key we were given, refuse every other. */
static void on_zap(struct proxy *p)
{
    struct zmessage *m = &p->in;
    if (zmessage_recv(m, p->zap, ZMQ_DONTWAIT))
        return;
    if (m->n < 6) {
        zmessage_reset(m);
        return;
    }
    int ok = 0;
    if (m->n >= 7 && m->view[5].size == 5 && memcmp(m->view[5].data, "CURVE", 5) == 0 &&
        m->view[6].size == 32) {
        char z85[41];
        if (zmq_z85_encode(z85, m->view[6].data, 32) && strcmp(z85, p->allowed_client) == 0)
            ok = 1;
    }
    if (!ok)
        logf_(p, "refused a connection: unknown CURVE client key");
    zmq_send(p->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(p->zap, m->view[1].data, m->view[1].size, ZMQ_SNDMORE);
    zmq_send(p->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(p->zap, ok ? "OK" : "unknown key", ok ? 2 : 11, ZMQ_SNDMORE);
    zmq_send(p->zap, ok ? "launcher" : "", ok ? 8 : 0, ZMQ_SNDMORE);
    zmq_send(p->zap, "", 0, 0);
    zmessage_reset(m);
}

/* ---- public controls ---------------------------------------------------------- */

void proxy_set_alive(struct proxy *p, int alive)
{
    p->alive = alive;
}

int proxy_ready(const struct proxy *p)
{
    return p->ready;
}

int proxy_shutdown_requested(const struct proxy *p)
{
    return p->shutdown_requested;
}

long long proxy_last_heartbeat(const struct proxy *p)
{
    return p->last_heartbeat;
}

void proxy_interrupt(struct proxy *p)
{
    if (!p->ready || !p->hooks.interrupt)
        return;
    if (p->hooks.interrupt(p->hooks.ctx) == 1)
        send_own(p, p->back[CH_CONTROL], NULL, 0, "interrupt_request", NULL, json_object());
}

int proxy_watch_fd_events(struct proxy *p, int fd, short events, void (*cb)(void *ctx, int fd),
                          void *ctx)
{
    for (size_t i = 0; i < p->n_watches; i++)
        if (p->watches[i].fd == fd) {
            p->watches[i] = (struct watch){fd, events, cb, ctx};
            return 0;
        }
    if (p->n_watches == MAX_WATCHES)
        return -1;
    p->watches[p->n_watches++] = (struct watch){fd, events, cb, ctx};
    return 0;
}

int proxy_watch_fd(struct proxy *p, int fd, void (*cb)(void *ctx, int fd), void *ctx)
{
    return proxy_watch_fd_events(p, fd, POLLIN, cb, ctx);
}

void proxy_unwatch_fd(struct proxy *p, int fd)
{
    for (size_t i = 0; i < p->n_watches; i++)
        if (p->watches[i].fd == fd) {
            p->watches[i] = p->watches[--p->n_watches];
            return;
        }
}

int proxy_timer(struct proxy *p, long ms, void (*cb)(void *ctx), void *ctx)
{
    for (int i = 0; i < MAX_TIMERS; i++)
        if (p->timers[i].id == 0) {
            p->timers[i] = (struct timer){p->next_timer_id++, monotonic_ms() + ms, cb, ctx};
            return p->timers[i].id;
        }
    return -1;
}

void proxy_timer_cancel(struct proxy *p, int id)
{
    for (int i = 0; i < MAX_TIMERS; i++)
        if (p->timers[i].id == id && id > 0)
            p->timers[i].id = 0;
}

void proxy_stop(struct proxy *p, int code)
{
    p->running = 0;
    p->exit_code = code;
}

/* ---- the loop ----------------------------------------------------------------- */

enum item_kind { ITEM_FRONT, ITEM_BACK, ITEM_ZAP, ITEM_FD };

struct item_ref {
    enum item_kind kind;
    int index;
};

static void drain_socket(struct proxy *p, enum item_kind kind, int ch)
{
    void *sock = kind == ITEM_FRONT ? p->front[ch] : p->back[ch];
    for (int i = 0; i < BATCH && p->running; i++) {
        if (kind == ITEM_BACK && ch == CH_IOPUB && p->iopub_blocked)
            return;
        if (zmessage_recv(&p->in, sock, ZMQ_DONTWAIT))
            return;
        if (kind == ITEM_FRONT) {
            if (ch == CH_IOPUB)
                on_subscription(p, &p->in);
            else if (ch == CH_HB)
                on_heartbeat(p, &p->in);
            else
                on_client_message(p, ch, &p->in);
        } else if (ch == CH_IOPUB) {
            on_runtime_iopub(p, &p->in);
        } else {
            on_runtime_reply(p, ch, &p->in);
        }
    }
}

static long next_timeout(struct proxy *p)
{
    long long now = monotonic_ms(), best = -1;
    for (int i = 0; i < MAX_TIMERS; i++)
        if (p->timers[i].id && (best < 0 || p->timers[i].due < best))
            best = p->timers[i].due;
    if (best < 0)
        return -1;
    return best <= now ? 0 : (long)(best - now);
}

static void fire_timers(struct proxy *p)
{
    long long now = monotonic_ms();
    for (int i = 0; i < MAX_TIMERS; i++)
        if (p->timers[i].id && p->timers[i].due <= now) {
            struct timer t = p->timers[i];
            p->timers[i].id = 0;
            t.cb(t.ctx);
        }
}

static int poll_once(struct proxy *p, long timeout)
{
    zmq_pollitem_t items[2 * CH_COUNT + 1 + MAX_WATCHES];
    struct item_ref refs[2 * CH_COUNT + 1 + MAX_WATCHES];
    int n = 0;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        short front_events = ZMQ_POLLIN;
        if (ch == CH_IOPUB && p->iopub_blocked)
            front_events |= ZMQ_POLLOUT;
        items[n] = (zmq_pollitem_t){p->front[ch], 0, front_events, 0};
        refs[n++] = (struct item_ref){ITEM_FRONT, ch};
        if (p->back[ch] && !(ch == CH_IOPUB && p->iopub_blocked)) {
            items[n] = (zmq_pollitem_t){p->back[ch], 0, ZMQ_POLLIN, 0};
            refs[n++] = (struct item_ref){ITEM_BACK, ch};
        }
    }
    if (p->zap) {
        items[n] = (zmq_pollitem_t){p->zap, 0, ZMQ_POLLIN, 0};
        refs[n++] = (struct item_ref){ITEM_ZAP, 0};
    }
    size_t n_watches = p->n_watches;
    struct watch watches[MAX_WATCHES];
    memcpy(watches, p->watches, sizeof watches);
    for (size_t i = 0; i < n_watches; i++) {
        items[n] = (zmq_pollitem_t){NULL, watches[i].fd,
                                    (short)((watches[i].events & POLLIN ? ZMQ_POLLIN : 0) |
                                            (watches[i].events & POLLOUT ? ZMQ_POLLOUT : 0)),
                                    0};
        refs[n++] = (struct item_ref){ITEM_FD, (int)i};
    }
    int rc = zmq_poll(items, n, timeout);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n && p->running; i++) {
        if (refs[i].kind == ITEM_FRONT && refs[i].index == CH_IOPUB && p->iopub_blocked &&
            (items[i].revents & ZMQ_POLLOUT))
            iopub_unblock(p);
        short wanted = ZMQ_POLLIN | ZMQ_POLLERR;
        if (refs[i].kind == ITEM_FD)
            wanted |= ZMQ_POLLOUT;
        if (!(items[i].revents & wanted))
            continue;
        switch (refs[i].kind) {
        case ITEM_FRONT:
        case ITEM_BACK:
            drain_socket(p, refs[i].kind, refs[i].index);
            break;
        case ITEM_ZAP:
            on_zap(p);
            break;
        case ITEM_FD:
            watches[refs[i].index].cb(watches[refs[i].index].ctx, watches[refs[i].index].fd);
            break;
        }
    }
    fire_timers(p);
    return 0;
}

int proxy_run(struct proxy *p)
{
    p->running = 1;
    while (p->running)
        if (poll_once(p, next_timeout(p))) {
            logf_(p, "event loop failed: %s", zmq_strerror(errno));
            return 1;
        }
    return p->exit_code;
}

void proxy_drain(struct proxy *p, long ms)
{
    /* Forward until the back side has been quiet for a short while, or MS pass. */
    long long end = monotonic_ms() + ms;
    p->running = 1;
    while (p->back[CH_SHELL]) {
        if (p->iopub_blocked) {
            iopub_unblock(p);
            if (p->iopub_blocked) {
                zmq_pollitem_t out = {p->front[CH_IOPUB], 0, ZMQ_POLLOUT, 0};
                long long wait = end - monotonic_ms();
                if (wait <= 0 || zmq_poll(&out, 1, (long)wait) <= 0)
                    break;
                continue;
            }
        }
        long long left = end - monotonic_ms();
        if (left <= 0)
            break;
        zmq_pollitem_t items[3] = {
            {p->back[CH_SHELL], 0, ZMQ_POLLIN, 0},
            {p->back[CH_IOPUB], 0, ZMQ_POLLIN, 0},
            {p->back[CH_CONTROL], 0, ZMQ_POLLIN, 0},
        };
        if (zmq_poll(items, 3, left < 50 ? (long)left : 50) <= 0)
            break;
        if (items[0].revents)
            drain_socket(p, ITEM_BACK, CH_SHELL);
        if (items[1].revents)
            drain_socket(p, ITEM_BACK, CH_IOPUB);
        if (items[2].revents)
            drain_socket(p, ITEM_BACK, CH_CONTROL);
    }
    p->running = 0;
}
