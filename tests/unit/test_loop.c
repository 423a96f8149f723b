/* test_loop.c — the event loop: fds and ZMQ sockets, timers, growth past any
 * fixed size, changes made from callbacks, stopping, and no loop inside a loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/loop.h"

#define DEADLINE_MS 10000

struct counter {
    struct loop *loop;
    int calls;
    int fd;          /* the fd it reads, or -1 */
    int other;       /* an fd to unwatch when called, or -1 */
    int order;       /* position among the timers that fired */
    int *next_order;
};

static struct loop *new_loop(void)
{
    struct loop *l = NULL;
    char err[64];
    assert_int_equal(loop_new(&l, err, sizeof err), 0);
    return l;
}

static void on_readable(void *ctx, int fd)
{
    struct counter *c = ctx;
    char buf[64];
    assert_int_equal(fd, c->fd);
    assert_true(read(fd, buf, sizeof buf) > 0);
    c->calls++;
    if (c->other >= 0)
        loop_unwatch_fd(c->loop, c->other);
}

/* Run passes until PRED holds or the deadline passes. */
static void run_until(struct loop *l, int (*pred)(void *), void *arg)
{
    for (int i = 0; i < DEADLINE_MS / 10 && !pred(arg); i++)
        assert_int_equal(loop_once(l, 10), 0);
    assert_true(pred(arg));
}

static int called_once(void *arg)
{
    return ((struct counter *)arg)->calls >= 1;
}

