/* test_proxy.c — the relay loop against a fake runtime made of raw ZMQ sockets.
 *
 * The proxy runs its own loop (proxy_run) in a second thread and is driven only through
 * a pipe it watches (attach, stop, alive, runtime failed), so everything it does happens
 * on its own thread. This thread plays both the Jupyter client (DEALER shell/control/stdin
 * with one routing id, SUB iopub, DEALER hb) and the runtime (ROUTER shell/control/stdin,
 * PUB iopub, bound on ipc in a temp dir). Every receive has a generous deadline; nothing
 * asserts on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/connection.h"
#include "kernel/message.h"
#include "kernel/proxy.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"
#include "launcher/janitor.h"

#define KEY "proxy-test-key"
#define CLIENT_ID "client-A"
#define DEADLINE_MS 15000
#define MAX_BYTES 65536

struct fixture {
    char dir[256];
    struct connection front;
    char *back_endpoints[CH_COUNT];
    struct proxy *proxy;
    pthread_t thread;
    int cmd[2];  /* pipe: this thread → the proxy's loop */
    int resp[2]; /* pipe: answers to 'h' (proxy_last_heartbeat) */
    int loop_result;

    atomic_int ready_calls, interrupt_calls, shutdown_early_calls, shutdown_restart;
    atomic_int interrupt_answer; /* what the interrupt hook returns */

    void *zmq;
    void *c_shell, *c_control, *c_stdin, *c_iopub, *c_hb; /* the client */
    void *r_shell, *r_control, *r_stdin, *r_iopub;        /* the runtime */
    struct signer *signer;
    struct session client, runtime;
    struct zmessage m;
};

/* ---- hooks, on the proxy's thread ------------------------------------------------ */

static int hook_interrupt(void *ctx)
{
    struct fixture *fx = ctx;
    atomic_fetch_add(&fx->interrupt_calls, 1);
    return atomic_load(&fx->interrupt_answer);
}

static json_t *hook_kernel_info(void *ctx)
{
    (void)ctx;
    return json_pack("{s:s, s:s, s:s, s:{s:s}}", "status", "ok", "protocol_version", "5.3",
                     "banner", "Spark test banner", "language_info", "name", "python");
}

static void hook_shutdown_early(void *ctx, int restart)
{
    struct fixture *fx = ctx;
    atomic_store(&fx->shutdown_restart, restart);
    atomic_fetch_add(&fx->shutdown_early_calls, 1);
}

static void hook_ready(void *ctx)
{
    struct fixture *fx = ctx;
    atomic_fetch_add(&fx->ready_calls, 1);
}

static void on_command(void *ctx, int fd)
{
    struct fixture *fx = ctx;
    char c;
    if (read(fd, &c, 1) != 1)
        return;
    char err[512];
    switch (c) {
    case 'a':
        if (proxy_attach(fx->proxy, fx->back_endpoints, NULL, err, sizeof err))
            fprintf(stderr, "test_proxy: proxy_attach: %s\n", err);
        break;
    case 'l':
        proxy_set_alive(fx->proxy, 1);
        break;
    case 'f':
        proxy_runtime_failed(fx->proxy, "No module named ipykernel");
        break;
    case 'p':
        proxy_progress(fx->proxy, "pod pending: 0/3 nodes have nvidia.com/gpu");
        break;
    case 'n':
        proxy_set_notice(fx->proxy, "no GPU is visible to this kernel");
        break;
    case 's':
        proxy_stop(fx->proxy, 7);
        break;
    case 'h': {
        long long last = proxy_last_heartbeat(fx->proxy);
        if (write(fx->resp[1], &last, sizeof last) != (ssize_t)sizeof last)
            fprintf(stderr, "test_proxy: cannot answer 'h'\n");
        break;
    }
    }
}

static void *loop_thread(void *arg)
{
    struct fixture *fx = arg;
    fx->loop_result = proxy_run(fx->proxy);
    return NULL;
}

static void command(struct fixture *fx, char c)
{
    assert_int_equal(write(fx->cmd[1], &c, 1), 1);
}

