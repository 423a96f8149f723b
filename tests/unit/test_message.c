/* test_message.c — the wire codec: round trips through session_build, jupyter_client's
 * messages (tests/unit/vectors), every malformed message, reply types, frame_contains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/message.h"
#include "kernel/session.h"
#include "kernel/signer.h"
#include "tests/unit/vectors/vectors.h"

#define KEY "a0436f6c-1916-498b-8eb9-e81ab9368e84"

static struct signer *make_signer(const char *key)
{
    struct signer *s = NULL;
    char err[256] = "";
    if (signer_new("hmac-sha256", key, strlen(key), &s, err, sizeof err) != 0)
        fail_msg("signer_new: %s", err);
    return s;
}

static struct frame text_frame(const char *text)
{
    return (struct frame){text, strlen(text)};
}

/* A message in frames, the frames pointing into an outgoing built by session_build. */
struct built {
    struct outgoing out;
    struct frame frames[16];
    size_t n;
};

static void build(struct session *sess, const char *type, const struct frame *parent,
                  const char *content_json, const struct frame *ids, size_t n_ids,
                  const struct frame *buffers, size_t n_buffers, struct built *b)
{
    json_t *content = json_loads(content_json, 0, NULL);
    assert_non_null(content);
    assert_int_equal(session_build(sess, type, parent, content, &b->out), 0);
    json_decref(content);
    b->n = 0;
    for (size_t i = 0; i < n_ids; i++)
        b->frames[b->n++] = ids[i];
    b->frames[b->n++] = text_frame(MESSAGE_DELIMITER);
    b->frames[b->n++] = text_frame(b->out.signature);
    b->frames[b->n++] = text_frame(b->out.header);
    b->frames[b->n++] = text_frame(b->out.parent);
    b->frames[b->n++] = text_frame(b->out.metadata);
    b->frames[b->n++] = text_frame(b->out.content);
    for (size_t i = 0; i < n_buffers; i++)
        b->frames[b->n++] = buffers[i];
}

static int frame_is(const struct frame *f, const void *data, size_t size)
{
    return f->size == size && (size == 0 || memcmp(f->data, data, size) == 0);
}

/* session_build → frames → split → verify → header_read gives back what was built. */
static void test_round_trip(void **state)
{
    (void)state;
    struct signer *signer = make_signer(KEY);
    struct session sess;
    session_init(&sess, signer, "tester");
    const char *parent_text = "{\"msg_id\":\"p1\",\"msg_type\":\"execute_request\","
                              "\"session\":\"s\",\"username\":\"u\",\"date\":\"x\",\"version\":\"5.3\"}";
    struct frame parent = text_frame(parent_text);
    const unsigned char id_bin[] = {0x00, 0x80, 0x00, 0x41, 0xa7};
    struct frame ids[3] = {{id_bin, sizeof id_bin}, text_frame("router-2"), {"", 0}};
    const unsigned char blob[] = {0xff, 0x00, 0x01};
    struct frame bufs[2] = {{blob, sizeof blob}, {"", 0}};

    for (size_t n_ids = 0; n_ids <= 3; n_ids++)
        for (size_t n_bufs = 0; n_bufs <= 2; n_bufs++) {
            struct built b;
            build(&sess, "execute_reply", n_ids % 2 ? &parent : NULL,
                  "{\"status\":\"ok\",\"execution_count\":3,\"text\":\"h\\u00e9llo \\u2713\"}", ids,
                  n_ids, bufs, n_bufs, &b);
            struct message_view v;
            assert_int_equal(message_split(b.frames, b.n, &v), MESSAGE_OK);
            assert_int_equal(v.n_frames, b.n);
            assert_int_equal(v.n_ids, n_ids);
            assert_int_equal(v.delimiter, n_ids);
            for (size_t i = 0; i < n_ids; i++)
                assert_true(frame_is(&b.frames[i], ids[i].data, ids[i].size));
            assert_int_equal(v.n_buffers, n_bufs);
            assert_int_equal(v.first_buffer, n_ids + 6);
            for (size_t i = 0; i < n_bufs; i++)
                assert_true(frame_is(&b.frames[v.first_buffer + i], bufs[i].data, bufs[i].size));
            assert_ptr_equal(v.header.data, b.out.header); /* a view, not a copy */
            assert_ptr_equal(v.content.data, b.out.content);
            assert_int_equal(message_verify(signer, &v), MESSAGE_OK);

            struct message_header h;
            assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
            assert_string_equal(h.msg_id, b.out.msg_id);
            assert_string_equal(h.msg_type, "execute_reply");
            assert_string_equal(h.session, sess.id);
            if (n_ids % 2)
                assert_true(frame_is(&v.parent, parent_text, strlen(parent_text)));
            else
                assert_true(frame_is(&v.parent, "{}", 2));
            json_t *content = json_loadb(v.content.data, v.content.size, 0, NULL);
            assert_non_null(content);
            assert_string_equal(json_string_value(json_object_get(content, "text")),
                                "h\xc3\xa9llo \xe2\x9c\x93");
            assert_int_equal(json_integer_value(json_object_get(content, "execution_count")), 3);
            json_decref(content);

            /* A changed byte in any signed part breaks the signature; buffers are not signed. */
            char *parts[4] = {b.out.header, b.out.parent, b.out.metadata, b.out.content};
            for (int p = 0; p < 4; p++) {
                parts[p][1] ^= 1;
                assert_int_equal(message_verify(signer, &v), MESSAGE_BAD_SIGNATURE);
                parts[p][1] ^= 1;
            }
            if (n_bufs) {
                unsigned char changed[] = {1, 2, 3};
                b.frames[v.first_buffer] = (struct frame){changed, sizeof changed};
                struct message_view v2;
                assert_int_equal(message_split(b.frames, b.n, &v2), MESSAGE_OK);
                assert_int_equal(message_verify(signer, &v2), MESSAGE_OK);
            }
            outgoing_free(&b.out);
        }
    signer_free(signer);
}

