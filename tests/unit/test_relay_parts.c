/* test_relay_parts.c — the relay's small parts on their own: the request queue
 * (order, count and byte bounds), the replay memory (seen once, forgotten oldest
 * first), the rate-limited drop log (a burst in full, then one count with the
 * first example, written by its timer) and the requests said busy (once each, taken
 * by the parent that names one exactly, bounded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kernel/busy_said.h"
#include "kernel/loop.h"
#include "kernel/msgqueue.h"
#include "kernel/ratelog.h"
#include "kernel/replay.h"
#include "kernel/wire.h"

/* A message of one frame holding TEXT, received through a PAIR so its frames are
 * libzmq's own, as in the relay. */
struct pair {
    void *ctx, *a, *b;
};

static void pair_open(struct pair *p)
{
    p->ctx = zmq_ctx_new();
    p->a = zmq_socket(p->ctx, ZMQ_PAIR);
    p->b = zmq_socket(p->ctx, ZMQ_PAIR);
    assert_int_equal(zmq_bind(p->a, "inproc://relay-parts"), 0);
    assert_int_equal(zmq_connect(p->b, "inproc://relay-parts"), 0);
}

static void pair_close(struct pair *p)
{
    zmq_close(p->a);
    zmq_close(p->b);
    zmq_ctx_term(p->ctx);
}

static void message(struct pair *p, struct zmessage *m, const char *text)
{
    assert_int_equal(zmq_send(p->b, text, strlen(text), 0), (int)strlen(text));
    assert_int_equal(zmessage_recv(m, p->a, 0), 0);
}

static void test_queue_order_and_bounds(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    struct msgqueue q;
    msgqueue_init(&q, 50, 1000);
    struct zmessage m;
    zmessage_init(&m);
    char text[32];
    /* Past the count bound: room ends at 50 messages of 10 bytes. */
    int pushed = 0;
    while (msgqueue_has_room(&q)) {
        snprintf(text, sizeof text, "message%03d", pushed++);
        message(&p, &m, text);
        assert_int_equal(msgqueue_push(&q, &m), 0);
        assert_int_equal(m.n, 0); /* moved, not copied */
    }
    assert_int_equal(pushed, 50);
    assert_int_equal(q.bytes, 500);
    /* Out in order, with the bytes counted down; a wrap of the ring on the way. */
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof text, "message%03d", i);
        struct zmessage *head = msgqueue_at(&q, 0);
        assert_non_null(head);
        assert_memory_equal(head->view[0].data, text, 10);
        msgqueue_pop(&q);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(text, sizeof text, "again%05d", i);
        message(&p, &m, text);
        assert_int_equal(msgqueue_push(&q, &m), 0);
    }
    assert_int_equal(q.n, 50);
    assert_int_equal(q.bytes, 500);
    assert_memory_equal(msgqueue_at(&q, 29)->view[0].data, "message049", 10);
    assert_memory_equal(msgqueue_at(&q, 30)->view[0].data, "again00000", 10);
    assert_null(msgqueue_at(&q, 50));
    msgqueue_free(&q);
    assert_int_equal(q.bytes, 0);
    /* The byte bound: one message may pass it, no second one is taken. */
    msgqueue_init(&q, 50, 1000);
    char big[800];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    message(&p, &m, big);
    assert_int_equal(msgqueue_push(&q, &m), 0);
    assert_true(msgqueue_has_room(&q));
    message(&p, &m, big);
    assert_int_equal(msgqueue_push(&q, &m), 0);
    assert_false(msgqueue_has_room(&q));
    assert_int_equal(q.bytes, 2 * 799);
    msgqueue_free(&q);
    zmessage_free(&m);
    pair_close(&p);
}

static void hex_of(unsigned n, char out[65])
{
    snprintf(out, 65, "%064x", n);
}

static void test_replay_seen_once(void **state)
{
    (void)state;
    struct replay r;
    replay_init(&r);
    char sig[65];
    hex_of(1, sig);
    assert_int_equal(replay_seen(&r, sig, 64), 0);
    assert_int_equal(replay_seen(&r, sig, 64), 1);
    assert_int_equal(replay_seen(&r, sig, 64), 1);
    /* Not a hex signature: cannot be kept, so not checked (an unsigned session's
     * empty signature never gets here). */
    assert_int_equal(replay_seen(&r, sig, 63), -1);
    assert_int_equal(replay_seen(&r, "zz", 2), -1);
    sig[10] = 'g';
    assert_int_equal(replay_seen(&r, sig, 64), -1);
    replay_free(&r);
}

