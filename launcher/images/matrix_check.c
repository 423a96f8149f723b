/* matrix_check.c — the matrix against the compatibility facts it carries (see
 * matrix.h: matrix_check) and the pins an image build needs (matrix_check_pins): each
 * refusal names the line, the field, the value and why. */
#include "launcher/images/matrix.h"
#include "launcher/sys/strv.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* V's N strings as "a, b, c", or "none". */
static void list_text(char *const *v, size_t n, char *buf, size_t len)
{
    strv_join((const char *const *)v, n, ", ", buf, len);
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
        list_text(c->supported_spark, c->n_supported_spark, list, sizeof list);
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
        list_text(r->items, r->n_items, list, sizeof list);
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
        list_text(c->supported_spark, c->n_supported_spark, list, sizeof list);
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
        list_text(r->items, r->n_items, list, sizeof list);
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
            list_text(jv->items, jv->n_items, list, sizeof list);
            return error_set(err, ERR_INPUT,
                             "%s: spark[%zu] (%s) java: Spark %s runs on Java %s, not %s "
                             "(compat.spark_java)",
                             o, i, s->version, s->line, list, s->java);
        }
        if (matrix_variants_use(m, "iceberg") &&
            (check_iceberg(m, s, i, err) ||
             check_classifiers(m, s, i, "iceberg", &s->iceberg, err) ||
             check_classifiers(m, s, i, "iceberg_aws_bundle", &s->iceberg_aws, err)))
            return -1;
        if (matrix_variants_use(m, "gpu") && (check_rapids(m, s, i, err) ||
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
    return variant ? matrix_variant_has(variant, feature) : matrix_variants_use(m, feature);
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
