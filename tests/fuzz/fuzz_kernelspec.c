/* fuzz_kernelspec.c — libFuzzer harness for kernelspec metadata.
 *
 * The input is "DIR-NAME\0KERNEL.JSON" (without a NUL byte: the whole input is
 * kernel.json and the folder is spark-4.1-baseline). The kernel.json is read into
 * a plan as `spark-k8s kernel` reads it (without the admin layers); a plan that
 * loads is rendered into spark-defaults.conf for the local runtime (with its
 * header, which carries the folder's name) and for Kubernetes client mode, and
 * into the kernel's Kubernetes objects. Checks: the rendered file says exactly
 * its properties (no name or value turns into a property line), and the
 * objects build. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "launcher/runtime/kube_launch.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"
#include "tests/fuzz/fuzz_util.h"

static void check_conf(const struct sparkconf *conf, const char *header, int with_sources)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        abort();
    fuzz_check(sparkconf_print(conf, mem, header, with_sources) == 0, "print");
    fclose(mem);
    fuzz_check_properties(text, sparkconf_count(conf));
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[600] = "/usr/share/jupyter/kernels/spark-4.1-baseline";
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        size_t n = (size_t)(nul - data);
        if (n > 200)
            n = 200;
        snprintf(dir, sizeof dir, "/usr/share/jupyter/kernels/%.*s", (int)n, (const char *)data);
        size -= (size_t)(nul - data) + 1;
        data = nul + 1;
    }
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!root)
        return 0;
    struct error err = {0};
    char path[700];
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    struct plan *plan = NULL;
    if (plan_from_json(root, dir, path, PLAN_NO_ADMIN, &plan, &err) != 0) {
        fuzz_check(err.text[0] != '\0', "a refusal says why");
        json_decref(root);
        return 0;
    }
    struct sparkconf *conf = NULL;
    char header[1024];
    /* as render_write_spark_conf heads the file: the folder's name is in it */
    snprintf(header, sizeof header, "spark-k8s: %s (Spark %s, %s, %s runtime)",
             plan_kernel_name(plan), plan_spark_version(plan), plan_variant(plan),
             plan_runtime(plan));
    if (render_spark_conf(plan, NULL, NULL, &conf, &err) == 0) {
        check_conf(conf, header, 0);
        check_conf(conf, NULL, 1);
        sparkconf_free(conf);
    }
    struct render_pod pod = {"https://10.96.0.1:443", "ns", "spark-k8s-x", "spark-k8s-x.ns.svc",
                                "10.1.2.3"};
    if (render_spark_conf(plan, &pod, NULL, &conf, &err) == 0) {
        check_conf(conf, header, 1);
        sparkconf_free(conf);
    }
    struct kube_launch *launch = NULL;
    if (kube_launch_new(plan, "0f0e0d0c-0b0a-0908-0706-050403020100", "fuzz", "default", &launch,
                        &err) == 0) {
        json_t *obj = NULL;
        if (kube_build_pod(&launch->in, &obj, &err) == 0)
            fuzz_check(json_is_object(obj), "a pod");
        json_decref(obj);
        obj = NULL;
        if (kube_build_configmap(&launch->in, &obj, &err) == 0 && obj)
            fuzz_check(json_is_object(obj), "a configmap");
        json_decref(obj);
        kube_launch_free(launch);
    }
    plan_free(plan);
    json_decref(root);
    return 0;
}