/* Ask the loop for proxy_last_heartbeat. Commands are handled in order on the loop's
 * thread, so when this returns every earlier command, and everything the loop did before
 * it, is done. */
static long long sync_loop(struct fixture *fx)
{
    long long last = -1;
    command(fx, 'h');
    assert_int_equal(read(fx->resp[0], &last, sizeof last), (ssize_t)sizeof last);
    return last;
}

/* ---- sockets ------------------------------------------------------------------------ */

static void *sock(struct fixture *fx, int type)
{
    void *s = zmq_socket(fx->zmq, type);
    assert_non_null(s);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    return s;
}

static void *client_socket(struct fixture *fx, int type, enum channel ch)
{
    void *s = sock(fx, type);
    char ep[600];
    if (type == ZMQ_DEALER)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, CLIENT_ID, strlen(CLIENT_ID));
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    assert_int_equal(connection_endpoint(&fx->front, ch, ep, sizeof ep), 0);
    assert_int_equal(zmq_connect(s, ep), 0);
    return s;
}

static void *runtime_socket(struct fixture *fx, int type, enum channel ch)
{
    void *s = sock(fx, type);
    char ep[400];
    snprintf(ep, sizeof ep, "ipc://%s/rt-%s", fx->dir, channel_name(ch));
    if (type == ZMQ_ROUTER) {
        int one = 1;
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    }
    assert_int_equal(zmq_bind(s, ep), 0);
    fx->back_endpoints[ch] = strdup(ep);
    return s;
}

/* Receive one message on S within the deadline into fx->m. */
static void recv_within(struct fixture *fx, void *s, const char *what)
{
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, DEADLINE_MS) != 1)
        fail_msg("nothing arrived: %s", what);
    assert_int_equal(zmessage_recv(&fx->m, s, ZMQ_DONTWAIT), 0);
}

/* Receive a signed Jupyter message of TYPE on S; V and H describe it (valid until the next
 * receive). */
static void expect(struct fixture *fx, void *s, const char *type, struct message_view *v,
                   struct message_header *h)
{
    recv_within(fx, s, type);
    assert_int_equal(message_split(fx->m.view, fx->m.n, v), MESSAGE_OK);
    assert_int_equal(message_verify(fx->signer, v), MESSAGE_OK);
    assert_int_equal(message_header_read(&v->header, h), MESSAGE_OK);
    if (strcmp(h->msg_type, type) != 0)
        fail_msg("expected %s, got %s", type, h->msg_type);
}

/* Send a message of TYPE from SESS on S after IDS; its msg_id goes to MSG_ID. */
static void send_msg(struct fixture *fx, void *s, struct session *sess, const struct frame *ids,
                     size_t n_ids, const char *type, const struct frame *parent,
                     const char *content_json, char msg_id[37])
{
    (void)fx;
    json_t *content = json_loads(content_json, 0, NULL);
    assert_non_null(content);
    struct outgoing o;
    assert_int_equal(session_build(sess, type, parent, content, &o), 0);
    assert_int_equal(wire_send_outgoing(s, ids, n_ids, &o), 0);
    if (msg_id)
        memcpy(msg_id, o.msg_id, 37);
    outgoing_free(&o);
    json_decref(content);
}

/* The parent header of V has this msg_id. */
static int parent_is(const struct message_view *v, const char *msg_id)
{
    struct message_header ph;
    return message_header_read(&v->parent, &ph) == MESSAGE_OK && strcmp(ph.msg_id, msg_id) == 0;
}