/* Messages serialized by jupyter_client: split, verify and header agree with it. */
static void test_jupyter_client_vectors(void **state)
{
    (void)state;
    struct vectors vs;
    char err[512];
    if (vectors_load(&vs, err, sizeof err))
        fail_msg("%s", err);
    assert_true(vs.n >= 10);
    for (size_t i = 0; i < vs.n; i++) {
        const struct vector *vec = &vs.v[i];
        struct signer *s = NULL;
        assert_int_equal(signer_new("hmac-sha256", vec->key, vec->key_len, &s, err, sizeof err), 0);
        struct message_view v;
        assert_int_equal(message_split(vec->frames, vec->n_frames, &v), MESSAGE_OK);
        assert_int_equal(v.n_ids, vec->n_ids);
        assert_int_equal(v.n_buffers, vec->n_buffers);
        enum message_status st = message_verify(s, &v);
        if ((st == MESSAGE_OK) != vec->valid)
            fail_msg("case '%s': message_verify says %s, jupyter_client says %s", vec->name,
                     message_status_text(st), vec->valid ? "valid" : "invalid");
        if (vec->valid) {
            struct message_header h;
            assert_int_equal(message_header_read(&v.header, &h), MESSAGE_OK);
            assert_string_equal(h.msg_id, vec->msg_id);
            assert_string_equal(h.msg_type, vec->msg_type);
            assert_string_equal(h.session, vec->session);
        }
        signer_free(s);
    }
    vectors_free(&vs);
}

/* Frames of a well-formed message after N_IDS identities, for the malformed cases. */
static size_t good_frames(struct signer *s, struct frame *f, size_t n_ids, char sig[65])
{
    static const char *const header = "{\"msg_id\":\"m1\",\"msg_type\":\"execute_request\","
                                      "\"session\":\"s1\",\"username\":\"u\",\"version\":\"5.3\"}";
    size_t n = 0;
    for (size_t i = 0; i < n_ids; i++)
        f[n++] = text_frame("client");
    f[n++] = text_frame(MESSAGE_DELIMITER);
    const struct signed_part parts[4] = {
        {header, strlen(header)}, {"{}", 2}, {"{}", 2}, {"{\"code\":\"1\"}", 12}};
    assert_int_equal(signer_sign(s, parts, sig), 0);
    f[n++] = text_frame(sig);
    f[n++] = text_frame(header);
    f[n++] = text_frame("{}");
    f[n++] = text_frame("{}");
    f[n++] = text_frame("{\"code\":\"1\"}");
    return n;
}

