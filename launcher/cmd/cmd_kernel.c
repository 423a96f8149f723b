/* cmd_kernel.c — `spark-k8s kernel -f CONNECTION_FILE`: the kernel Jupyter starts.
 *
 * Binds Jupyter's channels (the proxy), starts the runtime the kernelspec asks
 * for, relays until the kernel ends, and leaves nothing behind: signals arrive
 * through a signalfd in the same event loop, and a janitor process cleans up
 * if this process is killed outright. */
#include <errno.h>
#include <getopt.h>
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
#include "launcher/cmd/commands.h"
#include "launcher/sys/gpus.h"
#include "launcher/runtime/relay_host.h"
#include "launcher/spec/kernel_env.h"
#include "launcher/images/matrix.h"
#include "launcher/spec/plan.h"
#include "launcher/runtime/runtime.h"
#include "launcher/runtime/runtime_kube.h"
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
    int sigfd;
    int stopping;
    int runtime_done; /* the runtime ended or never started: nothing left to stop */
    long long started_ms;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spark-k8s kernel -f CONNECTION_FILE [--kernelspec DIR] [--max-message-size BYTES]\n"
            "\n"
            "Runs a Jupyter kernel: binds the channels of CONNECTION_FILE, starts the\n"
            "runtime named by the kernelspec in DIR (metadata.spark_k8s; default: local,\n"
            "/usr/bin/python3 -m ipykernel_launcher) and relays every message.\n"
            "\n"
            "  -f, --connection-file FILE  the connection file Jupyter wrote\n"
            "  --kernelspec DIR            the kernelspec folder (kernel.json); also\n"
            "                              SPARK_K8S_KERNELSPEC\n"
            "  --max-message-size BYTES    drop client messages larger than this\n"
            "                              (default 268435456; also SPARK_K8S_MAX_MESSAGE_BYTES)\n"
            "\n"
            "Exit status: 0 after a shutdown, 1 when the kernel dies or cannot start,\n"
            "2 for a bad connection file, kernelspec or option.\n");
}

