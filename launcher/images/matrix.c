/* matrix.c — reads the image matrix (images/matrix.json, embedded or from a file)
 * into struct matrix, answers questions about it (lines, variants, image names,
 * budgets) and checks it against the compatibility facts it carries. */
#include "launcher/images/matrix.h"
#include "launcher/sys/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/sys/version.h"

extern const char spark_k8s_matrix_json[]; /* launcher/images/matrix_data.S */

#define EMBEDDED_ORIGIN "<embedded images/matrix.json>"

const char *matrix_embedded_json(void)
{
    return spark_k8s_matrix_json;
}


/* ---- freeing ---- */

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void component_free(struct matrix_component *c)
{
    free(c->version);
    free(c->artifact);
    strv_free(c->supported_spark, c->n_supported_spark);
    free(c->url);
    free(c->sha256);
    free(c->sha1);
    for (size_t i = 0; c->classifiers && i < c->n_classifiers; i++) {
        free(c->classifiers[i].name);
        free(c->classifiers[i].arch);
        free(c->classifiers[i].url);
        free(c->classifiers[i].sha256);
        free(c->classifiers[i].sha1);
    }
    free(c->classifiers);
    free(c->default_classifier);
}

static void releases_free(struct matrix_release *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++) {
        free(r[i].version);
        strv_free(r[i].items, r[i].n_items);
    }
    free(r);
}

void matrix_free(struct matrix *m)
{
    if (!m)
        return;
    free(m->origin);
    free(m->name);
    free(m->source);
    free(m->runtime_image);
    free(m->jupyter_image);
    strv_free(m->variants, m->n_variants);
    for (size_t i = 0; m->spark && i < m->n_spark; i++) {
        struct matrix_spark *s = &m->spark[i];
        free(s->line);
        free(s->version);
        free(s->scala);
        free(s->java);
        free(s->python_min);
        component_free(&s->iceberg);
        component_free(&s->iceberg_aws);
        component_free(&s->rapids);
    }
    free(m->spark);
    releases_free(m->iceberg_releases, m->n_iceberg_releases);
    releases_free(m->rapids_releases, m->n_rapids_releases);
    releases_free(m->spark_java, m->n_spark_java);
    for (size_t i = 0; m->budgets && i < m->n_budgets; i++) {
        free(m->budgets[i].kind);
        free(m->budgets[i].variant);
    }
    free(m->budgets);
    free(m->base_image);
    free(m->builder_image);
    free(m->debian_snapshot);
    free(m->maven_repository);
    free(m->uid);
    free(m->image_python);
    free(m->image_tini);
    free(m->image_spark_k8s);
    for (size_t i = 0; m->packages && i < m->n_packages; i++) {
        free(m->packages[i].role);
        free(m->packages[i].name);
        free(m->packages[i].version);
    }
    free(m->packages);
    for (size_t i = 0; m->pypackages && i < m->n_pypackages; i++) {
        free(m->pypackages[i].scope);
        free(m->pypackages[i].name);
        free(m->pypackages[i].version);
    }
    free(m->pypackages);
    free(m);
}

/* ---- parsing helpers: each names origin and field path in its message ---- */

struct ctx {
    const char *origin;
    struct error *err;
};

static char *dup_or_null(const char *s)
{
    return strdup(s ? s : "");
}

/* Copy string member KEY of OBJ into *out. REQUIRED: absent is an error; else "". */
static int get_str(const struct ctx *c, const json_t *obj, const char *path, const char *key,
                   int required, char **out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return error_set(c->err, ERR_INPUT, "%s: %s.%s: missing", c->origin, path, key);
        *out = dup_or_null("");
        return *out ? 0 : error_nomem(c->err);
    }
    if (!json_is_string(v))
        return error_set(c->err, ERR_INPUT, "%s: %s.%s: expected a string", c->origin, path, key);
    if (required && json_string_length(v) == 0)
        return error_set(c->err, ERR_INPUT, "%s: %s.%s: empty", c->origin, path, key);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return error_set(c->err, ERR_INPUT, "%s: %s.%s: contains a NUL byte", c->origin, path, key);
    *out = strdup(json_string_value(v));
    return *out ? 0 : error_nomem(c->err);
}

/* An array of non-empty strings (ARR may be NULL when not required). */
static int get_strv(const struct ctx *c, const json_t *arr, const char *path, int required,
                    char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!arr) {
        if (required)
            return error_set(c->err, ERR_INPUT, "%s: %s: missing", c->origin, path);
        return 0;
    }
    if (!json_is_array(arr))
        return error_set(c->err, ERR_INPUT, "%s: %s: expected an array of strings", c->origin, path);
    size_t len = json_array_size(arr);
    if (len == 0)
        return 0;
    char **v = calloc(len, sizeof *v);
    if (!v)
        return error_nomem(c->err);
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_string(e) || json_string_length(e) == 0 ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            strv_free(v, i);
            return error_set(c->err, ERR_INPUT, "%s: %s[%zu]: expected a non-empty string", c->origin,
                             path, i);
        }
        v[i] = strdup(json_string_value(e));
        if (!v[i]) {
            strv_free(v, i);
            return error_nomem(c->err);
        }
    }
    *out = v;
    *n = len;
    return 0;
}

/* A checksum field the matrix no longer reads: refused, saying what replaced it. */
static int refuse_sha512(const struct ctx *c, const json_t *o, const char *path)
{
    if (!json_object_get(o, "sha512"))
        return 0;
    return error_set(c->err, ERR_INPUT,
                     "%s: %s.sha512: no longer read: the matrix pins each jar's sha256 (of its "
                  "bytes) and the sha1 Maven publishes; remove it and run `spark-k8s images pin`",
                     c->origin, path);
}

