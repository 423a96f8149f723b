/* loop.h — the event loop everything in the launcher runs on: file events and
 * timers, nothing else (in the manner of redis's ae.c).
 *
 * A file event is a plain file descriptor or a ZMQ socket, watched for
 * readability and/or writability; a timer calls back once after a delay. The
 * loop owns no descriptor and no socket: it only watches them.
 *
 * Registrations grow as needed and every one can fail (out of memory), so
 * every one returns a status the caller checks. Callbacks may watch, unwatch,
 * add and cancel timers, and stop the loop; an event unwatched during a pass
 * is not delivered later in that pass.
 *
 * One thread: the loop and its callbacks run on the thread that calls
 * loop_run. It waits with epoll and asks a ZMQ socket for its state only when
 * that may have changed (see loop.c); `make bench` measured it against zmq_poll:
 * a quarter less CPU per relayed round trip. */
#ifndef SPARK_K8S_LOOP_H
#define SPARK_K8S_LOOP_H

#include <stddef.h>

#define LOOP_READABLE 1
#define LOOP_WRITABLE 2

struct loop;

typedef void loop_fd_fn(void *ctx, int fd);
typedef void loop_socket_fn(void *ctx, void *socket, int events);
typedef void loop_timer_fn(void *ctx);

/* A new loop; -1 with a message in ERR (out of memory, or no epoll). */
int loop_new(struct loop **out, char *err, size_t errlen);
void loop_free(struct loop *l);

/* Watch FD for EVENTS (LOOP_READABLE and/or LOOP_WRITABLE; an error or hangup
 * counts as both); CB is called while the condition holds. Watching a watched
 * fd again replaces its events, callback and context. 0, or -1 (ENOMEM). */
int loop_watch_fd(struct loop *l, int fd, int events, loop_fd_fn *cb, void *ctx);
void loop_unwatch_fd(struct loop *l, int fd);

/* The same for a ZMQ socket: CB gets the events that hold (readable: a message
 * can be received; writable: one can be sent). EVENTS may be 0: registered,
 * but nothing is waited for until it is watched again. */
int loop_watch_socket(struct loop *l, void *socket, int events, loop_socket_fn *cb, void *ctx);
void loop_unwatch_socket(struct loop *l, void *socket);
/* A socket callback sent on or received from SOCKET, another watched socket: its
 * state may have changed unseen (a send or receive may take the wakeup libzmq
 * gives), so the loop looks at it again before waiting. After fd and timer
 * callbacks the loop looks at every socket again by itself. */
void loop_socket_touched(struct loop *l, void *socket);

/* Call CB once, MS milliseconds from now (0: on the next pass). Returns a timer
 * id > 0, or -1 (ENOMEM). Cancelling an id that already fired does nothing. */
int loop_timer(struct loop *l, long ms, loop_timer_fn *cb, void *ctx);
void loop_timer_cancel(struct loop *l, int id);

/* Wait and dispatch until loop_stop. Returns the code given to loop_stop (a
 * stop before loop_run makes it return at once), or -1 with errno when
 * waiting failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l, int code);
int loop_stopped(const struct loop *l);

/* One pass: wait at most TIMEOUT_MS (-1: until an event or a timer is due,
 * 0: not at all), dispatch what is ready and the timers that are due.
 * 0, or -1 with errno. loop_run is this until stopped. */
int loop_once(struct loop *l, long timeout_ms);

/* Counts of what is registered now (for tests and logs). */
size_t loop_watch_count(const struct loop *l);
size_t loop_timer_count(const struct loop *l);

/* Monotonic clock in milliseconds. */
long long monotonic_ms(void);

#endif
