/* relay_host.h — the set-up the kernel and shim commands share, in one place:
 * the signals as a file descriptor, the janitor (before any socket, so that it
 * inherits none), optionally a private directory the janitor guards, the event
 * loop, the relay (kernel/proxy.h) on the front connection with the signals
 * watched, one runtime on them; run; torn down in the reverse order.
 *
 * The proxy's hooks are the same for both: an interrupt goes to the runtime, a
 * shutdown before the runtime is ready stops it, and the owner (the kernel or the
 * shim) adds its kernel_info reply, its "ready" line and what to do when the runtime
 * ends. On SIGINT the relay interrupts the kernel; on SIGTERM, SIGHUP or SIGQUIT a
 * line goes to the log and the runtime is stopped (relay_host_stop). Everything here
 * is owned by the struct and released by relay_host_free. */
#ifndef SPARK_K8S_RELAY_HOST_H
#define SPARK_K8S_RELAY_HOST_H

#include <jansson.h>
#include <stddef.h>

#include "kernel/connection.h"
#include "kernel/loop.h"
#include "kernel/proxy.h"
#include "launcher/runtime/janitor.h"
#include "launcher/runtime/runtime.h"
#include "launcher/sys/errmsg.h"

/* What the command hosting the relay adds to it; every function gets CTX. */
struct relay_host_owner {
    void *ctx;
    json_t *(*kernel_info)(void *ctx); /* the reply while the runtime starts; NULL: none */
    void (*ready)(void *ctx);          /* the runtime answered */
    /* The runtime ended or could not start (runtime_env.exited); once. */
    void (*exited)(void *ctx, int expected, const char *reason);
};

struct relay_host {
    const char *log_name;     /* "spark-k8s kernel": who speaks in the log */
    long stop_grace_ms;       /* a stopping runtime's SIGTERM to SIGKILL */
    struct relay_host_owner owner;
    long long started_ms;     /* monotonic, at relay_host_init */
    int stopping;             /* a stop was asked for */
    int runtime_done;         /* the runtime has ended: nothing left to stop */
    int exit_status;          /* the loop's status once it ends without a runtime */
    int sigfd;
    struct janitor janitor;   /* set janitor.on_death before relay_host_guard */
    char dir[128];            /* the private directory, "" when none */
    struct loop *loop;
    struct proxy *proxy;
    const struct runtime_ops *ops;
    void *rt;                 /* the runtime, NULL before it starts */
};

/* Nothing set up yet; safe to relay_host_free from here on. OWNER is copied. */
void relay_host_init(struct relay_host *h, const char *log_name, long stop_grace_ms,
                     const struct relay_host_owner *owner);
/* The signals and the janitor. 0, or -1 with ERR. */
int relay_host_guard(struct relay_host *h, struct error *err);
/* A private directory under $TMPDIR (or /tmp), "spark-k8s-NAME-XXXXXX", that the
 * janitor removes if the command dies and relay_host_free removes otherwise:
 * h->dir. 0, or -1 with ERR. */
int relay_host_private_dir(struct relay_host *h, const char *name, struct error *err);
/* The loop and the relay on FRONT (borrowed; it outlives H) with the hooks above,
 * the signals watched. 0, or -1 with ERR. */
int relay_host_relay(struct relay_host *h, const struct connection *front,
                     const struct proxy_options *opt, struct error *err);
/* Start OPS with ENV, its loop, proxy, janitor and exited filled in from H. 0, or -1
 * with ERR. */
int relay_host_start(struct relay_host *h, const struct runtime_ops *ops,
                     struct runtime_env *env, struct error *err);
/* Stop the runtime (once; within stop_grace_ms; exited follows), or, with none
 * running, end the loop with exit_status. */
void relay_host_stop(struct relay_host *h);
/* The runtime has ended: deliver the last replies (shutdown_reply, final iopub) for
 * up to MS, then end the loop with STATUS. */
void relay_host_drain(struct relay_host *h, long ms, int status);
/* Run the loop until it stops: its status (0 or 1); 1 with a log line when the loop
 * itself failed. */
int relay_host_run(struct relay_host *h);
/* The runtime, the relay, the loop, the private directory, the janitor (released:
 * everything is clean), the signals. */
void relay_host_free(struct relay_host *h);

#endif
