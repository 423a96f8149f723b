/* connection.c — reads and writes Jupyter connection files (see connection.h). */
#include "kernel/connection.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const channel_names[CH_COUNT] = {"shell", "iopub", "stdin", "control", "hb"};
static const char *const port_fields[CH_COUNT] = {"shell_port", "iopub_port", "stdin_port",
                                                  "control_port", "hb_port"};

const char *channel_name(enum channel ch)
{
    return (unsigned)ch < CH_COUNT ? channel_names[ch] : "?";
}

void connection_clear(struct connection *c)
{
    free(c->key);
    memset(c, 0, sizeof *c);
}

int connection_set_key(struct connection *c, const char *key, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    free(c->key);
    c->key = copy;
    c->key_len = len;
    return 0;
}

/* A short printable rendering of a JSON value for error messages. */
static void describe(json_t *v, char *buf, size_t len)
{
    char *dump = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    snprintf(buf, len, "%s", dump ? dump : "(missing)");
    if (strlen(buf) > 60)
        strcpy(buf + 57, "...");
    free(dump);
}

static int copy_field(json_t *root, const char *path, const char *field, char *dst, size_t dstlen,
                      int required, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, field);
    if (!v) {
        if (!required) {
            dst[0] = '\0';
            return 0;
        }
        snprintf(err, errlen, "%s: field '%s' is missing", path, field);
        return -1;
    }
    if (!json_is_string(v) || json_string_length(v) >= dstlen) {
        char shown[80];
        describe(v, shown, sizeof shown);
        snprintf(err, errlen, "%s: field '%s' has value %s; expected a string of at most %zu bytes",
                 path, field, shown, dstlen - 1);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int connection_read(const char *path, struct connection *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (jerr.line < 0 || errno == ENOENT)
            snprintf(err, errlen, "%s: cannot read connection file: %s", path, jerr.text);
        else
            snprintf(err, errlen, "%s: not valid JSON at line %d: %s", path, jerr.line, jerr.text);
        return -1;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "%s: a connection file must be a JSON object", path);
        goto fail;
    }
    if (copy_field(root, path, "transport", out->transport, sizeof out->transport, 0, err, errlen) ||
        copy_field(root, path, "ip", out->ip, sizeof out->ip, 1, err, errlen) ||
        copy_field(root, path, "signature_scheme", out->signature_scheme,
                   sizeof out->signature_scheme, 0, err, errlen) ||
        copy_field(root, path, "kernel_name", out->kernel_name, sizeof out->kernel_name, 0, err,
                   errlen))
        goto fail;
    if (!out->transport[0])
        strcpy(out->transport, "tcp");
    if (strcmp(out->transport, "tcp") != 0 && strcmp(out->transport, "ipc") != 0) {
        snprintf(err, errlen, "%s: field 'transport' has value \"%s\"; expected \"tcp\" or \"ipc\"",
                 path, out->transport);
        goto fail;
    }
    if (!out->ip[0]) {
        snprintf(err, errlen, "%s: field 'ip' is empty", path);
        goto fail;
    }
    if (!out->signature_scheme[0])
        strcpy(out->signature_scheme, "hmac-sha256");
    if (strcmp(out->signature_scheme, "hmac-sha256") != 0) {
        snprintf(err, errlen,
                 "%s: field 'signature_scheme' has value \"%s\"; spark-k8s supports only "
                 "\"hmac-sha256\"", path, out->signature_scheme);
        goto fail;
    }
    for (int ch = 0; ch < CH_COUNT; ch++) {
        json_t *v = json_object_get(root, port_fields[ch]);
        json_int_t port = json_is_integer(v) ? json_integer_value(v) : -1;
        int max = strcmp(out->transport, "tcp") == 0 ? 65535 : 1 << 30;
        if (port <= 0 || port > max) {
            char shown[80];
            describe(v, shown, sizeof shown);
            snprintf(err, errlen, "%s: field '%s' has value %s; expected an integer from 1 to %d",
                     path, port_fields[ch], shown, max);
            goto fail;
        }
        out->ports[ch] = (int)port;
    }
    json_t *key = json_object_get(root, "key");
    if (key && !json_is_string(key)) {
        char shown[80];
        describe(key, shown, sizeof shown);
        snprintf(err, errlen, "%s: field 'key' has value %s; expected a string", path, shown);
        goto fail;
    }
    if (connection_set_key(out, key ? json_string_value(key) : "", key ? json_string_length(key) : 0)) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    connection_clear(out);
    return -1;
}

int connection_write(const char *path, const struct connection *c, char *err, size_t errlen)
{
    json_t *root = json_object();
    int rc = -1;
    if (!root)
        goto oom;
    if (json_object_set_new(root, "transport", json_string(c->transport)) ||
        json_object_set_new(root, "ip", json_string(c->ip)) ||
        json_object_set_new(root, "signature_scheme", json_string(c->signature_scheme)) ||
        json_object_set_new(root, "key", json_stringn(c->key ? c->key : "", c->key_len)))
        goto oom;
    for (int ch = 0; ch < CH_COUNT; ch++)
        if (json_object_set_new(root, port_fields[ch], json_integer(c->ports[ch])))
            goto oom;
    if (c->kernel_name[0] && json_object_set_new(root, "kernel_name", json_string(c->kernel_name)))
        goto oom;
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        goto oom;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot write connection file: %s", path, strerror(errno));
        free(text);
        goto out;
    }
    /* An existing file keeps its old mode through O_TRUNC: force 0600. */
    size_t len = strlen(text), done = 0;
    rc = fchmod(fd, 0600);
    while (rc == 0 && done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else
            done += (size_t)n;
    }
    if (rc != 0)
        snprintf(err, errlen, "%s: cannot write connection file: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0) {
        snprintf(err, errlen, "%s: cannot write connection file: %s", path, strerror(errno));
        rc = -1;
    }
    free(text);
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
out:
    json_decref(root);
    return rc;
}

int connection_generate_key(char out[65])
{
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

int connection_endpoint(const struct connection *c, enum channel ch, char *buf, size_t len)
{
    int n;
    if (strcmp(c->transport, "ipc") == 0)
        n = snprintf(buf, len, "ipc://%s-%d", c->ip, c->ports[ch]);
    else if (strchr(c->ip, ':'))
        n = snprintf(buf, len, "tcp://[%s]:%d", c->ip, c->ports[ch]);
    else
        n = snprintf(buf, len, "tcp://%s:%d", c->ip, c->ports[ch]);
    return n > 0 && (size_t)n < len ? 0 : -1;
}
