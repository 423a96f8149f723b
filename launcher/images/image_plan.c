/* image_plan.c — turns the matrix into the image build plan (8 runtime images,
 * then the 8 Jupyter images FROM them) and renders it as text, JSON, Markdown and
 * a docker-bake file. Every version in a build argument comes from the matrix. */
#include "launcher/images/image_plan.h"
#include "launcher/sys/errmsg.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/sys/version.h"


static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

static void spec_free(struct image_spec *s)
{
    free(s->name);
    free(s->target);
    free(s->kind);
    free(s->line);
    free(s->spark_version);
    free(s->variant);
    free(s->ref);
    free(s->repository);
    free(s->tag);
    free(s->version_ref);
    free(s->version_tag);
    free(s->dockerfile);
    free(s->base);
    for (size_t i = 0; i < s->n_args; i++) {
        free(s->args[i].name);
        free(s->args[i].value);
    }
    free(s->args);
}

void image_plan_free(struct image_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_images; i++)
        spec_free(&p->images[i]);
    free(p->images);
    free(p->matrix_origin);
    free(p->registry);
    free(p);
}

const char *image_spec_arg(const struct image_spec *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n_args; i++)
        if (strcmp(s->args[i].name, name) == 0)
            return s->args[i].value;
    return NULL;
}

int image_plan_set_arg(struct image_plan *p, const char *name, const char *value, size_t *n_images,
                       struct error *err)
{
    *n_images = 0;
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c < ' ' || *c == 0x7f)
            return error_set(err, ERR_INPUT, "build argument %s: the value has a control character",
                             name);
    for (size_t i = 0; i < p->n_images; i++) {
        struct image_spec *s = &p->images[i];
        for (size_t a = 0; a < s->n_args; a++) {
            if (strcmp(s->args[a].name, name) != 0)
                continue;
            char *copy = strdup(value);
            if (!copy)
                return error_nomem(err);
            free(s->args[a].value);
            s->args[a].value = copy;
            (*n_images)++;
            /* the base the plan shows is what the final stage is FROM */
            if ((strcmp(name, "BASE_IMAGE") == 0 && strcmp(s->kind, "runtime") == 0) ||
                (strcmp(name, "RUNTIME_IMAGE") == 0 && strcmp(s->kind, "jupyter") == 0)) {
                char *base = strdup(value);
                if (!base)
                    return error_nomem(err);
                free(s->base);
                s->base = base;
            }
        }
    }
    if (*n_images == 0)
        return error_set(err, ERR_INPUT,
                         "build argument %s: no image of the plan takes it (`spark-k8s images "
                         "plan` lists each image's arguments)",
                         name);
    return 0;
}

/* Appends NAME=VALUE (VALUE copied; NULL counts as ""). */
static int add_arg(struct image_spec *s, const char *name, const char *value)
{
    struct image_arg *a = realloc(s->args, (s->n_args + 1) * sizeof *a);
    if (!a)
        return -1;
    s->args = a;
    a[s->n_args].name = strdup(name);
    a[s->n_args].value = strdup(value ? value : "");
    s->n_args++;
    return a[s->n_args - 1].name && a[s->n_args - 1].value ? 0 : -1;
}

/* "name==version name==version" for the pip packages of SCOPE. */
static char *pip_specs(const struct matrix *m, const char *scope)
{
    size_t len = 1;
    for (size_t i = 0; i < m->n_pypackages; i++)
        if (strcmp(m->pypackages[i].scope, scope) == 0)
            len += strlen(m->pypackages[i].name) + strlen(m->pypackages[i].version) + 4;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t used = 0;
    s[0] = '\0';
    for (size_t i = 0; i < m->n_pypackages; i++)
        if (strcmp(m->pypackages[i].scope, scope) == 0)
            used += (size_t)snprintf(s + used, len - used, "%s%s==%s", used ? " " : "",
                                     m->pypackages[i].name, m->pypackages[i].version);
    return s;
}

static char *apt_spec(const struct matrix *m, const char *role)
{
    const struct matrix_package *p = matrix_package_find(m, role);
    return p ? xasprintf("%s=%s", p->name, p->version) : strdup("");
}

