/* cmd_jars.c — `spark-k8s jars list|fetch`: the jars the gpu and iceberg kernels need
 * beyond Spark's own (RAPIDS, Iceberg), which outside the images live in the kernel
 * environment (<env>/share/spark-k8s/jars). `fetch` downloads the missing ones from
 * the matrix's Maven repository (or a mirror), each verified against the matrix's
 * checksum, or, where the matrix has none yet, against the repository's own
 * checksum file (said so); a jar is written under a temporary name and renamed into
 * place only once verified, so a failed fetch leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/http.h"
#include "launcher/spec/kernel_env.h"
#include "launcher/images/matrix.h"
#include "launcher/images/matrix_pin.h"

#define DEFAULT_TIMEOUT_S 60L
#define REPOSITORY_ENV "SPARK_K8S_MAVEN_REPOSITORY"

static const char usage_text[] =
    "usage: spark-k8s jars list  [--python PATH | --dir DIR --spark LINE] [--variant VARIANT]\n"
    "       spark-k8s jars fetch [--python PATH | --dir DIR --spark LINE] [--variant VARIANT]\n"
    "                            [--repository URL] [--timeout SECONDS]\n"
    "\n"
    "The jars of the gpu (RAPIDS) and iceberg (Iceberg) kernels, which outside the images\n"
    "live in the kernel's Python environment: <env>/share/spark-k8s/jars.\n"
    "  --python PATH     the kernel environment of that interpreter (its pyspark gives the\n"
    "                    Spark line); default: every environment installed beside this\n"
    "                    binary (PREFIX/lib/spark-k8s/envs/spark-LINE)\n"
    "  --dir DIR         a folder of jars instead, for Spark LINE\n"
    "  --variant V       only the jars of variant V (default: all variants)\n"
    "  --repository URL  a Maven repository or mirror instead of the matrix's\n"
    "                    (also $" REPOSITORY_ENV ")\n"
    "Each jar is verified against the matrix's sha512 or sha1; where the matrix has\n"
    "none, against the repository's <jar>.sha512 or .sha1, and the output says so.\n"
    "Exit status: 0 every jar present, 1 a jar missing or a fetch failed, 2 bad usage or\n"
    "input (an option's value, the matrix).\n";

struct options {
    const char *python, *dir, *spark, *variant, *repository;
    long timeout_s;
    int fetch;
};

/* One folder of jars and the Spark line it serves. */
struct target {
    char dir[4200];
    const struct matrix_spark *line;
};

/* The sha512 and sha1 of the file at PATH (hex). 0, or -1. */
static int file_digests(const char *path, char sha1[41], char sha512[129])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
    int rc = a && b && EVP_DigestInit_ex(a, EVP_sha1(), NULL) &&
                     EVP_DigestInit_ex(b, EVP_sha512(), NULL)
                 ? 0
                 : -1;
    static unsigned char buf[1 << 16];
    ssize_t n;
    while (rc == 0 && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || !EVP_DigestUpdate(a, buf, (size_t)n) || !EVP_DigestUpdate(b, buf, (size_t)n))
            rc = -1;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    if (rc == 0 && EVP_DigestFinal_ex(a, md, &len))
        for (unsigned i = 0; i < len; i++)
            snprintf(sha1 + 2 * i, 3, "%02x", md[i]);
    if (rc == 0 && EVP_DigestFinal_ex(b, md, &len))
        for (unsigned i = 0; i < len; i++)
            snprintf(sha512 + 2 * i, 3, "%02x", md[i]);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    close(fd);
    return rc;
}

/* The checksum a jar must have: the matrix's (sha512 first), else the repository's
 * checksum file next to it. 0 with ALGO and HEX; 1 on HTTP failure, -1 otherwise. */
static int expected_sum(const struct kernel_jar *j, long timeout_s, const char **algo,
                        char hex[129], char *from, size_t fromlen, char *err, size_t errlen)
{
    const struct matrix_component *c = j->component;
    if (c->sha512 && *c->sha512) {
        *algo = "sha512";
        snprintf(hex, 129, "%s", c->sha512);
        snprintf(from, fromlen, "the matrix");
        return 0;
    }
    if (c->sha1 && *c->sha1) {
        *algo = "sha1";
        snprintf(hex, 129, "%s", c->sha1);
        snprintf(from, fromlen, "the matrix");
        return 0;
    }
    static const char *const exts[] = {"sha512", "sha1"};
    int rc = 1;
    for (size_t i = 0; i < 2 && rc == 1; i++) {
        char url[1100];
        snprintf(url, sizeof url, "%s.%s", j->url, exts[i]);
        struct buffer b = {0};
        long status = 0;
        rc = http_get(url, timeout_s, "jars fetch", &b, &status, err, errlen);
        if (rc == 0) {
            char why[512];
            size_t hexlen = i == 0 ? 128 : 40;
            if (checksum_parse(b.data ? b.data : "", b.len, j->file, hexlen, 1, hex, 129, why,
                               sizeof why)) {
                errorf(err, errlen, "%s: %s", url, why);
                rc = -1;
            } else {
                *algo = exts[i];
                snprintf(from, fromlen, "%s (the matrix has no checksum for it yet: run "
                         "`spark-k8s images pin` to pin one)", url);
            }
        } else if (rc == 1 && status != 404) {
            rc = -1;
        }
        buffer_free(&b);
    }
    return rc;
}

