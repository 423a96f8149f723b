/* test_wire.c — multipart ZMQ messages over inproc PAIR sockets: sizes and order intact,
 * growth past the first allocation, partial sends, relays without copying, failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kernel/message.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "kernel/wire.h"

struct pairs {
    void *ctx;
    void *a, *b; /* inproc://wire-ab */
    void *c, *d; /* inproc://wire-cd */
    struct zmessage m; /* freed by teardown, even after a failed test */
};

static void *pair_socket(void *ctx)
{
    void *s = zmq_socket(ctx, ZMQ_PAIR);
    assert_non_null(s);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger), 0);
    return s;
}

static int setup(void **state)
{
    struct pairs *p = calloc(1, sizeof *p);
    p->ctx = zmq_ctx_new();
    p->a = pair_socket(p->ctx);
    p->b = pair_socket(p->ctx);
    p->c = pair_socket(p->ctx);
    p->d = pair_socket(p->ctx);
    if (zmq_bind(p->b, "inproc://wire-ab") || zmq_connect(p->a, "inproc://wire-ab") ||
        zmq_bind(p->d, "inproc://wire-cd") || zmq_connect(p->c, "inproc://wire-cd"))
        return -1;
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    struct pairs *p = *state;
    zmessage_free(&p->m);
    zmq_close(p->a);
    zmq_close(p->b);
    zmq_close(p->c);
    zmq_close(p->d);
    zmq_ctx_term(p->ctx);
    free(p);
    return 0;
}

/* Frame I of a test message: SIZE bytes, each derived from I and its position. */
static unsigned char *pattern(size_t i, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    for (size_t k = 0; k < size; k++)
        b[k] = (unsigned char)(i * 31 + k * 7);
    return b;
}

static void send_frames(void *sock, const size_t *sizes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *b = pattern(i, sizes[i]);
        assert_int_equal(zmq_send(sock, b, sizes[i], i + 1 < n ? ZMQ_SNDMORE : 0), (int)sizes[i]);
        free(b);
    }
}

static void check_frames(const struct zmessage *m, const size_t *sizes, size_t n, size_t from)
{
    assert_int_equal(m->n, n - from);
    size_t total = 0;
    for (size_t i = from; i < n; i++) {
        const struct frame *f = &m->view[i - from];
        assert_int_equal(f->size, sizes[i]);
        assert_ptr_equal(f->data, zmq_msg_data(&m->frames[i - from]));
        unsigned char *want = pattern(i, sizes[i]);
        if (sizes[i] && memcmp(f->data, want, sizes[i]) != 0)
            fail_msg("frame %zu differs", i);
        free(want);
        total += sizes[i];
    }
    assert_int_equal(m->bytes, total);
}

static void test_recv_sizes_and_order(void **state)
{
    struct pairs *p = *state;
    const size_t sizes[] = {0, 1, 9, 33, 34, 4096, 1 << 20, 0}; /* VSM up to 33 bytes */
    const size_t n = sizeof sizes / sizeof *sizes;
    struct zmessage m;
    zmessage_init(&m);
    for (int round = 0; round < 3; round++) { /* the arrays are reused between receives */
        send_frames(p->a, sizes, n);
        assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
        check_frames(&m, sizes, n, 0);
    }
    /* A single empty frame is a message too. */
    const size_t one[] = {0};
    send_frames(p->a, one, 1);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    check_frames(&m, one, 1, 0);
    zmessage_free(&m);
    assert_int_equal(m.n, 0);
    assert_null(m.frames);
}

/* More frames than the first allocation holds (8): the views must follow the frames.
 * A frame of at most 33 bytes keeps its data inside its zmq_msg_t (ZMQ's "very small
 * message"), so growing the frame array moves that data; a Jupyter message of 9 or more
 * frames (an identity + comm_msg with two buffers) hits this. This test caught views
 * left pointing into the freed array (fixed in grow()). */
static void test_recv_many_frames(void **state)
{
    struct pairs *p = *state;
    enum { N = 300 };
    size_t sizes[N];
    for (size_t i = 0; i < N; i++)
        sizes[i] = (i * 13) % 70;
    send_frames(p->a, sizes, N);
    assert_int_equal(zmessage_recv(&p->m, p->b, 0), 0);
    check_frames(&p->m, sizes, N, 0);
    assert_true(p->m.cap >= N);
}

