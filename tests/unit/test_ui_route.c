/* test_ui_route.c — the Spark UI's route through the Jupyter server
 * (launcher/runtime/ui_route.c): found only under SPARK_K8S_UI_PROXY, a malformed
 * prefix refused naming the variable, the link and the registration's place from the
 * connection file, the registration written whole with mode 0600, and removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/runtime/ui_route.h"

#define KID "8f983631-7240-41b1-b0e4-1f695a8c6950"

struct fixture {
    char dir[64];
    char conn[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-ui-route-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->conn, sizeof f->conn, "%s/kernel-abc.json", f->dir);
    FILE *c = fopen(f->conn, "w");
    fputs("{}", c);
    fclose(c);
    unsetenv(UI_ROUTE_ENV);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[200];
    snprintf(path, sizeof path, "%s/spark-k8s-ui-" KID ".json", f->dir);
    unlink(path);
    unlink(f->conn);
    rmdir(f->dir);
    unsetenv(UI_ROUTE_ENV);
    free(f);
    return 0;
}

static void test_no_route_without_the_variable(void **state)
{
    struct fixture *f = *state;
    struct ui_route r;
    struct error err = {0};
    assert_int_equal(ui_route_find(&r, KID, f->conn, &err), 0);
    setenv(UI_ROUTE_ENV, "", 1);
    assert_int_equal(ui_route_find(&r, KID, f->conn, &err), 0);
    assert_int_equal(r.registry[0], '\0');
    ui_route_withdraw(&r); /* nothing to remove: harmless */
}

static void test_a_malformed_prefix_is_refused(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"spark-k8s/ui/", "/spark-k8s/ui", "/a b/", "/a\"/", "/a?x/", "/a\n/", NULL};
    for (const char *const *p = bad; *p; p++) {
        struct ui_route r;
        struct error err = {0};
        setenv(UI_ROUTE_ENV, *p, 1);
        assert_int_equal(ui_route_find(&r, KID, f->conn, &err), -1);
        assert_non_null(strstr(err.text, "env SPARK_K8S_UI_PROXY"));
        assert_int_equal(err.kind, ERR_INPUT);
    }
}

static void test_route_publish_withdraw(void **state)
{
    struct fixture *f = *state;
    struct ui_route r;
    struct error err = {0};
    setenv(UI_ROUTE_ENV, "/user/a/spark-k8s/ui/", 1);
    assert_int_equal(ui_route_find(&r, KID, f->conn, &err), 1);
    assert_string_equal(r.path, "/user/a/spark-k8s/ui/" KID "/");
    char want[PATH_MAX + 64], real[PATH_MAX];
    assert_non_null(realpath(f->dir, real));
    snprintf(want, sizeof want, "%s/spark-k8s-ui-" KID ".json", real);
    assert_string_equal(r.registry, want);
    assert_int_equal(ui_route_publish(&r, "http://10.1.2.3:4040", &err), 0);
    struct stat st;
    assert_int_equal(stat(r.registry, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    json_error_t jerr;
    json_t *doc = json_load_file(r.registry, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "url")), "http://10.1.2.3:4040");
    assert_non_null(realpath(f->conn, real));
    assert_string_equal(json_string_value(json_object_get(doc, "connection_file")), real);
    json_decref(doc);
    /* a second address replaces the first */
    assert_int_equal(ui_route_publish(&r, "http://10.1.2.4:4040", &err), 0);
    doc = json_load_file(r.registry, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(doc, "url")), "http://10.1.2.4:4040");
    json_decref(doc);
    ui_route_withdraw(&r);
    assert_int_equal(access(r.registry, F_OK), -1);
}

static void test_a_missing_connection_file_is_named(void **state)
{
    struct fixture *f = *state;
    struct ui_route r;
    struct error err = {0};
    char gone[160];
    snprintf(gone, sizeof gone, "%s/kernel-gone.json", f->dir);
    setenv(UI_ROUTE_ENV, "/spark-k8s/ui/", 1);
    assert_int_equal(ui_route_find(&r, KID, gone, &err), -1);
    assert_non_null(strstr(err.text, gone));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_route_without_the_variable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_malformed_prefix_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_publish_withdraw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_missing_connection_file_is_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
