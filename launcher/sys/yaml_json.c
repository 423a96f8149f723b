/* yaml_json.c — libyaml events → jansson values (see yaml_json.h). */
#include "launcher/sys/yaml_json.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_JSON_MAX_FILE (4u << 20)
#define YAML_JSON_MAX_DEPTH 64

struct yaml_reader {
    yaml_parser_t parser;
    const char *name;
    struct error *err;
};

static int next_event(struct yaml_reader *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->parser, ev)) {
        error_set(r->err, ERR_INPUT, "%s: line %zu: %s", r->name,
                  (size_t)r->parser.problem_mark.line + 1,
                  r->parser.problem ? r->parser.problem : "invalid YAML");
        return -1;
    }
    return 0;
}

static int matches(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strcmp(s, words[i]) == 0)
            return 1;
    return 0;
}

static int all_digits(const char *s, const char *digits)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr(digits, *s))
            return 0;
    return 1;
}

/* A decimal float as the core schema writes it: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t int_digits = 0, frac_digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        int_digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            frac_digits++;
        }
    }
    if (int_digits + frac_digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* Resolve a plain (unquoted, untagged) scalar to its core-schema type. */
static json_t *plain_scalar(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", NULL};
    if (matches(s, nulls))
        return json_null();
    if (matches(s, trues))
        return json_true();
    if (matches(s, falses))
        return json_false();
    const char *body = (*s == '-' || *s == '+') ? s + 1 : s;
    char *end = NULL;
    if (all_digits(body, "0123456789")) {
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
        return json_real(strtod(s, NULL));
    }
    if (strncmp(s, "0x", 2) == 0 && all_digits(s + 2, "0123456789abcdefABCDEF")) {
        errno = 0;
        long long v = strtoll(s + 2, &end, 16);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
    }
    if (strncmp(s, "0o", 2) == 0 && all_digits(s + 2, "01234567")) {
        errno = 0;
        long long v = strtoll(s + 2, &end, 8);
        if (errno == 0 && *end == '\0')
            return json_integer(v);
    }
    if (is_float(s))
        return json_real(strtod(s, NULL));
    return json_string(s);
}

static json_t *scalar_value(const yaml_event_t *ev)
{
    const char *value = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    if (tag && strcmp(tag, YAML_STR_TAG) == 0)
        return json_stringn(value, ev->data.scalar.length);
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(value, ev->data.scalar.length);
    if (strlen(value) != ev->data.scalar.length) /* embedded NUL: keep as bytes */
        return json_stringn(value, ev->data.scalar.length);
    return plain_scalar(value);
}

static int parse_node(struct yaml_reader *r, yaml_event_t *ev, int depth, json_t **out);

static int refuse_anchor(struct yaml_reader *r, const yaml_event_t *ev, const yaml_char_t *anchor)
{
    if (!anchor)
        return 0;
    error_set(r->err, ERR_INPUT, "%s: line %zu: anchors and aliases are not supported", r->name,
              (size_t)ev->start_mark.line + 1);
    return -1;
}

static int parse_sequence(struct yaml_reader *r, int depth, json_t **out)
{
    json_t *array = json_array();
    if (!array) {
        error_nomem(r->err);
        return -1;
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev) < 0)
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            *out = array;
            return 0;
        }
        json_t *item = NULL;
        int rc = parse_node(r, &ev, depth + 1, &item);
        yaml_event_delete(&ev);
        if (rc < 0 || json_array_append_new(array, item) < 0)
            goto fail;
    }
fail:
    json_decref(array);
    return -1;
}

static int parse_mapping(struct yaml_reader *r, int depth, json_t **out)
{
    json_t *object = json_object();
    if (!object) {
        error_nomem(r->err);
        return -1;
    }
    for (;;) {
        yaml_event_t key;
        if (next_event(r, &key) < 0)
            goto fail;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            *out = object;
            return 0;
        }
        if (key.type != YAML_SCALAR_EVENT) {
            error_set(r->err, ERR_INPUT, "%s: line %zu: mapping keys must be plain strings",
                      r->name, (size_t)key.start_mark.line + 1);
            yaml_event_delete(&key);
            goto fail;
        }
        if (refuse_anchor(r, &key, key.data.scalar.anchor) < 0) {
            yaml_event_delete(&key);
            goto fail;
        }
        size_t line = (size_t)key.start_mark.line + 1;
        char *name = strndup((const char *)key.data.scalar.value, key.data.scalar.length);
        yaml_event_delete(&key);
        if (!name) {
            error_nomem(r->err);
            goto fail;
        }
        if (json_object_get(object, name)) {
            error_set(r->err, ERR_INPUT, "%s: line %zu: duplicate key '%s'", r->name, line, name);
            free(name);
            goto fail;
        }
        yaml_event_t value_ev;
        json_t *value = NULL;
        if (next_event(r, &value_ev) < 0) {
            free(name);
            goto fail;
        }
        int rc = parse_node(r, &value_ev, depth + 1, &value);
        yaml_event_delete(&value_ev);
        if (rc < 0 || json_object_set_new(object, name, value) < 0) {
            free(name);
            goto fail;
        }
        free(name);
    }
