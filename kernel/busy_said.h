/* busy_said.h — the requests the relay has said `status: busy` for itself.
 *
 * While the runtime starts, the relay speaks for the requests that wait for it (the start's
 * progress, a notice, on iopub as stderr with the request as parent). The Jupyter protocol
 * puts every message of a request between its busy and its idle, and clients check it: so
 * the relay says busy first, once per request, and then drops the runtime's own busy for that
 * request when it comes, leaving its output and idle as they are. This set remembers which,
 * bounded: beyond BUSY_SAID_MAX requests the relay says nothing for a request rather than
 * say busy twice. */
#ifndef SPARK_K8S_BUSY_SAID_H
#define SPARK_K8S_BUSY_SAID_H

#include <stddef.h>

#include "kernel/message.h"

#define BUSY_SAID_MAX 1100 /* the held shell, control and stdin requests together */

struct busy_said {
    char **ids; /* "\"<msg_id>\"", as they stand in a parent header */
    size_t n, cap;
};

/* Remember MSG_ID: 1 when it is new (the caller says busy now), 0 when said already,
 * -1 when full or out of memory (the caller says nothing). */
int busy_said_add(struct busy_said *b, const char *msg_id);
/* Forget MSG_ID: 1 when it was there. */
int busy_said_remove(struct busy_said *b, const char *msg_id);
/* 1, forgetting it, when PARENT (a parent-header frame) is one of the requests said busy. */
int busy_said_take(struct busy_said *b, const struct frame *parent);
void busy_said_clear(struct busy_said *b);

#endif
