/* proxy.h — the relay between Jupyter clients and the real kernel.
 *
 * The front side binds the five channels of a connection file (what Jupyter
 * talks to); the back side connects to the runtime's five channels once it is
 * attached. Frames pass through as received: the same key signs both hops, so
 * nothing is re-signed, and only headers of client requests are read.
 *
 * The proxy also: answers kernel_info (unless told to hold it) and holds other
 * requests until the runtime answers a probe; echoes heartbeats while the runtime is alive;
 * answers iopub subscriptions with iopub_welcome (JEP 65); turns interrupts
 * into a hook; reports what goes wrong to the requests that wait.
 *
 * Under pressure it never drops a good request and never lets one client hold
 * up the others: a request the runtime cannot take yet waits in a bounded queue
 * and, beyond it, the proxy stops reading that channel (the clients' queues
 * fill, as against a busy kernel); a subscriber that stops reading iopub loses
 * its own messages only (kernel/iopub.h). What it buffers is bounded: client
 * frames by ZMQ_MAXMSGSIZE (refused by libzmq on receipt), messages by the size
 * cap, waiting requests by count and bytes, subscriptions by IOPUB_MAX_TOPIC.
 * Messages the proxy acts on itself are refused when replayed; dropped input is
 * logged at a bounded rate.
 *
 * It knows nothing of Spark or Kubernetes and owns no loop: the launcher gives
 * it one (kernel/loop.h), and drives it through hooks. */
#ifndef SPARK_K8S_PROXY_H
#define SPARK_K8S_PROXY_H

#include <jansson.h>
#include <stddef.h>

#include "kernel/connection.h"
#include "kernel/loop.h"

#define PROXY_DEFAULT_MAX_MESSAGE (256u << 20) /* bytes, per client message */
#define PROXY_MAX_FRAMES 4096       /* frames per client message */
/* Requests waiting for the runtime, per channel: shell, then control and stdin. */
#define PROXY_QUEUE_SHELL 1000
#define PROXY_QUEUE_SHELL_BYTES (64u << 20)
#define PROXY_QUEUE_OTHER 100
#define PROXY_QUEUE_OTHER_BYTES (16u << 20)
#define PROXY_FRONT_RCVHWM 8        /* messages libzmq keeps per client connection, per channel */
#define PROXY_HB_MAX 4096           /* bytes of a heartbeat */

struct proxy;

struct proxy_hooks {
    void *ctx;
    /* An interrupt_request arrived on control (or proxy_interrupt was called).
     * Return 0 when the runtime was interrupted here (the proxy replies), 1 to
     * forward the request to the runtime (which replies), -1 on failure. */
    int (*interrupt)(void *ctx);
    /* Content of the kernel_info_reply the proxy sends while the runtime starts
     * (a new reference). */
    json_t *(*kernel_info)(void *ctx);
    /* A shutdown_request arrived before the runtime was ready: the proxy has
     * replied; the launcher should stop the runtime and end the loop. */
    void (*shutdown_early)(void *ctx, int restart);
    /* The runtime answered: held requests are on their way. */
    void (*ready)(void *ctx);
};

/* CurveZMQ keys, Z85 text (40 characters). */
struct proxy_curve {
    char public_key[41];
    char secret_key[41];
    char peer_public_key[41]; /* server: the one client key accepted; client: the server's key */
};

struct proxy_options {
    size_t max_message_bytes;          /* 0: PROXY_DEFAULT_MAX_MESSAGE */
    const struct proxy_curve *curve;   /* front side as CURVE server with one allowed client, or NULL */
    const char *log_name;              /* prefix of log lines, e.g. "spark-k8s" */
    long log_interval_ms;              /* rate limit of dropped-input lines; 0: the default */
    /* Hold kernel_info requests too until the runtime is ready, instead of answering
     * them: for a proxy behind another proxy (the shim, whose client is the launcher
     * probing for the real kernel), which must not take this proxy's answer for the
     * kernel's. */
    int hold_kernel_info;
};

/* Bind the front channels of FRONT and watch them on LOOP (borrowed; it must
 * outlive the proxy). */
int proxy_new(struct loop *loop, const struct connection *front, const struct proxy_options *opt,
              const struct proxy_hooks *hooks, struct proxy **out, char *err, size_t errlen);
void proxy_free(struct proxy *p);

/* Connect the back side to the runtime's endpoints (CURVE client when CURVE is
 * not NULL) and start probing it with kernel_info requests. */
int proxy_attach(struct proxy *p, char *const endpoints[CH_COUNT], const struct proxy_curve *curve,
                 char *err, size_t errlen);

/* Heartbeats are echoed only while the runtime is alive. */
void proxy_set_alive(struct proxy *p, int alive);

/* Show TEXT (one line) in the notebook of every request waiting for the
 * runtime, as stderr output, and on the launcher's stderr. */
void proxy_progress(struct proxy *p, const char *text);

/* A note shown once, as stderr output of the first execute_request forwarded. */
void proxy_set_notice(struct proxy *p, const char *text);

/* The runtime could not start: every held request gets an error reply and an
 * iopub error saying REASON, and so does every later request (kernel_info,
 * interrupt and shutdown are still answered), until the launcher stops. */
void proxy_runtime_failed(struct proxy *p, const char *reason);
/* The reason given to proxy_runtime_failed, or NULL. */
const char *proxy_failure(const struct proxy *p);

/* Tell the notebook TEXT (one line, as stderr output): in the cell of the last
 * execute_request the runtime received, and to every request still waiting. */
void proxy_notify(struct proxy *p, const char *text);

/* Interrupt as if an interrupt_request had arrived (SIGINT to the launcher):
 * calls the hook, and forwards a request of our own when it asks to. */
void proxy_interrupt(struct proxy *p);

/* The runtime has ended: stop reading clients, forward what the back side
 * still has until it has been quiet for a moment or MS pass, then call DONE
 * (once) from the loop. A state of the loop, not a loop of its own. */
void proxy_drain(struct proxy *p, long ms, void (*done)(void *ctx), void *ctx);

int proxy_ready(const struct proxy *p);
int proxy_shutdown_requested(const struct proxy *p);
/* Monotonic milliseconds of the last heartbeat a client sent (0: none yet). */
long long proxy_last_heartbeat(const struct proxy *p);

#endif
