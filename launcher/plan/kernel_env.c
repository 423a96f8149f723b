/* kernel_env.c — a kernel's Python environment and jars (see kernel_env.h). */
#include "launcher/plan/kernel_env.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "launcher/sys/errmsg.h"
#include "launcher/images/matrix_pin.h"
#include "launcher/sys/spawn.h"

int kernel_env_bundled_python(const char *exe, const char *line, char *buf, size_t len)
{
    const char *slash = strrchr(exe, '/');
    int dirlen = slash ? (int)(slash - exe) : 1;
    const char *dir = slash ? exe : ".";
    if ((size_t)snprintf(buf, len, "%.*s/../lib/spark-k8s/envs/spark-%s/bin/python", dirlen, dir,
                         line) >= len)
        return -1;
    /* show the plain path: PREFIX/lib/..., not PREFIX/bin/../lib/... */
    char *up = strstr(buf, "/bin/../");
    if (up && up == buf + dirlen - 4)
        memmove(up, up + 7, strlen(up + 7) + 1);
    return access(buf, X_OK) == 0 ? 1 : 0;
}

/* What the probe prints: one JSON object. Reads versions from the installed
 * distributions' metadata (fast: nothing is imported), else from pyspark's
 * version.py where pyspark is on the path without metadata (SPARK_HOME/python). */
static const char probe_code[] =
    "import json, os, sys\n"
    "from importlib import metadata, util\n"
    "def version(name):\n"
    "    try:\n"
    "        return metadata.version(name)\n"
    "    except Exception:\n"
    "        pass\n"
    "    try:\n"
    "        spec = util.find_spec(name)\n"
    "    except Exception:\n"
    "        return ''\n"
    "    if spec is None or not spec.origin:\n"
    "        return ''\n"
    "    try:\n"
    "        ns = {}\n"
    "        with open(os.path.join(os.path.dirname(spec.origin), 'version.py')) as f:\n"
    "            exec(f.read(), ns)\n"
    "        return str(ns.get('__version__', '?'))\n"
    "    except Exception:\n"
    "        return '?'\n"
    "print(json.dumps({'python': '%d.%d.%d' % sys.version_info[:3], 'prefix': sys.prefix,\n"
    "                  'ipykernel': version('ipykernel'), 'pyspark': version('pyspark')}))\n";

static void copy_field(json_t *root, const char *key, char *buf, size_t len)
{
    const char *s = json_string_value(json_object_get(root, key));
    snprintf(buf, len, "%s", s ? s : "");
}

int kernel_env_probe(const char *python, struct kernel_env_probe *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    char *argv[] = {(char *)python, "-c", (char *)probe_code, NULL};
    char *text = NULL;
    int rc = spawn_run(argv, &text, SPAWN_QUIET, KERNEL_ENV_PROBE_TIMEOUT_MS);
    if (rc != 0) {
        if (rc == 127)
            error_set(err, ERR_INPUT, "%s: cannot be run (not found or not executable)", python);
        else if (rc == 124)
            error_set(err, ERR_INPUT, "%s: did not answer within %ld s", python,
                      KERNEL_ENV_PROBE_TIMEOUT_MS / 1000);
        else
            error_set(err, ERR_INPUT, "%s: is not a Python 3 that runs (exit status %d)", python, rc);
        free(text);
        return -1;
    }
    json_t *root = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    if (!json_is_object(root)) {
        error_set(err, ERR_INPUT, "%s: is not a Python 3 that runs (no answer to the probe)", python);
        json_decref(root);
        return -1;
    }
    copy_field(root, "python", out->python, sizeof out->python);
    copy_field(root, "prefix", out->prefix, sizeof out->prefix);
    copy_field(root, "ipykernel", out->ipykernel, sizeof out->ipykernel);
    copy_field(root, "pyspark", out->pyspark, sizeof out->pyspark);
    json_decref(root);
    return 0;
}

