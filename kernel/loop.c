/* loop.c — file events and timers over zmq_poll (see loop.h).
 *
 * Watches live in one growable array; a pass polls the live ones that want
 * something, then dispatches by index, so a callback that adds a watch (which
 * may move the array) or removes one (which only marks it dead) leaves the pass
 * consistent. Dead slots are swept before the next pass. The poll items are
 * sized when a watch is added, so a pass never allocates. Timers are a small
 * array scanned for the earliest due; a pass fires only timers that existed
 * when it began, so a 0 ms timer added by a timer waits for the next pass. */
#include "kernel/loop.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

struct watch {
    void *socket; /* NULL: a plain fd */
    int fd;
    int events;   /* LOOP_READABLE | LOOP_WRITABLE; 0 = registered, not waited for */
    int live;
    loop_fd_fn *fd_cb;
    loop_socket_fn *socket_cb;
    void *ctx;
};

struct timer {
    int id;             /* 0: free slot */
    unsigned long long seq;
    long long due;
    loop_timer_fn *cb;
    void *ctx;
};

struct loop {
    struct watch *watches;
    size_t n_watches, cap_watches;
    zmq_pollitem_t *items; /* cap_watches of them */
    size_t *item_watch;    /* items[i] polls watches[item_watch[i]] */
    struct timer *timers;
    size_t n_timers, cap_timers; /* n_timers: slots in use, live or free */
    int next_id;
    unsigned long long next_seq;
    int dispatching, stopped, code;
};

long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int loop_new(struct loop **out, char *err, size_t errlen)
{
    struct loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->next_id = 1;
    *out = l;
    return 0;
}

void loop_free(struct loop *l)
{
    if (!l)
        return;
    free(l->watches);
    free(l->items);
    free(l->item_watch);
    free(l->timers);
    free(l);
}

/* ---- watches ------------------------------------------------------------------ */

/* Room for one more watch (and its poll item); -1 with ENOMEM. */
static int reserve_watch(struct loop *l)
{
    if (l->n_watches < l->cap_watches)
        return 0;
    size_t cap = l->cap_watches ? l->cap_watches * 2 : 16;
    struct watch *w = realloc(l->watches, cap * sizeof *w);
    if (!w)
        goto nomem;
    l->watches = w;
    zmq_pollitem_t *items = realloc(l->items, cap * sizeof *items);
    if (!items)
        goto nomem;
    l->items = items;
    size_t *map = realloc(l->item_watch, cap * sizeof *map);
    if (!map)
        goto nomem;
    l->item_watch = map;
    l->cap_watches = cap;
    return 0;
nomem:
    /* Whatever grew keeps its old contents; cap_watches still names the size all
     * three arrays have at least. */
    errno = ENOMEM;
    return -1;
}

static struct watch *find(struct loop *l, void *socket, int fd)
{
    for (size_t i = 0; i < l->n_watches; i++) {
        struct watch *w = &l->watches[i];
        if (w->live && w->socket == socket && (socket || w->fd == fd))
            return w;
    }
    return NULL;
}

static int watch(struct loop *l, void *socket, int fd, int events, loop_fd_fn *fd_cb,
                 loop_socket_fn *socket_cb, void *ctx)
{
    struct watch *w = find(l, socket, fd);
    if (!w) {
        if (reserve_watch(l))
            return -1;
        w = &l->watches[l->n_watches++];
    }
    *w = (struct watch){socket, socket ? -1 : fd, events & (LOOP_READABLE | LOOP_WRITABLE), 1,
                        fd_cb, socket_cb, ctx};
    return 0;
}

int loop_watch_fd(struct loop *l, int fd, int events, loop_fd_fn *cb, void *ctx)
{
    if (fd < 0 || !cb) {
        errno = EINVAL;
        return -1;
    }
    return watch(l, NULL, fd, events, cb, NULL, ctx);
}

int loop_watch_socket(struct loop *l, void *socket, int events, loop_socket_fn *cb, void *ctx)
{
    if (!socket || !cb) {
        errno = EINVAL;
        return -1;
    }
    return watch(l, socket, -1, events, NULL, cb, ctx);
}

static void unwatch(struct loop *l, void *socket, int fd)
{
    struct watch *w = find(l, socket, fd);
    if (w) {
        w->live = 0;
        w->events = 0;
    }
}

void loop_unwatch_fd(struct loop *l, int fd)
{
    unwatch(l, NULL, fd);
}

void loop_unwatch_socket(struct loop *l, void *socket)
{
    if (socket)
        unwatch(l, socket, -1);
}

static void sweep(struct loop *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n_watches; i++)
        if (l->watches[i].live)
            l->watches[kept++] = l->watches[i];
    l->n_watches = kept;
}

size_t loop_watch_count(const struct loop *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_watches; i++)
        n += l->watches[i].live;
    return n;
}

/* ---- timers ------------------------------------------------------------------- */

static int id_in_use(const struct loop *l, int id)
{
    for (size_t i = 0; i < l->n_timers; i++)
        if (l->timers[i].id == id)
            return 1;
    return 0;
}