/* "classifiers": {"cuda12": {"arch": "x86_64", "cuda": 12, "sha256": "", "sha1": ""}, ...} */
static int get_classifiers(const struct ctx *c, const json_t *o, const char *path,
                           struct matrix_component *out)
{
    json_t *cls = json_object_get(o, "classifiers");
    if (!cls)
        return 0;
    char sub[192];
    snprintf(sub, sizeof sub, "%s.classifiers", path);
    if (!json_is_object(cls))
        return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, sub);
    size_t len = json_object_size(cls);
    if (len == 0)
        return 0;
    out->classifiers = calloc(len, sizeof *out->classifiers);
    if (!out->classifiers)
        return error_nomem(c->err);
    const char *name;
    json_t *v;
    json_object_foreach(cls, name, v) {
        if (name[0] == '_')
            continue; /* "_comment" */
        struct matrix_classifier *k = &out->classifiers[out->n_classifiers++];
        char kpath[256];
        snprintf(kpath, sizeof kpath, "%s.%s", sub, name);
        k->name = strdup(name);
        if (!k->name)
            return error_nomem(c->err);
        if (!json_is_object(v))
            return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, kpath);
        if (refuse_sha512(c, v, kpath) || get_str(c, v, kpath, "arch", 1, &k->arch) ||
            get_str(c, v, kpath, "url", 0, &k->url) ||
            get_str(c, v, kpath, "sha256", 0, &k->sha256) ||
            get_str(c, v, kpath, "sha1", 0, &k->sha1))
            return -1;
        json_t *cuda = json_object_get(v, "cuda");
        if (!json_is_integer(cuda) || json_integer_value(cuda) < 1 ||
            json_integer_value(cuda) > 99)
            return error_set(c->err, ERR_INPUT,
                             "%s: %s.cuda: expected the CUDA major as an integer (12)", c->origin,
                             kpath);
        k->cuda = (int)json_integer_value(cuda);
    }
    return 0;
}

static int get_component(const struct ctx *c, const json_t *parent, const char *path,
                         const char *key, int required, struct matrix_component *out)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s.%s", path, key);
    json_t *o = json_object_get(parent, key);
    if (!o && !required)
        o = json_object(); /* an absent optional component reads as all "" */
    else if (!o)
        return error_set(c->err, ERR_INPUT, "%s: %s: missing", c->origin, sub);
    else if (!json_is_object(o))
        return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, sub);
    else
        json_incref(o);
    int rc = -1;
    if (refuse_sha512(c, o, sub) == 0 &&
        get_str(c, o, sub, "version", required, &out->version) == 0 &&
        get_str(c, o, sub, "artifact", required, &out->artifact) == 0 &&
        get_str(c, o, sub, "url", 0, &out->url) == 0 &&
        get_str(c, o, sub, "sha256", 0, &out->sha256) == 0 &&
        get_str(c, o, sub, "sha1", 0, &out->sha1) == 0 &&
        get_str(c, o, sub, "default_classifier", 0, &out->default_classifier) == 0 &&
        get_classifiers(c, o, sub, out) == 0) {
        char apath[160];
        snprintf(apath, sizeof apath, "%s.supported_spark", sub);
        rc = get_strv(c, json_object_get(o, "supported_spark"), apath, 0, &out->supported_spark,
                      &out->n_supported_spark);
    }
    json_decref(o);
    return rc;
}

/* Fields an older matrix had that the locked kernel environments own now: refused
 * with where they went, rather than silently ignored. */
static const char *const moved_to_locks[] = {"pandas", "pyarrow", "distribution", NULL};

static int parse_spark(const struct ctx *c, const json_t *o, size_t i, struct matrix_spark *s)
{
    char path[64];
    snprintf(path, sizeof path, "spark[%zu]", i);
    if (!json_is_object(o))
        return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, path);
    if (get_str(c, o, path, "line", 1, &s->line) || get_str(c, o, path, "version", 1, &s->version) ||
        get_str(c, o, path, "scala", 1, &s->scala) || get_str(c, o, path, "java", 1, &s->java) ||
        get_str(c, o, path, "python_min", 1, &s->python_min))
        return -1;
    for (int k = 0; moved_to_locks[k]; k++)
        if (json_object_get(o, moved_to_locks[k]))
            return error_set(c->err, ERR_INPUT,
                             "%s: %s.%s: no longer part of the matrix: Spark and its Python "
                             "packages come from the line's locked kernel environment "
                          "(kernelspecs/envs/spark-%s.lock, PyPI's pyspark %s); remove the field",
                             c->origin, path, moved_to_locks[k], s->line, s->version);
    /* name the line in later messages: spark[1] (4.1.1) */
    snprintf(path, sizeof path, "spark[%zu] (%s)", i, s->version);
    if (get_component(c, o, path, "iceberg", 1, &s->iceberg) ||
        get_component(c, o, path, "iceberg_aws_bundle", 0, &s->iceberg_aws) ||
        get_component(c, o, path, "rapids", 1, &s->rapids))
        return -1;
    return 0;
}

/* {"1.6.1": ["3.5_2.12", ...], ...} */
static int parse_releases(const struct ctx *c, const json_t *o, const char *path,
                          struct matrix_release **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!o)
        return 0;
    if (!json_is_object(o))
        return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, path);
    size_t len = json_object_size(o);
    if (len == 0)
        return 0;
    struct matrix_release *r = calloc(len, sizeof *r);
    if (!r)
        return error_nomem(c->err);
    *out = r;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (key[0] == '_')
            continue; /* "_comment" */
        char sub[160];
        snprintf(sub, sizeof sub, "%s.\"%s\"", path, key);
        r[*n].version = strdup(key);
        if (!r[*n].version)
            return error_nomem(c->err);
        (*n)++;
        if (get_strv(c, v, sub, 1, &r[*n - 1].items, &r[*n - 1].n_items))
            return -1;
    }
    return 0;
}