static int setup_with(void **state, size_t max_bytes)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/test_proxy.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->dir))
        return -1;
    zmessage_init(&fx->m);
    snprintf(fx->front.transport, sizeof fx->front.transport, "ipc");
    snprintf(fx->front.ip, sizeof fx->front.ip, "%s/front", fx->dir);
    snprintf(fx->front.signature_scheme, sizeof fx->front.signature_scheme, "hmac-sha256");
    for (int ch = 0; ch < CH_COUNT; ch++)
        fx->front.ports[ch] = ch + 1;
    if (connection_set_key(&fx->front, KEY, strlen(KEY)))
        return -1;
    char err[512];
    if (signer_new("hmac-sha256", KEY, strlen(KEY), &fx->signer, err, sizeof err))
        return -1;
    session_init(&fx->client, fx->signer, "client");
    session_init(&fx->runtime, fx->signer, "runtime");
    atomic_store(&fx->interrupt_answer, 0);

    fx->zmq = zmq_ctx_new();
    fx->r_shell = runtime_socket(fx, ZMQ_ROUTER, CH_SHELL);
    fx->r_control = runtime_socket(fx, ZMQ_ROUTER, CH_CONTROL);
    fx->r_stdin = runtime_socket(fx, ZMQ_ROUTER, CH_STDIN);
    fx->r_iopub = runtime_socket(fx, ZMQ_PUB, CH_IOPUB);
    fx->back_endpoints[CH_HB] = strdup("ipc://unused-hb");

    struct proxy_hooks hooks = {.ctx = fx,
                                .interrupt = hook_interrupt,
                                .kernel_info = hook_kernel_info,
                                .shutdown_early = hook_shutdown_early,
                                .ready = hook_ready};
    struct proxy_options opt = {.max_message_bytes = max_bytes, .log_name = "test_proxy"};
    if (proxy_new(&fx->front, &opt, &hooks, &fx->proxy, err, sizeof err)) {
        fprintf(stderr, "proxy_new: %s\n", err);
        return -1;
    }
    if (pipe(fx->cmd) || pipe(fx->resp) || proxy_watch_fd(fx->proxy, fx->cmd[0], on_command, fx))
        return -1;
    if (pthread_create(&fx->thread, NULL, loop_thread, fx))
        return -1;

    fx->c_shell = client_socket(fx, ZMQ_DEALER, CH_SHELL);
    fx->c_control = client_socket(fx, ZMQ_DEALER, CH_CONTROL);
    fx->c_stdin = client_socket(fx, ZMQ_DEALER, CH_STDIN);
    fx->c_hb = client_socket(fx, ZMQ_DEALER, CH_HB);
    fx->c_iopub = client_socket(fx, ZMQ_SUB, CH_IOPUB);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, 0);
}

static int setup_small_cap(void **state)
{
    return setup_with(state, MAX_BYTES);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    command(fx, 's');
    pthread_join(fx->thread, NULL);
    int stopped_right = fx->loop_result == 7;
    proxy_free(fx->proxy);
    zmessage_free(&fx->m);
    void *socks[] = {fx->c_shell, fx->c_control, fx->c_stdin, fx->c_hb, fx->c_iopub,
                     fx->r_shell, fx->r_control, fx->r_stdin, fx->r_iopub};
    for (size_t i = 0; i < sizeof socks / sizeof *socks; i++)
        zmq_close(socks[i]);
    zmq_ctx_term(fx->zmq);
    for (int ch = 0; ch < CH_COUNT; ch++)
        free(fx->back_endpoints[ch]);
    close(fx->cmd[0]);
    close(fx->cmd[1]);
    close(fx->resp[0]);
    close(fx->resp[1]);
    signer_free(fx->signer);
    connection_clear(&fx->front);
    int rc = remove_tree(fx->dir);
    free(fx);
    return stopped_right && rc == 0 ? 0 : -1;
}

/* The welcome every subscription gets (JEP 65); consumed before other iopub checks. */
static void expect_welcome(struct fixture *fx)
{
    struct message_view v;
    struct message_header h;
    expect(fx, fx->c_iopub, "iopub_welcome", &v, &h);
    json_t *c = json_loadb(v.content.data, v.content.size, 0, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "subscription")), "");
    json_decref(c);
}

/* Play the runtime until the proxy is ready: answer every probe (a kernel_info_request
 * with no client identity) on shell, with its status on iopub. Returns with the first
 * message that is not a probe in fx->m (its view in V), or fails at the deadline. */
