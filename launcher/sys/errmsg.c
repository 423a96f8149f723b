/* errmsg.c — error messages into caller buffers, and exit statuses by kind (see errmsg.h). */
#include "launcher/sys/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int errorf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int err_exit_status(enum err_kind kind)
{
    switch (kind) {
    case ERR_USAGE:
    case ERR_INPUT:
        return 2;
    case ERR_RUNTIME:
    case ERR_SYSTEM:
        break;
    }
    return 1;
}