static int parse_budgets(const struct ctx *c, const json_t *o, struct matrix *m)
{
    if (!o)
        return 0;
    if (!json_is_object(o))
        return error_set(c->err, ERR_INPUT, "%s: budgets_mb: expected an object", c->origin);
    size_t total = 0;
    const char *kind;
    json_t *per;
    json_object_foreach((json_t *)o, kind, per) {
        if (!json_is_object(per))
            return error_set(c->err, ERR_INPUT, "%s: budgets_mb.%s: expected an object", c->origin, kind);
        total += json_object_size(per);
    }
    if (total == 0)
        return 0;
    m->budgets = calloc(total, sizeof *m->budgets);
    if (!m->budgets)
        return error_nomem(c->err);
    json_object_foreach((json_t *)o, kind, per) {
        const char *variant;
        json_t *mb;
        json_object_foreach(per, variant, mb) {
            if (!json_is_integer(mb) || json_integer_value(mb) <= 0)
                return error_set(c->err, ERR_INPUT, "%s: budgets_mb.%s.%s: expected a positive integer",
                                 c->origin, kind, variant);
            struct matrix_budget *b = &m->budgets[m->n_budgets];
            b->kind = strdup(kind);
            b->variant = strdup(variant);
            b->mb = (long)json_integer_value(mb);
            m->n_budgets++;
            if (!b->kind || !b->variant)
                return error_nomem(c->err);
        }
    }
    return 0;
}

static int parse_images(const struct ctx *c, const json_t *o, struct matrix *m)
{
    json_t *empty = json_object();
    if (!empty)
        return error_nomem(c->err);
    if (o && !json_is_object(o)) {
        json_decref(empty);
        return error_set(c->err, ERR_INPUT, "%s: images: expected an object", c->origin);
    }
    const json_t *img = o ? o : empty;
    int rc = -1;
    if (get_str(c, img, "images", "base", 0, &m->base_image) ||
        get_str(c, img, "images", "builder", 0, &m->builder_image) ||
        get_str(c, img, "images", "debian_snapshot", 0, &m->debian_snapshot) ||
        get_str(c, img, "images", "maven_repository", 0, &m->maven_repository) ||
        get_str(c, img, "images", "uid", 0, &m->uid))
        goto out;
    json_t *layout = json_object_get(img, "layout");
    if (layout && !json_is_object(layout)) {
        error_set(c->err, ERR_INPUT, "%s: images.layout: expected an object", c->origin);
        goto out;
    }
    if (get_str(c, layout ? layout : empty, "images.layout", "python", 0, &m->image_python) ||
        get_str(c, layout ? layout : empty, "images.layout", "tini", 0, &m->image_tini) ||
        get_str(c, layout ? layout : empty, "images.layout", "spark_k8s", 0, &m->image_spark_k8s))
        goto out;

    json_t *pk = json_object_get(img, "debian_packages");
    if (pk && !json_is_object(pk)) {
        error_set(c->err, ERR_INPUT, "%s: images.debian_packages: expected an object", c->origin);
        goto out;
    }
    if (pk && json_object_size(pk)) {
        m->packages = calloc(json_object_size(pk), sizeof *m->packages);
        if (!m->packages) {
            error_nomem(c->err);
            goto out;
        }
        const char *role;
        json_t *p;
        json_object_foreach(pk, role, p) {
            if (role[0] == '_')
                continue; /* "_comment" */
            char path[128];
            snprintf(path, sizeof path, "images.debian_packages.%s", role);
            struct matrix_package *d = &m->packages[m->n_packages++];
            d->role = strdup(role);
            if (!d->role) {
                error_nomem(c->err);
                goto out;
            }
            if (!json_is_object(p)) {
                error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, path);
                goto out;
            }
            if (get_str(c, p, path, "name", 1, &d->name) ||
                get_str(c, p, path, "version", 1, &d->version))
                goto out;
        }
    }

    json_t *py = json_object_get(img, "python_packages");
    if (py && !json_is_object(py)) {
        error_set(c->err, ERR_INPUT, "%s: images.python_packages: expected an object", c->origin);
        goto out;
    }
    size_t total = 0;
    const char *scope;
    json_t *pkgs;
    json_object_foreach(py, scope, pkgs) {
        if (scope[0] == '_')
            continue; /* "_comment" */
        if (strcmp(scope, "runtime") == 0 || strcmp(scope, "jupyter") == 0) {
            error_set(c->err, ERR_INPUT,
                      "%s: images.python_packages.%s: no longer part of the matrix: the images "
                      "install the locked environments (kernelspecs/envs/spark-LINE.lock, "
                      "jupyter.lock); remove it",
                      c->origin, scope);
            goto out;
        }
        if (strcmp(scope, "jupyter_gpu") != 0) {
            error_set(c->err, ERR_INPUT,
                 "%s: images.python_packages.%s: unknown scope (jupyter_gpu)", c->origin, scope);
            goto out;
        }
        if (!json_is_object(pkgs)) {
            error_set(c->err, ERR_INPUT, "%s: images.python_packages.%s: expected an object", c->origin,
                      scope);
            goto out;
        }
        total += json_object_size(pkgs);
    }
    if (total) {
        m->pypackages = calloc(total, sizeof *m->pypackages);
        if (!m->pypackages) {
            error_nomem(c->err);
            goto out;
        }
    }
    json_object_foreach(py, scope, pkgs) {
        if (scope[0] == '_')
            continue;
        const char *name;
        json_t *ver;
        json_object_foreach(pkgs, name, ver) {
            struct matrix_pypackage *d = &m->pypackages[m->n_pypackages++];
            d->scope = strdup(scope);
            d->name = strdup(name);
            if (!d->scope || !d->name) {
                error_nomem(c->err);
                goto out;
            }
            if (!json_is_string(ver) || json_string_length(ver) == 0) {
                error_set(c->err, ERR_INPUT,
                          "%s: images.python_packages.%s.%s: expected a version string", c->origin,
                          scope, name);
                goto out;
            }
            d->version = strdup(json_string_value(ver));
            if (!d->version) {
                error_nomem(c->err);
                goto out;
            }
        }
    }
    rc = 0;