/* Ids count up from 1; after INT_MAX timers they come round, skipping any still pending. */
static int next_id(struct loop *l)
{
    for (;;) {
        int id = l->next_id;
        l->next_id = id == INT_MAX ? 1 : id + 1;
        if (!id_in_use(l, id))
            return id;
    }
}

int loop_timer(struct loop *l, long ms, loop_timer_fn *cb, void *ctx)
{
    if (!cb) {
        errno = EINVAL;
        return -1;
    }
    struct timer *t = NULL;
    for (size_t i = 0; i < l->n_timers && !t; i++)
        if (l->timers[i].id == 0)
            t = &l->timers[i];
    if (!t) {
        if (l->n_timers == l->cap_timers) {
            size_t cap = l->cap_timers ? l->cap_timers * 2 : 16;
            struct timer *grown = realloc(l->timers, cap * sizeof *grown);
            if (!grown) {
                errno = ENOMEM;
                return -1;
            }
            l->timers = grown;
            l->cap_timers = cap;
        }
        t = &l->timers[l->n_timers++];
    }
    t->id = 0; /* a new slot holds garbage until now */
    t->id = next_id(l);
    t->seq = l->next_seq++;
    t->due = monotonic_ms() + (ms > 0 ? ms : 0);
    t->cb = cb;
    t->ctx = ctx;
    return t->id;
}

void loop_timer_cancel(struct loop *l, int id)
{
    if (id <= 0)
        return;
    for (size_t i = 0; i < l->n_timers; i++)
        if (l->timers[i].id == id) {
            l->timers[i].id = 0;
            return;
        }
}

size_t loop_timer_count(const struct loop *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_timers; i++)
        n += l->timers[i].id != 0;
    return n;
}

/* Milliseconds until the earliest timer (-1: none), capped by LIMIT (-1: none). */
static long wait_for(const struct loop *l, long limit)
{
    long long now = monotonic_ms(), best = -1;
    for (size_t i = 0; i < l->n_timers; i++)
        if (l->timers[i].id && (best < 0 || l->timers[i].due < best))
            best = l->timers[i].due;
    if (best < 0)
        return limit;
    long long left = best <= now ? 0 : best - now;
    if (left > LONG_MAX)
        left = LONG_MAX;
    return limit >= 0 && limit < left ? limit : (long)left;
}

static void fire_timers(struct loop *l)
{
    unsigned long long before = l->next_seq;
    long long now = monotonic_ms();
    while (!l->stopped) {
        struct timer *next = NULL;
        for (size_t i = 0; i < l->n_timers; i++) {
            struct timer *t = &l->timers[i];
            if (t->id && t->seq < before && t->due <= now && (!next || t->due < next->due))
                next = t;
        }
        if (!next)
            return;
        struct timer fired = *next;
        next->id = 0; /* before the call: it may add timers (and move the array) */
        fired.cb(fired.ctx);
    }
}

/* ---- the pass ------------------------------------------------------------------ */

static void dispatch(struct loop *l, size_t item)
{
    short revents = l->items[item].revents;
    struct watch *w = &l->watches[l->item_watch[item]];
    if (!revents || !w->live)
        return;
    if (w->socket) {
        int ev = ((revents & ZMQ_POLLIN) ? LOOP_READABLE : 0) |
                 ((revents & ZMQ_POLLOUT) ? LOOP_WRITABLE : 0);
        ev &= w->events; /* what is still wanted: an earlier callback may have changed it */
        if (ev)
            w->socket_cb(w->ctx, w->socket, ev);
        return;
    }
    int wanted = (revents & ZMQ_POLLERR) ||
                 ((revents & ZMQ_POLLIN) && (w->events & LOOP_READABLE)) ||
                 ((revents & ZMQ_POLLOUT) && (w->events & LOOP_WRITABLE));
    if (wanted && w->events)
        w->fd_cb(w->ctx, w->fd);
}

int loop_once(struct loop *l, long timeout_ms)
{
    if (l->dispatching) {
        errno = EDEADLK; /* no loop inside a callback of the loop */
        return -1;
    }
    sweep(l);
    size_t n = 0;
    for (size_t i = 0; i < l->n_watches; i++) {
        struct watch *w = &l->watches[i];
        if (!w->events)
            continue;
        short ev = (short)(((w->events & LOOP_READABLE) ? ZMQ_POLLIN : 0) |
                           ((w->events & LOOP_WRITABLE) ? ZMQ_POLLOUT : 0));
        l->items[n] = (zmq_pollitem_t){w->socket, w->socket ? 0 : w->fd, ev, 0};
        l->item_watch[n++] = i;
    }
    long timeout = wait_for(l, timeout_ms);
    int rc = zmq_poll(n ? l->items : NULL, (int)n, timeout);
    if (rc < 0 && errno != EINTR)
        return -1;
    l->dispatching = 1;
    for (size_t i = 0; rc > 0 && i < n && !l->stopped; i++)
        dispatch(l, i);
    fire_timers(l);
    l->dispatching = 0;
    return 0;
}

int loop_run(struct loop *l)
{
    while (!l->stopped)
        if (loop_once(l, -1))
            return -1;
    l->stopped = 0;
    return l->code;
}

void loop_stop(struct loop *l, int code)
{
    l->stopped = 1;
    l->code = code;
}

int loop_stopped(const struct loop *l)
{
    return l->stopped;
}
