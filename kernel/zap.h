/* zap.h — the CURVE authenticator: a ZAP handler (RFC 27) that accepts one
 * client key and refuses every other.
 *
 * libzmq asks the handler bound at inproc://zeromq.zap.01 of a context about
 * every connection to a CURVE server socket of that context; it must be bound
 * before the first such socket. The handler's socket is watched on the loop
 * and answered there; refusals are logged through the rate-limited log. */
#ifndef SPARK_K8S_ZAP_H
#define SPARK_K8S_ZAP_H

#include <stddef.h>

#include "kernel/loop.h"
#include "kernel/ratelog.h"
#include "kernel/wire.h"

struct zap;

/* Bind the handler in ZMQ_CTX, accepting only ALLOWED_KEY (Z85, 40 characters). */
int zap_new(void *zmq_ctx, struct loop *l, const char *allowed_key, struct ratelog *log,
            struct zap **out, char *err, size_t errlen);
/* Unwatch and close the handler. */
void zap_free(struct zap *z);

#endif