out:
    json_decref(empty);
    return rc;
}

static int parse(const struct ctx *c, const json_t *root, struct matrix *m)
{
    if (!json_is_object(root))
        return error_set(c->err, ERR_INPUT, "%s: expected a JSON object at the top", c->origin);
    json_t *schema = json_object_get(root, "schema");
    if (!json_is_integer(schema) || json_integer_value(schema) != 1)
        return error_set(c->err, ERR_INPUT, "%s: schema: expected 1 (the version this spark-k8s reads)",
                         c->origin);
    m->schema = 1;
    json_t *project = json_object_get(root, "project");
    if (!json_is_object(project))
        return error_set(c->err, ERR_INPUT, "%s: project: expected an object", c->origin);
    if (get_str(c, project, "project", "name", 1, &m->name) ||
        get_str(c, project, "project", "source", 0, &m->source) ||
        get_str(c, project, "project", "runtime_image", 1, &m->runtime_image) ||
        get_str(c, project, "project", "jupyter_image", 1, &m->jupyter_image))
        return -1;
    if (get_strv(c, json_object_get(root, "variants"), "variants", 1, &m->variants, &m->n_variants))
        return -1;
    if (m->n_variants == 0)
        return error_set(c->err, ERR_INPUT, "%s: variants: empty", c->origin);

    json_t *spark = json_object_get(root, "spark");
    if (!json_is_array(spark) || json_array_size(spark) == 0)
        return error_set(c->err, ERR_INPUT, "%s: spark: expected a non-empty array", c->origin);
    m->spark = calloc(json_array_size(spark), sizeof *m->spark);
    if (!m->spark)
        return error_nomem(c->err);
    for (size_t i = 0; i < json_array_size(spark); i++) {
        m->n_spark = i + 1; /* matrix_free frees what is filled so far */
        if (parse_spark(c, json_array_get(spark, i), i, &m->spark[i]))
            return -1;
    }

    json_t *compat = json_object_get(root, "compat");
    if (compat && !json_is_object(compat))
        return error_set(c->err, ERR_INPUT, "%s: compat: expected an object", c->origin);
    if (parse_releases(c, json_object_get(compat, "iceberg_spark_modules"),
                       "compat.iceberg_spark_modules", &m->iceberg_releases,
                       &m->n_iceberg_releases) ||
        parse_releases(c, json_object_get(compat, "rapids_spark_versions"),
                       "compat.rapids_spark_versions", &m->rapids_releases,
                       &m->n_rapids_releases) ||
        parse_releases(c, json_object_get(compat, "spark_java"), "compat.spark_java",
                       &m->spark_java, &m->n_spark_java))
        return -1;
    if (parse_budgets(c, json_object_get(root, "budgets_mb"), m))
        return -1;
    return parse_images(c, json_object_get(root, "images"), m);
}

