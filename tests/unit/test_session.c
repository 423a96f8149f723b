/* test_session.c — the launcher's own messages: ISO 8601 dates, UUIDs, session ids,
 * and the headers, parents and signatures session_build writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel/session.h"
#include "kernel/signer.h"

#define DATE_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$"
#define UUID_RE "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"

static int matches(const char *pattern, const char *text)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        fail_msg("bad regex %s", pattern);
    int ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static void date_is(time_t sec, long nsec, const char *want)
{
    struct timespec ts = {sec, nsec};
    char buf[64];
    assert_int_equal(iso8601_utc(&ts, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
    assert_true(matches(DATE_RE, buf));
}

static void test_iso8601_known(void **state)
{
    (void)state;
    date_is(0, 0, "1970-01-01T00:00:00.000000Z");
    /* The instant of the jupyter_client vectors (gen_vectors.py): the same text. */
    date_is(1795708954, 123456000, "2026-11-26T16:02:34.123456Z");
    date_is(1795708954, 123456789, "2026-11-26T16:02:34.123456Z"); /* truncated, not rounded */
    date_is(1709251199, 999999999, "2024-02-29T23:59:59.999999Z"); /* stays in its second */
    date_is(1709251199, 1000, "2024-02-29T23:59:59.000001Z");
    date_is(1709251199, 999, "2024-02-29T23:59:59.000000Z");
    date_is(951782400, 0, "2000-02-29T00:00:00.000000Z");
    date_is(4102444799, 500000000, "2099-12-31T23:59:59.500000Z");
}

/* UTC whatever the local time zone says. */
static void test_iso8601_ignores_tz(void **state)
{
    (void)state;
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", "NST+3:30", 1); /* POSIX form, no tzdata needed: UTC-3:30 */
    tzset();
    date_is(1795708954, 5000, "2026-11-26T16:02:34.000005Z");
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void test_iso8601_now_and_buffer(void **state)
{
    (void)state;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char buf[28];
    assert_int_equal(iso8601_utc(&now, buf, sizeof buf), 0);
    assert_true(matches(DATE_RE, buf));
    assert_int_equal(strlen(buf), 27);
    /* 28 bytes are needed; 27 are too few and nothing past them is written. */
    char small[40];
    memset(small, '#', sizeof small);
    assert_int_equal(iso8601_utc(&now, small, 27), -1);
    for (size_t i = 27; i < sizeof small; i++)
        assert_int_equal(small[i], '#');
    assert_int_equal(iso8601_utc(&now, small, 0), -1);
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_uuid_format_and_uniqueness(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*ids)[37] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        uuid_text(ids[i]);
        if (!matches(UUID_RE, ids[i]))
            fail_msg("not a random lowercase UUID: %s", ids[i]);
    }
    qsort(ids, N, sizeof *ids, compare_ids);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("uuid_text repeated %s", ids[i]);
    free(ids);
}

