/* replay.h — signatures already acted on, so that a copy is refused.
 *
 * A validly signed message can be captured and sent again. The runtime's own
 * Session refuses a signature it has seen (jupyter_client's digest_history);
 * the launcher does the same for the messages it acts on itself (interrupt,
 * shutdown, the replies it gives while the runtime starts or after it failed).
 * The last REPLAY_KEPT signatures are kept (32 bytes each, allocated on first
 * use); the oldest is forgotten first. */
#ifndef SPARK_K8S_REPLAY_H
#define SPARK_K8S_REPLAY_H

#include <stddef.h>

#define REPLAY_KEPT 4096

struct replay {
    unsigned char (*digests)[32];
    size_t n, next; /* kept so far; slot the next one goes to */
};

void replay_init(struct replay *r);
void replay_free(struct replay *r);

/* SIGNATURE is the signature frame as received (hex text). Returns 1 if it was
 * seen before, else remembers it and returns 0; -1 when it cannot be kept (out
 * of memory, or not 64 hex characters) and so cannot be checked. */
int replay_seen(struct replay *r, const void *signature, size_t len);

#endif
