/* test_kernelspec.c — kernelspecs: kernel.json of every Spark line and variant of the
 * matrix, the refusals (naming the option and value), the embedded logos being real
 * PNGs of their size, atomic install / replace / remove leaving nothing half-written,
 * and the search path Jupyter uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher/plan/kernelspec.h"
#include "launcher/images/matrix.h"
#include "launcher/sys/strv.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static struct matrix *load_matrix(void)
{
    struct error err = {0};
    struct matrix *m = NULL;
    if (matrix_load_default(&m, &err))
        fail_msg("matrix: %s", err.text);
    return m;
}

/* Entries of DIR, "." and ".." aside. */
static size_t count_entries(const char *dir, int hidden_only)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            (!hidden_only || e->d_name[0] == '.'))
            n++;
    closedir(d);
    return n;
}

static void test_build_all(void **state)
{
    (void)state;
    struct matrix *m = load_matrix();
    struct error err = {0};
    for (size_t s = 0; s < m->n_spark; s++) {
        for (size_t v = 0; v < m->n_variants; v++) {
            struct kernelspec_request r = {.spark = m->spark[s].line,
                                           .variant = m->variants[v],
                                           .executable = "/opt/bin/spark-k8s"};
            char *name = NULL;
            json_t *spec = NULL;
            if (kernelspec_build(m, &r, &name, &spec, &err))
                fail_msg("build: %s", err.text);
            char want[128];
            snprintf(want, sizeof want, "spark-%s-%s", m->spark[s].line, m->variants[v]);
            assert_string_equal(name, want);
            json_t *argv = json_object_get(spec, "argv");
            assert_int_equal(json_array_size(argv), 6);
            assert_string_equal(json_string_value(json_array_get(argv, 0)), "/opt/bin/spark-k8s");
            assert_string_equal(json_string_value(json_array_get(argv, 1)), "kernel");
            assert_string_equal(json_string_value(json_array_get(argv, 3)), "{connection_file}");
            assert_string_equal(json_string_value(json_array_get(argv, 5)), "{resource_dir}");
            assert_string_equal(json_string_value(json_object_get(spec, "language")), "python");
            assert_string_equal(json_string_value(json_object_get(spec, "interrupt_mode")),
                                "message");
            const char *display = json_string_value(json_object_get(spec, "display_name"));
            snprintf(want, sizeof want, "Spark %s", m->spark[s].line);
            assert_true(strncmp(display, want, strlen(want)) == 0);
            assert_true((strstr(display, "GPU") != NULL) ==
                        matrix_variant_has(m->variants[v], "gpu"));
            assert_true((strstr(display, "Iceberg") != NULL) ==
                        matrix_variant_has(m->variants[v], "iceberg"));
            json_t *meta = json_object_get(json_object_get(spec, "metadata"), "spark_k8s");
            assert_string_equal(json_string_value(json_object_get(meta, "spark_version")),
                                m->spark[s].version);
            assert_string_equal(json_string_value(json_object_get(meta, "variant")),
                                m->variants[v]);
            assert_string_equal(json_string_value(json_object_get(meta, "runtime")), "local");
            /* executor GPUs follow RAPIDS' mode (none when it only explains): the kernel
             * decides, unless the installer was told a count */
            json_t *res = json_object_get(meta, "resources");
            assert_null(json_object_get(res, "executor_gpus"));
            assert_true((json_object_get(meta, "rapids") != NULL) ==
                        matrix_variant_has(m->variants[v], "gpu"));
            /* a hadoop catalog's warehouse likewise follows the catalog's type */
            assert_null(json_object_get(json_object_get(meta, "iceberg"), "warehouse"));
            assert_true((json_object_get(meta, "iceberg") != NULL) ==
                        matrix_variant_has(m->variants[v], "iceberg"));
            char ref[512];
            matrix_image_ref(m, NULL, "runtime", &m->spark[s], m->variants[v], ref, sizeof ref);
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(meta, "images"), "executor")),
                ref);
            json_t *cmd = json_object_get(meta, "runtime_command");
            assert_string_equal(json_string_value(json_array_get(cmd, 5)),
                                "--IPKernelApp.exec_files={resource_dir}/spark_session.py");
            free(name);
            json_decref(spec);
        }
    }
    matrix_free(m);
}

