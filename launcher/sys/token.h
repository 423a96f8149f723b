/* token.h — a secret made on this machine: the pre-shared token clients of a kernel's
 * Spark Connect server present (the local runtime and the shim make one per kernel).
 * The random bytes it is made of are wiped once written out as hex; the caller wipes
 * the hex (explicit_bzero) when it has passed it on. */
#ifndef SPARK_K8S_TOKEN_H
#define SPARK_K8S_TOKEN_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

#define TOKEN_BYTES 32
#define TOKEN_HEX_LEN (2 * TOKEN_BYTES)

/* A fresh token: TOKEN_BYTES from getrandom(2), as TOKEN_HEX_LEN hex digits and a NUL
 * into OUT. 0, or -1 with ERR (ERR_SYSTEM: no randomness). */
int token_new(char out[TOKEN_HEX_LEN + 1], struct error *err);

/* RAW (N bytes) as 2N hex digits and a NUL into OUT, then RAW wiped: what token_new
 * does with its random bytes, on its own so that a test can see them wiped. */
void token_hex_wipe(unsigned char *raw, size_t n, char *out);

#endif
