/* relay_host.c — signals, janitor, loop, relay and runtime for the kernel and the
 * shim (see relay_host.h). */
#include "launcher/runtime/relay_host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/log.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/fs.h"
#include "launcher/sys/signals.h"

void relay_host_init(struct relay_host *h, const char *log_name, long stop_grace_ms,
                     const struct relay_host_owner *owner)
{
    memset(h, 0, sizeof *h);
    h->log_name = log_name;
    h->stop_grace_ms = stop_grace_ms;
    h->owner = *owner;
    h->started_ms = monotonic_ms();
    h->sigfd = -1;
    h->janitor.fd = -1;
}

int relay_host_guard(struct relay_host *h, struct error *err)
{
    if ((h->sigfd = signals_open()) < 0) {
        error_set(err, ERR_SYSTEM, "cannot block the signals: %s", strerror(errno));
        return -1;
    }
    return janitor_start(&h->janitor, err);
}

int relay_host_private_dir(struct relay_host *h, const char *name, struct error *err)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/spark-k8s-%s-XXXXXX", base, name);
    if (!mkdtemp(h->dir)) {
        error_set(err, ERR_SYSTEM, "cannot create a private directory in %s: %s", base,
                  strerror(errno));
        h->dir[0] = '\0';
        return -1;
    }
    janitor_guard_dir(&h->janitor, h->dir);
    return 0;
}

static void on_signal(void *ctx, int fd)
{
    struct relay_host *h = ctx;
    int signo;
    while ((signo = signals_next(fd)) != 0) {
        if (signo == SIGINT) {
            /* Jupyter signals the whole process group: an interrupt, never our end. */
            proxy_interrupt(h->proxy);
        } else {
            log_line(h->log_name, "%s: stopping the kernel", strsignal(signo));
            relay_host_stop(h);
        }
    }
}

void relay_host_stop(struct relay_host *h)
{
    if (h->runtime_done || !h->rt) {
        loop_stop(h->loop, h->exit_status);
        return;
    }
    if (h->stopping)
        return;
    h->stopping = 1;
    h->ops->stop(h->rt, h->stop_grace_ms);
}

static void drained(void *ctx)
{
    struct relay_host *h = ctx;
    loop_stop(h->loop, h->exit_status);
}

void relay_host_drain(struct relay_host *h, long ms, int status)
{
    h->exit_status = status;
    proxy_drain(h->proxy, ms, drained, h);
}

/* ---- the proxy's hooks ------------------------------------------------------------ */

static int interrupt(void *ctx)
{
    struct relay_host *h = ctx;
    return h->rt ? h->ops->interrupt(h->rt) : -1;
}

static json_t *kernel_info(void *ctx)
{
    struct relay_host *h = ctx;
    return h->owner.kernel_info(h->owner.ctx);
}

static void shutdown_early(void *ctx, int restart)
{
    (void)restart;
    relay_host_stop(ctx);
}

static void ready(void *ctx)
{
    struct relay_host *h = ctx;
    if (h->owner.ready)
        h->owner.ready(h->owner.ctx);
}

static void exited(void *ctx, int expected, const char *reason)
{
    struct relay_host *h = ctx;
    h->runtime_done = 1;
    h->owner.exited(h->owner.ctx, expected, reason);
}

int relay_host_relay(struct relay_host *h, const struct connection *front,
                     const struct proxy_options *opt, struct error *err)
{
    struct proxy_hooks hooks = {
        .ctx = h,
        .interrupt = interrupt,
        .kernel_info = h->owner.kernel_info ? kernel_info : NULL,
        .shutdown_early = shutdown_early,
        .ready = ready,
    };
    /* kernel/ keeps its own (err, errlen): what fails here is the machine */
    if (loop_new(&h->loop, err->text, sizeof err->text) ||
        proxy_new(h->loop, front, opt, &hooks, &h->proxy, err->text, sizeof err->text))
        return error_adopt(err, ERR_SYSTEM);
    if (loop_watch_fd(h->loop, h->sigfd, LOOP_READABLE, on_signal, h)) {
        error_set(err, ERR_SYSTEM, "cannot watch signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int relay_host_start(struct relay_host *h, const struct runtime_ops *ops,
                     struct runtime_env *env, struct error *err)
{
    env->loop = h->loop;
    env->proxy = h->proxy;
    env->janitor = &h->janitor;
    env->exited = exited;
    env->ctx = h;
    h->ops = ops;
    h->rt = ops->start(env, err);
    return h->rt ? 0 : -1;
}

int relay_host_run(struct relay_host *h)
{
    int status = loop_run(h->loop);
    if (status < 0) {
        log_line(h->log_name, "the event loop failed: %s", strerror(errno));
        status = 1;
    }
    return status;
}

void relay_host_free(struct relay_host *h)
{
    if (h->rt)
        h->ops->free(h->rt);
    h->rt = NULL;
    proxy_free(h->proxy);
    h->proxy = NULL;
    loop_free(h->loop);
    h->loop = NULL;
    if (h->dir[0])
        remove_tree(h->dir);
    h->dir[0] = '\0';
    janitor_release(&h->janitor);
    if (h->sigfd >= 0)
        close(h->sigfd);
    h->sigfd = -1;
}