/* The arguments both Dockerfiles take: what the image is, for its labels. */
static int common_args(const struct matrix *m, const struct matrix_spark *sp, const char *variant,
                       const char *revision, struct image_spec *s)
{
    int rc = 0;
    rc |= add_arg(s, "SPARK_LINE", sp->line);
    rc |= add_arg(s, "SPARK_VERSION", sp->version);
    rc |= add_arg(s, "SCALA_VERSION", sp->scala);
    rc |= add_arg(s, "VARIANT", variant);
    rc |= add_arg(s, "SPARK_K8S_VERSION", SPARK_K8S_VERSION);
    rc |= add_arg(s, "VCS_REF", revision && *revision ? revision : "unknown");
    rc |= add_arg(s, "SOURCE_URL", m->source);
    rc |= add_arg(s, "SPARK_UID", *m->uid ? m->uid : "185");
    if (matrix_variant_has(variant, "gpu"))
        rc |= add_arg(s, "RAPIDS_VERSION", sp->rapids.version);
    if (matrix_variant_has(variant, "iceberg"))
        rc |= add_arg(s, "ICEBERG_VERSION", sp->iceberg.version);
    return rc ? -1 : 0;
}

/* PREFIX_URL, PREFIX_SHA256, PREFIX_SHA1 of component C's jar (its default
 * classifier's, when it has classifiers). */
static int jar_args(const struct matrix *m, const struct matrix_component *c, const char *prefix,
                    struct image_spec *s)
{
    const struct matrix_classifier *k = matrix_classifier_find(c, c->default_classifier);
    char url[1024], name[64];
    if (matrix_classifier_url(m, c, k, url, sizeof url))
        return -1;
    int rc = 0;
    snprintf(name, sizeof name, "%s_URL", prefix);
    rc |= add_arg(s, name, url);
    snprintf(name, sizeof name, "%s_SHA256", prefix);
    rc |= add_arg(s, name, k ? k->sha256 : c->sha256);
    snprintf(name, sizeof name, "%s_SHA1", prefix);
    rc |= add_arg(s, name, k ? k->sha1 : c->sha1);
    return rc;
}

/* RAPIDS_JARS: every build of C, one word each, "NAME|ARCH|CUDA|SHA256|SHA1|URL",
 * space-separated; images/rapids-jar.sh picks the image's (its architecture, CUDA
 * major or classifier). A component without classifiers is one word named "-" for
 * any architecture and CUDA. NULL when out of memory or a URL cannot be made. */
static char *rapids_table(const struct matrix *m, const struct matrix_component *c)
{
    size_t n = c->n_classifiers ? c->n_classifiers : 1;
    size_t cap = n * 1400 + 1, used = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct matrix_classifier *k = c->n_classifiers ? &c->classifiers[i] : NULL;
        char url[1024];
        if (matrix_classifier_url(m, c, k, url, sizeof url)) {
            free(buf);
            return NULL;
        }
        int w = snprintf(buf + used, cap - used, "%s%s|%s|%d|%s|%s|%s", i ? " " : "",
                         k ? k->name : "-", k ? k->arch : "any", k ? k->cuda : 0,
                         k ? k->sha256 : c->sha256, k ? k->sha1 : c->sha1, url);
        if (w < 0 || (size_t)w >= cap - used) {
            free(buf);
            return NULL;
        }
        used += (size_t)w;
    }
    return buf;
}

/* Spark and the Python packages are not build arguments: the Dockerfiles install
 * the locked kernel environment of SPARK_LINE (kernelspecs/envs/spark-LINE.lock). */
