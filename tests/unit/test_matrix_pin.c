/* test_matrix_pin.c — the pure half of `images pin`: checksum files in each accepted
 * form and the malformed ones refused, URL basenames, and setting a string inside a
 * JSON text with every other byte kept (replace, insert on its own line, inline,
 * into an empty object, CRLF) and the refusals of paths that are not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/images/matrix_pin.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H40 "0123456789abcdef0123456789abcdef01234567"

static int parse(const char *text, const char *name, size_t hexlen, int bare, char *out,
                 struct error *err)
{
    return checksum_parse(text, strlen(text), name, hexlen, bare, out, 65, err);
}

static void test_checksum_forms(void **state)
{
    (void)state;
    struct error err = {0};
    char out[65];
    assert_int_equal(parse(H64 "  s.tgz\n", "s.tgz", 64, 0, out, &err), 0);
    assert_string_equal(out, H64);
    assert_int_equal(parse(H64 " *dir/s.tgz\r\n", "s.tgz", 64, 0, out, &err), 0);
    assert_string_equal(out, H64);
    /* several entries: the one naming the file */
    assert_int_equal(parse(H40 "  a.jar\n" H64 "  s.tgz\n", "s.tgz", 64, 0, out, &err), 0);
    assert_string_equal(out, H64);
    /* gpg --print-md: uppercase groups over lines */
    const char *gpg = "s.tgz: 01234567 89ABCDEF 01234567 89ABCDEF 01234567 89ABCDEF\n"
                      "       01234567 89ABCDEF\n";
    assert_int_equal(parse(gpg, "s.tgz", 64, 0, out, &err), 0);
    assert_string_equal(out, H64);
    /* Maven: bare or named */
    assert_int_equal(parse(H40, "a.jar", 40, 1, out, &err), 0);
    assert_string_equal(out, H40);
    assert_int_equal(parse("0123456789ABCDEF0123456789ABCDEF01234567\n", "a.jar", 40, 1, out, &err),
                     0);
    assert_string_equal(out, H40);
    assert_int_equal(parse(H40 "  /build/x/a.jar\n", "a.jar", 40, 1, out, &err), 0);
    assert_string_equal(out, H40);
}

static void test_checksum_refusals(void **state)
{
    (void)state;
    struct error err = {0};
    char out[65];
    assert_int_equal(parse(H64 "  other.tgz\n", "s.tgz", 64, 0, out, &err), -1);
    assert_non_null(strstr(err.text, "names 'other.tgz', not 's.tgz'"));
    assert_int_equal(parse(H64, "s.tgz", 64, 0, out, &err), -1); /* bare, for Apache */
    assert_non_null(strstr(err.text, "without the file name"));
    assert_int_equal(parse(H40 "0  a.jar", "a.jar", 40, 1, out, &err), -1);
    assert_non_null(strstr(err.text, "41 hex digits, not 40"));
    assert_int_equal(parse(H40 "*a.jar", "a.jar", 40, 1, out, &err), -1);
    assert_non_null(strstr(err.text, "is not 'HEX  NAME'"));
    assert_int_equal(parse(H40 "\n" H40 "\n", "a.jar", 40, 1, out, &err), -1);
    assert_int_equal(parse("s.tgz: 0123 XYZ0", "s.tgz", 64, 0, out, &err), -1);
    assert_non_null(strstr(err.text, "expected groups of hex digits"));
    assert_int_equal(parse("<html>\x01</html>", "s.tgz", 64, 0, out, &err), -1);
    assert_non_null(strstr(err.text, "it begins '<html>?</html>'"));
    assert_int_equal(parse(" \n\t", "s.tgz", 64, 0, out, &err), -1);
    assert_non_null(strstr(err.text, "is empty"));
    assert_int_equal(checksum_parse("ab\0cd", 5, "a.jar", 40, 1, out, 65, &err), -1);
    assert_non_null(strstr(err.text, "NUL byte"));
    assert_int_equal(checksum_parse(H40, 40, "a.jar", 40, 1, out, 40, &err), -1);
    /* SHA-1 and SHA-256 only: nothing publishes SHA-512 for the matrix's jars */
    assert_int_equal(checksum_parse(H64 H64, 128, "a.jar", 128, 1, out, 65, &err), -1);
    assert_non_null(strstr(err.text, "bad arguments"));
    assert_int_equal(parse(H64 "0  s.tgz\n", "s.tgz", 64, 0, out, &err), -1);
    assert_non_null(strstr(err.text, "65 hex digits, not 64"));
}

static void test_url_basename(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(url_basename("https://h/a/b.tgz?x=1#f", b, sizeof b), 0);
    assert_string_equal(b, "b.tgz");
    assert_int_equal(url_basename("https://h/a/", b, sizeof b), -1);
    assert_int_equal(url_basename("https://h", b, sizeof b), -1);
    assert_int_equal(url_basename("https://h/abcdef", b, 4), -1);
}

static void check_set(const char *text, const char *const *path, size_t depth, const char *value,
                      const char *want)
{
    struct error err = {0};
    char *out = NULL;
    assert_int_equal(json_text_set_string(text, path, depth, value, &out, &err), 0);
    assert_string_equal(out, want);
    json_t *j = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    json_decref(j);
    free(out);
}

