/* proxy.c — the relay's state machine: what arrives from clients and from the
 * runtime, and where it goes (see proxy.h). The loop, the iopub fan-out, the
 * waiting queues, the authenticator and the messages of our own live in their
 * own files; this one decides. */
#include "kernel/proxy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kernel/busy_said.h"
#include "kernel/iopub.h"
#include "kernel/log.h"
#include "kernel/message.h"
#include "kernel/msgqueue.h"
#include "kernel/outbox.h"
#include "kernel/ratelog.h"
#include "kernel/replay.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"
#include "kernel/zap.h"

#define BATCH 64           /* messages taken from one socket before looking at the others */
#define PROGRESS_KEPT 32   /* progress lines kept to retell to a cell run during or after the start */
#define DRAIN_QUIET_MS 50  /* a drain ends once the runtime has said nothing for this long */

enum side { FRONT, BACK };

struct socket_ref {
    struct proxy *p;
    enum side side;
    enum channel ch;
};

struct proxy {
    struct loop *loop; /* borrowed */
    void *zmq;
    void *front[CH_COUNT];
    void *back[CH_COUNT]; /* hb unused on the back side */
    struct socket_ref refs[2][CH_COUNT];
    int watching[2][CH_COUNT]; /* the events each socket is watched for now; -1: not yet */
    struct zap *zap;           /* CURVE authenticator, when the front is a CURVE server */
    struct signer *signer;
    struct session session;
    struct proxy_hooks hooks;
    size_t max_bytes;
    int hold_kernel_info;  /* proxy_options.hold_kernel_info */
    char log_name[32];
    struct ratelog log;
    struct replay replay;
    struct iopub iopub;
    struct outbox out;
    struct msgqueue queue[CH_COUNT]; /* shell, stdin, control: waiting for the runtime */
    struct busy_said busy_said;      /* waiting requests we spoke for: busy said here */

    int attached, ready, alive, shutdown_requested;
    int probe_replied;      /* the runtime answered a probe on shell */
    int probe_iopub_seen;   /* ... and its iopub reaches us */
    int filter_probe_iopub; /* drop iopub messages caused by our own probes */
    char *notice;
    char *failure;      /* why the runtime could not start; requests get it as an error */
    char *last_execute; /* header of the last execute_request sent to the runtime */
    char *progress[PROGRESS_KEPT]; /* the start's story, oldest first */
    size_t n_progress;

    long long last_heartbeat;
    long long last_back_ms; /* when the runtime last sent something */
    struct zmessage in;     /* receive buffer */

    int draining;
    long long drain_end;
    int drain_timer;
    void (*drained)(void *ctx);
    void *drained_ctx;
};

/* ---- what the loop watches -------------------------------------------------- */

static void on_socket(void *ctx, void *socket, int events);

/* Watch each socket for what its state calls for: a client channel is read only
 * while its queue has room and no drain is on; a runtime channel is written to
 * when requests wait for room; the runtime's iopub is read unless the messages
 * waiting for room are at their bound. Changes only: this runs after every batch. */
static void update_watches(struct proxy *p)
{
    for (int side = FRONT; side <= BACK; side++)
        for (int ch = 0; ch < CH_COUNT; ch++) {
            void *s = side == FRONT ? p->front[ch] : p->back[ch];
            if (!s)
                continue;
            int want = 0;
            if (side == FRONT) {
                if (ch == CH_IOPUB)
                    want = LOOP_READABLE; /* subscriptions */
                else if (!p->draining && (ch == CH_HB || msgqueue_has_room(&p->queue[ch])))
                    want = LOOP_READABLE;
            } else if (ch == CH_IOPUB) {
                want = iopub_has_room(&p->iopub) ? LOOP_READABLE : 0;
            } else {
                want = LOOP_READABLE;
                if (p->ready && p->queue[ch].n)
                    want |= LOOP_WRITABLE;
            }
            if (p->watching[side][ch] == want)
                continue;
            if (loop_watch_socket(p->loop, s, want, on_socket, &p->refs[side][ch]) == 0)
                p->watching[side][ch] = want;
            else
                ratelog_drop(&p->log, "cannot watch the %s socket: %s", channel_name(ch),
                             strerror(errno));
        }
}

