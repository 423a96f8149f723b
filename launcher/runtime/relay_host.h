/* relay_host.h — the set-up the kernel and shim commands share, in one place:
 * the signals as a file descriptor, the janitor (before any socket, so that it
 * inherits none), optionally a private directory the janitor guards, the event
 * loop, the relay (kernel/proxy.h) on the front connection with the signals
 * watched, one runtime on them; run; torn down in the reverse order.
 *
 * On SIGINT the relay interrupts the kernel; on SIGTERM, SIGHUP or SIGQUIT a
 * line goes to the log and the command's STOP is called. Everything here is
 * owned by the struct and released by relay_host_free. */
#ifndef SPARK_K8S_RELAY_HOST_H
#define SPARK_K8S_RELAY_HOST_H

#include <stddef.h>

#include "kernel/connection.h"
#include "kernel/loop.h"
#include "kernel/proxy.h"
#include "launcher/runtime/janitor.h"
#include "launcher/runtime/runtime.h"

struct relay_host {
    const char *log_name;     /* "spark-k8s kernel": who speaks in the log */
    void (*stop)(void *ctx);  /* a stopping signal came */
    void *ctx;
    int sigfd;
    struct janitor janitor;   /* set janitor.on_death before relay_host_guard */
    char dir[128];            /* the private directory, "" when none */
    struct loop *loop;
    struct proxy *proxy;
    const struct runtime_ops *ops;
    void *rt;                 /* the runtime, NULL before it starts */
};

/* Nothing set up yet; safe to relay_host_free from here on. */
void relay_host_init(struct relay_host *h, const char *log_name, void (*stop)(void *ctx),
                     void *ctx);
/* The signals and the janitor. 0, or -1 with ERR. */
int relay_host_guard(struct relay_host *h, char *err, size_t errlen);
/* A private directory under $TMPDIR (or /tmp), "spark-k8s-NAME-XXXXXX", that the
 * janitor removes if the command dies and relay_host_free removes otherwise:
 * h->dir. 0, or -1 with ERR. */
int relay_host_private_dir(struct relay_host *h, const char *name, char *err, size_t errlen);
/* The loop and the relay on FRONT (borrowed; it outlives H), the signals watched.
 * 0, or -1 with ERR. */
int relay_host_relay(struct relay_host *h, const struct connection *front,
                     const struct proxy_options *opt, const struct proxy_hooks *hooks, char *err,
                     size_t errlen);
/* Start OPS with ENV, its loop, proxy and janitor filled in from H. 0, or -1 with ERR. */
int relay_host_start(struct relay_host *h, const struct runtime_ops *ops,
                     struct runtime_env *env, char *err, size_t errlen);
/* Run the loop until it stops: its status (0 or 1); 1 with a log line when the loop
 * itself failed. */
int relay_host_run(struct relay_host *h);
/* The runtime, the relay, the loop, the private directory, the janitor (released:
 * everything is clean), the signals. */
void relay_host_free(struct relay_host *h);

#endif
