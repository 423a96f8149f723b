/* session.h — messages the launcher writes itself: ids, dates, headers, signatures.
 *
 * Every start has a new session id; every message a new msg_id (libuuid); the
 * date is ISO 8601 UTC with six-digit microseconds; the header says version 5.3. */
#ifndef SPARK_K8S_SESSION_H
#define SPARK_K8S_SESSION_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "kernel/message.h"
#include "kernel/signer.h"

#define PROTOCOL_VERSION "5.3"

struct session {
    char id[37];
    char username[64];
    struct signer *signer; /* borrowed */
};

/* A fresh random UUID in its 36-character text form. */
void uuid_text(char out[37]);

/* "2026-11-26T16:02:34.123456Z"; returns -1 if BUF is too short (28 bytes needed). */
int iso8601_utc(const struct timespec *ts, char *buf, size_t len);

void session_init(struct session *s, struct signer *signer, const char *username);

/* A message ready to send: four JSON frames and their signature, all owned. */
struct outgoing {
    char msg_id[37];
    char signature[SIGNER_HEX_LEN + 1];
    char *header;
    char *parent;
    char *metadata;
    char *content;
};

/* Build and sign a message of MSG_TYPE. PARENT is the raw header frame of the
 * request it answers (copied as is) or NULL for "{}". CONTENT is borrowed.
 * Release with outgoing_free. */
int session_build(struct session *s, const char *msg_type, const struct frame *parent,
                  json_t *content, struct outgoing *out);
void outgoing_free(struct outgoing *m);

#endif