/* First registration of a socket: the one that can fail for memory. */
static int watch_new(struct proxy *p, enum side side, enum channel ch, char *err, size_t errlen)
{
    void *s = side == FRONT ? p->front[ch] : p->back[ch];
    p->refs[side][ch] = (struct socket_ref){p, side, ch};
    if (loop_watch_socket(p->loop, s, 0, on_socket, &p->refs[side][ch])) {
        snprintf(err, errlen, "cannot watch the %s socket: %s", channel_name(ch), strerror(errno));
        return -1;
    }
    p->watching[side][ch] = 0;
    return 0;
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

static int apply_curve_server(void *s, const struct proxy_curve *c)
{
    int one = 1;
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

/* What a client may make libzmq buffer: frames refused on receipt above the
 * cap (the connection is dropped before the bytes arrive), and a few messages
 * per connection while the proxy is not reading. */
static int limit_front(void *s, enum channel ch, size_t max_bytes, int ipv6)
{
    int64_t max_frame = ch == CH_IOPUB ? IOPUB_MAX_TOPIC + 1
                        : ch == CH_HB  ? PROXY_HB_MAX
                                       : (int64_t)max_bytes;
    int hwm = PROXY_FRONT_RCVHWM, one = 1;
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max_frame, sizeof max_frame) ||
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm))
        return -1;
    if (ipv6 && zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof one))
        return -1;
    if (ch == CH_SHELL || ch == CH_STDIN || ch == CH_CONTROL)
        /* A client that reconnects with the same identity takes over its route. */
        return zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    if (ch == CH_IOPUB)
        return zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &one, sizeof one);
    return 0;
}

static const int front_types[CH_COUNT] = {ZMQ_ROUTER, ZMQ_XPUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};

static void iopub_resumed(void *ctx)
{
    update_watches(ctx);
}

int proxy_new(struct loop *loop, const struct connection *front, const struct proxy_options *opt,
              const struct proxy_hooks *hooks, struct proxy **out, char *err, size_t errlen)
{
    struct proxy *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    p->loop = loop;
    snprintf(p->log_name, sizeof p->log_name, "%s",
             opt && opt->log_name ? opt->log_name : "spark-k8s");
    p->max_bytes = opt && opt->max_message_bytes ? opt->max_message_bytes : PROXY_DEFAULT_MAX_MESSAGE;
    p->hold_kernel_info = opt && opt->hold_kernel_info;
    p->hooks = *hooks;
    zmessage_init(&p->in);
    ratelog_init(&p->log, loop, p->log_name, opt ? opt->log_interval_ms : 0, 0);
    replay_init(&p->replay);
    msgqueue_init(&p->queue[CH_SHELL], PROXY_QUEUE_SHELL, PROXY_QUEUE_SHELL_BYTES);
    msgqueue_init(&p->queue[CH_CONTROL], PROXY_QUEUE_OTHER, PROXY_QUEUE_OTHER_BYTES);
    msgqueue_init(&p->queue[CH_STDIN], PROXY_QUEUE_OTHER, PROXY_QUEUE_OTHER_BYTES);
    for (int side = FRONT; side <= BACK; side++)
        for (int ch = 0; ch < CH_COUNT; ch++)
            p->watching[side][ch] = -1;
    if (signer_new(front->signature_scheme, front->key, front->key_len, &p->signer, err, errlen))
        goto fail;
    const char *user = getenv("USER");
    session_init(&p->session, p->signer, user);
    p->out = (struct outbox){&p->session, &p->iopub, &p->log, loop};
    p->zmq = zmq_ctx_new();
    if (!p->zmq) {
        snprintf(err, errlen, "cannot create a ZMQ context: %s", zmq_strerror(errno));
        goto fail;
    }
    const struct proxy_curve *curve = opt ? opt->curve : NULL;
    /* The authenticator must be bound before any CURVE server socket. */
    if (curve && zap_new(p->zmq, loop, curve->peer_public_key, &p->log, &p->zap, err, errlen))
        goto fail;
    int ipv6 = strchr(front->ip, ':') != NULL && strcmp(front->transport, "tcp") == 0;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        char endpoint[600];
        p->front[ch] = make_socket(p, front_types[ch], 500);
        if (!p->front[ch] || connection_endpoint(front, ch, endpoint, sizeof endpoint)) {
            snprintf(err, errlen, "cannot create the %s socket", channel_name(ch));
            goto fail;
        }
        if (limit_front(p->front[ch], ch, p->max_bytes, ipv6) ||
            (ch == CH_IOPUB && iopub_init(&p->iopub, p->front[ch], loop, &p->session, &p->log,
                                          iopub_resumed, p))) {
            snprintf(err, errlen, "cannot set the options of the %s socket: %s", channel_name(ch),
                     zmq_strerror(errno));
            goto fail;
        }
        if (curve && apply_curve_server(p->front[ch], curve)) {
            snprintf(err, errlen, "cannot set CURVE keys on the %s socket", channel_name(ch));
            goto fail;
        }
        if (zmq_bind(p->front[ch], endpoint)) {
            snprintf(err, errlen, "cannot bind the %s channel to %s: %s", channel_name(ch), endpoint,
                     zmq_strerror(errno));
            goto fail;
        }
        if (watch_new(p, FRONT, ch, err, errlen))
            goto fail;
    }
    update_watches(p);
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
    if (p->drain_timer)
        loop_timer_cancel(p->loop, p->drain_timer);
    iopub_clear(&p->iopub);
    busy_said_clear(&p->busy_said);
    ratelog_clear(&p->log);
    for (int ch = 0; ch < CH_COUNT; ch++)
        msgqueue_free(&p->queue[ch]);
    zmessage_free(&p->in);
    for (int ch = 0; ch < CH_COUNT; ch++) {
        if (p->front[ch]) {
            loop_unwatch_socket(p->loop, p->front[ch]);
            zmq_close(p->front[ch]);
        }
        if (p->back[ch]) {
            loop_unwatch_socket(p->loop, p->back[ch]);
            zmq_close(p->back[ch]);
        }
    }
    zap_free(p->zap);
    if (p->zmq)
        zmq_ctx_term(p->zmq);
    signer_free(p->signer);
    replay_free(&p->replay);
    free(p->notice);
    free(p->failure);
    free(p->last_execute);
    for (size_t i = 0; i < p->n_progress; i++)
        free(p->progress[i]);
    free(p);
}

