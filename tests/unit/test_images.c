/* test_images.c — the image plan made from the real embedded matrix: the 16 images
 * in dependency order, their bases, both tags and arguments, IMAGES= selection, the
 * registry, build argument substitution, refusals, and the text, Markdown and
 * docker-bake renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/images/image_plan.h"
#include "launcher/images/matrix.h"
#include "launcher/sys/version.h"

static struct matrix *embedded(void)
{
    struct matrix *m = NULL;
    struct error err = {0};
    if (matrix_load_string(matrix_embedded_json(), "<embedded>", &m, &err))
        fail_msg("%s", err.text);
    return m;
}

static struct image_plan *make(const struct matrix *m, const char *registry, const char *select)
{
    struct image_plan_options o = {.registry = registry, .select = select, .revision = "r1"};
    struct image_plan *p = NULL;
    struct error err = {0};
    if (image_plan_make(m, &o, &p, &err))
        fail_msg("image_plan_make: %s", err.text);
    return p;
}

/* RAPIDS_JARS names every classifier of SP's RAPIDS as "NAME|ARCH|CUDA|SHA256|SHA1|URL"
 * (images/rapids-jar.sh picks one); RAPIDS_CUDA is the default classifier's CUDA
 * major and RAPIDS_CLASSIFIER is empty (the image's architecture decides). */
static void check_rapids_args(const struct matrix *m, const struct matrix_spark *sp,
                              const struct image_spec *s)
{
    const char *table = image_spec_arg(s, "RAPIDS_JARS");
    const struct matrix_component *c = &sp->rapids;
    assert_true(c->n_classifiers > 1);
    size_t words = 1;
    for (const char *p = table; *p; p++)
        words += *p == ' ';
    assert_int_equal(words, c->n_classifiers);
    for (size_t k = 0; k < c->n_classifiers; k++) {
        const struct matrix_classifier *x = &c->classifiers[k];
        char url[1024], want[1400];
        assert_int_equal(matrix_classifier_url(m, c, x, url, sizeof url), 0);
        snprintf(want, sizeof want, "%s|%s|%d|%s|%s|%s", x->name, x->arch, x->cuda, x->sha256,
                 x->sha1, url);
        if (!strstr(table, want))
            fail_msg("RAPIDS_JARS '%s' lacks '%s'", table, want);
    }
    const struct matrix_classifier *d = matrix_classifier_find(c, c->default_classifier);
    assert_non_null(d);
    char cuda[8];
    snprintf(cuda, sizeof cuda, "%d", d->cuda);
    assert_string_equal(image_spec_arg(s, "RAPIDS_CUDA"), cuda);
    assert_string_equal(image_spec_arg(s, "RAPIDS_CLASSIFIER"), "");
}