/* The same bug as a Jupyter message: an identity, the five parts and two buffers. */
static void test_recv_nine_frame_message(void **state)
{
    struct pairs *p = *state;
    const char *sig = "0123456789012345678901234567890123456789012345678901234567890123";
    const char *frames[] = {"client", MESSAGE_DELIMITER, sig,
                            "{\"msg_id\":\"m\",\"msg_type\":\"comm_msg\"}", "{}", "{}", "{}",
                            "b1", "b2"};
    for (int i = 0; i < 9; i++)
        assert_int_equal(zmq_send(p->a, frames[i], strlen(frames[i]), i < 8 ? ZMQ_SNDMORE : 0),
                         (int)strlen(frames[i]));
    assert_int_equal(zmessage_recv(&p->m, p->b, 0), 0);
    assert_int_equal(p->m.n, 9);
    for (size_t i = 0; i < 9; i++) /* checked before any read through a view */
        assert_ptr_equal(p->m.view[i].data, zmq_msg_data(&p->m.frames[i]));
    struct message_view v;
    assert_int_equal(message_split(p->m.view, p->m.n, &v), MESSAGE_OK);
    assert_int_equal(v.n_ids, 1);
    assert_int_equal(v.n_buffers, 2);
    assert_memory_equal(v.parent.data, "{}", 2);
}

