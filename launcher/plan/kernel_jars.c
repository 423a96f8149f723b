/* kernel_jars.c — the jars of a kernel environment, listed, fetched and verified
 * (see kernel_jars.h). */
#include "launcher/plan/kernel_jars.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/sys/errmsg.h"
#include "launcher/sys/http.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/images/matrix.h"
#include "launcher/sys/hex.h"

#define MAX_TARGETS 8

/* One folder of jars and the Spark line it serves. */
struct target {
    char dir[4200];
    const struct matrix_spark *line;
};

/* A run over the targets: what it was asked, and its first failure. */
struct run {
    const struct matrix *m;
    const struct kernel_jars_options *o;
    error_report_fn *report;
    void *ctx;
    struct error *first;
    int unreachable; /* the repository did not answer: the other jars are not tried */
};

/* A failure of KIND: said through the report (unless SAY is 0: a line on stdout said
 * it), kept when it is the first. Returns -1. */
__attribute__((format(printf, 4, 5))) static int fail(struct run *r, enum err_kind kind,
                                                      int say, const char *fmt, ...)
{
    struct error e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    e.kind = kind;
    if (say)
        r->report(r->ctx, &e);
    if (r->first->kind == ERR_NONE)
        *r->first = e;
    return -1;
}

/* ---- files ---- */

/* Read IN to its end, into OUT when OUT >= 0, with the sha256 of what was read into
 * SHA256 (hex). 0, or -1 with errno set. */
