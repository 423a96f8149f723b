/* test_matrix.c — the image matrix API: loading (embedded, file, $SPARK_K8S_MATRIX,
 * string), lookups, image names, budgets, and the compatibility refusals, fed with
 * modified copies of the real images/matrix.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/sys/version.h"

/* BASE (a matrix's text) with one change: set PATH (dotted, [i] for array items) to
 * the JSON value VALUE, or remove it when VALUE is NULL. Returns malloc'd text. */
static char *mutate(const char *base, const char *path, const char *value)
{
    json_t *root = json_loads(base, 0, NULL);
    assert_non_null(root);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *parent = root;
    char *save = NULL;
    char *tok = strtok_r(buf, ".", &save);
    for (;;) {
        char *next = strtok_r(NULL, ".", &save);
        char *br = strchr(tok, '[');
        long idx = -1;
        if (br) {
            idx = strtol(br + 1, NULL, 10);
            *br = '\0';
        }
        if (!next) {
            if (idx >= 0) {
                json_t *arr = json_object_get(parent, tok);
                assert_non_null(arr);
                if (value)
                    assert_int_equal(json_array_set_new(arr, (size_t)idx,
                                                        json_loads(value, JSON_DECODE_ANY, NULL)),
                                     0);
                else
                    assert_int_equal(json_array_remove(arr, (size_t)idx), 0);
            } else if (value) {
                json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
                assert_non_null(v);
                assert_int_equal(json_object_set_new(parent, tok, v), 0);
            } else {
                assert_int_equal(json_object_del(parent, tok), 0);
            }
            break;
        }
        parent = json_object_get(parent, tok);
        assert_non_null(parent);
        if (idx >= 0)
            parent = json_array_get(parent, (size_t)idx);
        assert_non_null(parent);
        tok = next;
    }
    char *text = json_dumps(root, 0);
    json_decref(root);
    assert_non_null(text);
    return text;
}

/* The embedded matrix with one change (see mutate). */
static char *mutated(const char *path, const char *value)
{
    return mutate(matrix_embedded_json(), path, value);
}

/* The embedded matrix with two changes. */
static char *mutated2(const char *path1, const char *value1, const char *path2,
                      const char *value2)
{
    char *one = mutated(path1, value1);
    char *two = mutate(one, path2, value2);
    free(one);
    return two;
}

/* Load TEXT (freed here), which matrix_check must refuse with a message holding
 * NEEDLE1 (and NEEDLE2). */
static void expect_text_refused(char *text, const char *what, const char *needle1,
                                const char *needle2)
{
    struct matrix *m = NULL;
    struct error err = {0};
    if (matrix_load_string(text, "<test>", &m, &err) != 0)
        fail_msg("%s: did not load: %s", what, err.text);
    free(text);
    if (matrix_check(m, &err) != -1)
        fail_msg("%s was not refused", what);
    matrix_free(m);
    if (!strstr(err.text, needle1) || (needle2 && !strstr(err.text, needle2)))
        fail_msg("message '%s' lacks '%s' / '%s'", err.text, needle1, needle2 ? needle2 : "");
}

/* The embedded matrix with PATH set to VALUE must be refused by matrix_check. */
static void expect_refusal(const char *path, const char *value, const char *needle1,
                           const char *needle2)
{
    expect_text_refused(mutated(path, value), path, needle1, needle2);
}

static void expect_load_error(const char *path, const char *value, const char *needle)
{
    char *text = mutated(path, value);
    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_string(text, "<test>", &m, &err), -1);
    free(text);
    assert_null(m);
    if (!strstr(err.text, needle))
        fail_msg("message '%s' lacks '%s'", err.text, needle);
}