static void test_fd_readable_and_unwatch(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct counter c = {l, 0, p[0], -1, 0, NULL};
    assert_int_equal(loop_watch_fd(l, p[0], LOOP_READABLE, on_readable, &c), 0);
    assert_int_equal(loop_watch_count(l), 1);
    assert_int_equal(loop_once(l, 0), 0);
    assert_int_equal(c.calls, 0); /* nothing to read yet */
    assert_int_equal(write(p[1], "x", 1), 1);
    run_until(l, called_once, &c);
    loop_unwatch_fd(l, p[0]);
    assert_int_equal(loop_watch_count(l), 0);
    assert_int_equal(write(p[1], "y", 1), 1);
    assert_int_equal(loop_once(l, 50), 0);
    assert_int_equal(c.calls, 1);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

/* Far more watches and timers than any fixed array held (the old one had 8 of each). */
static void test_grows_past_any_fixed_size(void **state)
{
    (void)state;
    enum { N = 200 };
    struct loop *l = new_loop();
    int pipes[N][2];
    struct counter c[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(pipe(pipes[i]), 0);
        c[i] = (struct counter){l, 0, pipes[i][0], -1, 0, NULL};
        assert_int_equal(loop_watch_fd(l, pipes[i][0], LOOP_READABLE, on_readable, &c[i]), 0);
    }
    assert_int_equal(loop_watch_count(l), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(write(pipes[i][1], "x", 1), 1);
    int all = 0;
    for (int pass = 0; pass < DEADLINE_MS / 10 && !all; pass++) {
        assert_int_equal(loop_once(l, 10), 0);
        all = 1;
        for (int i = 0; i < N; i++)
            all &= c[i].calls == 1;
    }
    assert_true(all);
    for (int i = 0; i < N; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
    loop_free(l);
}

static void on_timer(void *ctx)
{
    struct counter *c = ctx;
    c->calls++;
    c->order = (*c->next_order)++;
}

static int all_fired(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < 100; i++)
        if (!c[i].calls)
            return 0;
    return 1;
}

/* Timers fire once each, earliest first, and a cancelled one never. */
static void test_timers_in_order(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    struct counter c[100];
    int next = 0, ids[100];
    long long due[100];
    for (int i = 0; i < 100; i++) {
        c[i] = (struct counter){l, 0, -1, -1, -1, &next};
        /* the last added is due first (unless the machine paused between two adds) */
        due[i] = monotonic_ms() + 10 * (100 - i);
        ids[i] = loop_timer(l, 10 * (100 - i), on_timer, &c[i]);
        assert_true(ids[i] > 0);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(ids[i], ids[j]);
    }
    struct counter cancelled = {l, 0, -1, -1, -1, &next};
    loop_timer_cancel(l, loop_timer(l, 1, on_timer, &cancelled));
    assert_int_equal(loop_timer_count(l), 100);
    run_until(l, all_fired, c);
    for (int i = 0; i < 100; i++)
        assert_int_equal(c[i].calls, 1);
    /* Earliest due first: for any two whose due times surely differ (the loop reads the
     * clock a moment after us), the earlier fired first. */
    for (int i = 0; i < 100; i++)
        for (int j = 0; j < 100; j++)
            if (due[i] + 2 <= due[j])
                assert_true(c[i].order < c[j].order);
    assert_int_equal(cancelled.calls, 0);
    assert_int_equal(loop_timer_count(l), 0);
    loop_timer_cancel(l, ids[0]); /* already fired: nothing happens */
    loop_free(l);
}

struct chain {
    struct loop *loop;
    int fired, passes_seen;
};

static void chained(void *ctx)
{
    struct chain *ch = ctx;
    ch->fired++;
    if (ch->fired < 3)
        assert_true(loop_timer(ch->loop, 0, chained, ch) > 0);
}

/* A 0 ms timer added by a timer waits for the next pass: no pass runs for ever. */
static void test_timer_added_by_timer_waits_a_pass(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    struct chain ch = {l, 0, 0};
    assert_true(loop_timer(l, 0, chained, &ch) > 0);
    assert_int_equal(loop_once(l, 0), 0);
    assert_int_equal(ch.fired, 1);
    assert_int_equal(loop_once(l, 0), 0);
    assert_int_equal(ch.fired, 2);
    assert_int_equal(loop_once(l, 0), 0);
    assert_int_equal(ch.fired, 3);
    assert_int_equal(loop_timer_count(l), 0);
    loop_free(l);
}

/* Two fds ready in one pass: the first callback unwatches the second, which then
 * is not called (its context may be gone). */
static void test_unwatch_from_a_callback(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    struct counter ca = {l, 0, a[0], b[0], 0, NULL}, cb = {l, 0, b[0], a[0], 0, NULL};
    assert_int_equal(loop_watch_fd(l, a[0], LOOP_READABLE, on_readable, &ca), 0);
    assert_int_equal(loop_watch_fd(l, b[0], LOOP_READABLE, on_readable, &cb), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(loop_once(l, DEADLINE_MS), 0);
    /* Whichever ran first unwatched the other. */
    assert_int_equal(ca.calls + cb.calls, 1);
    assert_int_equal(loop_watch_count(l), 1);
    for (int i = 0; i < 4; i++)
        close(i < 2 ? a[i] : b[i - 2]);
    loop_free(l);
}

static void stop_with_7(void *ctx)
{
    loop_stop(ctx, 7);
}

static void test_stop(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    loop_stop(l, 3); /* before run: run returns at once */
    assert_int_equal(loop_run(l), 3);
    assert_true(loop_timer(l, 1, stop_with_7, l) > 0);
    assert_int_equal(loop_run(l), 7);
    loop_free(l);
}

struct nested {
    struct loop *loop;
    int rc, err;
};

static void try_nested(void *ctx)
{
    struct nested *n = ctx;
    n->rc = loop_once(n->loop, 0);
    n->err = errno;
    loop_stop(n->loop, 0);
}

/* A loop inside a callback of the loop is refused: a drain is a state, not a loop. */
static void test_no_nested_loop(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    struct nested n = {l, 0, 0};
    assert_true(loop_timer(l, 0, try_nested, &n) > 0);
    assert_int_equal(loop_run(l), 0);
    assert_int_equal(n.rc, -1);
    assert_int_equal(n.err, EDEADLK);
    loop_free(l);
}

struct sock_seen {
    int calls, events;
};

static void on_socket(void *ctx, void *socket, int events)
{
    struct sock_seen *s = ctx;
    char buf[16];
    s->calls++;
    s->events = events;
    if (events & LOOP_READABLE)
        assert_true(zmq_recv(socket, buf, sizeof buf, ZMQ_DONTWAIT) >= 0);
}

static int sock_called(void *arg)
{
    return ((struct sock_seen *)arg)->calls > 0;
}

static void test_zmq_socket_events(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    void *ctx = zmq_ctx_new(), *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://test-loop"), 0);
    assert_int_equal(zmq_connect(b, "inproc://test-loop"), 0);
    struct sock_seen seen = {0, 0};
    /* Registered, waiting for nothing: a message does not call it. */
    assert_int_equal(loop_watch_socket(l, a, 0, on_socket, &seen), 0);
    assert_int_equal(zmq_send(b, "hi", 2, 0), 2);
    assert_int_equal(loop_once(l, 50), 0);
    assert_int_equal(seen.calls, 0);
    /* Watched again for reading: called, with what holds. */
    assert_int_equal(loop_watch_socket(l, a, LOOP_READABLE, on_socket, &seen), 0);
    assert_int_equal(loop_watch_count(l), 1);
    run_until(l, sock_called, &seen);
    assert_int_equal(seen.events, LOOP_READABLE);
    /* Writable holds at once for a connected PAIR. */
    seen.calls = 0;
    assert_int_equal(loop_watch_socket(l, a, LOOP_WRITABLE, on_socket, &seen), 0);
    run_until(l, sock_called, &seen);
    assert_int_equal(seen.events, LOOP_WRITABLE);
    loop_unwatch_socket(l, a);
    assert_int_equal(loop_watch_count(l), 0);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    loop_free(l);
}

struct sneaky {
    void *peer, *socket;
    int fd;
};

/* A callback that makes a watched socket readable and then uses it (taking the wakeup
 * libzmq gives through ZMQ_FD): the loop must still see it. */
static void send_and_swallow(void *ctx, int fd)
{
    struct sneaky *s = ctx;
    char buf[8];
    assert_true(read(fd, buf, sizeof buf) > 0);
    assert_int_equal(zmq_send(s->peer, "x", 1, 0), 1);
    int ev = 0;
    size_t len = sizeof ev;
    for (int i = 0; i < 1000 && !(ev & ZMQ_POLLIN); i++) /* until libzmq has it, wakeup taken */
        assert_int_equal(zmq_getsockopt(s->socket, ZMQ_EVENTS, &ev, &len), 0);
    assert_true(ev & ZMQ_POLLIN);
}

static void give_up(void *ctx)
{
    loop_stop(ctx, 1);
}

static void got_it(void *ctx, void *socket, int events)
{
    (void)socket;
    (void)events;
    loop_stop(ctx, 0);
}

static void test_socket_used_by_a_callback_is_seen(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    void *ctx = zmq_ctx_new(), *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(a, "inproc://test-loop-sneaky"), 0);
    assert_int_equal(zmq_connect(b, "inproc://test-loop-sneaky"), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct sneaky s = {b, a, p[0]};
    assert_int_equal(loop_watch_socket(l, a, LOOP_READABLE, got_it, l), 0);
    assert_int_equal(loop_watch_fd(l, p[0], LOOP_READABLE, send_and_swallow, &s), 0);
    assert_int_equal(loop_once(l, 0), 0); /* the socket is looked at once, empty */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_true(loop_timer(l, DEADLINE_MS, give_up, l) > 0);
    assert_int_equal(loop_run(l), 0); /* 1: the message was never seen */
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    close(p[0]);
    close(p[1]);
    loop_free(l);
}

static void test_bad_registrations(void **state)
{
    (void)state;
    struct loop *l = new_loop();
    assert_int_equal(loop_watch_fd(l, -1, LOOP_READABLE, on_readable, NULL), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(loop_watch_fd(l, 0, LOOP_READABLE, NULL, NULL), -1);
    assert_int_equal(loop_watch_socket(l, NULL, LOOP_READABLE, on_socket, NULL), -1);
    assert_int_equal(loop_timer(l, 1, NULL, NULL), -1);
    assert_int_equal(loop_watch_count(l), 0);
    assert_int_equal(loop_timer_count(l), 0);
    loop_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_readable_and_unwatch),
        cmocka_unit_test(test_grows_past_any_fixed_size),
        cmocka_unit_test(test_timers_in_order),
        cmocka_unit_test(test_timer_added_by_timer_waits_a_pass),
        cmocka_unit_test(test_unwatch_from_a_callback),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_no_nested_loop),
        cmocka_unit_test(test_zmq_socket_events),
        cmocka_unit_test(test_socket_used_by_a_callback_is_seen),
        cmocka_unit_test(test_bad_registrations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