/* Fetch jar J into DIR. 0 fetched; -1 failed (ERR); -2 the repository is unreachable. */
static int fetch_one(const struct kernel_jar *j, const char *dir, long timeout_s, char *err,
                     size_t errlen)
{
    char tmp[4600], path[4600];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, j->file) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, j->file) >= sizeof tmp) {
        errorf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        errorf(err, errlen, "%s: cannot create a file: %s", dir, strerror(errno));
        return -1;
    }
    struct http_download d;
    long status = 0;
    int rc = http_download_fd(j->url, fd, timeout_s, "jars fetch", &d, &status, err, errlen);
    if (rc != 0) {
        close(fd);
        unlink(tmp);
        return rc < 0 && status == 0 ? -2 : -1;
    }
    const char *algo = NULL;
    char want[129], from[1400];
    rc = expected_sum(j, timeout_s, &algo, want, from, sizeof from, err, errlen);
    if (rc == 0) {
        const char *got = strcmp(algo, "sha512") == 0 ? d.sha512 : d.sha1;
        if (strcasecmp(got, want) != 0) {
            errorf(err, errlen, "%s: its %s is %s, but %s says %s; not installed", j->url, algo,
                     got, from, want);
            rc = -1;
        }
    } else if (rc == 1) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, " (no checksum to verify %s against; not installed)",
                 j->file);
        rc = -1;
    }
    if (rc == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0)) {
        errorf(err, errlen, "%s: %s", tmp, strerror(errno));
        rc = -1;
    }
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        errorf(err, errlen, "%s: cannot rename into place: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0) {
        unlink(tmp);
        return -1;
    }
    printf("fetched %s (%zu bytes, %s verified against %s)\n", path, d.bytes, algo, from);
    return 0;
}

/* 1 if the jar at PATH is there and matches the matrix's checksum (or the matrix
 * has none); 0 if absent; -1 if present but different. */
static int present(const struct kernel_jar *j, const char *path)
{
    if (access(path, R_OK) != 0)
        return 0;
    const struct matrix_component *c = j->component;
    int pinned = (c->sha512 && *c->sha512) || (c->sha1 && *c->sha1);
    if (!pinned)
        return 1;
    char sha1[41] = "", sha512[129] = "";
    if (file_digests(path, sha1, sha512))
        return -1;
    if (c->sha512 && *c->sha512)
        return strcasecmp(sha512, c->sha512) == 0 ? 1 : -1;
    return strcasecmp(sha1, c->sha1) == 0 ? 1 : -1;
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

static int run_target(const struct matrix *m, const struct target *t, const struct options *o,
                      int *unreachable)
{
    struct kernel_jar all[KERNEL_JARS_MAX * 4];
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
            if (seen == n && n < sizeof all / sizeof all[0])
                all[n++] = jars[i];
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4600], err[2048];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", t->dir, all[i].file) >= sizeof path)
            return cmd_error("jars", ERR_INPUT, "%s/%s: too long a path", t->dir, all[i].file);
        int have = present(&all[i], path);
        if (have == 1) {
            printf("present %s (%s, Spark %s)\n", path, all[i].feature, t->line->line);
            continue;
        }
        if (!o->fetch) {
            printf("%s %s (%s, Spark %s): fetch it with spark-k8s jars fetch\n",
                   have == 0 ? "missing" : "differs from the matrix's checksum:", path,
                   all[i].feature, t->line->line);
            rc = err_exit_status(ERR_RUNTIME);
            continue;
        }
        if (*unreachable) {
            rc = err_exit_status(ERR_RUNTIME);
            continue;
        }
        if (mkdir_p(t->dir) != 0)
            return cmd_error("jars", ERR_SYSTEM, "cannot create %s: %s", t->dir, strerror(errno));
        int f = fetch_one(&all[i], t->dir, o->timeout_s, err, sizeof err);
        if (f == -2) {
            fprintf(stderr, "spark-k8s jars: %s; the repository is unreachable from here, so "
                            "the other jars are not tried (give --repository URL for a mirror)\n",
                    err);
            *unreachable = 1;
            rc = err_exit_status(ERR_RUNTIME);
        } else if (f != 0) {
            rc = cmd_error("jars", ERR_RUNTIME, "%s", err);
        }
    }
    return rc;
}

