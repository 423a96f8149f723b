/* loop.c — file events and timers over epoll (see loop.h).
 *
 * Plain fds are in the epoll set for what they want, level-triggered. A ZMQ
 * socket is represented there by its ZMQ_FD, which only says "something may have
 * changed": its real state is ZMQ_EVENTS, and any send or receive on the socket
 * may consume that signal. So a socket is asked for ZMQ_EVENTS only when it
 * needs it: when its ZMQ_FD fired, after it was dispatched, and after a callback
 * said it used it (loop_socket_touched) — never the whole set on every pass,
 * which is what zmq_poll does.
 *
 * Watches are allocated one by one (epoll carries their address) and kept in a
 * growable array; one unwatched during a pass is marked dead and freed before the
 * next pass. Timers are a small array scanned for the earliest due; a pass fires
 * only timers that existed when it began, so a 0 ms timer added by a timer waits
 * for the next pass. */
#include "kernel/loop.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define EVENTS_PER_WAIT 64

struct watch {
    void *socket; /* NULL: a plain fd */
    int fd;       /* the fd, or the socket's ZMQ_FD */
    int events;   /* LOOP_READABLE | LOOP_WRITABLE; 0 = registered, not waited for */
    int live;
    int in_epoll; /* epoll has this fd */
    int check;    /* socket: ask ZMQ_EVENTS before the next wait */
    int ready;    /* socket: the events found ready this pass */
    loop_fd_fn *fd_cb;
    loop_socket_fn *socket_cb;
    void *ctx;
};

struct timer {
    int id; /* 0: free slot */
    unsigned long long seq;
    long long due;
    loop_timer_fn *cb;
    void *ctx;
};

struct loop {
    int epfd;
    struct watch **watches;
    size_t n_watches, cap_watches;
    struct watch **ready; /* sockets found ready in this pass; cap_watches of them */
    struct timer *timers;
    size_t n_timers, cap_timers;
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
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        free(l);
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
    for (size_t i = 0; i < l->n_watches; i++)
        free(l->watches[i]);
    free(l->watches);
    free(l->ready);
    free(l->timers);
    close(l->epfd);
    free(l);
}

/* ---- watches ------------------------------------------------------------------ */

static int reserve_watch(struct loop *l)
{
    if (l->n_watches < l->cap_watches)
        return 0;
    size_t cap = l->cap_watches ? l->cap_watches * 2 : 16;
    struct watch **w = realloc(l->watches, cap * sizeof *w);
    if (!w)
        goto nomem;
    l->watches = w;
    struct watch **r = realloc(l->ready, cap * sizeof *r);
    if (!r)
        goto nomem;
    l->ready = r;
    l->cap_watches = cap;
    return 0;
nomem:
    errno = ENOMEM;
    return -1;
}

static struct watch *find(struct loop *l, void *socket, int fd)
{
    for (size_t i = 0; i < l->n_watches; i++) {
        struct watch *w = l->watches[i];
        if (w->live && w->socket == socket && (socket || w->fd == fd))
            return w;
    }
    return NULL;
}

/* Bring epoll in line with what W wants. */
static int sync_epoll(struct loop *l, struct watch *w)
{
    uint32_t want = 0;
    if (w->socket)
        want = w->events ? EPOLLIN : 0;
    else
        want = ((w->events & LOOP_READABLE) ? EPOLLIN : 0) |
               ((w->events & LOOP_WRITABLE) ? EPOLLOUT : 0);
    struct epoll_event ev = {.events = want, .data.ptr = w};
    if (!w->in_epoll) {
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev))
            return -1;
        w->in_epoll = 1;
        return 0;
    }
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)
        return 0;
    /* closed and opened again under the same number: epoll forgot it */
    return errno == ENOENT ? epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) : -1;
}

static int watch(struct loop *l, void *socket, int fd, int events, loop_fd_fn *fd_cb,
                 loop_socket_fn *socket_cb, void *ctx)
{
    struct watch *w = find(l, socket, fd);
    int fresh = !w;
    if (fresh) {
        if (socket) {
            size_t len = sizeof fd;
            if (zmq_getsockopt(socket, ZMQ_FD, &fd, &len))
                return -1;
        }
        if (reserve_watch(l))
            return -1;
        w = calloc(1, sizeof *w);
        if (!w) {
            errno = ENOMEM;
            return -1;
        }
        w->socket = socket;
        w->fd = fd;
        w->live = 1;
    }
    w->events = events & (LOOP_READABLE | LOOP_WRITABLE);
    w->fd_cb = fd_cb;
    w->socket_cb = socket_cb;
    w->ctx = ctx;
    w->check = 1;
    if (sync_epoll(l, w)) {
        int e = errno;
        if (fresh) {
            free(w);
        }
        errno = e;
        return -1;
    }
    if (fresh)
        l->watches[l->n_watches++] = w;
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
    if (!w)
        return;
    if (w->in_epoll)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL); /* the fd may be closed already */
    w->in_epoll = 0;
    w->live = 0;
    w->events = 0;
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

