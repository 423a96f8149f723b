/* signer.c — HMAC-SHA256 over message parts with OpenSSL's EVP_MAC (see signer.h). */
#include "kernel/signer.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct signer {
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed; /* initialised with the key once; duplicated per message */
    int enabled;
};

void signer_free(struct signer *s)
{
    if (!s)
        return;
    EVP_MAC_CTX_free(s->keyed);
    EVP_MAC_free(s->mac);
    free(s);
}

int signer_new(const char *scheme, const void *key, size_t key_len, struct signer **out, char *err,
               size_t errlen)
{
    if (strcmp(scheme, "hmac-sha256") != 0) {
        snprintf(err, errlen,
                 "signature_scheme '%s' is not supported; spark-k8s signs with 'hmac-sha256'",
                 scheme);
        return -1;
    }
    struct signer *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->enabled = key_len > 0;
    if (s->enabled) {
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end(),
        };
        s->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        s->keyed = s->mac ? EVP_MAC_CTX_new(s->mac) : NULL;
        if (!s->keyed || !EVP_MAC_init(s->keyed, key, key_len, params)) {
            snprintf(err, errlen, "OpenSSL cannot set up HMAC-SHA256");
            signer_free(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

int signer_enabled(const struct signer *s)
{
    return s->enabled;
}

static int digest(struct signer *s, const struct signed_part parts[4], unsigned char out[32])
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(s->keyed);
    size_t len = 0;
    int ok = ctx != NULL;
    for (int i = 0; ok && i < 4; i++)
        ok = EVP_MAC_update(ctx, parts[i].data, parts[i].size);
    ok = ok && EVP_MAC_final(ctx, out, &len, 32) && len == 32;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int signer_sign(struct signer *s, const struct signed_part parts[4], char hex[SIGNER_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[32];
    hex[0] = '\0';
    if (!s->enabled)
        return 0;
    if (digest(s, parts, raw))
        return -1;
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[SIGNER_HEX_LEN] = '\0';
    return 0;
}

int signer_verify(struct signer *s, const struct signed_part parts[4], const void *sig,
                  size_t sig_len)
{
    char expected[SIGNER_HEX_LEN + 1];
    if (!s->enabled)
        return 0;
    if (sig_len != SIGNER_HEX_LEN)
        return -1;
    if (signer_sign(s, parts, expected))
        return -1;
    return CRYPTO_memcmp(expected, sig, SIGNER_HEX_LEN) == 0 ? 0 : -1;
}
