/* shim_host.c — the shim: keys, the driver's Spark properties, the watchdog, deleting
 * its own pod, and the local kernel behind a CURVE relay (see shim_host.h). */
#include "launcher/runtime/shim_host.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/connection.h"
#include "launcher/sys/errmsg.h"
#include "kernel/log.h"
#include "kernel/loop.h"
#include "kernel/proxy.h"
#include "kernel/session.h"
#include "launcher/runtime/relay_host.h"
#include "launcher/plan/kernelspec.h"
#include "launcher/kube/kube_client.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/plan/plan.h"
#include "launcher/runtime/runtime.h"
#include "launcher/sys/textfile.h"
#include "launcher/sys/token.h"

#define SHIM_STOP_GRACE_MS 1200
#define SHIM_MAX_KEY_FILE 4096

struct shim {
    struct connection conn;
    struct plan *plan;
    struct relay_host host; /* host.dir: spark-defaults.conf, kernelspec files */
    struct proxy_curve curve;
    char kernel_id[37];
    int orphaned;
    long watchdog_ms;
    const char *pod_name, *pod_namespace;
};

/* ---- files ---------------------------------------------------------------------- */

static int read_small_file(const char *dir, const char *name, char *out, size_t len, struct error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error_set(err, ERR_INPUT, "%s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    if (n < 0 || (size_t)n >= len - 1) {
        error_set(err, ERR_INPUT, "%s: %s", path, n < 0 ? strerror(errno) : "file too large");
        return -1;
    }
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    if (n == 0) {
        error_set(err, ERR_INPUT, "%s: empty", path);
        return -1;
    }
    return 0;
}

static int read_keys(struct shim *s, const char *dir, struct error *err)
{
    char hmac[SHIM_MAX_KEY_FILE];
    struct {
        const char *name;
        char *dst;
    } curve[] = {
        {KUBE_SECRET_SERVER_SECRET, s->curve.secret_key},
        {KUBE_SECRET_SERVER_PUBLIC, s->curve.public_key},
        {KUBE_SECRET_CLIENT_PUBLIC, s->curve.peer_public_key},
    };
    for (size_t i = 0; i < 3; i++) {
        char buf[128];
        if (read_small_file(dir, curve[i].name, buf, sizeof buf, err) < 0)
            return -1;
        if (strlen(buf) != 40) {
            error_set(err, ERR_INPUT, "%s/%s: a CURVE key is 40 Z85 characters, not %zu", dir,
                      curve[i].name, strlen(buf));
            return -1;
        }
        memcpy(curve[i].dst, buf, 41);
        explicit_bzero(buf, sizeof buf);
    }
    if (read_small_file(dir, KUBE_SECRET_HMAC_KEY, hmac, sizeof hmac, err) < 0)
        return -1;
    int rc = connection_set_key(&s->conn, hmac, strlen(hmac));
    explicit_bzero(hmac, sizeof hmac);
    if (rc < 0)
        error_nomem(err);
    return rc;
}

/* The key of a properties line ("key value", "key=value", "key: value"), or NULL
 * for a comment or blank line; *LEN gets its length. */
static const char *property_key(const char *line, size_t *len)
{
    const char *p = line + strspn(line, " \t");
    if (*p == '#' || *p == '!' || *p == '\n' || *p == '\0')
        return NULL;
    *len = strcspn(p, " \t=:\n");
    return p;
}

static int is_key(const char *key, size_t len, const char *want)
{
    return len == strlen(want) && strncmp(key, want, len) == 0;
}

/* The API server as this pod reaches it: KUBERNETES_SERVICE_HOST and _PORT, which
 * the kubelet sets in every container (Spark's client-mode default,
 * kubernetes.default.svc, needs cluster DNS and port 443). */
static int api_server_from_env(char *out, size_t len)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port || strpbrk(host, " \t\n\\") ||
        port[strspn(port, "0123456789")] != '\0')
        return -1;
    snprintf(out, len, strchr(host, ':') ? "k8s://https://[%s]:%s" : "k8s://https://%s:%s", host,
             port);
    return 0;
}

/* DIR/conf/spark-defaults.conf (the kernel's SPARK_CONF_DIR, whose other files Spark
 * copies into a ConfigMap for the executors): the launcher's properties with this pod's
 * bind address, the API server as this pod reaches it, and a new Spark Connect token when
 * the server is on; beside it the kernelspec's log4j2.properties when the launcher sent
 * one (next to CONF_PATH), so Spark logs on the driver and the executors as the admin set. */