static int parse_size(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v < 1024 || text[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

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

static int interrupt(void *ctx)
{
    struct kernel *k = ctx;
    return k->host.rt ? k->ops->interrupt(k->host.rt) : -1;
}

static void stop_runtime(struct kernel *k)
{
    if (k->runtime_done || !k->host.rt) {
        loop_stop(k->host.loop, 0);
        return;
    }
    if (k->stopping)
        return;
    k->stopping = 1;
    k->ops->stop(k->host.rt, STOP_GRACE_MS);
}

static void stop_runtime_cb(void *ctx)
{
    stop_runtime(ctx);
}

static void shutdown_early(void *ctx, int restart)
{
    (void)restart;
    stop_runtime(ctx);
}

static void ready(void *ctx)
{
    struct kernel *k = ctx;
    log_line("spark-k8s", "kernel %s ready in %lld ms (%s runtime)", k->kernel_id,
             monotonic_ms() - k->started_ms, plan_runtime(k->plan));
}

/* ---- from the runtime ------------------------------------------------------------ */

static void linger_over(void *ctx)
{
    struct kernel *k = ctx;
    log_line("spark-k8s", "kernel %s: no shutdown came after the failed start; leaving",
             k->kernel_id);
    loop_stop(k->host.loop, 1);
}

static void drained(void *ctx)
{
    struct kernel *k = ctx;
    loop_stop(k->host.loop, 0);
}

static void runtime_exited(void *ctx, int expected, const char *reason)
{
    struct kernel *k = ctx;
    k->runtime_done = 1;
    if (expected || k->stopping || proxy_shutdown_requested(k->host.proxy)) {
        /* Deliver the last replies (shutdown_reply, final iopub) before leaving. */
        proxy_drain(k->host.proxy, 500, drained, k);
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

/* ---- signals ----------------------------------------------------------------------- */

/* A GPU kernel on a machine where no GPU is visible says so (into NOTE), before
 * Spark fails at the RAPIDS plugin. */
static void check_gpus(struct kernel *k, char *note, size_t len)
{
    struct gpu_list gl;
    char err[1024];
    if (gpus_probe(NULL, &gl, err, sizeof err) != GPUS_OK)
        snprintf(note + strlen(note), len - strlen(note),
                 "%sspark-k8s: %s is a GPU kernel, but no GPU is visible here: %s. Spark's RAPIDS "
                 "plugin needs an NVIDIA GPU; choose a kernel without GPU to run on CPUs, or run "
                 "RAPIDS in explain-only mode (rapids.mode explainOnly, SPARK_K8S_RAPIDS_MODE) to see "
                 "what it would run on a GPU.",
                 *note ? "\n" : "", plan_display_name(k->plan), err);
    gpu_list_free(&gl);
}

/* A kernel whose RAPIDS or Iceberg jar is not in its environment says which jar,
 * and how to fetch it (into NOTE); the runtime leaves that feature out of Spark's
 * properties, so Spark still starts (see render_spark_conf). */
static void check_jars(struct kernel *k, char *note, size_t len)
{
    const char *python = plan_runtime_argv(k->plan)[0];
    char dir[4200], err[512];
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err, sizeof err))
        return;
    const struct matrix_spark *line = matrix_spark_find(m, plan_spark_version(k->plan));
    struct kernel_jar jars[KERNEL_JARS_MAX];
    int have_dir = kernel_env_jars_dir(python, dir, sizeof dir) == 0;
    /* RAPIDS: whichever build (classifier) the environment holds */
    size_t n = line ? kernel_env_jars_in(m, line, plan_variant(k->plan), NULL,
                                         have_dir ? dir : NULL, jars)
                    : 0;
    for (size_t i = 0; i < n; i++) {
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", have_dir ? dir : "", jars[i].file);
        if (!jars[i].required || (have_dir && access(path, R_OK) == 0))
            continue;
        size_t used = strlen(note);
        if (have_dir)
            snprintf(note + used, len - used,
                     "%sspark-k8s: %s needs %s (%s), which is not in %s; %s is off in this "
                     "kernel. Fetch it with: spark-k8s jars fetch --python %s",
                     used ? "\n" : "", plan_display_name(k->plan), jars[i].file,
                     jars[i].feature, dir, jars[i].feature, python);
        else
            snprintf(note + used, len - used,
                     "%sspark-k8s: %s needs %s (%s), but its Python (%s) is not in a kernel "
                     "environment that can hold jars; %s is off in this kernel. Install the "
                     "kernelspecs with `make install`, or give --python ENV/bin/python",
                     used ? "\n" : "", plan_display_name(k->plan), jars[i].file,
                     jars[i].feature, python, jars[i].feature);
    }
    matrix_free(m);
}

/* What the notebook is told with the first cell about this machine. */
static void notices(struct kernel *k)
{
    if (strcmp(plan_runtime(k->plan), "local") != 0)
        return;
    char note[8192] = "";
    const struct setting *mode = plan_setting(k->plan, SETTING_RAPIDS_MODE);
    if (matrix_variant_has(plan_variant(k->plan), "gpu") && setting_rapids_explain_only(mode->value))
        snprintf(note, sizeof note,
                 "spark-k8s: %s runs RAPIDS in explain-only mode (rapids.mode, %s): queries run "
                 "on the CPU, and spark_k8s.gpu_plan(df) shows which of their operators would "
                 "run on a GPU.", plan_display_name(k->plan), mode->source);
    else if (matrix_variant_has(plan_variant(k->plan), "gpu"))
        check_gpus(k, note, sizeof note);
    check_jars(k, note, sizeof note);
    if (!*note)
        return;
    fprintf(stderr, "%s\n", note);
    proxy_set_notice(k->host.proxy, note);
}

/* ---- the command ----------------------------------------------------------------------- */

static const struct runtime_ops *pick_runtime(const char *name)
{
    if (strcmp(name, "local") == 0)
        return &runtime_local_ops;
    if (strcmp(name, "kubernetes") == 0)
        return &runtime_kube_ops;
    return NULL;
}

int cmd_kernel(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"connection-file", required_argument, NULL, 'f'},
        {"kernelspec", required_argument, NULL, 'k'},
        {"max-message-size", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conn_path = NULL;
    const char *spec_dir = getenv("SPARK_K8S_KERNELSPEC");
    const char *max_text = getenv("SPARK_K8S_MAX_MESSAGE_BYTES");
    size_t max_bytes = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            conn_path = optarg;
            break;
        case 'k':
            spec_dir = optarg;
            break;
        case 'm':
            max_text = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return err_exit_status(ERR_USAGE);
        }
    }
    if (!conn_path || optind != argc) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    if (max_text && *max_text && parse_size(max_text, &max_bytes)) {
        log_line("spark-k8s kernel", "max message size '%s' is not a number of bytes >= 1024",
                 max_text);
        return err_exit_status(ERR_USAGE);
    }

    struct kernel k;
    memset(&k, 0, sizeof k);
    relay_host_init(&k.host, "spark-k8s kernel", stop_runtime_cb, &k);
    k.started_ms = monotonic_ms();
    uuid_text(k.kernel_id);
    char err[2048];
    int status = err_exit_status(ERR_INPUT); /* until the input is read */
    if (connection_read(conn_path, &k.conn, err, sizeof err) ||
        plan_load(spec_dir && *spec_dir ? spec_dir : NULL, &k.plan, err, sizeof err)) {
        log_line("spark-k8s kernel", "%s", err);
        goto out;
    }
    k.ops = pick_runtime(plan_runtime(k.plan));
    if (!k.ops) {
        log_line("spark-k8s kernel", "%s/kernel.json: runtime '%s' is not available in this build",
                 spec_dir, plan_runtime(k.plan));
        goto out;
    }
    status = err_exit_status(ERR_SYSTEM); /* the set-up */
    /* Started by Jupyter: end with the server that started us, like ipykernel's
     * parent poller, but with a signal rather than a poll. */
    const char *jpy_parent = getenv("JPY_PARENT_PID");
    if (jpy_parent && atol(jpy_parent) == (long)getppid())
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The janitor first, so it inherits no socket of ours. If we die with a kernel
     * pod running, it deletes the pod at once (not after the shim's watchdog). */
    k.host.janitor.on_death = runtime_kube_orphaned;
    if (relay_host_guard(&k.host, err, sizeof err)) {
        log_line("spark-k8s kernel", "cannot set up: %s", err);
        goto out;
    }
    struct proxy_hooks hooks = {
        .ctx = &k,
        .interrupt = interrupt,
        .kernel_info = kernel_info,
        .shutdown_early = shutdown_early,
        .ready = ready,
    };
    struct proxy_options popt = {.max_message_bytes = max_bytes, .log_name = "spark-k8s"};
    if (relay_host_relay(&k.host, &k.conn, &popt, &hooks, err, sizeof err)) {
        log_line("spark-k8s kernel", "%s: %s", conn_path, err);
        /* connection_read has checked the file (ERR_INPUT): what fails here is the machine */
        status = err_exit_status(ERR_SYSTEM);
        goto out;
    }
    notices(&k);
    struct runtime_env env = {
        .plan = k.plan,
        .front = &k.conn,
        .kernel_id = k.kernel_id,
        .resource_dir = spec_dir,
        .exited = runtime_exited,
        .ctx = &k,
    };
    if (relay_host_start(&k.host, k.ops, &env, err, sizeof err)) {
        log_line("spark-k8s kernel", "cannot start the %s runtime: %s", k.ops->name, err);
        status = err_exit_status(ERR_RUNTIME);
        goto out;
    }
    status = relay_host_run(&k.host);
out:
    relay_host_free(&k.host);
    plan_free(k.plan);
    connection_clear(&k.conn);
    return status;
}
