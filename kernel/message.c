/* message.c — splits, verifies and reads Jupyter wire messages (see message.h). */
#include "kernel/message.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

const char *message_status_text(enum message_status st)
{
    switch (st) {
    case MESSAGE_OK:
        return "ok";
    case MESSAGE_NO_DELIMITER:
        return "no <IDS|MSG> delimiter";
    case MESSAGE_TOO_FEW_FRAMES:
        return "too few frames after the delimiter";
    case MESSAGE_BAD_SIGNATURE:
        return "wrong or missing signature";
    case MESSAGE_BAD_HEADER:
        return "header is not a JSON object with msg_id and msg_type";
    case MESSAGE_TOO_LARGE:
        return "message over the size cap";
    }
    return "unknown";
}

enum message_status message_split(const struct frame *frames, size_t n, struct message_view *out)
{
    memset(out, 0, sizeof *out);
    out->n_frames = n;
    size_t d = 0;
    while (d < n && !(frames[d].size == MESSAGE_DELIMITER_LEN &&
                      memcmp(frames[d].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0))
        d++;
    if (d == n)
        return MESSAGE_NO_DELIMITER;
    if (n - d - 1 < 5)
        return MESSAGE_TOO_FEW_FRAMES;
    out->n_ids = d;
    out->delimiter = d;
    out->signature = frames[d + 1];
    out->header = frames[d + 2];
    out->parent = frames[d + 3];
    out->metadata = frames[d + 4];
    out->content = frames[d + 5];
    out->first_buffer = d + 6;
    out->n_buffers = n - d - 6;
    return MESSAGE_OK;
}

enum message_status message_verify(struct signer *s, const struct message_view *v)
{
    const struct signed_part parts[4] = {
        {v->header.data, v->header.size},
        {v->parent.data, v->parent.size},
        {v->metadata.data, v->metadata.size},
        {v->content.data, v->content.size},
    };
    return signer_verify(s, parts, v->signature.data, v->signature.size) == 0
               ? MESSAGE_OK
               : MESSAGE_BAD_SIGNATURE;
}

static int copy_string(json_t *obj, const char *key, char *dst, size_t len, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        dst[0] = '\0';
        return required ? -1 : 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= len)
        return -1;
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

enum message_status message_header_read(const struct frame *header, struct message_header *out)
{
    memset(out, 0, sizeof *out);
    json_t *h = json_loadb(header->data, header->size, JSON_REJECT_DUPLICATES, NULL);
    enum message_status st = MESSAGE_BAD_HEADER;
    if (h && json_is_object(h) && copy_string(h, "msg_id", out->msg_id, sizeof out->msg_id, 1) == 0 &&
        copy_string(h, "msg_type", out->msg_type, sizeof out->msg_type, 1) == 0 &&
        copy_string(h, "session", out->session, sizeof out->session, 0) == 0 && out->msg_type[0])
        st = MESSAGE_OK;
    json_decref(h);
    return st;
}

int message_reply_type(const char *type, char *buf, size_t len)
{
    size_t n = strlen(type);
    const char *suffix = "_request";
    size_t sl = strlen(suffix);
    if (n <= sl || strcmp(type + n - sl, suffix) != 0)
        return -1;
    int w = snprintf(buf, len, "%.*s_reply", (int)(n - sl), type);
    return w > 0 && (size_t)w < len ? 0 : -1;
}

int frame_contains(const struct frame *f, const char *needle)
{
    return memmem(f->data, f->size, needle, strlen(needle)) != NULL;
}