static void test_sixteen_in_order(void **state)
{
    (void)state;
    struct matrix *m = embedded();
    struct image_plan *p = make(m, NULL, NULL);
    assert_int_equal(p->n_images, 16);
    char want[256];
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        const struct matrix_spark *sp = &m->spark[(i % 8) / 4];
        const char *variant = m->variants[i % 4];
        assert_int_equal(s->order, (int)i + 1);
        assert_string_equal(s->kind, i < 8 ? "runtime" : "jupyter");
        assert_string_equal(s->line, sp->line);
        assert_string_equal(s->variant, variant);
        snprintf(want, sizeof want, "%s-%s-%s", sp->line, sp->version, variant);
        assert_string_equal(s->tag, want);
        snprintf(want, sizeof want, "%s:%s", i < 8 ? m->runtime_image : m->jupyter_image, s->tag);
        assert_string_equal(s->ref, want);
        snprintf(want, sizeof want, "%s-%s-%s-%s", sp->line, sp->version, variant,
                 SPARK_K8S_VERSION);
        assert_string_equal(s->version_tag, want);
        snprintf(want, sizeof want, "%s:%s", i < 8 ? m->runtime_image : m->jupyter_image,
                 s->version_tag);
        assert_string_equal(s->version_ref, want);
        /* the Python packages are the locks', never build arguments */
        assert_null(image_spec_arg(s, "PYTHON_PACKAGES"));
        assert_string_equal(image_spec_arg(s, "SPARK_LINE"), sp->line);
        assert_string_equal(image_spec_arg(s, "SPARK_VERSION"), sp->version);
        assert_string_equal(image_spec_arg(s, "VARIANT"), variant);
        assert_string_equal(image_spec_arg(s, "VCS_REF"), "r1");
        assert_int_equal(s->budget_mb, matrix_budget_mb(m, s->kind, variant));
        int gpu = matrix_variant_has(variant, "gpu"), ice = matrix_variant_has(variant, "iceberg");
        assert_int_equal(image_spec_arg(s, "RAPIDS_VERSION") != NULL, gpu);
        assert_int_equal(image_spec_arg(s, "ICEBERG_VERSION") != NULL, ice);
        if (i < 8) {
            assert_int_equal(s->depends_on, -1);
            assert_string_equal(s->base, m->base_image);
            assert_string_equal(s->dockerfile, "images/runtime.Dockerfile");
            assert_null(image_spec_arg(s, "SPARK_URL"));
            assert_non_null(image_spec_arg(s, "PYTHON_PACKAGE"));
            assert_null(image_spec_arg(s, "RAPIDS_URL")); /* a build per classifier now */
            assert_int_equal(image_spec_arg(s, "RAPIDS_JARS") != NULL, gpu);
            assert_int_equal(image_spec_arg(s, "ICEBERG_URL") != NULL, ice);
            assert_int_equal(image_spec_arg(s, "ICEBERG_SHA256") != NULL, ice);
            if (gpu)
                check_rapids_args(m, sp, s);
            if (ice)
                assert_string_equal(image_spec_arg(s, "ICEBERG_SHA256"), sp->iceberg.sha256);
            assert_null(image_spec_arg(s, "RUNTIME_IMAGE"));
        } else {
            /* FROM the runtime image of the same line and variant, built earlier */
            assert_int_equal(s->depends_on, (int)i - 8);
            const struct image_spec *base = &p->images[s->depends_on];
            assert_string_equal(s->base, base->ref);
            assert_string_equal(base->line, s->line);
            assert_string_equal(base->variant, s->variant);
            assert_true(base->order < s->order);
            assert_string_equal(image_spec_arg(s, "RUNTIME_IMAGE"), base->ref);
            assert_string_equal(s->dockerfile, "images/jupyter.Dockerfile");
            assert_null(image_spec_arg(s, "SPARK_URL"));
            /* the Jupyter environment needs the same Python's venv from the same snapshot */
            assert_string_equal(image_spec_arg(s, "PYTHON_PACKAGE"),
                                image_spec_arg(base, "PYTHON_PACKAGE"));
            assert_string_equal(image_spec_arg(s, "DEBIAN_SNAPSHOT"),
                                image_spec_arg(base, "DEBIAN_SNAPSHOT"));
        }
    }
    assert_string_equal(p->images[0].name, "runtime-3.5-baseline");
    assert_string_equal(p->images[0].target, "runtime-3_5-baseline");
    assert_string_equal(p->images[15].name, "jupyter-4.1-gpu-iceberg");
    image_plan_free(p);
    matrix_free(m);
}

