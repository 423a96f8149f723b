/* signer.h — HMAC-SHA256 signatures of Jupyter messages (OpenSSL).
 *
 * The signature is the lowercase hex HMAC over the header, parent header,
 * metadata and content frames, in that order. An empty key means messages are
 * unsigned: the signature frame is empty and is not checked. */
#ifndef SPARK_K8S_SIGNER_H
#define SPARK_K8S_SIGNER_H

#include <stddef.h>

#define SIGNER_HEX_LEN 64

struct signer;

struct signed_part {
    const void *data;
    size_t size;
};

/* SCHEME must be "hmac-sha256". On error returns -1 with a message in ERR. */
int signer_new(const char *scheme, const void *key, size_t key_len, struct signer **out, char *err,
               size_t errlen);
void signer_free(struct signer *s);

/* 1 when a key is set, 0 for unsigned sessions. */
int signer_enabled(const struct signer *s);

/* Write the hex signature of the four parts and a NUL into HEX (65 bytes);
 * unsigned sessions get "". Returns -1 if OpenSSL fails. */
int signer_sign(struct signer *s, const struct signed_part parts[4], char hex[SIGNER_HEX_LEN + 1]);

/* 0 when SIG (SIG_LEN bytes, as received) is the right signature of PARTS.
 * Length is checked first, then the bytes in constant time. Unsigned sessions
 * accept any signature frame (the spec says it is then ignored). */
int signer_verify(struct signer *s, const struct signed_part parts[4], const void *sig,
                  size_t sig_len);

#endif