static void test_embedded_loads_and_checks(void **state)
{
    (void)state;
    unsetenv("SPARK_K8S_MATRIX");
    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_default(&m, &err), 0);
    assert_string_equal(m->origin, "<embedded images/matrix.json>");
    assert_int_equal(m->n_spark, 2);
    assert_int_equal(m->n_variants, 4);
    assert_string_equal(m->variants[0], "baseline");
    assert_string_equal(m->variants[3], "gpu-iceberg");
    assert_string_equal(m->runtime_image, "spark-k8s-runtime");
    assert_string_equal(m->jupyter_image, "spark-k8s-jupyter");
    if (matrix_check(m, &err) != 0)
        fail_msg("the shipped matrix fails its own facts: %s", err.text);

    const struct matrix_spark *a = matrix_spark_find(m, "3.5");
    const struct matrix_spark *b = matrix_spark_find(m, "4.1.3");
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(matrix_spark_find(m, "4.1"), b);
    assert_ptr_equal(matrix_spark_find(m, a->version), a);
    assert_null(matrix_spark_find(m, "4.0"));
    assert_null(matrix_spark_find(m, "4.1.0"));
    assert_null(matrix_spark_find(m, ""));
    assert_null(matrix_spark_find(m, NULL));
    assert_string_equal(b->scala, "2.13");
    assert_string_equal(a->scala, "2.12");
    assert_true(strstr(b->iceberg.artifact, "4.1_2.13") != NULL);
    assert_true(strstr(b->rapids.artifact, "_2.13") != NULL);
    assert_true(strstr(a->rapids.artifact, "_2.12") != NULL);
    /* RAPIDS: no jar of its own, one per classifier, each pinned */
    assert_string_equal(b->rapids.sha256, "");
    assert_string_equal(b->rapids.default_classifier, "cuda12");
    assert_true(b->rapids.n_classifiers >= 2 && a->rapids.n_classifiers >= 2);
    if (matrix_check_pins(m, &err) != 0)
        fail_msg("the shipped matrix is not pinned: %s", err.text);
    const struct matrix_classifier *k = matrix_classifier_find(&b->rapids, "cuda12-arm64");
    assert_non_null(k);
    assert_string_equal(k->arch, "aarch64");
    assert_int_equal(k->cuda, 12);
    assert_int_equal(strlen(k->sha256), 64);
    assert_int_equal(strlen(k->sha1), 40);
    assert_ptr_equal(matrix_classifier_pick(&b->rapids, "aarch64", 12), k);
    assert_string_equal(matrix_classifier_pick(&b->rapids, "x86_64", 13)->name, "cuda13");
    assert_null(matrix_classifier_pick(&b->rapids, "x86_64", 11));
    assert_null(matrix_classifier_pick(&b->rapids, "ppc64le", 12));
    assert_null(matrix_classifier_find(&b->rapids, "cuda11"));
    assert_null(matrix_classifier_find(&b->rapids, NULL));
    assert_null(matrix_classifier_pick(&b->iceberg, "x86_64", 12)); /* no classifiers */
    /* Iceberg: one jar, pinned by sha256 and sha1 */
    assert_int_equal(strlen(b->iceberg.sha256), 64);
    assert_int_equal(strlen(a->iceberg_aws.sha1), 40);
    assert_int_equal(b->iceberg.n_classifiers, 0);
    char list[512];
    matrix_classifiers_text(&b->rapids, list, sizeof list);
    assert_non_null(strstr(list, "cuda12 (x86_64, CUDA 12), "));
    assert_non_null(strstr(list, "cuda13-arm64 (aarch64, CUDA 13)"));
    matrix_classifiers_text(&b->iceberg, list, sizeof list);
    assert_string_equal(list, "none");
    /* the locks own the Python packages: only the on-request GPU libraries remain */
    for (size_t i = 0; i < m->n_pypackages; i++)
        assert_string_equal(m->pypackages[i].scope, "jupyter_gpu");
    matrix_free(m);
}