static void serve_probes_until_request(struct fixture *fx, struct message_view *v)
{
    for (;;) {
        struct message_header h;
        recv_within(fx, fx->r_shell, "a probe or a released request");
        assert_int_equal(message_split(fx->m.view, fx->m.n, v), MESSAGE_OK);
        assert_int_equal(message_verify(fx->signer, v), MESSAGE_OK);
        assert_int_equal(message_header_read(&v->header, &h), MESSAGE_OK);
        if (v->n_ids != 1 || strcmp(h.msg_type, "kernel_info_request") != 0)
            return;
        /* A probe: status on iopub, then the reply to the proxy's routing id. */
        char *header = strndup(v->header.data, v->header.size);
        struct frame parent = {header, strlen(header)};
        struct frame topic = {"kernel.status", 13};
        send_msg(fx, fx->r_iopub, &fx->runtime, &topic, 1, "status", &parent,
                 "{\"execution_state\":\"busy\"}", NULL);
        send_msg(fx, fx->r_iopub, &fx->runtime, &topic, 1, "status", &parent,
                 "{\"execution_state\":\"idle\"}", NULL);
        /* Copied: the frames of fx->m stay valid, but keep the reply independent. */
        char *rid_copy = malloc(fx->m.view[0].size);
        memcpy(rid_copy, fx->m.view[0].data, fx->m.view[0].size);
        struct frame rid = {rid_copy, fx->m.view[0].size};
        send_msg(fx, fx->r_shell, &fx->runtime, &rid, 1, "kernel_info_reply", &parent,
                 "{\"status\":\"ok\"}", NULL);
        free(rid_copy);
        free(header);
    }
}

/* Before the runtime is attached: kernel_info is answered by the proxy, other shell
 * requests wait; once the runtime answers the probe they arrive in order, unchanged. */
static void test_held_then_released_in_order(void **state)
{
    struct fixture *fx = *state;
    expect_welcome(fx);
    struct message_view v;
    struct message_header h;
    char ids[3][37], info_id[37];
    for (int i = 0; i < 3; i++) {
        char content[64];
        snprintf(content, sizeof content, "{\"code\":\"x = %d\",\"silent\":false}", i);
        send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, content, ids[i]);
    }
    /* kernel_info, sent after them, is answered first: the others are held. */
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "kernel_info_request", NULL, "{}", info_id);
    expect(fx, fx->c_shell, "kernel_info_reply", &v, &h);
    assert_true(parent_is(&v, info_id));
    assert_int_equal(v.n_ids, 0); /* the DEALER took the routing frame */
    json_t *c = json_loadb(v.content.data, v.content.size, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(c, "banner")), "Spark test banner");
    json_decref(c);
    expect(fx, fx->c_iopub, "status", &v, &h);
    assert_true(parent_is(&v, info_id));
    assert_true(frame_contains(&v.content, "busy"));
    expect(fx, fx->c_iopub, "status", &v, &h);
    assert_true(frame_contains(&v.content, "idle"));
    assert_int_equal(atomic_load(&fx->ready_calls), 0);

    command(fx, 'a');
    serve_probes_until_request(fx, &v);
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            recv_within(fx, fx->r_shell, "held request");
            assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
        }
        /* [proxy routing id, client id, <IDS|MSG>, ...]: the client's identity travels. */
        assert_int_equal(v.n_ids, 2);
        assert_int_equal(fx->m.view[1].size, strlen(CLIENT_ID));
        assert_memory_equal(fx->m.view[1].data, CLIENT_ID, strlen(CLIENT_ID));
        assert_int_equal(message_verify(fx->signer, &v), MESSAGE_OK); /* not re-signed */
        assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
        assert_string_equal(h.msg_type, "execute_request");
        if (strcmp(h.msg_id, ids[i]) != 0)
            fail_msg("request %d arrived out of order (%s)", i, h.msg_id);
    }
    sync_loop(fx); /* the hook runs after the held requests are sent */
    assert_int_equal(atomic_load(&fx->ready_calls), 1);
}

