/* kernel_host.c — the launcher's kernel: proxy, runtime, relay (see kernel_host.h). */
#include "launcher/runtime/kernel_host.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kernel/connection.h"
#include "kernel/log.h"
#include "kernel/loop.h"
#include "kernel/proxy.h"
#include "kernel/session.h"
#include "launcher/sys/errmsg.h"
#include "launcher/runtime/notices.h"
#include "launcher/runtime/relay_host.h"
#include "launcher/plan/plan.h"
#include "launcher/runtime/runtime.h"
#include "launcher/runtime/runtime_kube.h"
#include "launcher/runtime/ui_route.h"
#include "launcher/sys/version.h"

#define STOP_GRACE_MS 1200 /* SIGTERM to SIGKILL; the whole stop stays under 2 s */
/* After a failed start the launcher stays to tell every request why, rather than
 * exit into Jupyter's restart loop; it leaves on shutdown or after this long. */
#define FAILED_LINGER_MS (10 * 60 * 1000)

struct kernel {
    struct connection conn;
    struct plan *plan;
    struct relay_host host;
    const struct runtime_ops *ops; /* the runtime the kernelspec names */
    char kernel_id[37];
    struct ui_route ui; /* the Spark UI through the Jupyter server, when it has the route */
};

/* ---- hooks from the proxy ---------------------------------------------------- */

static json_t *kernel_info(void *ctx)
{
    struct kernel *k = ctx;
    char banner[512];
    const char *ver = plan_spark_version(k->plan);
    const char *failure = proxy_failure(k->host.proxy);
    snprintf(banner, sizeof banner, "%s\nSpark %s, %s variant, %s runtime (spark-k8s %s). %s%s",
             plan_display_name(k->plan), ver[0] ? ver : "(not set)", plan_variant(k->plan),
             plan_runtime(k->plan), SPARK_K8S_VERSION,
             failure ? "" : "The kernel is starting; requests run as soon as it is ready.",
             failure ? failure : "");
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:s}, s:s, s:[]}",
                     "status", "ok", "protocol_version", PROTOCOL_VERSION, "implementation",
                     "spark-k8s", "implementation_version", SPARK_K8S_VERSION, "language_info",
                     "name", "python", "version", "3", "mimetype", "text/x-python",
                     "file_extension", ".py", "pygments_lexer", "ipython3", "codemirror_mode",
                     "name", "ipython", "version", 3, "nbconvert_exporter", "python", "banner",
                     banner, "help_links");
}

static void ready(void *ctx)
{
    struct kernel *k = ctx;
    log_line("spark-k8s", "kernel %s ready in %lld ms (%s runtime)", k->kernel_id,
             monotonic_ms() - k->host.started_ms, plan_runtime(k->plan));
}

/* ---- from the runtime ------------------------------------------------------------ */

static void linger_over(void *ctx)
{
    struct kernel *k = ctx;
    log_line("spark-k8s", "kernel %s: no shutdown came after the failed start; leaving",
             k->kernel_id);
    loop_stop(k->host.loop, 1);
}

static void runtime_exited(void *ctx, int expected, const char *reason)
{
    struct kernel *k = ctx;
    if (expected || k->host.stopping || proxy_shutdown_requested(k->host.proxy)) {
        /* Deliver the last replies (shutdown_reply, final iopub) before leaving. */
        relay_host_drain(&k->host, 500, 0);
        return;
    }
    if (!proxy_ready(k->host.proxy)) {
        char msg[1600];
        snprintf(msg, sizeof msg, "the kernel could not start: %s", reason);
        proxy_runtime_failed(k->host.proxy, msg);
        if (loop_timer(k->host.loop, FAILED_LINGER_MS, linger_over, k) < 0)
            linger_over(k); /* without a timer, staying would be for ever */
        return;
    }
    char msg[1600];
    snprintf(msg, sizeof msg, "kernel %s died unexpectedly: %s", k->kernel_id, reason);
    /* In the cell that was running, too; Jupyter's restarter takes it from here. */
    proxy_notify(k->host.proxy, msg);
    loop_stop(k->host.loop, 1);
}

/* What the notebook is told with the first cell about this machine. */
static void notices(struct kernel *k)
{
    char note[8192];
    kernel_notices(k->plan, note, sizeof note);
    if (!*note)
        return;
    fprintf(stderr, "%s\n", note);
    proxy_set_notice(k->host.proxy, note);
}

static const struct runtime_ops *pick_runtime(const char *name)
{
    if (strcmp(name, "local") == 0)
        return &runtime_local_ops;
    if (strcmp(name, "kubernetes") == 0)
        return &runtime_kube_ops;
    return NULL;
}

int kernel_host_run(const struct kernel_options *o, struct error *err)
{
    const char *conn_path = o->connection_file, *spec_dir = o->kernelspec_dir;
    size_t max_bytes = o->max_message_bytes;
    struct kernel k;
    memset(&k, 0, sizeof k);
    struct relay_host_owner owner = {.ctx = &k, .kernel_info = kernel_info, .ready = ready,
                                     .exited = runtime_exited};
    relay_host_init(&k.host, "spark-k8s kernel", STOP_GRACE_MS, &owner);
    uuid_text(k.kernel_id);
    int status = -1;
    if (connection_read(conn_path, &k.conn, err->text, sizeof err->text)) {
        error_adopt(err, ERR_INPUT);
        goto out;
    }
    if (plan_load(spec_dir && *spec_dir ? spec_dir : NULL, &k.plan, err))
        goto out;
    k.ops = pick_runtime(plan_runtime(k.plan));
    if (!k.ops) {
        error_set(err, ERR_INPUT, "%s/kernel.json: runtime '%s' is not available in this build",
                  spec_dir, plan_runtime(k.plan));
        goto out;
    }
    /* Started by Jupyter: end with the server that started us, like ipykernel's
     * parent poller, but with a signal rather than a poll. */
    const char *jpy_parent = getenv("JPY_PARENT_PID");
    if (jpy_parent && atol(jpy_parent) == (long)getppid())
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The janitor first, so it inherits no socket of ours. If we die with a kernel
     * pod running, it deletes the pod at once (not after the shim's watchdog). */
    k.host.janitor.on_death = runtime_kube_orphaned;
    if (relay_host_guard(&k.host, err)) {
        error_prefix(err, "cannot set up: ");
        goto out;
    }
    struct proxy_options popt = {.max_message_bytes = max_bytes, .log_name = "spark-k8s"};
    if (relay_host_relay(&k.host, &k.conn, &popt, err)) {
        error_prefix(err, "%s: ", conn_path);
        goto out;
    }
    notices(&k);
    int routed = ui_route_find(&k.ui, k.kernel_id, conn_path, err);
    if (routed < 0)
        goto out;
    struct runtime_env env = {
        .plan = k.plan,
        .front = &k.conn,
        .kernel_id = k.kernel_id,
        .resource_dir = spec_dir,
        .ui = routed ? &k.ui : NULL,
    };
    if (relay_host_start(&k.host, k.ops, &env, err)) {
        error_prefix(err, "cannot start the %s runtime: ", k.ops->name);
        goto out;
    }
    status = relay_host_run(&k.host);
out:
    relay_host_free(&k.host);
    ui_route_withdraw(&k.ui);
    plan_free(k.plan);
    connection_clear(&k.conn);
    return status;
}
