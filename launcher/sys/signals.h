/* signals.h — the signals a long-running subcommand handles, as one file descriptor.
 *
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked and delivered through a
 * signalfd that the event loop watches like any other input; SIGPIPE is
 * ignored (a peer that went away is an error return, not a death). */
#ifndef SPARK_K8S_SIGNALS_H
#define SPARK_K8S_SIGNALS_H

/* Returns the signalfd (non-blocking, close-on-exec), or -1 with errno. */
int signals_open(void);

/* The next signal waiting on FD (from signals_open), or 0 when none is. */
int signals_next(int fd);

#endif
