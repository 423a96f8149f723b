/* ui_route.c — the kernel's Spark UI through the Jupyter server (see ui_route.h). */
#include "launcher/runtime/ui_route.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A URL path as the extension sets it: starts and ends with '/', printable ASCII
 * without spaces, quotes, '\\', '?' or '#'. */
static int path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n < 1 || n > 400 || p[0] != '/' || p[n - 1] != '/')
        return 0;
    for (; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("\"'\\?#<>`", *p))
            return 0;
    return 1;
}

int ui_route_find(struct ui_route *r, const char *kernel_id, const char *connection_file,
                  struct error *err)
{
    memset(r, 0, sizeof *r);
    const char *prefix = getenv(UI_ROUTE_ENV);
    if (!prefix || !*prefix)
        return 0;
    if (!path_ok(prefix))
        return error_set(err, ERR_INPUT, "env %s: '%s' is not the URL path of the Spark UI's "
                         "route (it starts and ends with '/', without spaces or quotes)",
                         UI_ROUTE_ENV, prefix);
    char abs[PATH_MAX];
    if (!realpath(connection_file, abs))
        return error_set(err, ERR_INPUT, "%s: %s", connection_file, strerror(errno));
    const char *slash = strrchr(abs, '/');
    if (snprintf(r->path, sizeof r->path, "%s%s/", prefix, kernel_id) >= (int)sizeof r->path ||
        snprintf(r->registry, sizeof r->registry, "%.*s/spark-k8s-ui-%s.json",
                 (int)(slash - abs), abs, kernel_id) >= (int)sizeof r->registry ||
        snprintf(r->connection, sizeof r->connection, "%s", abs) >= (int)sizeof r->connection)
        return error_set(err, ERR_INPUT, "%s: the path is too long", connection_file);
    return 1;
}

int ui_route_publish(const struct ui_route *r, const char *url, struct error *err)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.%ld", r->registry, (long)getpid());
    json_t *doc = json_pack("{s:s, s:s}", "url", url, "connection_file", r->connection);
    if (!doc)
        return error_nomem(err);
    FILE *f = NULL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && (f = fdopen(fd, "w")) != NULL && json_dumpf(doc, f, JSON_COMPACT) == 0;
    if (f)
        ok = (fclose(f) == 0) && ok;
    else if (fd >= 0)
        close(fd);
    json_decref(doc);
    if (!ok || rename(tmp, r->registry) != 0) {
        int e = errno;
        unlink(tmp);
        return error_set(err, ERR_SYSTEM, "cannot write %s: %s", r->registry, strerror(e));
    }
    return 0;
}

void ui_route_withdraw(const struct ui_route *r)
{
    if (r && r->registry[0])
        unlink(r->registry);
}
