/* errmsg.c — the error type: setting it where a failure happens, adding context on the
 * way up, and the exit status of its kind (see errmsg.h). */
#include "launcher/sys/errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *e, enum err_kind kind, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
    e->kind = kind == ERR_NONE ? ERR_SYSTEM : kind;
    return -1;
}

int error_nomem(struct error *e)
{
    return error_set(e, ERR_NOMEM, "out of memory");
}

int error_prefix(struct error *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    if (e->kind == ERR_NONE) {
        e->kind = ERR_SYSTEM;
        snprintf(e->text, sizeof e->text, "no reason given");
    }
    char prefix[ERROR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return -1;
    size_t plen = (size_t)n < sizeof prefix ? (size_t)n : sizeof prefix - 1;
    size_t tlen = strnlen(e->text, sizeof e->text - 1);
    if (plen >= sizeof e->text - 1) {
        memcpy(e->text, prefix, sizeof e->text - 1);
        e->text[sizeof e->text - 1] = '\0';
        return -1;
    }
    if (plen + tlen > sizeof e->text - 1)
        tlen = sizeof e->text - 1 - plen;
    memmove(e->text + plen, e->text, tlen);
    memcpy(e->text, prefix, plen);
    e->text[plen + tlen] = '\0';
    return -1;
}

int error_adopt(struct error *e, enum err_kind kind)
{
    if (!e)
        return -1;
    e->text[sizeof e->text - 1] = '\0';
    if (!e->text[0])
        snprintf(e->text, sizeof e->text, "no reason given");
    e->kind = kind == ERR_NONE ? ERR_SYSTEM : kind;
    return -1;
}

void error_clear(struct error *e)
{
    if (!e)
        return;
    e->kind = ERR_NONE;
    e->text[0] = '\0';
}

int err_exit_status(enum err_kind kind)
{
    switch (kind) {
    case ERR_USAGE:
    case ERR_INPUT:
        return 2;
    case ERR_NONE:
    case ERR_RUNTIME:
    case ERR_SYSTEM:
    case ERR_NOMEM:
        break;
    }
    return 1;
}

int error_exit_status(const struct error *e)
{
    return err_exit_status(e ? e->kind : ERR_NONE);
}

const char *err_kind_name(enum err_kind kind)
{
    switch (kind) {
    case ERR_NONE:
        return "none";
    case ERR_USAGE:
        return "usage";
    case ERR_INPUT:
        return "input";
    case ERR_RUNTIME:
        return "runtime";
    case ERR_SYSTEM:
        return "system";
    case ERR_NOMEM:
        return "out of memory";
    }
    return "unknown";
}
