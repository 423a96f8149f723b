/* test_signer.c — HMAC-SHA256 signing: RFC 4231 vectors, jupyter_client's own signatures
 * (tests/unit/vectors, written by gen_vectors.py), the length-first check, unsigned sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "kernel/signer.h"
#include "tests/unit/vectors/vectors.h"

static struct signer *make(const void *key, size_t len)
{
    struct signer *s = NULL;
    char err[256] = "";
    if (signer_new("hmac-sha256", key, len, &s, err, sizeof err) != 0)
        fail_msg("signer_new: %s", err);
    return s;
}

/* Four parts from one string split at the given offsets. */
static void split4(const char *text, size_t a, size_t b, size_t c, struct signed_part parts[4])
{
    size_t n = strlen(text);
    parts[0] = (struct signed_part){text, a};
    parts[1] = (struct signed_part){text + a, b - a};
    parts[2] = (struct signed_part){text + b, c - b};
    parts[3] = (struct signed_part){text + c, n - c};
}

/* RFC 4231 test cases 1 and 2: the signature is HMAC-SHA256 over the parts concatenated. */
static void test_rfc4231(void **state)
{
    (void)state;
    unsigned char key1[20];
    memset(key1, 0x0b, sizeof key1);
    struct signer *s = make(key1, sizeof key1);
    struct signed_part parts[4];
    char hex[SIGNER_HEX_LEN + 1];
    /* Every way of cutting "Hi There" into four parts gives the same signature. */
    for (size_t a = 0; a <= 8; a++)
        for (size_t b = a; b <= 8; b++)
            for (size_t c = b; c <= 8; c += 3) {
                split4("Hi There", a, b, c, parts);
                assert_int_equal(signer_sign(s, parts, hex), 0);
                assert_string_equal(
                    hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
                assert_int_equal(signer_verify(s, parts, hex, SIGNER_HEX_LEN), 0);
            }
    signer_free(s);

    s = make("Jefe", 4);
    split4("what do ya want for nothing?", 4, 7, 20, parts);
    assert_int_equal(signer_sign(s, parts, hex), 0);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    signer_free(s);
}

/* Every vector: our signature is jupyter_client's, and our verdict is its verdict. */
static void test_jupyter_client_vectors(void **state)
{
    (void)state;
    struct vectors vs;
    char err[512];
    if (vectors_load(&vs, err, sizeof err))
        fail_msg("%s", err);
    assert_true(vs.n >= 10);
    size_t checked_sign = 0, checked_invalid = 0;
    for (size_t i = 0; i < vs.n; i++) {
        const struct vector *v = &vs.v[i];
        struct signer *s = make(v->key, v->key_len);
        size_t d = v->n_ids;
        assert_int_equal(v->frames[d].size, MESSAGE_DELIMITER_LEN);
        struct signed_part parts[4];
        for (int p = 0; p < 4; p++)
            parts[p] = (struct signed_part){v->frames[d + 2 + p].data, v->frames[d + 2 + p].size};
        const struct frame *sig = &v->frames[d + 1];
        int ok = signer_verify(s, parts, sig->data, sig->size) == 0;
        if (ok != v->valid)
            fail_msg("case '%s': signer_verify says %s, jupyter_client says %s", v->name,
                     ok ? "valid" : "invalid", v->valid ? "valid" : "invalid");
        assert_int_equal(signer_enabled(s), v->key_len > 0);
        if (v->valid) {
            char hex[SIGNER_HEX_LEN + 1];
            assert_int_equal(signer_sign(s, parts, hex), 0);
            if (v->key_len > 0 && strcmp(v->name, "empty key: any signature frame is ignored"))
                assert_string_equal(hex, v->signature);
            if (v->key_len == 0)
                assert_string_equal(hex, "");
            checked_sign++;
        } else {
            checked_invalid++;
        }
        signer_free(s);
    }
    assert_true(checked_sign >= 6);
    assert_true(checked_invalid >= 8);
    vectors_free(&vs);
}

static void test_length_checked_first(void **state)
{
    (void)state;
    struct signer *s = make("k", 1);
    struct signed_part parts[4];
    split4("{}{}{}{}", 2, 4, 6, parts);
    char hex[SIGNER_HEX_LEN + 2];
    assert_int_equal(signer_sign(s, parts, hex), 0);
    assert_int_equal(strlen(hex), SIGNER_HEX_LEN);
    assert_int_equal(signer_verify(s, parts, hex, SIGNER_HEX_LEN), 0);
    /* A prefix or an extension of the right signature is wrong. */
    assert_int_not_equal(signer_verify(s, parts, hex, SIGNER_HEX_LEN - 1), 0);
    strcat(hex, "0");
    assert_int_not_equal(signer_verify(s, parts, hex, SIGNER_HEX_LEN + 1), 0);
    assert_int_not_equal(signer_verify(s, parts, hex, 0), 0);
    assert_int_not_equal(signer_verify(s, parts, "", 0), 0);
    hex[SIGNER_HEX_LEN] = '\0';
    /* Uppercase hex of the right digest is refused, as jupyter_client does. */
    char upper[SIGNER_HEX_LEN + 1];
    for (int i = 0; i <= SIGNER_HEX_LEN; i++)
        upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 'a' + 'A' : hex[i]);
    if (strcmp(upper, hex) != 0)
        assert_int_not_equal(signer_verify(s, parts, upper, SIGNER_HEX_LEN), 0);
    /* The last digit wrong. */
    hex[SIGNER_HEX_LEN - 1] = hex[SIGNER_HEX_LEN - 1] == '0' ? '1' : '0';
    assert_int_not_equal(signer_verify(s, parts, hex, SIGNER_HEX_LEN), 0);
    char zeros[SIGNER_HEX_LEN + 1];
    memset(zeros, '0', SIGNER_HEX_LEN);
    assert_int_not_equal(signer_verify(s, parts, zeros, SIGNER_HEX_LEN), 0);
    signer_free(s);
}