int matrix_load_string(const char *json, const char *origin, struct matrix **out, struct error *err)
{
    *out = NULL;
    if (!origin)
        origin = "<matrix>";
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return error_set(err, ERR_INPUT, "%s:%d:%d: invalid JSON: %s", origin, jerr.line, jerr.column,
                         jerr.text);
    struct matrix *m = calloc(1, sizeof *m);
    if (!m) {
        json_decref(root);
        return error_nomem(err);
    }
    m->origin = strdup(origin);
    struct ctx c = {origin, err};
    int rc = m->origin ? parse(&c, root, m) : error_nomem(err);
    json_decref(root);
    if (rc) {
        matrix_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int matrix_load_file(const char *path, struct matrix **out, struct error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(err, ERR_INPUT, "%s: cannot open the image matrix: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            if (ncap > (size_t)16 << 20) {
                free(buf);
                fclose(f);
                return error_set(err, ERR_INPUT, "%s: larger than 16 MiB: not an image matrix", path);
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return error_nomem(err);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return error_set(err, ERR_INPUT, "%s: read error", path);
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        free(buf);
        return error_set(err, ERR_INPUT, "%s: contains a NUL byte: not an image matrix", path);
    }
    int rc = matrix_load_string(buf, path, out, err);
    free(buf);
    return rc;
}

int matrix_load_default(struct matrix **out, struct error *err)
{
    const char *path = getenv("SPARK_K8S_MATRIX");
    if (path && *path)
        return matrix_load_file(path, out, err);
    return matrix_load_string(matrix_embedded_json(), EMBEDDED_ORIGIN, out, err);
}

/* ---- questions ---- */

const struct matrix_spark *matrix_spark_find(const struct matrix *m, const char *line_or_version)
{
    if (!m || !line_or_version)
        return NULL;
    for (size_t i = 0; i < m->n_spark; i++)
        if (strcmp(m->spark[i].line, line_or_version) == 0 ||
            strcmp(m->spark[i].version, line_or_version) == 0)
            return &m->spark[i];
    return NULL;
}

int matrix_variant_valid(const struct matrix *m, const char *variant)
{
    if (!m || !variant)
        return 0;
    for (size_t i = 0; i < m->n_variants; i++)
        if (strcmp(m->variants[i], variant) == 0)
            return 1;
    return 0;
}

int matrix_variant_has(const char *variant, const char *feature)
{
    if (!variant || !feature || !*feature)
        return 0;
    size_t flen = strlen(feature);
    const char *p = variant;
    while (*p) {
        const char *end = strchr(p, '-');
        size_t wlen = end ? (size_t)(end - p) : strlen(p);
        if (wlen == flen && strncmp(p, feature, flen) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* "<line>-<spark version>-<variant>", with "-<spark-k8s version>" when VERSIONED. */
static int image_tag(const struct matrix_spark *s, const char *variant, int versioned, char *buf,
                     size_t len)
{
    if (!s || !variant || !*variant || !buf || len == 0)
        return -1;
    int n = snprintf(buf, len, "%s-%s-%s%s%s", s->line, s->version, variant,
                     versioned ? "-" : "", versioned ? SPARK_K8S_VERSION : "");
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int matrix_image_tag(const struct matrix_spark *s, const char *variant, char *buf, size_t len)
{
    return image_tag(s, variant, 0, buf, len);
}

int matrix_image_version_tag(const struct matrix_spark *s, const char *variant, char *buf,
                             size_t len)
{
    return image_tag(s, variant, 1, buf, len);
}

static int image_ref(const struct matrix *m, const char *registry, const char *kind,
                     const struct matrix_spark *s, const char *variant, int versioned, char *buf,
                     size_t len)
{
    if (!m || !kind || !s || !buf || len == 0 || !matrix_variant_valid(m, variant))
        return -1;
    const char *name;
    if (strcmp(kind, "runtime") == 0)
        name = m->runtime_image;
    else if (strcmp(kind, "jupyter") == 0)
        name = m->jupyter_image;
    else
        return -1;
    char tag[256];
    if (image_tag(s, variant, versioned, tag, sizeof tag))
        return -1;
    size_t rlen = registry ? strlen(registry) : 0;
    while (rlen > 0 && registry[rlen - 1] == '/')
        rlen--;
    int n;
    if (rlen)
        n = snprintf(buf, len, "%.*s/%s:%s", (int)rlen, registry, name, tag);
    else
        n = snprintf(buf, len, "%s:%s", name, tag);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int matrix_image_ref(const struct matrix *m, const char *registry, const char *kind,
                     const struct matrix_spark *s, const char *variant, char *buf, size_t len)
{
    return image_ref(m, registry, kind, s, variant, 1, buf, len);
}

int matrix_image_line_ref(const struct matrix *m, const char *registry, const char *kind,
                          const struct matrix_spark *s, const char *variant, char *buf,
                          size_t len)
{
    return image_ref(m, registry, kind, s, variant, 0, buf, len);
}

long matrix_budget_mb(const struct matrix *m, const char *kind, const char *variant)
{
    if (!m || !kind || !variant)
        return -1;
    for (size_t i = 0; i < m->n_budgets; i++)
        if (strcmp(m->budgets[i].kind, kind) == 0 && strcmp(m->budgets[i].variant, variant) == 0)
            return m->budgets[i].mb;
    return -1;
}

const struct matrix_package *matrix_package_find(const struct matrix *m, const char *role)
{
    for (size_t i = 0; m && role && i < m->n_packages; i++)
        if (strcmp(m->packages[i].role, role) == 0)
            return &m->packages[i];
    return NULL;
}

int matrix_component_url(const struct matrix *m, const struct matrix_component *c, char *buf,
                         size_t len)
{
    if (!m || !c || !buf || len == 0 || !*c->version)
        return -1;
    int n;
    if (*c->url) {
        n = snprintf(buf, len, "%s", c->url);
    } else {
        const char *colon = strchr(c->artifact, ':');
        if (!colon || !*m->maven_repository)
            return -1;
        char group[256];
        size_t glen = (size_t)(colon - c->artifact);
        if (glen == 0 || glen >= sizeof group)
            return -1;
        for (size_t i = 0; i < glen; i++)
            group[i] = c->artifact[i] == '.' ? '/' : c->artifact[i];
        group[glen] = '\0';
        const char *art = colon + 1;
        size_t rlen = strlen(m->maven_repository);
        while (rlen > 0 && m->maven_repository[rlen - 1] == '/')
            rlen--;
        n = snprintf(buf, len, "%.*s/%s/%s/%s/%s-%s.jar", (int)rlen, m->maven_repository, group,
                     art, c->version, art, c->version);
    }
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int matrix_classifier_url(const struct matrix *m, const struct matrix_component *c,
                          const struct matrix_classifier *k, char *buf, size_t len)
{
    if (!k)
        return matrix_component_url(m, c, buf, len);
    if (!m || !c || !buf || len == 0)
        return -1;
    if (*k->url) {
        int n = snprintf(buf, len, "%s", k->url);
        return (n < 0 || (size_t)n >= len) ? -1 : 0;
    }
    if (matrix_component_url(m, c, buf, len))
        return -1;
    size_t n = strlen(buf);
    if (n < 4 || strcmp(buf + n - 4, ".jar") != 0 || n + 1 + strlen(k->name) >= len)
        return -1;
    snprintf(buf + n - 4, len - (n - 4), "-%s.jar", k->name);
    return 0;
}

const struct matrix_classifier *matrix_classifier_find(const struct matrix_component *c,
                                                       const char *name)
{
    for (size_t i = 0; c && name && i < c->n_classifiers; i++)
        if (strcmp(c->classifiers[i].name, name) == 0)
            return &c->classifiers[i];
    return NULL;
}

const struct matrix_classifier *matrix_classifier_pick(const struct matrix_component *c,
                                                       const char *arch, int cuda)
{
    for (size_t i = 0; c && arch && i < c->n_classifiers; i++)
        if (strcmp(c->classifiers[i].arch, arch) == 0 && c->classifiers[i].cuda == cuda)
            return &c->classifiers[i];
    return NULL;
}

void matrix_classifiers_text(const struct matrix_component *c, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    buf[0] = '\0';
    for (size_t i = 0; c && i < c->n_classifiers && used < len; i++) {
        const struct matrix_classifier *k = &c->classifiers[i];
        int n = snprintf(buf + used, len - used, "%s%s (%s, CUDA %d)", i ? ", " : "", k->name,
                         k->arch, k->cuda);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    if (!c || c->n_classifiers == 0)
        snprintf(buf, len, "none");
}

/* ---- the compatibility facts ---- */

static int strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static void strv_join(char *const *v, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", v[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (n == 0)
        snprintf(buf, len, "none");
}

static const struct matrix_release *release_find(const struct matrix_release *r, size_t n,
                                                 const char *version)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].version, version) == 0)
            return &r[i];
    return NULL;
}

/* "X.Y" with digits only */
static int is_line(const char *s)
{
    const char *dot = strchr(s, '.');
    if (!dot || dot == s || !dot[1] || strchr(dot + 1, '.'))
        return 0;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && *p != '.')
            return 0;
    return 1;
}

static int is_hex(const char *s, size_t want)
{
    size_t n = strlen(s);
    if (n != want)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int variants_use(const struct matrix *m, const char *feature)
{
    for (size_t i = 0; i < m->n_variants; i++)
        if (matrix_variant_has(m->variants[i], feature))
            return 1;
    return 0;
}

static int check_iceberg(const struct matrix *m, const struct matrix_spark *s, size_t i, struct error *err)
{
    const char *o = m->origin;
    const struct matrix_component *c = &s->iceberg;
    char want[96], list[512];
    snprintf(want, sizeof want, "org.apache.iceberg:iceberg-spark-runtime-%s_%s", s->line, s->scala);
    const char *prefix = "org.apache.iceberg:iceberg-spark-runtime-";
    if (strncmp(c->artifact, prefix, strlen(prefix)) != 0)
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) iceberg.artifact: '%s' is not an Iceberg Spark runtime "
                         "(expected %s)",
                         o, i, s->version, c->artifact, want);
    const char *module = c->artifact + strlen(prefix); /* "3.5_2.12" */
    char mine[32];
    snprintf(mine, sizeof mine, "%s_%s", s->line, s->scala);
    if (strcmp(module, mine) != 0) {
        const char *us = strchr(module, '_');
        int minor_ok = us && (size_t)(us - module) == strlen(s->line) &&
                       strncmp(module, s->line, strlen(s->line)) == 0;
        return error_set(err, ERR_INPUT,
                         "%s: spark[%zu] (%s) iceberg.artifact: '%s' is built for Spark %.*s with "
                    "Scala %s, but this line is Spark %s with Scala %s (%s mismatch; expected %s)",
                    o, i, s->version, c->artifact, us ? (int)(us - module) : (int)strlen(module),
                    module, us ? us + 1 : "?", s->line, s->scala, minor_ok ? "Scala" : "Spark minor",
                         want);
    }
    if (c->n_supported_spark && !strv_has(c->supported_spark, c->n_supported_spark, s->line)) {
        strv_join(c->supported_spark, c->n_supported_spark, list, sizeof list);
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) iceberg.supported_spark: Iceberg %s is listed for Spark "
                         "%s, not %s",
                         o, i, s->version, c->version, list, s->line);
    }
    const struct matrix_release *r =
        release_find(m->iceberg_releases, m->n_iceberg_releases, c->version);
    if (!r)
        return error_set(err, ERR_INPUT,
                         "%s: spark[%zu] (%s) iceberg.version: no facts for Iceberg %s in "
                         "compat.iceberg_spark_modules (add the Spark modules that release ships)",
                         o, i, s->version, c->version);
    if (!strv_has(r->items, r->n_items, mine)) {
        strv_join(r->items, r->n_items, list, sizeof list);
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) iceberg.version: Iceberg %s has no Spark %s module for "
                         "Scala %s (it ships %s), so %s does not exist",
                         o, i, s->version, c->version, s->line, s->scala, list, want);
    }
    if (*s->iceberg_aws.version && strcmp(s->iceberg_aws.version, c->version) != 0)
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) iceberg_aws_bundle.version: %s differs from the Iceberg "
                         "runtime %s (the bundle must come from the same Iceberg release)",
                         o, i, s->version, s->iceberg_aws.version, c->version);
    return 0;
}

