/* matrix_images.c — what the loaded matrix answers (see matrix.h): its Spark lines
 * and variants, the images' names and tags, their budgets and pinned packages, the
 * download URLs of its jars and the builds (classifiers) a jar comes in. */
#include "launcher/images/matrix.h"

#include <stdio.h>
#include <string.h>

#include "launcher/sys/version.h"

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

int matrix_variants_use(const struct matrix *m, const char *feature)
{
    for (size_t i = 0; i < m->n_variants; i++)
        if (matrix_variant_has(m->variants[i], feature))
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