static void test_recv_nothing_waiting(void **state)
{
    struct pairs *p = *state;
    struct zmessage m;
    zmessage_init(&m);
    errno = 0;
    assert_int_equal(zmessage_recv(&m, p->b, ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.bytes, 0);
    /* A message held from before is released by a failed receive. */
    const size_t sizes[] = {5, 6};
    send_frames(p->a, sizes, 2);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    assert_int_equal(zmessage_recv(&m, p->b, ZMQ_DONTWAIT), -1);
    assert_int_equal(m.n, 0);
    zmessage_free(&m);
}

/* Receive on one pair, send on the other: frames [from, n) arrive, M is left empty. */
static void test_send_from(void **state)
{
    struct pairs *p = *state;
    const size_t sizes[] = {3, 0, 9, 40, 5000, 1};
    const size_t n = sizeof sizes / sizeof *sizes;
    struct zmessage m, out;
    zmessage_init(&m);
    zmessage_init(&out);
    for (size_t from = 0; from < n; from++) {
        send_frames(p->a, sizes, n);
        assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
        assert_int_equal(zmessage_send(&m, p->c, from), 0);
        assert_int_equal(m.n, 0);
        assert_int_equal(m.bytes, 0);
        assert_int_equal(zmessage_recv(&out, p->d, 0), 0);
        /* Frame numbers in the received message start at FROM in the pattern. */
        assert_int_equal(out.n, n - from);
        for (size_t i = from; i < n; i++) {
            unsigned char *want = pattern(i, sizes[i]);
            assert_int_equal(out.view[i - from].size, sizes[i]);
            if (sizes[i])
                assert_memory_equal(out.view[i - from].data, want, sizes[i]);
            free(want);
        }
    }
    zmessage_free(&m);
    zmessage_free(&out);
}

static int freed;
static void count_free(void *data, void *hint)
{
    (void)hint;
    free(data);
    freed++;
}

/* A relay a → b → c → d moves the same buffer: the data pointer seen at the end is the
 * one given to zmq_msg_init_data, and it is freed exactly once, when the last holder
 * lets go. (inproc hands messages over without copying; large ones by reference.) */
static void test_relay_zero_copy(void **state)
{
    struct pairs *p = *state;
    enum { SIZE = 1 << 16 };
    unsigned char *buf = pattern(7, SIZE);
    freed = 0;
    zmq_msg_t msg;
    assert_int_equal(zmq_msg_init_data(&msg, buf, SIZE, count_free, NULL), 0);
    assert_int_equal(zmq_send(p->a, "id", 2, ZMQ_SNDMORE), 2);
    assert_int_equal(zmq_msg_send(&msg, p->a, 0), SIZE);

    struct zmessage m, out;
    zmessage_init(&m);
    zmessage_init(&out);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    assert_int_equal(m.n, 2);
    assert_ptr_equal(m.view[1].data, buf);
    assert_int_equal(zmessage_send(&m, p->c, 0), 0);
    assert_int_equal(freed, 0); /* in flight: still owned by ZMQ */
    assert_int_equal(zmessage_recv(&out, p->d, 0), 0);
    assert_int_equal(out.n, 2);
    assert_memory_equal(out.view[0].data, "id", 2);
    assert_ptr_equal(out.view[1].data, buf);
    assert_int_equal(out.view[1].size, SIZE);
    assert_int_equal(freed, 0);
    zmessage_reset(&out);
    assert_int_equal(freed, 1);
    zmessage_free(&m);
    zmessage_free(&out);
    assert_int_equal(freed, 1);
}

static void test_move(void **state)
{
    struct pairs *p = *state;
    const size_t sizes[] = {4, 44};
    struct zmessage m, held;
    zmessage_init(&m);
    zmessage_init(&held);
    send_frames(p->a, sizes, 2);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    const void *data = m.view[1].data;
    zmessage_move(&held, &m);
    assert_int_equal(m.n, 0);
    assert_null(m.frames);
    assert_int_equal(held.n, 2);
    assert_ptr_equal(held.view[1].data, data);
    check_frames(&held, sizes, 2, 0);
    /* M receives again while HELD keeps its frames. */
    send_frames(p->a, sizes, 1);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    assert_int_equal(m.n, 1);
    check_frames(&held, sizes, 2, 0);
    /* Held frames can be sent later. */
    assert_int_equal(zmessage_send(&held, p->c, 0), 0);
    struct zmessage out;
    zmessage_init(&out);
    assert_int_equal(zmessage_recv(&out, p->d, 0), 0);
    check_frames(&out, sizes, 2, 0);
    zmessage_free(&m);
    zmessage_free(&held);
    zmessage_free(&out);
}

/* A send that cannot happen fails with errno, and every frame is still released. */
static void test_send_failure_releases(void **state)
{
    struct pairs *p = *state;
    void *lonely = pair_socket(p->ctx); /* no peer: nothing can be sent */
    int zero = 0;
    assert_int_equal(zmq_setsockopt(lonely, ZMQ_SNDTIMEO, &zero, sizeof zero), 0);
    enum { SIZE = 4096 };
    freed = 0;
    zmq_msg_t msg;
    assert_int_equal(zmq_msg_init_data(&msg, pattern(1, SIZE), SIZE, count_free, NULL), 0);
    assert_int_equal(zmq_send(p->a, "x", 1, ZMQ_SNDMORE), 1);
    assert_int_equal(zmq_msg_send(&msg, p->a, 0), SIZE);
    struct zmessage m;
    zmessage_init(&m);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    errno = 0;
    assert_int_equal(zmessage_send(&m, lonely, 0), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(m.n, 0);
    assert_int_equal(freed, 1);
    zmessage_free(&m);
    zmq_close(lonely);
}

/* A message built by session_build, sent after two identities, reads back intact. */
static void test_send_outgoing(void **state)
{
    struct pairs *p = *state;
    struct signer *signer = NULL;
    char err[128];
    assert_int_equal(signer_new("hmac-sha256", "wire-key", 8, &signer, err, sizeof err), 0);
    struct session sess;
    session_init(&sess, signer, "w");
    json_t *content = json_pack("{s:s}", "execution_state", "idle");
    struct outgoing o;
    assert_int_equal(session_build(&sess, "status", NULL, content, &o), 0);
    const unsigned char bin[] = {0, 1, 2};
    const struct frame ids[2] = {{bin, sizeof bin}, {"client-2", 8}};
    assert_int_equal(wire_send_outgoing(p->a, ids, 2, &o), 0);

    struct zmessage m;
    zmessage_init(&m);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    assert_int_equal(m.n, 8);
    struct message_view v;
    assert_int_equal(message_split(m.view, m.n, &v), MESSAGE_OK);
    assert_int_equal(v.n_ids, 2);
    assert_memory_equal(m.view[0].data, bin, sizeof bin);
    assert_int_equal(v.n_buffers, 0);
    assert_int_equal(message_verify(signer, &v), MESSAGE_OK);
    struct message_header h;
    assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, o.msg_id);
    assert_string_equal(h.msg_type, "status");
    assert_string_equal(h.session, sess.id);
    assert_int_equal(v.content.size, strlen(o.content));
    assert_memory_equal(v.content.data, o.content, v.content.size);

    /* No identities (iopub). */
    assert_int_equal(wire_send_outgoing(p->a, NULL, 0, &o), 0);
    assert_int_equal(zmessage_recv(&m, p->b, 0), 0);
    assert_int_equal(message_split(m.view, m.n, &v), MESSAGE_OK);
    assert_int_equal(v.n_ids, 0);
    assert_int_equal(message_verify(signer, &v), MESSAGE_OK);

    zmessage_free(&m);
    outgoing_free(&o);
    json_decref(content);
    signer_free(signer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_recv_sizes_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recv_nothing_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_from, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_zero_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_failure_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_outgoing, setup, teardown),
        /* Regression tests of the zmessage_recv growth bug (see above). */
        cmocka_unit_test_setup_teardown(test_recv_many_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recv_nine_frame_message, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
