/* kube_client.c — Kubernetes REST calls and resumable watches over libcurl
 * (see kube_client.h). */
#include "launcher/kube/kube_client.h"
#include "launcher/sys/http.h"
#include "launcher/sys/errmsg.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "launcher/sys/buffer.h"
#include "launcher/sys/version.h"

#define KUBE_MAX_BODY (64u << 20)     /* a list of many pods stays far below this */
#define KUBE_MAX_ERROR_BODY (64u << 10)
#define KUBE_WATCH_SERVER_TIMEOUT_S 290
#define KUBE_WATCH_MAX_FDS 8
#define KUBE_WATCH_MAX_BACKOFF_MS 5000

struct kube_client {
    struct kube_config *cfg;
    long timeout_ms;
};

static void status_set(struct kube_status *st, long code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void status_set(struct kube_status *st, long code, const char *reason, const char *fmt, ...)
{
    st->code = code;
    st->nomem = 0;
    snprintf(st->reason, sizeof st->reason, "%s", reason);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->message, sizeof st->message, fmt, ap);
    va_end(ap);
}

static void status_nomem(struct kube_status *st)
{
    status_set(st, 0, "", "out of memory");
    st->nomem = 1;
}

int kube_status_error(const struct kube_status *st, const char *what, struct error *err)
{
    if (st->nomem) {
        error_nomem(err);
        return error_prefix(err, "cannot %s: ", what);
    }
    if (st->code == 0)
        return error_set(err, ERR_SYSTEM, "cannot %s: %s", what, st->message);
    if (st->code == 422)
        return error_set(err, ERR_INPUT, "cannot %s: the object is invalid: %s", what,
                         st->message);
    if (strstr(st->message, "exceeded quota")) /* the API's words: no reason tells quota */
        return error_set(err, ERR_RUNTIME, "cannot %s: quota exceeded: %s", what, st->message);
    if (st->code == 403)
        return error_set(err, ERR_RUNTIME, "cannot %s: forbidden: %s", what, st->message);
    return error_set(err, ERR_RUNTIME, "cannot %s: %s (HTTP %ld%s%s)", what, st->message,
                     st->code, st->reason[0] ? " " : "", st->reason);
}

static void status_clear(struct kube_status *st)
{
    st->code = 0;
    st->nomem = 0;
    st->reason[0] = '\0';
    st->message[0] = '\0';
}

/* Fill ST from an error response: a Status object when the server sent one,
 * otherwise the body's text. */
static void status_from_body(struct kube_status *st, long code, const char *body, size_t len)
{
    json_t *obj = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    if (kind && strcmp(kind, "Status") == 0) {
        const char *message = json_string_value(json_object_get(obj, "message"));
        const char *reason = json_string_value(json_object_get(obj, "reason"));
        if (message && message[0])
            status_set(st, code, reason ? reason : "", "%s", message);
        else if (reason && reason[0])
            status_set(st, code, reason, "%s", reason);
        else
            status_set(st, code, "", "HTTP %ld with a Status that says nothing", code);
    } else if (len) {
        status_set(st, code, "", "%.*s", (int)(len > 1024 ? 1024 : len), body);
        size_t n = strlen(st->message);
        while (n && (st->message[n - 1] == '\n' || st->message[n - 1] == '\r'))
            st->message[--n] = '\0';
        if (n == 0) /* a body of blank lines, or one that starts with a NUL byte */
            status_set(st, code, "", "HTTP %ld with a body that says nothing", code);
    } else {
        status_set(st, code, "", "HTTP %ld with an empty body", code);
    }
    json_decref(obj);
}

int kube_client_new(struct kube_config *cfg, struct kube_client **out, struct error *err)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        error_set(err, ERR_RUNTIME, "cannot initialise libcurl");
        return -1;
    }
    curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
    if (!(info->features & CURL_VERSION_SSL)) {
        error_set(err, ERR_RUNTIME, "libcurl %s has no TLS support", info->version);
        return -1;
    }
    struct kube_client *client = calloc(1, sizeof *client);
    if (!client) {
        error_nomem(err);
        return -1;
    }
    client->cfg = cfg;
    client->timeout_ms = 30000;
    *out = client;
    return 0;
}