static void test_replay_forgets_oldest_first(void **state)
{
    (void)state;
    struct replay r;
    replay_init(&r);
    char sig[65];
    for (unsigned i = 0; i < REPLAY_KEPT; i++) {
        hex_of(i, sig);
        assert_int_equal(replay_seen(&r, sig, 64), 0);
    }
    hex_of(REPLAY_KEPT, sig);
    assert_int_equal(replay_seen(&r, sig, 64), 0); /* pushes out number 0 */
    hex_of(1, sig);
    assert_int_equal(replay_seen(&r, sig, 64), 1);
    hex_of(0, sig);
    assert_int_equal(replay_seen(&r, sig, 64), 0); /* forgotten, so new again */
    replay_free(&r);
}

/* Lines written to a ratelog's file. */
static char *contents(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fseek(f, 0, SEEK_END);
    return buf;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void test_ratelog_burst_then_count(void **state)
{
    (void)state;
    struct loop *l = NULL;
    char err[512];
    assert_int_equal(loop_new(&l, err, sizeof err), 0);
    struct ratelog r;
    ratelog_init(&r, l, "test", 200, 3);
    FILE *out = tmpfile();
    r.out = out;
    for (int i = 0; i < 1000; i++)
        ratelog_drop(&r, "dropped message %d", i);
    char *text = contents(out);
    assert_int_equal(count_lines(text), 3);
    assert_non_null(strstr(text, "test: dropped message 0\n"));
    assert_non_null(strstr(text, "test: dropped message 2\n"));
    assert_null(strstr(text, "dropped message 3\n"));
    free(text);
    /* The window's timer writes the count, with the first line not shown. */
    for (int i = 0; i < 500 && r.suppressed; i++)
        assert_int_equal(loop_once(l, 10), 0);
    text = contents(out);
    assert_int_equal(count_lines(text), 4);
    assert_non_null(strstr(text, "test: dropped 997 more in the last 200 ms (not shown one by one); "
                                 "the first: dropped message 3\n"));
    assert_int_equal(r.total, 1000);
    free(text);
    /* A new window starts with a burst in full again. */
    ratelog_drop(&r, "dropped message again");
    text = contents(out);
    assert_non_null(strstr(text, "test: dropped message again\n"));
    free(text);
    ratelog_clear(&r);
    assert_int_equal(loop_timer_count(l), 0);
    fclose(out);
    loop_free(l);
}

/* Without a loop the count still comes, at the next line after the window. */
static void test_ratelog_without_timer(void **state)
{
    (void)state;
    struct ratelog r;
    ratelog_init(&r, NULL, "test", 60000, 1);
    FILE *out = tmpfile();
    r.out = out;
    ratelog_drop(&r, "one");
    ratelog_drop(&r, "two");
    ratelog_drop(&r, "three");
    r.window_start -= 60000; /* the window is over (no waiting in a test) */
    ratelog_drop(&r, "four");
    char *text = contents(out);
    assert_string_equal(text, "test: one\ntest: dropped 2 more in the last 60 s (not shown one by "
                              "one); the first: two\ntest: four\n");
    free(text);
    fclose(out);
}

static void test_busy_said_once_taken_by_its_parent(void **state)
{
    (void)state;
    struct busy_said b = {0};
    assert_int_equal(busy_said_add(&b, "m-1"), 1);
    assert_int_equal(busy_said_add(&b, "m-1"), 0); /* said once */
    assert_int_equal(busy_said_add(&b, "m-12"), 1);
    const char *other = "{\"msg_id\": \"m-123\", \"msg_type\": \"execute_request\"}";
    struct frame f = {other, strlen(other)};
    assert_int_equal(busy_said_take(&b, &f), 0); /* a longer id is not one of them */
    const char *mine = "{\"msg_id\": \"m-12\", \"msg_type\": \"execute_request\"}";
    f = (struct frame){mine, strlen(mine)};
    assert_int_equal(busy_said_take(&b, &f), 1);
    assert_int_equal(busy_said_take(&b, &f), 0); /* taken once */
    assert_int_equal(busy_said_remove(&b, "m-1"), 1);
    assert_int_equal(busy_said_remove(&b, "m-1"), 0);
    assert_int_equal(b.n, 0);
    char id[32];
    for (int i = 0; i < BUSY_SAID_MAX; i++) {
        snprintf(id, sizeof id, "r-%d", i);
        assert_int_equal(busy_said_add(&b, id), 1);
    }
    assert_int_equal(busy_said_add(&b, "one-more"), -1); /* bounded: says nothing */
    assert_int_equal(b.n, BUSY_SAID_MAX);
    busy_said_clear(&b);
    assert_int_equal(b.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_order_and_bounds),
        cmocka_unit_test(test_replay_seen_once),
        cmocka_unit_test(test_replay_forgets_oldest_first),
        cmocka_unit_test(test_ratelog_burst_then_count),
        cmocka_unit_test(test_ratelog_without_timer),
        cmocka_unit_test(test_busy_said_once_taken_by_its_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