static void test_selection_and_registry(void **state)
{
    (void)state;
    struct matrix *m = embedded();
    struct image_plan *p = make(m, "reg.example/team/", "jupyter-3.5-gpu");
    assert_int_equal(p->n_images, 2);
    assert_string_equal(p->images[0].name, "runtime-3.5-gpu");
    assert_string_equal(p->images[1].name, "jupyter-3.5-gpu");
    assert_int_equal(p->images[1].depends_on, 0);
    assert_int_equal(p->images[1].order, 2);
    char want[256];
    snprintf(want, sizeof want, "reg.example/team/spark-k8s-runtime:3.5-%s-gpu",
             matrix_spark_find(m, "3.5")->version);
    assert_string_equal(p->images[0].ref, want);
    assert_string_equal(p->images[1].base, want);
    snprintf(want, sizeof want, "reg.example/team/spark-k8s-runtime:3.5-%s-gpu-%s",
             matrix_spark_find(m, "3.5")->version, SPARK_K8S_VERSION);
    assert_string_equal(p->images[0].version_ref, want);
    snprintf(want, sizeof want, "reg.example/team/spark-k8s-jupyter");
    assert_string_equal(p->images[1].repository, want);
    image_plan_free(p);

    p = make(m, NULL, "runtime-4_1-*, jupyter-4.1-baseline");
    assert_int_equal(p->n_images, 5);
    assert_string_equal(p->images[4].name, "jupyter-4.1-baseline");
    assert_int_equal(p->images[4].depends_on, 0);
    image_plan_free(p);

    p = make(m, NULL, " ");
    assert_int_equal(p->n_images, 16);
    image_plan_free(p);

    /* the immutable reference selects too */
    char ref[256];
    snprintf(ref, sizeof ref, "spark-k8s-jupyter:4.1-%s-iceberg-%s",
             matrix_spark_find(m, "4.1")->version, SPARK_K8S_VERSION);
    p = make(m, NULL, ref);
    assert_int_equal(p->n_images, 2);
    assert_string_equal(p->images[1].version_ref, ref);
    image_plan_free(p);

    struct image_plan_options o = {.select = "runtime-3.5-tpu"};
    struct error err = {0};
    assert_int_equal(image_plan_make(m, &o, &p, &err), -1);
    assert_null(p);
    assert_non_null(strstr(err.text, "'runtime-3.5-tpu' selects no image"));

    struct image_plan_options bad = {.registry = "reg example"};
    assert_int_equal(image_plan_make(m, &bad, &p, &err), -1);
    assert_non_null(strstr(err.text, "REGISTRY"));
    matrix_free(m);
}

/* GPU_PYTHON=1: a gpu Jupyter image has the budget of jupyter_gpu_python (its kernel
 * environment holds cudf, cuml and cupy); the runtime image and other variants keep theirs. */
static void test_gpu_python_budget(void **state)
{
    (void)state;
    struct matrix *m = embedded();
    struct image_plan_options o = {.select = "jupyter-4.1-gpu-iceberg, jupyter-4.1-iceberg",
                                   .gpu_python = 1};
    struct image_plan *p = NULL;
    struct error err = {0};
    assert_int_equal(image_plan_make(m, &o, &p, &err), 0);
    long gp = matrix_budget_mb(m, "jupyter_gpu_python", "gpu-iceberg");
    assert_true(gp > matrix_budget_mb(m, "jupyter", "gpu-iceberg"));
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        if (strcmp(s->name, "jupyter-4.1-gpu-iceberg") == 0) {
            assert_int_equal(s->budget_mb, gp);
            assert_string_equal(image_spec_arg(s, "GPU_PYTHON"), "1");
        } else
            assert_int_equal(s->budget_mb, matrix_budget_mb(m, s->kind, s->variant));
    }
    image_plan_free(p);
    o.gpu_python = 0;
    assert_int_equal(image_plan_make(m, &o, &p, &err), 0);
    for (size_t i = 0; i < p->n_images; i++)
        assert_int_equal(p->images[i].budget_mb, matrix_budget_mb(m, p->images[i].kind, p->images[i].variant));
    image_plan_free(p);
    matrix_free(m);
}

static void test_refused_matrix_makes_no_plan(void **state)
{
    (void)state;
    json_t *root = json_loads(matrix_embedded_json(), 0, NULL);
    json_t *s41 = json_array_get(json_object_get(root, "spark"), 1);
    json_object_set_new(json_object_get(s41, "iceberg"), "version", json_string("1.10.0"));
    char *text = json_dumps(root, 0);
    json_decref(root);
    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_string(text, "<t>", &m, &err), 0);
    free(text);
    struct image_plan *p = NULL;
    assert_int_equal(image_plan_make(m, NULL, &p, &err), -1);
    assert_null(p);
    assert_non_null(strstr(err.text, "Iceberg 1.10.0 has no Spark 4.1 module"));
    matrix_free(m);
}