void loop_socket_touched(struct loop *l, void *socket)
{
    struct watch *w = find(l, socket, -1);
    if (w)
        w->check = 1;
}

static void sweep(struct loop *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n_watches; i++) {
        if (l->watches[i]->live)
            l->watches[kept++] = l->watches[i];
        else
            free(l->watches[i]);
    }
    l->n_watches = kept;
}

size_t loop_watch_count(const struct loop *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_watches; i++)
        n += l->watches[i]->live;
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

static int fire_timers(struct loop *l)
{
    int fired = 0;
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
            return fired;
        struct timer one = *next;
        next->id = 0; /* before the call: it may add timers (and move the array) */
        fired++;
        one.cb(one.ctx);
    }
    return fired;
}

/* ---- the pass ------------------------------------------------------------------ */

/* Ask a socket for its state; if it has what it wants, add it to the ready list. */
static void check_socket(struct loop *l, struct watch *w, size_t *n_ready)
{
    w->check = 0;
    if (!w->live || !w->events)
        return;
    int ev = 0;
    size_t len = sizeof ev;
    if (zmq_getsockopt(w->socket, ZMQ_EVENTS, &ev, &len))
        return;
    int ready = (((ev & ZMQ_POLLIN) ? LOOP_READABLE : 0) | ((ev & ZMQ_POLLOUT) ? LOOP_WRITABLE : 0)) &
                w->events;
    if (ready && !w->ready)
        l->ready[(*n_ready)++] = w;
    w->ready |= ready;
}

/* An fd or timer callback may have used any socket: look at each again. */
static void check_all_later(struct loop *l)
{
    for (size_t i = 0; i < l->n_watches; i++)
        if (l->watches[i]->socket)
            l->watches[i]->check = 1;
}

static void fire_timers_and_recheck(struct loop *l)
{
    if (fire_timers(l))
        check_all_later(l);
}

int loop_once(struct loop *l, long timeout_ms)
{
    if (l->dispatching) {
        errno = EDEADLK; /* no loop inside a callback of the loop */
        return -1;
    }
    sweep(l);
    size_t n_ready = 0;
    for (size_t i = 0; i < l->n_watches; i++)
        l->watches[i]->ready = 0;
    for (size_t i = 0; i < l->n_watches; i++)
        if (l->watches[i]->socket && l->watches[i]->check)
            check_socket(l, l->watches[i], &n_ready);
    long timeout = n_ready ? 0 : wait_for(l, timeout_ms);
    struct epoll_event evs[EVENTS_PER_WAIT];
    int n = epoll_wait(l->epfd, evs, EVENTS_PER_WAIT, timeout > INT_MAX ? INT_MAX : (int)timeout);
    if (n < 0) {
        if (errno != EINTR)
            return -1;
        n = 0;
    }
    l->dispatching = 1;
    int fd_called = 0;
    for (int i = 0; i < n && !l->stopped; i++) {
        struct watch *w = evs[i].data.ptr; /* dead ones stay allocated until the next sweep */
        if (!w->live)
            continue;
        if (w->socket) {
            check_socket(l, w, &n_ready);
            continue;
        }
        uint32_t e = evs[i].events;
        int wanted = (e & (EPOLLERR | EPOLLHUP)) || ((e & EPOLLIN) && (w->events & LOOP_READABLE)) ||
                     ((e & EPOLLOUT) && (w->events & LOOP_WRITABLE));
        if (wanted && w->events) {
            w->fd_cb(w->ctx, w->fd);
            fd_called = 1;
        }
    }
    if (fd_called)
        check_all_later(l);
    for (size_t i = 0; i < n_ready && !l->stopped; i++) {
        struct watch *w = l->ready[i];
        int ev = w->ready & w->events;
        w->check = 1; /* what it did to itself is for the next pass to see */
        if (w->live && ev)
            w->socket_cb(w->ctx, w->socket, ev);
    }
    fire_timers_and_recheck(l);
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