static void refused(const struct kernelspec_request *r, const char *option, const char *value)
{
    struct matrix *m = load_matrix();
    struct error err = {0};
    char *name = NULL;
    json_t *spec = NULL;
    assert_int_equal(kernelspec_build(m, r, &name, &spec, &err), -1);
    assert_null(name);
    assert_null(spec);
    if (!strstr(err.text, option) || !strstr(err.text, value))
        fail_msg("message '%s' should name %s and %s", err.text, option, value);
    matrix_free(m);
}

/* Building a spec parses no matrix but the one it is given: with SPARK_K8S_MATRIX naming a
 * file that does not exist, a second load (the check of what it writes, the defaults it
 * fills in) would fail the build. */
static void test_build_parses_the_matrix_once(void **state)
{
    (void)state;
    struct matrix *m = load_matrix();
    struct error err = {0};
    setenv("SPARK_K8S_MATRIX", "/nonexistent/spark-k8s-matrix.json", 1);
    struct matrix *again = NULL;
    assert_int_equal(matrix_load_default(&again, &err), -1); /* what a reload would meet */
    assert_null(again);
    struct kernelspec_request r = {.spark = "4.1", .variant = "gpu-iceberg",
                                   .executable = "/opt/bin/spark-k8s"};
    char *name = NULL;
    json_t *spec = NULL;
    int rc = kernelspec_build(m, &r, &name, &spec, &err);
    unsetenv("SPARK_K8S_MATRIX");
    if (rc)
        fail_msg("kernelspec_build loaded the matrix again: %s", err.text);
    assert_string_equal(name, "spark-4.1-gpu-iceberg");
    free(name);
    json_decref(spec);
    matrix_free(m);
}

static void test_refusals(void **state)
{
    (void)state;
    struct kernelspec_request r = {.spark = "4.1", .variant = "gpu", .executable = "/x/spark-k8s"};
    struct kernelspec_request bad = r;
    bad.variant = "tpu";
    refused(&bad, "--variant", "'tpu'");
    bad = r;
    bad.spark = "2.4";
    refused(&bad, "--spark", "'2.4'");
    bad = r;
    bad.values[SETTING_EXECUTOR_MEMORY] = "4gb";
    refused(&bad, "--executor-memory", "'4gb'");
    bad = r;
    bad.values[SETTING_EXECUTOR_IMAGE] = "my registry/spark:1";
    refused(&bad, "--executor-image", "'my registry/spark:1'");
    bad = r;
    bad.values[SETTING_RUNTIME] = "yarn";
    refused(&bad, "--runtime", "'yarn'");
    bad = r;
    bad.values[SETTING_EXECUTOR_GPUS] = "2";
    refused(&bad, "executor_gpus", "'2'");
    bad = r;
    bad.name = "Spark 4";
    refused(&bad, "--name", "'Spark 4'");
    bad = r;
    bad.registry = "reg istry";
    refused(&bad, "--registry", "'reg istry'");
    bad = r;
    bad.values[SETTING_ICEBERG_TYPE] = "rest";
    refused(&bad, "--iceberg-type", "iceberg variant");
    bad = r; /* Iceberg's S3FileIO reads these: an iceberg kernel's */
    bad.values[SETTING_S3_ENDPOINT] = "http://minio:9000";
    refused(&bad, "--s3-endpoint", "iceberg variant");
    bad.values[SETTING_S3_ENDPOINT] = "minio:9000";
    refused(&bad, "--s3-endpoint", "'minio:9000'");
    bad = r;
    bad.variant = "iceberg";
    bad.values[SETTING_RAPIDS_MODE] = "explainOnly";
    refused(&bad, "--rapids-mode", "gpu variant");
    bad = r;
    bad.values[SETTING_RAPIDS_MODE] = "explainOnly";
    bad.values[SETTING_EXECUTOR_GPUS] = "1";
    refused(&bad, "executor_gpus", "explainOnly");
    bad = r; /* defect 6: a hadoop catalog where the kernels have no file system */
    bad.variant = "iceberg";
    bad.values[SETTING_ICEBERG_WAREHOUSE] = "s3a://lake/wh";
    refused(&bad, "iceberg.warehouse", "hadoop-aws");
    const char *conf_newline[] = {"spark.a=x\nspark.master=yarn"};
    bad = r;
    bad.conf = conf_newline;
    bad.n_conf = 1;
    refused(&bad, "--conf", "spark.a");
    const char *conf_reserved[] = {"spark.master=yarn"};
    bad.conf = conf_reserved;
    refused(&bad, "--conf", "spark.master");
    const char *conf_no_eq[] = {"spark.x"};
    bad.conf = conf_no_eq;
    refused(&bad, "--conf", "'spark.x'");
}

