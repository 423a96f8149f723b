/* spawn.c — posix_spawnp with an argv, output collected, a deadline (see spawn.h). */
#include "launcher/sys/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/sys/errmsg.h"

extern char **environ;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append what FD has to *BUF (growing it up to SPAWN_MAX_OUTPUT, then dropping).
 * 1 while more may come, 0 at end of file or error. */
static int collect(int fd, char **buf, size_t *len, size_t *cap)
{
    char chunk[8192];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 1;
    if (n <= 0)
        return 0;
    if (*buf && *len + (size_t)n + 1 > *cap && *cap < SPAWN_MAX_OUTPUT) {
        size_t ncap = *cap * 2;
        while (ncap < *len + (size_t)n + 1)
            ncap *= 2;
        char *grown = realloc(*buf, ncap);
        if (grown) {
            *buf = grown;
            *cap = ncap;
        }
    }
    if (*buf && *len + (size_t)n + 1 <= *cap) {
        memcpy(*buf + *len, chunk, (size_t)n);
        *len += (size_t)n;
        (*buf)[*len] = '\0';
    }
    return 1;
}

int spawn_run(char *const argv[], char **out, int flags, long timeout_ms)
{
    int pipefd[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    if (out)
        *out = NULL;
    if (posix_spawn_file_actions_init(&fa))
        return -1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out) {
        if (pipe2(pipefd, O_CLOEXEC)) {
            posix_spawn_file_actions_destroy(&fa);
            return -1;
        }
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        if (flags & SPAWN_MERGE_STDERR)
            posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
    }
    if ((flags & SPAWN_QUIET) && !(out && (flags & SPAWN_MERGE_STDERR)))
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (out)
        close(pipefd[1]);
    if (rc != 0) {
        if (out)
            close(pipefd[0]);
        return rc == ENOENT || rc == EACCES ? 127 : -1;
    }
    long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    int pidfd = deadline ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
    int timed_out = 0, reading = out != NULL, exited = pidfd < 0;
    size_t len = 0, cap = 4096;
    char *buf = NULL;
    if (out && (buf = malloc(cap)))
        buf[0] = '\0';
    /* Read the output until its end; with a deadline also watch the exit. */
    while (reading || (deadline && !exited)) {
        int wait = -1;
        if (deadline) {
            long long left = deadline - now_ms();
            if (left <= 0) {
                timed_out = 1;
                break;
            }
            wait = (int)(left > 60000 ? 60000 : left);
        }
        struct pollfd p[2] = {{reading ? pipefd[0] : -1, POLLIN, 0},
                              {exited ? -1 : pidfd, POLLIN, 0}};
        int n = poll(p, 2, wait);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && p[0].revents && !collect(pipefd[0], &buf, &len, &cap))
            reading = 0;
        if (n > 0 && p[1].revents)
            exited = 1;
        if (pidfd < 0 && !reading)
            break;
    }
    if (out) {
        close(pipefd[0]);
        *out = buf;
    }
    if (pidfd >= 0)
        close(pidfd);
    if (timed_out)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (timed_out)
        return 124;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