void kube_client_free(struct kube_client *client)
{
    if (!client)
        return;
    kube_config_free(client->cfg);
    free(client);
}

const struct kube_config *kube_client_config(const struct kube_client *client)
{
    return client->cfg;
}

void kube_client_set_timeout(struct kube_client *client, long timeout_ms)
{
    client->timeout_ms = timeout_ms;
}

static int append_escaped(char *buf, size_t size, size_t *len, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        size_t need = plain ? 1 : 3;
        if (*len + need + 1 > size)
            return -1;
        if (plain) {
            buf[(*len)++] = (char)*p;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[*p >> 4];
            buf[(*len)++] = hex[*p & 15];
        }
    }
    buf[*len] = '\0';
    return 0;
}

static int append_raw(char *buf, size_t size, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > size)
        return -1;
    memcpy(buf + *len, text, n + 1);
    *len += n;
    return 0;
}

int kube_path(char *buf, size_t size, const char *group_version, const char *namespace,
              const char *resource, const char *name)
{
    size_t len = 0;
    if (size == 0)
        return -1;
    buf[0] = '\0';
    int core = strcmp(group_version, "v1") == 0;
    if (append_raw(buf, size, &len, core ? "/api/" : "/apis/") < 0 ||
        append_raw(buf, size, &len, group_version) < 0)
        return -1;
    if (namespace && (append_raw(buf, size, &len, "/namespaces/") < 0 ||
                      append_escaped(buf, size, &len, namespace) < 0))
        return -1;
    if (append_raw(buf, size, &len, "/") < 0 || append_escaped(buf, size, &len, resource) < 0)
        return -1;
    if (name && (append_raw(buf, size, &len, "/") < 0 || append_escaped(buf, size, &len, name) < 0))
        return -1;
    return 0;
}

/* A request's curl handle with its header list, both owned here. */
struct request {
    CURL *easy;
    struct curl_slist *headers;
    char *url;
    char errbuf[CURL_ERROR_SIZE];
};

static void request_free(struct request *req)
{
    if (req->easy)
        curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    free(req->url);
    req->easy = NULL;
    req->headers = NULL;
    req->url = NULL;
}

static int add_header(struct request *req, const char *line)
{
    struct curl_slist *list = curl_slist_append(req->headers, line);
    if (!list)
        return -1;
    req->headers = list;
    return 0;
}

