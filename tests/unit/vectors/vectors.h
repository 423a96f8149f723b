/* vectors.h — loads tests/unit/vectors/signatures.json (written by gen_vectors.py with
 * jupyter_client's Session) for the C unit tests. Header-only: each test binary is
 * one .c file. The file is found next to this header, or at $SPARK_K8S_VECTORS. */
#ifndef SPARK_K8S_TEST_VECTORS_H
#define SPARK_K8S_TEST_VECTORS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/message.h"

struct vector {
    const char *name;
    unsigned char *key; /* owned */
    size_t key_len;
    struct frame *frames; /* owned, each data owned */
    size_t n_frames, n_ids, n_buffers;
    const char *signature;
    int valid;
    const char *msg_id, *msg_type, *session, *date; /* "" for invalid cases */
};

struct vectors {
    json_t *root; /* owns the strings the vectors point to */
    struct vector *v;
    size_t n;
};

static int vectors_hex(const char *hex, unsigned char **out, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2)
        return -1;
    unsigned char *b = malloc(n / 2 + 1);
    if (!b)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1) {
            free(b);
            return -1;
        }
        b[i] = (unsigned char)byte;
    }
    *out = b;
    *len = n / 2;
    return 0;
}

static const char *vectors_str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void vectors_free(struct vectors *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        free(vs->v[i].key);
        for (size_t f = 0; f < vs->v[i].n_frames; f++)
            free((void *)vs->v[i].frames[f].data);
        free(vs->v[i].frames);
    }
    free(vs->v);
    json_decref(vs->root);
    memset(vs, 0, sizeof *vs);
}

/* The path of the committed vectors file. */
static void vectors_path(char *buf, size_t len)
{
    const char *env = getenv("SPARK_K8S_VECTORS");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return;
    }
    const char *here = __FILE__; /* "./tests/unit/vectors/vectors.h", relative to the build */
    const char *slash = strrchr(here, '/');
    snprintf(buf, len, "%.*s/signatures.json", slash ? (int)(slash - here) : 1,
             slash ? here : ".");
    if (access(buf, R_OK) == 0)
        return;
    /* Run from elsewhere: the binary is BUILD/tests[-san]/test_X in the repository. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *cut = strrchr(exe, '/');
        if (!cut)
            return;
        *cut = '\0';
    }
    snprintf(buf, len, "%.3000s/tests/unit/vectors/signatures.json", exe);
}

/* 0 on success; on failure a message in ERR. */
static int vectors_load(struct vectors *vs, char *err, size_t errlen)
{
    char path[4096];
    json_error_t jerr;
    memset(vs, 0, sizeof *vs);
    vectors_path(path, sizeof path);
    vs->root = json_load_file(path, 0, &jerr);
    json_t *list = json_object_get(vs->root, "vectors");
    if (!json_is_array(list)) {
        snprintf(err, errlen, "%.300s: %.150s", path, vs->root ? "no 'vectors' list" : jerr.text);
        vectors_free(vs);
        return -1;
    }
    vs->v = calloc(json_array_size(list), sizeof *vs->v);
    if (!vs->v) {
        vectors_free(vs);
        return -1;
    }
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        struct vector *v = &vs->v[vs->n++];
        json_t *frames = json_object_get(o, "frames");
        v->name = vectors_str(o, "name");
        v->signature = vectors_str(o, "signature");
        v->msg_id = vectors_str(o, "msg_id");
        v->msg_type = vectors_str(o, "msg_type");
        v->session = vectors_str(o, "session");
        v->date = vectors_str(o, "date");
        v->valid = (int)json_integer_value(json_object_get(o, "valid"));
        v->n_ids = (size_t)json_integer_value(json_object_get(o, "n_ids"));
        v->n_buffers = (size_t)json_integer_value(json_object_get(o, "n_buffers"));
        if (vectors_hex(vectors_str(o, "key_hex"), &v->key, &v->key_len) ||
            !(v->frames = calloc(json_array_size(frames) + 1, sizeof *v->frames))) {
            snprintf(err, errlen, "case '%.200s': bad key_hex or no memory", v->name);
            vectors_free(vs);
            return -1;
        }
        size_t f;
        json_t *fo;
        json_array_foreach(frames, f, fo) {
            json_t *text = json_object_get(fo, "utf8");
            unsigned char *data = NULL;
            size_t len = 0;
            if (text) {
                len = json_string_length(text);
                data = malloc(len + 1);
                if (data)
                    memcpy(data, json_string_value(text), len + 1);
            } else if (vectors_hex(vectors_str(fo, "hex"), &data, &len)) {
                data = NULL;
            }
            if (!data) {
                snprintf(err, errlen, "case '%.200s': bad frame %zu", v->name, f);
                vectors_free(vs);
                return -1;
            }
            v->frames[v->n_frames].data = data;
            v->frames[v->n_frames].size = len;
            v->n_frames++;
        }
    }
    return 0;
}

#endif
