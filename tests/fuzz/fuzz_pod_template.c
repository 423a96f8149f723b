/* fuzz_pod_template.c — libFuzzer harness for the admin's pod template merge.
 *
 * The input is the template as SPARK_K8S_POD_TEMPLATE holds it (YAML or JSON);
 * after a NUL byte, an executor template of its own. Each is merged into the
 * kernel's driver Pod and the executors' template (RFC 7386). Checks: the
 * template may add to the Pod but never rename, move or relabel it (name,
 * namespace, kind and the kernel's labels stay ours), and what cannot be merged
 * is refused with a reason. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "launcher/kube/kube_objects.h"
#include "launcher/sys/yaml_json.h"
#include "tests/fuzz/fuzz_util.h"

static const char *str_at(json_t *obj, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(obj, a), b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t first = nul ? (size_t)(nul - data) : size;
    json_t *tmpl = NULL, *exec_tmpl = NULL;
    struct error err = {0};
    if (yaml_json_parse((const char *)data, first, "template", &tmpl, &err) != 0)
        return 0;
    if (nul && yaml_json_parse((const char *)nul + 1, size - first - 1, "executor template",
                               &exec_tmpl, &err) != 0) {
        json_decref(tmpl);
        return 0;
    }
    const char *argv[] = {"python3", "-m", "ipykernel_launcher", "-f", "{connection_file}", NULL};
    struct kube_inputs in = {
        .kernel_id = "0f0e0d0c-0b0a-0908-0706-050403020100",
        .user = "fuzz",
        .namespace = "jupyter",
        .driver_image = "spark-k8s-jupyter:4.1-4.1.1-baseline",
        .spark_defaults = "spark.master k8s://https://10.96.0.1:443\n",
        .kernel_argv = argv,
        .pod_template = json_is_object(tmpl) ? tmpl : NULL,
        .executor_pod_template = json_is_object(exec_tmpl) ? exec_tmpl : NULL,
        .hmac_key = "k",
        .server_secret_key = "s",
        .server_public_key = "p",
        .client_public_key = "c",
    };
    struct kube_names names;
    if (kube_names_for(in.kernel_id, &names, &err))
        abort();
    json_t *pod = NULL, *cm = NULL;
    if (kube_build_pod(&in, &pod, &err) == 0) {
        fuzz_check(json_is_object(pod), "a pod");
        fuzz_check(strcmp(json_string_value(json_object_get(pod, "kind")), "Pod") == 0, "kind");
        fuzz_check(strcmp(json_string_value(json_object_get(pod, "apiVersion")), "v1") == 0,
                   "apiVersion");
        fuzz_check(strcmp(str_at(pod, "metadata", "name"), names.base) == 0, "name kept");
        fuzz_check(strcmp(str_at(pod, "metadata", "namespace"), in.namespace) == 0,
                   "namespace kept");
        json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
        const char *id = json_string_value(json_object_get(labels, "spark-k8s.io/kernel-id"));
        fuzz_check(id && strcmp(id, names.kernel_label) == 0, "the kernel's label kept");
    } else {
        fuzz_check(err.text[0] != '\0', "a refusal says why");
    }
    if (kube_build_configmap(&in, &cm, &err) == 0 && cm) {
        const char *conf = str_at(cm, "data", "spark-defaults.conf");
        fuzz_check(conf && strstr(conf, "spark.kubernetes.executor.podTemplateFile"),
                   "the template is named");
        const char *text = str_at(cm, "data", "executor-pod-template.json");
        json_t *back = text ? json_loads(text, 0, NULL) : NULL;
        fuzz_check(json_is_object(back), "the executor template is a JSON object");
        json_decref(back);
    }
    json_decref(pod);
    json_decref(cm);
    json_decref(tmpl);
    json_decref(exec_tmpl);
    return 0;
}
