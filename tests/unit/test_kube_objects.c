/* test_kube_objects.c — kernel object names and label values: DNS-1123 safe,
 * at most 63 characters, distinct for distinct ids; ownerReferences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher/runtime/kube_launch.h"
#include "launcher/plan/config.h"
#include "launcher/kube/kube_client.h"
#include "launcher/kube/kube_objects.h"

static int label_ok(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return 1;
    if (n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && ((i == 0 || i == n - 1) || (c != '-' && c != '_' && c != '.')))
            return 0;
    }
    return 1;
}

static void test_uuid_kernel_id_kept(void **state)
{
    (void)state;
    struct kube_names names;
    struct error err = {0};
    assert_int_equal(kube_names_for("3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44", &names, &err),
                     0);
    assert_string_equal(names.base, "spark-k8s-3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44");
    assert_string_equal(names.secret, "spark-k8s-3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44-keys");
    assert_string_equal(names.configmap, "spark-k8s-3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44-conf");
    assert_string_equal(names.kernel_label, "3f1c2b9e-6a7d-4e21-9c55-0d8f2a1b7c44");
    assert_true(kube_is_dns_label(names.base));
    assert_true(kube_is_dns_label(names.secret));
}

static void test_odd_ids_safe_and_distinct(void **state)
{
    (void)state;
    const char *ids[] = {"ABC", "abc", "a_b", "a-b", "-", "...", "x--",
                         "0123456789012345678901234567890123456789012345678901234567890123456789",
                         "0123456789012345678901234567890123456789012345678901234567890123456788",
                         "Ünïcode kernel"};
    size_t n = sizeof ids / sizeof ids[0];
    struct kube_names names[10];
    struct error err = {0};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(kube_names_for(ids[i], &names[i], &err), 0);
        assert_true(kube_is_dns_label(names[i].base));
        assert_true(kube_is_dns_label(names[i].secret));
        assert_true(kube_is_dns_label(names[i].configmap));
        assert_true(label_ok(names[i].kernel_label));
        assert_true(strlen(names[i].kernel_label) > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(names[i].base, names[j].base);
    }
    assert_string_equal(names[1].base, "spark-k8s-abc"); /* unchanged ids get no hash */
    assert_int_equal(kube_names_for("", &names[0], &err), -1);
}

static void test_label_values(void **state)
{
    (void)state;
    char out[64];
    kube_label_value("jane", out);
    assert_string_equal(out, "jane");
    kube_label_value("Jane.Doe_1", out);
    assert_string_equal(out, "Jane.Doe_1");
    kube_label_value("jane@example.com", out);
    assert_true(label_ok(out));
    assert_memory_equal(out, "jane-example.com-", 17);
    kube_label_value("", out);
    assert_string_equal(out, "");
    kube_label_value("@@@", out);
    assert_true(label_ok(out));
    assert_int_equal(strlen(out), 8);
    char long_text[200];
    memset(long_text, 'u', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    kube_label_value(long_text, out);
    assert_true(label_ok(out));
    assert_int_equal(strlen(out), 63);
}

static void test_owner_reference(void **state)
{
    (void)state;
    json_t *obj = json_pack("{s:{s:s}}", "metadata", "name", "x");
    assert_int_equal(kube_objects_set_owner(obj, "pod-a", "uid-1"), 0);
    assert_int_equal(kube_objects_set_owner(obj, "pod-b", "uid-2"), 0);
    json_t *refs = json_object_get(json_object_get(obj, "metadata"), "ownerReferences");
    assert_int_equal(json_array_size(refs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 1), "uid")),
                        "uid-2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(refs, 0), "kind")),
                        "Pod");
    json_t *no_meta = json_object();
    assert_int_equal(kube_objects_set_owner(no_meta, "p", "u"), -1);
    json_decref(no_meta);
    json_decref(obj);
}

static void test_memory_sizes(void **state)
{
    (void)state;
    assert_int_equal(setting_memory_mib("512m"), 512);
    assert_int_equal(setting_memory_mib("4g"), 4096);
    assert_int_equal(setting_memory_mib("2G"), 2048);
    assert_int_equal(setting_memory_mib("1024"), 1024);
    assert_int_equal(setting_memory_mib("2048k"), 2);
    assert_int_equal(setting_memory_mib("1t"), 1024 * 1024);
    assert_int_equal(setting_memory_mib("4 g"), -1);
    assert_int_equal(setting_memory_mib("4Gi"), -1);
    assert_int_equal(setting_memory_mib("-1g"), -1);
    assert_int_equal(setting_memory_mib(""), -1);
}

/* An API call's outcome becomes the launcher's error in one place, with a kind: no
 * answer is the machine's, an invalid object the input's, a refusal the work's. */
static void test_status_to_error(void **state)
{
    (void)state;
    struct kube_status st = {.code = 403, .reason = "Forbidden",
                             .message = "pods is forbidden: User \"x\" cannot create"};
    struct error e = {0};
    assert_int_equal(kube_status_error(&st, "create the kernel pod", &e), -1);
    assert_int_equal(e.kind, ERR_RUNTIME);
    assert_string_equal(e.text, "cannot create the kernel pod: forbidden: pods is forbidden: "
                                "User \"x\" cannot create");
    st.code = 422;
    kube_status_error(&st, "create the kernel pod", &e);
    assert_int_equal(e.kind, ERR_INPUT);
    assert_non_null(strstr(e.text, "the object is invalid"));
    st.code = 0;
    kube_status_error(&st, "watch the kernel pod", &e);
    assert_int_equal(e.kind, ERR_SYSTEM);
    st.nomem = 1;
    kube_status_error(&st, "watch the kernel pod", &e);
    assert_int_equal(e.kind, ERR_NOMEM);
    assert_string_equal(e.text, "cannot watch the kernel pod: out of memory");
    st = (struct kube_status){.code = 500, .reason = "InternalError", .message = "etcd"};
    kube_status_error(&st, "get the pod", &e);
    assert_string_equal(e.text, "cannot get the pod: etcd (HTTP 500 InternalError)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_kernel_id_kept),
        cmocka_unit_test(test_odd_ids_safe_and_distinct),
        cmocka_unit_test(test_label_values),
        cmocka_unit_test(test_owner_reference),
        cmocka_unit_test(test_memory_sizes),
        cmocka_unit_test(test_status_to_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
