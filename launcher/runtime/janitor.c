/* janitor.c — a forked guardian that cleans up after a launcher that dies (see janitor.h). */
#include "launcher/runtime/janitor.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_GUARDED 8

/* The janitor's own loop: read commands until a release or the end of the pipe. */
static void janitor_main(int fd, void (*on_death)(const char *value))
{
    pid_t groups[MAX_GUARDED] = {0};
    char *dirs[MAX_GUARDED] = {0};
    char *values[MAX_GUARDED] = {0};
    char line[4200];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, line + len, sizeof line - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the launcher is gone */
        len += (size_t)n;
        char *nl;
        while ((nl = memchr(line, '\n', len)) != NULL) {
            *nl = '\0';
            if (line[0] == 'R')
                _exit(0);
            if (line[0] == 'P' || line[0] == 'F') {
                pid_t pg = (pid_t)atol(line + 2);
                for (int i = 0; i < MAX_GUARDED; i++)
                    if (line[0] == 'P' ? groups[i] == 0 : groups[i] == pg) {
                        groups[i] = line[0] == 'P' ? pg : 0;
                        break;
                    }
            } else if (line[0] == 'D') {
                for (int i = 0; i < MAX_GUARDED; i++)
                    if (!dirs[i]) {
                        dirs[i] = strdup(line + 2);
                        break;
                    }
            } else if (line[0] == 'V') {
                for (int i = 0; i < MAX_GUARDED; i++)
                    if (!values[i]) {
                        values[i] = strdup(line + 2);
                        break;
                    }
            } else if (line[0] == 'v') {
                for (int i = 0; i < MAX_GUARDED; i++)
                    if (values[i] && strcmp(values[i], line + 2) == 0) {
                        free(values[i]);
                        values[i] = NULL;
                        break;
                    }
            }
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len);
        }
        if (len == sizeof line - 1)
            len = 0; /* an overlong line: not ours */
    }
    for (int i = 0; i < MAX_GUARDED; i++)
        if (groups[i] > 0)
            kill(-groups[i], SIGKILL);
    for (int i = 0; i < MAX_GUARDED; i++)
        if (dirs[i])
            remove_tree(dirs[i]);
    for (int i = 0; i < MAX_GUARDED; i++)
        if (values[i] && on_death)
            on_death(values[i]);
    _exit(0);
}

int janitor_start(struct janitor *j, struct error *err)
{
    int fds[2], sync[2];
    j->pid = -1;
    j->fd = -1;
    if (pipe2(fds, O_CLOEXEC)) {
        error_set(err, ERR_SYSTEM, "cannot create a pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(sync, O_CLOEXEC)) {
        error_set(err, ERR_SYSTEM, "cannot create a pipe: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        error_set(err, ERR_SYSTEM, "cannot fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        close(sync[0]);
        close(sync[1]);
        return -1;
    }
    if (pid == 0) {
        /* Own session: a signal to the launcher's process group (Jupyter sends
         * SIGKILL to it) does not reach the janitor. */
        setsid();
        sigset_t none;
        sigemptyset(&none);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Tell the launcher we are out of its group before it goes on. */
        close(sync[0]);
        if (write(sync[1], "s", 1) < 0)
            _exit(1);
        close(sync[1]);
        close(fds[1]);
        if (fds[0] != 3) {
            dup2(fds[0], 3);
            close(fds[0]);
        }
        syscall(SYS_close_range, 4, ~0U, 0);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (devnull > 3)
                close(devnull);
        }
        janitor_main(3, j->on_death);
    }
    close(fds[0]);
    close(sync[1]);
    char ready;
    ssize_t n;
    while ((n = read(sync[0], &ready, 1)) < 0 && errno == EINTR)
        ;
    close(sync[0]);
    j->pid = pid;
    j->fd = fds[1];
    if (n != 1) {
        error_set(err, ERR_SYSTEM, "the janitor process did not start");
        janitor_release(j);
        return -1;
    }
    return 0;
}

static int tell(struct janitor *j, const char *line)
{
    if (j->fd < 0)
        return -1;
    size_t len = strlen(line), done = 0;
    while (done < len) {
        ssize_t n = write(j->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int janitor_guard_group(struct janitor *j, pid_t pgid)
{
    char line[32];
    snprintf(line, sizeof line, "P %ld\n", (long)pgid);
    return tell(j, line);
}

int janitor_forget_group(struct janitor *j, pid_t pgid)
{
    char line[32];
    snprintf(line, sizeof line, "F %ld\n", (long)pgid);
    return tell(j, line);
}


static int tell_value(struct janitor *j, char command, const char *value)
{
    char line[4200];
    if (strchr(value, '\n') ||
        snprintf(line, sizeof line, "%c %s\n", command, value) >= (int)sizeof line)
        return -1;
    return tell(j, line);
}

int janitor_guard_dir(struct janitor *j, const char *path)
{
    return tell_value(j, 'D', path);
}

int janitor_guard_value(struct janitor *j, const char *value)
{
    return tell_value(j, 'V', value);
}

int janitor_forget_value(struct janitor *j, const char *value)
{
    return tell_value(j, 'v', value);
}

void janitor_release(struct janitor *j)
{
    if (j->fd < 0)
        return;
    tell(j, "R\n");
    close(j->fd);
    j->fd = -1;
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    j->pid = -1;
}