static int check_rapids(const struct matrix *m, const struct matrix_spark *s, size_t i, struct error *err)
{
    const char *o = m->origin;
    const struct matrix_component *c = &s->rapids;
    char want[64], list[512];
    snprintf(want, sizeof want, "com.nvidia:rapids-4-spark_%s", s->scala);
    const char *prefix = "com.nvidia:rapids-4-spark_";
    if (strncmp(c->artifact, prefix, strlen(prefix)) != 0)
        return error_set(err, ERR_INPUT,
                         "%s: spark[%zu] (%s) rapids.artifact: '%s' is not the RAPIDS Accelerator "
                         "(expected %s)",
                         o, i, s->version, c->artifact, want);
    if (strcmp(c->artifact + strlen(prefix), s->scala) != 0)
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) rapids.artifact: '%s' is built for Scala %s, but Spark "
                         "%s uses Scala %s (expected %s)",
                         o, i, s->version, c->artifact, c->artifact + strlen(prefix), s->version,
                         s->scala, want);
    /* Is there any RAPIDS release at all for this Spark version? */
    int any = 0;
    for (size_t k = 0; k < m->n_rapids_releases; k++)
        any |= strv_has(m->rapids_releases[k].items, m->rapids_releases[k].n_items, s->version);
    if (m->n_rapids_releases && !any)
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) rapids: no RAPIDS release in compat.rapids_spark_versions "
                    "supports Spark %s (RAPIDS matches the Spark version exactly; its shim loader "
                         "refuses others): pick a Spark version that RAPIDS %s supports",
                         o, i, s->version, s->version, c->version);
    if (!strv_has(c->supported_spark, c->n_supported_spark, s->version)) {
        strv_join(c->supported_spark, c->n_supported_spark, list, sizeof list);
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) rapids.supported_spark: RAPIDS %s supports Spark %s, not "
                         "%s (RAPIDS matches the Spark version exactly)",
                         o, i, s->version, c->version, list, s->version);
    }
    const struct matrix_release *r =
        release_find(m->rapids_releases, m->n_rapids_releases, c->version);
    if (!r)
        return error_set(err, ERR_INPUT,
                         "%s: spark[%zu] (%s) rapids.version: no facts for RAPIDS %s in "
                    "compat.rapids_spark_versions (add the Spark versions that release supports)",
                         o, i, s->version, c->version);
    if (!strv_has(r->items, r->n_items, s->version)) {
        strv_join(r->items, r->n_items, list, sizeof list);
        return error_set(err, ERR_INPUT,
                    "%s: spark[%zu] (%s) rapids.version: RAPIDS %s does not support Spark %s (it "
                         "supports %s; its shim loader refuses any other version)",
                         o, i, s->version, c->version, s->version, list);
    }
    return 0;
}