static int digest_fd(int in, int out, char sha256[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ? 0 : -1;
    static unsigned char buf[1 << 16];
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || !EVP_DigestUpdate(ctx, buf, (size_t)n)) {
            rc = -1;
            break;
        }
        for (ssize_t off = 0; out >= 0 && off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &len))
        hex_encode(md, len, sha256);
    else
        rc = -1;
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int file_sha256(const char *path, char sha256[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = digest_fd(fd, -1, sha256);
    close(fd);
    return rc;
}

enum state { JAR_ABSENT, JAR_OK, JAR_DIFFERS, JAR_UNPINNED, JAR_UNREADABLE };

/* What the file at PATH is to jar J; its sha256 into GOT when read. */
static enum state jar_state(const struct kernel_jar *j, const char *path, char got[65])
{
    got[0] = '\0';
    if (access(path, F_OK) != 0)
        return JAR_ABSENT;
    if (!*j->sha256)
        return JAR_UNPINNED;
    if (file_sha256(path, got) != 0)
        return JAR_UNREADABLE;
    return strcasecmp(got, j->sha256) == 0 ? JAR_OK : JAR_DIFFERS;
}

static int mkdir_p(const char *dir)
{
    char path[4200];
    if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path)
        return -1;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* "<artifact> <version>" and " (classifier K)" for messages */
static void jar_title(const struct kernel_jar *j, char *buf, size_t len)
{
    if (j->classifier)
        snprintf(buf, len, "%s %s, classifier %s", j->component->artifact, j->component->version,
                 j->classifier->name);
    else
        snprintf(buf, len, "%s %s", j->component->artifact, j->component->version);
}

/* DIR/.FILE.XXXXXX opened for writing into TMP. The fd, or -1 with ERR. */
static int temp_in(const char *dir, const char *file, char *tmp, size_t tmplen, struct error *err)
{
    if ((size_t)snprintf(tmp, tmplen, "%s/.%s.XXXXXX", dir, file) >= tmplen)
        return error_set(err, ERR_RUNTIME, "%s: path too long", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return error_set(err, ERR_RUNTIME, "%s: cannot create a file: %s", dir, strerror(errno));
    return fd;
}

/* FD (the temp file TMP, closed here) renamed to PATH once flushed; unless the write
 * FAILED already (ERR set): then TMP is removed. 0, or -1 (ERR, TMP removed). */
static int commit(int fd, const char *tmp, const char *path, int failed, struct error *err)
{
    if (failed) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    int rc = 0;
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = error_set(err, ERR_RUNTIME, "%s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- fetching ---- */

/* Download jar J into DIR. 0 fetched; -1 failed (ERR); -2 the repository is
 * unreachable. */
static int download(const struct kernel_jar *j, const char *dir, const char *origin,
                    long timeout_s, struct error *err)
{
    char tmp[4600], path[4600], title[512];
    jar_title(j, title, sizeof title);
    if (!*j->sha256)
        return error_set(err, ERR_RUNTIME,
                         "%s: %s pins no sha256 for %s: run `spark-k8s images pin` (or give a "
                         "matrix that pins it); not installed",
                         j->file, origin, title);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, j->file) >= sizeof path)
        return error_set(err, ERR_RUNTIME, "%s: path too long", dir);
    int fd = temp_in(dir, j->file, tmp, sizeof tmp, err);
    if (fd < 0)
        return -1;
    struct http_download d;
    long status = 0;
    int rc = http_download_fd(j->url, fd, timeout_s, "jars fetch", &d, &status, err);
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        return rc < 0 && status == 0 ? -2 : -1;
    }
    if (strcasecmp(d.sha256, j->sha256) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: sha256 is %s, the matrix says %s; not installed", j->url,
                       d.sha256, j->sha256);
    else if (*j->sha1 && strcasecmp(d.sha1, j->sha1) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: sha1 is %s, the matrix says %s; not installed", j->url,
                       d.sha1, j->sha1);
    if (commit(fd, tmp, path, rc, err))
        return -1;
    printf("fetched %s (%zu bytes from %s, sha256 %s verified against the matrix)\n", path,
           d.bytes, j->url, d.sha256);
    return 0;
}

/* 1 if folders A and B are the same one */
static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Jar J (verified in CACHE) into DIR: a hard link, else a copy whose sha256 is
 * checked again. 0, or -1 (ERR). */
static int from_cache(const struct kernel_jar *j, const char *cache, const char *dir, struct error *err)
{
    char src[4600], path[4600], tmp[4600];
    if ((size_t)snprintf(src, sizeof src, "%s/%s", cache, j->file) >= sizeof src ||
        (size_t)snprintf(path, sizeof path, "%s/%s", dir, j->file) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.link", dir, j->file) >= sizeof tmp)
        return error_set(err, ERR_RUNTIME, "%s: path too long", dir);
    unlink(tmp); /* left by a run that was killed */
    if (link(src, tmp) == 0) {
        if (rename(tmp, path) != 0) {
            int e = errno;
            unlink(tmp);
            return error_set(err, ERR_RUNTIME, "%s: cannot rename into place: %s", path, strerror(e));
        }
        printf("installed %s (a hard link to %s, verified there)\n", path, src);
        return 0;
    }
    if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EACCES)
        return error_set(err, ERR_RUNTIME, "%s: cannot link %s: %s", path, src, strerror(errno));
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return error_set(err, ERR_RUNTIME, "%s: %s", src, strerror(errno));
    int fd = temp_in(dir, j->file, tmp, sizeof tmp, err);
    if (fd < 0) {
        close(in);
        return -1;
    }
    char got[65] = "";
    int rc = 0;
    if (digest_fd(in, fd, got) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: cannot copy %s: %s", path, src, strerror(errno));
    close(in);
    if (rc == 0 && strcasecmp(got, j->sha256) != 0)
        rc = error_set(err, ERR_RUNTIME, "%s: sha256 is %s, the matrix says %s; not installed", src, got,
                       j->sha256);
    if (commit(fd, tmp, path, rc, err))
        return -1;
    printf("installed %s (copied from %s, another file system; sha256 verified)\n", path, src);
    return 0;
}

/* ---- choosing the RAPIDS build ---- */

/* What drivers a CUDA major needs, for the hint after a choice. */
static const char *driver_of(int cuda)
{
    switch (cuda) {
    case 11:
        return "drivers older than R525";
    case 12:
        return "R525+ drivers";
    case 13:
        return "R580+ drivers";
    default:
        return "its drivers";
    }
}

/* " (--cuda 13 for R580+ drivers)" for the other CUDA majors C has for ARCH. */
static void other_builds(const struct matrix_component *c, const char *arch, int cuda,
                         char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n_classifiers && used < len; i++) {
        const struct matrix_classifier *k = &c->classifiers[i];
        if (strcmp(k->arch, arch) != 0 || k->cuda == cuda)
            continue;
        int n = snprintf(buf + used, len - used, "; --cuda %d for %s", k->cuda,
                         driver_of(k->cuda));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* The RAPIDS build for target T into J (J holds the default entry on entry). Said on
 * stdout with why. 0; -1 when the release lacks what was asked for (ERR names what it
 * has); *STATE and GOT set when the choice verified a present file. */
static int choose_rapids(const struct matrix *m, const struct target *t, const struct kernel_jars_options *o,
                         struct kernel_jar *j, enum state *state, char got[65], struct error *err)
{
    const struct matrix_component *c = &t->line->rapids;
    *state = JAR_ABSENT;
    got[0] = '\0';
    if (c->n_classifiers == 0)
        return 0;
    char list[1024], machine[64] = "", why[512], hint[256] = "";
    matrix_classifiers_text(c, list, sizeof list);
    kernel_env_machine_arch(machine, sizeof machine);
    const struct matrix_classifier *d = matrix_classifier_find(c, c->default_classifier);
    const struct matrix_classifier *k = NULL;
    if (o->classifier) {
        k = matrix_classifier_find(c, o->classifier);
        if (!k)
            return error_set(err, ERR_INPUT,
                             "--rapids-classifier %s: RAPIDS %s (%s, Spark %s) has no such build; "
                             "it has %s",
                             o->classifier, c->version, c->artifact, t->line->line, list);
        snprintf(why, sizeof why, "--rapids-classifier %s", k->name);
    } else if (o->cuda || o->arch) {
        const char *arch = o->arch ? o->arch : machine;
        int cuda = o->cuda ? o->cuda : d ? d->cuda : 12;
        k = matrix_classifier_pick(c, arch, cuda);
        if (!k)
            return error_set(err, ERR_INPUT,
                          "RAPIDS %s (%s, Spark %s) has no build for %s with CUDA %d%s; it has %s",
                             c->version, c->artifact, t->line->line, arch, cuda,
                             o->arch ? "" : " (this machine's architecture)", list);
        snprintf(why, sizeof why, "%s",
                 o->cuda && o->arch ? "--cuda and --arch"
                 : o->cuda          ? "--cuda, on this machine's architecture"
                                    : "--arch, with the default CUDA major");
    } else {
        struct kernel_jar have;
        if (kernel_env_rapids_present(m, t->line, t->dir, o->repository, &have) == 1) {
            char path[4600], sum[65];
            if ((size_t)snprintf(path, sizeof path, "%s/%s", t->dir, have.file) < sizeof path &&
                have.classifier && jar_state(&have, path, sum) == JAR_OK) {
                k = have.classifier;
                *state = JAR_OK;
                snprintf(got, 65, "%s", sum);
                snprintf(why, sizeof why, "the build already there; --cuda, --arch or "
                         "--rapids-classifier to change it");
            }
        }
        if (!k) {
            int cuda = d ? d->cuda : 12;
            k = matrix_classifier_pick(c, machine, cuda);
            if (!k)
                return error_set(err, ERR_INPUT,
                                 "RAPIDS %s (%s, Spark %s) has no build for this machine (%s) with "
                                 "CUDA %d; it has %s: give --rapids-classifier NAME or --arch",
                                 c->version, c->artifact, t->line->line, machine, cuda, list);
            other_builds(c, machine, cuda, hint, sizeof hint);
            snprintf(why, sizeof why, "the default%s", hint);
        }
    }
    if (kernel_env_jar_set(m, o->repository, j, k))
        return error_set(err, ERR_INPUT, "RAPIDS %s, classifier %s: no download URL", c->version,
                         k->name);
    printf("RAPIDS for Spark %s: %s (%s, CUDA %d: %s)\n", t->line->line, k->name, k->arch,
           k->cuda, why);
    return 0;
}

/* Remove the RAPIDS jars of T's line in T's folder other than KEEP (an environment
 * holds one build). */
static void remove_other_rapids(const struct matrix *m, const struct target *t,
                                const struct kernel_jars_options *o, const struct kernel_jar *keep)
{
    const struct matrix_component *c = &t->line->rapids;
    for (size_t i = 0; i <= c->n_classifiers; i++) {
        struct kernel_jar other = *keep;
        const struct matrix_classifier *k = i < c->n_classifiers ? &c->classifiers[i] : NULL;
        if (kernel_env_jar_set(m, o->repository, &other, k) ||
            strcmp(other.file, keep->file) == 0)
            continue;
        char path[4600];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", t->dir, other.file) < sizeof path &&
            unlink(path) == 0)
            printf("removed %s (another RAPIDS build; an environment holds one: %s)\n", path,
                   keep->file);
    }
}

/* ---- one folder ---- */

/* The jars of T (every variant, or o->variant), deduplicated, into ALL. */
static size_t jars_of(const struct matrix *m, const struct target *t, const struct kernel_jars_options *o,
                      struct kernel_jar *all, size_t cap)
{
    size_t n = 0;
    for (size_t v = 0; v < m->n_variants; v++) {
        if (o->variant && strcmp(o->variant, m->variants[v]) != 0)
            continue;
        struct kernel_jar jars[KERNEL_JARS_MAX];
        size_t k = kernel_env_jars(m, t->line, m->variants[v], o->repository, jars);
        for (size_t i = 0; i < k; i++) {
            size_t seen = 0;
            while (seen < n && strcmp(all[seen].file, jars[i].file) != 0)
                seen++;
            if (seen == n && n < cap)
                all[n++] = jars[i];
        }
    }
    return n;
}

/* Make sure jar J is verified in the cache CACHE (downloading it there if not).
 * 0, -1 (ERR), -2 unreachable. */
static int ensure_cached(const struct kernel_jar *j, const char *cache, const char *origin,
                         long timeout_s, struct error *err)
{
    char path[4600], got[65];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cache, j->file) >= sizeof path)
        return error_set(err, ERR_SYSTEM, "%s: path too long", cache);
    enum state s = jar_state(j, path, got);
    if (s == JAR_OK)
        return 0;
    if (s == JAR_DIFFERS)
        printf("cache: %s has sha256 %s, the matrix says %s; fetching it again\n", path, got,
               j->sha256);
    if (mkdir_p(cache) != 0)
        return error_set(err, ERR_SYSTEM, "cannot create %s: %s", cache, strerror(errno));
    return download(j, cache, origin, timeout_s, err);
}

