/* matrix_pin.c — the pure half of `spark-k8s images pin`: reading a publisher's
 * checksum file (sha256sum/sha1sum and GPG styles, Maven's bare or named hex) into
 * normalised lowercase hex, and setting one string inside a JSON text in place so
 * that everything but that string stays byte for byte as the admin wrote it. No
 * I/O here; launcher/cmd/cmd_images_pin.c fetches and writes. */
#include "launcher/images/matrix_pin.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/strv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Up to 60 bytes of S (N bytes) as printable ASCII, '?' for anything else, "..."
 * when cut: text from the network is quoted only this way. */
static void excerpt(const char *s, size_t n, char *buf, size_t len)
{
    size_t k = 0, max = 60;
    for (size_t i = 0; i < n && i < max && k + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > max && k + 4 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    if (len)
        buf[k < len ? k : len - 1] = '\0';
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static int all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* 1 if the basename of FOUND (FLEN bytes) is WANT */
static int name_matches(const char *found, size_t flen, const char *want)
{
    const char *base = found;
    for (size_t i = 0; i < flen; i++)
        if (found[i] == '/')
            base = found + i + 1;
    size_t blen = flen - (size_t)(base - found);
    return blen == strlen(want) && memcmp(base, want, blen) == 0;
}

static void lower_copy(const char *hex, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)hex[i]);
    out[n] = '\0';
}

/* sha256sum style, one entry a line: "HEX  NAME", "HEX *NAME", or "HEX" (bare). */
static int parse_sum_lines(const char *text, size_t len, const char *name, size_t hexlen,
                           int allow_bare, char *out, struct error *err)
{
    char q[80], q2[80];
    size_t entries = 0, bare = 0;
    const char *match = NULL, *first_name = NULL;
    size_t match_len = 0, first_name_len = 0;
    size_t bare_len = 0;
    const char *bare_hex = NULL;
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        lineno++;
        while (llen && is_space(line[llen - 1]))
            llen--;
        size_t i = 0;
        while (i < llen && is_space(line[i]))
            i++;
        if (i == llen)
            continue;
        size_t h0 = i;
        while (i < llen && !is_space(line[i]) && line[i] != '*')
            i++;
        const char *hex = line + h0;
        size_t hlen = i - h0;
        if (!all_hex(hex, hlen)) {
            excerpt(hex, hlen, q, sizeof q);
            return error_set(err, ERR_RUNTIME, "line %zu: '%s' is not a hex checksum", lineno, q);
        }
        entries++;
        if (i == llen) {
            bare++;
            bare_hex = hex;
            bare_len = hlen;
            continue;
        }
        size_t ws0 = i;
        while (i < llen && is_space(line[i]))
            i++;
        int had_ws = i > ws0;
        if (i < llen && line[i] == '*')
            i++;
        if (!had_ws || i == llen) { /* "HEX*NAME", "HEX *": not 'HEX  NAME' */
            excerpt(line, llen, q, sizeof q);
            return error_set(err, ERR_RUNTIME, "line %zu: '%s' is not 'HEX  NAME'", lineno, q);
        }
        const char *fname = line + i;
        size_t flen = llen - i;
        if (!first_name) {
            first_name = fname;
            first_name_len = flen;
        }
        if (name_matches(fname, flen, name)) {
            if (match)
                return error_set(err, ERR_RUNTIME, "names '%s' more than once", name);
            match = hex;
            match_len = hlen;
        }
    }
    if (bare) {
        if (!allow_bare)
            return error_set(err, ERR_RUNTIME,
                        "gives a bare checksum without the file name (expected 'HEX  %s')", name);
        if (entries != 1)
            return error_set(err, ERR_RUNTIME, "has %zu entries, one of them without a file name", entries);
        match = bare_hex;
        match_len = bare_len;
    } else if (!match) {
        excerpt(first_name, first_name_len, q, sizeof q);
        return error_set(err, ERR_RUNTIME, "names '%s', not '%s'", q, name);
    }
    if (match_len != hexlen) {
        excerpt(match, match_len, q2, sizeof q2);
        return error_set(err, ERR_RUNTIME, "'%s' is %zu hex digits, not %zu", q2, match_len, hexlen);
    }
    lower_copy(match, hexlen, out);
    return 0;
}