/* Key bytes count, not C strings: an embedded NUL changes the key. */
static void test_key_is_bytes(void **state)
{
    (void)state;
    struct signer *a = make("a\0b", 3), *b = make("a", 1);
    struct signed_part parts[4];
    split4("{}{}{}{}", 2, 4, 6, parts);
    char ha[SIGNER_HEX_LEN + 1], hb[SIGNER_HEX_LEN + 1];
    assert_int_equal(signer_sign(a, parts, ha), 0);
    assert_int_equal(signer_sign(b, parts, hb), 0);
    assert_string_not_equal(ha, hb);
    assert_int_not_equal(signer_verify(b, parts, ha, SIGNER_HEX_LEN), 0);
    signer_free(a);
    signer_free(b);
}

/* The same signer signs many messages; the keyed context is not consumed. */
static void test_signer_reusable(void **state)
{
    (void)state;
    struct signer *s = make("reuse", 5);
    struct signed_part parts[4];
    split4("{\"a\":1}{}{}{\"b\":2}", 7, 9, 11, parts);
    char first[SIGNER_HEX_LEN + 1], again[SIGNER_HEX_LEN + 1];
    assert_int_equal(signer_sign(s, parts, first), 0);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(signer_sign(s, parts, again), 0);
        assert_string_equal(first, again);
    }
    signer_free(s);
}

static void test_empty_key_is_unsigned(void **state)
{
    (void)state;
    struct signer *s = make("", 0);
    assert_int_equal(signer_enabled(s), 0);
    struct signed_part parts[4];
    split4("{}{}{}{}", 2, 4, 6, parts);
    char hex[SIGNER_HEX_LEN + 1];
    memset(hex, 'x', sizeof hex);
    assert_int_equal(signer_sign(s, parts, hex), 0);
    assert_string_equal(hex, "");
    /* The spec: an unsigned session ignores the signature frame. */
    assert_int_equal(signer_verify(s, parts, "", 0), 0);
    assert_int_equal(signer_verify(s, parts, "garbage", 7), 0);
    signer_free(s);
    /* A NULL key with length 0 is the same. */
    s = make(NULL, 0);
    assert_int_equal(signer_enabled(s), 0);
    signer_free(s);
    signer_free(NULL);
}

static void test_other_schemes_refused(void **state)
{
    (void)state;
    const char *schemes[] = {"hmac-md5", "hmac-sha1", "hmac-sha512", "HMAC-SHA256", "", "sha256"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        struct signer *s = (struct signer *)0x1;
        char err[256] = "";
        assert_int_equal(signer_new(schemes[i], "k", 1, &s, err, sizeof err), -1);
        assert_ptr_equal(s, (struct signer *)0x1); /* OUT untouched */
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", schemes[i]);
        if (!strstr(err, quoted) || !strstr(err, "hmac-sha256"))
            fail_msg("scheme %s: error does not name it: %s", schemes[i], err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4231),
        cmocka_unit_test(test_jupyter_client_vectors),
        cmocka_unit_test(test_length_checked_first),
        cmocka_unit_test(test_key_is_bytes),
        cmocka_unit_test(test_signer_reusable),
        cmocka_unit_test(test_empty_key_is_unsigned),
        cmocka_unit_test(test_other_schemes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
