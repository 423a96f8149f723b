/* test_janitor.c — cleanup that outlives the launcher: a janitor started by a forked
 * "launcher" kills the guarded process group and removes the guarded directory when that
 * launcher is SIGKILLed or exits; after janitor_release nothing is touched. Also
 * remove_tree (launcher/sys/fs.h) and runtime_argv (kernelspec argv placeholders), the other launcher helpers
 * that decide what a runtime leaves behind or runs.
 *
 * Waits are bounded poll loops on process state (no fixed sleeps as assertions). The test
 * process is a child subreaper, so processes orphaned by a killed "launcher" are reaped
 * here and nothing is left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/runtime/janitor.h"
#include "launcher/sys/fs.h"
#include "launcher/runtime/runtime.h"
#include "launcher/sys/strv.h"

#define DEADLINE_MS 20000 /* generous: valgrind runs every process of the test slowly */

struct fixture {
    char dir[256];     /* the guarded directory */
    char outside[256]; /* a directory the guarded one links to: must survive */
    pid_t group;       /* the guarded process group (leader is our child) */
    pid_t owner;       /* the forked "launcher" */
    pid_t janitor;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void make_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR");
    tmp = tmp && *tmp ? tmp : "/tmp";
    snprintf(fx->dir, sizeof fx->dir, "%s/test_janitor.XXXXXX", tmp);
    snprintf(fx->outside, sizeof fx->outside, "%s/test_janitor_out.XXXXXX", tmp);
    if (!mkdtemp(fx->dir) || !mkdtemp(fx->outside))
        return -1;
    /* A tree: files, a subdirectory, a socket-like name, and a symlink out of the tree. */
    char sub[400], link_path[400];
    snprintf(sub, sizeof sub, "%s/sub", fx->dir);
    mkdir(sub, 0700);
    make_file(fx->dir, "kernel-1.json");
    make_file(sub, "kernel-ipc-5");
    make_file(fx->outside, "keep");
    snprintf(link_path, sizeof link_path, "%s/link", fx->dir);
    if (symlink(fx->outside, link_path))
        return -1;
    fx->group = fx->owner = fx->janitor = -1;
    *state = fx;
    return 0;
}

/* Reap children of GROUP (ours, or orphans handed to us as subreaper) until none is left.
 * 1 when the group is gone, 0 at the deadline. */
static int wait_group_gone(pid_t group)
{
    long long end = now_ms() + DEADLINE_MS;
    for (;;) {
        while (waitpid(-group, NULL, WNOHANG) > 0)
            ;
        if (kill(-group, 0) == -1 && errno == ESRCH)
            return 1;
        if (now_ms() > end)
            return 0;
        pause_ms(2);
    }
}

/* Wait for PID (our child) to end; its wait status, or -1 at the deadline. */
static int wait_exit(pid_t pid)
{
    long long end = now_ms() + DEADLINE_MS;
    int status;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() > end)
            return -1;
        pause_ms(2);
    }
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    /* After a failed test: leave nothing behind. */
    if (fx->owner > 0) {
        kill(fx->owner, SIGKILL);
        wait_exit(fx->owner);
    }
    if (fx->janitor > 0) {
        kill(fx->janitor, SIGKILL);
        wait_exit(fx->janitor);
    }
    if (fx->group > 0) {
        kill(-fx->group, SIGKILL);
        wait_group_gone(fx->group);
    }
    int rc = remove_tree(fx->dir) | remove_tree(fx->outside);
    free(fx);
    return rc;
}

/* A process group of two sleeping processes (a leader and its child); returns its id once
 * both are running. */
