/* runtime.h — where the real kernel runs: a local process, or a pod.
 *
 * The kernel's host (kernel_host.c) owns the proxy and picks a runtime from
 * the plan. A runtime starts the kernel, tells the proxy where to connect
 * (proxy_attach) when the kernel's channels are reachable, reports progress
 * (proxy_progress) while it starts, keeps the heartbeat honest
 * (proxy_set_alive), and calls env->exited exactly once when the kernel has
 * ended or cannot start. All waiting is done through the loop (loop_watch_fd,
 * loop_timer, checked: a registration can fail): a runtime waits for nothing
 * by itself, with one stated exception: the kubernetes runtime's REST calls
 * (create the kernel's objects, get the pod after a watch ends, delete them)
 * are synchronous libcurl calls, each bounded by the client's request timeout
 * (30 s, kube_client.h; 1.5 s for the delete at the end): one per object of
 * the kernel at its start (pod, Secret, Service, ConfigMap), one at its end. Pod
 * events come through a watch the loop drives, which never blocks. */
#ifndef SPARK_K8S_RUNTIME_H
#define SPARK_K8S_RUNTIME_H

#include <stddef.h>

#include "kernel/connection.h"
#include "kernel/loop.h"
#include "kernel/proxy.h"
#include "launcher/runtime/janitor.h"
#include "launcher/plan/plan.h"
#include "launcher/sys/errmsg.h"

struct ui_route;

struct runtime_env {
    struct loop *loop;              /* the one event loop (kernel/loop.h) */
    struct proxy *proxy;
    const struct plan *plan;
    const struct connection *front; /* Jupyter's connection: key and signature scheme */
    const char *kernel_id;          /* a UUID, unique per start */
    const char *resource_dir;       /* the kernelspec folder, or NULL */
    struct janitor *janitor;        /* cleanup if the launcher dies */
    /* A SPARK_CONF_DIR made by the caller (the shim: the driver pod's properties),
     * used instead of rendering the plan's local properties; NULL for that. */
    const char *spark_conf_dir;
    /* The Spark UI's route through the Jupyter server (ui_route.h), or NULL. */
    const struct ui_route *ui;
    /* The kernel ended (EXPECTED: after a shutdown or a stop we asked for) or
     * could not start; REASON is one line a person can act on. Called once. */
    void (*exited)(void *ctx, int expected, const char *reason);
    void *ctx;
};

struct runtime_ops {
    const char *name;
    /* Begin starting the kernel. Returns a runtime object or NULL with ERR. */
    void *(*start)(const struct runtime_env *env, struct error *err);
    /* Interrupt the running kernel: 0 done here, 1 forward the request, -1 failed. */
    int (*interrupt)(void *rt);
    /* Stop the kernel in an orderly way, within GRACE_MS; exited follows. */
    void (*stop)(void *rt, long grace_ms);
    /* Release everything; the kernel is killed if it still runs; nothing is left. */
    void (*free)(void *rt);
};

extern const struct runtime_ops runtime_local_ops;

/* Substitute {connection_file} and {resource_dir} in ARGV; a new NULL-terminated
 * argv owned by the caller (strv_free, launcher/sys/strv.h). */
char **runtime_argv(char *const *argv, const char *connection_file, const char *resource_dir);

#endif