/* gpg --print-md style: "NAME: AAAAAAAA BBBBBBBB ..." wrapped over several lines. */
static int parse_gpg(const char *text, size_t len, const char *name, size_t hexlen, char *out,
                     struct error *err)
{
    char q[80];
    const char *colon = memchr(text, ':', len);
    size_t n0 = 0;
    while (n0 < len && is_space(text[n0]))
        n0++;
    size_t nend = (size_t)(colon - text);
    while (nend > n0 && is_space(text[nend - 1]))
        nend--;
    if (nend == n0)
        return error_set(err, ERR_RUNTIME, "has no file name before ':'");
    char hex[66];
    size_t n = 0;
    for (size_t i = (size_t)(colon - text) + 1; i < len; i++) {
        char c = text[i];
        if (is_space(c))
            continue;
        if (!isxdigit((unsigned char)c)) {
            excerpt(text + i, len - i, q, sizeof q);
            return error_set(err, ERR_RUNTIME, "after '%.*s:' expected groups of hex digits, found '%s'",
                             (int)(nend - n0 > 60 ? 60 : nend - n0), text + n0, q);
        }
        if (n < sizeof hex)
            hex[n] = c;
        n++;
    }
    if (n != hexlen)
        return error_set(err, ERR_RUNTIME, "its hex groups make %zu digits, not %zu", n, hexlen);
    if (!name_matches(text + n0, nend - n0, name)) {
        excerpt(text + n0, nend - n0, q, sizeof q);
        return error_set(err, ERR_RUNTIME, "names '%s', not '%s'", q, name);
    }
    lower_copy(hex, hexlen, out);
    return 0;
}

int checksum_parse(const char *text, size_t len, const char *name, size_t hexlen, int allow_bare,
                   char *out, size_t outlen, struct error *err)
{
    if (!text || !name || !*name || !out || outlen <= hexlen || (hexlen != 40 && hexlen != 64))
        return error_set(err, ERR_RUNTIME, "checksum_parse: bad arguments");
    if (len == 0)
        return error_set(err, ERR_RUNTIME, "is empty");
    if (memchr(text, '\0', len))
        return error_set(err, ERR_RUNTIME, "contains a NUL byte: not a checksum file");
    size_t pos = 0;
    while (pos < len && is_space(text[pos]))
        pos++;
    if (pos == len)
        return error_set(err, ERR_RUNTIME, "is empty");
    size_t tend = pos;
    while (tend < len && !is_space(text[tend]) && text[tend] != '*')
        tend++;
    if (all_hex(text + pos, tend - pos))
        return parse_sum_lines(text, len, name, hexlen, allow_bare, out, err);
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t first_len = nl ? (size_t)(nl - text) : len;
    if (memchr(text + pos, ':', first_len - pos))
        return parse_gpg(text, len, name, hexlen, out, err);
    char q[80];
    excerpt(text + pos, first_len - pos, q, sizeof q);
    return error_set(err, ERR_RUNTIME,
                "is not a checksum file (expected 'HEX  %s' or '%s: HEX GROUPS'%s); it begins '%s'",
                     name, name, allow_bare ? " or a bare HEX" : "", q);
}

int url_basename(const char *url, char *buf, size_t len)
{
    if (!url || !buf || len == 0)
        return -1;
    const char *sep = strstr(url, "://");
    const char *path = sep ? strchr(sep + 3, '/') : NULL;
    if (!path)
        return -1;
    size_t end = strcspn(path, "?#");
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t n = end - start;
    if (n == 0 || n >= len)
        return -1;
    memcpy(buf, path + start, n);
    buf[n] = '\0';
    return 0;
}

/* ---- setting a string inside a JSON text ---- */

struct scan {
    const char *s;
    size_t len, pos;
    int depth;
};

