/* janitor.h — cleanup that survives the launcher, even its SIGKILL.
 *
 * The janitor is a small forked process in its own session that waits on a
 * pipe from the launcher. It is told what to clean (a process group to kill, a
 * directory to remove, a value for the on_death hook: the kubernetes runtime's
 * pod). If the pipe closes without a release, the launcher died
 * without cleaning up, and the janitor does it; after a release it exits quietly.
 * Start it before anything else holds sockets or files worth not inheriting. */
#ifndef SPARK_K8S_JANITOR_H
#define SPARK_K8S_JANITOR_H

#include <stddef.h>
#include <sys/types.h>

#include "launcher/sys/errmsg.h"

struct janitor {
    pid_t pid;
    int fd; /* write end of the pipe; -1 when not running */
    /* Called in the janitor, once for each value given to janitor_guard_value, when
     * the launcher dies. Set it before janitor_start: the janitor runs the launcher's
     * code, but has none of its state after the fork (load what is needed afresh). */
    void (*on_death)(const char *value);
};

int janitor_start(struct janitor *j, struct error *err);
/* Kill this process group (SIGKILL) if the launcher dies. */
int janitor_guard_group(struct janitor *j, pid_t pgid);
/* The group has been reaped: forget it (its id may be reused). */
int janitor_forget_group(struct janitor *j, pid_t pgid);
/* Remove this directory tree if the launcher dies. */
int janitor_guard_dir(struct janitor *j, const char *path);
/* Have on_death(VALUE) called if the launcher dies (VALUE: one line of text). */
int janitor_guard_value(struct janitor *j, const char *value);
/* Done with VALUE: it is not passed to on_death any more. */
int janitor_forget_value(struct janitor *j, const char *value);
/* Everything is clean: the janitor exits without acting; waits for it. */
void janitor_release(struct janitor *j);

#endif