static int runtime_args(const struct matrix *m, const struct matrix_spark *sp, const char *variant,
                        struct image_spec *s)
{
    int rc = 0;
    rc |= add_arg(s, "BASE_IMAGE", m->base_image);
    rc |= add_arg(s, "BUILDER_IMAGE", m->builder_image);
    rc |= add_arg(s, "DEBIAN_SNAPSHOT", m->debian_snapshot);
    char role[32];
    snprintf(role, sizeof role, "java%s", sp->java);
    char *java = apt_spec(m, role), *python = apt_spec(m, "python"), *tini = apt_spec(m, "tini");
    if (!java || !python || !tini)
        rc = -1;
    else {
        rc |= add_arg(s, "JAVA_PACKAGE", java);
        rc |= add_arg(s, "PYTHON_PACKAGE", python);
        rc |= add_arg(s, "TINI_PACKAGE", tini);
    }
    free(java);
    free(python);
    free(tini);
    if (matrix_variant_has(variant, "gpu")) {
        char *table = rapids_table(m, &sp->rapids);
        const struct matrix_classifier *d =
            matrix_classifier_find(&sp->rapids, sp->rapids.default_classifier);
        char cuda[16];
        snprintf(cuda, sizeof cuda, "%d", d ? d->cuda : 0);
        rc |= table ? add_arg(s, "RAPIDS_JARS", table) : -1;
        rc |= add_arg(s, "RAPIDS_CUDA", d ? cuda : "");
        rc |= add_arg(s, "RAPIDS_CLASSIFIER", "");
        free(table);
    }
    if (matrix_variant_has(variant, "iceberg")) {
        rc |= jar_args(m, &sp->iceberg, "ICEBERG", s);
        if (*sp->iceberg_aws.version)
            rc |= jar_args(m, &sp->iceberg_aws, "ICEBERG_AWS", s);
    }
    /* a CA bundle the jar downloads trust besides the system's (a TLS-inspecting proxy's;
     * the sums are what a jar is held to): empty unless a build says otherwise */
    if (matrix_variant_has(variant, "gpu") || matrix_variant_has(variant, "iceberg"))
        rc |= add_arg(s, "FETCH_CA", "");
    return rc ? -1 : 0;
}

/* The Jupyter environment (jupyter.lock) needs venv's ensurepip: Debian's
 * python3.X-venv of the runtime image's Python, from the same snapshot. */
static int jupyter_args(const struct matrix *m, const char *variant, const char *runtime_ref,
                        int gpu_python, struct image_spec *s)
{
    int rc = add_arg(s, "RUNTIME_IMAGE", runtime_ref);
    rc |= add_arg(s, "DEBIAN_SNAPSHOT", m->debian_snapshot);
    char *python = apt_spec(m, "python");
    rc |= python ? add_arg(s, "PYTHON_PACKAGE", python) : -1;
    free(python);
    if (matrix_variant_has(variant, "gpu")) {
        char *gpu = pip_specs(m, "jupyter_gpu");
        rc |= gpu ? add_arg(s, "GPU_PYTHON_PACKAGES", gpu) : -1;
        free(gpu);
        rc |= add_arg(s, "GPU_PYTHON", gpu_python ? "1" : "0");
    }
    return rc ? -1 : 0;
}

static int fill_spec(const struct matrix *m, const struct image_plan_options *opt, const char *kind,
                     const struct matrix_spark *sp, const char *variant, int order,
                     const char *runtime_ref, struct image_spec *s, struct error *err)
{
    char buf[512];
    s->order = order;
    s->depends_on = -1;
    s->kind = strdup(kind);
    s->line = strdup(sp->line);
    s->spark_version = strdup(sp->version);
    s->variant = strdup(variant);
    s->name = xasprintf("%s-%s-%s", kind, sp->line, variant);
    s->target = s->name ? strdup(s->name) : NULL;
    for (char *p = s->target; p && *p; p++)
        if (*p == '.')
            *p = '_';
    if (matrix_image_line_ref(m, opt->registry, kind, sp, variant, buf, sizeof buf))
        return error_set(err, ERR_INPUT, "image reference for %s-%s-%s is too long", kind, sp->line, variant);
    s->ref = strdup(buf);
    char *colon = s->ref ? strrchr(s->ref, ':') : NULL;
    s->repository = colon ? strndup(s->ref, (size_t)(colon - s->ref)) : NULL;
    s->tag = colon ? strdup(colon + 1) : NULL;
    if (matrix_image_ref(m, opt->registry, kind, sp, variant, buf, sizeof buf))
        return error_set(err, ERR_INPUT, "image reference for %s-%s-%s is too long", kind, sp->line, variant);
    s->version_ref = strdup(buf);
    colon = s->version_ref ? strrchr(s->version_ref, ':') : NULL;
    s->version_tag = colon ? strdup(colon + 1) : NULL;
    s->dockerfile = xasprintf("images/%s.Dockerfile", kind);
    s->base = strdup(runtime_ref ? runtime_ref : m->base_image);
    /* a gpu Jupyter image with the GPU Python stack has a budget of its own */
    s->budget_mb = matrix_budget_mb(
        m, runtime_ref && opt->gpu_python && matrix_variant_has(variant, "gpu") ? "jupyter_gpu_python" : kind,
        variant);
    if (!s->kind || !s->line || !s->spark_version || !s->variant || !s->name || !s->target ||
        !s->ref || !s->repository || !s->tag || !s->version_ref || !s->version_tag ||
        !s->dockerfile || !s->base)
        return error_nomem(err);
    int rc = runtime_ref ? jupyter_args(m, variant, runtime_ref, opt->gpu_python, s)
                         : runtime_args(m, sp, variant, s);
    if (rc == 0)
        rc = common_args(m, sp, variant, opt->revision, s);
    if (rc)
        return error_set(err, ERR_INPUT, "%s: cannot make the build arguments of %s (download URL?)",
                         m->origin, s->name);
    return 0;
}