static int is_arch(const char *a)
{
    return strcmp(a, "x86_64") == 0 || strcmp(a, "aarch64") == 0;
}

/* A component's classifiers, if it has any: known architectures, a default among
 * them, one build per architecture and CUDA major, and no jar of its own beside them. */
static int check_classifiers(const struct matrix *m, const struct matrix_spark *s, size_t i,
                             const char *key, const struct matrix_component *c, struct error *err)
{
    const char *o = m->origin;
    if (c->n_classifiers == 0) {
        if (*c->default_classifier)
            return error_set(err, ERR_INPUT,
                             "%s: spark[%zu] (%s) %s.default_classifier: '%s' but the component "
                             "has no classifiers",
                             o, i, s->version, key, c->default_classifier);
        return 0;
    }
    const char *own[3] = {c->url, c->sha256, c->sha1};
    const char *own_name[3] = {"url", "sha256", "sha1"};
    for (int f = 0; f < 3; f++)
        if (*own[f])
            return error_set(err, ERR_INPUT,
                             "%s: spark[%zu] (%s) %s.%s: '%s' beside classifiers: each classifier "
                             "has its own %s; remove this one",
                             o, i, s->version, key, own_name[f], own[f], own_name[f]);
    for (size_t k = 0; k < c->n_classifiers; k++) {
        const struct matrix_classifier *x = &c->classifiers[k];
        for (const char *p = x->name; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
                return error_set(err, ERR_INPUT,
                                 "%s: spark[%zu] (%s) %s.classifiers: '%s' is not a Maven "
                                 "classifier (letters, digits, '-', '_', '.')",
                                 o, i, s->version, key, x->name);
        if (!*x->name)
            return error_set(err, ERR_INPUT, "%s: spark[%zu] (%s) %s.classifiers: an empty name", o, i,
                             s->version, key);
        if (!is_arch(x->arch))
            return error_set(err, ERR_INPUT,
                             "%s: spark[%zu] (%s) %s.classifiers.%s.arch: '%s' is not x86_64 or "
                             "aarch64",
                             o, i, s->version, key, x->name, x->arch);
        for (size_t j = 0; j < k; j++)
            if (strcmp(c->classifiers[j].arch, x->arch) == 0 && c->classifiers[j].cuda == x->cuda)
                return error_set(err, ERR_INPUT,
                                 "%s: spark[%zu] (%s) %s.classifiers.%s: %s and %s are both the "
                                 "%s build for CUDA %d; keep one",
                                 o, i, s->version, key, x->name, c->classifiers[j].name, x->name,
                                 x->arch, x->cuda);
    }
    if (!*c->default_classifier || !matrix_classifier_find(c, c->default_classifier)) {
        char list[512];
        matrix_classifiers_text(c, list, sizeof list);
        return error_set(err, ERR_INPUT,
                         "%s: spark[%zu] (%s) %s.default_classifier: '%s' is not one of its "
                         "classifiers (%s)",
                         o, i, s->version, key, c->default_classifier, list);
    }
    return 0;
}

int matrix_check(const struct matrix *m, struct error *err)
{
    if (!m)
        return error_set(err, ERR_INPUT, "no matrix");
    const char *o = m->origin;
    for (size_t v = 0; v < m->n_variants; v++) {
        const char *name = m->variants[v];
        for (size_t k = 0; k < v; k++)
            if (strcmp(m->variants[k], name) == 0)
                return error_set(err, ERR_INPUT, "%s: variants[%zu]: '%s' listed twice", o, v, name);
        if (strcmp(name, "baseline") == 0)
            continue;
        /* every word of a variant must be a known feature */
        char copy[64];
        if (strlen(name) >= sizeof copy)
            return error_set(err, ERR_INPUT, "%s: variants[%zu]: '%s' is too long", o, v, name);
        strcpy(copy, name);
        for (char *save = NULL, *w = strtok_r(copy, "-", &save); w; w = strtok_r(NULL, "-", &save))
            if (strcmp(w, "gpu") != 0 && strcmp(w, "iceberg") != 0)
                return error_set(err, ERR_INPUT,
                            "%s: variants[%zu]: '%s' has unknown feature '%s' (known: baseline, "
                                 "gpu, iceberg, joined with '-')",
                                 o, v, name, w);
    }
    for (size_t i = 0; i < m->n_spark; i++) {
        const struct matrix_spark *s = &m->spark[i];
        if (!is_line(s->line))
            return error_set(err, ERR_INPUT, "%s: spark[%zu].line: '%s' is not MAJOR.MINOR", o, i, s->line);
        size_t ll = strlen(s->line);
        if (strncmp(s->version, s->line, ll) != 0 || s->version[ll] != '.' || !s->version[ll + 1])
            return error_set(err, ERR_INPUT, "%s: spark[%zu].version: '%s' is not a release of Spark %s", o,
                             i, s->version, s->line);
        if (!is_line(s->scala))
            return error_set(err, ERR_INPUT, "%s: spark[%zu] (%s) scala: '%s' is not MAJOR.MINOR", o, i,
                             s->version, s->scala);
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->spark[k].line, s->line) == 0)
                return error_set(err, ERR_INPUT, "%s: spark[%zu].line: '%s' listed twice", o, i, s->line);
        const struct matrix_release *jv = release_find(m->spark_java, m->n_spark_java, s->line);
        if (jv && !strv_has(jv->items, jv->n_items, s->java)) {
            char list[256];
            strv_join(jv->items, jv->n_items, list, sizeof list);
            return error_set(err, ERR_INPUT,
                             "%s: spark[%zu] (%s) java: Spark %s runs on Java %s, not %s "
                             "(compat.spark_java)",
                             o, i, s->version, s->line, list, s->java);
        }
        if (variants_use(m, "iceberg") &&
            (check_iceberg(m, s, i, err) ||
             check_classifiers(m, s, i, "iceberg", &s->iceberg, err) ||
             check_classifiers(m, s, i, "iceberg_aws_bundle", &s->iceberg_aws, err)))
            return -1;
        if (variants_use(m, "gpu") && (check_rapids(m, s, i, err) ||
                                       check_classifiers(m, s, i, "rapids", &s->rapids, err)))
            return -1;
    }
    return 0;
}

