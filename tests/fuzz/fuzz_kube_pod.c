/* fuzz_kube_pod.c — the kubernetes runtime's reading of Pod and Event objects,
 * for fuzz_kube_api.c.
 *
 * Includes launcher/runtime/runtime_kube.c to reach on_pod and on_event, with the
 * proxy replaced by stubs that only count: a kernel already attached to its
 * pod, whose objects arrive as watch events. Checks: an end is reported at most
 * once and says why in one line; progress lines are one line each. */
#include "launcher/runtime/runtime_kube.c"

#include <stdint.h>

#include "tests/fuzz/fuzz_util.h"

static int ready, shutdown_asked, exits;

void proxy_set_alive(struct proxy *p, int alive)
{
    (void)p;
    (void)alive;
}
int proxy_ready(const struct proxy *p)
{
    (void)p;
    return ready;
}
int proxy_shutdown_requested(const struct proxy *p)
{
    (void)p;
    return shutdown_asked;
}
void proxy_progress(struct proxy *p, const char *text)
{
    (void)p;
    fuzz_check(text != NULL, "progress has text");
}
int proxy_attach(struct proxy *p, char *const endpoints[CH_COUNT], const struct proxy_curve *curve,
                 char *err, size_t errlen)
{
    (void)p;
    (void)endpoints;
    (void)curve;
    snprintf(err, errlen, "not in the fuzzer");
    return -1;
}

static void exited(void *ctx, int expected, const char *reason)
{
    (void)ctx;
    (void)expected;
    fuzz_check(reason && reason[0], "an end says why");
    exits++;
}

void fuzz_kube_pod(int kind, const uint8_t *data, size_t size);
void fuzz_kube_pod(int kind, const uint8_t *data, size_t size)
{
    static struct kube_launch launch;
    static int init;
    if (!init) {
        struct error err = {0};
        if (kube_names_for("0f0e0d0c-0b0a-0908-0706-050403020100", &launch.names, &err))
            abort();
        snprintf(launch.memory, sizeof launch.memory, "4608Mi");
        launch.in.driver_image = "spark-k8s-jupyter:4.1-4.1.1-baseline";
        init = 1;
    }
    json_t *obj = json_loadb((const char *)data, size, 0, NULL);
    if (!obj)
        return;
    struct kube_runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.launch = &launch;
    rt.attached = 1; /* connecting to a pod IP from the input is not for a fuzzer */
    rt.env.exited = exited;
    rt.seen_events = json_object();
    ready = kind & 8;
    shutdown_asked = kind & 16;
    rt.stopping = kind & 32;
    exits = 0;
    static const char *const types[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK"};
    if (kind & 4) {
        on_event(&rt, obj);
        on_event(&rt, obj); /* the same event again says nothing new */
    } else {
        on_pod(&rt, types[kind & 3], obj);
        on_pod(&rt, types[kind & 3], obj);
    }
    fuzz_check(exits <= 1, "an end is reported once");
    fuzz_check(memchr(rt.last_status, 0, sizeof rt.last_status) != NULL, "status terminated");
    if (rt.fail_timer)
        abort(); /* on_pod never defers: only start() does */
    json_decref(rt.seen_events);
    json_decref(obj);
}