/* Does WORD select image S? Its name, bake target, either full ref, or a glob on its name. */
static int word_selects(const char *word, const struct image_spec *s)
{
    return strcmp(word, s->name) == 0 || strcmp(word, s->target) == 0 ||
           strcmp(word, s->ref) == 0 || strcmp(word, s->version_ref) == 0 ||
           fnmatch(word, s->name, 0) == 0 || fnmatch(word, s->target, 0) == 0;
}

static int apply_selection(struct image_plan *p, const char *select, struct error *err)
{
    if (!select)
        return 0;
    char *copy = strdup(select);
    int *keep = calloc(p->n_images ? p->n_images : 1, sizeof *keep);
    if (!copy || !keep) {
        free(copy);
        free(keep);
        return error_nomem(err);
    }
    int rc = 0, words = 0;
    for (char *save = NULL, *w = strtok_r(copy, ", \t\n", &save); w;
         w = strtok_r(NULL, ", \t\n", &save)) {
        words++;
        int hit = 0;
        for (size_t i = 0; i < p->n_images; i++)
            if (word_selects(w, &p->images[i])) {
                keep[i] = 1;
                hit = 1;
            }
        if (!hit) {
            rc = error_set(err, ERR_INPUT,
                           "IMAGES: '%s' selects no image (names look like runtime-4.1-gpu or "
                           "jupyter-3.5-gpu-iceberg; globs like 'jupyter-4.1-*' work; "
                           "`spark-k8s images plan` lists them)",
                           w);
            break;
        }
    }
    if (rc == 0 && words == 0) {
        /* IMAGES= (empty) means all */
        free(copy);
        free(keep);
        return 0;
    }
    if (rc == 0) {
        /* a jupyter image needs the runtime image it is FROM */
        for (size_t i = 0; i < p->n_images; i++)
            if (keep[i] && p->images[i].depends_on >= 0)
                keep[p->images[i].depends_on] = 1;
        size_t n = 0;
        int *newidx = calloc(p->n_images, sizeof *newidx);
        if (!newidx)
            rc = error_nomem(err);
        for (size_t i = 0; rc == 0 && i < p->n_images; i++) {
            if (!keep[i]) {
                spec_free(&p->images[i]);
                continue;
            }
            newidx[i] = (int)n;
            p->images[n] = p->images[i];
            p->images[n].order = (int)n + 1;
            if (p->images[n].depends_on >= 0)
                p->images[n].depends_on = newidx[p->images[n].depends_on];
            n++;
        }
        if (rc == 0)
            p->n_images = n;
        free(newidx);
    }
    free(copy);
    free(keep);
    return rc;
}