static int check_sum(const struct matrix *m, const char *field, const char *what,
                     const char *sha256, const char *sha1, struct error *err)
{
    if (*sha256 && !is_hex(sha256, 64))
        return error_set(err, ERR_INPUT, "%s: %s.sha256: '%s' is not 64 hex digits", m->origin, field,
                         sha256);
    if (*sha1 && !is_hex(sha1, 40))
        return error_set(err, ERR_INPUT, "%s: %s.sha1: '%s' is not 40 hex digits", m->origin, field,
                         sha1);
    if (!*sha256)
        return error_set(err, ERR_INPUT,
                         "%s: %s.sha256: no checksum for %s: run `spark-k8s images pin` (it "
                         "downloads the jar, takes its sha256 and checks Maven's sha1) before "
                         "building; an unverified download is refused",
                         m->origin, field, what);
    return 0;
}

/* Every jar of component C (each classifier, or its own). */
static int check_component_sums(const struct matrix *m, const char *field,
                                const struct matrix_component *c, struct error *err)
{
    char what[256], sub[256];
    if (c->n_classifiers == 0) {
        snprintf(what, sizeof what, "%s %s", c->artifact, c->version);
        return check_sum(m, field, what, c->sha256, c->sha1, err);
    }
    for (size_t k = 0; k < c->n_classifiers; k++) {
        const struct matrix_classifier *x = &c->classifiers[k];
        snprintf(what, sizeof what, "%s %s (classifier %s)", c->artifact, c->version, x->name);
        snprintf(sub, sizeof sub, "%s.classifiers.%s", field, x->name);
        if (check_sum(m, sub, what, x->sha256, x->sha1, err))
            return -1;
    }
    return 0;
}

int matrix_check_pins(const struct matrix *m, struct error *err)
{
    return matrix_check_pins_for(m, NULL, NULL, err);
}

/* Does a build of VARIANT (NULL: every variant of M) need FEATURE's jars? */
static int needs(const struct matrix *m, const char *variant, const char *feature)
{
    return variant ? matrix_variant_has(variant, feature) : variants_use(m, feature);
}

int matrix_check_pins_for(const struct matrix *m, const char *line, const char *variant,
                          struct error *err)
{
    if (!m)
        return error_set(err, ERR_INPUT, "no matrix");
    const char *o = m->origin;
    if (!*m->base_image)
        return error_set(err, ERR_INPUT, "%s: images.base: missing (the pinned base image)", o);
    if (!*m->builder_image)
        return error_set(err, ERR_INPUT, "%s: images.builder: missing (the image that builds spark-k8s)", o);
    const char *imgs[2] = {m->base_image, m->builder_image};
    const char *fields[2] = {"images.base", "images.builder"};
    for (int k = 0; k < 2; k++) {
        const char *colon = strrchr(imgs[k], ':');
        const char *slash = strrchr(imgs[k], '/');
        int has_digest = strstr(imgs[k], "@sha256:") != NULL;
        int has_tag = colon && (!slash || colon > slash) && !has_digest;
        if (has_digest) {
            const char *d = strstr(imgs[k], "@sha256:") + 8;
            if (!is_hex(d, 64))
                return error_set(err, ERR_INPUT, "%s: %s: '%s' has a malformed sha256 digest", o,
                                 fields[k], imgs[k]);
        } else if (!has_tag || strcmp(colon + 1, "latest") == 0) {
            return error_set(err, ERR_INPUT, "%s: %s: '%s' is not pinned (give an exact tag or a digest)",
                             o, fields[k], imgs[k]);
        }
    }
    if (!*m->maven_repository)
        return error_set(err, ERR_INPUT, "%s: images.maven_repository: missing", o);
    const char *roles[3] = {"python", "tini", NULL};
    char java_role[32];
    for (size_t i = 0; i < m->n_spark; i++) {
        const struct matrix_spark *s = &m->spark[i];
        if (line && strcmp(line, s->line) != 0)
            continue;
        char field[96];
        if (needs(m, variant, "iceberg")) {
            snprintf(field, sizeof field, "spark[%zu] (%s) iceberg", i, s->version);
            if (check_component_sums(m, field, &s->iceberg, err))
                return -1;
            if (*s->iceberg_aws.version) {
                snprintf(field, sizeof field, "spark[%zu] (%s) iceberg_aws_bundle", i, s->version);
                if (check_component_sums(m, field, &s->iceberg_aws, err))
                    return -1;
            }
        }
        if (needs(m, variant, "gpu")) {
            snprintf(field, sizeof field, "spark[%zu] (%s) rapids", i, s->version);
            if (check_component_sums(m, field, &s->rapids, err))
                return -1;
        }
        snprintf(java_role, sizeof java_role, "java%s", s->java);
        if (!matrix_package_find(m, java_role))
            return error_set(err, ERR_INPUT,
                             "%s: images.debian_packages.%s: missing (Spark %s needs Java %s)", o,
                             java_role, s->version, s->java);
    }
    for (int k = 0; roles[k]; k++)
        if (!matrix_package_find(m, roles[k]))
            return error_set(err, ERR_INPUT, "%s: images.debian_packages.%s: missing", o, roles[k]);
    return 0;
}