/* The jars of T: each present, listed, or fetched. 0, or -1 after a failure (kept in R). */
static int run_target(struct run *r, const struct target *t)
{
    const struct matrix *m = r->m;
    const struct kernel_jars_options *o = r->o;
    struct kernel_jar all[KERNEL_JARS_MAX * 4];
    size_t n = jars_of(m, t, o, all, sizeof all / sizeof all[0]);
    int rc = 0;
    struct error err = {0};
    for (size_t i = 0; i < n; i++) {
        const char *feature = all[i].feature;
        char path[4600], got[65] = "";
        enum state have = JAR_ABSENT;
        int chosen = 0;
        if (strcmp(all[i].what, "rapids") == 0) {
            if (choose_rapids(m, t, o, &all[i], &have, got, &err) != 0) {
                rc = fail(r, err.kind, 1, "%s", err.text);
                continue;
            }
            chosen = have == JAR_OK;
        }
        if ((size_t)snprintf(path, sizeof path, "%s/%s", t->dir, all[i].file) >= sizeof path)
            return fail(r, ERR_INPUT, 1, "%s/%s: too long a path", t->dir, all[i].file);
        if (!chosen)
            have = jar_state(&all[i], path, got);
        if (have == JAR_OK) {
            printf("present %s (%s, Spark %s; sha256 verified)\n", path, feature, t->line->line);
            if (o->fetch && strcmp(all[i].what, "rapids") == 0)
                remove_other_rapids(m, t, o, &all[i]);
            continue;
        }
        if (!o->fetch) {
            if (have == JAR_ABSENT)
                printf("missing %s (%s, Spark %s): fetch it with spark-k8s jars fetch\n", path,
                       feature, t->line->line);
            else if (have == JAR_DIFFERS)
                printf("differs %s (%s, Spark %s): sha256 is %s, the matrix says %s; fetch it "
                       "again with spark-k8s jars fetch\n",
                       path, feature, t->line->line, got, all[i].sha256);
            else if (have == JAR_UNPINNED)
                printf("unverified %s (%s, Spark %s): the matrix pins no sha256 for it (run "
                       "spark-k8s images pin)\n",
                       path, feature, t->line->line);
            else
                printf("unreadable %s (%s, Spark %s): cannot read it to verify it\n", path,
                       feature, t->line->line);
            rc = fail(r, ERR_RUNTIME, 0, "%s: not there, or not the jar the matrix pins", path);
            continue;
        }
        if (have == JAR_DIFFERS)
            printf("%s has sha256 %s, the matrix says %s; fetching it again\n", path, got,
                   all[i].sha256);
        if (r->unreachable) {
            rc = fail(r, ERR_RUNTIME, 0, "%s: not fetched (the repository is unreachable)", path);
            continue;
        }
        if (mkdir_p(t->dir) != 0)
            return fail(r, ERR_SYSTEM, 1, "cannot create %s: %s", t->dir, strerror(errno));
        int f;
        if (o->cache && !same_dir(o->cache, t->dir)) {
            f = ensure_cached(&all[i], o->cache, m->origin, o->timeout_s, &err);
            if (f == 0)
                f = from_cache(&all[i], o->cache, t->dir, &err);
        } else {
            f = download(&all[i], t->dir, m->origin, o->timeout_s, &err);
        }
        if (f == -2) {
            rc = fail(r, ERR_RUNTIME, 1, "%s; the repository is unreachable from here, so the "
                      "other jars are not tried (give --repository URL for a mirror)", err.text);
            r->unreachable = 1;
        } else if (f != 0) {
            rc = fail(r, err.kind, 1, "%s", err.text);
        } else if (strcmp(all[i].what, "rapids") == 0) {
            remove_other_rapids(m, t, o, &all[i]);
        }
    }
    return rc;
}