int image_plan_make(const struct matrix *m, const struct image_plan_options *opt,
                    struct image_plan **out, struct error *err)
{
    *out = NULL;
    static const struct image_plan_options none = {0};
    if (!opt)
        opt = &none;
    if (matrix_check(m, err))
        return -1;
    if (opt->registry)
        for (const char *c = opt->registry; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == 0x7f)
                return error_set(err, ERR_INPUT, "REGISTRY: '%s' contains a space or control character",
                                 opt->registry);
    struct image_plan *p = calloc(1, sizeof *p);
    if (!p)
        return error_nomem(err);
    size_t total = 2 * m->n_spark * m->n_variants;
    p->images = calloc(total ? total : 1, sizeof *p->images);
    p->matrix_origin = strdup(m->origin);
    p->registry = strdup(opt->registry ? opt->registry : "");
    if (!p->images || !p->matrix_origin || !p->registry) {
        image_plan_free(p);
        return error_nomem(err);
    }
    /* runtime images first, then the jupyter image of each, FROM it */
    size_t half = m->n_spark * m->n_variants;
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < m->n_spark; i++)
            for (size_t v = 0; v < m->n_variants; v++) {
                size_t idx = pass * half + i * m->n_variants + v;
                struct image_spec *s = &p->images[idx];
                p->n_images = idx + 1;
                const char *runtime_ref = pass ? p->images[idx - half].ref : NULL;
                if (fill_spec(m, opt, pass ? "jupyter" : "runtime", &m->spark[i], m->variants[v],
                              (int)idx + 1, runtime_ref, s, err)) {
                    image_plan_free(p);
                    return -1;
                }
                if (pass)
                    s->depends_on = (int)(idx - half);
            }
    if (apply_selection(p, opt->select, err)) {
        image_plan_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* ---- renderings ---- */

/* Is argument A of image I the same in every image of its kind? */
static int arg_shared(const struct image_plan *p, const struct image_spec *s, const struct image_arg *a)
{
    int seen = 0;
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *o = &p->images[i];
        if (strcmp(o->kind, s->kind) != 0)
            continue;
        const char *v = image_spec_arg(o, a->name);
        if (!v || strcmp(v, a->value) != 0)
            return 0;
        seen++;
    }
    return seen > 1;
}

static void print_arg(FILE *out, const struct image_arg *a, const char *indent)
{
    fprintf(out, "%s%s=%s\n", indent, a->name, *a->value ? a->value : "(empty)");
}

void image_plan_write_text(const struct image_plan *p, FILE *out)
{
    fprintf(out, "spark-k8s %s image plan: %zu images from %s%s%s\n", SPARK_K8S_VERSION,
            p->n_images, p->matrix_origin, *p->registry ? ", registry " : "", p->registry);
    const char *kinds[2] = {"runtime", "jupyter"};
    for (int k = 0; k < 2; k++) {
        const struct image_spec *first = NULL;
        size_t count = 0;
        for (size_t i = 0; i < p->n_images; i++)
            if (strcmp(p->images[i].kind, kinds[k]) == 0) {
                first = first ? first : &p->images[i];
                count++;
            }
        if (!first || count < 2)
            continue;
        fprintf(out, "\n%s images (%s), build args they share:\n", kinds[k], first->dockerfile);
        for (size_t a = 0; a < first->n_args; a++)
            if (arg_shared(p, first, &first->args[a]))
                print_arg(out, &first->args[a], "  ");
    }
    fprintf(out, "\n%-5s %-44s %-8s %s\n", "order", "image (tag)", "budget", "base / own build args");
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        char budget[32] = "none";
        if (s->budget_mb > 0)
            snprintf(budget, sizeof budget, "%ld MB", s->budget_mb);
        fprintf(out, "%5d %-44s %-8s FROM %s", s->order, s->ref, budget, s->base);
        if (s->depends_on >= 0)
            fprintf(out, " (built at step %d)", p->images[s->depends_on].order);
        fprintf(out, "\n        also tagged %s\n", s->version_tag);
        for (size_t a = 0; a < s->n_args; a++)
            if (!arg_shared(p, s, &s->args[a]))
                print_arg(out, &s->args[a], "        ");
    }
}

json_t *image_plan_json(const struct image_plan *p)
{
    json_t *images = json_array();
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        json_t *args = json_object();
        for (size_t a = 0; a < s->n_args; a++)
            json_object_set_new(args, s->args[a].name, json_string(s->args[a].value));
        json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                              "s:[s,s], s:s, s:s, s:o, s:o}",
                              "order", s->order, "name", s->name, "target", s->target, "kind",
                              s->kind, "line", s->line, "spark_version", s->spark_version,
                              "variant", s->variant, "image", s->ref, "version_image",
                              s->version_ref, "repository", s->repository, "tag", s->tag,
                              "version_tag", s->version_tag, "tags", s->ref, s->version_ref,
                              "dockerfile", s->dockerfile, "base", s->base,
                              "depends_on",
                              s->depends_on >= 0 ? json_string(p->images[s->depends_on].name)
                                                 : json_null(),
                              "args", args);
        if (!o)
            continue;
        json_object_set_new(o, "budget_mb",
                            s->budget_mb > 0 ? json_integer(s->budget_mb) : json_null());
        json_array_append_new(images, o);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "matrix", p->matrix_origin, "spark_k8s_version",
                     SPARK_K8S_VERSION, "registry", p->registry, "images", images);
}

