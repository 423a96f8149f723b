/* token.c — a Spark Connect token from getrandom, its random bytes wiped (see token.h). */
#include "launcher/sys/token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void token_hex_wipe(unsigned char *raw, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 0x0f];
    }
    out[2 * n] = '\0';
    explicit_bzero(raw, n);
}

int token_new(char out[TOKEN_HEX_LEN + 1], struct error *err)
{
    unsigned char raw[TOKEN_BYTES];
    ssize_t got;
    do
        got = getrandom(raw, sizeof raw, 0);
    while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof raw) {
        explicit_bzero(raw, sizeof raw);
        return error_set(err, ERR_SYSTEM, "cannot make a Spark Connect token: %s",
                         got < 0 ? strerror(errno) : "too few random bytes");
    }
    token_hex_wipe(raw, sizeof raw, out);
    return 0;
}
