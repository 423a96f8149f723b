/* runtime_local.c — the local runtime: the kernel as a child process on ipc sockets.
 *
 * The child gets a private connection file (ipc sockets in a 0700 directory,
 * the same key as Jupyter's), SPARK_CONF_DIR with its spark-defaults.conf (a
 * folder of its own: Spark reads, and may ship, every file in it; the key stays
 * out), its
 * own process group (interrupts go to the group) and a parent-death signal (it
 * dies with the launcher, even a SIGKILLed one; the janitor removes the
 * directory then). Its exit is watched through a pidfd, its stderr through a
 * pipe that is relayed to ours and remembered for error messages. */
#include "kernel/proxy.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/fs.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/plan/kernelspec.h"
#include "launcher/runtime/runtime.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"
#include "launcher/sys/token.h"
#include "launcher/sys/strv.h"
#include "launcher/sys/textfile.h"
#include "launcher/runtime/ui_route.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAIL_BYTES 4096

struct local_runtime {
    struct runtime_env env;
    char dir[128]; /* ipc socket paths must stay under 108 bytes */
    char connection_file[160];
    char conf_dir[160]; /* SPARK_CONF_DIR: spark-defaults.conf alone */
    pid_t pid;
    int pidfd;
    int err_fd;
    int exited, stopping, kill_timer;
    char tail[TAIL_BYTES];
    size_t tail_len;
};

/* Length of A with each placeholder replaced. */
static size_t expanded_len(const char *a, size_t conn_len, size_t dir_len)
{
    size_t len = 0;
    while (*a) {
        if (strncmp(a, "{connection_file}", 17) == 0) {
            len += conn_len;
            a += 17;
        } else if (strncmp(a, "{resource_dir}", 14) == 0) {
            len += dir_len;
            a += 14;
        } else {
            len++;
            a++;
        }
    }
    return len;
}

