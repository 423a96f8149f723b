/* test_connection.c — connection files: every error names the file, the field and the value;
 * mode 0600 on write; read/write round trips; endpoints for tcp, IPv6 and ipc; keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/connection.h"
#include "launcher/sys/fs.h"

struct fixture {
    char dir[256];
    char path[300];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/test_connection.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->path, sizeof fx->path, "%s/kernel-1.json", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    int rc = remove_tree(fx->dir);
    free(fx);
    return rc;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

#define PORTS "\"shell_port\":5001,\"iopub_port\":5002,\"stdin_port\":5003," \
              "\"control_port\":5004,\"hb_port\":5005"
#define GOOD "{\"transport\":\"tcp\",\"ip\":\"127.0.0.1\",\"key\":\"k\"," \
             "\"signature_scheme\":\"hmac-sha256\"," PORTS "}"

/* Reading TEXT fails, and the message contains every one of the NEEDLES (NULL-ended). */
static void read_fails(struct fixture *fx, const char *text, ...)
{
    write_text(fx->path, text);
    struct connection c;
    char err[512] = "";
    memset(&c, 0x5a, sizeof c);
    if (connection_read(fx->path, &c, err, sizeof err) != -1)
        fail_msg("accepted: %s", text);
    assert_null(c.key); /* cleared on failure: nothing to free */
    if (!strstr(err, fx->path))
        fail_msg("error does not name the file: %s", err);
    va_list ap;
    va_start(ap, text);
    for (const char *needle; (needle = va_arg(ap, const char *)) != NULL;)
        if (!strstr(err, needle))
            fail_msg("for %s\nerror does not contain '%s': %s", text, needle, err);
    va_end(ap);
}

