/* kube_config.c — reads in-cluster service account files and kubeconfig files
 * into a kube_config (see kube_config.h). */
#include "launcher/kube/kube_config.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/sys/textfile.h"
#include "launcher/sys/yaml_json.h"

#define KUBE_CONFIG_MAX_FILE (1u << 20)
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

void kube_config_free(struct kube_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->source);
    free(cfg->context);
    free(cfg->user);
    free(cfg->server);
    free(cfg->namespace);
    if (cfg->token)
        explicit_bzero(cfg->token, strlen(cfg->token));
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->ca.data);
    free(cfg->client_cert.data);
    if (cfg->client_key.data)
        explicit_bzero(cfg->client_key.data, cfg->client_key.len);
    free(cfg->client_key.data);
    free(cfg);
}

/* Read a whole file (≤ 1 MiB) into a NUL-terminated buffer. */
static int read_file(const char *path, struct kube_blob *out, struct error *err)
{
    return textfile_read(path, KUBE_CONFIG_MAX_FILE, &out->data, &out->len, err);
}

/* Strip trailing whitespace (tokens files often end with a newline). */
static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
}

static int read_token(const char *path, char **out, struct error *err)
{
    struct kube_blob blob;
    if (read_file(path, &blob, err) < 0)
        return -1;
    trim_right(blob.data);
    if (blob.data[0] == '\0') {
        free(blob.data);
        error_set(err, ERR_INPUT, "%s: token is empty", path);
        return -1;
    }
    for (const char *p = blob.data; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            explicit_bzero(blob.data, blob.len);
            free(blob.data);
            error_set(err, ERR_INPUT, "%s: token contains whitespace or control characters", path);
            return -1;
        }
    *out = blob.data;
    return 0;
}