struct spot {
    int found;       /* 1: [start, end) is the old string; 0: insert at insert_at */
    size_t start, end;
    size_t insert_at;
    int has_members; /* the object has members before the insertion point */
    int on_own_line; /* the last member starts its own line: the new one does too */
    size_t indent_at, indent_len; /* that member's indentation in the text */
    int crlf;
};

static void skip_ws(struct scan *sc)
{
    while (sc->pos < sc->len && is_space(sc->s[sc->pos]))
        sc->pos++;
}

static int skip_string(struct scan *sc)
{
    if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
        return -1;
    sc->pos++;
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos++];
        if (c == '\\') {
            if (sc->pos >= sc->len)
                return -1;
            sc->pos++;
        } else if (c == '"') {
            return 0;
        }
    }
    return -1;
}

static int skip_value(struct scan *sc)
{
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return -1;
    char c = sc->s[sc->pos];
    if (c == '"')
        return skip_string(sc);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        if (++sc->depth > 512)
            return -1;
        sc->pos++;
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == close) {
            sc->pos++;
            sc->depth--;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                skip_ws(sc);
                if (skip_string(sc))
                    return -1;
                skip_ws(sc);
                if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                    return -1;
                sc->pos++;
            }
            if (skip_value(sc))
                return -1;
            skip_ws(sc);
            if (sc->pos >= sc->len)
                return -1;
            if (sc->s[sc->pos] == ',') {
                sc->pos++;
                continue;
            }
            if (sc->s[sc->pos] == close) {
                sc->pos++;
                break;
            }
            return -1;
        }
        sc->depth--;
        return 0;
    }
    size_t start = sc->pos;
    while (sc->pos < sc->len && !is_space(sc->s[sc->pos]) && !strchr(",]}", sc->s[sc->pos]))
        sc->pos++;
    return sc->pos > start ? 0 : -1;
}

/* The value at PATH (DEPTH components left) under the value at SC's position. */
static int locate(struct scan *sc, const char *const *path, size_t depth, struct spot *w)
{
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return -1;
    if (depth == 0) {
        if (sc->s[sc->pos] != '"')
            return -2; /* not a string */
        w->found = 1;
        w->start = sc->pos;
        if (skip_string(sc))
            return -1;
        w->end = sc->pos;
        return 0;
    }
    char c = sc->s[sc->pos];
    if (c == '{') {
        sc->pos++;
        size_t open_end = sc->pos, last_key = 0, last_end = 0;
        int members = 0;
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] != '}') {
            for (;;) {
                skip_ws(sc);
                size_t k0 = sc->pos;
                if (skip_string(sc))
                    return -1;
                size_t k1 = sc->pos; /* past the closing quote */
                skip_ws(sc);
                if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                    return -1;
                sc->pos++;
                size_t klen = k1 - k0 - 2;
                if (klen == strlen(path[0]) && memcmp(sc->s + k0 + 1, path[0], klen) == 0)
                    return locate(sc, path + 1, depth - 1, w);
                if (skip_value(sc))
                    return -1;
                members++;
                last_key = k0;
                last_end = sc->pos;
                skip_ws(sc);
                if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
                    sc->pos++;
                    continue;
                }
                if (sc->pos < sc->len && sc->s[sc->pos] == '}')
                    break;
                return -1;
            }
        }
        if (depth != 1)
            return -3; /* an intermediate key is missing */
        w->found = 0;
        w->has_members = members > 0;
        w->insert_at = members ? last_end : open_end;
        if (members) {
            size_t b = last_key;
            while (b > 0 && (sc->s[b - 1] == ' ' || sc->s[b - 1] == '\t'))
                b--;
            w->on_own_line = b > 0 && sc->s[b - 1] == '\n';
            w->indent_at = b;
            w->indent_len = last_key - b;
            w->crlf = w->on_own_line && b > 1 && sc->s[b - 2] == '\r';
        }
        return 0;
    }
    if (c == '[') {
        char *end = NULL;
        errno = 0;
        unsigned long want = strtoul(path[0], &end, 10);
        if (!isdigit((unsigned char)path[0][0]) || *end || errno)
            return -4; /* a key where an index belongs */
        sc->pos++;
        skip_ws(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ']')
            return -3;
        for (unsigned long i = 0;; i++) {
            if (i == want)
                return locate(sc, path + 1, depth - 1, w);
            if (skip_value(sc))
                return -1;
            skip_ws(sc);
            if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
                sc->pos++;
                continue;
            }
            return sc->pos < sc->len && sc->s[sc->pos] == ']' ? -3 : -1;
        }
    }
    return -4; /* a scalar where a container belongs */
}