static void test_good_file(void **state)
{
    struct fixture *fx = *state;
    write_text(fx->path, GOOD);
    struct connection c;
    char err[512] = "";
    assert_int_equal(connection_read(fx->path, &c, err, sizeof err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.ip, "127.0.0.1");
    assert_string_equal(c.signature_scheme, "hmac-sha256");
    assert_string_equal(c.key, "k");
    assert_int_equal(c.key_len, 1);
    assert_string_equal(c.kernel_name, "");
    for (int ch = 0; ch < CH_COUNT; ch++)
        assert_int_equal(c.ports[ch], 5001 + ch);
    connection_clear(&c);
    assert_null(c.key);

    /* Defaults: transport tcp, scheme hmac-sha256, no key = unsigned; unknown fields ignored. */
    write_text(fx->path, "{\"ip\":\"0.0.0.0\",\"kernel_name\":\"spark-4.1-baseline\","
                         "\"jupyter_session\":\"x.ipynb\"," PORTS "}");
    assert_int_equal(connection_read(fx->path, &c, err, sizeof err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.signature_scheme, "hmac-sha256");
    assert_string_equal(c.key, "");
    assert_int_equal(c.key_len, 0);
    assert_string_equal(c.kernel_name, "spark-4.1-baseline");
    connection_clear(&c);

    /* A unicode key is kept as its UTF-8 bytes. */
    write_text(fx->path, "{\"ip\":\"::1\",\"key\":\"\\u043a\\u043b\\u044e\\u0447\"," PORTS "}");
    assert_int_equal(connection_read(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(c.key_len, 8);
    assert_memory_equal(c.key, "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", 8);
    connection_clear(&c);
}

static void test_file_errors(void **state)
{
    struct fixture *fx = *state;
    struct connection c;
    char err[512] = "";
    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such.json", fx->dir);
    assert_int_equal(connection_read(missing, &c, err, sizeof err), -1);
    if (!strstr(err, missing))
        fail_msg("missing file not named: %s", err);
    assert_null(c.key);

    read_fails(fx, "", NULL);
    read_fails(fx, "{", NULL);
    read_fails(fx, "not json", NULL);
    read_fails(fx, GOOD " trailing", NULL);
    read_fails(fx, "[1,2]", "object", NULL);
    read_fails(fx, "\"a string\"", NULL); /* jansson: "'[' or '{' expected" */
    read_fails(fx, "42", NULL);
    read_fails(fx, "null", NULL);
    /* Duplicate keys: which port would count is anyone's guess. */
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"ip\":\"0.0.0.0\"," PORTS "}", NULL);
}

static void test_port_errors(void **state)
{
    struct fixture *fx = *state;
    static const char *const names[] = {"shell_port", "iopub_port", "stdin_port", "control_port",
                                        "hb_port"};
    static const struct {
        const char *json, *shown;
    } bad[] = {{"0", "0"},          {"70000", "70000"}, {"65536", "65536"}, {"-1", "-1"},
               {"\"5555\"", "\"5555\""}, {"1.5", "1.5"}, {"null", "null"}, {"true", "true"},
               {"[5555]", "[5555]"}};
    for (int ch = 0; ch < CH_COUNT; ch++)
        for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
            char text[512] = "{\"ip\":\"127.0.0.1\"";
            for (int k = 0; k < CH_COUNT; k++) {
                size_t len = strlen(text);
                snprintf(text + len, sizeof text - len, ",\"%s\":%s", names[k],
                         k == ch ? bad[b].json : "5000");
            }
            strcat(text, "}");
            read_fails(fx, text, names[ch], bad[b].shown, NULL);
        }
    /* A missing port. */
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"shell_port\":1,\"iopub_port\":2,\"stdin_port\":3,"
                   "\"control_port\":4}", "hb_port", "missing", NULL);
    /* 65535 is the last tcp port; ipc "ports" are only numbers in a path. */
    struct connection c;
    char err[512];
    write_text(fx->path, "{\"ip\":\"127.0.0.1\",\"shell_port\":65535,\"iopub_port\":1,"
                         "\"stdin_port\":2,\"control_port\":3,\"hb_port\":4}");
    assert_int_equal(connection_read(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(c.ports[CH_SHELL], 65535);
    connection_clear(&c);
    write_text(fx->path, "{\"transport\":\"ipc\",\"ip\":\"/tmp/k\",\"shell_port\":70000,"
                         "\"iopub_port\":1,\"stdin_port\":2,\"control_port\":3,\"hb_port\":4}");
    assert_int_equal(connection_read(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(c.ports[CH_SHELL], 70000);
    connection_clear(&c);
    read_fails(fx, "{\"transport\":\"ipc\",\"ip\":\"/tmp/k\",\"shell_port\":0,\"iopub_port\":1,"
                   "\"stdin_port\":2,\"control_port\":3,\"hb_port\":4}", "shell_port", "0", NULL);
}

static void test_field_errors(void **state)
{
    struct fixture *fx = *state;
    read_fails(fx, "{\"transport\":\"udp\",\"ip\":\"127.0.0.1\"," PORTS "}", "transport", "udp",
               NULL);
    read_fails(fx, "{\"transport\":\"TCP\",\"ip\":\"127.0.0.1\"," PORTS "}", "transport", "TCP",
               NULL);
    read_fails(fx, "{\"transport\":5,\"ip\":\"127.0.0.1\"," PORTS "}", "transport", "5", NULL);
    read_fails(fx, "{" PORTS "}", "'ip'", "missing", NULL);
    read_fails(fx, "{\"ip\":\"\"," PORTS "}", "'ip'", NULL);
    read_fails(fx, "{\"ip\":127001," PORTS "}", "'ip'", "127001", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"signature_scheme\":\"hmac-md5\"," PORTS "}",
               "signature_scheme", "hmac-md5", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"signature_scheme\":\"hmac-sha512\"," PORTS "}",
               "signature_scheme", "hmac-sha512", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"signature_scheme\":null," PORTS "}",
               "signature_scheme", "null", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"key\":123," PORTS "}", "'key'", "123", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"key\":null," PORTS "}", "'key'", "null", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"key\":[\"k\"]," PORTS "}", "'key'", NULL);
    read_fails(fx, "{\"ip\":\"127.0.0.1\",\"kernel_name\":7," PORTS "}", "kernel_name", "7", NULL);
    /* Overlong values are refused, and the value shown is cut short. */
    char text[2048];
    char ip[700];
    memset(ip, '1', sizeof ip - 1);
    ip[sizeof ip - 1] = '\0';
    snprintf(text, sizeof text, "{\"ip\":\"%s\"," PORTS "}", ip);
    read_fails(fx, text, "'ip'", "...", NULL);
}

static void fill(struct connection *c, const char *transport, const char *ip)
{
    memset(c, 0, sizeof *c);
    snprintf(c->transport, sizeof c->transport, "%s", transport);
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    snprintf(c->signature_scheme, sizeof c->signature_scheme, "hmac-sha256");
    for (int ch = 0; ch < CH_COUNT; ch++)
        c->ports[ch] = 40000 + ch;
}

static void test_write_read_round_trip(void **state)
{
    struct fixture *fx = *state;
    struct connection c, back;
    char err[512] = "";
    fill(&c, "tcp", "127.0.0.1");
    snprintf(c.kernel_name, sizeof c.kernel_name, "spark-3.5-gpu");
    assert_int_equal(connection_set_key(&c, "k\"e\\y\xc3\xa9", 7), 0);
    assert_int_equal(connection_write(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(connection_read(fx->path, &back, err, sizeof err), 0);
    assert_string_equal(back.transport, c.transport);
    assert_string_equal(back.ip, c.ip);
    assert_string_equal(back.signature_scheme, c.signature_scheme);
    assert_string_equal(back.kernel_name, c.kernel_name);
    assert_int_equal(back.key_len, c.key_len);
    assert_memory_equal(back.key, c.key, c.key_len);
    assert_memory_equal(back.ports, c.ports, sizeof c.ports);
    connection_clear(&back);

    /* A generated key; ipc; no kernel name. */
    connection_clear(&c);
    fill(&c, "ipc", "/tmp/spark-k8s-xyz/kernel");
    char key[65];
    assert_int_equal(connection_generate_key(key), 0);
    assert_int_equal(connection_set_key(&c, key, 64), 0);
    assert_int_equal(connection_write(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(connection_read(fx->path, &back, err, sizeof err), 0);
    assert_string_equal(back.transport, "ipc");
    assert_string_equal(back.ip, "/tmp/spark-k8s-xyz/kernel");
    assert_string_equal(back.key, key);
    assert_string_equal(back.kernel_name, "");
    connection_clear(&back);
    connection_clear(&c);

    /* Unsigned: key "" round trips as "". */
    fill(&c, "tcp", "::1");
    assert_int_equal(connection_write(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(connection_read(fx->path, &back, err, sizeof err), 0);
    assert_string_equal(back.key, "");
    assert_int_equal(back.key_len, 0);
    connection_clear(&back);
    connection_clear(&c);
}

static void test_write_mode_0600(void **state)
{
    struct fixture *fx = *state;
    struct connection c;
    char err[512] = "";
    struct stat st;
    fill(&c, "tcp", "127.0.0.1");
    assert_int_equal(connection_set_key(&c, "secret", 6), 0);

    mode_t old = umask(0);
    assert_int_equal(connection_write(fx->path, &c, err, sizeof err), 0);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    /* Over an existing, longer, world-readable file: 0600 and no stale bytes. */
    assert_int_equal(chmod(fx->path, 0644), 0);
    char big[8192];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    write_text(fx->path, big);
    assert_int_equal(chmod(fx->path, 0644), 0);
    assert_int_equal(connection_write(fx->path, &c, err, sizeof err), 0);
    umask(old);
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_true(st.st_size < 1000);
    struct connection back;
    assert_int_equal(connection_read(fx->path, &back, err, sizeof err), 0);
    assert_string_equal(back.key, "secret");
    connection_clear(&back);

    /* A symlink in its place is not followed (the key must not land elsewhere). */
    char target[400], link_path[400];
    snprintf(target, sizeof target, "%s/target", fx->dir);
    snprintf(link_path, sizeof link_path, "%s/link.json", fx->dir);
    write_text(target, "untouched");
    assert_int_equal(symlink(target, link_path), 0);
    assert_int_equal(connection_write(link_path, &c, err, sizeof err), -1);
    if (!strstr(err, link_path))
        fail_msg("error does not name the file: %s", err);
    char buf[32] = "";
    FILE *f = fopen(target, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "untouched");

    /* A directory that does not exist: an error naming the file. */
    char nowhere[400];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/k.json", fx->dir);
    assert_int_equal(connection_write(nowhere, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, nowhere));
    connection_clear(&c);
}

static void endpoint_is(const struct connection *c, enum channel ch, const char *want)
{
    char buf[600];
    assert_int_equal(connection_endpoint(c, ch, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
}

static void test_endpoints(void **state)
{
    (void)state;
    struct connection c;
    fill(&c, "tcp", "127.0.0.1");
    endpoint_is(&c, CH_SHELL, "tcp://127.0.0.1:40000");
    endpoint_is(&c, CH_HB, "tcp://127.0.0.1:40004");
    fill(&c, "tcp", "::1");
    endpoint_is(&c, CH_IOPUB, "tcp://[::1]:40001");
    fill(&c, "tcp", "fe80::1%eth0");
    endpoint_is(&c, CH_CONTROL, "tcp://[fe80::1%eth0]:40003");
    fill(&c, "tcp", "0.0.0.0");
    endpoint_is(&c, CH_STDIN, "tcp://0.0.0.0:40002");
    fill(&c, "ipc", "/tmp/spark-k8s-abc/kernel");
    endpoint_is(&c, CH_SHELL, "ipc:///tmp/spark-k8s-abc/kernel-40000");
    endpoint_is(&c, CH_HB, "ipc:///tmp/spark-k8s-abc/kernel-40004");
    fill(&c, "ipc", "kernel-ipc"); /* relative, as jupyter_client writes by default */
    endpoint_is(&c, CH_IOPUB, "ipc://kernel-ipc-40001");
    /* Too small a buffer: -1, exactly enough: 0. */
    fill(&c, "tcp", "127.0.0.1");
    char buf[64];
    size_t need = strlen("tcp://127.0.0.1:40000") + 1;
    assert_int_equal(connection_endpoint(&c, CH_SHELL, buf, need), 0);
    assert_int_equal(connection_endpoint(&c, CH_SHELL, buf, need - 1), -1);
    assert_int_equal(connection_endpoint(&c, CH_SHELL, buf, 1), -1);
}

static void test_keys_and_names(void **state)
{
    (void)state;
    char a[65], b[65];
    assert_int_equal(connection_generate_key(a), 0);
    assert_int_equal(connection_generate_key(b), 0);
    assert_int_equal(strlen(a), 64);
    assert_int_equal(strspn(a, "0123456789abcdef"), 64);
    assert_string_not_equal(a, b);

    struct connection c;
    memset(&c, 0, sizeof c);
    assert_int_equal(connection_set_key(&c, "a\0b", 3), 0);
    assert_int_equal(c.key_len, 3);
    assert_memory_equal(c.key, "a\0b", 4); /* NUL-terminated too */
    assert_int_equal(connection_set_key(&c, "replaced", 8), 0); /* the old key is freed */
    assert_string_equal(c.key, "replaced");
    connection_clear(&c);

    const char *want[] = {"shell", "iopub", "stdin", "control", "hb"};
    for (int ch = 0; ch < CH_COUNT; ch++)
        assert_string_equal(channel_name((enum channel)ch), want[ch]);
    assert_string_equal(channel_name(CH_COUNT), "?");
    assert_string_equal(channel_name((enum channel)-1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_mode_0600, setup, teardown),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_keys_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