static pid_t spawn_group(void)
{
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t leader = fork();
    assert_true(leader >= 0);
    if (leader == 0) {
        setpgid(0, 0);
        close(ready[0]);
        pid_t member = fork();
        if (member == 0) {
            (void)!write(ready[1], "m", 1);
            for (;;)
                pause();
        }
        (void)!write(ready[1], "l", 1);
        for (;;)
            pause();
    }
    setpgid(leader, leader); /* as the child does: no race on who is first */
    close(ready[1]);
    char buf[2];
    size_t got = 0;
    while (got < 2) {
        ssize_t n = read(ready[0], buf + got, 2 - got);
        if (n <= 0 && errno != EINTR)
            fail_msg("group did not start");
        if (n > 0)
            got += (size_t)n;
    }
    close(ready[0]);
    return leader;
}

/* 1 when the group still has a running (not exited) process. */
static int group_alive(pid_t group)
{
    return kill(-group, 0) == 0 && waitpid(group, NULL, WNOHANG) == 0;
}

enum owner_end { OWNER_SIGKILL, OWNER_GROUP_SIGKILL, OWNER_EXITS };

/* Fork a "launcher" that starts a janitor, guards the group and the directory (and forgets
 * the group again when FORGET), reports the janitor's pid and then sleeps, or exits. */
static void start_owner(struct fixture *fx, int forget, enum owner_end end)
{
    int report[2];
    assert_int_equal(pipe(report), 0);
    fx->owner = fork();
    assert_true(fx->owner >= 0);
    if (fx->owner == 0) {
        close(report[0]);
        setpgid(0, 0); /* its own group, as Jupyter's kernel process is */
        struct janitor j;
        struct error err = {0};
        if (janitor_start(&j, &err) || janitor_guard_group(&j, fx->group) ||
            janitor_guard_dir(&j, fx->dir) || (forget && janitor_forget_group(&j, fx->group)))
            _exit(3);
        /* No wait here: janitor_start returns with the janitor out of our session, so a
         * SIGKILL of our group right now must not reach it. */
        (void)!write(report[1], &j.pid, sizeof j.pid);
        if (end == OWNER_EXITS)
            _exit(0); /* without janitor_release: a crash as far as the janitor knows */
        for (;;)
            pause();
    }
    setpgid(fx->owner, fx->owner);
    close(report[1]);
    pid_t jpid = -1;
    ssize_t n;
    while ((n = read(report[0], &jpid, sizeof jpid)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (n != (ssize_t)sizeof jpid)
        fail_msg("the owner did not start its janitor (status %d)", wait_exit(fx->owner));
    fx->janitor = jpid;
}

static void end_owner(struct fixture *fx, enum owner_end end)
{
    int status;
    if (end == OWNER_SIGKILL)
        assert_int_equal(kill(fx->owner, SIGKILL), 0);
    else if (end == OWNER_GROUP_SIGKILL)
        assert_int_equal(kill(-fx->owner, SIGKILL), 0); /* what Jupyter does */
    status = wait_exit(fx->owner);
    if (end == OWNER_EXITS)
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    else
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    fx->owner = -1;
    /* The janitor, orphaned, is now our child (subreaper): it ends after cleaning up. */
    status = wait_exit(fx->janitor);
    if (status == -1)
        fail_msg("janitor %d did not end", (int)fx->janitor);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fx->janitor = -1;
}

static void check_cleaned(struct fixture *fx)
{
    if (!wait_group_gone(fx->group))
        fail_msg("process group %d still exists", (int)fx->group);
    fx->group = -1;
    assert_false(exists(fx->dir));
    /* The symlink was removed, not followed. */
    char keep[400];
    snprintf(keep, sizeof keep, "%s/keep", fx->outside);
    assert_true(exists(keep));
}

static void test_owner_sigkilled(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    start_owner(fx, 0, OWNER_SIGKILL);
    /* The janitor's session is its own: a signal to the launcher's group misses it. */
    assert_int_equal(getsid(fx->janitor), fx->janitor);
    assert_true(group_alive(fx->group));
    assert_true(exists(fx->dir));
    end_owner(fx, OWNER_SIGKILL);
    check_cleaned(fx);
}

static void test_owner_group_sigkilled(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    start_owner(fx, 0, OWNER_GROUP_SIGKILL);
    end_owner(fx, OWNER_GROUP_SIGKILL);
    check_cleaned(fx);
}

static void test_owner_exits_without_release(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    start_owner(fx, 0, OWNER_EXITS);
    end_owner(fx, OWNER_EXITS);
    check_cleaned(fx);
}

/* A forgotten group (reaped by the launcher; its id may be reused) is not killed. */
static void test_forgotten_group_spared(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    start_owner(fx, 1, OWNER_SIGKILL);
    end_owner(fx, OWNER_SIGKILL);
    assert_true(group_alive(fx->group));
    assert_false(exists(fx->dir)); /* the directory was still guarded */
    /* teardown ends the group */
}

/* 1 when /proc says PID ignores signal SIG. */
static int ignores(pid_t pid, int sig)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    unsigned long long mask = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "SigIgn: %llx", &mask) == 1)
            break;
    fclose(f);
    return (mask >> (sig - 1)) & 1;
}