/* The folders to work on, into T; how many, or -1 after saying why (kept in R). */
static int find_targets(struct run *r, const struct kernel_jars_options *o, struct target *t)
{
    const struct matrix *m = r->m;
    size_t n = 0;
    if (o->dir) {
        for (size_t i = 0; i < m->n_spark && n < MAX_TARGETS; i++) {
            if (o->spark && matrix_spark_find(m, o->spark) != &m->spark[i])
                continue;
            snprintf(t[n].dir, sizeof t[n].dir, "%s", o->dir);
            t[n++].line = &m->spark[i];
        }
        if (n == 0)
            return fail(r, ERR_USAGE, 1, "--spark: not a Spark line of the matrix");
        return (int)n;
    }
    if (o->python) {
        const char *python = o->python;
        char abs[4200];
        if (python[0] != '/' && strchr(python, '/')) { /* relative: from here */
            char cwd[4096];
            if (getcwd(cwd, sizeof cwd) &&
                (size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, python) < sizeof abs)
                python = abs;
        }
        struct kernel_env_probe p;
        struct error err = {0};
        if (kernel_env_probe(python, &p, &err) != 0)
            return fail(r, err.kind, 1, "--python %s", err.text);
        if (!*p.pyspark || !(t[0].line = matrix_spark_find(m, p.pyspark)) ||
            kernel_env_jars_dir(python, t[0].dir, sizeof t[0].dir) != 0)
            return fail(r, ERR_INPUT, 1, "--python %s: its pyspark (%s) is not a Spark version "
                        "of the matrix, or it is not an absolute path <env>/bin/NAME",
                        python, *p.pyspark ? p.pyspark : "none");
        return 1;
    }
    char self[4096], py[4200];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    self[len > 0 ? len : 0] = '\0';
    if (o->spark && !matrix_spark_find(m, o->spark))
        return fail(r, ERR_USAGE, 1, "--spark: not a Spark line of the matrix");
    for (size_t i = 0; i < m->n_spark && n < MAX_TARGETS; i++) {
        if (o->spark && matrix_spark_find(m, o->spark) != &m->spark[i])
            continue;
        if (kernel_env_bundled_python(self, m->spark[i].line, py, sizeof py) != 1 ||
            kernel_env_jars_dir(py, t[n].dir, sizeof t[n].dir) != 0)
            continue;
        t[n++].line = &m->spark[i];
    }
    if (n == 0) {
        /* nothing to work on here: a runtime failure, as a missing jar is */
        return fail(r, ERR_RUNTIME, 1, "no kernel environment is installed beside %s; give "
                    "--python PATH or --dir DIR", self);
    }
    return (int)n;
}

int kernel_jars_run(const struct kernel_jars_options *opt, error_report_fn *report,
                    void *ctx, struct error *err)
{
    const struct kernel_jars_options *o = opt;
    struct error first = {0};
    struct run r = {.o = o, .report = report, .ctx = ctx, .first = &first};
    struct matrix *m = NULL;
    struct error e = {0};
    if (matrix_load_default(&m, &e)) {
        fail(&r, e.kind, 1, "%s", e.text);
        goto out;
    }
    r.m = m;
    if (o->variant && !matrix_variant_valid(m, o->variant)) {
        fail(&r, ERR_USAGE, 1, "--variant: not a variant of the matrix");
        goto out;
    }
    struct target targets[MAX_TARGETS];
    int n = find_targets(&r, o, targets);
    if (n < 0)
        goto out;
    if (o->fetch && http_global_init() != 0) {
        fail(&r, ERR_SYSTEM, 1, "cannot initialise libcurl");
        goto out;
    }
    for (int i = 0; i < n; i++)
        run_target(&r, &targets[i]);
    fflush(stdout);
    if (o->fetch)
        http_global_cleanup();
out:
    matrix_free(m);
    if (first.kind == ERR_NONE)
        return 0;
    if (err)
        *err = first;
    return -1;
}
