/* test_kube_config.c — kubeconfig and in-cluster configuration parsing: tokens,
 * client certificates, CA data, relative paths, missing fields and the refused
 * auth methods, plus the YAML reader's typing rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/kube/kube_config.h"
#include "launcher/sys/yaml_json.h"

struct fixture {
    char dir[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_kube_config.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static char *write_file(struct fixture *f, const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* base64("-----BEGIN CERTIFICATE-----\nCA\n") */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg=="

static const char *const cluster_part =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "contexts:\n"
    "- name: other\n"
    "  context: {cluster: c1, user: nobody}\n"
    "- name: dev\n"
    "  context:\n"
    "    cluster: c1\n"
    "    user: u1\n"
    "    namespace: notebooks\n";

static struct kube_config *load_ok(struct fixture *f, const char *users)
{
    char text[4096];
    snprintf(text, sizeof text, "%susers:\n%s", cluster_part, users);
    char *path = write_file(f, "config", text);
    struct kube_config *cfg = NULL;
    struct error err = {0};
    int rc = kube_config_load_kubeconfig(path, NULL, &cfg, &err);
    if (rc != 0)
        fail_msg("load failed: %s", err.text);
    return cfg;
}

static void load_fails(struct fixture *f, const char *text, const char *want_in_err)
{
    char *path = write_file(f, "config", text);
    char saved[256];
    snprintf(saved, sizeof saved, "%s", path);
    struct kube_config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(kube_config_load_kubeconfig(saved, NULL, &cfg, &err), -1);
    assert_null(cfg);
    if (!strstr(err.text, want_in_err))
        fail_msg("error '%s' lacks '%s'", err.text, want_in_err);
}

static void test_token_user(void **state)
{
    struct fixture *f = *state;
    struct kube_config *cfg = load_ok(f, "- name: u1\n  user:\n    token: abc.def-123\n");
    assert_string_equal(cfg->server, "https://127.0.0.1:6443");
    assert_string_equal(cfg->namespace, "notebooks");
    assert_string_equal(cfg->context, "dev");
    assert_string_equal(cfg->user, "u1");
    assert_string_equal(cfg->token, "abc.def-123");
    assert_null(cfg->token_file);
    assert_int_equal(cfg->ca.len, strlen("-----BEGIN CERTIFICATE-----\nCA\n"));
    assert_memory_equal(cfg->ca.data, "-----BEGIN CERTIFICATE-----\nCA\n", cfg->ca.len);
    assert_null(cfg->client_cert.data);
    int failed = 0;
    struct error err = {0};
    char *token = kube_config_token(cfg, &failed, &err);
    assert_string_equal(token, "abc.def-123");
    free(token);
    assert_int_equal(cfg->in_cluster, 0);
    kube_config_free(cfg);
}

/* Found by fuzz_kubeconfig: an inline token goes into the Authorization header, so
 * whitespace or a CR/LF in it (which would add a header of its own) is refused. */
static void test_token_with_whitespace_refused(void **state)
{
    struct fixture *f = *state;
    static const char *const tokens[] = {"\"abc\\r\\nX-Injected: 1\"", "abc def", "\"abc\\t\""};
    for (size_t i = 0; i < 3; i++) {
        char text[4096];
        snprintf(text, sizeof text, "%susers:\n- name: u1\n  user:\n    token: %s\n", cluster_part,
                 tokens[i]);
        load_fails(f, text, "field 'token' contains whitespace or control characters");
    }
}

static void test_token_file_relative_and_reread(void **state)
{
    struct fixture *f = *state;
    write_file(f, "tok", "first-token\n");
    struct kube_config *cfg = load_ok(f, "- name: u1\n  user:\n    tokenFile: tok\n");
    assert_non_null(cfg->token_file);
    int failed = 0;
    struct error err = {0};
    char *token = kube_config_token(cfg, &failed, &err);
    assert_string_equal(token, "first-token");
    free(token);
    write_file(f, "tok", "rotated-token");
    token = kube_config_token(cfg, &failed, &err);
    assert_string_equal(token, "rotated-token");
    free(token);
    kube_config_free(cfg);
}

static void test_client_certificate(void **state)
{
    struct fixture *f = *state;
    write_file(f, "client.crt", "CERT-PEM\n");
    struct kube_config *cfg = load_ok(
        f, "- name: u1\n  user:\n    client-certificate: client.crt\n"
           "    client-key-data: S0VZLVBFTQo=\n"); /* "KEY-PEM\n" */
    assert_memory_equal(cfg->client_cert.data, "CERT-PEM\n", 9);
    assert_int_equal(cfg->client_cert.len, 9);
    assert_memory_equal(cfg->client_key.data, "KEY-PEM\n", 8);
    assert_int_equal(cfg->client_key.len, 8);
    assert_null(cfg->token);
    kube_config_free(cfg);
}

static void test_cert_without_key(void **state)
{
    char text[4096];
    snprintf(text, sizeof text, "%susers:\n- name: u1\n  user:\n    client-certificate-data: "
             "Q0VSVAo=\n", cluster_part);
    load_fails(*state, text, "client-certificate is set without client-key");
}