/* 1 if VERSION ("4.1.3") is of LINE ("4.1"). */
static int of_line(const char *version, const char *line)
{
    size_t n = strlen(line);
    return strncmp(version, line, n) == 0 && (version[n] == '.' || version[n] == '\0');
}

int kernel_env_check(const struct kernel_env_probe *p, const char *option,
                     const struct matrix_spark *line, const char *variant, struct error *err)
{
    char found[256];
    snprintf(found, sizeof found, "found Python %s, ipykernel %s, pyspark %s", p->python,
             *p->ipykernel ? p->ipykernel : "(none)", *p->pyspark ? p->pyspark : "(none)");
    if (!*p->ipykernel) {
        error_set(err, ERR_INPUT, "%s: ipykernel is not installed there (%s); a kernel needs it",
                  option, found);
        return -1;
    }
    if (!*p->pyspark) {
        error_set(err, ERR_INPUT, "%s: pyspark is not installed there (%s); Spark %s kernels need "
                  "pyspark %s", option, found, line->line, line->version);
        return -1;
    }
    if (!of_line(p->pyspark, line->line)) {
        error_set(err, ERR_INPUT, "%s: its pyspark is %s, not of Spark %s (%s); Spark %s kernels "
                  "need pyspark %s", option, p->pyspark, line->line, found, line->line,
                  line->version);
        return -1;
    }
    if (matrix_variant_has(variant, "gpu")) {
        const struct matrix_component *r = &line->rapids;
        size_t i = 0;
        while (i < r->n_supported_spark && strcmp(r->supported_spark[i], p->pyspark) != 0)
            i++;
        if (r->n_supported_spark && i == r->n_supported_spark) {
            error_set(err, ERR_INPUT, "%s: its pyspark is %s, which RAPIDS %s does not support (it "
                      "runs only on the Spark versions it was built for; the matrix's is %s)",
                      option, p->pyspark, r->version, line->version);
            return -1;
        }
    }
    return 0;
}

