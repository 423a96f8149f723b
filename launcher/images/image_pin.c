/* image_pin.c — the checksums of the matrix's jars, fetched, cross-checked and written
 * into the matrix file in place (see image_pin.h). */
#include "launcher/images/image_pin.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/sys/http.h"
#include "launcher/sys/errmsg.h"
#include "launcher/images/matrix.h"
#include "launcher/images/matrix_pin.h"

#define MAX_MATRIX ((size_t)16 << 20)

/* One jar the matrix pins: a component's own, or one classifier of it. */
struct target {
    size_t spark;           /* index into spark[] */
    const char *version;    /* the Spark version, for messages (owned by the matrix) */
    const char *object;     /* "iceberg" | "iceberg_aws_bundle" | "rapids" */
    const char *classifier; /* NULL, or the classifier's name (owned by the matrix) */
    const char *sha256, *sha1; /* present values (owned by the matrix; "" if none) */
    char url[1024];
    char name[256];
    /* what was fetched */
    int fetched;
    size_t bytes;
    char got256[65], got1[41];
    int published256;       /* the repository's .sha256 was there (and matched) */
};

/* ---- reading and writing the matrix file ---- */

static int read_file(const char *path, char **out, struct stat *st, struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, ERR_INPUT, "%s: cannot open the image matrix: %s%s", path, strerror(errno),
                  errno == ENOENT ? " (run from the repository root, or pass --matrix)" : "");
        return -1;
    }
    if (fstat(fileno(f), st)) {
        error_set(err, ERR_INPUT, "%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if ((size_t)st->st_size > MAX_MATRIX) {
        error_set(err, ERR_INPUT, "%s: larger than 16 MiB: not an image matrix", path);
        fclose(f);
        return -1;
    }
    size_t cap = (size_t)st->st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        error_nomem(err);
        fclose(f);
        return -1;
    }
    size_t len = fread(buf, 1, cap - 1, f);
    int bad = ferror(f) || len != (size_t)st->st_size;
    fclose(f);
    if (bad) {
        error_set(err, ERR_INPUT, "%s: read error", path);
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        error_set(err, ERR_INPUT, "%s: contains a NUL byte: not an image matrix", path);
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* TEXT into PATH through a temp file in the same directory and a rename, with the
 * original's mode; refused if the file changed since it was read (BEFORE). */
static int write_atomic(const char *path, const char *text, const struct stat *before, struct error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
        return -1;
    }
    char tmp[PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.pin-XXXXXX", real) >= (int)sizeof tmp) {
        error_set(err, ERR_SYSTEM, "%s: path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot create a temp file next to it: %s", path,
                  strerror(errno));
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    /* the original's owner where we may (root pinning an admin's file); else ours */
    int chown_rc = fchown(fd, before->st_uid, before->st_gid);
    (void)chown_rc;
    int ok = off == len && fchmod(fd, before->st_mode & 07777) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    struct stat now;
    if (ok && (stat(real, &now) != 0 || now.st_size != before->st_size ||
               now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
               now.st_mtim.tv_nsec != before->st_mtim.tv_nsec || now.st_ino != before->st_ino)) {
        unlink(tmp);
        error_set(err, ERR_SYSTEM, "%s: changed while the checksums were fetched; run again", path);
        return -1;
    }
    if (!ok || rename(tmp, real) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        error_set(err, ERR_SYSTEM, "%s: cannot write: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* ---- fetching ---- */

/* The repository's <T->url>.ALGO ("sha1" | "sha256") read into HEX (HEXLEN digits):
 * 0; 1 on HTTP 404 (ERR set); -1 on any other failure (ERR set). */
static int published_sum(const struct target *t, const char *algo, size_t hexlen, long timeout_s,
                         char *hex, size_t hexsize, struct error *err)
{
    char url[sizeof t->url + 16];
    snprintf(url, sizeof url, "%s.%s", t->url, algo);
    struct buffer b = {0};
    long status = 0;
    int rc = http_get(url, timeout_s, "images pin", &b, &status, err);
    if (rc == 0 &&
        checksum_parse(b.data ? b.data : "", b.len, t->name, hexlen, 1, hex, hexsize, err))
        rc = error_prefix(err, "%s: ", url); else if (rc == 1 && status != 404) {
        rc = -1;
    }
    buffer_free(&b);
    return rc;
}

/* Download T's jar through the digests and cross-check them with the repository's
 * checksum files. 0, or -1 with ERR naming the URL and what disagreed. */
static int fetch_jar(struct target *t, long timeout_s, struct error *err)
{
    char sha1[41], sha256[65];
    int rc = published_sum(t, "sha1", 40, timeout_s, sha1, sizeof sha1, err);
    if (rc == 1) {
        struct error missing = *err;
        error_set(err, missing.kind, "%s (Maven publishes a .sha1 beside every jar: without it "
                  "the download cannot be cross-checked)", missing.text);
    }
    if (rc)
        return -1;
    rc = published_sum(t, "sha256", 64, timeout_s, sha256, sizeof sha256, err);
    if (rc < 0)
        return -1;
    t->published256 = rc == 0;
    fprintf(stderr, "spark-k8s images pin: reading %s (its digests only; nothing is written)\n",
            t->url);
    struct http_download d;
    long status = 0;
    if (http_download_fd(t->url, -1, timeout_s, "images pin", &d, &status, err))
        return -1;
    if (strcmp(d.sha1, sha1) != 0)
        return error_set(err, ERR_RUNTIME,
                      "%s: its sha1 is %s, but %s.sha1 says %s: the download is not the file the "
                         "repository published; nothing pinned",
                         t->url, d.sha1, t->url, sha1);
    if (t->published256 && strcmp(d.sha256, sha256) != 0)
        return error_set(err, ERR_RUNTIME,
                      "%s: its sha256 is %s, but %s.sha256 says %s: the download is not the file "
                         "the repository published; nothing pinned",
                         t->url, d.sha256, t->url, sha256);
    snprintf(t->got256, sizeof t->got256, "%s", d.sha256);
    snprintf(t->got1, sizeof t->got1, "%s", d.sha1);
    t->bytes = d.bytes;
    t->fetched = 1;
    return 0;
}

static void label(const struct target *t, const char *field, char *buf, size_t len)
{
    if (t->classifier)
        snprintf(buf, len, "spark[%zu] (%s) %s.classifiers.%s.%s", t->spark, t->version,
                 t->object, t->classifier, field);
    else
        snprintf(buf, len, "spark[%zu] (%s) %s.%s", t->spark, t->version, t->object, field);
}

/* Without --force, the filled fields of T must be what the download says. */
static int check_pinned(const struct target *t, struct error *err)
{
    const char *have[2] = {t->sha256, t->sha1}, *got[2] = {t->got256, t->got1};
    const char *field[2] = {"sha256", "sha1"};
    for (int k = 0; k < 2; k++) {
        if (!*have[k] || strcasecmp(have[k], got[k]) == 0)
            continue;
        char lab[256];
        label(t, field[k], lab, sizeof lab);
        return error_set(err, ERR_RUNTIME,
                         "%s is '%s', but the jar at %s has %s: check the URL and version, or "
                         "replace it with --force",
                         lab, have[k], t->url, got[k]);
    }
    return 0;
}

/* ---- the targets of a matrix ---- */

static int add_target(struct target *t, const struct matrix *m, size_t i, const char *object,
                      const struct matrix_component *c, const struct matrix_classifier *k,
                      struct error *err)
{
    const struct matrix_spark *s = &m->spark[i];
    memset(t, 0, sizeof *t);
    t->spark = i;
    t->version = s->version;
    t->object = object;
    t->classifier = k ? k->name : NULL;
    t->sha256 = k ? k->sha256 : c->sha256;
    t->sha1 = k ? k->sha1 : c->sha1;
    char lab[256];
    label(t, "url", lab, sizeof lab);
    if (matrix_classifier_url(m, c, k, t->url, sizeof t->url))
        return error_set(err, ERR_INPUT, "%s: %s: no download URL (url, or images.maven_repository "
                         "with artifact and version)", m->origin, lab);
    if (url_basename(t->url, t->name, sizeof t->name))
        return error_set(err, ERR_INPUT, "%s: %s: '%s' names no file", m->origin, lab, t->url);
    return 0;
}

/* Every jar of component C (each classifier, or its own) onto T at *K. */
static int add_component(struct target *t, size_t *k, const struct matrix *m, size_t i,
                         const char *object, const struct matrix_component *c, struct error *err)
{
    if (!*c->version)
        return 0;
    if (c->n_classifiers == 0)
        return add_target(&t[(*k)++], m, i, object, c, NULL, err);
    for (size_t j = 0; j < c->n_classifiers; j++)
        if (add_target(&t[(*k)++], m, i, object, c, &c->classifiers[j], err))
            return -1;
    return 0;
}

static int targets_of(const struct matrix *m, struct target **out, size_t *n, struct error *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    for (size_t i = 0; i < m->n_spark; i++)
        cap += 2 + (m->spark[i].rapids.n_classifiers ? m->spark[i].rapids.n_classifiers : 1) +
               m->spark[i].iceberg.n_classifiers + m->spark[i].iceberg_aws.n_classifiers;
    struct target *t = calloc(cap + 1, sizeof *t);
    if (!t)
        return error_nomem(err);
    size_t k = 0;
    int iceberg = matrix_variants_use(m, "iceberg"), gpu = matrix_variants_use(m, "gpu");
    for (size_t i = 0; i < m->n_spark; i++) {
        const struct matrix_spark *s = &m->spark[i];
        if ((iceberg && (add_component(t, &k, m, i, "iceberg", &s->iceberg, err) ||
                         add_component(t, &k, m, i, "iceberg_aws_bundle", &s->iceberg_aws, err))) ||
            (gpu && add_component(t, &k, m, i, "rapids", &s->rapids, err))) {
            free(t);
            return -1;
        }
    }
    *out = t;
    *n = k;
    return 0;
}

/* ---- applying ---- */

/* Set FIELD of T's object (or classifier) to VALUE in TEXT (replaced) and in ROOT. */
static int set_field(char **text, json_t *root, const struct target *t, const char *field,
                     const char *value, struct error *err)
{
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", t->spark);
    const char *path[6] = {"spark", idx, t->object, "classifiers", t->classifier, field};
    size_t depth = 6;
    if (!t->classifier) {
        path[3] = field;
        depth = 4;
    }
    char *next = NULL;
    if (json_text_set_string(*text, path, depth, value, &next, err))
        return -1;
    free(*text);
    *text = next;
    json_t *obj = json_object_get(json_array_get(json_object_get(root, "spark"), t->spark),
                                  t->object);
    if (t->classifier)
        obj = json_object_get(json_object_get(obj, "classifiers"), t->classifier);
    if (!json_is_object(obj) || json_object_set_new(obj, field, json_string(value))) {
        char lab[256];
        label(t, field, lab, sizeof lab);
        return error_set(err, ERR_RUNTIME, "%s: not in an object", lab);
    }
    return 0;
}

static int apply(char **text, json_t *root, const struct target *t, size_t n, enum image_pin_mode mode,
                 size_t *set, struct error *err)
{
    char lab[256];
    *set = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].fetched)
            continue;
        const char *have[2] = {t[i].sha256, t[i].sha1}, *got[2] = {t[i].got256, t[i].got1};
        const char *field[2] = {"sha256", "sha1"};
        for (int k = 0; k < 2; k++) {
            label(&t[i], field[k], lab, sizeof lab);
            if (strcmp(have[k], got[k]) == 0) {
                printf("%s = %s (pinned; matches the download)\n", lab, got[k]);
                continue;
            }
            if (mode != IMAGE_PIN_FORCE && *have[k]) /* check_pinned refused this already */
                return error_set(err, ERR_RUNTIME, "%s: internal error: a mismatch got through", lab);
            if (set_field(text, root, &t[i], field[k], got[k], err))
                return -1;
            (*set)++;
            if (k == 0)
                printf("%s = %s (%zu bytes from %s%s)\n", lab, got[k], t[i].bytes, t[i].url,
                       t[i].published256 ? "; matches its .sha256" : "");
            else
                printf("%s = %s (matches %s.sha1)\n", lab, got[k], t[i].url);
        }
    }
    return 0;
}

int image_pin_run(const struct image_pin_options *o, struct error *err)
{
    char *text = NULL;
    struct stat st;
    struct matrix *m = NULL;
    struct target *t = NULL;
    size_t n = 0;
    json_t *root = NULL, *check = NULL;
    int rc = -1, curl_up = 0;
    /* the matrix (ERR_INPUT), then the fetches, the edit, the write (the others) */
    if (read_file(o->matrix, &text, &st, err) || matrix_load_string(text, o->matrix, &m, err))
        goto fail;
    json_error_t jerr;
    root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        error_set(err, ERR_INPUT, "%s: line %d: %s", o->matrix, jerr.line, jerr.text);
        goto fail;
    }
    if (targets_of(m, &t, &n, err))
        goto fail;
    size_t fetches = 0;
    for (size_t i = 0; i < n; i++) {
        int pinned = *t[i].sha256 && *t[i].sha1;
        if (o->mode == IMAGE_PIN_IF_MISSING && pinned)
            continue;
        if (!curl_up) {
            if (http_global_init() != 0) {
                error_set(err, ERR_SYSTEM, "cannot initialise libcurl");
                goto fail;
            }
            curl_up = 1;
        }
        fetches++;
        if (fetch_jar(&t[i], o->timeout_s, err) ||
            (o->mode != IMAGE_PIN_FORCE && check_pinned(&t[i], err)))
            goto fail;
    }
    if (fetches == 0) {
        fprintf(stderr, "spark-k8s images pin: every checksum in %s is pinned; nothing fetched\n",
                o->matrix);
        rc = 0;
        goto out;
    }
    size_t set = 0;
    if (apply(&text, root, t, n, o->mode, &set, err))
        goto fail;
    fflush(stdout);
    if (set == 0) {
        fprintf(stderr, "spark-k8s images pin: every checksum in %s matches the jars and their "
                        "repository's; nothing changed\n", o->matrix);
        rc = 0;
        goto out;
    }
    /* the text must say exactly what the edited tree says, and still load */
    check = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    struct matrix *m2 = NULL;
    if (!check || !json_equal(check, root) || matrix_load_string(text, o->matrix, &m2, err)) {
        /* our edit, not the admin's file, is at fault */
        error_set(err, ERR_RUNTIME, "%s: internal error: the edited text %s; nothing written",
                  o->matrix, check && json_equal(check, root)
                  ? "does not load as a matrix"
                  : "does not match the intended change");
        goto fail;
    }
    struct error why = {0};
    int buildable = matrix_check_pins(m2, &why) == 0;
    matrix_free(m2);
    if (write_atomic(o->matrix, text, &st, err))
        goto fail;
    fprintf(stderr,
            "spark-k8s images pin: wrote %zu checksum field%s into %s, each from a download "
            "checked against its repository's .sha1; review and commit it (git diff -- %s)\n",
            set, set == 1 ? "" : "s", o->matrix, o->matrix);
    if (!buildable)
        fprintf(stderr, "spark-k8s images pin: a build would still refuse: %s\n", why.text);
    rc = 0;
    goto out;
fail:
    error_prefix(err, "refused, %s left unchanged: ", o->matrix);
out:
    json_decref(check);
    json_decref(root);
    free(t);
    matrix_free(m);
    free(text);
    if (curl_up)
        http_global_cleanup();
    return rc;
}
