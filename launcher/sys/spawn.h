/* spawn.h — running a program with an argv (never a shell) and collecting its
 * output, with a deadline: the system helper behind `images build` and the probe
 * of a kernel's Python. */
#ifndef SPARK_K8S_SPAWN_H
#define SPARK_K8S_SPAWN_H

#include <stddef.h>

#define SPAWN_MERGE_STDERR 1 /* stderr goes where stdout goes */
#define SPAWN_QUIET 2        /* stderr to /dev/null (unless merged into OUT) */
#define SPAWN_MAX_OUTPUT ((size_t)16 << 20) /* more is read and dropped */

/* Run ARGV (argv[0] looked up on PATH) with stdin from /dev/null. If OUT, stdout
 * (and stderr with SPAWN_MERGE_STDERR) is collected into *OUT, a NUL-terminated
 * malloc'd string the caller frees. TIMEOUT_MS > 0 kills the program (SIGKILL)
 * when it runs longer; 0 waits for it.
 * Returns its exit status, 128+N when killed by signal N, 124 on the timeout,
 * 127 when ARGV[0] cannot be executed, -1 on other errors. */
int spawn_run(char *const argv[], char **out, int flags, long timeout_ms);

#endif