/* After the probe: a reply of the runtime reaches the client that asked; input_request on
 * stdin reaches the same client because the proxy's shell and stdin share a routing id;
 * input_reply goes back with that id. */
static void ready_runtime(struct fixture *fx)
{
    expect_welcome(fx);
    command(fx, 'a');
    char id[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL,
             "{\"code\":\"input()\",\"allow_stdin\":true}", id);
    struct message_view v;
    serve_probes_until_request(fx, &v);
    struct message_header h;
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, id);
}

static void test_stdin_routing_id_shared(void **state)
{
    struct fixture *fx = *state;
    ready_runtime(fx);
    /* fx->m holds [proxy rid, client id, <IDS|MSG>, ...] of the execute_request. */
    size_t rid_len = fx->m.view[0].size;
    char rid[256];
    assert_true(rid_len < sizeof rid);
    memcpy(rid, fx->m.view[0].data, rid_len);
    struct message_view v;
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    char *exec_header = strndup(v.header.data, v.header.size);
    struct frame parent = {exec_header, strlen(exec_header)};
    struct frame ids[2] = {{rid, rid_len}, {CLIENT_ID, strlen(CLIENT_ID)}};

    /* The runtime asks for input on stdin, addressed with the shell's routing id. */
    char req_id[37];
    send_msg(fx, fx->r_stdin, &fx->runtime, ids, 2, "input_request", &parent,
             "{\"prompt\":\"name? \",\"password\":false}", req_id);
    struct message_header h;
    expect(fx, fx->c_stdin, "input_request", &v, &h);
    assert_string_equal(h.msg_id, req_id);
    assert_true(frame_contains(&v.content, "name? "));
    char *req_header = strndup(v.header.data, v.header.size);
    struct frame req_parent = {req_header, strlen(req_header)};

    char reply_id[37];
    send_msg(fx, fx->c_stdin, &fx->client, NULL, 0, "input_reply", &req_parent,
             "{\"value\":\"Ada\"}", reply_id);
    recv_within(fx, fx->r_stdin, "input_reply at the runtime");
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(v.n_ids, 2);
    assert_int_equal(fx->m.view[0].size, rid_len); /* the same routing id as on shell */
    assert_memory_equal(fx->m.view[0].data, rid, rid_len);
    assert_memory_equal(fx->m.view[1].data, CLIENT_ID, strlen(CLIENT_ID));
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, reply_id);

    /* The execute_reply reaches the client, unchanged. */
    send_msg(fx, fx->r_shell, &fx->runtime, ids, 2, "execute_reply", &parent,
             "{\"status\":\"ok\",\"execution_count\":1}", NULL);
    expect(fx, fx->c_shell, "execute_reply", &v, &h);
    free(req_header);
    free(exec_header);
}

/* Two clients at once: each reply goes back to the client that asked, by its identity. */
static void test_two_clients(void **state)
{
    struct fixture *fx = *state;
    ready_runtime(fx);
    size_t rid_len = fx->m.view[0].size;
    char rid[256];
    assert_true(rid_len < sizeof rid);
    memcpy(rid, fx->m.view[0].data, rid_len);

    void *second = sock(fx, ZMQ_DEALER);
    zmq_setsockopt(second, ZMQ_ROUTING_ID, "client-B", 8);
    char ep[600];
    assert_int_equal(connection_endpoint(&fx->front, CH_SHELL, ep, sizeof ep), 0);
    assert_int_equal(zmq_connect(second, ep), 0);
    struct session other;
    session_init(&other, fx->signer, "other");
    char b_id[37];
    send_msg(fx, second, &other, NULL, 0, "complete_request", NULL,
             "{\"code\":\"pri\",\"cursor_pos\":3}", b_id);
    recv_within(fx, fx->r_shell, "client B's request");
    struct message_view v;
    struct message_header h;
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(v.n_ids, 2);
    assert_memory_equal(fx->m.view[1].data, "client-B", 8);
    char *b_header = strndup(v.header.data, v.header.size);
    struct frame b_parent = {b_header, strlen(b_header)};

    /* Answer B first, then A; each socket gets only its own reply. */
    struct frame to_b[2] = {{rid, rid_len}, {"client-B", 8}};
    struct frame to_a[2] = {{rid, rid_len}, {CLIENT_ID, strlen(CLIENT_ID)}};
    send_msg(fx, fx->r_shell, &fx->runtime, to_b, 2, "complete_reply", &b_parent,
             "{\"status\":\"ok\",\"matches\":[\"print\"]}", NULL);
    send_msg(fx, fx->r_shell, &fx->runtime, to_a, 2, "execute_reply", NULL,
             "{\"status\":\"ok\"}", NULL);
    expect(fx, second, "complete_reply", &v, &h);
    assert_true(parent_is(&v, b_id));
    expect(fx, fx->c_shell, "execute_reply", &v, &h);
    free(b_header);
    zmq_close(second);
}