/* ---- replies and output of our own --------------------------------------------- */

/* Reply to the request V (received on CH) with CONTENT. */
static void reply(struct proxy *p, enum channel ch, const struct zmessage *m,
                  const struct message_view *v, const char *request_type, json_t *content)
{
    outbox_reply(&p->out, p->front[ch], m->view, v->n_ids, request_type, &v->header, content);
}

static void early_kernel_info(struct proxy *p, const struct zmessage *m,
                              const struct message_view *v)
{
    json_t *content = p->hooks.kernel_info ? p->hooks.kernel_info(p->hooks.ctx) : NULL;
    if (!content)
        content = json_pack("{s:s}", "status", "ok");
    outbox_status(&p->out, &v->header, "busy");
    reply(p, CH_SHELL, m, v, "kernel_info_request", content);
    outbox_status(&p->out, &v->header, "idle");
}

/* Before the first thing we say for a request the runtime has not taken yet: its busy,
 * once (the runtime's own busy for it is dropped when it comes, busy_said.h). */
static void say_busy(struct proxy *p, const struct frame *parent)
{
    struct message_header h;
    if (message_header_read(parent, &h) == MESSAGE_OK && busy_said_add(&p->busy_said, h.msg_id) == 1)
        outbox_status(&p->out, parent, "busy");
}

/* A cell run while the runtime starts hears the start so far, then each new line. */
static void tell_story_so_far(struct proxy *p, const struct frame *parent)
{
    if (p->n_progress)
        say_busy(p, parent);
    for (size_t i = 0; i < p->n_progress; i++)
        outbox_stderr(&p->out, parent, p->progress[i]);
}

/* Answer request M (received on CH) with an error saying REASON: busy, an iopub
 * error, the error reply, idle. */
static void reply_error(struct proxy *p, enum channel ch, const struct zmessage *m,
                        const struct message_view *v, const struct message_header *h,
                        const char *reason, int tell_story)
{
    json_t *tb = json_pack("[s]", reason);
    if (!busy_said_remove(&p->busy_said, h->msg_id)) /* else said already */
        outbox_status(&p->out, &v->header, "busy");
    /* A request that came after the failure hears how the start went, too. */
    if (tell_story)
        tell_story_so_far(p, &v->header);
    outbox_publish(&p->out, "error", &v->header,
                   json_pack("{s:s, s:s, s:O}", "ename", "KernelStartError", "evalue", reason,
                             "traceback", tb));
    json_t *content = json_pack("{s:s, s:s, s:s, s:O}", "status", "error", "ename",
                                "KernelStartError", "evalue", reason, "traceback", tb);
    if (content && strcmp(h->msg_type, "execute_request") == 0)
        json_object_set_new(content, "execution_count", json_integer(0));
    reply(p, ch, m, v, h->msg_type, content);
    outbox_status(&p->out, &v->header, "idle");
    json_decref(tb);
}