static int parse(int argc, char **argv, struct options *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--python") == 0)
            slot = &o->python;
        else if (strcmp(a, "--dir") == 0)
            slot = &o->dir;
        else if (strcmp(a, "--spark") == 0)
            slot = &o->spark;
        else if (strcmp(a, "--variant") == 0)
            slot = &o->variant;
        else if (strcmp(a, "--repository") == 0)
            slot = &o->repository;
        else if (strcmp(a, "--timeout") == 0) {
            char *end = NULL;
            o->timeout_s = i + 1 < argc ? strtol(argv[++i], &end, 10) : 0;
            if (!end || *end || o->timeout_s < 1)
                return cmd_usage_error("jars", "--timeout: give a number of seconds, at least 1");
            continue;
        } else {
            return cmd_usage_error("jars", "unknown option '%s'", a);
        }
        if (i + 1 >= argc || !*argv[i + 1])
            return cmd_usage_error("jars", "%s needs a value", a);
        *slot = argv[++i];
    }
    if (o->python && o->dir)
        return cmd_usage_error("jars", "give --python or --dir, not both");
    if (o->dir && !o->spark)
        return cmd_usage_error("jars", "--dir needs --spark LINE");
    if (o->repository && strncmp(o->repository, "https://", 8) != 0 &&
        strncmp(o->repository, "http://", 7) != 0)
        return cmd_usage_error("jars", "--repository: give an http(s) URL");
    return 0;
}

int cmd_jars(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? err_exit_status(ERR_USAGE) : 0;
    }
    struct options o = {0};
    o.timeout_s = DEFAULT_TIMEOUT_S;
    if (strcmp(argv[1], "fetch") == 0)
        o.fetch = 1;
    else if (strcmp(argv[1], "list") != 0)
        return cmd_usage_error("jars", "give list or fetch");
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    if (!o.repository && getenv(REPOSITORY_ENV) && *getenv(REPOSITORY_ENV))
        o.repository = getenv(REPOSITORY_ENV);
    char err[2048];
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err, sizeof err))
        return cmd_error("jars", ERR_INPUT, "%s", err);
    if (o.variant && !matrix_variant_valid(m, o.variant)) {
        matrix_free(m);
        return cmd_usage_error("jars", "--variant: not a variant of the matrix");
    }
    struct target targets[8];
    size_t n = 0;
    if (o.dir) {
        targets[0].line = matrix_spark_find(m, o.spark);
        if (!targets[0].line) {
            matrix_free(m);
            return cmd_usage_error("jars", "--spark: not a Spark line of the matrix");
        }
        snprintf(targets[0].dir, sizeof targets[0].dir, "%s", o.dir);
        n = 1;
    } else if (o.python) {
        char abs[4200];
        if (o.python[0] != '/' && strchr(o.python, '/')) { /* relative: from here */
            char cwd[4096];
            if (getcwd(cwd, sizeof cwd) &&
                (size_t)snprintf(abs, sizeof abs, "%s/%s", cwd, o.python) < sizeof abs)
                o.python = abs;
        }
        struct kernel_env_probe p;
        err[0] = '\0';
        if (kernel_env_probe(o.python, &p, err, sizeof err) != 0 || !*p.pyspark ||
            !(targets[0].line = matrix_spark_find(m, p.pyspark)) ||
            kernel_env_jars_dir(o.python, targets[0].dir, sizeof targets[0].dir) != 0) {
            if (!*err)
                errorf(err, sizeof err, "%s: its pyspark (%s) is not a Spark line of the "
                         "matrix, or it is not an absolute path <env>/bin/NAME",
                         o.python, *p.pyspark ? p.pyspark : "none");
            matrix_free(m);
            return cmd_error("jars", ERR_INPUT, "--python %s", err);
        }
        n = 1;
    } else {
        char self[4096], py[4200];
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        self[len > 0 ? len : 0] = '\0';
        for (size_t i = 0; i < m->n_spark && n < 8; i++) {
            if (o.spark && !matrix_spark_find(m, o.spark))
                break;
            if (o.spark && matrix_spark_find(m, o.spark) != &m->spark[i])
                continue;
            if (kernel_env_bundled_python(self, m->spark[i].line, py, sizeof py) != 1 ||
                kernel_env_jars_dir(py, targets[n].dir, sizeof targets[n].dir) != 0)
                continue;
            targets[n++].line = &m->spark[i];
        }
        if (n == 0) {
            /* nothing to work on here: a runtime failure, as a missing jar is */
            matrix_free(m);
            return cmd_error("jars", ERR_RUNTIME, "no kernel environment is installed beside "
                             "%s; give --python PATH or --dir DIR --spark LINE", self);
        }
    }
    if (o.fetch && http_global_init() != 0) {
        matrix_free(m);
        return cmd_error("jars", ERR_SYSTEM, "cannot initialise libcurl");
    }
    int unreachable = 0;
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        int one = run_target(m, &targets[i], &o, &unreachable);
        if (!rc)
            rc = one; /* the first failure's status */
    }
    if (o.fetch)
        http_global_cleanup();
    matrix_free(m);
    return rc;
}