static int write_spark_conf(const struct shim *s, const char *conf_path, const char *pod_ip,
                            char *dir_out, size_t dir_len, struct error *err)
{
    char path[300], master[600], token[TOKEN_HEX_LEN + 1] = "";
    FILE *in = fopen(conf_path, "r");
    if (!in) {
        error_set(err, ERR_SYSTEM, "%s: %s", conf_path, strerror(errno));
        return -1;
    }
    snprintf(dir_out, dir_len, "%s/conf", s->host.dir);
    snprintf(path, sizeof path, "%s/spark-defaults.conf", dir_out);
    int fd = mkdir(dir_out, 0700) == 0 ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        fclose(in);
        return -1;
    }
    int have_master = api_server_from_env(master, sizeof master) == 0, connect = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) >= 0) {
        size_t klen = 0;
        const char *key = property_key(line, &klen);
        if (key && (is_key(key, klen, "spark.driver.bindAddress") ||
                    (have_master && is_key(key, klen, "spark.master")) ||
                    is_key(key, klen, "spark.connect.authenticate.token")))
            continue; /* replaced below */
        if (key && is_key(key, klen, "spark.connect.grpc.binding.port"))
            connect = 1;
        fputs(line, out);
        if (!strchr(line, '\n'))
            fputc('\n', out);
    }
    free(line);
    fclose(in);
    /* An IP address, a URL of a checked host and port, and hex need no escaping. */
    fprintf(out, "# spark-k8s shim: this pod's address (downward API status.podIP)\n"
                 "spark.driver.bindAddress %s\n", pod_ip);
    if (have_master)
        fprintf(out, "# the API server (KUBERNETES_SERVICE_HOST/PORT)\nspark.master %s\n", master);
    if (connect) {
        if (token_new(token, err) < 0) {
            fclose(out);
            return -1;
        }
        fprintf(out, "# Spark Connect: a token made in this pod\nspark.connect.authenticate.token %s\n",
                token);
        explicit_bzero(token, sizeof token);
    }
    if (fclose(out) != 0) {
        error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *slash = strrchr(conf_path, '/');
    char from[4200], to[300];
    snprintf(from, sizeof from, "%.*s" KUBE_LOG4J2_KEY, slash ? (int)(slash - conf_path + 1) : 0,
             conf_path);
    snprintf(to, sizeof to, "%s/" KERNELSPEC_LOG4J2, dir_out);
    return textfile_copy(from, to, 0600, KERNELSPEC_LOG4J2_MAX, err) < 0 ? -1 : 0;
}

/* The kernelspec's files (spark_session.py ...) for {resource_dir}: the image's
 * installed kernelspec when it has one, else the copy embedded in this binary. */
static int resource_dir(struct shim *s, const char *kernel_name, char **out, struct error *err)
{
    *out = NULL;
    if (kernel_name && *kernel_name && kernelspec_find(kernel_name, out, NULL) == 0)
        return 0;
    size_t n = strlen(s->host.dir) + 16;
    char *dir = malloc(n);
    if (!dir) {
        error_nomem(err);
        return -1;
    }
    snprintf(dir, n, "%s/kernelspec", s->host.dir);
    if (mkdir(dir, 0700) < 0) {
        error_set(err, ERR_SYSTEM, "%s: %s", dir, strerror(errno));
        free(dir);
        return -1;
    }
    if (kernelspec_write_files(dir, err)) {
        free(dir);
        return -1;
    }
    *out = dir;
    return 0;
}

/* The plan of the local kernel: the launcher's kernel command, run locally. */
static int make_plan(struct shim *s, char **kernel_argv, int kernel_argc, const char *kernel_name,
                     const char *res_dir, struct error *err)
{
    json_t *cmd = json_array();
    for (int i = 0; i < kernel_argc; i++)
        json_array_append_new(cmd, json_string(kernel_argv[i]));
    json_t *meta = json_pack("{s:s}", "runtime", "local");
    if (kernel_argc > 0)
        json_object_set(meta, "runtime_command", cmd);
    json_t *root = json_pack("{s:s, s:s, s:{s:o}}", "display_name",
                             kernel_name && *kernel_name ? kernel_name : "spark-k8s shim",
                             "language", "python", "metadata", "spark_k8s", meta);
    json_decref(cmd);
    if (!root) {
        error_nomem(err);
        return -1;
    }
    int rc = plan_from_json(root, res_dir, "(spark-k8s shim)", PLAN_NO_ADMIN, &s->plan, err);
    json_decref(root);
    return rc;
}

/* ---- proxy hooks, runtime end, watchdog, signals ------------------------------------- */

static void ready(void *ctx)
{
    struct shim *s = ctx;
    log_line("spark-k8s shim", "kernel ready in %lld ms", monotonic_ms() - s->host.started_ms);
}

static void runtime_exited(void *ctx, int expected, const char *reason)
{
    struct shim *s = ctx;
    int ok = expected || s->host.stopping || proxy_shutdown_requested(s->host.proxy);
    if (!ok)
        log_line("spark-k8s shim", "%s", reason);
    relay_host_drain(&s->host, 300, ok && !s->orphaned ? 0 : 1);
}

