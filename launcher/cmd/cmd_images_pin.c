/* cmd_images_pin.c — `spark-k8s images pin`: fills the empty checksum fields of the
 * image matrix from the publishers' own checksum files (<url>.sha512, else
 * <url>.sha1, of each jar the variants add, on Maven Central; Spark itself comes
 * hash-locked from PyPI with the kernel environments),
 * fetched with libcurl (http/https only, TLS verified, a timeout), and writes them
 * into the matrix file in place (every other byte kept) with a temp file and a
 * rename. Any HTTP error, malformed file or name mismatch refuses the whole run and
 * changes nothing. */
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
#include "launcher/sys/version.h"

enum mode { MODE_VERIFY, MODE_IF_MISSING, MODE_FORCE };

#define MAX_MATRIX ((size_t)16 << 20)

struct pin_options {
    const char *matrix;
    enum mode mode;
    long timeout_s;
};

/* One checksum the matrix needs: a jar's. */
struct target {
    size_t spark;        /* index into spark[] */
    const char *version; /* the Spark version, for messages (owned by the matrix) */
    const char *object;  /* "iceberg" | "iceberg_aws_bundle" | "rapids" */
    const char *sha1, *sha512; /* present values (owned by the matrix; "" if none) */
    char url[1024];
    char name[256];
    /* what was fetched */
    const char *algo;    /* "sha512" | "sha1" | NULL when nothing is to be set */
    char hex[129];
    char sum_url[1040];
    int verified;        /* MODE_VERIFY: the present value matched */
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: spark-k8s images pin [--matrix FILE] [--if-missing | --force] [--timeout SECONDS]\n"
        "\n"
        "Fill the empty checksum fields of the image matrix from the publishers' own checksum\n"
        "files: <jar url>.sha512, else .sha1, for the RAPIDS, Iceberg runtime and Iceberg AWS\n"
        "bundle jars of each Spark line. Needs network (http(s) only, TLS verified). The file\n"
        "is changed in place, only in those fields; review and commit it. (Spark itself is\n"
        "pyspark from PyPI, hash-locked in kernelspecs/envs.)\n"
        "\n"
        "  --matrix FILE   the matrix to pin [SPARK_K8S_MATRIX], default images/matrix.json\n"
        "  (default)       fill empty fields and check that the filled ones match their\n"
        "                  publisher's (a mismatch is refused)\n"
        "  --if-missing    fetch only for empty fields: with everything pinned, no request\n"
        "  --force         replace every checksum with the publisher's\n"
        "  --timeout S     seconds per download (default 60)\n"
        "\n"
        "Any HTTP error, malformed checksum file or file-name mismatch refuses the run and\n"
        "changes nothing. Exit status: 0 ok, 1 refused, 2 bad usage or unreadable matrix.\n");
}

static int parse_args(int argc, char **argv, struct pin_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 60;
    const char *env = getenv("SPARK_K8S_MATRIX");
    o->matrix = env && *env ? env : "images/matrix.json";
    int if_missing = 0, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--if-missing") == 0) {
            if_missing = 1;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "--matrix") == 0 || strcmp(a, "--timeout") == 0) {
            if (!next || !*next) {
                fprintf(stderr, "spark-k8s images pin: %s needs a value\n", a);
                return -1;
            }
            i++;
            if (a[2] == 'm') {
                o->matrix = next;
            } else {
                char *end = NULL;
                errno = 0;
                long t = strtol(next, &end, 10);
                if (errno || *end || t < 1 || t > 3600) {
                    fprintf(stderr, "spark-k8s images pin: --timeout: '%s' is not 1 to 3600 "
                                    "seconds\n", next);
                    return -1;
                }
                o->timeout_s = t;
            }
        } else {
            fprintf(stderr, "spark-k8s images pin: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (if_missing && force) {
        fprintf(stderr, "spark-k8s images pin: --if-missing and --force exclude each other\n");
        return -1;
    }
    o->mode = force ? MODE_FORCE : if_missing ? MODE_IF_MISSING : MODE_VERIFY;
    return 0;
}

/* ---- reading and writing the matrix file ---- */

