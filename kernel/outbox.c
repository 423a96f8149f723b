/* outbox.c — builds, signs and sends the relay's own messages (see outbox.h). */
#include "kernel/outbox.h"

#include <errno.h>
#include <zmq.h>

#include "kernel/wire.h"

static int build(struct outbox *o, const char *type, const struct frame *parent, json_t *content,
                 struct outgoing *out)
{
    if (!content || session_build(o->session, type, parent, content, out)) {
        ratelog_drop(o->log, "dropped a %s of our own: cannot build it", type);
        json_decref(content);
        return -1;
    }
    json_decref(content);
    return 0;
}

void outbox_reply(struct outbox *o, void *socket, const struct frame *ids, size_t n_ids,
                  const char *request_type, const struct frame *parent, json_t *content)
{
    char type[80];
    struct outgoing out;
    if (message_reply_type(request_type, type, sizeof type)) {
        json_decref(content);
        return;
    }
    if (build(o, type, parent, content, &out))
        return;
    if (wire_send_outgoing(socket, ids, n_ids, &out))
        ratelog_drop(o->log, "dropped a %s of our own: %s", type, zmq_strerror(errno));
    loop_socket_touched(o->loop, socket);
    outgoing_free(&out);
}

void outbox_request(struct outbox *o, void *socket, const char *type, json_t *content)
{
    struct outgoing out;
    if (build(o, type, NULL, content, &out))
        return;
    if (wire_send_outgoing(socket, NULL, 0, &out))
        ratelog_drop(o->log, "dropped a %s of our own: %s", type, zmq_strerror(errno));
    loop_socket_touched(o->loop, socket);
    outgoing_free(&out);
}

void outbox_publish(struct outbox *o, const char *type, const struct frame *parent,
                    json_t *content)
{
    struct outgoing out;
    if (build(o, type, parent, content, &out))
        return;
    if (iopub_send_own(o->iopub, NULL, 0, &out))
        ratelog_drop(o->log, "dropped a %s of our own: %s", type, zmq_strerror(errno));
    outgoing_free(&out);
}

void outbox_status(struct outbox *o, const struct frame *parent, const char *state)
{
    outbox_publish(o, "status", parent, json_pack("{s:s}", "execution_state", state));
}

void outbox_stderr(struct outbox *o, const struct frame *parent, const char *text)
{
    outbox_publish(o, "stream", parent, json_pack("{s:s, s:s+}", "name", "stderr", "text", text, "\n"));
}