/* Set up REQ for METHOD on the server's PATH_AND_QUERY with TLS and credentials. */
static int request_init(struct kube_client *client, struct request *req, const char *method,
                        const char *path_and_query, const char *body, struct kube_status *st)
{
    const struct kube_config *cfg = client->cfg;
    memset(req, 0, sizeof *req);
    size_t url_len = strlen(cfg->server) + strlen(path_and_query) + 1;
    req->url = malloc(url_len);
    req->easy = curl_easy_init();
    if (!req->url || !req->easy) {
        request_free(req);
        status_nomem(st);
        return -1;
    }
    snprintf(req->url, url_len, "%s%s", cfg->server, path_and_query);
    struct error token_err = {0};
    int failed = 0;
    char *token = kube_config_token(cfg, &failed, &token_err);
    if (failed) {
        request_free(req);
        status_set(st, 0, "", "%s: %s", cfg->source, token_err.text);
        return -1;
    }
    int bad = 0;
    if (token) {
        size_t n = strlen(token) + 32;
        char *auth = malloc(n);
        if (auth) {
            snprintf(auth, n, "Authorization: Bearer %s", token);
            bad |= add_header(req, auth);
            explicit_bzero(auth, n);
            free(auth);
        } else {
            bad = 1;
        }
        explicit_bzero(token, strlen(token));
        free(token);
    }
    bad |= add_header(req, "Accept: application/json");
    if (body)
        bad |= add_header(req, "Content-Type: application/json");
    if (bad) {
        request_free(req);
        status_nomem(st);
        return -1;
    }
    CURL *h = req->easy;
    CURLcode rc = CURLE_OK;
    HTTP_SETOPT(rc, h, CURLOPT_URL, req->url);
    HTTP_SETOPT(rc, h, CURLOPT_PROTOCOLS_STR, "https");
    HTTP_SETOPT(rc, h, CURLOPT_SSL_VERIFYPEER, 1L);
    HTTP_SETOPT(rc, h, CURLOPT_SSL_VERIFYHOST, 2L);
    HTTP_SETOPT(rc, h, CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(rc, h, CURLOPT_ERRORBUFFER, req->errbuf);
    HTTP_SETOPT(rc, h, CURLOPT_USERAGENT, "spark-k8s/" SPARK_K8S_VERSION);
    HTTP_SETOPT(rc, h, CURLOPT_HTTPHEADER, req->headers);
    HTTP_SETOPT(rc, h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    HTTP_SETOPT(rc, h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (cfg->ca.data) {
        struct curl_blob blob = {cfg->ca.data, cfg->ca.len, CURL_BLOB_COPY};
        HTTP_SETOPT(rc, h, CURLOPT_CAINFO_BLOB, &blob);
    }
    if (cfg->client_cert.data) {
        struct curl_blob cert = {cfg->client_cert.data, cfg->client_cert.len, CURL_BLOB_COPY};
        struct curl_blob key = {cfg->client_key.data, cfg->client_key.len, CURL_BLOB_COPY};
        HTTP_SETOPT(rc, h, CURLOPT_SSLCERT_BLOB, &cert);
        HTTP_SETOPT(rc, h, CURLOPT_SSLCERTTYPE, "PEM");
        HTTP_SETOPT(rc, h, CURLOPT_SSLKEY_BLOB, &key);
        HTTP_SETOPT(rc, h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (strcmp(method, "GET") != 0)
        HTTP_SETOPT(rc, h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        HTTP_SETOPT(rc, h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        HTTP_SETOPT(rc, h, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (rc != CURLE_OK) {
        status_set(st, 0, "", "%s %s: cannot set up the request: %s", method, req->url,
                   curl_easy_strerror(rc));
        request_free(req);
        return -1;
    }
    return 0;
}

/* One synchronous request. 2xx → *result (if RESULT) and 0; otherwise -1 and ST. */
static int request_run(struct kube_client *client, const char *method, const char *path_and_query,
                       const json_t *body_json, json_t **result, struct kube_status *st)
{
    status_clear(st);
    if (result)
        *result = NULL;
    char *body = NULL;
    if (body_json) {
        body = json_dumps(body_json, JSON_COMPACT);
        if (!body) {
            status_set(st, 0, "", "%s %s: cannot encode the request body", method,
                       path_and_query);
            return -1;
        }
    }
    struct request req;
    int rc = request_init(client, &req, method, path_and_query, body, st);
    free(body);
    if (rc < 0)
        return -1;
    struct buffer response = {.limit = KUBE_MAX_BODY};
    curl_easy_setopt(req.easy, CURLOPT_WRITEFUNCTION, buffer_curl_write);
    curl_easy_setopt(req.easy, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(req.easy, CURLOPT_TIMEOUT_MS, client->timeout_ms);
    CURLcode cc = curl_easy_perform(req.easy);
    long code = 0;
    curl_easy_getinfo(req.easy, CURLINFO_RESPONSE_CODE, &code);
    rc = -1;
    if (cc != CURLE_OK) {
        if (response.overflow)
            status_set(st, code, "", "%s %s: response larger than %u bytes", method, req.url,
                       KUBE_MAX_BODY);
        else
            status_set(st, 0, "", "%s %s: %s", method, req.url,
                       req.errbuf[0] ? req.errbuf : curl_easy_strerror(cc));
    } else if (code < 200 || code > 299) {
        status_from_body(st, code, response.data, response.len);
    } else {
        st->code = code;
        json_error_t jerr;
        json_t *value = response.len ? json_loadb(response.data, response.len, 0, &jerr) : NULL;
        if (!value) {
            status_set(st, code, "", "%s %s: response is not JSON", method, req.url);
        } else {
            if (result)
                *result = value;
            else
                json_decref(value);
            rc = 0;
        }
    }
    buffer_free(&response);
    request_free(&req);
    return rc;
}

int kube_create(struct kube_client *client, const char *collection_path, const json_t *obj,
                json_t **created, struct kube_status *status)
{
    return request_run(client, "POST", collection_path, obj, created, status);
}

int kube_get(struct kube_client *client, const char *path, json_t **obj,
             struct kube_status *status)
{
    return request_run(client, "GET", path, NULL, obj, status);
}

/* PATH plus a query of (name, value) pairs whose values are percent-encoded. */
static char *path_with_query(const char *path, const char *const *pairs, size_t npairs)
{
    size_t size = strlen(path) + 1;
    for (size_t i = 0; i < npairs; i++)
        if (pairs[2 * i + 1])
            size += strlen(pairs[2 * i]) + 2 + 3 * strlen(pairs[2 * i + 1]);
    char *out = malloc(size);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    append_raw(out, size, &len, path);
    int first = 1;
    for (size_t i = 0; i < npairs; i++) {
        if (!pairs[2 * i + 1])
            continue;
        append_raw(out, size, &len, first ? "?" : "&");
        append_raw(out, size, &len, pairs[2 * i]);
        append_raw(out, size, &len, "=");
        append_escaped(out, size, &len, pairs[2 * i + 1]);
        first = 0;
    }
    return out;
}

int kube_list(struct kube_client *client, const char *collection_path, const char *label_selector,
              const char *field_selector, json_t **list, struct kube_status *status)
{
    const char *pairs[] = {"labelSelector", label_selector, "fieldSelector", field_selector};
    char *path = path_with_query(collection_path, pairs, 2);
    if (!path) {
        status_nomem(status);
        return -1;
    }
    int rc = request_run(client, "GET", path, NULL, list, status);
    free(path);
    if (rc == 0 && !json_is_array(json_object_get(*list, "items"))) {
        json_decref(*list);
        *list = NULL;
        status_set(status, status->code, "", "GET %s: response has no items", collection_path);
        return -1;
    }
    return rc;
}

int kube_delete(struct kube_client *client, const char *path, struct kube_status *status)
{
    return kube_delete_uid(client, path, NULL, status);
}

int kube_delete_uid(struct kube_client *client, const char *path, const char *uid,
                    struct kube_status *status)
{
    json_t *options = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions",
                                "propagationPolicy", "Background");
    if (options && uid && json_object_set_new(options, "preconditions",
                                              json_pack("{s:s}", "uid", uid)) < 0) {
        json_decref(options);
        options = NULL;
    }
    if (!options) {
        status_nomem(status);
        return -1;
    }
    int rc = request_run(client, "DELETE", path, options, NULL, status);
    json_decref(options);
    if (rc < 0 && status->code == 404)
        return 1;
    return rc;
}

/* ---- Watches ---------------------------------------------------------------- */

struct kube_watch {
    struct kube_client *client;
    char *collection_path;
    char *label_selector;
    char *field_selector;
    char *resource_version;
    json_t *known;        /* key "namespace/name" → last delivered object */
    json_t *queue;        /* array of {"type", "object"} not yet taken */
    CURLM *multi;
    struct request req;   /* the streaming request, easy == NULL when none */
    struct buffer lines;  /* bytes of the current unfinished line */
    struct buffer error_body; /* body of a non-200 stream response */
    int need_relist;      /* a 410 arrived */
    int got_event;        /* this stream delivered something: reset the backoff */
    unsigned failures;    /* consecutive failed streams */
    long long retry_at_ms;/* when to start the next stream; 0 = not waiting */
    long long started_ms; /* when the current stream started */
    unsigned resumes, relists;
    int streams;          /* streams started so far */
    struct kube_watch_fd fds[KUBE_WATCH_MAX_FDS];
    size_t nfds;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_string(char **dst, const char *src)
{
    char *copy = src ? strdup(src) : NULL;
    if (src && !copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

static int object_key(const json_t *obj, char *key, size_t size)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    if (!name)
        return -1;
    snprintf(key, size, "%s/%s", ns ? ns : "", name);
    return 0;
}

static int enqueue(struct kube_watch *w, const char *type, json_t *object)
{
    return json_array_append_new(w->queue, json_pack("{s:s, s:O}", "type", type, "object", object));
}

/* Record and queue one event from the stream. */
static void handle_event(struct kube_watch *w, json_t *event)
{
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *object = json_object_get(event, "object");
    if (!type || !json_is_object(object))
        return;
    if (strcmp(type, "ERROR") == 0) {
        /* 410 Gone means our resourceVersion is too old; anything else also
         * leaves us unsure what we missed, so both re-list. */
        w->need_relist = 1;
        return;
    }
    const char *rv =
        json_string_value(json_object_get(json_object_get(object, "metadata"), "resourceVersion"));
    if (rv && rv[0])
        set_string(&w->resource_version, rv);
    w->got_event = 1;
    /* Only the three kinds the header promises reach the caller: anything else
     * (a BOOKMARK, or a type this client does not know) just moves the version. */
    if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 &&
        strcmp(type, "DELETED") != 0)
        return;
    char key[512];
    if (object_key(object, key, sizeof key) < 0)
        return;
    if (strcmp(type, "DELETED") == 0)
        json_object_del(w->known, key);
    else
        json_object_set(w->known, key, object);
    enqueue(w, type, object);
}

/* N bytes of a 200 stream: split into event lines (a line may span calls) and
 * handle each. -1 when a line passes the limit. No I/O: the fuzzer drives it. */
static int watch_take(struct kube_watch *w, const char *ptr, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] != '\n')
            continue;
        if (buffer_append(&w->lines, ptr + start, i - start) < 0)
            return -1;
        if (w->lines.len) {
            json_t *event = json_loadb(w->lines.data, w->lines.len, 0, NULL);
            if (event)
                handle_event(w, event);
            json_decref(event);
        }
        w->lines.len = 0;
        start = i + 1;
    }
    if (start < n && buffer_append(&w->lines, ptr + start, n - start) < 0)
        return -1;
    return 0;
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct kube_watch *w = userdata;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        if (w->error_body.len + n <= w->error_body.limit)
            buffer_append(&w->error_body, ptr, n);
        return n;
    }
    /* a line beyond the limit: fail the transfer, resume */
    return watch_take(w, ptr, n) < 0 ? 0 : n;
}

static int watch_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    (void)socketp;
    struct kube_watch *w = userp;
    size_t i = 0;
    while (i < w->nfds && w->fds[i].fd != (int)s)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < w->nfds)
            w->fds[i] = w->fds[--w->nfds];
        return 0;
    }
    if (i == w->nfds) {
        if (w->nfds == KUBE_WATCH_MAX_FDS)
            return -1;
        w->nfds++;
    }
    w->fds[i].fd = (int)s;
    w->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
                               ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

static void stream_stop(struct kube_watch *w)
{
    if (w->req.easy) {
        curl_multi_remove_handle(w->multi, w->req.easy);
        request_free(&w->req);
    }
    w->lines.len = 0;
    w->error_body.len = 0;
}

static int stream_start(struct kube_watch *w, struct kube_status *st)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", KUBE_WATCH_SERVER_TIMEOUT_S);
    const char *pairs[] = {"watch",          "1",
                           "resourceVersion", w->resource_version,
                           "allowWatchBookmarks", "true",
                           "timeoutSeconds", timeout,
                           "labelSelector",  w->label_selector,
                           "fieldSelector",  w->field_selector};
    char *path = path_with_query(w->collection_path, pairs, 6);
    if (!path) {
        status_nomem(st);
        return -1;
    }
    int rc = request_init(w->client, &w->req, "GET", path, NULL, st);
    free(path);
    if (rc < 0)
        return -1;
    curl_easy_setopt(w->req.easy, CURLOPT_WRITEFUNCTION, watch_write);
    curl_easy_setopt(w->req.easy, CURLOPT_WRITEDATA, w);
    /* The server ends the watch after timeoutSeconds; a connection silent much
     * longer than that is dead. */
    curl_easy_setopt(w->req.easy, CURLOPT_TIMEOUT_MS,
                     (long)(KUBE_WATCH_SERVER_TIMEOUT_S + 30) * 1000L);
    if (curl_multi_add_handle(w->multi, w->req.easy) != CURLM_OK) {
        request_free(&w->req);
        status_set(st, 0, "", "cannot add the watch to the curl multi handle");
        return -1;
    }
    if (w->streams++ > 0)
        w->resumes++;
    w->got_event = 0;
    w->retry_at_ms = 0;
    w->started_ms = now_ms();
    return 0;
}

/* List the collection, queue the difference against what was delivered, and
 * take the list's resourceVersion. */
static void relist_take(struct kube_watch *w, json_t *list);

static int relist(struct kube_watch *w, struct kube_status *st)
{
    json_t *list = NULL;
    if (kube_list(w->client, w->collection_path, w->label_selector, w->field_selector, &list, st) <
        0)
        return -1;
    relist_take(w, list);
    json_decref(list);
    w->need_relist = 0;
    return 0;
}

/* The difference between LIST and what was delivered, queued; the list's
 * resourceVersion taken. No I/O: the fuzzer drives it. */
static void relist_take(struct kube_watch *w, json_t *list)
{
    json_t *seen = json_object();
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item) {
        char key[512];
        if (object_key(item, key, sizeof key) < 0)
            continue;
        json_object_set_new(seen, key, json_true());
        json_t *old = json_object_get(w->known, key);
        const char *old_rv = json_string_value(
            json_object_get(json_object_get(old, "metadata"), "resourceVersion"));
        const char *new_rv = json_string_value(
            json_object_get(json_object_get(item, "metadata"), "resourceVersion"));
        if (!old)
            enqueue(w, "ADDED", item);
        else if (!old_rv || !new_rv || strcmp(old_rv, new_rv) != 0)
            enqueue(w, "MODIFIED", item);
        json_object_set(w->known, key, item);
    }
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(w->known, tmp, key, value) {
        if (!json_object_get(seen, key)) {
            enqueue(w, "DELETED", value);
            json_object_del(w->known, key);
        }
    }
    json_decref(seen);
    const char *rv =
        json_string_value(json_object_get(json_object_get(list, "metadata"), "resourceVersion"));
    set_string(&w->resource_version, rv && rv[0] ? rv : NULL);
}

void kube_watch_free(struct kube_watch *w)
{
    if (!w)
        return;
    stream_stop(w);
    if (w->multi)
        curl_multi_cleanup(w->multi);
    buffer_free(&w->lines);
    buffer_free(&w->error_body);
    free(w->collection_path);
    free(w->label_selector);
    free(w->field_selector);
    free(w->resource_version);
    json_decref(w->known);
    json_decref(w->queue);
    free(w);
}

int kube_watch_open(struct kube_client *client, const char *collection_path,
                    const char *label_selector, const char *field_selector,
                    struct kube_watch **out, struct kube_status *status)
{
    *out = NULL;
    status_clear(status);
    struct kube_watch *w = calloc(1, sizeof *w);
    if (!w) {
        status_nomem(status);
        return -1;
    }
    w->client = client;
    w->lines.limit = KUBE_MAX_BODY;
    w->error_body.limit = KUBE_MAX_ERROR_BODY;
    w->known = json_object();
    w->queue = json_array();
    w->multi = curl_multi_init();
    if (!w->known || !w->queue || !w->multi || set_string(&w->collection_path, collection_path) ||
        set_string(&w->label_selector, label_selector) ||
        set_string(&w->field_selector, field_selector)) {
        kube_watch_free(w);
        status_nomem(status);
        return -1;
    }
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, watch_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    if (relist(w, status) < 0 || stream_start(w, status) < 0) {
        kube_watch_free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void kube_watch_fds(struct kube_watch *w, struct kube_watch_fd *fds, size_t cap, size_t *n,
                    long *timeout_ms)
{
    *n = 0;
    *timeout_ms = -1;
    if (w->req.easy) {
        for (size_t i = 0; i < w->nfds && *n < cap; i++)
            fds[(*n)++] = w->fds[i];
        long t = -1;
        if (curl_multi_timeout(w->multi, &t) == CURLM_OK)
            *timeout_ms = t;
    } else if (w->retry_at_ms) {
        long long left = w->retry_at_ms - now_ms();
        *timeout_ms = left > 0 ? (long)left : 0;
    }
    if (json_array_size(w->queue) > 0)
        *timeout_ms = 0;
}

/* Let curl move bytes on every socket it watches (0: it finds out what is ready
 * without blocking) and run its timers. The socket API rather than
 * curl_multi_perform, because only the socket API reports which fds to poll. */
static void drive(struct kube_watch *w)
{
    struct kube_watch_fd fds[KUBE_WATCH_MAX_FDS];
    size_t n = w->nfds;
    memcpy(fds, w->fds, n * sizeof fds[0]);
    int running = 0;
    for (size_t i = 0; i < n; i++)
        curl_multi_socket_action(w->multi, fds[i].fd, 0, &running);
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

/* The stream finished: decide between resume, re-list and giving up. */
static int stream_finished(struct kube_watch *w, CURLcode result, struct kube_status *st)
{
    long code = 0;
    curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &code);
    struct kube_status stream_status;
    status_clear(&stream_status);
    if (code != 200 && code != 0)
        status_from_body(&stream_status, code, w->error_body.data, w->error_body.len);
    stream_stop(w);
    if (code == 401 || code == 403 || code == 404) {
        *st = stream_status;
        return -1;
    }
    if (code == 410)
        w->need_relist = 1;
    /* A stream that ends cleanly after a while is the server's timeout; one that
     * ends at once without events is a failure, or we would spin. */
    int healthy = result == CURLE_OK && code == 200 && now_ms() - w->started_ms >= 1000;
    if (w->got_event || healthy)
        w->failures = 0;
    else
        w->failures++;
    if (w->failures == 0 || w->need_relist) {
        w->retry_at_ms = now_ms(); /* resume at once */
    } else {
        long delay = 100L << (w->failures > 6 ? 6 : w->failures - 1);
        if (delay > KUBE_WATCH_MAX_BACKOFF_MS)
            delay = KUBE_WATCH_MAX_BACKOFF_MS;
        w->retry_at_ms = now_ms() + delay;
    }
    return 0;
}

int kube_watch_process(struct kube_watch *w, struct kube_status *st)
{
    status_clear(st);
    if (w->req.easy) {
        drive(w);
        int left = 0;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(w->multi, &left))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->req.easy) {
                if (stream_finished(w, msg->data.result, st) < 0)
                    return -1;
                break;
            }
        }
    }
    if (!w->req.easy && w->retry_at_ms && now_ms() >= w->retry_at_ms) {
        if (w->need_relist) {
            if (relist(w, st) < 0) {
                if (st->code == 401 || st->code == 403 || st->code == 404)
                    return -1;
                w->failures++;
                w->retry_at_ms = now_ms() + KUBE_WATCH_MAX_BACKOFF_MS;
                return 0;
            }
            w->relists++;
        }
        if (stream_start(w, st) < 0)
            return -1;
        /* Let curl start connecting now; its sockets appear in kube_watch_fds. */
        int running = 0;
        curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return 0;
}

int kube_watch_next(struct kube_watch *w, char *type, json_t **object)
{
    *object = NULL;
    if (json_array_size(w->queue) == 0)
        return 0;
    json_t *event = json_array_get(w->queue, 0);
    snprintf(type, 16, "%s", json_string_value(json_object_get(event, "type")));
    *object = json_incref(json_object_get(event, "object"));
    json_array_remove(w->queue, 0);
    return 1;
}

void kube_watch_counts(const struct kube_watch *w, unsigned *resumes, unsigned *relists)
{
    *resumes = w->resumes;
    *relists = w->relists;
}
