/* session.c — builds and signs the launcher's own messages (see session.h). */
#include "kernel/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

void uuid_text(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

int iso8601_utc(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    if (!gmtime_r(&ts->tv_sec, &tm))
        return -1;
    char base[24];
    if (strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return -1;
    int n = snprintf(buf, len, "%s.%06ldZ", base, ts->tv_nsec / 1000);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

void session_init(struct session *s, struct signer *signer, const char *username)
{
    memset(s, 0, sizeof *s);
    uuid_text(s->id);
    snprintf(s->username, sizeof s->username, "%s", username && *username ? username : "kernel");
    s->signer = signer;
}

void outgoing_free(struct outgoing *m)
{
    free(m->header);
    free(m->parent);
    free(m->metadata);
    free(m->content);
    memset(m, 0, sizeof *m);
}

static char *copy_bytes(const void *data, size_t size)
{
    char *p = malloc(size + 1);
    if (p) {
        memcpy(p, data, size);
        p[size] = '\0';
    }
    return p;
}

int session_build(struct session *s, const char *msg_type, const struct frame *parent,
                  json_t *content, struct outgoing *out)
{
    memset(out, 0, sizeof *out);
    uuid_text(out->msg_id);
    struct timespec now;
    char date[40];
    clock_gettime(CLOCK_REALTIME, &now);
    if (iso8601_utc(&now, date, sizeof date))
        return -1;
    json_t *h = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", out->msg_id, "msg_type",
                          msg_type, "username", s->username, "session", s->id, "date", date,
                          "version", PROTOCOL_VERSION);
    if (!h)
        return -1;
    out->header = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    out->parent = parent ? copy_bytes(parent->data, parent->size) : copy_bytes("{}", 2);
    out->metadata = copy_bytes("{}", 2);
    out->content = json_dumps(content, JSON_COMPACT);
    if (!out->header || !out->parent || !out->metadata || !out->content)
        goto fail;
    const struct signed_part parts[4] = {
        {out->header, strlen(out->header)},
        {out->parent, strlen(out->parent)},
        {out->metadata, strlen(out->metadata)},
        {out->content, strlen(out->content)},
    };
    if (signer_sign(s->signer, parts, out->signature))
        goto fail;
    return 0;
fail:
    outgoing_free(out);
    return -1;
}