static int read_file(const char *path, char **out, struct stat *st, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        errorf(err, errlen, "%s: cannot open the image matrix: %s%s", path, strerror(errno),
               errno == ENOENT ? " (run from the repository root, or pass --matrix)" : "");
        return -1;
    }
    if (fstat(fileno(f), st)) {
        errorf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if ((size_t)st->st_size > MAX_MATRIX) {
        errorf(err, errlen, "%s: larger than 16 MiB: not an image matrix", path);
        fclose(f);
        return -1;
    }
    size_t cap = (size_t)st->st_size + 1;
    char *buf = malloc(cap);
    if (!buf) {
        errorf(err, errlen, "%s: out of memory", path);
        fclose(f);
        return -1;
    }
    size_t len = fread(buf, 1, cap - 1, f);
    int bad = ferror(f) || len != (size_t)st->st_size;
    fclose(f);
    if (bad) {
        errorf(err, errlen, "%s: read error", path);
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        errorf(err, errlen, "%s: contains a NUL byte: not an image matrix", path);
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

/* TEXT into PATH through a temp file in the same directory and a rename, with the
 * original's mode; refused if the file changed since it was read (BEFORE). */
static int write_atomic(const char *path, const char *text, const struct stat *before, char *err,
                        size_t errlen)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        errorf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char tmp[PATH_MAX + 16];
    if (snprintf(tmp, sizeof tmp, "%s.pin-XXXXXX", real) >= (int)sizeof tmp) {
        errorf(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        errorf(err, errlen, "%s: cannot create a temp file next to it: %s", path,
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
        errorf(err, errlen, "%s: changed while the checksums were fetched; run again", path);
        return -1;
    }
    if (!ok || rename(tmp, real) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        errorf(err, errlen, "%s: cannot write: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

/* ---- fetching ---- */

/* Fetch <T->url>.EXT and read it: 0 with T->hex, T->sum_url, T->algo set; 1 on
 * HTTP 404 (ERR set); -1 on any other failure (ERR set). */
static int fetch_sum(struct target *t, const char *ext, long timeout_s, char *err, size_t errlen)
{
    char url[sizeof t->sum_url];
    snprintf(url, sizeof url, "%s.%s", t->url, ext);
    struct buffer b = {0};
    long status = 0;
    int rc = http_get(url, timeout_s, "images pin", &b, &status, err, errlen);
    if (rc == 0) {
        size_t hexlen = strcmp(ext, "sha512") == 0 ? 128 : 40;
        char why[512];
        if (checksum_parse(b.data ? b.data : "", b.len, t->name, hexlen, 1, t->hex,
                           sizeof t->hex, why, sizeof why)) {
            errorf(err, errlen, "%s: %s", url, why);
            rc = -1;
        } else {
            snprintf(t->sum_url, sizeof t->sum_url, "%s", url);
            t->algo = strcmp(ext, "sha512") == 0 ? "sha512" : "sha1";
        }
    } else if (rc == 1 && status != 404) {
        rc = -1;
    }
    buffer_free(&b);
    return rc;
}

static void label(const struct target *t, const char *field, char *buf, size_t len)
{
    snprintf(buf, len, "spark[%zu] (%s) %s.%s", t->spark, t->version, t->object, field);
}

/* What T needs in mode MODE, fetched. 0, or -1 with ERR naming the URL and reason. */
static int resolve(struct target *t, enum mode mode, long timeout_s, char *err, size_t errlen)
{
    char lab[160];
    int pinned = *t->sha1 || *t->sha512;
    if (mode == MODE_IF_MISSING && pinned)
        return 0;
    if (mode == MODE_VERIFY && pinned) {
        const char *ext = *t->sha512 ? "sha512" : "sha1";
        const char *have = *t->sha512 ? t->sha512 : t->sha1;
        int rc = fetch_sum(t, ext, timeout_s, err, errlen);
        if (rc) {
            if (rc == 1) {
                size_t n = strlen(err);
                snprintf(err + n, errlen - n, " (cannot check the pinned %s)", ext);
            }
            return -1;
        }
        if (strcasecmp(have, t->hex) != 0) {
            label(t, ext, lab, sizeof lab);
            errorf(err, errlen,
                   "%s is '%s', but %s says %s: check the URL and version, or replace it with "
                   "--force",
                   lab, have, t->sum_url, t->hex);
            return -1;
        }
        t->verified = 1;
        t->algo = NULL;
        return 0;
    }
    int rc = fetch_sum(t, "sha512", timeout_s, err, errlen);
    if (rc == 1) {
        char first[1024];
        snprintf(first, sizeof first, "%.1000s", err);
        rc = fetch_sum(t, "sha1", timeout_s, err, errlen);
        if (rc == 1) {
            size_t n = strlen(err);
            snprintf(err + n, errlen - n, " (and %s)", first);
        }
    }
    return rc ? -1 : 0;
}

/* ---- the targets of a matrix ---- */

static int variants_use(const struct matrix *m, const char *feature)
{
    for (size_t i = 0; i < m->n_variants; i++)
        if (matrix_variant_has(m->variants[i], feature))
            return 1;
    return 0;
}

static int add_target(struct target *t, const struct matrix *m, size_t i, const char *object,
                      const struct matrix_component *c, char *err, size_t errlen)
{
    const struct matrix_spark *s = &m->spark[i];
    memset(t, 0, sizeof *t);
    t->spark = i;
    t->version = s->version;
    t->object = object;
    t->sha1 = c->sha1;
    t->sha512 = c->sha512;
    if (matrix_component_url(m, c, t->url, sizeof t->url)) {
        errorf(err, errlen, "%s: spark[%zu] (%s) %s: no download URL (url, or "
               "images.maven_repository with artifact and version)",
               m->origin, i, s->version, object);
        return -1;
    }
    if (url_basename(t->url, t->name, sizeof t->name)) {
        errorf(err, errlen, "%s: spark[%zu] (%s) %s: '%s' names no file", m->origin, i,
               s->version, object, t->url);
        return -1;
    }
    return 0;
}

static int targets_of(const struct matrix *m, struct target **out, size_t *n, char *err,
                      size_t errlen)
{
    *out = NULL;
    *n = 0;
    struct target *t = calloc(m->n_spark * 3 + 1, sizeof *t);
    if (!t) {
        errorf(err, errlen, "out of memory");
        return -1;
    }
    size_t k = 0;
    int iceberg = variants_use(m, "iceberg"), gpu = variants_use(m, "gpu");
    for (size_t i = 0; i < m->n_spark; i++) {
        const struct matrix_spark *s = &m->spark[i];
        int rc = 0;
        if (iceberg && *s->iceberg.version)
            rc = add_target(&t[k++], m, i, "iceberg", &s->iceberg, err, errlen);
        if (!rc && iceberg && *s->iceberg_aws.version)
            rc = add_target(&t[k++], m, i, "iceberg_aws_bundle", &s->iceberg_aws, err, errlen);
        if (!rc && gpu && *s->rapids.version)
            rc = add_target(&t[k++], m, i, "rapids", &s->rapids, err, errlen);
        if (rc) {
            free(t);
            return -1;
        }
    }
    *out = t;
    *n = k;
    return 0;
}

/* ---- applying ---- */

/* Set spark[T->spark].<object>.<field> = VALUE in TEXT (replaced) and in ROOT. */
static int set_field(char **text, json_t *root, const struct target *t, const char *field,
                     const char *value, char *err, size_t errlen)
{
    char idx[32];
    snprintf(idx, sizeof idx, "%zu", t->spark);
    const char *path[4] = {"spark", idx, t->object, field};
    char *next = NULL;
    if (json_text_set_string(*text, path, 4, value, &next, err, errlen))
        return -1;
    free(*text);
    *text = next;
    json_t *obj = json_object_get(json_array_get(json_object_get(root, "spark"), t->spark),
                                  t->object);
    if (!json_is_object(obj) || json_object_set_new(obj, field, json_string(value))) {
        errorf(err, errlen, "spark[%zu].%s: not an object", t->spark, t->object);
        return -1;
    }
    return 0;
}

static int apply(char **text, json_t *root, const struct target *t, size_t n, enum mode mode,
                 size_t *set, char *err, size_t errlen)
{
    char lab[160];
    *set = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].verified) {
            label(&t[i], *t[i].sha512 ? "sha512" : "sha1", lab, sizeof lab);
            printf("%s = %s (pinned; matches %s)\n", lab, t[i].hex,
                   t[i].sum_url);
            continue;
        }
        if (!t[i].algo)
            continue;
        const char *have = strcmp(t[i].algo, "sha512") == 0 ? t[i].sha512 : t[i].sha1;
        if (strcmp(have, t[i].hex) != 0) {
            if (set_field(text, root, &t[i], t[i].algo, t[i].hex, err, errlen))
                return -1;
            (*set)++;
            label(&t[i], t[i].algo, lab, sizeof lab);
            printf("%s = %s (from %s)\n", lab, t[i].hex, t[i].sum_url);
        }
        /* --force leaves a jar with the publisher's checksum only */
        const char *other = strcmp(t[i].algo, "sha512") == 0 ? "sha1" : "sha512";
        const char *other_val = strcmp(other, "sha1") == 0 ? t[i].sha1 : t[i].sha512;
        if (mode == MODE_FORCE && *other_val) {
            if (set_field(text, root, &t[i], other, "", err, errlen))
                return -1;
            (*set)++;
            label(&t[i], other, lab, sizeof lab);
            printf("%s = \"\" (cleared: the publisher's %s replaces it)\n", lab, t[i].algo);
        }
    }
    return 0;
}

int cmd_images_pin(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    struct pin_options o;
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    char err[4096];
    char *text = NULL;
    struct stat st;
    struct matrix *m = NULL;
    struct target *t = NULL;
    size_t n = 0;
    json_t *root = NULL, *check = NULL;
    int rc = err_exit_status(ERR_INPUT), curl_up = 0; /* until the matrix is read */
    if (read_file(o.matrix, &text, &st, err, sizeof err) ||
        matrix_load_string(text, o.matrix, &m, err, sizeof err))
        goto fail;
    json_error_t jerr;
    root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, sizeof err, "%s: line %d: %s", o.matrix, jerr.line, jerr.text);
        goto fail;
    }
    if (targets_of(m, &t, &n, err, sizeof err))
        goto fail;
    rc = err_exit_status(ERR_RUNTIME); /* the fetches, the edit, the write */
    size_t fetches = 0;
    for (size_t i = 0; i < n; i++) {
        int pinned = *t[i].sha512 || *t[i].sha1;
        if (o.mode == MODE_IF_MISSING && pinned)
            continue;
        if (!curl_up) {
            if (http_global_init() != 0) {
                snprintf(err, sizeof err, "cannot initialise libcurl");
                goto fail;
            }
            curl_up = 1;
        }
        fetches++;
        if (resolve(&t[i], o.mode, o.timeout_s, err, sizeof err))
            goto fail;
    }
    if (fetches == 0) {
        fprintf(stderr, "spark-k8s images pin: every checksum in %s is pinned; nothing fetched\n",
                o.matrix);
        rc = 0;
        goto out;
    }
    size_t set = 0;
    if (apply(&text, root, t, n, o.mode, &set, err, sizeof err))
        goto fail;
    fflush(stdout);
    if (set == 0) {
        fprintf(stderr, "spark-k8s images pin: every checksum in %s matches its publisher's; "
                        "nothing changed\n", o.matrix);
        rc = 0;
        goto out;
    }
    /* the text must say exactly what the edited tree says, and still load */
    check = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    struct matrix *m2 = NULL;
    if (!check || !json_equal(check, root) ||
        matrix_load_string(text, o.matrix, &m2, err, sizeof err)) {
        if (!check || !json_equal(check, root))
            snprintf(err, sizeof err, "%s: internal error: the edited text does not match the "
                     "intended change; nothing written", o.matrix);
        goto fail;
    }
    char why[1024];
    int buildable = matrix_check_pins(m2, why, sizeof why) == 0;
    matrix_free(m2);
    if (write_atomic(o.matrix, text, &st, err, sizeof err))
        goto fail;
    fprintf(stderr,
            "spark-k8s images pin: wrote %zu checksum field%s into %s, each from its publisher's "
            "checksum file; review and commit it (git diff -- %s)\n",
            set, set == 1 ? "" : "s", o.matrix, o.matrix);
    if (!buildable)
        fprintf(stderr, "spark-k8s images pin: a build would still refuse: %s\n", why);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "spark-k8s images pin: refused, %s left unchanged: %s\n", o.matrix, err);
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