char **runtime_argv(char *const *argv, const char *connection_file, const char *resource_dir)
{
    size_t n = 0;
    while (argv[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    const char *dir = resource_dir ? resource_dir : "";
    for (size_t i = 0; i < n; i++) {
        const char *a = argv[i];
        out[i] = malloc(expanded_len(a, strlen(connection_file), strlen(dir)) + 1);
        if (!out[i]) {
            strv_free(out);
            return NULL;
        }
        char *d = out[i];
        while (*a) {
            if (strncmp(a, "{connection_file}", 17) == 0) {
                d = stpcpy(d, connection_file);
                a += 17;
            } else if (strncmp(a, "{resource_dir}", 14) == 0) {
                d = stpcpy(d, dir);
                a += 14;
            } else {
                *d++ = *a++;
            }
        }
        *d = '\0';
    }
    return out;
}

/* Remember the end of the child's stderr; it explains a failed start. */
static void keep_tail(struct local_runtime *rt, const char *buf, size_t n)
{
    if (n >= TAIL_BYTES) {
        buf += n - TAIL_BYTES;
        n = TAIL_BYTES;
    }
    if (rt->tail_len + n > TAIL_BYTES) {
        size_t drop = rt->tail_len + n - TAIL_BYTES;
        memmove(rt->tail, rt->tail + drop, rt->tail_len - drop);
        rt->tail_len -= drop;
    }
    memcpy(rt->tail + rt->tail_len, buf, n);
    rt->tail_len += n;
}

/* The last non-empty line of the child's stderr, e.g. "No module named ipykernel". */
static void last_line(const struct local_runtime *rt, char *out, size_t len)
{
    size_t end = rt->tail_len;
    while (end > 0 && (rt->tail[end - 1] == '\n' || rt->tail[end - 1] == '\r' || rt->tail[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start > 0 && rt->tail[start - 1] != '\n')
        start--;
    snprintf(out, len, "%.*s", (int)(end - start), rt->tail + start);
}

/* Relay what the child wrote to stderr; returns 1 while more may come. */
static int relay_stderr(struct local_runtime *rt)
{
    char buf[8192];
    ssize_t n = read(rt->err_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0 && errno == EAGAIN)
        return 0;
    if (n <= 0) {
        loop_unwatch_fd(rt->env.loop, rt->err_fd);
        close(rt->err_fd);
        rt->err_fd = -1;
        return 0;
    }
    keep_tail(rt, buf, (size_t)n);
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(STDERR_FILENO, buf + off, (size_t)(n - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += w;
    }
    return 1;
}

static void on_stderr(void *ctx, int fd)
{
    (void)fd;
    relay_stderr(ctx);
}

/* Take what is left in the pipe without waiting: descendants may keep it open. */
static void drain_stderr(struct local_runtime *rt)
{
    if (rt->err_fd < 0)
        return;
    fcntl(rt->err_fd, F_SETFL, fcntl(rt->err_fd, F_GETFL) | O_NONBLOCK);
    while (rt->err_fd >= 0 && relay_stderr(rt))
        ;
}

static void describe_status(int status, char *out, size_t len)
{
    if (WIFEXITED(status))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "ended");
}

static void on_child_exit(void *ctx, int fd)
{
    struct local_runtime *rt = ctx;
    int status = 0;
    pid_t r = waitpid(rt->pid, &status, WNOHANG);
    if (r == 0)
        return;
    loop_unwatch_fd(rt->env.loop, fd);
    close(rt->pidfd);
    rt->pidfd = -1;
    if (r == rt->pid && rt->env.janitor)
        janitor_forget_group(rt->env.janitor, rt->pid);
    /* Group members may outlive the leader: they go too. */
    kill(-rt->pid, SIGKILL);
    rt->pid = -1;
    rt->exited = 1;
    proxy_set_alive(rt->env.proxy, 0);
    if (rt->kill_timer > 0)
        loop_timer_cancel(rt->env.loop, rt->kill_timer);
    drain_stderr(rt);

    char how[160], line[1024], reason[1400];
    describe_status(status, how, sizeof how);
    last_line(rt, line, sizeof line);
    /* What a process printed last explains an exit status, not a signal. */
    if (line[0] && WIFEXITED(status) && WEXITSTATUS(status) != 0)
        snprintf(reason, sizeof reason, "the kernel process %s: %s", how, line);
    else
        snprintf(reason, sizeof reason, "the kernel process %s", how);
    rt->env.exited(rt->env.ctx, rt->stopping, reason);
}

static void write_all(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void exec_child(struct local_runtime *rt, char **argv, int err_w, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1); /* the launcher died before the signal was armed */
    sigset_t none;
    sigemptyset(&none);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    dup2(err_w, 2);
    syscall(SYS_close_range, 3, ~0U, 0);
    (void)rt;
    execvp(argv[0], argv);
    write_all(2, "cannot run ");
    write_all(2, argv[0]);
    write_all(2, ": ");
    write_all(2, strerror(errno));
    write_all(2, "\n");
    _exit(127);
}

/* Spark's logging configuration from the kernelspec folder (log4j2.properties, which
 * admins may edit), when it has one, into SPARK_CONF_DIR. */
static int copy_log4j2(struct local_runtime *rt, struct error *err)
{
    char from[4200], to[200];
    snprintf(from, sizeof from, "%s/" KERNELSPEC_LOG4J2, rt->env.resource_dir);
    snprintf(to, sizeof to, "%s/" KERNELSPEC_LOG4J2, rt->conf_dir);
    return textfile_copy(from, to, 0600, KERNELSPEC_LOG4J2_MAX, err) < 0 ? -1 : 0;
}

/* conf/spark-defaults.conf: the plan, the jars of the kernel's environment, and a
 * token for Spark Connect when the plan starts its server. */
static int write_spark_conf(struct local_runtime *rt, struct error *err)
{
    char jars_dir[4200], token[TOKEN_HEX_LEN + 1] = "";
    struct render_env env = {0};
    if (kernel_env_jars_dir(plan_runtime_argv(rt->env.plan)[0], jars_dir, sizeof jars_dir) == 0)
        env.jars_dir = jars_dir;
    if (plan_flag(rt->env.plan, SETTING_CONNECT)) {
        struct error terr = {0};
        if (token_new(token, &terr) < 0)
            return error_set(err, ERR_SYSTEM, "%s", terr.text);
        env.connect_token = token;
    }
    int rc = render_write_spark_conf(rt->env.plan, rt->conf_dir, &env, err);
    explicit_bzero(token, sizeof token);
    if (rc == 0 && rt->env.resource_dir)
        rc = copy_log4j2(rt, err);
    return rc;
}

static int prepare_dir(struct local_runtime *rt, struct error *err)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    struct stat st;
    if (!base || stat(base, &st) != 0 || !S_ISDIR(st.st_mode) || access(base, W_OK) != 0)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(rt->dir, sizeof rt->dir, "%s/spark-k8s-XXXXXX", base);
    if (n < 0 || (size_t)n + 8 > 100) {
        error_set(err, ERR_SYSTEM, "the path of a private directory in %s is too long for ipc sockets",
                  base);
        rt->dir[0] = '\0';
        return -1;
    }
    if (!mkdtemp(rt->dir)) {
        error_set(err, ERR_SYSTEM, "cannot create a private directory in %s: %s", base, strerror(errno));
        rt->dir[0] = '\0';
        return -1;
    }
    if (rt->env.janitor)
        janitor_guard_dir(rt->env.janitor, rt->dir);
    struct connection c;
    memset(&c, 0, sizeof c);
    strcpy(c.transport, "ipc");
    snprintf(c.ip, sizeof c.ip, "%s/k", rt->dir);
    for (int ch = 0; ch < CH_COUNT; ch++)
        c.ports[ch] = ch + 1;
    snprintf(c.signature_scheme, sizeof c.signature_scheme, "%s", rt->env.front->signature_scheme);
    snprintf(c.kernel_name, sizeof c.kernel_name, "%s", plan_kernel_name(rt->env.plan));
    if (connection_set_key(&c, rt->env.front->key ? rt->env.front->key : "", rt->env.front->key_len)) {
        error_nomem(err);
        return -1;
    }
    snprintf(rt->connection_file, sizeof rt->connection_file, "%s/connection.json", rt->dir);
    int rc = connection_write(rt->connection_file, &c, err->text, sizeof err->text);
    if (rc)
        error_adopt(err, ERR_SYSTEM);
    if (rt->env.spark_conf_dir) {
        snprintf(rt->conf_dir, sizeof rt->conf_dir, "%s", rt->env.spark_conf_dir);
    } else {
        snprintf(rt->conf_dir, sizeof rt->conf_dir, "%s/conf", rt->dir);
        if (rc == 0 && mkdir(rt->conf_dir, 0700) != 0) {
            error_set(err, ERR_SYSTEM, "cannot create %s: %s", rt->conf_dir, strerror(errno));
            rc = -1;
        }
        if (rc == 0)
            rc = write_spark_conf(rt, err);
    }
    if (rc == 0) {
        char *endpoints[CH_COUNT];
        char buf[CH_COUNT][600];
        for (int ch = 0; ch < CH_COUNT; ch++) {
            connection_endpoint(&c, ch, buf[ch], sizeof buf[ch]);
            endpoints[ch] = buf[ch];
        }
        rc = proxy_attach(rt->env.proxy, endpoints, NULL, err->text, sizeof err->text);
        if (rc)
            error_adopt(err, ERR_SYSTEM);
    }
    connection_clear(&c);
    return rc;
}

/* The Spark UI's route, when the launcher has one: the kernel's link, and the file
 * it writes its UI's address into once the UI listens (the janitor removes it should
 * the launcher die; kernel_host.c otherwise). Without one no file is inherited; the
 * link may be (the shim in a kernel pod: the launcher put it in the pod's spec). */
static int set_ui_env(const struct ui_route *ui, struct janitor *janitor)
{
    if (!ui)
        return unsetenv(UI_ROUTE_REGISTRY_ENV) || unsetenv(UI_ROUTE_CONNECTION_ENV);
    if (janitor)
        janitor_guard_dir(janitor, ui->registry);
    return setenv(UI_ROUTE_PATH_ENV, ui->path, 1) || setenv(UI_ROUTE_REGISTRY_ENV, ui->registry, 1) ||
           setenv(UI_ROUTE_CONNECTION_ENV, ui->connection, 1);
}

static void local_free(void *p);

static void *local_start(const struct runtime_env *env, struct error *err)
{
    struct local_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        error_nomem(err);
        return NULL;
    }
    rt->env = *env;
    rt->pid = -1;
    rt->pidfd = -1;
    rt->err_fd = -1;
    char **argv = NULL;
    int errpipe[2] = {-1, -1};
    if (prepare_dir(rt, err))
        goto fail;
    argv = runtime_argv(plan_runtime_argv(env->plan), rt->connection_file, env->resource_dir);
    if (!argv || pipe2(errpipe, O_CLOEXEC)) {
        error_set(err, ERR_SYSTEM, "cannot prepare the kernel process: %s", strerror(errno));
        goto fail;
    }
    /* The child's environment: ours plus its Spark configuration. */
    if (setenv("SPARK_CONF_DIR", rt->conf_dir, 1) || setenv("SPARK_K8S_KERNEL_ID", env->kernel_id, 1)) {
        error_set(err, ERR_SYSTEM, "cannot set the kernel's environment");
        goto fail;
    }
    if (set_ui_env(env->ui, env->janitor)) {
        error_set(err, ERR_SYSTEM, "cannot set the kernel's environment");
        goto fail;
    }
    char ppid[24];
    snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
    setenv("JPY_PARENT_PID", ppid, 1);
    /* ipykernel's debugger warns about frozen modules on every start of
     * Python 3.11; the warning says nothing to a notebook user. */
    setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1", 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        error_set(err, ERR_SYSTEM, "cannot fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        exec_child(rt, argv, errpipe[1], parent);
    /* Both sides set the group, so signals to it work whoever runs first. */
    setpgid(pid, pid);
    rt->pid = pid;
    if (env->janitor)
        janitor_guard_group(env->janitor, pid);
    close(errpipe[1]);
    errpipe[1] = -1;
    rt->err_fd = errpipe[0];
    rt->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (rt->pidfd < 0) {
        error_set(err, ERR_SYSTEM, "pidfd_open: %s", strerror(errno));
        goto fail;
    }
    if (loop_watch_fd(env->loop, rt->err_fd, LOOP_READABLE, on_stderr, rt) ||
        loop_watch_fd(env->loop, rt->pidfd, LOOP_READABLE, on_child_exit, rt)) {
        error_set(err, ERR_SYSTEM, "cannot watch the kernel process: %s", strerror(errno));
        goto fail;
    }
    proxy_set_alive(env->proxy, 1);
    strv_free(argv);
    return rt;
fail:
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (errpipe[0] >= 0 && rt->err_fd != errpipe[0])
        close(errpipe[0]);
    strv_free(argv);
    local_free(rt);
    return NULL;
}

static int local_interrupt(void *p)
{
    struct local_runtime *rt = p;
    if (rt->pid <= 0)
        return -1;
    return kill(-rt->pid, SIGINT) == 0 ? 0 : -1;
}

static void kill_now(void *p)
{
    struct local_runtime *rt = p;
    rt->kill_timer = 0;
    if (rt->pid > 0)
        kill(-rt->pid, SIGKILL);
}

static void local_stop(void *p, long grace_ms)
{
    struct local_runtime *rt = p;
    rt->stopping = 1;
    if (rt->pid <= 0)
        return;
    kill(-rt->pid, SIGTERM);
    if (rt->kill_timer <= 0)
        rt->kill_timer = loop_timer(rt->env.loop, grace_ms, kill_now, rt);
    if (rt->kill_timer < 0) /* no timer to wait with: no grace either */
        kill_now(rt);
}

static void local_free(void *p)
{
    struct local_runtime *rt = p;
    if (!rt)
        return;
    if (rt->pid > 0) {
        kill(-rt->pid, SIGKILL);
        while (waitpid(rt->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        if (rt->env.janitor)
            janitor_forget_group(rt->env.janitor, rt->pid);
    }
    if (rt->pidfd >= 0) {
        loop_unwatch_fd(rt->env.loop, rt->pidfd);
        close(rt->pidfd);
    }
    if (rt->err_fd >= 0) {
        loop_unwatch_fd(rt->env.loop, rt->err_fd);
        close(rt->err_fd);
    }
    if (rt->dir[0])
        remove_tree(rt->dir);
    free(rt);
}

const struct runtime_ops runtime_local_ops = {
    .name = "local",
    .start = local_start,
    .interrupt = local_interrupt,
    .stop = local_stop,
    .free = local_free,
};