/* A message with a wrong signature is dropped; the next good one passes. */
static void test_forged_message_dropped(void **state)
{
    struct fixture *fx = *state;
    ready_runtime(fx);
    struct signer *other = NULL;
    char err[128];
    assert_int_equal(signer_new("hmac-sha256", "not-the-key", 11, &other, err, sizeof err), 0);
    struct session forger;
    session_init(&forger, other, "mallory");
    send_msg(fx, fx->c_shell, &forger, NULL, 0, "execute_request", NULL,
             "{\"code\":\"import os; os.system('rm -rf ~')\"}", NULL);
    /* Unsigned, too few frames, and a header that is not JSON: dropped as well. */
    zmq_send(fx->c_shell, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN, ZMQ_SNDMORE);
    zmq_send(fx->c_shell, "", 0, ZMQ_SNDMORE);
    zmq_send(fx->c_shell, "{}", 2, 0);
    char good[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL,
             "{\"code\":\"1\"}", good);
    recv_within(fx, fx->r_shell, "the good request");
    struct message_view v;
    struct message_header h;
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    if (strcmp(h.msg_id, good) != 0)
        fail_msg("a forged message reached the runtime: %.*s", (int)v.content.size,
                 (const char *)v.content.data);
    signer_free(other);
}

/* Over the size cap: dropped; the next one passes. */
static void test_oversized_message_dropped(void **state)
{
    struct fixture *fx = *state;
    ready_runtime(fx);
    char *big = malloc(MAX_BYTES + 100);
    memset(big, 'x', MAX_BYTES + 99);
    big[MAX_BYTES + 99] = '\0';
    char *content = malloc(MAX_BYTES + 200);
    snprintf(content, MAX_BYTES + 200, "{\"code\":\"%s\"}", big);
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, content, NULL);
    char good[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, "{\"code\":\"2\"}",
             good);
    recv_within(fx, fx->r_shell, "the small request");
    struct message_view v;
    struct message_header h;
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, good);
    free(big);
    free(content);
}

/* iopub from the runtime reaches the client; the runtime's own welcome does not. */
static void test_iopub_relay_drops_upstream_welcome(void **state)
{
    struct fixture *fx = *state;
    ready_runtime(fx);
    send_msg(fx, fx->r_iopub, &fx->runtime, NULL, 0, "iopub_welcome", NULL,
             "{\"subscription\":\"\"}", NULL);
    struct frame topic = {"kernel.stream", 13};
    char stream_id[37];
    send_msg(fx, fx->r_iopub, &fx->runtime, &topic, 1, "stream", NULL,
             "{\"name\":\"stdout\",\"text\":\"hello\\n\"}", stream_id);
    struct message_view v;
    struct message_header h;
    recv_within(fx, fx->c_iopub, "stream");
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    if (strcmp(h.msg_type, "stream") != 0)
        fail_msg("expected the stream, got %s", h.msg_type);
    assert_string_equal(h.msg_id, stream_id);
    assert_int_equal(v.n_ids, 1); /* the topic travels */
    assert_memory_equal(fx->m.view[0].data, "kernel.stream", 13);
    assert_int_equal(message_verify(fx->signer, &v), MESSAGE_OK);
}