json_t *image_plan_bake_json(const struct image_plan *p, const char *context)
{
    json_t *targets = json_object(), *names = json_array();
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        json_t *args = json_object();
        for (size_t a = 0; a < s->n_args; a++)
            json_object_set_new(args, s->args[a].name, json_string(s->args[a].value));
        json_t *t = json_pack("{s:s, s:s, s:o, s:[s,s]}", "context", context ? context : ".",
                              "dockerfile", s->dockerfile, "args", args, "tags", s->ref,
                              s->version_ref);
        if (!t)
            continue;
        if (s->depends_on >= 0) {
            /* FROM <runtime ref> resolves to the runtime target, built first */
            char *dep = xasprintf("target:%s", p->images[s->depends_on].target);
            json_object_set_new(t, "contexts", json_pack("{s:s}", s->base, dep ? dep : ""));
            free(dep);
        }
        json_object_set_new(targets, s->target, t);
        json_array_append_new(names, json_string(s->target));
    }
    return json_pack("{s:{s:{s:o}}, s:o}", "group", "default", "targets", names, "target",
                     targets);
}

void image_plan_write_markdown(const struct image_plan *p, const struct matrix *m, FILE *out)
{
    const struct matrix_package *py = matrix_package_find(m, "python");
    const char *pyver = py ? py->name : "?";
    if (strncmp(pyver, "python", 6) == 0 && pyver[6])
        pyver += 6; /* "python3.11" -> "3.11" */
    fprintf(out, "| Image | also tagged | Spark | Scala | Java | Python | Python packages | RAPIDS | "
                 "Iceberg | Budget |\n");
    fprintf(out, "|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        const struct matrix_spark *sp = matrix_spark_find(m, s->line);
        if (!sp)
            continue;
        char rapids[96] = "-", iceberg[128] = "-", budget[32] = "none", locks[96];
        if (matrix_variant_has(s->variant, "gpu"))
            snprintf(rapids, sizeof rapids, "%s", sp->rapids.version);
        if (matrix_variant_has(s->variant, "iceberg"))
            snprintf(iceberg, sizeof iceberg, "%s%s", sp->iceberg.version,
                     *sp->iceberg_aws.version ? " + AWS bundle" : "");
        if (s->budget_mb > 0)
            snprintf(budget, sizeof budget, "%.1f GB", (double)s->budget_mb / 1000.0);
        snprintf(locks, sizeof locks, "`spark-%s.lock`%s", s->line,
                 strcmp(s->kind, "jupyter") == 0 ? " + `jupyter.lock`" : "");
        fprintf(out, "| `%s` | `%s` | %s | %s | %s | %s | %s | %s | %s | %s |\n", s->ref,
                s->version_tag, sp->version, sp->scala, sp->java, pyver, locks, rapids, iceberg,
                budget);
    }
    fprintf(out, "\n- Python packages: the locked environments of `kernelspecs/envs` (pip "
                 "`--require-hashes`); Spark is the lock's pyspark.\n");
    int count = 0;
    for (size_t i = 0; i < m->n_pypackages; i++) {
        if (strcmp(m->pypackages[i].scope, "jupyter_gpu") != 0)
            continue;
        fprintf(out, "%s %s %s", count ? "," : "- gpu Jupyter images built with GPU_PYTHON=1 add",
                m->pypackages[i].name, m->pypackages[i].version);
        count++;
    }
    if (count) {
        fprintf(out, " (pip, to the kernel environment)");
        long g = matrix_budget_mb(m, "jupyter_gpu_python", "gpu");
        long gi = matrix_budget_mb(m, "jupyter_gpu_python", "gpu-iceberg");
        if (g > 0 && gi > 0)
            fprintf(out, "; their budgets: gpu %.1f GB, gpu-iceberg %.1f GB", (double)g / 1000.0,
                    (double)gi / 1000.0);
        fprintf(out, ".\n");
    }
    fprintf(out, "- Debian packages:");
    for (size_t i = 0; i < m->n_packages; i++)
        fprintf(out, "%s %s %s", i ? "," : "", m->packages[i].name, m->packages[i].version);
    fprintf(out, " (from snapshot.debian.org %s); base image %s.\n",
            *m->debian_snapshot ? m->debian_snapshot : "(none: deb.debian.org)", m->base_image);
}
