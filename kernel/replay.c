/* replay.c — a ring of recent signatures (see replay.h). */
#include "kernel/replay.h"

#include <stdlib.h>
#include <string.h>

void replay_init(struct replay *r)
{
    memset(r, 0, sizeof *r);
}

void replay_free(struct replay *r)
{
    free(r->digests);
    replay_init(r);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int replay_seen(struct replay *r, const void *signature, size_t len)
{
    const unsigned char *hex = signature;
    unsigned char digest[32];
    if (len != 2 * sizeof digest)
        return -1;
    for (size_t i = 0; i < sizeof digest; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        digest[i] = (unsigned char)(hi << 4 | lo);
    }
    /* A scan, not a hash table: only messages the launcher acts on itself come
     * here, a handful per session, and 4096 comparisons take microseconds. */
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->digests[i], digest, sizeof digest) == 0)
            return 1;
    if (!r->digests) {
        r->digests = malloc(REPLAY_KEPT * sizeof *r->digests);
        if (!r->digests)
            return -1;
    }
    memcpy(r->digests[r->next], digest, sizeof digest);
    r->next = (r->next + 1) % REPLAY_KEPT;
    if (r->n < REPLAY_KEPT)
        r->n++;
    return 0;
}