static void test_exec_refused_with_file_user_method(void **state)
{
    struct fixture *f = *state;
    char text[4096];
    snprintf(text, sizeof text,
             "%susers:\n- name: u1\n  user:\n    exec:\n      apiVersion: "
             "client.authentication.k8s.io/v1\n      command: aws\n      args: [eks, get-token]\n",
             cluster_part);
    char want[512];
    snprintf(want, sizeof want, "unsupported auth method 'exec' in kubeconfig %s/config user u1",
             f->dir);
    load_fails(f, text, want);
    snprintf(text, sizeof text,
             "%susers:\n- name: u1\n  user:\n    auth-provider:\n      name: gcp\n", cluster_part);
    snprintf(want, sizeof want,
             "unsupported auth method 'auth-provider' in kubeconfig %s/config user u1", f->dir);
    load_fails(f, text, want);
}

static void test_missing_fields(void **state)
{
    struct fixture *f = *state;
    load_fails(f, "apiVersion: v1\nkind: Config\n", "no current-context set");
    load_fails(f, "current-context: x\ncontexts: []\n", "context 'x' not found");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {certificate-authority-data: " CA_B64 "}\n",
               "cluster 'c': field 'server' is missing");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://k:6443'}\n",
               "user 'u' not found");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'http://k:8080'}\n",
               "must be an https:// URL");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://k', insecure-skip-tls-verify: "
               "true}\n",
               "insecure-skip-tls-verify is not supported");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://k', certificate-authority: "
               "missing.crt}\n",
               "field 'certificate-authority'");
    load_fails(f,
               "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c}\n"
               "clusters:\n- name: c\n  cluster: {server: 'https://k', "
               "certificate-authority-data: '!!notbase64'}\n",
               "field 'certificate-authority-data' is not valid base64");
    load_fails(f, "a: [1, 2\n", "config: line");
}

static void test_default_namespace_and_explicit_context(void **state)
{
    struct fixture *f = *state;
    char text[4096];
    snprintf(text, sizeof text, "%susers:\n- name: nobody\n  user: {}\n", cluster_part);
    char *path = write_file(f, "config", text);
    struct kube_config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(kube_config_load_kubeconfig(path, "other", &cfg, &err), 0);
    assert_string_equal(cfg->namespace, "default");
    assert_string_equal(cfg->user, "nobody");
    assert_null(cfg->token);
    kube_config_free(cfg);
}

static void test_incluster(void **state)
{
    struct fixture *f = *state;
    write_file(f, "token", "sa-token\n");
    write_file(f, "ca.crt", "CA-PEM\n");
    write_file(f, "namespace", "team-a\n");
    struct kube_config *cfg = NULL;
    struct error err = {0};
    assert_int_equal(kube_config_load_incluster("10.0.0.1", "443", f->dir, &cfg, &err),
                     0);
    assert_string_equal(cfg->server, "https://10.0.0.1:443");
    assert_string_equal(cfg->namespace, "team-a");
    assert_int_equal(cfg->in_cluster, 1);
    assert_memory_equal(cfg->ca.data, "CA-PEM\n", 7);
    int failed = 0;
    char *token = kube_config_token(cfg, &failed, &err);
    assert_string_equal(token, "sa-token");
    free(token);
    kube_config_free(cfg);

    assert_int_equal(kube_config_load_incluster("fd00::1", "6443", f->dir, &cfg, &err),
                     0);
    assert_string_equal(cfg->server, "https://[fd00::1]:6443");
    kube_config_free(cfg);

    char path[256];
    snprintf(path, sizeof path, "%s/token", f->dir);
    unlink(path);
    assert_int_equal(kube_config_load_incluster("10.0.0.1", "443", f->dir, &cfg, &err),
                     -1);
    assert_non_null(strstr(err.text, "/token"));
}

static void test_yaml_typing(void **state)
{
    (void)state;
    const char *text = "a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: hello world\ng: [x, 'y']\n"
                       "h: !!str 42\ni: 0x1F\nj: |\n  line\n";
    json_t *doc = NULL;
    struct error err = {0};
    assert_int_equal(yaml_json_parse(text, strlen(text), "t", &doc, &err), 0);
    json_error_t jerr;
    json_t *want = json_loads("{\"a\":1,\"b\":\"1\",\"c\":true,\"d\":null,\"e\":1.5,"
                              "\"f\":\"hello world\",\"g\":[\"x\",\"y\"],\"h\":\"42\",\"i\":31,"
                              "\"j\":\"line\\n\"}",
                              0, &jerr);
    assert_true(json_equal(doc, want));
    json_decref(doc);
    json_decref(want);

    const char *alias = "a: &x 1\nb: *x\n";
    assert_int_equal(yaml_json_parse(alias, strlen(alias), "t", &doc, &err), -1);
    assert_non_null(strstr(err.text, "anchors and aliases"));
    const char *two = "a: 1\n---\nb: 2\n";
    assert_int_equal(yaml_json_parse(two, strlen(two), "t", &doc, &err), -1);
    assert_non_null(strstr(err.text, "more than one YAML document"));
    const char *dup = "a: 1\na: 2\n";
    assert_int_equal(yaml_json_parse(dup, strlen(dup), "t", &doc, &err), -1);
    assert_non_null(strstr(err.text, "duplicate key 'a'"));
    const char *json = "{\"x\": {\"y\": [1, null, \"z\"]}}";
    assert_int_equal(yaml_json_parse(json, strlen(json), "t", &doc, &err), 0);
    want = json_loads(json, 0, &jerr);
    assert_true(json_equal(doc, want));
    json_decref(doc);
    json_decref(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_with_whitespace_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_relative_and_reread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_certificate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_refused_with_file_user_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_namespace_and_explicit_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_incluster, setup, teardown),
        cmocka_unit_test(test_yaml_typing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
