/* outbox.h — the messages the relay writes itself: replies to the requests it
 * answers (kernel_info while the runtime starts, interrupt, shutdown, errors
 * after a failed start), its own requests to the runtime (the readiness probe,
 * an interrupt), and status, stream and error output on iopub. Each is built
 * and signed by the session, with the same key as the clients' messages, and
 * parented on the request's header frame as received. Failures are logged
 * through the rate-limited log; nothing here waits. */
#ifndef SPARK_K8S_OUTBOX_H
#define SPARK_K8S_OUTBOX_H

#include <jansson.h>
#include <stddef.h>

#include "kernel/iopub.h"
#include "kernel/message.h"
#include "kernel/ratelog.h"
#include "kernel/session.h"

struct outbox {
    struct session *session; /* borrowed */
    struct iopub *iopub;     /* borrowed */
    struct ratelog *log;     /* borrowed */
    struct loop *loop;       /* borrowed: told of every socket used */
};

/* Each takes CONTENT (a new reference, or NULL when building it failed). */

/* Reply to the request with header PARENT, received on SOCKET from IDS: the
 * type is REQUEST_TYPE with _request changed to _reply. */
void outbox_reply(struct outbox *o, void *socket, const struct frame *ids, size_t n_ids,
                  const char *request_type, const struct frame *parent, json_t *content);
/* A request of our own to the runtime (no client identity: its reply is ours). */
void outbox_request(struct outbox *o, void *socket, const char *type, json_t *content);
/* iopub output of TYPE, parented on PARENT (NULL: none). */
void outbox_publish(struct outbox *o, const char *type, const struct frame *parent,
                    json_t *content);

void outbox_status(struct outbox *o, const struct frame *parent, const char *state);
/* TEXT and a newline as stderr output. */
void outbox_stderr(struct outbox *o, const struct frame *parent, const char *text);

#endif