/* A PNG: the signature, then IHDR with WIDTH x HEIGHT. */
static void assert_png(const unsigned char *p, size_t n, unsigned size)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    assert_true(n > 33);
    assert_memory_equal(p, sig, 8);
    assert_memory_equal(p + 12, "IHDR", 4);
    unsigned w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    unsigned h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
    assert_int_equal(w, size);
    assert_int_equal(h, size);
    assert_memory_equal(p + n - 8, "IEND", 4);
}

static void test_embedded_files(void **state)
{
    (void)state;
    const unsigned char *data;
    size_t size;
    int seen = 0;
    const char *name;
    for (size_t i = 0; (name = kernelspec_file(i, &data, &size)); i++) {
        assert_true(size > 0);
        if (strcmp(name, "logo-32x32.png") == 0)
            assert_png(data, size, 32), seen |= 1;
        else if (strcmp(name, "logo-64x64.png") == 0)
            assert_png(data, size, 64), seen |= 2;
        else if (strcmp(name, "logo-svg.svg") == 0)
            assert_non_null(strstr((const char *)data, "<svg")), seen |= 4;
        else if (strcmp(name, "spark_session.py") == 0)
            assert_non_null(strstr((const char *)data, "import spark_k8s_session")), seen |= 8;
        else if (strcmp(name, "spark_k8s_session/interrupts.py") == 0)
            assert_non_null(strstr((const char *)data, "cancelAllJobs")), seen |= 16;
    }
    assert_int_equal(seen, 31);
}

/* A temporary kernels folder and one kernelspec built from the matrix, to install there. */
struct spec_dir {
    char root[32];     /* removed whole by spec_dir_free */
    char kernels[128]; /* ROOT/share/jupyter/kernels, made by the first install */
    struct matrix *m;
    char *name;
    json_t *spec;
};

static void spec_dir_make(struct spec_dir *d, const char *spark, const char *variant)
{
    struct error err = {0};
    snprintf(d->root, sizeof d->root, "/tmp/test-kernelspec-XXXXXX");
    assert_non_null(mkdtemp(d->root));
    snprintf(d->kernels, sizeof d->kernels, "%s/share/jupyter/kernels", d->root);
    d->m = load_matrix();
    struct kernelspec_request r = {.spark = spark, .variant = variant, .executable = "/x/sk"};
    d->name = NULL;
    d->spec = NULL;
    if (kernelspec_build(d->m, &r, &d->name, &d->spec, &err))
        fail_msg("kernelspec_build: %s", err.text);
}

