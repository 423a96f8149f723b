/* fuzz_kube_api.c — libFuzzer harness for what the API server sends back.
 *
 * Includes launcher/kube/kube_client.c to reach its decoding without a network.
 * Byte 0 of the input picks what the rest is:
 *   0: an error response body (Status object or text), with byte 1 as the HTTP
 *      status: status_from_body must fill a terminated message and reason;
 *   1: the bytes of a watch stream, cut into chunks at the offsets bytes 1-2 give:
 *      every event taken out is ADDED, MODIFIED or DELETED with an object;
 *   2: a List, taken twice as a re-list: the second adds and deletes nothing;
 *   3: a Pod or an Event object as the kubernetes runtime reads it (its start's
 *      progress and its end's reason; fuzz_kube_pod.c), byte 1 the watch type. */
#include "launcher/kube/kube_client.c"

#include <stdint.h>

#include "tests/fuzz/fuzz_util.h"

void fuzz_kube_pod(int kind, const uint8_t *data, size_t size);

static void fuzz_status(long code, const uint8_t *data, size_t size)
{
    struct kube_status st;
    status_from_body(&st, code, (const char *)data, size);
    fuzz_check(st.code == code, "code kept");
    fuzz_check(memchr(st.message, 0, sizeof st.message) && memchr(st.reason, 0, sizeof st.reason),
               "terminated");
    json_t *obj = size ? json_loadb((const char *)data, size, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    size_t n = strlen(st.message);
    if (!(kind && strcmp(kind, "Status") == 0))
        fuzz_check(n == 0 || (st.message[n - 1] != '\n' && st.message[n - 1] != '\r'),
                   "no trailing newline from a text body");
    fuzz_check(n > 0, "a message, even for an empty body");
    json_decref(obj);
}

static struct kube_watch *watch_new(void)
{
    struct kube_watch *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->lines.limit = 1u << 20;
    w->error_body.limit = KUBE_MAX_ERROR_BODY;
    w->known = json_object();
    w->queue = json_array();
    return w;
}

static void drain_events(struct kube_watch *w)
{
    char type[16];
    json_t *obj;
    while (kube_watch_next(w, type, &obj) == 1) {
        fuzz_check(strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
                       strcmp(type, "DELETED") == 0,
                   "event type");
        fuzz_check(json_is_object(obj), "event object");
        json_decref(obj);
    }
}

static void fuzz_stream(const uint8_t *cuts, const uint8_t *data, size_t size)
{
    struct kube_watch *w = watch_new();
    size_t a = size ? cuts[0] % (size + 1) : 0, b = size ? cuts[1] % (size + 1) : 0;
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
    }
    if (watch_take(w, (const char *)data, a) == 0 &&
        watch_take(w, (const char *)data + a, b - a) == 0)
        watch_take(w, (const char *)data + b, size - b);
    drain_events(w);
    fuzz_check(!w->resource_version || w->resource_version[0], "resourceVersion not empty");
    kube_watch_free(w);
}

static void fuzz_relist(const uint8_t *data, size_t size)
{
    json_t *list = json_loadb((const char *)data, size, 0, NULL);
    if (!list)
        return;
    struct kube_watch *w = watch_new();
    relist_take(w, list);
    drain_events(w);
    relist_take(w, list);
    char type[16];
    json_t *obj;
    while (kube_watch_next(w, type, &obj) == 1) {
        fuzz_check(strcmp(type, "MODIFIED") == 0, "the same list again adds and deletes nothing");
        json_decref(obj);
    }
    kube_watch_free(w);
    json_decref(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    switch (data[0] % 4) {
    case 0:
        fuzz_status(data[1] + 300, data + 3, size - 3);
        break;
    case 1:
        fuzz_stream(data + 1, data + 3, size - 3);
        break;
    case 2:
        fuzz_relist(data + 3, size - 3);
        break;
    default:
        fuzz_kube_pod(data[1], data + 3, size - 3);
        break;
    }
    return 0;
}
