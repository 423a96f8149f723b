/* matrix.c — reads the image matrix (images/matrix.json, embedded or from a file)
 * into struct matrix, every field checked for its type and named in the message
 * when it is wrong; and frees it. What the matrix answers is matrix_images.c's, its
 * compatibility facts matrix_check.c's. */
#include "launcher/images/matrix.h"
#include "launcher/sys/errmsg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


extern const char spark_k8s_matrix_json[]; /* launcher/images/matrix_data.S */

#define EMBEDDED_ORIGIN "<embedded images/matrix.json>"

const char *matrix_embedded_json(void)
{
    return spark_k8s_matrix_json;
}


/* ---- freeing ---- */

static void strings_free(char **v, size_t n)
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
    strings_free(c->supported_spark, c->n_supported_spark);
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
        strings_free(r[i].items, r[i].n_items);
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
    strings_free(m->variants, m->n_variants);
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
            strings_free(v, i);
            return error_set(c->err, ERR_INPUT, "%s: %s[%zu]: expected a non-empty string", c->origin,
                             path, i);
        }
        v[i] = strdup(json_string_value(e));
        if (!v[i]) {
            strings_free(v, i);
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

/* images.debian_packages: ROLE -> {name, version} (a "_comment" member is skipped). */
static int parse_debian_packages(const struct ctx *c, const json_t *img, struct matrix *m)
{
    json_t *pk = json_object_get(img, "debian_packages");
    if (pk && !json_is_object(pk))
        return error_set(c->err, ERR_INPUT, "%s: images.debian_packages: expected an object",
                         c->origin);
    if (!pk || !json_object_size(pk))
        return 0;
    m->packages = calloc(json_object_size(pk), sizeof *m->packages);
    if (!m->packages)
        return error_nomem(c->err);
    const char *role;
    json_t *p;
    json_object_foreach(pk, role, p) {
        if (role[0] == '_')
            continue; /* "_comment" */
        char path[128];
        snprintf(path, sizeof path, "images.debian_packages.%s", role);
        struct matrix_package *d = &m->packages[m->n_packages++];
        if (!(d->role = strdup(role)))
            return error_nomem(c->err);
        if (!json_is_object(p))
            return error_set(c->err, ERR_INPUT, "%s: %s: expected an object", c->origin, path);
        if (get_str(c, p, path, "name", 1, &d->name) ||
            get_str(c, p, path, "version", 1, &d->version))
            return -1;
    }
    return 0;
}

/* The scopes of images.python_packages: jupyter_gpu only (the runtime and jupyter
 * scopes went to the locked environments). How many packages they hold into *TOTAL. */
static int check_python_scopes(const struct ctx *c, const json_t *py, size_t *total)
{
    const char *scope;
    json_t *pkgs;
    *total = 0;
    json_object_foreach((json_t *)py, scope, pkgs) {
        if (scope[0] == '_')
            continue; /* "_comment" */
        if (strcmp(scope, "runtime") == 0 || strcmp(scope, "jupyter") == 0)
            return error_set(c->err, ERR_INPUT,
                             "%s: images.python_packages.%s: no longer part of the matrix: the "
                             "images install the locked environments "
                             "(kernelspecs/envs/spark-LINE.lock, jupyter.lock); remove it",
                             c->origin, scope);
        if (strcmp(scope, "jupyter_gpu") != 0)
            return error_set(c->err, ERR_INPUT,
                             "%s: images.python_packages.%s: unknown scope (jupyter_gpu)",
                             c->origin, scope);
        if (!json_is_object(pkgs))
            return error_set(c->err, ERR_INPUT,
                             "%s: images.python_packages.%s: expected an object", c->origin,
                             scope);
        *total += json_object_size(pkgs);
    }
    return 0;
}

/* images.python_packages: SCOPE -> {NAME: VERSION}. */
static int parse_python_packages(const struct ctx *c, const json_t *img, struct matrix *m)
{
    json_t *py = json_object_get(img, "python_packages");
    if (py && !json_is_object(py))
        return error_set(c->err, ERR_INPUT, "%s: images.python_packages: expected an object",
                         c->origin);
    if (!py)
        return 0;
    size_t total = 0;
    if (check_python_scopes(c, py, &total))
        return -1;
    if (!total)
        return 0;
    m->pypackages = calloc(total, sizeof *m->pypackages);
    if (!m->pypackages)
        return error_nomem(c->err);
    const char *scope;
    json_t *pkgs;
    json_object_foreach(py, scope, pkgs) {
        if (scope[0] == '_')
            continue;
        const char *name;
        json_t *ver;
        json_object_foreach(pkgs, name, ver) {
            struct matrix_pypackage *d = &m->pypackages[m->n_pypackages++];
            if (!(d->scope = strdup(scope)) || !(d->name = strdup(name)))
                return error_nomem(c->err);
            if (!json_is_string(ver) || json_string_length(ver) == 0)
                return error_set(c->err, ERR_INPUT,
                                 "%s: images.python_packages.%s.%s: expected a version string",
                                 c->origin, scope, name);
            if (!(d->version = strdup(json_string_value(ver))))
                return error_nomem(c->err);
        }
    }
    return 0;
}

/* The "images" section: build inputs, the layout inside the images, pinned packages. */
static int parse_images(const struct ctx *c, const json_t *o, struct matrix *m)
{
    if (o && !json_is_object(o))
        return error_set(c->err, ERR_INPUT, "%s: images: expected an object", c->origin);
    json_t *layout = json_object_get(o, "layout"); /* NULL o: absent, every field "" */
    if (layout && !json_is_object(layout))
        return error_set(c->err, ERR_INPUT, "%s: images.layout: expected an object", c->origin);
    if (get_str(c, o, "images", "base", 0, &m->base_image) ||
        get_str(c, o, "images", "builder", 0, &m->builder_image) ||
        get_str(c, o, "images", "debian_snapshot", 0, &m->debian_snapshot) ||
        get_str(c, o, "images", "maven_repository", 0, &m->maven_repository) ||
        get_str(c, o, "images", "uid", 0, &m->uid) ||
        get_str(c, layout, "images.layout", "python", 0, &m->image_python) ||
        get_str(c, layout, "images.layout", "tini", 0, &m->image_tini) ||
        get_str(c, layout, "images.layout", "spark_k8s", 0, &m->image_spark_k8s))
        return -1;
    return parse_debian_packages(c, o, m) || parse_python_packages(c, o, m) ? -1 : 0;
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