static void test_no_delimiter(void **state)
{
    (void)state;
    struct message_view v;
    assert_int_equal(message_split(NULL, 0, &v), MESSAGE_NO_DELIMITER);
    struct frame one[1] = {text_frame("{}")};
    assert_int_equal(message_split(one, 1, &v), MESSAGE_NO_DELIMITER);
    /* Near misses of "<IDS|MSG>" are not the delimiter. */
    const char *near[] = {"<IDS|MSG", "<IDS|MSG> ", "<ids|msg>", " <IDS|MSG>", "<IDS|MSG\0"};
    for (size_t i = 0; i < sizeof near / sizeof *near; i++) {
        struct frame f[7] = {text_frame("id"), {near[i], i == 4 ? 9 : strlen(near[i])},
                             text_frame(""), text_frame("{}"), text_frame("{}"),
                             text_frame("{}"), text_frame("{}")};
        assert_int_equal(message_split(f, 7, &v), MESSAGE_NO_DELIMITER);
    }
    struct signer *s = make_signer("k");
    struct frame f[16];
    char sig[65];
    size_t n = good_frames(s, f, 2, sig);
    f[2] = text_frame("something");
    assert_int_equal(message_split(f, n, &v), MESSAGE_NO_DELIMITER);
    signer_free(s);
}

/* Zero to four frames after the delimiter are too few; five are enough. */
static void test_too_few_frames(void **state)
{
    (void)state;
    struct signer *s = make_signer("k");
    for (size_t n_ids = 0; n_ids <= 2; n_ids++) {
        struct frame f[16];
        char sig[65];
        size_t n = good_frames(s, f, n_ids, sig);
        struct message_view v;
        for (size_t after = 0; after <= 4; after++) /* after = 0: the delimiter is last */
            if (message_split(f, n_ids + 1 + after, &v) != MESSAGE_TOO_FEW_FRAMES)
                fail_msg("%zu identities, %zu frames after the delimiter: not TOO_FEW_FRAMES",
                         n_ids, after);
        assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
        assert_int_equal(message_verify(s, &v), MESSAGE_OK);
        assert_int_equal(v.n_buffers, 0);
    }
    signer_free(s);
}

static void test_bad_signatures(void **state)
{
    (void)state;
    struct signer *s = make_signer(KEY);
    struct frame f[16];
    char sig[65];
    size_t n = good_frames(s, f, 1, sig);
    struct message_view v;
    char other[80];

    /* Empty signature with a key. */
    f[2] = text_frame("");
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(s, &v), MESSAGE_BAD_SIGNATURE);
    /* 63 and 65 characters: the right one cut short, and with one more digit. */
    snprintf(other, sizeof other, "%.63s", sig);
    f[2] = text_frame(other);
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(s, &v), MESSAGE_BAD_SIGNATURE);
    snprintf(other, sizeof other, "%s0", sig);
    f[2] = text_frame(other);
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(s, &v), MESSAGE_BAD_SIGNATURE);
    /* Right length, wrong value: every position changed in turn. */
    for (int i = 0; i < 64; i++) {
        snprintf(other, sizeof other, "%s", sig);
        other[i] = other[i] == 'a' ? 'b' : 'a';
        f[2] = text_frame(other);
        assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
        assert_int_equal(message_verify(s, &v), MESSAGE_BAD_SIGNATURE);
    }
    /* Uppercase hex of the right digest. */
    for (int i = 0; i <= 64; i++)
        other[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    assert_string_not_equal(other, sig);
    f[2] = text_frame(other);
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(s, &v), MESSAGE_BAD_SIGNATURE);
    /* The right one passes. */
    f[2] = text_frame(sig);
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(s, &v), MESSAGE_OK);
    signer_free(s);

    /* Signed with another key. */
    struct signer *s2 = make_signer("another key");
    assert_int_equal(message_verify(s2, &v), MESSAGE_BAD_SIGNATURE);
    signer_free(s2);
    /* Unsigned session: the signature frame is not checked. */
    struct signer *none = NULL;
    char err[128];
    assert_int_equal(signer_new("hmac-sha256", "", 0, &none, err, sizeof err), 0);
    assert_int_equal(message_verify(none, &v), MESSAGE_OK);
    f[2] = text_frame("");
    assert_int_equal(message_split(f, n, &v), MESSAGE_OK);
    assert_int_equal(message_verify(none, &v), MESSAGE_OK);
    signer_free(none);
}