/* ---- requests waiting for the runtime ------------------------------------------- */

static void send_notice_if_execute(struct proxy *p, enum channel ch, const struct zmessage *m)
{
    struct message_view v;
    struct message_header h;
    if (!p->notice || ch != CH_SHELL || message_split(m->view, m->n, &v) != MESSAGE_OK ||
        message_header_read(&v.header, &h) != MESSAGE_OK ||
        strcmp(h.msg_type, "execute_request") != 0)
        return;
    say_busy(p, &v.header);
    outbox_stderr(&p->out, &v.header, p->notice);
    free(p->notice);
    p->notice = NULL;
}

/* Send what waits on CH while the runtime takes it; the rest waits for room. */
static void flush_queue(struct proxy *p, enum channel ch)
{
    struct msgqueue *q = &p->queue[ch];
    struct zmessage *m;
    while (p->ready && (m = msgqueue_at(q, 0)) != NULL) {
        send_notice_if_execute(p, ch, m);
        loop_socket_touched(p->loop, p->back[ch]);
        int rc = zmessage_offer(m, p->back[ch]);
        if (rc == 1)
            break;
        if (rc < 0)
            ratelog_drop(&p->log, "dropped a %s request: cannot forward it to the runtime: %s",
                         channel_name(ch), zmq_strerror(errno));
        msgqueue_pop(q);
    }
}

/* A good request for the runtime: straight through when nothing waits before
 * it and the runtime has room; otherwise at the back of its queue. */
static void submit(struct proxy *p, enum channel ch, struct zmessage *m)
{
    if (p->ready && p->queue[ch].n == 0) {
        send_notice_if_execute(p, ch, m);
        loop_socket_touched(p->loop, p->back[ch]);
        int rc = zmessage_offer(m, p->back[ch]);
        if (rc == 0)
            return;
        if (rc < 0) {
            ratelog_drop(&p->log, "dropped a %s request: cannot forward it to the runtime: %s",
                         channel_name(ch), zmq_strerror(errno));
            return;
        }
    }
    if (msgqueue_push(&p->queue[ch], m)) {
        ratelog_drop(&p->log, "dropped a %zu-byte %s request: out of memory", m->bytes,
                     channel_name(ch));
        zmessage_reset(m);
    }
}

void proxy_progress(struct proxy *p, const char *text)
{
    log_line(p->log_name, "%s", text);
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
    struct zmessage *m;
    for (size_t i = 0; (m = msgqueue_at(&p->queue[CH_SHELL], i)) != NULL; i++) {
        struct message_view v;
        if (message_split(m->view, m->n, &v) == MESSAGE_OK) {
            say_busy(p, &v.header);
            outbox_stderr(&p->out, &v.header, text);
        }
    }
}

void proxy_set_notice(struct proxy *p, const char *text)
{
    free(p->notice);
    p->notice = text ? strdup(text) : NULL;
}

void proxy_runtime_failed(struct proxy *p, const char *reason)
{
    log_line(p->log_name, "%s", reason);
    free(p->failure);
    p->failure = strdup(reason);
    static const enum channel order[] = {CH_CONTROL, CH_SHELL, CH_STDIN};
    for (size_t c = 0; c < sizeof order / sizeof order[0]; c++) {
        struct msgqueue *q = &p->queue[order[c]];
        struct zmessage *m;
        while ((m = msgqueue_at(q, 0)) != NULL) {
            struct message_view v;
            struct message_header h;
            if (order[c] != CH_STDIN && message_split(m->view, m->n, &v) == MESSAGE_OK &&
                message_header_read(&v.header, &h) == MESSAGE_OK)
                reply_error(p, order[c], m, &v, &h, reason, 0);
            msgqueue_pop(q);
        }
    }
    update_watches(p);
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
        outbox_stderr(&p->out, &parent, text);
    }
}

/* ---- the runtime's readiness ------------------------------------------------ */

static void send_probe(struct proxy *p)
{
    outbox_request(&p->out, p->back[CH_SHELL], "kernel_info_request", json_object());
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
    flush_queue(p, CH_CONTROL);
    flush_queue(p, CH_SHELL);
    flush_queue(p, CH_STDIN);
    update_watches(p);
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
        int ivl = 10, ivl_max = 200, hwm = IOPUB_HWM, one = 1;
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
        if (strchr(endpoints[ch], '['))
            zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof one);
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
        if (watch_new(p, BACK, ch, err, errlen))
            return -1;
    }
    p->attached = 1;
    p->filter_probe_iopub = 1;
    update_watches(p);
    send_probe(p);
    return 0;
}