/* SIGINT, SIGTERM and SIGHUP (an interrupt or a polite stop of the launcher's group) do
 * not stop the janitor: it still cleans up after a later SIGKILL. */
static void test_janitor_ignores_polite_signals(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    start_owner(fx, 0, OWNER_SIGKILL);
    long long end = now_ms() + DEADLINE_MS;
    while (!(ignores(fx->janitor, SIGTERM) && ignores(fx->janitor, SIGINT) &&
             ignores(fx->janitor, SIGHUP)) && now_ms() < end)
        pause_ms(2);
    assert_true(ignores(fx->janitor, SIGTERM));
    assert_int_equal(kill(fx->janitor, SIGINT), 0);
    assert_int_equal(kill(fx->janitor, SIGTERM), 0);
    assert_int_equal(kill(fx->janitor, SIGHUP), 0);
    end_owner(fx, OWNER_SIGKILL);
    check_cleaned(fx);
}

/* janitor_start returns with the janitor already in its own session, so a SIGKILL to the
 * launcher's process group right after it (jupyter_client kills the whole group) cannot
 * take the janitor with it.
 *
 * (This test caught janitor_start returning before the child's setsid; fixed with a
 * sync pipe.) */
static void test_start_returns_in_own_session(void **state)
{
    (void)state;
    int late = 0;
    enum { TRIES = 40 };
    for (int i = 0; i < TRIES; i++) {
        struct janitor j;
        struct error err = {0};
        if (janitor_start(&j, &err))
            fail_msg("janitor_start: %s", err.text);
        pid_t pid = j.pid, sid = getsid(pid);
        janitor_release(&j);
        if (sid != pid)
            late++;
    }
    if (late)
        fail_msg("%d of %d times janitor_start returned before the janitor left the caller's "
                 "session", late, TRIES);
}

/* The on_death hook: each value still guarded when the launcher dies, once; a
 * forgotten one not. The hook runs in the janitor (it appends to a file here). */
static char hook_file[400];

static void record_value(const char *value)
{
    FILE *f = fopen(hook_file, "a");
    if (f) {
        fprintf(f, "%s\n", value);
        fclose(f);
    }
}