static void test_set_arg(void **state)
{
    (void)state;
    struct matrix *m = embedded();
    struct image_plan *p = make(m, NULL, "jupyter-4.1-baseline");
    struct error err = {0};
    size_t n = 0;
    /* every image that takes it, and the base the plan shows follows */
    assert_int_equal(image_plan_set_arg(p, "DEBIAN_SNAPSHOT", "", &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(image_spec_arg(&p->images[0], "DEBIAN_SNAPSHOT"), "");
    assert_string_equal(image_spec_arg(&p->images[1], "DEBIAN_SNAPSHOT"), "");
    assert_int_equal(image_plan_set_arg(p, "BASE_IMAGE", "localhost/base:1", &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(p->images[0].base, "localhost/base:1");
    assert_string_equal(p->images[1].base, p->images[0].ref); /* the Jupyter image keeps its FROM */
    /* refused: a name no image takes, a control character */
    assert_int_equal(image_plan_set_arg(p, "NO_SUCH_ARG", "x", &n, &err), -1);
    assert_non_null(strstr(err.text, "NO_SUCH_ARG: no image of the plan takes it"));
    assert_int_equal(image_plan_set_arg(p, "BASE_IMAGE", "a\nb", &n, &err), -1);
    assert_non_null(strstr(err.text, "control character"));
    assert_string_equal(p->images[0].base, "localhost/base:1");
    image_plan_free(p);
    matrix_free(m);
}

static char *render(void (*fn)(const struct image_plan *, const struct matrix *, FILE *),
                    const struct image_plan *p, const struct matrix *m)
{
    FILE *f = tmpfile(); /* unlinked already: nothing left behind */
    assert_non_null(f);
    fn(p, m, f);
    long len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    char *text = malloc((size_t)len + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = '\0';
    fclose(f);
    return text;
}

static void text_adapter(const struct image_plan *p, const struct matrix *m, FILE *f)
{
    (void)m;
    image_plan_write_text(p, f);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *c = strstr(hay, needle); c; c = strstr(c + 1, needle))
        n++;
    return n;
}

static void test_renderings(void **state)
{
    (void)state;
    struct matrix *m = embedded();
    struct image_plan *p = make(m, NULL, NULL);

    char *text = render(text_adapter, p, m);
    assert_non_null(strstr(text, "16 images"));
    assert_int_equal(count(text, " FROM "), 16);
    assert_int_equal(count(text, "(built at step "), 8);
    free(text);

    char *md = render(image_plan_write_markdown, p, m);
    assert_int_equal(count(md, "\n| `spark-k8s-"), 16);
    assert_non_null(strstr(md, "| Image | also tagged | Spark |"));
    assert_int_equal(count(md, "`spark-4.1.lock` + `jupyter.lock`"), 4);
    assert_null(strstr(md, "pandas"));
    free(md);

    json_t *bake = image_plan_bake_json(p, ".");
    json_t *targets = json_object_get(bake, "target");
    assert_int_equal(json_object_size(targets), 16);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(json_object_get(bake, "group"), "default"),
                                        "targets")),
        16);
    json_t *jt = json_object_get(targets, "jupyter-4_1-gpu");
    assert_non_null(jt);
    json_t *ctx = json_object_get(jt, "contexts");
    assert_int_equal(json_object_size(ctx), 1);
    assert_string_equal(json_string_value(json_object_get(ctx, p->images[13].base)),
                        "target:runtime-4_1-gpu");
    assert_null(json_object_get(json_object_get(targets, "runtime-4_1-gpu"), "contexts"));
    assert_int_equal(json_array_size(json_object_get(jt, "tags")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(jt, "tags"), 0)),
                        p->images[13].ref);
    assert_string_equal(json_string_value(json_array_get(json_object_get(jt, "tags"), 1)),
                        p->images[13].version_ref);
    json_decref(bake);

    json_t *pj = image_plan_json(p);
    assert_int_equal(json_array_size(json_object_get(pj, "images")), 16);
    json_t *last = json_array_get(json_object_get(pj, "images"), 15);
    assert_string_equal(json_string_value(json_object_get(last, "depends_on")),
                        "runtime-4.1-gpu-iceberg");
    json_decref(pj);

    image_plan_free(p);
    matrix_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sixteen_in_order),
        cmocka_unit_test(test_selection_and_registry),
        cmocka_unit_test(test_gpu_python_budget),
        cmocka_unit_test(test_refused_matrix_makes_no_plan),
        cmocka_unit_test(test_set_arg),
        cmocka_unit_test(test_renderings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