static void test_json_set(void **state)
{
    (void)state;
    const char *text = "{\n  \"a\": [1, {\"k\": \"x\\\"}\"}],\n  \"s\": [\n    {\n"
                       "      \"d\": {\"u\": \"v\", \"sha\": \"\"},\n      \"j\": {\n"
                       "        \"sha1\": \"\"\n      },\n      \"e\": {}\n    }\n  ]\n}\n";
    const char *p1[] = {"s", "0", "d", "sha"};
    check_set(text, p1, 4, "ab",
              "{\n  \"a\": [1, {\"k\": \"x\\\"}\"}],\n  \"s\": [\n    {\n"
              "      \"d\": {\"u\": \"v\", \"sha\": \"ab\"},\n      \"j\": {\n"
              "        \"sha1\": \"\"\n      },\n      \"e\": {}\n    }\n  ]\n}\n");
    const char *p2[] = {"s", "0", "j", "sha256"};
    check_set(text, p2, 4, "cd",
              "{\n  \"a\": [1, {\"k\": \"x\\\"}\"}],\n  \"s\": [\n    {\n"
              "      \"d\": {\"u\": \"v\", \"sha\": \"\"},\n      \"j\": {\n"
              "        \"sha1\": \"\",\n        \"sha256\": \"cd\"\n      },\n"
              "      \"e\": {}\n    }\n  ]\n}\n");
    const char *p3[] = {"s", "0", "d", "new"};
    check_set(text, p3, 4, "n",
              "{\n  \"a\": [1, {\"k\": \"x\\\"}\"}],\n  \"s\": [\n    {\n"
              "      \"d\": {\"u\": \"v\", \"sha\": \"\", \"new\": \"n\"},\n      \"j\": {\n"
              "        \"sha1\": \"\"\n      },\n      \"e\": {}\n    }\n  ]\n}\n");
    const char *p4[] = {"s", "0", "e", "k"};
    check_set(text, p4, 4, "v",
              "{\n  \"a\": [1, {\"k\": \"x\\\"}\"}],\n  \"s\": [\n    {\n"
              "      \"d\": {\"u\": \"v\", \"sha\": \"\"},\n      \"j\": {\n"
              "        \"sha1\": \"\"\n      },\n      \"e\": {\"k\": \"v\"}\n    }\n  ]\n}\n");
    /* the matrix's shape: a classifier's field inside an inline object, 6 deep */
    const char *m = "{\"spark\": [{}, {\"rapids\": {\"classifiers\": {\n"
                    "  \"cuda12\": {\"arch\": \"x86_64\", \"cuda\": 12, \"sha256\": \"\", \"sha1\": \"\"},\n"
                    "  \"cuda13\": {\"arch\": \"x86_64\", \"cuda\": 13, \"sha256\": \"\", \"sha1\": \"\"}\n"
                    "}}}]}";
    const char *p6[] = {"spark", "1", "rapids", "classifiers", "cuda13", "sha256"};
    check_set(m, p6, 6, H64,
              "{\"spark\": [{}, {\"rapids\": {\"classifiers\": {\n"
              "  \"cuda12\": {\"arch\": \"x86_64\", \"cuda\": 12, \"sha256\": \"\", \"sha1\": \"\"},\n"
              "  \"cuda13\": {\"arch\": \"x86_64\", \"cuda\": 13, \"sha256\": \"" H64 "\", "
              "\"sha1\": \"\"}\n}}}]}");
    const char *p5[] = {"o", "b"};
    check_set("{\r\n  \"o\": {\r\n    \"a\": 1\r\n  }\r\n}", p5, 2, "x",
              "{\r\n  \"o\": {\r\n    \"a\": 1,\r\n    \"b\": \"x\"\r\n  }\r\n}");
}

static void test_json_set_refusals(void **state)
{
    (void)state;
    const char *text = "{\"s\": [{\"d\": {\"n\": 1}}], \"t\": \"x\"}";
    struct error err = {0};
    char *out = NULL;
    const char *p1[] = {"s", "1", "d", "sha"};
    assert_int_equal(json_text_set_string(text, p1, 4, "v", &out, &err), -1);
    assert_non_null(strstr(err.text, "s.1.d.sha: not in the file"));
    const char *p2[] = {"s", "0", "x", "sha"};
    assert_int_equal(json_text_set_string(text, p2, 4, "v", &out, &err), -1);
    const char *p3[] = {"s", "0", "d", "n"};
    assert_int_equal(json_text_set_string(text, p3, 4, "v", &out, &err), -1);
    assert_non_null(strstr(err.text, "not a string"));
    const char *p4[] = {"s", "k"};
    assert_int_equal(json_text_set_string(text, p4, 2, "v", &out, &err), -1);
    assert_non_null(strstr(err.text, "structure differs"));
    const char *p5[] = {"t", "u"};
    assert_int_equal(json_text_set_string(text, p5, 2, "v", &out, &err), -1);
    const char *p6[] = {"t"};
    assert_int_equal(json_text_set_string(text, p6, 1, "a\"b", &out, &err), -1);
    assert_non_null(strstr(err.text, "needs escaping"));
    assert_int_equal(json_text_set_string("{\"t\": \"x", p6, 1, "v", &out, &err), -1);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_forms),
        cmocka_unit_test(test_checksum_refusals),
        cmocka_unit_test(test_url_basename),
        cmocka_unit_test(test_json_set),
        cmocka_unit_test(test_json_set_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
