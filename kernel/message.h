/* message.h — the Jupyter wire format as a pure codec: frames in, a view out.
 *
 * A message on the wire is
 *     [identities...] "<IDS|MSG>" signature header parent metadata content [buffers...]
 * message_split finds the parts without copying or parsing anything; only
 * message_header_read parses JSON, and only the header frame. No I/O here, so a
 * fuzzer can drive it directly. */
#ifndef SPARK_K8S_MESSAGE_H
#define SPARK_K8S_MESSAGE_H

#include <stddef.h>

#include "kernel/signer.h"

#define MESSAGE_DELIMITER "<IDS|MSG>"
#define MESSAGE_DELIMITER_LEN 9

struct frame {
    const void *data;
    size_t size;
};

enum message_status {
    MESSAGE_OK = 0,
    MESSAGE_NO_DELIMITER,   /* no "<IDS|MSG>" frame */
    MESSAGE_TOO_FEW_FRAMES, /* fewer than 5 frames after the delimiter */
    MESSAGE_BAD_SIGNATURE,  /* missing, wrong length or wrong value */
    MESSAGE_BAD_HEADER,     /* header not a JSON object with string msg_id and msg_type */
    MESSAGE_TOO_LARGE,      /* over the configured size cap */
};

const char *message_status_text(enum message_status st);

struct message_view {
    size_t n_frames;
    size_t n_ids;      /* identity frames: [0, n_ids) */
    size_t delimiter;  /* index of "<IDS|MSG>" == n_ids */
    struct frame signature, header, parent, metadata, content;
    size_t first_buffer; /* index of the first buffer frame */
    size_t n_buffers;
};

/* Split N frames into their parts. MESSAGE_OK or a status saying what is wrong. */
enum message_status message_split(const struct frame *frames, size_t n, struct message_view *out);

/* Check the view's signature with S (constant time after a length check). */
enum message_status message_verify(struct signer *s, const struct message_view *v);

/* The header fields the launcher acts on, parsed from the header frame only. */
struct message_header {
    char msg_id[128];
    char msg_type[64];
    char session[128];
};

enum message_status message_header_read(const struct frame *header, struct message_header *out);

/* For a request type "X_request" write "X_reply"; -1 if TYPE is not a request. */
int message_reply_type(const char *type, char *buf, size_t len);

/* 1 if the frame's bytes contain NEEDLE (for cheap checks on small header frames). */
int frame_contains(const struct frame *f, const char *needle);

#endif