static void test_session_ids_differ(void **state)
{
    (void)state;
    struct session a, b, c;
    session_init(&a, NULL, "user");
    session_init(&b, NULL, "user");
    session_init(&c, NULL, "user");
    assert_true(matches(UUID_RE, a.id));
    assert_string_not_equal(a.id, b.id);
    assert_string_not_equal(b.id, c.id);
    assert_string_not_equal(a.id, c.id);
    assert_string_equal(a.username, "user");
    /* No username: a stand-in; a long one is cut to the field. */
    session_init(&a, NULL, NULL);
    assert_string_equal(a.username, "kernel");
    session_init(&a, NULL, "");
    assert_string_equal(a.username, "kernel");
    char longname[200];
    memset(longname, 'u', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    session_init(&a, NULL, longname);
    assert_int_equal(strlen(a.username), sizeof a.username - 1);
}

static struct signer *make_signer(const char *key)
{
    struct signer *s = NULL;
    char err[256];
    if (signer_new("hmac-sha256", key, strlen(key), &s, err, sizeof err))
        fail_msg("%s", err);
    return s;
}

static void test_build_header(void **state)
{
    (void)state;
    struct signer *signer = make_signer("k3y");
    struct session sess;
    session_init(&sess, signer, "alice");
    json_t *content = json_pack("{s:s, s:i}", "execution_state", "idle", "n", 5);
    struct outgoing o, o2;
    assert_int_equal(session_build(&sess, "status", NULL, content, &o), 0);
    assert_int_equal(session_build(&sess, "status", NULL, content, &o2), 0);
    assert_true(matches(UUID_RE, o.msg_id));
    assert_string_not_equal(o.msg_id, o2.msg_id);

    json_error_t jerr;
    json_t *h = json_loads(o.header, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(h);
    assert_int_equal(json_object_size(h), 6);
    assert_string_equal(json_string_value(json_object_get(h, "msg_id")), o.msg_id);
    assert_string_equal(json_string_value(json_object_get(h, "msg_type")), "status");
    assert_string_equal(json_string_value(json_object_get(h, "username")), "alice");
    assert_string_equal(json_string_value(json_object_get(h, "session")), sess.id);
    assert_string_equal(json_string_value(json_object_get(h, "version")), "5.3");
    const char *date = json_string_value(json_object_get(h, "date"));
    assert_non_null(date);
    if (!matches(DATE_RE, date))
        fail_msg("date %s", date);
    json_decref(h);

    /* No parent: "{}"; metadata "{}"; content is the JSON given. */
    assert_string_equal(o.parent, "{}");
    assert_string_equal(o.metadata, "{}");
    json_t *back = json_loads(o.content, 0, NULL);
    assert_true(json_equal(back, content));
    json_decref(back);

    /* The signature is the HMAC of the four parts as written. */
    const struct signed_part parts[4] = {{o.header, strlen(o.header)},
                                         {o.parent, strlen(o.parent)},
                                         {o.metadata, strlen(o.metadata)},
                                         {o.content, strlen(o.content)}};
    assert_int_equal(strlen(o.signature), SIGNER_HEX_LEN);
    assert_int_equal(signer_verify(signer, parts, o.signature, strlen(o.signature)), 0);

    outgoing_free(&o);
    outgoing_free(&o2);
    assert_null(o.header);
    outgoing_free(&o); /* twice is harmless */
    json_decref(content);
    signer_free(signer);
}

/* The parent is the request's header frame, byte for byte (not re-encoded). */
static void test_build_parent_copied(void **state)
{
    (void)state;
    struct signer *signer = make_signer("k");
    struct session sess;
    session_init(&sess, signer, "u");
    const char raw[] = "{ \"msg_id\" : \"p\\u00e9\",\"msg_type\":\"execute_request\",  \"z\":1 }XYZ";
    struct frame parent = {raw, sizeof raw - 1 - 3}; /* not NUL-terminated at its end */
    json_t *content = json_object();
    struct outgoing o;
    assert_int_equal(session_build(&sess, "execute_reply", &parent, content, &o), 0);
    assert_int_equal(strlen(o.parent), parent.size);
    assert_memory_equal(o.parent, raw, parent.size);
    assert_string_equal(o.content, "{}");
    outgoing_free(&o);
    json_decref(content);
    signer_free(signer);
}

static void test_build_unsigned(void **state)
{
    (void)state;
    struct signer *signer = NULL;
    char err[128];
    assert_int_equal(signer_new("hmac-sha256", "", 0, &signer, err, sizeof err), 0);
    struct session sess;
    session_init(&sess, signer, "u");
    json_t *content = json_pack("{s:s}", "text", "\xe6\x97\xa5\xe6\x9c\xac");
    struct outgoing o;
    assert_int_equal(session_build(&sess, "stream", NULL, content, &o), 0);
    assert_string_equal(o.signature, "");
    json_t *back = json_loads(o.content, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(back, "text")), "\xe6\x97\xa5\xe6\x9c\xac");
    json_decref(back);
    outgoing_free(&o);
    json_decref(content);
    signer_free(signer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iso8601_known),
        cmocka_unit_test(test_iso8601_ignores_tz),
        cmocka_unit_test(test_iso8601_now_and_buffer),
        cmocka_unit_test(test_uuid_format_and_uniqueness),
        cmocka_unit_test(test_session_ids_differ),
        cmocka_unit_test(test_build_header),
        cmocka_unit_test(test_build_parent_copied),
        cmocka_unit_test(test_build_unsigned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
