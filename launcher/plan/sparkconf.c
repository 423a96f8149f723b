/* sparkconf.c — Spark properties with provenance: the list, its checks, and
 * writing it as spark-defaults.conf (see sparkconf.h). A leaf: it knows nothing
 * of plans (rendering a plan into properties is render.c). */
#include "launcher/plan/sparkconf.h"
#include "launcher/sys/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct property {
    char *key, *value, *source;
};

struct sparkconf {
    struct property *items;
    size_t n, cap;
};

/* Set by the runtime from facts it alone knows; extra properties must not move them. */
static const char *const reserved_keys[] = {
    "spark.master",          "spark.submit.deployMode",          "spark.driver.host",
    "spark.driver.bindAddress", "spark.driver.port",             "spark.blockManager.port",
    "spark.kubernetes.namespace", "spark.kubernetes.driver.pod.name",
    "spark.connect.authenticate.token",
};

struct sparkconf *sparkconf_new(void)
{
    return calloc(1, sizeof(struct sparkconf));
}

void sparkconf_free(struct sparkconf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->items[i].key);
        free(conf->items[i].value);
        free(conf->items[i].source);
    }
    free(conf->items);
    free(conf);
}

int sparkconf_check_key(const char *key, const char *origin, struct error *err)
{
    int ok = strncmp(key, "spark.", 6) == 0 && key[6] != '\0' && strlen(key) < 256;
    for (const char *p = key; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("._-[]", *p);
    if (ok)
        return 0;
    error_set(err, ERR_INPUT,
              "%s: Spark property name '%s' is not acceptable: it must start with 'spark.' and "
              "use only letters, digits and . _ - [ ]", origin, key);
    return -1;
}

int sparkconf_check_value(const char *key, const char *value, const char *origin, struct error *err)
{
    for (const char *p = value; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            error_set(err, ERR_INPUT,
                      "%s: the value of Spark property '%s' contains a control character "
                      "(newline, tab, ...) at offset %zu; it would corrupt spark-defaults.conf",
                      origin, key, (size_t)(p - value));
            return -1;
        }
    }
    if (strlen(value) > 8192) {
        error_set(err, ERR_INPUT, "%s: the value of Spark property '%s' is longer than 8192 bytes",
                  origin, key);
        return -1;
    }
    return 0;
}

/* The admin's limits (render.h's RENDER_LIMITS): the settings limits.* only. */
static const char reserved_prefix[] = "spark.k8s.notebook.limits.";

int sparkconf_reserved(const char *key)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return 1;
    return strncmp(key, reserved_prefix, sizeof reserved_prefix - 1) == 0;
}

int sparkconf_set(struct sparkconf *conf, const char *key, const char *value,
                  const char *source, struct error *err)
{
    if (sparkconf_check_key(key, source, err) ||
        sparkconf_check_value(key, value, source, err))
        return -1;
    char *v = strdup(value), *s = strdup(source);
    if (!v || !s)
        goto oom;
    for (size_t i = 0; i < conf->n; i++) {
        if (strcmp(conf->items[i].key, key) == 0) {
            free(conf->items[i].value);
            free(conf->items[i].source);
            conf->items[i].value = v;
            conf->items[i].source = s;
            return 0;
        }
    }
    if (conf->n == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 16;
        struct property *grown = realloc(conf->items, cap * sizeof *grown);
        if (!grown)
            goto oom;
        conf->items = grown;
        conf->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        goto oom;
    conf->items[conf->n++] = (struct property){k, v, s};
    return 0;
oom:
    free(v);
    free(s);
    error_nomem(err);
    return -1;
}

const char *sparkconf_get(const struct sparkconf *conf, const char *key)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->items[i].key, key) == 0)
            return conf->items[i].value;
    return NULL;
}

size_t sparkconf_count(const struct sparkconf *conf) { return conf->n; }
const char *sparkconf_key(const struct sparkconf *conf, size_t i) { return conf->items[i].key; }
const char *sparkconf_value(const struct sparkconf *conf, size_t i)
{
    return conf->items[i].value;
}
const char *sparkconf_source(const struct sparkconf *conf, size_t i)
{
    return conf->items[i].source;
}

/* A value as java.util.Properties reads it back unchanged: backslashes doubled, and a
 * leading separator or blank escaped (Properties would swallow it). */
static void print_value(FILE *out, const char *v)
{
    if (*v == '=' || *v == ':' || *v == ' ' || *v == '#' || *v == '!')
        fputc('\\', out);
    for (; *v; v++) {
        if (*v == '\\')
            fputc('\\', out);
        fputc(*v, out);
    }
}

/* A comment line. Names reach it (a kernelspec folder, a path in a source): a
 * control character is shown as \n, \r or \xHH, so that none can end the line
 * and start a property of its own. */
static void print_comment(FILE *out, const char *prefix, const char *text)
{
    fprintf(out, "# %s", prefix);
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '\n')
            fputs("\\n", out);
        else if (*c == '\r')
            fputs("\\r", out);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf(out, "\\x%02x", *c);
        else
            fputc(*c, out);
    }
    fputc('\n', out);
}

int sparkconf_print(const struct sparkconf *conf, FILE *out, const char *header,
                    int with_sources)
{
    if (header)
        print_comment(out, "", header);
    for (size_t i = 0; i < conf->n; i++) {
        if (with_sources)
            print_comment(out, "from: ", conf->items[i].source);
        fprintf(out, "%s ", conf->items[i].key);
        print_value(out, conf->items[i].value);
        fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

int sparkconf_write(const struct sparkconf *conf, const char *dir, const char *header,
                    struct error *err)
{
    char path[4096], tmp[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/spark-defaults.conf", dir) >= sizeof path) {
        error_set(err, ERR_SYSTEM, "%s: directory name too long", dir);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.spark-defaults.conf.XXXXXX", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot create a file: %s", dir, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        error_set(err, ERR_SYSTEM, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    int rc = fchmod(fd, 0600);
    rc |= sparkconf_print(conf, f, header, 0);
    rc |= fflush(f) != 0 || fsync(fd) != 0;
    if (fclose(f) != 0 || rc != 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot rename into place: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