static void spec_dir_free(struct spec_dir *d)
{
    free(d->name);
    json_decref(d->spec);
    matrix_free(d->m);
    assert_int_equal(nftw(d->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

static void test_install_replace_remove(void **state)
{
    (void)state;
    struct error err = {0};
    char path[256];
    struct spec_dir d;
    spec_dir_make(&d, "3.5", "iceberg");
    const char *kernels = d.kernels, *name = d.name;
    json_t *spec = d.spec;
    assert_int_equal(kernelspec_install(kernels, name, spec, 0, &err), 0);
    const char *files[] = {"kernel.json", "logo-svg.svg", "logo-32x32.png", "logo-64x64.png",
                           "spark_session.py", "spark_k8s_session/__init__.py"};
    struct stat st;
    for (size_t i = 0; i < 6; i++) {
        snprintf(path, sizeof path, "%s/%s/%s", kernels, name, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
    }
    snprintf(path, sizeof path, "%s/%s/spark_k8s_session", kernels, name);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0755);
    snprintf(path, sizeof path, "%s/%s", kernels, name);
    assert_true(kernelspec_is_ours(path));
    /* a second install without replace is refused and changes nothing */
    assert_int_equal(kernelspec_install(kernels, name, spec, 0, &err), -1);
    assert_non_null(strstr(err.text, "--replace"));
    assert_int_equal(count_entries(kernels, 0), 1);
    /* replace swaps in the new spec */
    json_object_set_new(spec, "display_name", json_string("Replaced"));
    assert_int_equal(kernelspec_install(kernels, name, spec, 1, &err), 0);
    snprintf(path, sizeof path, "%s/%s/kernel.json", kernels, name);
    json_t *back = json_load_file(path, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(back, "display_name")), "Replaced");
    json_decref(back);
    assert_int_equal(count_entries(kernels, 0), 1);
    assert_int_equal(count_entries(kernels, 1), 0); /* no temporary folder left */
    /* a failing install (target folder unwritable) leaves nothing behind */
    assert_int_equal(kernelspec_install("/proc/no-such/kernels", name, spec, 0, &err),
                     -1);
    /* remove: refuses a foreign kernelspec, removes ours */
    snprintf(path, sizeof path, "%s/python3", kernels);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/python3/kernel.json", kernels);
    FILE *f = fopen(path, "w");
    fputs("{\"argv\": [\"python3\"], \"display_name\": \"Python 3\", \"language\": \"python\"}", f);
    fclose(f);
    assert_int_equal(kernelspec_remove(kernels, "python3", &err), -1);
    assert_non_null(strstr(err.text, "not a spark-k8s kernelspec"));
    assert_int_equal(kernelspec_remove(kernels, name, &err), 0);
    assert_int_equal(kernelspec_remove(kernels, name, &err), 1);
    assert_int_equal(count_entries(kernels, 0), 1); /* python3 only */
    spec_dir_free(&d);
}

/* A file system without RENAME_EXCHANGE (renameat2 refuses the flag with EINVAL, as
 * some do): the test's own renameat2 stands in for libc's, the system call itself but
 * while NO_EXCHANGE is set. */
static int no_exchange;

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    if (no_exchange && (flags & RENAME_EXCHANGE)) {
        errno = EINVAL;
        return -1;
    }
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

/* --replace where the exchange is refused: the install moves the old entry aside and
 * the new spec in, over an old spec's folder and over a file alike, and leaves no
 * temporary name behind. */
static void test_replace_without_rename_exchange(void **state)
{
    (void)state;
    struct error err = {0};
    char path[256];
    struct spec_dir d;
    spec_dir_make(&d, "4.1", "gpu");
    const char *kernels = d.kernels, *name = d.name;
    json_t *spec = d.spec;
    no_exchange = 1;
    assert_int_equal(kernelspec_install(kernels, name, spec, 0, &err), 0);
    assert_int_equal(kernelspec_install(kernels, name, spec, 1, &err), 0); /* over a folder */
    assert_int_equal(count_entries(kernels, 0), 1);
    assert_int_equal(count_entries(kernels, 1), 0);
    assert_int_equal(kernelspec_remove(kernels, name, &err), 0);
    snprintf(path, sizeof path, "%s/%s", kernels, name);
    FILE *f = fopen(path, "w"); /* a file where the folder would go */
    assert_non_null(f);
    fputs("not a kernelspec", f);
    fclose(f);
    if (kernelspec_install(kernels, name, spec, 1, &err) != 0)
        fail_msg("--replace over a file: %s", err.text);
    no_exchange = 0;
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_true(kernelspec_is_ours(path));
    assert_int_equal(count_entries(kernels, 0), 1);
    assert_int_equal(count_entries(kernels, 1), 0); /* no temporary folder or file left */
    spec_dir_free(&d);
}

static void test_search_path(void **state)
{
    (void)state;
    setenv("JUPYTER_PATH", "/a/share/jupyter:/b/", 1);
    setenv("JUPYTER_DATA_DIR", "/home/u/data", 1);
    char **dirs = kernelspec_search_path();
    assert_non_null(dirs);
    assert_string_equal(dirs[0], "/a/share/jupyter/kernels");
    assert_string_equal(dirs[1], "/b/kernels");
    assert_string_equal(dirs[2], "/home/u/data/kernels");
    assert_string_equal(dirs[3], "/usr/local/share/jupyter/kernels");
    assert_string_equal(dirs[4], "/usr/share/jupyter/kernels");
    assert_null(dirs[5]);
    strv_free(dirs);
    unsetenv("JUPYTER_DATA_DIR");
    setenv("XDG_DATA_HOME", "/x", 1);
    char buf[256];
    assert_int_equal(kernelspec_user_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/x/jupyter/kernels");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/v", 1);
    assert_int_equal(kernelspec_user_dir(buf, sizeof buf), 0);
    assert_string_equal(buf, "/home/v/.local/share/jupyter/kernels");
    unsetenv("JUPYTER_PATH");
    struct error err = {0};
    char *dir = NULL;
    assert_int_equal(kernelspec_find("no-such-kernel-xyz", &dir, &err), -1);
    assert_non_null(strstr(err.text, "no-such-kernel-xyz"));
    assert_non_null(strstr(err.text, "/usr/share/jupyter/kernels"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_all),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_build_parses_the_matrix_once),
        cmocka_unit_test(test_embedded_files),
        cmocka_unit_test(test_install_replace_remove),
        cmocka_unit_test(test_replace_without_rename_exchange),
        cmocka_unit_test(test_search_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