static enum message_status header_status(const char *text, size_t len)
{
    struct frame f = {text, len};
    struct message_header h;
    return message_header_read(&f, &h);
}

#define BAD_HEADER(text) \
    do { \
        if (header_status(text, sizeof(text) - 1) != MESSAGE_BAD_HEADER) \
            fail_msg("header accepted: %s", text); \
    } while (0)

static void test_bad_headers(void **state)
{
    (void)state;
    /* Not JSON. */
    BAD_HEADER("");
    BAD_HEADER("{");
    BAD_HEADER("msg_id");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"t\"");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"t\"} trailing");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"t\",}");
    BAD_HEADER("\xff\xfe{}");
    /* Invalid UTF-8 inside a string. */
    BAD_HEADER("{\"msg_id\":\"m\xc3\",\"msg_type\":\"t\"}");
    /* JSON, but not an object. */
    BAD_HEADER("[]");
    BAD_HEADER("[\"msg_id\",\"msg_type\"]");
    BAD_HEADER("\"msg_id\"");
    BAD_HEADER("42");
    BAD_HEADER("null");
    BAD_HEADER("true");
    /* Missing fields. */
    BAD_HEADER("{}");
    BAD_HEADER("{\"msg_type\":\"execute_request\"}");
    BAD_HEADER("{\"msg_id\":\"m\"}");
    /* Wrong types. */
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":7}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":null}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":[\"a\"]}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":{\"a\":1}}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":true}");
    BAD_HEADER("{\"msg_id\":1,\"msg_type\":\"t\"}");
    BAD_HEADER("{\"msg_id\":null,\"msg_type\":\"t\"}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"t\",\"session\":5}");
    /* An empty msg_type names nothing. */
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"\"}");
    /* Duplicate keys: which one counts would be a parser's choice. */
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"execute_request\",\"msg_type\":\"shutdown_request\"}");
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_id\":\"n\",\"msg_type\":\"t\"}");
    /* A NUL inside a string would cut it short. */
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"shutdown_request\\u0000x\"}");
    /* Raw NUL bytes in the frame. */
    BAD_HEADER("{\"msg_id\":\"m\",\"msg_type\":\"t\"}\0");
    assert_int_equal(header_status("{\"msg_id\":\"m\",\"msg_type\":\"t\"}", 29), MESSAGE_OK);
}

/* The fields have fixed sizes: one byte over is refused, exactly full is kept whole. */
static void test_overlong_fields(void **state)
{
    (void)state;
    struct message_header h;
    const struct {
        const char *field;
        size_t max; /* longest accepted */
    } fields[] = {
        {"msg_id", sizeof h.msg_id - 1},
        {"msg_type", sizeof h.msg_type - 1},
        {"session", sizeof h.session - 1},
    };
    for (size_t i = 0; i < 3; i++)
        for (size_t len = fields[i].max - 1; len <= fields[i].max + 1000; len += len == fields[i].max + 1 ? 998 : 1) {
            char *value = malloc(len + 1);
            memset(value, 'x', len);
            value[len] = '\0';
            json_t *o = json_pack("{s:s, s:s}", "msg_id", "m", "msg_type", "t");
            json_object_set_new(o, fields[i].field, json_string(value));
            char *text = json_dumps(o, JSON_COMPACT);
            struct frame f = text_frame(text);
            enum message_status st = message_header_read(&f, &h);
            if (len <= fields[i].max) {
                assert_int_equal(st, MESSAGE_OK);
                const char *got = i == 0 ? h.msg_id : i == 1 ? h.msg_type : h.session;
                assert_string_equal(got, value);
            } else if (st != MESSAGE_BAD_HEADER) {
                fail_msg("%s of %zu bytes accepted", fields[i].field, len);
            }
            free(text);
            free(value);
            json_decref(o);
        }
}