int kernel_env_machine_arch(char *buf, size_t len)
{
    struct utsname u;
    if (uname(&u) != 0)
        return -1;
    const char *arch = u.machine;
    if (strcmp(arch, "arm64") == 0)
        arch = "aarch64";
    int n = snprintf(buf, len, "%s", arch);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* C's build for ARCH with the default classifier's CUDA major, or NULL. */
static const struct matrix_classifier *default_build(const struct matrix_component *c,
                                                     const char *arch)
{
    const struct matrix_classifier *d = matrix_classifier_find(c, c->default_classifier);
    return d ? matrix_classifier_pick(c, arch, d->cuda) : NULL;
}

const struct matrix_classifier *kernel_env_rapids_default(const struct matrix_spark *line,
                                                          const char *arch)
{
    return default_build(&line->rapids, arch);
}

int kernel_env_jar_set(const struct matrix *m, const char *repository, struct kernel_jar *j,
                       const struct matrix_classifier *k)
{
    const struct matrix_component *c = j->component;
    j->classifier = k;
    j->sha256 = k ? k->sha256 : c->sha256;
    j->sha1 = k ? k->sha1 : c->sha1;
    struct matrix local = *m;
    if (repository && *repository)
        local.maven_repository = (char *)repository;
    /* a jar with its own url keeps it; else repository/group/artifact/version */
    if (matrix_classifier_url(&local, c, k, j->url, sizeof j->url) ||
        url_basename(j->url, j->file, sizeof j->file))
        return -1;
    return 0;
}

/* Append the jar of component C to OUT at *N: its build for this machine when it has
 * classifiers (the matrix's default classifier where this machine has none, so that
 * the list still names a file). */
static void add_jar(const struct matrix *m, const char *repository, struct kernel_jar *out,
                    size_t *n, const char *feature, const char *what, int required,
                    const struct matrix_component *c)
{
    if (!c->version || !*c->version)
        return;
    struct kernel_jar *j = &out[*n];
    memset(j, 0, sizeof *j);
    j->feature = feature;
    j->what = what;
    j->required = required;
    j->component = c;
    const struct matrix_classifier *k = NULL;
    if (c->n_classifiers) {
        char arch[64] = "";
        kernel_env_machine_arch(arch, sizeof arch);
        k = default_build(c, arch);
        if (!k)
            k = matrix_classifier_find(c, c->default_classifier);
    }
    if (kernel_env_jar_set(m, repository, j, k) == 0)
        (*n)++;
}

size_t kernel_env_jars(const struct matrix *m, const struct matrix_spark *line,
                       const char *variant, const char *repository,
                       struct kernel_jar out[KERNEL_JARS_MAX])
{
    size_t n = 0;
    if (matrix_variant_has(variant, "gpu"))
        add_jar(m, repository, out, &n, "RAPIDS", "rapids", 1, &line->rapids);
    if (matrix_variant_has(variant, "iceberg")) {
        add_jar(m, repository, out, &n, "Iceberg", "iceberg", 1, &line->iceberg);
        add_jar(m, repository, out, &n, "Iceberg AWS bundle", "iceberg_aws_bundle", 0,
                &line->iceberg_aws);
    }
    return n;
}

/* 1 if DIR/FILE is a readable file */
static int readable(const char *dir, const char *file)
{
    char path[4600];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return 0;
    return access(path, R_OK) == 0;
}

int kernel_env_rapids_present(const struct matrix *m, const struct matrix_spark *line,
                              const char *dir, const char *repository, struct kernel_jar *out)
{
    const struct matrix_component *c = &line->rapids;
    if (!dir || !*c->version)
        return 0;
    memset(out, 0, sizeof *out);
    out->feature = "RAPIDS";
    out->what = "rapids";
    out->required = 1;
    out->component = c;
    if (c->n_classifiers == 0)
        return kernel_env_jar_set(m, repository, out, NULL) == 0 && readable(dir, out->file);
    const struct matrix_classifier *d = matrix_classifier_find(c, c->default_classifier);
    if (d && kernel_env_jar_set(m, repository, out, d) == 0 && readable(dir, out->file))
        return 1;
    for (size_t i = 0; i < c->n_classifiers; i++) {
        const struct matrix_classifier *k = &c->classifiers[i];
        if (k != d && kernel_env_jar_set(m, repository, out, k) == 0 && readable(dir, out->file))
            return 1;
    }
    return 0;
}

size_t kernel_env_jars_in(const struct matrix *m, const struct matrix_spark *line,
                          const char *variant, const char *repository, const char *dir,
                          struct kernel_jar out[KERNEL_JARS_MAX])
{
    size_t n = kernel_env_jars(m, line, variant, repository, out);
    struct kernel_jar present;
    for (size_t i = 0; i < n; i++)
        if (strcmp(out[i].what, "rapids") == 0 &&
            kernel_env_rapids_present(m, line, dir, repository, &present) == 1)
            out[i] = present;
    return n;
}

int kernel_env_jars_dir(const char *python, char *buf, size_t len)
{
    const char *slash = strrchr(python, '/');
    if (python[0] != '/' || !slash || slash - python < 4 || strncmp(slash - 4, "/bin", 4) != 0)
        return -1;
    int envlen = (int)(slash - 4 - python);
    if ((size_t)snprintf(buf, len, "%.*s/share/spark-k8s/jars", envlen, python) >= len)
        return -1;
    if (envlen == 0)
        memmove(buf, buf, strlen(buf) + 1); /* "/bin/python": jars in /share/spark-k8s/jars */
    return 0;
}

int kernel_env_image_jars_dir(const struct matrix *m, const char *line, char *buf, size_t len)
{
    const char *python = m->image_python, *at = python ? strstr(python, "{line}") : NULL;
    char path[4096];
    if (!python || !*python)
        return -1;
    if (at && (size_t)snprintf(path, sizeof path, "%.*s%s%s", (int)(at - python), python, line,
                               at + 6) >= sizeof path)
        return -1;
    if (!at)
        snprintf(path, sizeof path, "%s", python);
    return kernel_env_jars_dir(path, buf, len);
}
