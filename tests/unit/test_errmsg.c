/* test_errmsg.c — the launcher's error type (launcher/sys/errmsg.h): the kind set where
 * a failure happens survives the context callers add, out of memory is one kind with
 * one text, every kind has its exit status (2 for usage and input, 1 else), a long
 * text is cut rather than overrun; and the Spark Connect token (launcher/sys/token.h):
 * 64 hex digits, fresh each time, its random bytes wiped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "launcher/sys/errmsg.h"
#include "launcher/sys/token.h"

static void test_set_and_kind(void **state)
{
    (void)state;
    struct error e = {0};
    assert_int_equal(e.kind, ERR_NONE);
    assert_int_equal(error_set(&e, ERR_INPUT, "%s: field %s", "/x/kernel.json", "variant"), -1);
    assert_int_equal(e.kind, ERR_INPUT);
    assert_string_equal(e.text, "/x/kernel.json: field variant");
    assert_int_equal(error_set(NULL, ERR_RUNTIME, "nobody listens"), -1);
    error_clear(&e);
    assert_int_equal(e.kind, ERR_NONE);
    assert_string_equal(e.text, "");
}

static void test_prefix_keeps_the_kind(void **state)
{
    (void)state;
    struct error e = {0};
    error_set(&e, ERR_SYSTEM, "No such file or directory");
    assert_int_equal(error_prefix(&e, "%s: ", "/etc/spark-k8s/config.json"), -1);
    assert_int_equal(e.kind, ERR_SYSTEM);
    assert_string_equal(e.text, "/etc/spark-k8s/config.json: No such file or directory");
    error_nomem(&e);
    error_prefix(&e, "cannot build the kernel's objects: ");
    assert_int_equal(e.kind, ERR_NOMEM);
    assert_string_equal(e.text, "cannot build the kernel's objects: out of memory");
}

static void test_prefix_of_an_error_nobody_set(void **state)
{
    (void)state;
    struct error e = {0};
    error_prefix(&e, "cannot start: ");
    assert_int_equal(e.kind, ERR_SYSTEM);
    assert_string_equal(e.text, "cannot start: no reason given");
}

static void test_long_texts_are_cut(void **state)
{
    (void)state;
    static char big[2 * ERROR_TEXT_MAX];
    memset(big, 'x', sizeof big - 1);
    struct error e = {0};
    error_set(&e, ERR_INPUT, "%s", big);
    assert_int_equal(strlen(e.text), ERROR_TEXT_MAX - 1);
    error_prefix(&e, "context: ");
    assert_int_equal(strlen(e.text), ERROR_TEXT_MAX - 1);
    assert_memory_equal(e.text, "context: xxx", 12);
    error_prefix(&e, "%s", big);
    assert_int_equal(strlen(e.text), ERROR_TEXT_MAX - 1);
    assert_int_equal(e.kind, ERR_INPUT);
}

static void test_exit_statuses(void **state)
{
    (void)state;
    assert_int_equal(err_exit_status(ERR_USAGE), 2);
    assert_int_equal(err_exit_status(ERR_INPUT), 2);
    assert_int_equal(err_exit_status(ERR_RUNTIME), 1);
    assert_int_equal(err_exit_status(ERR_SYSTEM), 1);
    assert_int_equal(err_exit_status(ERR_NOMEM), 1);
    struct error e = {0};
    assert_int_equal(error_exit_status(&e), 1); /* something failed, nobody said what */
    error_set(&e, ERR_USAGE, "--port 'x' is not a port number");
    assert_int_equal(error_exit_status(&e), 2);
    assert_string_equal(err_kind_name(ERR_NOMEM), "out of memory");
    assert_string_equal(err_kind_name(ERR_INPUT), "input");
}

static void test_adopt_a_kernel_error(void **state)
{
    (void)state;
    struct error e = {0};
    strcpy(e.text, "/tmp/c.json: field key must be a string");
    assert_int_equal(error_adopt(&e, ERR_INPUT), -1);
    assert_int_equal(e.kind, ERR_INPUT);
    assert_string_equal(e.text, "/tmp/c.json: field key must be a string");
    error_clear(&e);
    error_adopt(&e, ERR_SYSTEM);
    assert_string_equal(e.text, "no reason given");
}

static void test_token_wipes_its_random_bytes(void **state)
{
    (void)state;
    unsigned char raw[TOKEN_BYTES];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(0xa0 + i);
    char hex[TOKEN_HEX_LEN + 1];
    token_hex_wipe(raw, sizeof raw, hex);
    assert_int_equal(strlen(hex), TOKEN_HEX_LEN);
    assert_memory_equal(hex, "a0a1a2a3", 8);
    assert_string_equal(hex + TOKEN_HEX_LEN - 2, "bf");
    static const unsigned char zero[TOKEN_BYTES];
    assert_memory_equal(raw, zero, sizeof raw);
}

static void test_tokens_are_fresh_hex(void **state)
{
    (void)state;
    char a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];
    struct error e = {0};
    assert_int_equal(token_new(a, &e), 0);
    assert_int_equal(token_new(b, &e), 0);
    assert_int_equal(e.kind, ERR_NONE);
    assert_int_equal(strlen(a), TOKEN_HEX_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), TOKEN_HEX_LEN);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_kind),
        cmocka_unit_test(test_prefix_keeps_the_kind),
        cmocka_unit_test(test_prefix_of_an_error_nobody_set),
        cmocka_unit_test(test_long_texts_are_cut),
        cmocka_unit_test(test_exit_statuses),
        cmocka_unit_test(test_adopt_a_kernel_error),
        cmocka_unit_test(test_token_wipes_its_random_bytes),
        cmocka_unit_test(test_tokens_are_fresh_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