/* The header read does not depend on what the header frame is followed by. */
static void test_header_is_not_nul_terminated(void **state)
{
    (void)state;
    const char text[] = "{\"msg_id\":\"m\",\"msg_type\":\"kernel_info_request\"}GARBAGE";
    struct frame f = {text, sizeof text - 1 - 7};
    struct message_header h;
    assert_int_equal(message_header_read(&f, &h), MESSAGE_OK);
    assert_string_equal(h.msg_type, "kernel_info_request");
    assert_string_equal(h.session, "");
    /* Heap copy with no terminator at all, so ASan sees any read past the end. */
    char *exact = malloc(f.size);
    memcpy(exact, text, f.size);
    f.data = exact;
    assert_int_equal(message_header_read(&f, &h), MESSAGE_OK);
    assert_string_equal(h.msg_id, "m");
    free(exact);
}

static void test_reply_type(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(message_reply_type("execute_request", buf, sizeof buf), 0);
    assert_string_equal(buf, "execute_reply");
    assert_int_equal(message_reply_type("kernel_info_request", buf, sizeof buf), 0);
    assert_string_equal(buf, "kernel_info_reply");
    assert_int_equal(message_reply_type("shutdown_request", buf, sizeof buf), 0);
    assert_string_equal(buf, "shutdown_reply");
    assert_int_equal(message_reply_type("x_request", buf, sizeof buf), 0);
    assert_string_equal(buf, "x_reply");
    /* Not requests. */
    const char *not_requests[] = {"execute_reply", "status", "_request", "request", "",
                                  "execute_request_", "execute_Request", "execute_requests"};
    for (size_t i = 0; i < sizeof not_requests / sizeof *not_requests; i++)
        if (message_reply_type(not_requests[i], buf, sizeof buf) != -1)
            fail_msg("'%s' taken for a request", not_requests[i]);
    /* The buffer must hold the reply and its NUL: "execute_reply" is 13 + 1. */
    char small[14];
    assert_int_equal(message_reply_type("execute_request", small, 14), 0);
    assert_string_equal(small, "execute_reply");
    assert_int_equal(message_reply_type("execute_request", small, 13), -1);
    assert_int_equal(message_reply_type("execute_request", small, 1), -1);
}

static void test_frame_contains(void **state)
{
    (void)state;
    const char text[] = "{\"msg_type\":\"iopub_welcome\"}";
    struct frame f = {text, sizeof text - 1};
    assert_true(frame_contains(&f, "iopub_welcome"));
    assert_true(frame_contains(&f, "{"));
    assert_true(frame_contains(&f, text));
    assert_false(frame_contains(&f, "iopub_welcomeX"));
    assert_false(frame_contains(&f, "status"));
    /* The frame's size bounds the search. */
    struct frame cut = {text, 15};
    assert_false(frame_contains(&cut, "iopub_welcome"));
    const char bin[] = {'a', '\0', 'b', 'c'};
    struct frame fb = {bin, sizeof bin};
    assert_true(frame_contains(&fb, "bc"));
    struct frame empty = {"", 0};
    assert_false(frame_contains(&empty, "a"));
}

static void test_status_text(void **state)
{
    (void)state;
    enum message_status all[] = {MESSAGE_OK, MESSAGE_NO_DELIMITER, MESSAGE_TOO_FEW_FRAMES,
                                 MESSAGE_BAD_SIGNATURE, MESSAGE_BAD_HEADER, MESSAGE_TOO_LARGE};
    for (size_t i = 0; i < 6; i++) {
        assert_string_not_equal(message_status_text(all[i]), "unknown");
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(message_status_text(all[i]), message_status_text(all[j]));
    }
    assert_string_equal(message_status_text((enum message_status)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_jupyter_client_vectors),
        cmocka_unit_test(test_no_delimiter),
        cmocka_unit_test(test_too_few_frames),
        cmocka_unit_test(test_bad_signatures),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_overlong_fields),
        cmocka_unit_test(test_header_is_not_nul_terminated),
        cmocka_unit_test(test_reply_type),
        cmocka_unit_test(test_frame_contains),
        cmocka_unit_test(test_status_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
