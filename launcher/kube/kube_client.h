/* kube_client.h — a small Kubernetes API client over libcurl: create, get, list,
 * delete, and watches that an event loop can drive.
 *
 * Requests are plain REST calls on paths built with kube_path(); bodies and
 * results are jansson values. TLS is always verified (the config's CA, or the
 * system store); the bearer token is re-read before every request so rotated
 * service-account tokens keep working.
 *
 * Errors: every call fills a kube_status. When the API server answered with a
 * Status object, `message` is its message verbatim ("pods is forbidden: User
 * \"x\" cannot create resource \"pods\" ...", a 422's field errors, "exceeded
 * quota: ..."), `reason` its reason ("Forbidden", "Invalid", "AlreadyExists",
 * "Conflict") and `code` the HTTP status. When no answer came (connection, TLS),
 * code is 0 and message says what curl saw. A kube_status is the API call's outcome, a
 * value callers branch on (404 gone, 409 conflict); kube_status_error turns it into the
 * launcher's error (launcher/sys/errmsg.h), the one place that does.
 *
 * Synchronous calls (create/get/list/delete) block for at most the client's
 * request timeout (default 30 s). Watches never block: see kube_watch_* below. */
#ifndef SPARK_K8S_KUBE_CLIENT_H
#define SPARK_K8S_KUBE_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/kube/kube_config.h"
#include "launcher/sys/errmsg.h"

struct kube_status {
    long code;           /* HTTP status; 0 when no response arrived */
    char reason[64];     /* Status.reason, e.g. "Forbidden"; "" when none */
    char message[2048];  /* Status.message verbatim, or a description of the failure */
    int nomem;           /* no answer because the client ran out of memory (code 0) */
};

struct kube_client;

/* ST as the launcher's error, in a person's words: "cannot WHAT: forbidden: ...",
 * "... the object is invalid: ...", "... quota exceeded: ...", else the API's message
 * with its HTTP status. Its kind: ERR_SYSTEM when no answer came (code 0), ERR_INPUT
 * for an invalid object (422), ERR_RUNTIME for any other refusal. Returns -1. */
int kube_status_error(const struct kube_status *st, const char *what, struct error *err);

/* ST as the launcher's error, in a person's words: "cannot WHAT: forbidden: ...",
 * "... the object is invalid: ...", "... quota exceeded: ...", else the API's message
 * with its HTTP status. Its kind: ERR_SYSTEM when no answer came (code 0), ERR_INPUT
 * for an invalid object (422), ERR_RUNTIME for any other refusal. Returns -1. */
int kube_status_error(const struct kube_status *st, const char *what, struct error *err);

/* A client for CFG. On success the client owns CFG (kube_client_free frees it);
 * on failure the caller still owns it. */
int kube_client_new(struct kube_config *cfg, struct kube_client **out, struct error *err);
void kube_client_free(struct kube_client *client);

const struct kube_config *kube_client_config(const struct kube_client *client);

/* Per-request limit for the synchronous calls, in milliseconds (default 30000). */
void kube_client_set_timeout(struct kube_client *client, long timeout_ms);

/* Build a REST path: GROUP_VERSION "v1" → /api/v1, "rbac.authorization.k8s.io/v1"
 * → /apis/rbac.authorization.k8s.io/v1; NAMESPACE and NAME may be NULL.
 * The namespace and name are percent-encoded. Returns 0, or -1 if it does not fit. */
int kube_path(char *buf, size_t size, const char *group_version, const char *namespace,
              const char *resource, const char *name);

/* POST OBJ to COLLECTION_PATH; *created (may be NULL to ignore) is the stored object. */
int kube_create(struct kube_client *client, const char *collection_path, const json_t *obj,
                json_t **created, struct kube_status *status);

/* GET PATH into *obj. */
int kube_get(struct kube_client *client, const char *path, json_t **obj,
             struct kube_status *status);

/* GET COLLECTION_PATH with optional label and field selectors into *list. */
int kube_list(struct kube_client *client, const char *collection_path, const char *label_selector,
              const char *field_selector, json_t **list, struct kube_status *status);

/* DELETE PATH with DeleteOptions propagationPolicy=Background.
 * Returns 0 deleted, 1 already gone (404), -1 error. */
int kube_delete(struct kube_client *client, const char *path, struct kube_status *status);
/* The same, only if the object is still the one with UID (preconditions.uid: a
 * newer object of the same name stays); a different uid answers 409. */
int kube_delete_uid(struct kube_client *client, const char *path, const char *uid,
                    struct kube_status *status);

/* ---- Watches ----------------------------------------------------------------
 *
 * A watch follows a collection (optionally narrowed by selectors) and yields
 * ADDED / MODIFIED / DELETED events in order. kube_watch_open lists the
 * collection first (its items arrive as ADDED events) and then streams from the
 * list's resourceVersion; BOOKMARKs only advance the resourceVersion.
 *
 * Resumption is internal: when the stream ends or drops, the watch reconnects
 * from the last resourceVersion it saw (immediately the first time, then with a
 * growing delay up to 5 s while the server keeps failing). When the server says
 * that version is gone (HTTP 410 or an ERROR event with code 410), the watch
 * lists again and emits the difference against what it had delivered: ADDED for
 * new objects, MODIFIED for changed ones, DELETED for vanished ones (with their
 * last known state). 401, 403 and 404 on the stream are fatal.
 *
 * Driving it from an event loop (zmq_poll takes plain fds in zmq_pollitem_t.fd):
 *
 *     for (;;) {
 *         struct kube_watch_fd fds[4]; size_t n; long timeout_ms;
 *         kube_watch_fds(w, fds, 4, &n, &timeout_ms);   // -1 = no deadline
 *         ... poll fds[i].fd for fds[i].events (POLLIN/POLLOUT) with your own
 *             sockets, for at most timeout_ms ...
 *         if (kube_watch_process(w, &st) < 0) fatal(st.message);   // always safe
 *         while (kube_watch_next(w, type, &obj) == 1) { use(obj); json_decref(obj); }
 *     }
 *
 * kube_watch_process never blocks on the stream; it may block for one list call
 * (bounded by the client's request timeout) when a 410 forces a re-list.
 * Events queued by kube_watch_open are available before the first process call.
 * The watch borrows the client: free the watch first. */

struct kube_watch;

struct kube_watch_fd {
    int fd;
    short events;   /* POLLIN and/or POLLOUT from <poll.h> */
};

int kube_watch_open(struct kube_client *client, const char *collection_path,
                    const char *label_selector, const char *field_selector,
                    struct kube_watch **out, struct kube_status *status);
void kube_watch_free(struct kube_watch *watch);

/* The descriptors to wait on now (at most CAP; *n set) and the longest wait in ms
 * before kube_watch_process must be called again (-1: none; 0: call it now). */
void kube_watch_fds(struct kube_watch *watch, struct kube_watch_fd *fds, size_t cap, size_t *n,
                    long *timeout_ms);

/* Move bytes, parse complete event lines, resume or re-list as needed.
 * Returns 0, or -1 with STATUS filled when the watch cannot continue. */
int kube_watch_process(struct kube_watch *watch, struct kube_status *status);

/* Pop the next event: returns 1 with TYPE ("ADDED", "MODIFIED", "DELETED") and a
 * new reference in *object, or 0 when none is queued. TYPE needs 16 bytes. */
int kube_watch_next(struct kube_watch *watch, char *type, json_t **object);

/* Counters for tests and logs: stream (re)connections after the first, and re-lists. */
void kube_watch_counts(const struct kube_watch *watch, unsigned *resumes, unsigned *relists);

#endif