fail:
    json_decref(object);
    return -1;
}

static int parse_node(struct yaml_reader *r, yaml_event_t *ev, int depth, json_t **out)
{
    if (depth > YAML_JSON_MAX_DEPTH) {
        error_set(r->err, ERR_INPUT, "%s: line %zu: nested deeper than %d levels", r->name,
                  (size_t)ev->start_mark.line + 1, YAML_JSON_MAX_DEPTH);
        return -1;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (refuse_anchor(r, ev, ev->data.scalar.anchor) < 0)
            return -1;
        *out = scalar_value(ev);
        if (!*out) {
            error_set(r->err, ERR_INPUT, "%s: line %zu: value is not valid UTF-8", r->name,
                      (size_t)ev->start_mark.line + 1);
            return -1;
        }
        return 0;
    case YAML_SEQUENCE_START_EVENT:
        if (refuse_anchor(r, ev, ev->data.sequence_start.anchor) < 0)
            return -1;
        return parse_sequence(r, depth, out);
    case YAML_MAPPING_START_EVENT:
        if (refuse_anchor(r, ev, ev->data.mapping_start.anchor) < 0)
            return -1;
        return parse_mapping(r, depth, out);
    case YAML_ALIAS_EVENT:
        return refuse_anchor(r, ev, ev->data.alias.anchor);
    default:
        error_set(r->err, ERR_INPUT, "%s: line %zu: unexpected YAML event", r->name,
                  (size_t)ev->start_mark.line + 1);
        return -1;
    }
}

/* Expect an event of TYPE and drop it. */
static int expect(struct yaml_reader *r, yaml_event_type_t type, const char *what)
{
    yaml_event_t ev;
    if (next_event(r, &ev) < 0)
        return -1;
    int ok = ev.type == type;
    size_t line = (size_t)ev.start_mark.line + 1;
    yaml_event_delete(&ev);
    if (!ok) {
        error_set(r->err, ERR_INPUT, "%s: line %zu: %s", r->name, line, what);
        return -1;
    }
    return 0;
}

int yaml_json_parse(const char *buf, size_t len, const char *name, json_t **out,
                    struct error *err)
{
    struct yaml_reader r = {.name = name, .err = err};
    *out = NULL;
    if (!yaml_parser_initialize(&r.parser)) {
        error_set(err, ERR_INPUT, "%s: cannot initialise the YAML parser", name);
        return -1;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
    json_t *doc = NULL;
    int rc = -1;
    yaml_event_t ev;
    if (expect(&r, YAML_STREAM_START_EVENT, "expected the start of a YAML stream") < 0)
        goto done;
    if (next_event(&r, &ev) < 0)
        goto done;
    if (ev.type == YAML_STREAM_END_EVENT) { /* empty file */
        yaml_event_delete(&ev);
        *out = json_null();
        rc = 0;
        goto done;
    }
    if (ev.type != YAML_DOCUMENT_START_EVENT) {
        yaml_event_delete(&ev);
        error_set(err, ERR_INPUT, "%s: expected a YAML document", name);
        goto done;
    }
    yaml_event_delete(&ev);
    if (next_event(&r, &ev) < 0)
        goto done;
    int node_rc = parse_node(&r, &ev, 0, &doc);
    yaml_event_delete(&ev);
    if (node_rc < 0)
        goto done;
    if (expect(&r, YAML_DOCUMENT_END_EVENT, "expected the end of the document") < 0)
        goto done;
    if (expect(&r, YAML_STREAM_END_EVENT,
               "more than one YAML document; put exactly one object in the file") < 0)
        goto done;
    *out = doc;
    doc = NULL;
    rc = 0;
done:
    json_decref(doc);
    yaml_parser_delete(&r.parser);
    return rc;
}

int yaml_json_load_file(const char *path, json_t **out, struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, ERR_INPUT, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(YAML_JSON_MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        error_nomem(err);
        return -1;
    }
    size_t n = fread(buf, 1, YAML_JSON_MAX_FILE + 1, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(buf);
        error_set(err, ERR_INPUT, "%s: read error", path);
        return -1;
    }
    if (n > YAML_JSON_MAX_FILE) {
        free(buf);
        error_set(err, ERR_INPUT, "%s: larger than %u bytes", path, YAML_JSON_MAX_FILE);
        return -1;
    }
    int rc = yaml_json_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}
