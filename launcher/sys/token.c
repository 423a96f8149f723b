/* token.c — a Spark Connect token from getrandom, its random bytes wiped (see token.h). */
#include "launcher/sys/token.h"
#include "launcher/sys/hex.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void token_hex_wipe(unsigned char *raw, size_t n, char *out)
{
    hex_encode(raw, n, out);
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
