/* runtime_kube.c — the kubernetes runtime: creates the kernel's Pod (then its
 * Secret, Service and ConfigMap, owned by the Pod), follows the Pod and its
 * Events with watches driven by the proxy's loop, tells the notebook every step
 * of the start, connects the proxy to the shim over CurveZMQ once the Pod runs,
 * pings the shim so its watchdog knows the launcher lives, and deletes the Pod
 * (background propagation takes the rest) when the kernel stops or fails. */
#include "launcher/runtime/runtime_kube.h"
#include "launcher/runtime/ui_route.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "kernel/log.h"
#include "kernel/proxy.h"
#include "launcher/kube/kube_client.h"
#include "launcher/runtime/kube_launch.h"
#include "launcher/kube/kube_objects.h"

#define KUBE_DEFAULT_LAUNCH_TIMEOUT_S 600
#define KUBE_MAX_WATCH_FDS 16
#define KUBE_REASON_MAX 2600
#define KUBE_REMIND_MS 15000 /* a waiting start says so again this often */

struct kube_runtime {
    struct runtime_env env;
    struct kube_client *client;
    struct kube_launch *launch;
    char pods_path[512], pod_path[512];
    char janitor_value[600];         /* "<pod path> <uid>": the janitor deletes it if we die */
    int pod_created, pod_deleted;
    struct kube_watch *pod_watch, *event_watch;
    int fds[KUBE_MAX_WATCH_FDS];
    size_t nfds;
    int io_timer, launch_timer, fail_timer, ping_timer, remind_timer;
    long remind_ms;
    long ping_ms;                    /* a quarter of the shim's watchdog, at most 5 s */
    int attached, finished, stopping;
    int driving;                     /* inside drive_watches: no re-entry from callbacks */
    struct proxy_curve curve;        /* launcher = CURVE client; peer = the shim's public key */
    char server_secret[41];
    void *zmq, *ping;                /* DEALER to the shim's hb channel */
    char pod_ip[64];
    json_t *seen_events;             /* event uid → count already shown */
    char last_status[1024];          /* the last progress line, for the timeout message */
    struct error fail;               /* a failure found while starting, told from the loop */
    long long started_ms;
    long launch_timeout_ms;
};

static void drive_watches(struct kube_runtime *rt);

/* ---- ending --------------------------------------------------------------------- */

static void delete_pod(struct kube_runtime *rt)
{
    if (!rt->pod_created || rt->pod_deleted)
        return;
    struct kube_status st;
    kube_client_set_timeout(rt->client, 1500);
    if (kube_delete(rt->client, rt->pod_path, &st) < 0)
        log_line("spark-k8s", "cannot delete pod %s: %s", rt->launch->names.base,
                 st.message);
    else if (rt->janitor_value[0] && rt->env.janitor)
        janitor_forget_value(rt->env.janitor, rt->janitor_value);
    rt->pod_deleted = 1;
}

void runtime_kube_orphaned(const char *value)
{
    char path[600];
    const char *space = strrchr(value, ' ');
    if (!space || (size_t)(space - value) >= sizeof path)
        return;
    snprintf(path, sizeof path, "%.*s", (int)(space - value), value);
    struct kube_config *cfg = NULL;
    struct kube_client *client = NULL;
    if (kube_config_load_default(&cfg, NULL) < 0 || kube_client_new(cfg, &client, NULL) < 0) {
        kube_config_free(cfg);
        return; /* the shim's watchdog deletes the pod later */
    }
    kube_client_set_timeout(client, 5000);
    struct kube_status st;
    kube_delete_uid(client, path, space + 1, &st);
    kube_client_free(client);
}

/* The kernel is over: report once. */
static void finish(struct kube_runtime *rt, int expected, const char *reason)
{
    if (rt->finished)
        return;
    rt->finished = 1;
    proxy_set_alive(rt->env.proxy, 0);
    delete_pod(rt);
    rt->env.exited(rt->env.ctx, expected, reason);
}

static void fail_later_cb(void *ctx)
{
    struct kube_runtime *rt = ctx;
    rt->fail_timer = 0;
    finish(rt, 0, rt->fail.text);
}

/* Failures found while starting are reported from the loop, never from start(). */
static void fail_later(struct kube_runtime *rt, const struct error *e)
{
    rt->fail = *e;
    if (!rt->fail_timer)
        rt->fail_timer = loop_timer(rt->env.loop, 0, fail_later_cb, rt);
    if (rt->fail_timer < 0) { /* no memory for a timer: report now rather than never */
        rt->fail_timer = 0;
        finish(rt, 0, rt->fail.text);
    }
}