static void test_values_on_death(void **state)
{
    struct fixture *fx = *state;
    snprintf(hook_file, sizeof hook_file, "%s/values", fx->outside);
    int report[2];
    assert_int_equal(pipe(report), 0);
    fx->owner = fork();
    assert_true(fx->owner >= 0);
    if (fx->owner == 0) {
        close(report[0]);
        struct janitor j = {.on_death = record_value};
        struct error err = {0};
        if (janitor_start(&j, &err) ||
            janitor_guard_value(&j, "/api/v1/namespaces/ns/pods/a uid-a") ||
            janitor_guard_value(&j, "/api/v1/namespaces/ns/pods/b uid-b") ||
            janitor_forget_value(&j, "/api/v1/namespaces/ns/pods/b uid-b") ||
            janitor_guard_value(&j, "bad\nR") != -1)
            _exit(3);
        (void)!write(report[1], &j.pid, sizeof j.pid);
        for (;;)
            pause();
    }
    close(report[1]);
    pid_t jpid = -1;
    ssize_t n;
    while ((n = read(report[0], &jpid, sizeof jpid)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (n != (ssize_t)sizeof jpid)
        fail_msg("the owner did not start its janitor (status %d)", wait_exit(fx->owner));
    fx->janitor = jpid;
    end_owner(fx, OWNER_SIGKILL);
    FILE *f = fopen(hook_file, "r");
    assert_non_null(f);
    char text[512] = "";
    size_t got = fread(text, 1, sizeof text - 1, f);
    text[got] = '\0';
    fclose(f);
    assert_string_equal(text, "/api/v1/namespaces/ns/pods/a uid-a\n");
    unlink(hook_file);
}

/* After janitor_release the janitor has exited and touched nothing. */
static void test_release_touches_nothing(void **state)
{
    struct fixture *fx = *state;
    fx->group = spawn_group();
    struct janitor j;
    struct error err = {0};
    if (janitor_start(&j, &err))
        fail_msg("janitor_start: %s", err.text);
    fx->janitor = j.pid;
    assert_true(j.pid > 0);
    assert_true(j.fd >= 0);
    assert_int_equal(janitor_guard_group(&j, fx->group), 0);
    assert_int_equal(janitor_guard_dir(&j, fx->dir), 0);
    pid_t jpid = j.pid;
    janitor_release(&j); /* returns once the janitor has exited (it reaps it) */
    fx->janitor = -1;
    assert_int_equal(j.fd, -1);
    assert_int_equal(j.pid, -1);
    assert_int_equal(kill(jpid, 0), -1); /* reaped: gone */
    assert_true(group_alive(fx->group));
    assert_true(exists(fx->dir));
    /* Released twice, or told things after release: harmless errors. */
    janitor_release(&j);
    assert_int_equal(janitor_guard_group(&j, fx->group), -1);
    assert_int_equal(janitor_guard_dir(&j, fx->dir), -1);
    assert_true(group_alive(fx->group));
}

static void test_guard_dir_refuses_newline(void **state)
{
    struct fixture *fx = *state;
    struct janitor j;
    struct error err = {0};
    if (janitor_start(&j, &err))
        fail_msg("janitor_start: %s", err.text);
    fx->janitor = j.pid;
    /* A newline would end the command early: "D /tmp/x" then an "R" (release). */
    assert_int_equal(janitor_guard_dir(&j, "/tmp/x\nR"), -1);
    char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(janitor_guard_dir(&j, longpath), -1);
    janitor_release(&j);
    fx->janitor = -1;
    assert_true(exists(fx->dir));
}

static void test_remove_tree(void **state)
{
    struct fixture *fx = *state;
    char deep[600];
    snprintf(deep, sizeof deep, "%s/sub/a", fx->dir);
    assert_int_equal(mkdir(deep, 0700), 0);
    snprintf(deep, sizeof deep, "%s/sub/a/b", fx->dir);
    assert_int_equal(mkdir(deep, 0700), 0);
    make_file(deep, "f");
    assert_int_equal(chmod(deep, 0500), 0); /* read-only dir: root may still remove */
    assert_int_equal(chmod(deep, 0700), 0);
    assert_int_equal(remove_tree(fx->dir), 0);
    assert_false(exists(fx->dir));
    char keep[400];
    snprintf(keep, sizeof keep, "%s/keep", fx->outside);
    assert_true(exists(keep)); /* the symlink inside was not followed */
    /* Nothing there: not an error. */
    assert_int_equal(remove_tree(fx->dir), 0);
    /* A plain file. */
    assert_int_equal(remove_tree(keep), 0);
    assert_false(exists(keep));
    /* A symlink to a directory: the link goes, the directory stays. */
    char link_path[400];
    snprintf(link_path, sizeof link_path, "%s.link", fx->dir);
    assert_int_equal(symlink(fx->outside, link_path), 0);
    make_file(fx->outside, "keep");
    assert_int_equal(remove_tree(link_path), 0);
    assert_false(exists(link_path));
    assert_true(exists(keep));
}

static void argv_is(char *const *in, const char *cf, const char *rd, const char *const *want)
{
    char **out = runtime_argv(in, cf, rd);
    assert_non_null(out);
    size_t i = 0;
    for (; want[i]; i++) {
        if (!out[i])
            fail_msg("argv ends at %zu, expected '%s'", i, want[i]);
        assert_string_equal(out[i], want[i]);
        assert_ptr_not_equal(out[i], in[i]); /* copies */
    }
    assert_null(out[i]);
    strv_free(out);
}

static void test_runtime_argv(void **state)
{
    (void)state;
    /* The kernelspec form. */
    char *const k[] = {"/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}",
                       NULL};
    argv_is(k, "/run/k-1.json", "/usr/share/jupyter/kernels/x",
            (const char *const[]){"/usr/bin/python3", "-m", "ipykernel_launcher", "-f",
                                  "/run/k-1.json", NULL});
    /* None: unchanged copies. */
    char *const none[] = {"python3", "-c", "print('{x}')", "", NULL};
    argv_is(none, "/c.json", "/r",
            (const char *const[]){"python3", "-c", "print('{x}')", "", NULL});
    /* Several in one argument, repeated, at the ends. */
    char *const many[] = {"{resource_dir}/a:{connection_file}:{connection_file}",
                          "--x={resource_dir}{resource_dir}", "{connection_file}", NULL};
    argv_is(many, "/c.json", "/r",
            (const char *const[]){"/r/a:/c.json:/c.json", "--x=/r/r", "/c.json", NULL});
    /* No resource dir: empty. */
    char *const rd[] = {"{resource_dir}/logo.png", NULL};
    argv_is(rd, "/c.json", NULL, (const char *const[]){"/logo.png", NULL});
    /* Near misses stay as they are. */
    char *const near[] = {"{connection_file", "connection_file}", "{Connection_File}",
                          "{{connection_file}}", NULL};
    argv_is(near, "/c.json", "/r",
            (const char *const[]){"{connection_file", "connection_file}", "{Connection_File}",
                                  "{/c.json}", NULL});
    /* Substituted values are not expanded again. */
    char *const again[] = {"{connection_file}", "{resource_dir}", NULL};
    argv_is(again, "/tmp/{resource_dir}.json", "/r/{connection_file}",
            (const char *const[]){"/tmp/{resource_dir}.json", "/r/{connection_file}", NULL});
    /* An empty argv. */
    char *const empty[] = {NULL};
    argv_is(empty, "/c.json", "/r", (const char *const[]){NULL});
    /* Long values. */
    char big[5000];
    memset(big, 'c', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char want[10020];
    snprintf(want, sizeof want, "%s=%s", big, big);
    char *const longer[] = {"{connection_file}={connection_file}", NULL};
    argv_is(longer, big, "/r", (const char *const[]){want, NULL});
    strv_free(NULL);
}

int main(void)
{
    /* Orphans of a killed "launcher" (its janitor, its group) become our children. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        perror("prctl(PR_SET_CHILD_SUBREAPER)");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_owner_sigkilled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_group_sigkilled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_exits_without_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forgotten_group_spared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_janitor_ignores_polite_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_touches_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_values_on_death, setup, teardown),
        cmocka_unit_test(test_start_returns_in_own_session),
        cmocka_unit_test_setup_teardown(test_guard_dir_refuses_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove_tree, setup, teardown),
        cmocka_unit_test(test_runtime_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
