/* kernel_host.h — the kernel Jupyter starts (`spark-k8s kernel`): binds Jupyter's
 * channels (the proxy), starts the runtime the kernelspec asks for, relays until the
 * kernel ends, and leaves nothing behind: signals arrive through a signalfd in the
 * same event loop, and a janitor process cleans up if this process is killed outright.
 *
 * A kernel that cannot start stays to tell every request why, rather than exit into
 * Jupyter's restart loop; it leaves on shutdown or after ten minutes. */
#ifndef SPARK_K8S_KERNEL_HOST_H
#define SPARK_K8S_KERNEL_HOST_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

struct kernel_options {
    const char *connection_file; /* the connection file Jupyter wrote */
    const char *kernelspec_dir;  /* the kernelspec folder (kernel.json); NULL: the default */
    size_t max_message_bytes;    /* drop client messages larger than this; 0: the default */
};

/* Run the kernel until it ends. The loop's status (0 after a shutdown, 1 when the
 * kernel died) once the relay ran; -1 with ERR when it could not: ERR_INPUT for a bad
 * connection file or kernelspec, ERR_SYSTEM for the set-up, ERR_RUNTIME when the
 * runtime could not start. ERR's text is the log line. */
int kernel_host_run(const struct kernel_options *o, struct error *err);

#endif
