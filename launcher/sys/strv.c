/* strv.c — NULL-terminated string arrays: copy, free, join (see strv.h). */
#include "launcher/sys/strv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **strv_copy(const char *const *v)
{
    size_t n = 0;
    while (v[n])
        n++;
    char **copy = calloc(n + 1, sizeof *copy);
    if (!copy)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!(copy[i] = strdup(v[i]))) {
            strv_free(copy);
            return NULL;
        }
    }
    return copy;
}

void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void strv_join(const char *const *v, size_t n, const char *sep, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%s", i ? sep : "", v[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}