/* ---- requests from clients ------------------------------------------------------ */

static int shutdown_restart_flag(const struct message_view *v)
{
    json_t *c = json_loadb(v->content.data, v->content.size, 0, NULL);
    int restart = c && json_is_true(json_object_get(c, "restart"));
    json_decref(c);
    return restart;
}

/* The messages whose effect is the launcher's own, not the runtime's (which
 * refuses replays of what it gets by itself). */
static int acts_on_itself(const struct proxy *p, enum channel ch, const struct message_header *h)
{
    if (p->failure)
        return 1;
    if (strcmp(h->msg_type, "shutdown_request") == 0)
        return 1;
    if (ch == CH_CONTROL && strcmp(h->msg_type, "interrupt_request") == 0)
        return 1;
    return !p->ready && !p->hold_kernel_info && ch == CH_SHELL &&
           strcmp(h->msg_type, "kernel_info_request") == 0;
}

static void handle_control(struct proxy *p, struct zmessage *m, const struct message_view *v,
                           const struct message_header *h)
{
    if (strcmp(h->msg_type, "interrupt_request") == 0) {
        int how = p->ready && p->hooks.interrupt ? p->hooks.interrupt(p->hooks.ctx) : 0;
        if (how == 1) {
            submit(p, CH_CONTROL, m);
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
    submit(p, CH_CONTROL, m);
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
    enum message_status st = m->oversized ? MESSAGE_TOO_LARGE : message_split(m->view, m->n, &v);
    if (st == MESSAGE_OK)
        st = message_verify(p->signer, &v);
    if (st == MESSAGE_OK)
        st = message_header_read(&v.header, &h);
    if (st != MESSAGE_OK) {
        ratelog_drop(&p->log, "dropped a %zu-byte message on %s: %s", m->bytes, channel_name(ch),
                     message_status_text(st));
        zmessage_reset(m);
        return;
    }
    if (acts_on_itself(p, ch, &h) && v.signature.size &&
        replay_seen(&p->replay, v.signature.data, v.signature.size) == 1) {
        ratelog_drop(&p->log, "dropped a %s on %s: a replay (its signature was seen before)",
                     h.msg_type, channel_name(ch));
        zmessage_reset(m);
        return;
    }
    if (p->failure) {
        serve_failed(p, ch, m, &v, &h);
    } else if (ch == CH_CONTROL) {
        handle_control(p, m, &v, &h);
    } else if (ch == CH_SHELL && !p->ready && strcmp(h.msg_type, "kernel_info_request") == 0 &&
               !p->hold_kernel_info) {
        early_kernel_info(p, m, &v);
    } else if (ch == CH_SHELL && !p->ready && strcmp(h.msg_type, "shutdown_request") == 0) {
        handle_control(p, m, &v, &h);
    } else if (ch == CH_STDIN && !p->ready) {
        /* No input_request can have been sent: nobody waits for this reply. */
        ratelog_drop(&p->log, "dropped a %s on stdin: the runtime is not ready", h.msg_type);
    } else {
        if (ch == CH_SHELL && strcmp(h.msg_type, "shutdown_request") == 0)
            p->shutdown_requested = 1;
        if (ch == CH_SHELL && strcmp(h.msg_type, "execute_request") == 0) {
            if (!p->ready) /* a cell run during the start hears it so far, then each new line */
                tell_story_so_far(p, &v.header);
            remember_execute(p, &v.header);
        }
        submit(p, ch, m);
    }
    zmessage_reset(m);
}

static void on_heartbeat(struct proxy *p, struct zmessage *m)
{
    p->last_heartbeat = monotonic_ms();
    if (p->alive && !m->oversized)
        zmessage_send(m, p->front[CH_HB], 0);
    else
        zmessage_reset(m);
}

/* ---- from the runtime ---------------------------------------------------------- */

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
        /* The runtime's own start-up, `status: starting` with no parent: the clients
         * were answered kernel_info here and know the kernel as started; relayed, it
         * would tell them it starts again, in the middle of their first cell. Read only
         * until the runtime is ready. */
        if (!p->ready && v.parent.size <= 2 && frame_contains(&v.header, "\"status\"") &&
            frame_contains(&v.content, "\"starting\"")) {
            zmessage_reset(m);
            return;
        }
        /* The runtime's busy for a request we said busy for already. */
        if (p->busy_said.n && frame_contains(&v.header, "\"status\"") &&
            frame_contains(&v.content, "\"busy\"") && busy_said_take(&p->busy_said, &v.parent)) {
            zmessage_reset(m);
            return;
        }
        /* Our front answers subscriptions itself: drop the runtime's welcomes,
         * which carry no topic frame. */
        if (v.n_ids == 0 && frame_contains(&v.header, "\"iopub_welcome\"")) {
            zmessage_reset(m);
            return;
        }
    }
    iopub_offer(&p->iopub, m);
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
    /* A client that reads nothing loses its own replies at the high-water mark,
     * as with ipykernel's ROUTER; nobody else waits for it. */
    zmessage_send(m, p->front[ch], 0);
    loop_socket_touched(p->loop, p->front[ch]);
}