/* A second subscriber gets a welcome of its own. */
static void test_welcome_per_subscription(void **state)
{
    struct fixture *fx = *state;
    expect_welcome(fx);
    void *second = client_socket(fx, ZMQ_SUB, CH_IOPUB);
    struct message_view v;
    struct message_header h;
    expect(fx, second, "iopub_welcome", &v, &h);
    zmq_close(second);
}

static void test_interrupt(void **state)
{
    struct fixture *fx = *state;
    struct message_view v;
    struct message_header h;
    char id[37];
    /* Before the runtime is ready: answered, the hook is not called. */
    send_msg(fx, fx->c_control, &fx->client, NULL, 0, "interrupt_request", NULL, "{}", id);
    expect(fx, fx->c_control, "interrupt_reply", &v, &h);
    assert_true(parent_is(&v, id));
    assert_int_equal(atomic_load(&fx->interrupt_calls), 0);

    ready_runtime(fx);
    /* The hook interrupts: the proxy replies ok. */
    send_msg(fx, fx->c_control, &fx->client, NULL, 0, "interrupt_request", NULL, "{}", id);
    expect(fx, fx->c_control, "interrupt_reply", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "\"ok\""));
    assert_int_equal(atomic_load(&fx->interrupt_calls), 1);
    /* The hook fails: an error reply. */
    atomic_store(&fx->interrupt_answer, -1);
    send_msg(fx, fx->c_control, &fx->client, NULL, 0, "interrupt_request", NULL, "{}", id);
    expect(fx, fx->c_control, "interrupt_reply", &v, &h);
    assert_true(frame_contains(&v.content, "\"error\""));
    /* The hook asks to forward: the runtime gets the request itself. */
    atomic_store(&fx->interrupt_answer, 1);
    send_msg(fx, fx->c_control, &fx->client, NULL, 0, "interrupt_request", NULL, "{}", id);
    recv_within(fx, fx->r_control, "forwarded interrupt_request");
    assert_int_equal(message_split(fx->m.view, fx->m.n, &v), MESSAGE_OK);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, id);
    assert_int_equal(atomic_load(&fx->interrupt_calls), 3);
}

/* Heartbeats are echoed only while the runtime is alive. */
static void test_heartbeat_only_when_alive(void **state)
{
    struct fixture *fx = *state;
    zmq_send(fx->c_hb, "ping-1", 6, 0); /* not alive: no echo */
    /* Wait until the proxy has seen ping-1 (it notes the time even when it does not echo),
     * so that it is handled before the runtime is declared alive. */
    long long last = 0;
    for (int tries = 0; last == 0 && tries < DEADLINE_MS; tries++)
        if ((last = sync_loop(fx)) == 0)
            usleep(1000);
    assert_true(last > 0);
    command(fx, 'l');
    sync_loop(fx); /* alive before ping-2 can arrive */
    zmq_send(fx->c_hb, "ping-2", 6, 0);
    recv_within(fx, fx->c_hb, "heartbeat echo");
    assert_int_equal(fx->m.n, 1);
    assert_int_equal(fx->m.view[0].size, 6);
    if (memcmp(fx->m.view[0].data, "ping-2", 6) != 0)
        fail_msg("echoed %.6s while the runtime was not alive", (const char *)fx->m.view[0].data);
}

/* The runtime cannot start: each held request gets an error reply and an iopub error. */
static void test_runtime_failed(void **state)
{
    struct fixture *fx = *state;
    expect_welcome(fx);
    char id[37], info[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, "{\"code\":\"1\"}",
             id);
    /* A round trip through the proxy proves the request is held before the failure. */
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "kernel_info_request", NULL, "{}", info);
    struct message_view v;
    struct message_header h;
    expect(fx, fx->c_shell, "kernel_info_reply", &v, &h);
    expect(fx, fx->c_iopub, "status", &v, &h);
    expect(fx, fx->c_iopub, "status", &v, &h);
    command(fx, 'f');
    expect(fx, fx->c_iopub, "status", &v, &h);
    assert_true(parent_is(&v, id));
    expect(fx, fx->c_iopub, "error", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "No module named ipykernel"));
    expect(fx, fx->c_iopub, "status", &v, &h);
    expect(fx, fx->c_shell, "execute_reply", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "\"error\""));
    assert_true(frame_contains(&v.content, "No module named ipykernel"));
}