/* Out of memory for what the runtime needs to look after the kernel (WHAT): it fails. */
static void fail_nomem(struct kube_runtime *rt, const char *what)
{
    struct error e;
    error_nomem(&e);
    error_prefix(&e, "%s: ", what);
    fail_later(rt, &e);
}

/* A timer the runtime needs to look after the kernel; without one it fails. */
static int need_timer(struct kube_runtime *rt, long ms, loop_timer_fn *cb)
{
    int id = loop_timer(rt->env.loop, ms, cb, rt);
    if (id < 0)
        fail_nomem(rt, "cannot set a timer");
    return id > 0 ? id : 0;
}

static void progress(struct kube_runtime *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress(struct kube_runtime *rt, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    snprintf(rt->last_status, sizeof rt->last_status, "%s", line);
    if (!proxy_ready(rt->env.proxy))
        proxy_progress(rt->env.proxy, line);
    else
        log_line("spark-k8s", "%s", line);
}

/* ---- the heartbeat pinger -------------------------------------------------------- */

static void ping_cb(void *ctx)
{
    struct kube_runtime *rt = ctx;
    rt->ping_timer = 0;
    if (!rt->ping || rt->finished)
        return;
    char buf[64];
    while (zmq_recv(rt->ping, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
        ; /* the shim's echoes: nothing to do with them */
    zmq_send(rt->ping, "ping", 4, ZMQ_DONTWAIT);
    rt->ping_timer = need_timer(rt, rt->ping_ms, ping_cb);
}

static int start_pinger(struct kube_runtime *rt, const char *endpoint, struct error *err)
{
    rt->zmq = zmq_ctx_new();
    rt->ping = rt->zmq ? zmq_socket(rt->zmq, ZMQ_DEALER) : NULL;
    int zero = 0, hwm = 4, ipv6 = strchr(endpoint, '[') != NULL;
    if (!rt->ping || zmq_setsockopt(rt->ping, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_setsockopt(rt->ping, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(rt->ping, ZMQ_IPV6, &ipv6, sizeof ipv6) ||
        zmq_setsockopt(rt->ping, ZMQ_CURVE_SERVERKEY, rt->curve.peer_public_key, 40) ||
        zmq_setsockopt(rt->ping, ZMQ_CURVE_PUBLICKEY, rt->curve.public_key, 40) ||
        zmq_setsockopt(rt->ping, ZMQ_CURVE_SECRETKEY, rt->curve.secret_key, 40) ||
        zmq_connect(rt->ping, endpoint)) {
        error_set(err, ERR_RUNTIME, "cannot connect the heartbeat to %s: %s", endpoint,
                  zmq_strerror(errno));
        return -1;
    }
    ping_cb(rt);
    return 0;
}

/* ---- the pod ------------------------------------------------------------------------ */

static const char *str_at(json_t *obj, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(obj, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return json_string_value(v);
}

static json_t *first_container_status(json_t *pod)
{
    return json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0);
}

/* The Jupyter server's route to the kernel pod's Spark UI (ui_route.h): its address,
 * for the server extension; the janitor removes it should the launcher die. A failure
 * costs the route only, and the notebook is told. */
static void publish_ui(struct kube_runtime *rt, const char *ip)
{
    const struct ui_route *ui = rt->env.ui;
    if (!ui)
        return;
    char url[128];
    snprintf(url, sizeof url, strchr(ip, ':') ? "http://[%s]:%d" : "http://%s:%d", ip,
             KUBE_SPARK_UI_PORT);
    struct error e = {0};
    if (rt->env.janitor)
        janitor_guard_dir(rt->env.janitor, ui->registry);
    if (ui_route_publish(ui, url, &e) < 0)
        progress(rt, "the Spark UI cannot be reached through Jupyter: %s", e.text);
}

static void attach(struct kube_runtime *rt, const char *ip)
{
    char endpoints_buf[CH_COUNT][128];
    char *endpoints[CH_COUNT];
    int port = rt->launch->in.shim_port > 0 ? rt->launch->in.shim_port : KUBE_SHIM_PORT;
    int ipv6 = strchr(ip, ':') != NULL;
    for (int ch = 0; ch < CH_COUNT; ch++) {
        snprintf(endpoints_buf[ch], sizeof endpoints_buf[ch], ipv6 ? "tcp://[%s]:%d" : "tcp://%s:%d",
                 ip, port + ch);
        endpoints[ch] = endpoints_buf[ch];
    }
    struct error e = {0};
    if (proxy_attach(rt->env.proxy, endpoints, &rt->curve, e.text, sizeof e.text) < 0)
        error_adopt(&e, ERR_SYSTEM); /* kernel/'s own (err, errlen) */
    else
        start_pinger(rt, endpoints[CH_HB], &e);
    if (e.kind != ERR_NONE) {
        error_prefix(&e, "cannot connect to the kernel pod at %s: ", ip);
        fail_later(rt, &e);
        return;
    }
    rt->attached = 1;
    snprintf(rt->pod_ip, sizeof rt->pod_ip, "%s", ip);
    proxy_set_alive(rt->env.proxy, 1);
    progress(rt, "pod %s is running (%s); connecting to the kernel", rt->launch->names.base, ip);
    publish_ui(rt, ip);
}

/* The last N non-empty lines of TEXT (a container's termination message: the end of
 * its log) on one line, joined with " / ". */
static void last_lines(const char *text, int n, char *out, size_t len)
{
    out[0] = '\0';
    if (!text || len == 0)
        return;
    const char *starts[8];
    size_t lens[8];
    int count = 0;
    for (const char *p = text; *p;) {
        size_t l = strcspn(p, "\r\n");
        if (l > 0) {
            if (count == n) {
                memmove(starts, starts + 1, (size_t)(n - 1) * sizeof starts[0]);
                memmove(lens, lens + 1, (size_t)(n - 1) * sizeof lens[0]);
                count--;
            }
            starts[count] = p;
            lens[count++] = l;
        }
        p += l;
        p += strspn(p, "\r\n");
    }
    size_t used = 0;
    for (int i = 0; i < count && used + 1 < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%.*s", i ? " / " : "", (int)lens[i],
                                 starts[i]);
}

/* How a pod that stopped running stopped. */
enum pod_end {
    POD_EVICTED,
    POD_OOM_KILLED,
    POD_KILLED,     /* by a signal */
    POD_ENDED,      /* its container terminated, or only its phase says it ended */
};

/* Why a pod that stopped running stopped, in a person's words, on one line into OUT;
 * which kind of end it was. */
static enum pod_end describe_end(struct kube_runtime *rt, json_t *pod, char *out, size_t len)
{
    const char *phase = str_at(pod, "status", "phase", NULL);
    const char *reason = str_at(pod, "status", "reason", NULL);
    const char *message = str_at(pod, "status", "message", NULL);
    json_t *cs = first_container_status(pod);
    json_t *term = json_object_get(json_object_get(cs, "state"), "terminated");
    const char *term_reason = json_string_value(json_object_get(term, "reason"));
    char tail[1200];
    last_lines(json_string_value(json_object_get(term, "message")), 3, tail, sizeof tail);
    const char *term_message = tail[0] ? tail : NULL;
    long long code = json_integer_value(json_object_get(term, "exitCode"));
    if (reason && strcmp(reason, "Evicted") == 0) {
        snprintf(out, len, "the kernel pod %s was evicted: %s", rt->launch->names.base,
                 message ? message : "(no message)");
        return POD_EVICTED;
    }
    if (term_reason && strcmp(term_reason, "OOMKilled") == 0) {
        snprintf(out, len,
                 "the kernel pod %s was OOM-killed: the kernel used more than its memory limit "
                 "(%s); choose a kernel with more driver memory",
                 rt->launch->names.base, rt->launch->memory);
        return POD_OOM_KILLED;
    }
    if (term && code > 128 && code < 128 + 65) {
        /* the container's first process was killed: exit status 128 + the signal */
        snprintf(out, len, "the kernel pod %s was killed by signal %lld (%s, exit code %lld)%s%s",
                 rt->launch->names.base, code - 128, term_reason ? term_reason : "terminated", code,
                 term_message ? ": " : "", term_message ? term_message : "");
        return POD_KILLED;
    }
    if (term)
        snprintf(out, len, "the kernel pod %s ended (%s, exit code %lld)%s%s",
                 rt->launch->names.base, term_reason ? term_reason : "terminated", code,
                 term_message ? ": " : "", term_message ? term_message : "");
    else
        snprintf(out, len, "the kernel pod %s ended (phase %s)%s%s", rt->launch->names.base,
                 phase ? phase : "unknown", message ? ": " : "", message ? message : "");
    return POD_ENDED;
}

static void on_pod(struct kube_runtime *rt, const char *type, json_t *pod)
{
    char reason[KUBE_REASON_MAX];
    if (strcmp(type, "DELETED") == 0) {
        rt->pod_deleted = 1;
        if (!rt->stopping && !proxy_shutdown_requested(rt->env.proxy)) {
            /* a cause (eviction, OOM, a signal) says more than the deletion */
            if (describe_end(rt, pod, reason, sizeof reason) == POD_ENDED)
                snprintf(reason, sizeof reason, "the kernel pod %s was deleted",
                         rt->launch->names.base);
            finish(rt, 0, reason);
        } else {
            finish(rt, 1, "the kernel pod was deleted");
        }
        return;
    }
    if (str_at(pod, "metadata", "deletionTimestamp", NULL) && !rt->stopping &&
        !proxy_shutdown_requested(rt->env.proxy)) {
        /* someone else deletes it: an admin, or the garbage collector after the
         * owner (the Jupyter server's pod) went; the kernel is about to go */
        rt->pod_deleted = 1;
        snprintf(reason, sizeof reason,
                 "the kernel pod %s was deleted (by an administrator, or with the pod that "
                 "owns it)",
                 rt->launch->names.base);
        finish(rt, 0, reason);
        return;
    }
    const char *phase = str_at(pod, "status", "phase", NULL);
    if (!phase)
        return;
    if (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) {
        describe_end(rt, pod, reason, sizeof reason);
        finish(rt, rt->stopping || proxy_shutdown_requested(rt->env.proxy), reason);
        return;
    }
    json_t *cs = first_container_status(pod);
    json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
    const char *wreason = json_string_value(json_object_get(waiting, "reason"));
    const char *wmessage = json_string_value(json_object_get(waiting, "message"));
    static const char *const fatal[] = {"ErrImagePull",       "ImagePullBackOff",
                                        "InvalidImageName",   "ErrImageNeverPull",
                                        "CreateContainerConfigError", "CreateContainerError",
                                        NULL};
    for (size_t i = 0; wreason && fatal[i]; i++) {
        if (strcmp(wreason, fatal[i]) == 0) {
            snprintf(reason, sizeof reason, "the kernel pod cannot start: %s: %s (image %s)",
                     wreason, wmessage ? wmessage : "", rt->launch->in.driver_image);
            finish(rt, 0, reason);
            return;
        }
    }
    if (strcmp(phase, "Running") == 0 && !rt->attached) {
        const char *ip = str_at(pod, "status", "podIP", NULL);
        if (ip && *ip)
            attach(rt, ip);
    }
}

/* ---- events ----------------------------------------------------------------------- */

static void on_event(struct kube_runtime *rt, json_t *ev)
{
    const char *uid = str_at(ev, "metadata", "uid", NULL);
    const char *reason = json_string_value(json_object_get(ev, "reason"));
    const char *message = json_string_value(json_object_get(ev, "message"));
    /* repeats: "count" (the kubelet's core/v1 events), or series.count (the scheduler's
     * events.k8s.io events, which have no count) */
    json_int_t count = json_integer_value(json_object_get(json_object_get(ev, "series"), "count"));
    if (count <= 0)
        count = json_integer_value(json_object_get(ev, "count"));
    if (count <= 0)
        count = 1;
    if (!uid || !reason)
        return;
    json_t *seen = json_object_get(rt->seen_events, uid);
    if (seen && json_integer_value(seen) >= count)
        return;
    json_object_set_new(rt->seen_events, uid, json_integer(count));
    if (!message)
        message = "";
    if (strcmp(reason, "Scheduled") == 0) {
        const char *to = strstr(message, " to ");
        progress(rt, "pod scheduled on %s", to ? to + 4 : message);
    } else if (strcmp(reason, "FailedMount") == 0 &&
               (strstr(message, rt->launch->names.secret) ||
                strstr(message, rt->launch->names.configmap))) {
        /* the Pod is created before its Secret and ConfigMap (it must own them):
         * the kubelet may look before they exist, and retries */
        return;
    } else if (strcmp(reason, "FailedScheduling") == 0) {
        progress(rt, "pod pending: %s", message);
    } else if (strcmp(reason, "Pulling") == 0 || strcmp(reason, "Pulled") == 0 ||
               strcmp(reason, "Created") == 0 || strcmp(reason, "Started") == 0) {
        progress(rt, "%s", message);
    } else {
        const char *type = json_string_value(json_object_get(ev, "type"));
        progress(rt, "%s%s: %s", type && strcmp(type, "Warning") == 0 ? "warning: " : "", reason,
                 message);
    }
}

/* ---- driving the watches from the proxy's loop ------------------------------------- */

static void on_watch_fd(void *ctx, int fd)
{
    (void)fd;
    drive_watches(ctx);
}

static void on_io_timer(void *ctx)
{
    struct kube_runtime *rt = ctx;
    rt->io_timer = 0;
    drive_watches(rt);
}

/* Register exactly the fds the watches want, for the events they want, and a
 * timer for their deadlines. */
static void sync_fds(struct kube_runtime *rt)
{
    int want[KUBE_MAX_WATCH_FDS];
    short want_events[KUBE_MAX_WATCH_FDS];
    size_t nwant = 0;
    long timeout = -1;
    struct kube_watch *watches[2] = {rt->pod_watch, rt->event_watch};
    for (int w = 0; w < 2; w++) {
        if (!watches[w])
            continue;
        struct kube_watch_fd fds[8];
        size_t n = 0;
        long t = -1;
        kube_watch_fds(watches[w], fds, 8, &n, &t);
        for (size_t i = 0; i < n && nwant < KUBE_MAX_WATCH_FDS; i++) {
            want_events[nwant] = fds[i].events;
            want[nwant++] = fds[i].fd;
        }
        if (t >= 0 && (timeout < 0 || t < timeout))
            timeout = t;
    }
    for (size_t i = 0; i < rt->nfds;) {
        int keep = 0;
        for (size_t j = 0; j < nwant; j++)
            keep |= want[j] == rt->fds[i];
        if (keep) {
            i++;
            continue;
        }
        loop_unwatch_fd(rt->env.loop, rt->fds[i]);
        rt->fds[i] = rt->fds[--rt->nfds];
    }
    for (size_t j = 0; j < nwant; j++) {
        int have = 0;
        for (size_t i = 0; i < rt->nfds; i++)
            have |= rt->fds[i] == want[j];
        /* Watching a watched fd again updates its events. */
        int events = ((want_events[j] & POLLIN) ? LOOP_READABLE : 0) |
                     ((want_events[j] & POLLOUT) ? LOOP_WRITABLE : 0);
        if (loop_watch_fd(rt->env.loop, want[j], events, on_watch_fd, rt) != 0)
            fail_nomem(rt, "cannot watch the connection to the API server");
        else if (!have)
            rt->fds[rt->nfds++] = want[j];
    }
    if (rt->io_timer)
        loop_timer_cancel(rt->env.loop, rt->io_timer);
    rt->io_timer = 0;
    if (timeout >= 0)
        rt->io_timer = need_timer(rt, timeout, on_io_timer);
}

static void drive_watches(struct kube_runtime *rt)
{
    if (rt->driving)
        return;
    rt->driving = 1;
    struct kube_status st;
    char type[16];
    json_t *obj;
    if (rt->event_watch) {
        if (kube_watch_process(rt->event_watch, &st) < 0) {
            /* progress is a courtesy: without events the pod watch still decides */
            log_line("spark-k8s", "events of pod %s: %s", rt->launch->names.base,
                     st.message);
            kube_watch_free(rt->event_watch);
            rt->event_watch = NULL;
        }
        while (rt->event_watch && kube_watch_next(rt->event_watch, type, &obj) == 1) {
            if (strcmp(type, "DELETED") != 0)
                on_event(rt, obj);
            json_decref(obj);
        }
    }
    if (rt->pod_watch) {
        if (kube_watch_process(rt->pod_watch, &st) < 0) {
            struct error e;
            kube_status_error(&st, "watch the kernel pod", &e);
            kube_watch_free(rt->pod_watch);
            rt->pod_watch = NULL;
            finish(rt, 0, e.text);
        }
        while (!rt->finished && rt->pod_watch && kube_watch_next(rt->pod_watch, type, &obj) == 1) {
            on_pod(rt, type, obj);
            json_decref(obj);
        }
    }
    if (rt->finished) {
        kube_watch_free(rt->event_watch);
        rt->event_watch = NULL;
        kube_watch_free(rt->pod_watch);
        rt->pod_watch = NULL;
    } else if (rt->event_watch && proxy_ready(rt->env.proxy)) {
        /* the start is over: the pod watch alone reports the end */
        kube_watch_free(rt->event_watch);
        rt->event_watch = NULL;
    }
    sync_fds(rt);
    rt->driving = 0;
}

/* A pod that waits (unschedulable, a long pull) keeps saying so: requests that
 * arrived after the last event learn why they wait. */
static void on_remind(void *ctx)
{
    struct kube_runtime *rt = ctx;
    rt->remind_timer = 0;
    if (rt->finished || proxy_ready(rt->env.proxy))
        return;
    if (rt->last_status[0]) {
        char line[1200];
        snprintf(line, sizeof line, "still waiting after %lld s: %s",
                 (monotonic_ms() - rt->started_ms) / 1000, rt->last_status);
        proxy_progress(rt->env.proxy, line);
    }
    rt->remind_timer = need_timer(rt, rt->remind_ms, on_remind);
}

static void on_launch_timeout(void *ctx)
{
    struct kube_runtime *rt = ctx;
    rt->launch_timer = 0;
    if (proxy_ready(rt->env.proxy) || rt->finished)
        return;
    char reason[KUBE_REASON_MAX];
    snprintf(reason, sizeof reason,
             "the kernel pod %s did not start within %ld s (SPARK_K8S_LAUNCH_TIMEOUT); last: %s",
             rt->launch->names.base, rt->launch_timeout_ms / 1000,
             rt->last_status[0] ? rt->last_status : "no news from the cluster");
    finish(rt, 0, reason);
}

/* ---- start ------------------------------------------------------------------------ */

static long env_seconds(const char *name, long fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n <= 0) ? fallback : n;
}

/* The launcher's own pod, when it runs in one in the kernel's namespace: it owns
 * the kernel pod, so deleting a Jupyter server pod removes its kernels. */
static void find_owner(struct kube_runtime *rt, char *name, size_t name_len, char *uid,
                       size_t uid_len, char *account, size_t account_len)
{
    name[0] = uid[0] = account[0] = '\0';
    const struct kube_config *cfg = kube_client_config(rt->client);
    const char *own = getenv("POD_NAME");
    if (!own || !*own)
        own = getenv("HOSTNAME");
    if (!cfg->in_cluster || !own || !*own || !kube_is_dns_label(own) ||
        strcmp(cfg->namespace, rt->launch->in.namespace) != 0)
        return;
    char path[512];
    json_t *pod = NULL;
    struct kube_status st;
    if (kube_path(path, sizeof path, "v1", cfg->namespace, "pods", own) < 0 ||
        kube_get(rt->client, path, &pod, &st) < 0)
        return;
    const char *pod_uid = str_at(pod, "metadata", "uid", NULL);
    const char *sa = str_at(pod, "spec", "serviceAccountName", NULL);
    if (pod_uid) {
        snprintf(name, name_len, "%s", own);
        snprintf(uid, uid_len, "%s", pod_uid);
        snprintf(account, account_len, "%s", sa ? sa : "");
    }
    json_decref(pod);
}

static int create_owned(struct kube_runtime *rt, const char *resource, json_t *obj,
                        const char *uid, struct error *err)
{
    char path[512], what[128];
    struct kube_status st;
    kube_path(path, sizeof path, "v1", rt->launch->in.namespace, resource, NULL);
    if (kube_objects_set_owner(obj, rt->launch->names.base, uid) < 0)
        return error_nomem(err);
    if (kube_create(rt->client, path, obj, NULL, &st) < 0) {
        snprintf(what, sizeof what, "create the kernel's %s", resource);
        return kube_status_error(&st, what, err);
    }
    return 0;
}

/* Create the objects; a failure (the API's message) into ERR. */
static int create_objects(struct kube_runtime *rt, struct error *err)
{
    char owner_name[KUBE_NAME_MAX + 1], owner_uid[128], owner_sa[KUBE_NAME_MAX + 1];
    find_owner(rt, owner_name, sizeof owner_name, owner_uid, sizeof owner_uid, owner_sa,
               sizeof owner_sa);
    /* the launch's inputs and what only this start knows (its owner), for these calls */
    struct kube_inputs in = rt->launch->in;
    if (owner_name[0]) {
        in.owner_pod_name = owner_name;
        in.owner_pod_uid = owner_uid;
    }
    /* The kernel pod's Spark driver calls the API server with the pod's account: the
     * namespace's default account has no Role. Without a setting, the launcher's own
     * account (it already holds the Role the kernel needs), else a refusal. */
    if (!in.service_account && owner_sa[0] && kube_is_dns_label(owner_sa))
        in.service_account = owner_sa;
    if (!in.service_account)
        return error_set(err, ERR_INPUT,
                 "the kernel pod has no service account: the namespace's default account may not "
                 "start executors. Set kubernetes.service_account (spark-k8s kernelspec install "
                 "--service-account NAME, or SPARK_K8S_SERVICE_ACCOUNT, or the admin config file); "
                         "`spark-k8s rbac --namespace %s | kubectl apply -f -` creates the account "
                         "spark-k8s with the Role a kernel needs",
                         in.namespace);
    json_t *pod = NULL, *secret = NULL, *svc = NULL, *cm = NULL, *created = NULL;
    int rc = -1;
    if (kube_build_pod(&in, &pod, err) < 0 || kube_build_secret(&in, &secret, err) < 0 ||
        kube_build_service(&in, &svc, err) < 0 || kube_build_configmap(&in, &cm, err) < 0) {
        error_prefix(err, "cannot build the kernel's objects: ");
        goto done;
    }
    struct kube_status st;
    progress(rt, "creating pod %s in namespace %s", rt->launch->names.base, in.namespace);
    if (kube_create(rt->client, rt->pods_path, pod, &created, &st) < 0) {
        kube_status_error(&st, "create the kernel pod", err);
        goto done;
    }
    rt->pod_created = 1;
    const char *uid = str_at(created, "metadata", "uid", NULL);
    if (!uid) {
        error_set(err, ERR_RUNTIME, "the API server returned the pod without a uid");
        goto done;
    }
    /* If this launcher is killed outright, the janitor deletes the pod at once (this
     * very pod: a restarted kernel's pod of the same name stays). */
    snprintf(rt->janitor_value, sizeof rt->janitor_value, "%s %s", rt->pod_path, uid);
    if (rt->env.janitor && janitor_guard_value(rt->env.janitor, rt->janitor_value) < 0)
        rt->janitor_value[0] = '\0';
    if (create_owned(rt, "secrets", secret, uid, err) < 0 ||
        create_owned(rt, "services", svc, uid, err) < 0 ||
        create_owned(rt, "configmaps", cm, uid, err) < 0)
        goto done;
    rc = 0;
done:
    json_decref(pod);
    json_decref(secret);
    json_decref(svc);
    json_decref(cm);
    json_decref(created);
    return rc;
}

static int open_watches(struct kube_runtime *rt, struct error *err)
{
    char selector[256], events_path[512];
    struct kube_status st;
    snprintf(selector, sizeof selector, "metadata.name=%s", rt->launch->names.base);
    if (kube_watch_open(rt->client, rt->pods_path, NULL, selector, &rt->pod_watch, &st) < 0)
        return kube_status_error(&st, "watch the kernel pod", err);
    kube_path(events_path, sizeof events_path, "v1", rt->launch->in.namespace, "events", NULL);
    snprintf(selector, sizeof selector, "involvedObject.kind=Pod,involvedObject.name=%s",
             rt->launch->names.base);
    if (kube_watch_open(rt->client, events_path, NULL, selector, &rt->event_watch, &st) < 0) {
        log_line("spark-k8s", "no progress from events: %s", st.message);
        rt->event_watch = NULL;
    }
    return 0;
}

static void *kube_start(const struct runtime_env *env, struct error *err)
{
    struct kube_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        error_nomem(err);
        return NULL;
    }
    rt->env = *env;
    /* what goes wrong from here is told from the loop, as any failure to start is */
    struct error why = {0};
    rt->started_ms = monotonic_ms();
    rt->launch_timeout_ms = env_seconds("SPARK_K8S_LAUNCH_TIMEOUT", KUBE_DEFAULT_LAUNCH_TIMEOUT_S) * 1000;
    rt->seen_events = json_object();
    struct kube_config *cfg = NULL;
    char server_public[41];
    if (!rt->seen_events) {
        error_nomem(&why);
        goto fail_later_out;
    }
    if (kube_config_load_default(&cfg, &why) < 0)
        goto fail_later_out;
    if (kube_client_new(cfg, &rt->client, &why) < 0) {
        kube_config_free(cfg);
        goto fail_later_out;
    }
    const char *user = getenv("JUPYTERHUB_USER");
    if (!user || !*user)
        user = getenv("USER");
    if (kube_launch_new(env->plan, env->kernel_id, user, cfg->namespace, &rt->launch, &why) < 0)
        goto fail_later_out;
    if (zmq_curve_keypair(rt->curve.public_key, rt->curve.secret_key) ||
        zmq_curve_keypair(server_public, rt->server_secret)) {
        error_set(&why, ERR_RUNTIME, "cannot make CURVE keys (libzmq without CURVE support?)");
        goto fail_later_out;
    }
    snprintf(rt->curve.peer_public_key, sizeof rt->curve.peer_public_key, "%s", server_public);
    struct kube_inputs *in = &rt->launch->in;
    in->ui_path = env->ui ? env->ui->path : NULL;
    in->hmac_key = env->front->key ? env->front->key : "";
    in->server_secret_key = rt->server_secret;
    in->server_public_key = rt->curve.peer_public_key;
    in->client_public_key = rt->curve.public_key;
    in->watchdog_s = (int)env_seconds("SPARK_K8S_WATCHDOG", 60);
    rt->ping_ms = in->watchdog_s * 1000L / 4;
    if (rt->ping_ms > KUBE_PING_INTERVAL_MS)
        rt->ping_ms = KUBE_PING_INTERVAL_MS;
    if (rt->ping_ms < 250)
        rt->ping_ms = 250;
    if (!in->hmac_key[0]) {
        error_set(&why, ERR_INPUT,
                  "the connection file has no key: the kubernetes runtime needs one");
        goto fail_later_out;
    }
    kube_path(rt->pods_path, sizeof rt->pods_path, "v1", in->namespace, "pods", NULL);
    kube_path(rt->pod_path, sizeof rt->pod_path, "v1", in->namespace, "pods",
              rt->launch->names.base);

    if (create_objects(rt, &why) < 0 || open_watches(rt, &why) < 0) {
        fail_later(rt, &why);
        return rt;
    }
    rt->launch_timer = need_timer(rt, rt->launch_timeout_ms, on_launch_timeout);
    rt->remind_ms = rt->launch_timeout_ms / 3 < KUBE_REMIND_MS ? rt->launch_timeout_ms / 3
                                                                : KUBE_REMIND_MS;
    if (rt->remind_ms < 1000)
        rt->remind_ms = 1000;
    rt->remind_timer = need_timer(rt, rt->remind_ms, on_remind);
    drive_watches(rt);
    return rt;
fail_later_out:
    /* no cluster configuration, a bad plan: told to the waiting requests like any
     * other failure to start */
    fail_later(rt, &why);
    return rt;
}

static int kube_interrupt(void *p)
{
    (void)p;
    return 1; /* the shim interrupts its local kernel */
}

static void kube_stop(void *p, long grace_ms)
{
    (void)grace_ms;
    struct kube_runtime *rt = p;
    rt->stopping = 1;
    finish(rt, 1, "stopped");
}

static void kube_free(void *p)
{
    struct kube_runtime *rt = p;
    if (!rt)
        return;
    if (rt->client)
        delete_pod(rt);
    struct loop *loop = rt->env.loop;
    for (size_t i = 0; i < rt->nfds; i++)
        loop_unwatch_fd(loop, rt->fds[i]);
    int *timers[] = {&rt->io_timer, &rt->launch_timer, &rt->fail_timer, &rt->ping_timer,
                     &rt->remind_timer};
    for (size_t i = 0; i < sizeof timers / sizeof timers[0]; i++)
        if (*timers[i] > 0)
            loop_timer_cancel(loop, *timers[i]);
    kube_watch_free(rt->pod_watch);
    kube_watch_free(rt->event_watch);
    if (rt->ping)
        zmq_close(rt->ping);
    if (rt->zmq)
        zmq_ctx_term(rt->zmq);
    kube_launch_free(rt->launch);
    kube_client_free(rt->client);
    json_decref(rt->seen_events);
    explicit_bzero(rt->server_secret, sizeof rt->server_secret);
    explicit_bzero(rt->curve.secret_key, sizeof rt->curve.secret_key);
    free(rt);
}

const struct runtime_ops runtime_kube_ops = {
    .name = "kubernetes",
    .start = kube_start,
    .interrupt = kube_interrupt,
    .stop = kube_stop,
    .free = kube_free,
};