char *kube_config_token(const struct kube_config *cfg, int *failed, struct error *err)
{
    *failed = 0;
    if (cfg->token_file) {
        char *token = NULL;
        if (read_token(cfg->token_file, &token, err) < 0) {
            *failed = 1;
            return NULL;
        }
        return token;
    }
    if (cfg->token) {
        char *copy = strdup(cfg->token);
        if (!copy) {
            *failed = 1;
            error_nomem(err);
        }
        return copy;
    }
    return NULL;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 (whitespace ignored, padding optional) → bytes. */
static int base64_decode(const char *text, struct kube_blob *out)
{
    size_t n = strlen(text);
    char *buf = malloc(n / 4 * 3 + 4);
    if (!buf)
        return -1;
    size_t len = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    for (const char *p = text; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
            continue;
        if (*p == '=') {
            pad++;
            continue;
        }
        int v = b64_value((unsigned char)*p);
        if (v < 0 || pad) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6) {
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    out->data = buf;
    out->len = len;
    return 0;
}

static int copy_string(char **dst, const char *src, struct error *err)
{
    *dst = strdup(src);
    if (!*dst) {
        error_nomem(err);
        return -1;
    }
    return 0;
}

/* PATH relative to the kubeconfig's own directory, as kubectl resolves it. */
static char *resolve_path(const char *kubeconfig, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    const char *slash = strrchr(kubeconfig, '/');
    size_t dir_len = slash ? (size_t)(slash - kubeconfig) : 1;
    const char *dir = slash ? kubeconfig : ".";
    size_t n = dir_len + 1 + strlen(path) + 1;
    char *full = malloc(n);
    if (full)
        snprintf(full, n, "%.*s/%s", (int)dir_len, dir, path);
    return full;
}

/* Find the entry named NAME in the kubeconfig list LIST ("clusters", ...). */
static json_t *named_entry(json_t *doc, const char *list, const char *name, const char *inner)
{
    json_t *array = json_object_get(doc, list);
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        const char *item_name = json_string_value(json_object_get(item, "name"));
        if (item_name && strcmp(item_name, name) == 0)
            return json_object_get(item, inner);
    }
    return NULL;
}

/* An optional string field: NULL when absent; -1 when present with another type. */
static int opt_string(json_t *obj, const char *field, const char **out, const char *path,
                      const char *where, struct error *err)
{
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        error_set(err, ERR_INPUT, "%s: %s: field '%s' must be a string", path, where, field);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

/* A PEM blob from FILE_FIELD (path) or DATA_FIELD (base64). Neither → {NULL,0}. */
static int load_pem(json_t *obj, const char *file_field, const char *data_field, const char *path,
                    const char *where, struct kube_blob *out, struct error *err)
{
    const char *file = NULL, *data = NULL;
    if (opt_string(obj, file_field, &file, path, where, err) < 0 ||
        opt_string(obj, data_field, &data, path, where, err) < 0)
        return -1;
    if (data && data[0]) {
        if (base64_decode(data, out) < 0 || out->len == 0) {
            error_set(err, ERR_INPUT, "%s: %s: field '%s' is not valid base64", path, where,
                      data_field);
            return -1;
        }
        return 0;
    }
    if (file && file[0]) {
        char *full = resolve_path(path, file);
        if (!full) {
            error_nomem(err);
            return -1;
        }
        int rc = read_file(full, out, err);
        if (rc < 0)
            error_prefix(err, "%s: %s: field '%s': ", path, where, file_field);
        free(full);
        return rc;
    }
    return 0;
}

static int check_server(const char *server, const char *path, const char *where, struct error *err)
{
    if (strncmp(server, "https://", 8) != 0 || server[8] == '\0') {
        error_set(err, ERR_INPUT, "%s: %s: server '%s' must be an https:// URL (TLS is required)",
                  path, where, server);
        return -1;
    }
    for (const char *p = server; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '?' || *p == '#') {
            error_set(err, ERR_INPUT, "%s: %s: server '%s' is not a plain URL", path, where, server);
            return -1;
        }
    return 0;
}

static void strip_trailing_slash(char *s)
{
    size_t n = strlen(s);
    while (n > 8 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* The context CONTEXT_NAME (NULL: current-context): its cluster and user names and its
 * namespace (default "default") into CFG. */
static int parse_context(const char *path, json_t *doc, const char *context_name,
                         const char **cluster_name, const char **user_name,
                         struct kube_config *cfg, struct error *err)
{
    if (!context_name) {
        if (opt_string(doc, "current-context", &context_name, path, "top level", err) < 0)
            return -1;
        if (!context_name || !context_name[0])
            return error_set(err, ERR_INPUT, "%s: no current-context set", path);
    }
    if (copy_string(&cfg->context, context_name, err) < 0)
        return -1;
    json_t *context = named_entry(doc, "contexts", context_name, "context");
    if (!json_is_object(context))
        return error_set(err, ERR_INPUT, "%s: context '%s' not found", path, context_name);
    char where[300];
    snprintf(where, sizeof where, "context '%s'", context_name);
    const char *ns = NULL;
    if (opt_string(context, "cluster", cluster_name, path, where, err) < 0 ||
        opt_string(context, "user", user_name, path, where, err) < 0 ||
        opt_string(context, "namespace", &ns, path, where, err) < 0)
        return -1;
    if (!*cluster_name || !(*cluster_name)[0])
        return error_set(err, ERR_INPUT, "%s: %s: field 'cluster' is missing", path, where);
    return copy_string(&cfg->namespace, ns && ns[0] ? ns : "default", err);
}

/* The cluster CLUSTER_NAME: its server (a plain https URL) and CA into CFG. */
static int parse_cluster(const char *path, json_t *doc, const char *cluster_name,
                         struct kube_config *cfg, struct error *err)
{
    json_t *cluster = named_entry(doc, "clusters", cluster_name, "cluster");
    char where[300];
    snprintf(where, sizeof where, "cluster '%s'", cluster_name);
    if (!json_is_object(cluster))
        return error_set(err, ERR_INPUT, "%s: %s not found", path, where);
    const char *server = NULL;
    if (opt_string(cluster, "server", &server, path, where, err) < 0)
        return -1;
    if (!server || !server[0])
        return error_set(err, ERR_INPUT, "%s: %s: field 'server' is missing", path, where);
    if (check_server(server, path, where, err) < 0)
        return -1;
    if (json_is_true(json_object_get(cluster, "insecure-skip-tls-verify")))
        return error_set(err, ERR_INPUT,
                         "%s: %s: insecure-skip-tls-verify is not supported (TLS is always "
                         "verified); set certificate-authority or certificate-authority-data",
                         path, where);
    if (copy_string(&cfg->server, server, err) < 0)
        return -1;
    strip_trailing_slash(cfg->server);
    return load_pem(cluster, "certificate-authority", "certificate-authority-data", path, where,
                    &cfg->ca, err);
}

/* The user's token, or token file (read once to check it), into CFG. */
static int parse_token(const char *path, const char *where, json_t *user,
                       struct kube_config *cfg, struct error *err)
{
    const char *token = NULL, *token_file = NULL;
    if (opt_string(user, "token", &token, path, where, err) < 0 ||
        opt_string(user, "tokenFile", &token_file, path, where, err) < 0)
        return -1;
    if (token && token[0]) {
        /* It goes into an HTTP header: a space, CR or LF would end or split it. */
        for (const char *p = token; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                return error_set(err, ERR_INPUT,
                                 "%s: %s: field 'token' contains whitespace or control "
                                 "characters", path, where);
        return copy_string(&cfg->token, token, err);
    }
    if (!token_file || !token_file[0])
        return 0;
    cfg->token_file = resolve_path(path, token_file);
    if (!cfg->token_file)
        return error_nomem(err);
    char *probe = NULL;
    if (read_token(cfg->token_file, &probe, err) < 0)
        return error_prefix(err, "%s: %s: field 'tokenFile': ", path, where);
    explicit_bzero(probe, strlen(probe));
    free(probe);
    return 0;
}

/* The user USER_NAME: a token or token file, or a client certificate and key. */
static int parse_user(const char *path, json_t *doc, const char *user_name,
                      struct kube_config *cfg, struct error *err)
{
    if (copy_string(&cfg->user, user_name, err) < 0)
        return -1;
    json_t *user = named_entry(doc, "users", user_name, "user");
    char where[300];
    snprintf(where, sizeof where, "user '%s'", user_name);
    if (!user)
        return error_set(err, ERR_INPUT, "%s: %s not found", path, where);
    if (json_is_null(user))
        return 0;
    if (!json_is_object(user))
        return error_set(err, ERR_INPUT, "%s: %s: expected a mapping", path, where);
    static const char *const unsupported[] = {"exec", "auth-provider", "username", "password",
                                              NULL};
    for (size_t i = 0; unsupported[i]; i++) {
        json_t *v = json_object_get(user, unsupported[i]);
        if (v && !json_is_null(v))
            return error_set(err, ERR_INPUT,
                             "unsupported auth method '%s' in kubeconfig %s user %s "
                             "(use a token, tokenFile or client certificate)",
                             unsupported[i], path, user_name);
    }
    if (parse_token(path, where, user, cfg, err) < 0 ||
        load_pem(user, "client-certificate", "client-certificate-data", path, where,
                 &cfg->client_cert, err) < 0 ||
        load_pem(user, "client-key", "client-key-data", path, where, &cfg->client_key, err) < 0)
        return -1;
    if (!cfg->client_cert.data != !cfg->client_key.data)
        return error_set(err, ERR_INPUT, "%s: %s: %s is set without %s", path, where,
                         cfg->client_cert.data ? "client-certificate" : "client-key",
                         cfg->client_cert.data ? "client-key" : "client-certificate");
    return 0;
}

static int parse_kubeconfig(const char *path, json_t *doc, const char *context_name,
                            struct kube_config *cfg, struct error *err)
{
    if (!json_is_object(doc))
        return error_set(err, ERR_INPUT, "%s: not a kubeconfig (expected a mapping)", path);
    const char *cluster_name = NULL, *user_name = NULL;
    if (parse_context(path, doc, context_name, &cluster_name, &user_name, cfg, err) < 0 ||
        parse_cluster(path, doc, cluster_name, cfg, err) < 0)
        return -1;
    if (!user_name || !user_name[0]) /* no credentials: anonymous, allowed */
        return 0;
    return parse_user(path, doc, user_name, cfg, err);
}

int kube_config_load_kubeconfig(const char *path, const char *context, struct kube_config **out,
                                struct error *err)
{
    *out = NULL;
    json_t *doc = NULL;
    if (yaml_json_load_file(path, &doc, err) < 0)
        return -1;
    struct kube_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        json_decref(doc);
        error_nomem(err);
        return -1;
    }
    int rc = copy_string(&cfg->source, path, err);
    if (rc == 0)
        rc = parse_kubeconfig(path, doc, context, cfg, err);
    json_decref(doc);
    if (rc < 0) {
        kube_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int kube_config_load_incluster(const char *host, const char *port, const char *sa_dir,
                               struct kube_config **out, struct error *err)
{
    *out = NULL;
    if (!host || !host[0]) {
        error_set(err, ERR_INPUT, "in-cluster: KUBERNETES_SERVICE_HOST is not set");
        return -1;
    }
    if (!port || !port[0])
        port = "443";
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9') {
            error_set(err, ERR_INPUT, "in-cluster: KUBERNETES_SERVICE_PORT '%s' is not a number", port);
            return -1;
        }
    for (const char *p = host; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '/' || *p == '@' || *p == '?' || *p == '#') {
            error_set(err, ERR_INPUT, "in-cluster: KUBERNETES_SERVICE_HOST '%s' is not a host", host);
            return -1;
        }
    struct kube_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        error_nomem(err);
        return -1;
    }
    cfg->in_cluster = 1;
    size_t n = strlen(sa_dir) + 32;
    cfg->source = malloc(n);
    size_t server_len = strlen(host) + strlen(port) + 16;
    cfg->server = malloc(server_len);
    cfg->token_file = join_path(sa_dir, "token");
    char *ca_path = join_path(sa_dir, "ca.crt");
    char *ns_path = join_path(sa_dir, "namespace");
    int rc = -1;
    if (!cfg->source || !cfg->server || !cfg->token_file || !ca_path || !ns_path) {
        error_nomem(err);
        goto done;
    }
    snprintf(cfg->source, n, "in-cluster (%s)", sa_dir);
    /* An IPv6 literal needs brackets in a URL. */
    if (strchr(host, ':') && host[0] != '[')
        snprintf(cfg->server, server_len, "https://[%s]:%s", host, port);
    else
        snprintf(cfg->server, server_len, "https://%s:%s", host, port);
    char *probe = NULL;
    if (read_token(cfg->token_file, &probe, err) < 0)
        goto done;
    explicit_bzero(probe, strlen(probe));
    free(probe);
    if (read_file(ca_path, &cfg->ca, err) < 0)
        goto done;
    struct kube_blob ns = {0};
    if (read_file(ns_path, &ns, NULL) == 0) {
        trim_right(ns.data);
        if (ns.data[0])
            cfg->namespace = ns.data;
        else
            free(ns.data);
    }
    if (!cfg->namespace && copy_string(&cfg->namespace, "default", err) < 0)
        goto done;
    rc = 0;
done:
    free(ca_path);
    free(ns_path);
    if (rc < 0)
        kube_config_free(cfg);
    else
        *out = cfg;
    return rc;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int kube_config_load_default(struct kube_config **out, struct error *err)
{
    *out = NULL;
    const char *kubeconfig = getenv("KUBECONFIG");
    if (kubeconfig && kubeconfig[0]) {
        char *list = strdup(kubeconfig);
        if (!list) {
            error_nomem(err);
            return -1;
        }
        char *save = NULL;
        for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
            if (file_exists(p)) {
                int rc = kube_config_load_kubeconfig(p, NULL, out, err);
                free(list);
                return rc;
            }
        }
        free(list);
        error_set(err, ERR_INPUT, "KUBECONFIG '%s': no such file", kubeconfig);
        return -1;
    }
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    if (host && host[0]) {
        const char *sa_dir = getenv("SPARK_K8S_SA_DIR");
        return kube_config_load_incluster(host, getenv("KUBERNETES_SERVICE_PORT"),
                                          sa_dir && sa_dir[0] ? sa_dir : KUBE_SA_DIR, out, err);
    }
    const char *home = getenv("HOME");
    if (!home || !home[0]) {
        error_set(err, ERR_INPUT,
               "no Kubernetes configuration: KUBECONFIG, KUBERNETES_SERVICE_HOST and HOME are unset");
        return -1;
    }
    size_t n = strlen(home) + 32;
    char *path = malloc(n);
    if (!path) {
        error_nomem(err);
        return -1;
    }
    snprintf(path, n, "%s/.kube/config", home);
    if (!file_exists(path)) {
        error_set(err, ERR_INPUT,
                  "no Kubernetes configuration: %s does not exist, and KUBECONFIG and "
                  "KUBERNETES_SERVICE_HOST are unset",
                  path);
        free(path);
        return -1;
    }
    int rc = kube_config_load_kubeconfig(path, NULL, out, err);
    free(path);
    return rc;
}