/* Progress while the runtime starts reaches each waiting request as stderr output; a
 * notice goes out once, with the first execute_request forwarded. */
static void test_progress_and_notice(void **state)
{
    struct fixture *fx = *state;
    expect_welcome(fx);
    char id[37], info[37];
    command(fx, 'n');
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, "{\"code\":\"1\"}",
             id);
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "kernel_info_request", NULL, "{}", info);
    struct message_view v;
    struct message_header h;
    expect(fx, fx->c_shell, "kernel_info_reply", &v, &h);
    expect(fx, fx->c_iopub, "status", &v, &h);
    expect(fx, fx->c_iopub, "status", &v, &h);
    command(fx, 'p');
    expect(fx, fx->c_iopub, "stream", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "\"stderr\""));
    assert_true(frame_contains(&v.content, "pod pending: 0/3 nodes have nvidia.com/gpu\\n"));

    command(fx, 'a');
    serve_probes_until_request(fx, &v);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, id);
    expect(fx, fx->c_iopub, "stream", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "no GPU is visible to this kernel"));
    /* Once only: the next execute gets no notice; the runtime's own output comes next. */
    char id2[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, "{\"code\":\"2\"}",
             id2);
    recv_within(fx, fx->r_shell, "second execute");
    struct frame topic = {"kernel.status", 13};
    char marker[37];
    send_msg(fx, fx->r_iopub, &fx->runtime, &topic, 1, "status", NULL,
             "{\"execution_state\":\"busy\"}", marker);
    expect(fx, fx->c_iopub, "status", &v, &h);
    assert_string_equal(h.msg_id, marker);
}

/* A cell run after the start began hears the lines so far at once, then each new one. */
static void test_late_request_hears_the_start_so_far(void **state)
{
    struct fixture *fx = *state;
    expect_welcome(fx);
    command(fx, 'p');
    sync_loop(fx);
    char id[37];
    send_msg(fx, fx->c_shell, &fx->client, NULL, 0, "execute_request", NULL, "{\"code\":\"1\"}",
             id);
    struct message_view v;
    struct message_header h;
    expect(fx, fx->c_iopub, "stream", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "pod pending: 0/3 nodes have nvidia.com/gpu\\n"));
    command(fx, 'p');
    expect(fx, fx->c_iopub, "stream", &v, &h);
    assert_true(parent_is(&v, id));
    command(fx, 'a');
    serve_probes_until_request(fx, &v);
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, id);
}

/* shutdown_request before the runtime is ready: replied, and the launcher is told. */
static void test_shutdown_early(void **state)
{
    struct fixture *fx = *state;
    char id[37];
    send_msg(fx, fx->c_control, &fx->client, NULL, 0, "shutdown_request", NULL,
             "{\"restart\":true}", id);
    struct message_view v;
    struct message_header h;
    expect(fx, fx->c_control, "shutdown_reply", &v, &h);
    assert_true(parent_is(&v, id));
    assert_true(frame_contains(&v.content, "\"restart\":true"));
    sync_loop(fx); /* the hook runs after the reply is sent */
    assert_int_equal(atomic_load(&fx->shutdown_early_calls), 1);
    assert_int_equal(atomic_load(&fx->shutdown_restart), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_then_released_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_routing_id_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_message_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_message_dropped, setup_small_cap, teardown),
        cmocka_unit_test_setup_teardown(test_iopub_relay_drops_upstream_welcome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_welcome_per_subscription, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_only_when_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_request_hears_the_start_so_far, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_and_notice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_early, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
