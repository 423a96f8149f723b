/* test_kernel_env.c — the jars of a kernel environment (launcher/plan/kernel_env.c):
 * which files a variant needs, RAPIDS as this machine's default build (its
 * architecture, the default classifier's CUDA major) or as whichever build an
 * environment's folder holds, the folder of an interpreter, and this machine's
 * architecture as the matrix names it. Against the embedded matrix and a temporary
 * folder of empty files (presence is all these functions look at). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/kernel_env.h"

struct fixture {
    struct matrix *m;
    const struct matrix_spark *line; /* 4.1 */
    char dir[64];
    char arch[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct error err = {0};
    if (!f || matrix_load_string(matrix_embedded_json(), "<t>", &f->m, &err))
        return -1;
    f->line = matrix_spark_find(f->m, "4.1");
    snprintf(f->dir, sizeof f->dir, "/tmp/test_kernel_env_XXXXXX");
    if (!mkdtemp(f->dir) || kernel_env_machine_arch(f->arch, sizeof f->arch))
        return -1;
    *state = f;
    return 0;
}

static void touch(const struct fixture *f, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", f->dir, file);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const struct matrix_component *c = &f->line->rapids;
    char path[512];
    for (size_t i = 0; i < c->n_classifiers; i++) {
        snprintf(path, sizeof path, "%s/rapids-4-spark_2.13-%s-%s.jar", f->dir, c->version,
                 c->classifiers[i].name);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/rapids-4-spark_2.13-%s.jar", f->dir, c->version);
    unlink(path);
    rmdir(f->dir);
    matrix_free(f->m);
    free(f);
    return 0;
}

static void test_machine_arch(void **state)
{
    struct fixture *f = *state;
    struct utsname u;
    assert_int_equal(uname(&u), 0);
    if (strcmp(u.machine, "arm64") == 0)
        assert_string_equal(f->arch, "aarch64");
    else
        assert_string_equal(f->arch, u.machine);
    char small[2];
    assert_int_equal(kernel_env_machine_arch(small, sizeof small), -1);
}

static void test_default_build(void **state)
{
    struct fixture *f = *state;
    const struct matrix_classifier *k = kernel_env_rapids_default(f->line, "x86_64");
    assert_non_null(k);
    assert_string_equal(k->name, "cuda12");
    k = kernel_env_rapids_default(f->line, "aarch64");
    assert_non_null(k);
    assert_string_equal(k->name, "cuda12-arm64");
    assert_null(kernel_env_rapids_default(f->line, "ppc64le"));
}

static void test_jars_of_a_variant(void **state)
{
    struct fixture *f = *state;
    struct kernel_jar j[KERNEL_JARS_MAX];
    assert_int_equal(kernel_env_jars(f->m, f->line, "baseline", NULL, j), 0);
    assert_int_equal(kernel_env_jars(f->m, f->line, "iceberg", NULL, j), 2);
    assert_string_equal(j[0].file, "iceberg-spark-runtime-4.1_2.13-1.11.0.jar");
    assert_null(j[0].classifier);
    assert_string_equal(j[0].sha256, f->line->iceberg.sha256);
    assert_string_equal(j[1].what, "iceberg_aws_bundle");
    assert_int_equal(j[1].required, 0);
    assert_int_equal(kernel_env_jars(f->m, f->line, "gpu-iceberg", "http://mirror/m2/", j), 3);
    /* RAPIDS: this machine's build with CUDA 12 (the default classifier where this
     * machine has none, so that the list still names a file) */
    assert_string_equal(j[0].what, "rapids");
    const struct matrix_classifier *want = kernel_env_rapids_default(f->line, f->arch);
    if (!want)
        want = matrix_classifier_find(&f->line->rapids, "cuda12");
    assert_ptr_equal(j[0].classifier, want);
    char file[256];
    snprintf(file, sizeof file, "rapids-4-spark_2.13-26.08.1-%s.jar", want->name);
    assert_string_equal(j[0].file, file);
    assert_string_equal(j[0].sha256, want->sha256);
    assert_string_equal(j[0].sha1, want->sha1);
    /* under the repository given, Maven's layout */
    char url[512];
    snprintf(url, sizeof url, "http://mirror/m2/com/nvidia/rapids-4-spark_2.13/26.08.1/%s", file);
    assert_string_equal(j[0].url, url);
}

static void test_the_build_an_environment_holds(void **state)
{
    struct fixture *f = *state;
    struct kernel_jar j[KERNEL_JARS_MAX], have;
    /* none there: the default, as kernel_env_jars */
    assert_int_equal(kernel_env_rapids_present(f->m, f->line, f->dir, NULL, &have), 0);
    assert_int_equal(kernel_env_rapids_present(f->m, f->line, NULL, NULL, &have), 0);
    struct kernel_jar plain[KERNEL_JARS_MAX];
    assert_int_equal(kernel_env_jars(f->m, f->line, "gpu", NULL, plain), 1);
    assert_int_equal(kernel_env_jars_in(f->m, f->line, "gpu", NULL, f->dir, j), 1);
    assert_string_equal(j[0].file, plain[0].file);
    /* the CUDA 13 arm64 build there: that one, whatever this machine is */
    touch(f, "rapids-4-spark_2.13-26.08.1-cuda13-arm64.jar");
    assert_int_equal(kernel_env_rapids_present(f->m, f->line, f->dir, NULL, &have), 1);
    assert_string_equal(have.classifier->name, "cuda13-arm64");
    assert_string_equal(have.sha256, have.classifier->sha256);
    assert_int_equal(kernel_env_jars_in(f->m, f->line, "gpu-iceberg", NULL, f->dir, j), 3);
    assert_string_equal(j[0].file, "rapids-4-spark_2.13-26.08.1-cuda13-arm64.jar");
    assert_string_equal(j[1].file, "iceberg-spark-runtime-4.1_2.13-1.11.0.jar"); /* untouched */
    /* the default classifier is looked at first when two are there */
    touch(f, "rapids-4-spark_2.13-26.08.1-cuda12.jar");
    assert_int_equal(kernel_env_rapids_present(f->m, f->line, f->dir, NULL, &have), 1);
    assert_string_equal(have.classifier->name, "cuda12");
    /* a classifier-less file is not one of the matrix's builds */
    char path[512];
    snprintf(path, sizeof path, "%s/rapids-4-spark_2.13-26.08.1-cuda12.jar", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/rapids-4-spark_2.13-26.08.1-cuda13-arm64.jar", f->dir);
    unlink(path);
    touch(f, "rapids-4-spark_2.13-26.08.1.jar");
    assert_int_equal(kernel_env_rapids_present(f->m, f->line, f->dir, NULL, &have), 0);
}

static void test_jars_dir(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(kernel_env_jars_dir("/opt/env/bin/python", buf, sizeof buf), 0);
    assert_string_equal(buf, "/opt/env/share/spark-k8s/jars");
    assert_int_equal(kernel_env_jars_dir("python", buf, sizeof buf), -1);
    assert_int_equal(kernel_env_jars_dir("/opt/env/python", buf, sizeof buf), -1);
    assert_int_equal(kernel_env_jars_dir("/opt/env/bin/python", buf, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_machine_arch),
        cmocka_unit_test(test_default_build),
        cmocka_unit_test(test_jars_of_a_variant),
        cmocka_unit_test(test_the_build_an_environment_holds),
        cmocka_unit_test(test_jars_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