/* ---- dispatch ------------------------------------------------------------------- */

static void read_front(struct proxy *p, enum channel ch)
{
    void *s = p->front[ch];
    for (int i = 0; i < BATCH; i++) {
        if (ch == CH_IOPUB) {
            iopub_on_readable(&p->iopub, &p->in);
            return;
        }
        if (ch == CH_HB) {
            if (p->draining ||
                zmessage_recv_bounded(&p->in, s, ZMQ_DONTWAIT, PROXY_HB_MAX, 16))
                return;
            on_heartbeat(p, &p->in);
            continue;
        }
        if (p->draining || !msgqueue_has_room(&p->queue[ch]))
            return;
        if (zmessage_recv_bounded(&p->in, s, ZMQ_DONTWAIT, p->max_bytes, PROXY_MAX_FRAMES))
            return;
        on_client_message(p, ch, &p->in);
    }
}

static void read_back(struct proxy *p, enum channel ch)
{
    void *s = p->back[ch];
    for (int i = 0; i < BATCH; i++) {
        if (ch == CH_IOPUB && !iopub_has_room(&p->iopub))
            return;
        if (zmessage_recv(&p->in, s, ZMQ_DONTWAIT))
            return;
        p->last_back_ms = monotonic_ms();
        if (ch == CH_IOPUB) {
            on_runtime_iopub(p, &p->in);
        } else {
            on_runtime_reply(p, ch, &p->in);
        }
    }
}

static void on_socket(void *ctx, void *socket, int events)
{
    struct socket_ref *ref = ctx;
    struct proxy *p = ref->p;
    (void)socket;
    if (ref->side == FRONT) {
        read_front(p, ref->ch);
    } else {
        if (events & LOOP_WRITABLE)
            flush_queue(p, ref->ch);
        if (events & LOOP_READABLE)
            read_back(p, ref->ch);
    }
    update_watches(p);
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
        outbox_request(&p->out, p->back[CH_CONTROL], "interrupt_request", json_object());
}

static void drain_check(void *ctx)
{
    struct proxy *p = ctx;
    p->drain_timer = 0;
    long long now = monotonic_ms();
    long long quiet_at = p->last_back_ms + DRAIN_QUIET_MS;
    if (p->attached && now < p->drain_end && now < quiet_at) {
        long long next = quiet_at < p->drain_end ? quiet_at : p->drain_end;
        int id = loop_timer(p->loop, (long)(next - now), drain_check, p);
        if (id > 0) {
            p->drain_timer = id;
            return;
        }
    }
    void (*done)(void *) = p->drained;
    p->drained = NULL;
    if (done)
        done(p->drained_ctx);
}

void proxy_drain(struct proxy *p, long ms, void (*done)(void *ctx), void *ctx)
{
    long long now = monotonic_ms();
    p->draining = 1;
    p->drained = done;
    p->drained_ctx = ctx;
    p->drain_end = now + (ms > 0 ? ms : 0);
    if (p->last_back_ms < now)
        p->last_back_ms = now; /* quiet is counted from now */
    update_watches(p);
    if (p->drain_timer)
        loop_timer_cancel(p->loop, p->drain_timer);
    p->drain_timer = 0;
    int id = loop_timer(p->loop, p->attached ? DRAIN_QUIET_MS : 0, drain_check, p);
    if (id > 0)
        p->drain_timer = id;
    else
        drain_check(p); /* no timer to be had: end the drain now */
}