int json_text_set_string(const char *text, const char *const *path, size_t depth,
                         const char *value, char **out, struct error *err)
{
    *out = NULL;
    char where[256];
    if (!text || !path || depth == 0 || !value)
        return error_set(err, ERR_RUNTIME, "json_text_set_string: bad arguments");
    strv_join(path, depth, ".", where, sizeof where);
    for (const char *v = value; *v; v++)
        if (*v == '"' || *v == '\\' || (unsigned char)*v < 0x20)
            return error_set(err, ERR_RUNTIME, "%s: the new value needs escaping; refused", where);
    struct scan sc = {text, strlen(text), 0, 0};
    struct spot w;
    memset(&w, 0, sizeof w);
    int rc = locate(&sc, path, depth, &w);
    if (rc == -2)
        return error_set(err, ERR_RUNTIME, "%s: the present value is not a string", where);
    if (rc == -3)
        return error_set(err, ERR_RUNTIME, "%s: not in the file (a key or element above it is missing)",
                         where);
    if (rc == -4)
        return error_set(err, ERR_RUNTIME, "%s: the file's structure differs (object/array mismatch)",
                         where);
    if (rc)
        return error_set(err, ERR_RUNTIME, "%s: the text is not valid JSON near byte %zu", where, sc.pos);
    size_t vlen = strlen(value);
    size_t total;
    char *buf;
    if (w.found) {
        total = w.start + vlen + 2 + (sc.len - w.end);
        buf = malloc(total + 1);
        if (!buf)
            return error_nomem(err);
        memcpy(buf, text, w.start);
        buf[w.start] = '"';
        memcpy(buf + w.start + 1, value, vlen);
        buf[w.start + 1 + vlen] = '"';
        memcpy(buf + w.start + 2 + vlen, text + w.end, sc.len - w.end);
        buf[total] = '\0';
    } else {
        const char *key = path[depth - 1];
        /* ",\n" + indent + "\"key\": \"value\"" */
        size_t sep_len = w.has_members
                             ? (w.on_own_line ? 1 + (size_t)w.crlf + 1 + w.indent_len : 2)
                             : 0;
        size_t ins_len = sep_len + strlen(key) + vlen + 6;
        total = sc.len + ins_len;
        buf = malloc(total + 1);
        if (!buf)
            return error_nomem(err);
        size_t k = 0;
        memcpy(buf, text, w.insert_at);
        k = w.insert_at;
        if (w.has_members) {
            buf[k++] = ',';
            if (w.on_own_line) {
                if (w.crlf)
                    buf[k++] = '\r';
                buf[k++] = '\n';
                memcpy(buf + k, text + w.indent_at, w.indent_len);
                k += w.indent_len;
            } else {
                buf[k++] = ' ';
            }
        }
        int n = snprintf(buf + k, total + 1 - k, "\"%s\": \"%s\"", key, value);
        if (n < 0 || (size_t)n != strlen(key) + vlen + 6) {
            free(buf);
            return error_set(err, ERR_RUNTIME, "%s: internal error composing the new member", where);
        }
        k += (size_t)n;
        memcpy(buf + k, text + w.insert_at, sc.len - w.insert_at);
        k += sc.len - w.insert_at;
        buf[k] = '\0';
        if (k != total) {
            free(buf);
            return error_set(err, ERR_RUNTIME, "%s: internal error composing the new member", where);
        }
    }
    *out = buf;
    return 0;
}
