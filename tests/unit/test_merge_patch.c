/* test_merge_patch.c — RFC 7386 merge patch: the RFC's Appendix A examples and ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "launcher/kube/merge_patch.h"

static json_t *parse(const char *text)
{
    json_error_t error;
    json_t *value = json_loads(text, JSON_DECODE_ANY, &error);
    if (!value)
        fail_msg("bad test JSON %s: %s", text, error.text);
    return value;
}

static void check(const char *target_text, const char *patch_text, const char *want_text)
{
    json_t *target = parse(target_text);
    json_t *patch = parse(patch_text);
    json_t *patch_before = json_deep_copy(patch);
    json_t *want = parse(want_text);
    assert_int_equal(merge_patch_apply(&target, patch), 0);
    if (!json_equal(target, want)) {
        char *got = json_dumps(target, JSON_ENCODE_ANY | JSON_SORT_KEYS);
        print_error("target %s patch %s: got %s want %s\n", target_text, patch_text, got,
                    want_text);
        free(got);
        fail();
    }
    assert_true(json_equal(patch, patch_before)); /* the patch is only read */
    json_decref(target);
    json_decref(patch);
    json_decref(patch_before);
    json_decref(want);
}

/* RFC 7386, Appendix A, every row of the table. */
static void test_rfc7386_appendix_a(void **state)
{
    (void)state;
    check("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    check("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    check("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    check("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    check("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    check("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}");
    check("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    check("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    check("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    check("{\"a\":\"foo\"}", "null", "null");
    check("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    check("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    check("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    check("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

/* RFC 7386 section 3's worked example. */
static void test_rfc7386_section3(void **state)
{
    (void)state;
    check("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
          "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}",
          "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
          "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
          "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
          "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}");
}

static void test_null_target_and_no_sharing(void **state)
{
    (void)state;
    json_t *target = NULL;
    json_t *patch = parse("{\"spec\":{\"nodeSelector\":{\"gpu\":\"yes\"},\"x\":null}}");
    assert_int_equal(merge_patch_apply(&target, patch), 0);
    json_t *want = parse("{\"spec\":{\"nodeSelector\":{\"gpu\":\"yes\"}}}");
    assert_true(json_equal(target, want));
    /* Changing the result must not change the patch. */
    json_object_set_new(json_object_get(json_object_get(target, "spec"), "nodeSelector"), "gpu",
                        json_string("no"));
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(patch, "spec"), "nodeSelector"), "gpu")),
        "yes");
    json_decref(target);
    json_decref(patch);
    json_decref(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7386_appendix_a),
        cmocka_unit_test(test_rfc7386_section3),
        cmocka_unit_test(test_null_target_and_no_sharing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