static void test_variants(void **state)
{
    (void)state;
    assert_true(matrix_variant_has("gpu-iceberg", "gpu"));
    assert_true(matrix_variant_has("gpu-iceberg", "iceberg"));
    assert_true(matrix_variant_has("gpu", "gpu"));
    assert_false(matrix_variant_has("baseline", "gpu"));
    assert_false(matrix_variant_has("iceberg", "gpu"));
    assert_false(matrix_variant_has("gpus", "gpu"));
    assert_false(matrix_variant_has("gpu-iceberg", "ice"));
    assert_false(matrix_variant_has("gpu", ""));
    assert_false(matrix_variant_has(NULL, "gpu"));

    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_string(matrix_embedded_json(), "<t>", &m, &err), 0);
    assert_true(matrix_variant_valid(m, "baseline"));
    assert_true(matrix_variant_valid(m, "gpu-iceberg"));
    assert_false(matrix_variant_valid(m, "iceberg-gpu"));
    assert_false(matrix_variant_valid(m, "Baseline"));
    assert_false(matrix_variant_valid(m, NULL));
    matrix_free(m);
}

static void test_image_refs(void **state)
{
    (void)state;
    struct matrix *m = NULL;
    struct error err = {0};
    char buf[256], want[256];
    assert_int_equal(matrix_load_string(matrix_embedded_json(), "<t>", &m, &err), 0);
    const struct matrix_spark *s = matrix_spark_find(m, "4.1");

    /* what kernelspecs name: the immutable tag, with spark-k8s's version */
    assert_int_equal(matrix_image_ref(m, NULL, "jupyter", s, "gpu-iceberg", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "spark-k8s-jupyter:4.1-%s-gpu-iceberg-%s", s->version,
             SPARK_K8S_VERSION);
    assert_string_equal(buf, want);
    assert_int_equal(matrix_image_ref(m, "", "runtime", s, "baseline", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "spark-k8s-runtime:4.1-%s-baseline-%s", s->version,
             SPARK_K8S_VERSION);
    assert_string_equal(buf, want);
    const struct matrix_spark *s35 = matrix_spark_find(m, "3.5");
    assert_int_equal(matrix_image_ref(m, "ghcr.io/acme/", "runtime", s35, "gpu", buf, sizeof buf),
                     0);
    snprintf(want, sizeof want, "ghcr.io/acme/spark-k8s-runtime:3.5-%s-gpu-%s", s35->version,
             SPARK_K8S_VERSION);
    assert_string_equal(buf, want);
    /* the line's tag, which a new spark-k8s moves */
    assert_int_equal(matrix_image_line_ref(m, "ghcr.io/acme", "runtime", s35, "gpu", buf,
                                           sizeof buf),
                     0);
    snprintf(want, sizeof want, "ghcr.io/acme/spark-k8s-runtime:3.5-%s-gpu", s35->version);
    assert_string_equal(buf, want);

    assert_int_equal(matrix_image_tag(s, "iceberg", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "4.1-%s-iceberg", s->version);
    assert_string_equal(buf, want);
    assert_int_equal(matrix_image_version_tag(s, "iceberg", buf, sizeof buf), 0);
    snprintf(want, sizeof want, "4.1-%s-iceberg-%s", s->version, SPARK_K8S_VERSION);
    assert_string_equal(buf, want);
    assert_int_equal(matrix_image_version_tag(s, "", buf, sizeof buf), -1);
    assert_int_equal(matrix_image_line_ref(m, NULL, "driver", s, "gpu", buf, sizeof buf), -1);

    assert_int_equal(matrix_image_ref(m, NULL, "driver", s, "gpu", buf, sizeof buf), -1);
    assert_int_equal(matrix_image_ref(m, NULL, "runtime", s, "tpu", buf, sizeof buf), -1);
    assert_int_equal(matrix_image_ref(m, NULL, "runtime", NULL, "gpu", buf, sizeof buf), -1);
    /* too small: refuse rather than truncate */
    assert_int_equal(matrix_image_ref(m, NULL, "runtime", s, "gpu", buf, 10), -1);
    matrix_free(m);
}

static void test_budgets_and_urls(void **state)
{
    (void)state;
    struct matrix *m = NULL;
    struct error err = {0};
    char buf[512];
    assert_int_equal(matrix_load_string(matrix_embedded_json(), "<t>", &m, &err), 0);
    /* every budgets_mb.KIND.VARIANT of the JSON, and nothing else */
    json_t *root = json_loads(matrix_embedded_json(), 0, NULL);
    json_t *budgets = json_object_get(root, "budgets_mb");
    assert_non_null(json_object_get(budgets, "jupyter_gpu_python"));
    const char *kind;
    json_t *per;
    size_t n = 0;
    json_object_foreach(budgets, kind, per) {
        const char *variant;
        json_t *mb;
        json_object_foreach(per, variant, mb) {
            assert_int_equal(matrix_budget_mb(m, kind, variant), json_integer_value(mb));
            n++;
        }
    }
    json_decref(root);
    assert_int_equal(n, 4 + 4 + 2);
    assert_true(matrix_budget_mb(m, "runtime", "gpu") > matrix_budget_mb(m, "runtime", "baseline"));
    assert_int_equal(matrix_budget_mb(m, "jupyter", "tpu"), -1);
    assert_int_equal(matrix_budget_mb(m, "driver", "gpu"), -1);

    const struct matrix_spark *s = matrix_spark_find(m, "3.5");
    assert_int_equal(matrix_component_url(m, &s->iceberg, buf, sizeof buf), 0);
    char want[512];
    snprintf(want, sizeof want,
             "%s/org/apache/iceberg/iceberg-spark-runtime-3.5_2.12/%s/"
             "iceberg-spark-runtime-3.5_2.12-%s.jar",
             m->maven_repository, s->iceberg.version, s->iceberg.version);
    assert_string_equal(buf, want);
    assert_int_equal(matrix_component_url(m, &s->rapids, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "/com/nvidia/rapids-4-spark_2.12/"));
    assert_int_equal(matrix_component_url(m, &s->rapids, buf, 20), -1);
    /* a classifier's jar: "-<classifier>" before ".jar", or its own url */
    const struct matrix_classifier *k = matrix_classifier_find(&s->rapids, "cuda12-arm64");
    assert_non_null(k);
    assert_int_equal(matrix_classifier_url(m, &s->rapids, k, buf, sizeof buf), 0);
    snprintf(want, sizeof want,
             "%s/com/nvidia/rapids-4-spark_2.12/%s/rapids-4-spark_2.12-%s-cuda12-arm64.jar",
             m->maven_repository, s->rapids.version, s->rapids.version);
    assert_string_equal(buf, want);
    assert_int_equal(matrix_classifier_url(m, &s->rapids, NULL, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "25.04.0.jar"));
    size_t plain = strlen(buf);
    assert_int_equal(matrix_classifier_url(m, &s->rapids, k, buf, plain + 2), -1);
    matrix_free(m);
    char *text = mutated("spark[0].rapids.classifiers.cuda12.url",
                         "\"https://mirror.example/r-cuda12.jar\"");
    assert_int_equal(matrix_load_string(text, "<t>", &m, &err), 0);
    free(text);
    s = matrix_spark_find(m, "3.5");
    k = matrix_classifier_find(&s->rapids, "cuda12");
    assert_int_equal(matrix_classifier_url(m, &s->rapids, k, buf, sizeof buf), 0);
    assert_string_equal(buf, "https://mirror.example/r-cuda12.jar");

    assert_non_null(matrix_package_find(m, "java17"));
    assert_non_null(matrix_package_find(m, "tini"));
    assert_null(matrix_package_find(m, "java8"));
    matrix_free(m);
}

static void test_env_override(void **state)
{
    (void)state;
    char path[] = "/tmp/test_matrix_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char *text = mutated("project.runtime_image", "\"acme-runtime\"");
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    free(text);

    setenv("SPARK_K8S_MATRIX", path, 1);
    struct matrix *m = NULL;
    struct error err = {0};
    int rc = matrix_load_default(&m, &err);
    unlink(path);
    unsetenv("SPARK_K8S_MATRIX");
    assert_int_equal(rc, 0);
    assert_string_equal(m->origin, path);
    assert_string_equal(m->runtime_image, "acme-runtime");
    matrix_free(m);

    setenv("SPARK_K8S_MATRIX", "/nonexistent/matrix.json", 1);
    rc = matrix_load_default(&m, &err);
    unsetenv("SPARK_K8S_MATRIX");
    assert_int_equal(rc, -1);
    assert_null(m);
    assert_non_null(strstr(err.text, "/nonexistent/matrix.json"));
}

static void test_load_errors(void **state)
{
    (void)state;
    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_string("{\"schema\": 1,", "<bad>", &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.text, "<bad>"));
    assert_non_null(strstr(err.text, "invalid JSON"));
    assert_int_equal(matrix_load_string("[]", "<arr>", &m, &err), -1);

    expect_load_error("schema", "2", "schema");
    expect_load_error("spark[1].scala", NULL, "spark[1].scala: missing");
    expect_load_error("spark[0].python_min", "3", "spark[0].python_min: expected a string");
    /* fields the locked environments own now are refused, saying where they went */
    expect_load_error("spark[0].pandas", "\"2.2.3\"", "spark-3.5.lock");
    expect_load_error("spark[1].distribution", "{\"url\": \"x\"}",
                      "spark[1].distribution: no longer part of the matrix");
    expect_load_error("images.python_packages.runtime", "{\"numpy\": \"1.26.4\"}",
                      "images.python_packages.runtime: no longer part of the matrix");
    expect_load_error("images.python_packages.extras", "{\"x\": \"1\"}", "unknown scope");
    expect_load_error("variants", "[]", "variants: empty");
    expect_load_error("variants", "[\"baseline\", 7]", "variants[1]");
    expect_load_error("spark[1].rapids.supported_spark", "\"4.1.3\"",
                      "spark[1] (4.1.3).rapids.supported_spark");
    expect_load_error("budgets_mb.runtime.gpu", "-5", "budgets_mb.runtime.gpu");
    /* sha512 is no longer read: refused, saying what replaced it */
    expect_load_error("spark[0].iceberg.sha512", "\"ab\"",
                      "spark[0] (3.5.5).iceberg.sha512: no longer read");
    expect_load_error("spark[1].rapids.classifiers.cuda13.sha512", "\"\"",
                      "spark[1] (4.1.3).rapids.classifiers.cuda13.sha512: no longer read");
    expect_load_error("spark[1].rapids.classifiers.cuda13.cuda", "\"13\"",
                      "spark[1] (4.1.3).rapids.classifiers.cuda13.cuda: expected the CUDA major");
    expect_load_error("spark[1].rapids.classifiers.cuda13.cuda", "0", "CUDA major");
    expect_load_error("spark[1].rapids.classifiers.cuda13.arch", NULL,
                      "spark[1] (4.1.3).rapids.classifiers.cuda13.arch: missing");
    expect_load_error("spark[1].rapids.classifiers.cuda13", "[]",
                      "rapids.classifiers.cuda13: expected an object");
    expect_load_error("spark[1].rapids.classifiers", "[\"cuda12\"]",
                      "rapids.classifiers: expected an object");
    expect_load_error("spark[1].rapids.classifiers.cuda13.sha256", "7",
                      "rapids.classifiers.cuda13.sha256: expected a string");
    expect_load_error("images.debian_packages.tini", "{\"name\": \"tini\"}",
                      "images.debian_packages.tini.version: missing");
}

static void test_refusals(void **state)
{
    (void)state;
    /* Spark 4.1.0 with RAPIDS: no release supports it */
    expect_refusal("spark[1].version", "\"4.1.0\"", "no RAPIDS release", "Spark 4.1.0");
    /* a Spark version the RAPIDS jar has no shim for */
    expect_refusal("spark[0].version", "\"3.5.7\"", "rapids.supported_spark", "not 3.5.7");
    /* RAPIDS whose facts do not contain the exact Spark version */
    expect_text_refused(mutated2("spark[0].version", "\"3.5.7\"", "spark[0].rapids.supported_spark",
                                 "[\"3.5.5\", \"3.5.7\"]"),
                        "Spark 3.5.7 on RAPIDS 25.04.0",
                        "RAPIDS 25.04.0 does not support Spark 3.5.7", "3.5.5");
    /* the component's own list must contain the exact version */
    expect_refusal("spark[0].rapids.supported_spark", "[\"3.5.4\", \"3.5.6\"]",
                   "rapids.supported_spark", "not 3.5.5");
    /* a RAPIDS release the facts do not know */
    expect_refusal("spark[1].rapids.version", "\"26.99.0\"", "no facts for RAPIDS 26.99.0", NULL);
    /* Scala mismatch of the RAPIDS artifact */
    expect_refusal("spark[1].rapids.artifact", "\"com.nvidia:rapids-4-spark_2.12\"",
                   "built for Scala 2.12", "Scala 2.13");
    /* Iceberg 1.10 with Spark 4.1: no 4.1 module */
    expect_refusal("spark[1].iceberg.version", "\"1.10.0\"",
                   "Iceberg 1.10.0 has no Spark 4.1 module", "4.0_2.13");
    /* Iceberg artifact for another Spark minor */
    expect_refusal("spark[1].iceberg.artifact",
                   "\"org.apache.iceberg:iceberg-spark-runtime-3.5_2.13\"", "Spark minor mismatch",
                   "Spark 4.1");
    /* Iceberg artifact for another Scala */
    expect_refusal("spark[1].iceberg.artifact",
                   "\"org.apache.iceberg:iceberg-spark-runtime-4.1_2.12\"", "Scala mismatch", NULL);
    expect_refusal("spark[0].iceberg.supported_spark", "[\"3.4\"]", "iceberg.supported_spark",
                   "not 3.5");
    expect_refusal("spark[0].iceberg_aws_bundle.version", "\"1.6.0\"", "iceberg_aws_bundle.version",
                   NULL);
    expect_refusal("spark[0].iceberg.artifact", "\"org.apache.iceberg:iceberg-core\"",
                   "not an Iceberg Spark runtime", NULL);
    expect_refusal("spark[1].java", "\"11\"", "Spark 4.1 runs on Java 17, 21, not 11", NULL);
    expect_refusal("variants[1]", "\"tpu\"", "unknown feature 'tpu'", NULL);
    expect_refusal("variants[1]", "\"baseline\"", "listed twice", NULL);
    expect_refusal("spark[1].line", "\"4\"", "not MAJOR.MINOR", NULL);
    expect_refusal("spark[1].version", "\"3.5.7\"", "not a release of Spark 4.1", NULL);

    /* classifiers: a default among them, known architectures, one build per
     * architecture and CUDA major, no jar of the component's own beside them */
    expect_refusal("spark[1].rapids.default_classifier", "\"cuda14\"",
                   "rapids.default_classifier: 'cuda14' is not one of its classifiers",
                   "cuda13-arm64 (aarch64, CUDA 13)");
    expect_refusal("spark[1].rapids.default_classifier", NULL,
                   "rapids.default_classifier: '' is not one of its classifiers", NULL);
    expect_refusal("spark[1].rapids.classifiers.cuda13.arch", "\"ppc64le\"",
                   "rapids.classifiers.cuda13.arch: 'ppc64le' is not x86_64 or aarch64", NULL);
    expect_refusal("spark[1].rapids.classifiers.cuda13.cuda", "12",
                   "cuda12 and cuda13 are both the x86_64 build for CUDA 12", NULL);
    expect_refusal("spark[1].rapids.sha256", "\"00\"", "rapids.sha256: '00' beside classifiers",
                   NULL);
    expect_refusal("spark[1].rapids.classifiers.cuda 13",
                   "{\"arch\": \"x86_64\", \"cuda\": 14}", "'cuda 13' is not a Maven classifier",
                   NULL);
    expect_refusal("spark[1].iceberg.default_classifier", "\"x\"",
                   "iceberg.default_classifier: 'x' but the component has no classifiers", NULL);

    /* a matrix without gpu variants does not care about RAPIDS facts */
    char *text = mutated("spark[1].rapids.version", "\"26.99.0\"");
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(root, "variants", json_pack("[s,s]", "baseline", "iceberg"));
    text = json_dumps(root, 0);
    json_decref(root);
    struct matrix *m = NULL;
    struct error err = {0};
    assert_int_equal(matrix_load_string(text, "<t>", &m, &err), 0);
    free(text);
    assert_int_equal(matrix_check(m, &err), 0);
    matrix_free(m);
}

/* Load TEXT (freed here) and return matrix_check_pins_for(LINE, VARIANT), its
 * message into ERR. */
static int pins_of(char *text, const char *line, const char *variant, struct error *err)
{
    struct matrix *m = NULL;
    if (matrix_load_string(text, "<t>", &m, err) != 0)
        fail_msg("did not load: %s", err->text);
    free(text);
    int rc = matrix_check_pins_for(m, line, variant, err);
    matrix_free(m);
    return rc;
}

static void test_pins(void **state)
{
    (void)state;
    struct error err = {0};
    /* the shipped matrix: every jar pinned */
    assert_int_equal(pins_of(mutated("schema", "1"), NULL, NULL, &err), 0);

    /* a classifier without its sha256 is refused, naming the line, the classifier and
     * the field; images that do not download RAPIDS do not need it */
    const char *cls = "spark[1].rapids.classifiers.cuda13-arm64.sha256";
    assert_int_equal(pins_of(mutated(cls, "\"\""), NULL, NULL, &err), -1);
    assert_non_null(strstr(err.text, "spark[1] (4.1.3) rapids.classifiers.cuda13-arm64.sha256"));
    assert_non_null(strstr(err.text, "no checksum"));
    assert_non_null(strstr(err.text, "spark-k8s images pin"));
    assert_int_equal(pins_of(mutated(cls, "\"\""), "4.1", "gpu-iceberg", &err), -1);
    assert_int_equal(pins_of(mutated(cls, "\"\""), "4.1", "iceberg", &err), 0);
    assert_int_equal(pins_of(mutated(cls, "\"\""), "4.1", "baseline", &err), 0);
    assert_int_equal(pins_of(mutated(cls, "\"\""), "3.5", "gpu", &err), 0);
    /* a sha1 alone is no pin: the sha256 is what a download is checked against */
    assert_int_equal(pins_of(mutated("spark[0].iceberg.sha256", "\"\""), "3.5", "iceberg", &err),
                     -1);
    assert_non_null(strstr(err.text, "spark[0] (3.5.5) iceberg.sha256: no checksum"));
    /* a sha256 alone is (not every repository publishes a sha1) */
    assert_int_equal(pins_of(mutated("spark[0].iceberg.sha1", "\"\""), "3.5", "iceberg", &err),
                     0);

    /* malformed sums */
    assert_int_equal(pins_of(mutated(cls, "\"abc\""), NULL, NULL, &err), -1);
    assert_non_null(strstr(err.text, "cuda13-arm64.sha256: 'abc' is not 64 hex digits"));
    assert_int_equal(pins_of(mutated("spark[1].iceberg_aws_bundle.sha1", "\"xyz\""), NULL, NULL,
                             &err),
                     -1);
    assert_non_null(strstr(err.text, "iceberg_aws_bundle.sha1: 'xyz' is not 40 hex digits"));

    /* an unpinned base image, which a baseline image needs too */
    assert_int_equal(pins_of(mutated("images.base", "\"debian:latest\""), NULL, NULL, &err),
                     -1);
    assert_non_null(strstr(err.text, "images.base: 'debian:latest' is not pinned"));
    assert_int_equal(pins_of(mutated("images.base", "\"debian:latest\""), "4.1", "baseline", &err),
                     -1);
    assert_int_equal(pins_of(mutated("images.base", "\"debian\""), NULL, NULL, &err),
                     -1);
    assert_non_null(strstr(err.text, "is not pinned"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedded_loads_and_checks),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_image_refs),
        cmocka_unit_test(test_budgets_and_urls),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
