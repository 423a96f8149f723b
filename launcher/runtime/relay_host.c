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

void relay_host_init(struct relay_host *h, const char *log_name, void (*stop)(void *ctx),
                     void *ctx)
{
    memset(h, 0, sizeof *h);
    h->log_name = log_name;
    h->stop = stop;
    h->ctx = ctx;
    h->sigfd = -1;
    h->janitor.fd = -1;
}

int relay_host_guard(struct relay_host *h, char *err, size_t errlen)
{
    if ((h->sigfd = signals_open()) < 0) {
        errorf(err, errlen, "cannot block the signals: %s", strerror(errno));
        return -1;
    }
    return janitor_start(&h->janitor, err, errlen);
}

int relay_host_private_dir(struct relay_host *h, const char *name, char *err, size_t errlen)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(h->dir, sizeof h->dir, "%s/spark-k8s-%s-XXXXXX", base, name);
    if (!mkdtemp(h->dir)) {
        errorf(err, errlen, "cannot create a private directory in %s: %s", base,
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
            h->stop(h->ctx);
        }
    }
}

int relay_host_relay(struct relay_host *h, const struct connection *front,
                     const struct proxy_options *opt, const struct proxy_hooks *hooks, char *err,
                     size_t errlen)
{
    if (loop_new(&h->loop, err, errlen) ||
        proxy_new(h->loop, front, opt, hooks, &h->proxy, err, errlen))
        return -1;
    if (loop_watch_fd(h->loop, h->sigfd, LOOP_READABLE, on_signal, h)) {
        errorf(err, errlen, "cannot watch signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int relay_host_start(struct relay_host *h, const struct runtime_ops *ops,
                     struct runtime_env *env, char *err, size_t errlen)
{
    env->loop = h->loop;
    env->proxy = h->proxy;
    env->janitor = &h->janitor;
    h->ops = ops;
    h->rt = ops->start(env, err, errlen);
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