/* Delete this pod (background): its dependents and executors follow. */
static void delete_own_pod(const struct shim *s)
{
    if (!s->pod_name || !s->pod_namespace) {
        log_line("spark-k8s shim", "SPARK_K8S_POD_NAME/NAMESPACE unset: cannot delete the pod");
        return;
    }
    char path[512];
    struct error err = {0};
    struct kube_config *cfg = NULL;
    struct kube_client *client = NULL;
    if (kube_config_load_default(&cfg, &err) < 0 || kube_client_new(cfg, &client, &err) < 0) {
        kube_config_free(cfg);
        log_line("spark-k8s shim", "cannot delete pod %s: %s", s->pod_name, err.text);
        return;
    }
    kube_client_set_timeout(client, 5000);
    struct kube_status st;
    kube_path(path, sizeof path, "v1", s->pod_namespace, "pods", s->pod_name);
    if (kube_delete(client, path, &st) < 0)
        log_line("spark-k8s shim", "cannot delete pod %s: %s", s->pod_name, st.message);
    kube_client_free(client);
}

static void watchdog(void *ctx)
{
    struct shim *s = ctx;
    long long last = proxy_last_heartbeat(s->host.proxy);
    if (last == 0)
        last = s->host.started_ms;
    long long silent = monotonic_ms() - last;
    if (silent > s->watchdog_ms && !s->orphaned) {
        s->orphaned = 1;
        log_line("spark-k8s shim",
                 "no word from the launcher for %lld s: stopping the kernel and "
                 "deleting pod %s",
                 silent / 1000, s->pod_name ? s->pod_name : "(unknown)");
        relay_host_stop(&s->host);
        delete_own_pod(s);
        return;
    }
    long next = s->watchdog_ms / 4;
    if (loop_timer(s->host.loop, next < 250 ? 250 : next, watchdog, s) < 0) {
        /* a shim nobody watches over could outlive its launcher: stop instead */
        log_line("spark-k8s shim", "cannot set the watchdog's timer: stopping the kernel");
        s->orphaned = 1;
        relay_host_stop(&s->host);
    }
}

int shim_host_run(const struct shim_options *o, struct error *err)
{
    const char *kernel_name = o->kernel_name;
    char **kernel_argv = o->kernel_argv;
    int kernel_argc = o->kernel_argc;
    long port = o->port, watchdog_s = o->watchdog_s;
    struct shim s;
    memset(&s, 0, sizeof s);
    struct relay_host_owner owner = {.ctx = &s, .ready = ready, .exited = runtime_exited};
    relay_host_init(&s.host, "spark-k8s shim", SHIM_STOP_GRACE_MS, &owner);
    s.watchdog_ms = watchdog_s * 1000;
    s.pod_name = getenv("SPARK_K8S_POD_NAME");
    s.pod_namespace = getenv("SPARK_K8S_POD_NAMESPACE");
    const char *pod_ip = getenv("SPARK_K8S_POD_IP");
    if (!pod_ip || !*pod_ip)
        pod_ip = "0.0.0.0";
    const char *kid = getenv("SPARK_K8S_KERNEL_ID");
    snprintf(s.kernel_id, sizeof s.kernel_id, "%s", kid && *kid ? kid : "shim");
    char conf_dir[256];
    char *res_dir = NULL;
    int status = -1;

    strcpy(s.conn.transport, "tcp");
    snprintf(s.conn.ip, sizeof s.conn.ip, "%s", pod_ip);
    for (int ch = 0; ch < CH_COUNT; ch++)
        s.conn.ports[ch] = (int)port + ch;
    strcpy(s.conn.signature_scheme, "hmac-sha256");
    if (read_keys(&s, o->keys_dir, err) < 0)
        goto out;
    if (relay_host_guard(&s.host, err) || relay_host_private_dir(&s.host, "shim", err)) {
        error_prefix(err, "cannot set up: ");
        goto out;
    }
    if (write_spark_conf(&s, o->conf_path, pod_ip, conf_dir, sizeof conf_dir, err) < 0 ||
        resource_dir(&s, kernel_name, &res_dir, err) < 0 ||
        make_plan(&s, kernel_argv, kernel_argc, kernel_name, res_dir, err) < 0)
        goto out;
    /* The launcher's probe waits for the real kernel: the shim never answers for it. */
    struct proxy_options popt = {.curve = &s.curve, .log_name = "spark-k8s shim",
                                 .hold_kernel_info = 1};
    if (relay_host_relay(&s.host, &s.conn, &popt, err))
        goto out;
    struct runtime_env env = {
        .plan = s.plan,
        .front = &s.conn,
        .kernel_id = s.kernel_id,
        .resource_dir = res_dir,
        .spark_conf_dir = conf_dir,
    };
    if (relay_host_start(&s.host, &runtime_local_ops, &env, err)) {
        error_prefix(err, "cannot start the kernel: ");
        goto out;
    }
    log_line("spark-k8s shim", "serving %s:%ld-%ld (CURVE), watchdog %ld s", pod_ip, port,
             port + CH_COUNT - 1, watchdog_s);
    watchdog(&s);
    status = relay_host_run(&s.host);
out:
    relay_host_free(&s.host);
    plan_free(s.plan);
    free(res_dir);
    explicit_bzero(&s.curve, sizeof s.curve);
    connection_clear(&s.conn);
    return status;
}
