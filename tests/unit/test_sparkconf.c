/* test_sparkconf.c — Spark properties: key and value checks, order and provenance,
 * the spark-defaults.conf writer (mode, escaping, refusals), and rendering plans of
 * every variant for the local runtime and for Kubernetes client mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_keys_and_values(void **state)
{
    (void)state;
    struct error err = {0};
    assert_int_equal(sparkconf_check_key("spark.sql.catalog.ice.type", "t", &err), 0);
    assert_int_equal(sparkconf_check_key("spark.executor.resource.gpu.amount", "t", &err), 0);
    const char *bad_keys[] = {"", "spark.", "sql.shuffle", "spark.a b", "spark.a=b",
                              "spark.a\nspark.master", "spark.a:b", "spark.a\\b"};
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        err.text[0] = '\0';
        assert_int_equal(sparkconf_check_key(bad_keys[i], "origin-x", &err), -1);
        assert_non_null(strstr(err.text, "origin-x"));
    }
    assert_int_equal(sparkconf_check_value("spark.k", "a=b:c \\d", "t", &err), 0);
    const char *bad_values[] = {"a\nspark.master=x", "a\rb", "tab\there", "nul\x7f"};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        assert_int_equal(sparkconf_check_value("spark.k", bad_values[i], "origin-y", &err), -1);
        assert_non_null(strstr(err.text, "spark.k"));
        assert_non_null(strstr(err.text, "origin-y"));
    }
    assert_true(sparkconf_reserved("spark.master"));
    assert_true(sparkconf_reserved("spark.driver.host"));
    assert_false(sparkconf_reserved("spark.executor.memory"));
}

static void test_order_and_provenance(void **state)
{
    (void)state;
    struct error err = {0};
    struct sparkconf *c = sparkconf_new();
    assert_non_null(c);
    assert_int_equal(sparkconf_set(c, "spark.a", "1", "first", &err), 0);
    assert_int_equal(sparkconf_set(c, "spark.b", "2", "second", &err), 0);
    assert_int_equal(sparkconf_set(c, "spark.a", "3", "third", &err), 0);
    assert_int_equal(sparkconf_count(c), 2);
    assert_string_equal(sparkconf_key(c, 0), "spark.a");
    assert_string_equal(sparkconf_value(c, 0), "3");
    assert_string_equal(sparkconf_source(c, 0), "third");
    assert_string_equal(sparkconf_get(c, "spark.b"), "2");
    assert_null(sparkconf_get(c, "spark.c"));
    assert_int_equal(sparkconf_set(c, "spark.c", "x\ny", "bad", &err), -1);
    assert_int_equal(sparkconf_count(c), 2);
    sparkconf_free(c);
}

static void test_write(void **state)
{
    (void)state;
    struct error err = {0};
    char dir[] = "/tmp/test-sparkconf-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    struct sparkconf *c = sparkconf_new();
    assert_int_equal(sparkconf_set(c, "spark.master", "local[*]", "s", &err), 0);
    assert_int_equal(sparkconf_set(c, "spark.x", "C:\\dir", "s", &err), 0);
    assert_int_equal(sparkconf_set(c, "spark.y", "=starts", "s", &err), 0);
    assert_int_equal(sparkconf_write(c, dir, "header", &err), 0);
    snprintf(path, sizeof path, "%s/spark-defaults.conf", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* java.util.Properties reads "\\\\" as one backslash and "\\=" as '=' */
    assert_string_equal(read_all(path), "# header\nspark.master local[*]\nspark.x C:\\\\dir\n"
                                        "spark.y \\=starts\n");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(sparkconf_write(c, "/nonexistent-dir", NULL, &err), -1);
    assert_non_null(strstr(err.text, "/nonexistent-dir"));
    sparkconf_free(c);
    assert_int_equal(rmdir(dir), 0); /* nothing else was left behind */
}

static struct plan *plan_of(const char *spark, const char *variant, const char *extra_meta)
{
    struct error err = {0};
    char text[2048];
    snprintf(text, sizeof text,
             "{\"display_name\": \"t\", \"metadata\": {\"spark_k8s\": {\"spark_version\": \"%s\","
             " \"variant\": \"%s\"%s}}}", spark, variant, extra_meta);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    assert_non_null(root);
    struct plan *p = NULL;
    if (plan_from_json(root, "/x/spark-test", "/x/spark-test/kernel.json", PLAN_NO_ADMIN, &p,
                       &err))
        fail_msg("plan: %s", err.text);
    json_decref(root);
    return p;
}

static void test_render_local_all_variants(void **state)
{
    (void)state;
    struct error err = {0};
    struct matrix *m = NULL;
    assert_int_equal(matrix_load_default(&m, &err), 0);
    for (size_t s = 0; s < m->n_spark; s++) {
        for (size_t v = 0; v < m->n_variants; v++) {
            const char *variant = m->variants[v];
            struct plan *p = plan_of(m->spark[s].line, variant, "");
            assert_string_equal(plan_spark_version(p), m->spark[s].version);
            struct sparkconf *c = NULL;
            assert_int_equal(render_spark_conf(p, NULL, NULL, &c, &err), 0);
            assert_string_equal(sparkconf_get(c, "spark.master"), "local[*]");
            assert_string_equal(sparkconf_get(c, "spark.driver.memory"), "2g");
            int gpu = matrix_variant_has(variant, "gpu");
            int ice = matrix_variant_has(variant, "iceberg");
            const char *plugins = sparkconf_get(c, "spark.plugins");
            if (gpu)
                assert_string_equal(plugins, "com.nvidia.spark.SQLPlugin");
            else
                assert_null(plugins);
            /* local mode: no GPU scheduling, RAPIDS asks for none */
            assert_null(sparkconf_get(c, "spark.executor.resource.gpu.amount"));
            assert_null(sparkconf_get(c, "spark.task.resource.gpu.amount"));
            assert_null(sparkconf_get(c, "spark.dynamicAllocation.enabled"));
            if (ice) {
                assert_string_equal(sparkconf_get(c, "spark.sql.extensions"),
                                    "org.apache.iceberg.spark.extensions."
                                    "IcebergSparkSessionExtensions");
                assert_string_equal(sparkconf_get(c, "spark.sql.catalog.iceberg"),
                                    "org.apache.iceberg.spark.SparkCatalog");
                assert_string_equal(sparkconf_get(c, "spark.sql.catalog.iceberg.type"),
                                    "hadoop");
            } else {
                assert_null(sparkconf_get(c, "spark.sql.extensions"));
                assert_null(sparkconf_get(c, "spark.sql.catalog.iceberg"));
            }
            for (size_t i = 0; i < sparkconf_count(c); i++)
                assert_true(sparkconf_source(c, i)[0] != '\0');
            sparkconf_free(c);
            plan_free(p);
        }
    }
    matrix_free(m);
}

static void test_render_kubernetes(void **state)
{
    (void)state;
    struct error err = {0};
    struct plan *p = plan_of("4.1", "gpu-iceberg",
                             ", \"resources\": {\"executor_cores\": 3, \"executor_memory\": "
                             "\"6g\", \"executor_instances\": 5}, \"iceberg\": {\"name\": "
                             "\"lake\", \"type\": \"rest\", \"uri\": \"http://cat:8181\", "
                             "\"warehouse\": \"s3a://b/w\"}, \"spark_conf\": "
                             "{\"spark.sql.shuffle.partitions\": \"64\"}");
    struct render_pod pod = {"10.96.0.1:443", "team", "kernel-abc", "kernel-abc.team.svc",
                                "10.1.2.3"};
    struct sparkconf *c = NULL;
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    static const char *const want[][2] = {
        {"spark.master", "k8s://https://10.96.0.1:443"},
        {"spark.submit.deployMode", "client"},
        {"spark.kubernetes.namespace", "team"},
        {"spark.kubernetes.driver.pod.name", "kernel-abc"},
        {"spark.driver.host", "kernel-abc.team.svc"},
        {"spark.driver.bindAddress", "10.1.2.3"},
        {"spark.driver.port", "7078"},
        {"spark.blockManager.port", "7079"},
        {"spark.executor.cores", "3"},
        {"spark.executor.memory", "6g"},
        {"spark.executor.instances", "5"},
        {"spark.dynamicAllocation.enabled", "true"},
        {"spark.dynamicAllocation.shuffleTracking.enabled", "true"},
        {"spark.plugins", "com.nvidia.spark.SQLPlugin"},
        {"spark.executor.resource.gpu.amount", "1"},
        {"spark.executor.resource.gpu.vendor", "nvidia.com"},
        {"spark.executor.resource.gpu.discoveryScript", "/usr/local/bin/spark-k8s-gpu-discovery"},
        {"spark.task.resource.gpu.amount", "0.333333"},
        {"spark.sql.catalog.lake", "org.apache.iceberg.spark.SparkCatalog"},
        {"spark.sql.catalog.lake.type", "rest"},
        {"spark.sql.catalog.lake.uri", "http://cat:8181"},
        {"spark.sql.catalog.lake.warehouse", "s3a://b/w"},
        {"spark.sql.shuffle.partitions", "64"},
        /* the cap: the initial 5 when nobody set one (the default 4 would refuse them) */
        {"spark.dynamicAllocation.maxExecutors", "5"},
        /* idle executors go even when they hold shuffle files */
        {"spark.dynamicAllocation.shuffleTracking.timeout", "600s"},
        /* RAPIDS' pinned pool is off-heap: the pod's overhead holds it (1024 + 614 MiB) */
        {"spark.rapids.memory.pinnedPool.size", "1024m"},
        {"spark.executor.memoryOverhead", "1638m"},
        /* Spark's own warehouse never on the driver's read-only root, and not on s3a://
         * (Spark qualifies it through Hadoop at start: no hadoop-aws in the images) */
        {"spark.sql.warehouse.dir", "/tmp/spark-warehouse"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = sparkconf_get(c, want[i][0]);
        if (!got || strcmp(got, want[i][1]) != 0)
            fail_msg("%s: got %s, want %s", want[i][0], got ? got : "(unset)", want[i][1]);
    }
    const char *image = sparkconf_get(c, "spark.kubernetes.container.image");
    assert_non_null(image);
    assert_non_null(strstr(image, "spark-k8s-runtime:"));
    assert_non_null(strstr(image, "gpu-iceberg"));
    /* the executor-memory property carries its setting's source */
    for (size_t i = 0; i < sparkconf_count(c); i++)
        if (strcmp(sparkconf_key(c, i), "spark.executor.memory") == 0)
            assert_non_null(strstr(sparkconf_source(c, i), "resources.executor_memory"));
    sparkconf_free(c);
    plan_free(p);

    /* one core per executor: the task takes the whole GPU */
    p = plan_of("3.5", "gpu", ", \"resources\": {\"executor_cores\": 1}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.task.resource.gpu.amount"), "1");
    assert_null(sparkconf_get(c, "spark.sql.extensions"));
    sparkconf_free(c);
    plan_free(p);
    p = plan_of("3.5", "gpu", ", \"resources\": {\"executor_cores\": 8, \"executor_memory\": \"2g\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.task.resource.gpu.amount"), "0.125");
    /* small executors: Spark's own overhead floor, 384 MiB, plus the pinned pool */
    assert_string_equal(sparkconf_get(c, "spark.executor.memoryOverhead"), "1408m");
    sparkconf_free(c);
    plan_free(p);

    /* an Iceberg warehouse on HDFS (whose client Spark carries) holds Spark's too */
    p = plan_of("4.1", "iceberg", ", \"iceberg\": {\"warehouse\": \"hdfs://nn:8020/w/\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.warehouse.dir"), "hdfs://nn:8020/w/spark-warehouse");
    sparkconf_free(c);
    plan_free(p);

    /* baseline: the default cap, Spark's warehouse in the pod's /tmp, no RAPIDS */
    p = plan_of("4.1", "baseline", ", \"resources\": {\"executor_memory\": \"512m\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.dynamicAllocation.maxExecutors"), "4");
    assert_string_equal(sparkconf_get(c, "spark.sql.warehouse.dir"), "/tmp/spark-warehouse");
    assert_null(sparkconf_get(c, "spark.executor.memoryOverhead"));
    assert_null(sparkconf_get(c, "spark.rapids.memory.pinnedPool.size"));
    sparkconf_free(c);
    plan_free(p);

    /* an s3:// Iceberg warehouse (of a REST catalog: a hadoop one cannot keep its tables
     * there) is read by Iceberg's own S3 client */
    p = plan_of("4.1", "iceberg", ", \"iceberg\": {\"type\": \"rest\", \"uri\": \"http://c\", "
                "\"warehouse\": \"s3://lake/wh\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.iceberg.io-impl"),
                        "org.apache.iceberg.aws.s3.S3FileIO");
    sparkconf_free(c);
    plan_free(p);
    /* s3a:// too: Hadoop's S3A needs hadoop-aws, which the images do not carry */
    p = plan_of("4.1", "iceberg", ", \"iceberg\": {\"type\": \"rest\", \"uri\": \"http://c\", "
                "\"warehouse\": \"s3a://lake/wh\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.iceberg.io-impl"),
                        "org.apache.iceberg.aws.s3.S3FileIO");
    sparkconf_free(c);
    plan_free(p);
    p = plan_of("4.1", "iceberg", ", \"iceberg\": {\"warehouse\": \"hdfs://nn/wh\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.sql.catalog.iceberg.io-impl")); /* HDFS: Hadoop's */
    sparkconf_free(c);
    plan_free(p);
}

/* Defect 1: the variant's jars are on the driver's class path, read by spark-submit
 * before the JVM starts: locally the files found in the kernel environment (a missing
 * one turns its feature off), in a pod the image's folder; never spark.jars (which
 * would have every executor download them again). An extra class path of the
 * kernelspec comes after them. */
static void test_render_driver_class_path(void **state)
{
    (void)state;
    struct error err = {0};
    char dir[] = "/tmp/test-jars-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    struct matrix *m = NULL;
    assert_int_equal(matrix_load_default(&m, &err), 0);
    const struct matrix_spark *line = matrix_spark_find(m, "4.1");
    struct kernel_jar jars[KERNEL_JARS_MAX];
    size_t n = kernel_env_jars(m, line, "gpu-iceberg", NULL, jars);
    assert_true(n >= 2);
    struct render_env env = {.jars_dir = dir};
    struct render_pod pod = {"10.96.0.1:443", "team", "k", "k.team.svc", "10.1.2.3"};

    /* no jar there: neither feature, and nothing on the class path */
    struct plan *p = plan_of("4.1", "gpu-iceberg", "");
    struct sparkconf *c = NULL;
    assert_int_equal(render_spark_conf(p, NULL, &env, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.driver.extraClassPath"));
    assert_null(sparkconf_get(c, "spark.plugins"));
    assert_null(sparkconf_get(c, "spark.sql.extensions"));
    sparkconf_free(c);

    char want[4096] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, jars[i].file);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? ":" : "", path);
    }
    assert_int_equal(render_spark_conf(p, NULL, &env, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.driver.extraClassPath"), want);
    assert_null(sparkconf_get(c, "spark.jars"));
    assert_string_equal(sparkconf_get(c, "spark.plugins"), "com.nvidia.spark.SQLPlugin");
    assert_non_null(sparkconf_get(c, "spark.sql.extensions"));
    sparkconf_free(c);
    plan_free(p);

    /* the kernelspec's own class path follows */
    p = plan_of("4.1", "iceberg", ", \"spark_conf\": {\"spark.driver.extraClassPath\": \"/opt/x.jar\"}");
    assert_int_equal(render_spark_conf(p, NULL, &env, &c, &err), 0);
    const char *cp = sparkconf_get(c, "spark.driver.extraClassPath");
    assert_non_null(cp);
    assert_non_null(strstr(cp, ":/opt/x.jar"));
    assert_null(strstr(cp, "rapids")); /* an iceberg kernel has no RAPIDS */
    sparkconf_free(c);
    plan_free(p);

    /* a baseline kernel has none of them */
    p = plan_of("4.1", "baseline", "");
    assert_int_equal(render_spark_conf(p, NULL, &env, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.driver.extraClassPath"));
    sparkconf_free(c);
    plan_free(p);

    /* in a pod: the image's folder, which holds exactly the variant's jars */
    struct render_env image = {.image_jars_dir = "/usr/local/lib/spark-k8s/envs/spark-4.1/share/spark-k8s/jars"};
    p = plan_of("4.1", "iceberg", "");
    assert_int_equal(render_spark_conf(p, &pod, &image, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.driver.extraClassPath"),
                        "/usr/local/lib/spark-k8s/envs/spark-4.1/share/spark-k8s/jars/*");
    assert_null(sparkconf_get(c, "spark.jars"));
    assert_null(sparkconf_get(c, "spark.executor.extraClassPath")); /* the image's entrypoint */
    sparkconf_free(c);
    plan_free(p);
    p = plan_of("4.1", "baseline", "");
    assert_int_equal(render_spark_conf(p, &pod, &image, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.driver.extraClassPath"));
    sparkconf_free(c);
    plan_free(p);

    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, jars[i].file);
        unlink(path);
    }
    assert_int_equal(rmdir(dir), 0);
    matrix_free(m);
}

/* RAPIDS' explain-only mode: the plugin plans, nothing asks for a GPU (no resource,
 * no discovery script, no pinned pool), on either runtime. */
static void test_render_explain_only(void **state)
{
    (void)state;
    struct error err = {0};
    struct render_pod pod = {"10.96.0.1:443", "team", "k", "k.team.svc", "10.1.2.3"};
    struct plan *p = plan_of("3.5", "gpu-iceberg", ", \"rapids\": {\"mode\": \"explainOnly\"}, "
                             "\"iceberg\": {\"warehouse\": \"hdfs://nn/wh\"}");
    for (int k8s = 0; k8s < 2; k8s++) {
        struct sparkconf *c = NULL;
        assert_int_equal(render_spark_conf(p, k8s ? &pod : NULL, NULL, &c, &err), 0);
        assert_string_equal(sparkconf_get(c, "spark.plugins"), "com.nvidia.spark.SQLPlugin");
        assert_string_equal(sparkconf_get(c, "spark.rapids.sql.mode"), "explainOnly");
        assert_null(sparkconf_get(c, "spark.executor.resource.gpu.amount"));
        assert_null(sparkconf_get(c, "spark.task.resource.gpu.amount"));
        assert_null(sparkconf_get(c, "spark.executor.resource.gpu.discoveryScript"));
        assert_null(sparkconf_get(c, "spark.rapids.memory.pinnedPool.size"));
        /* RAPIDS 25.04's executor plugin looks for a GPU at its start unless told not to */
        assert_string_equal(sparkconf_get(c, "spark.rapids.skipGpuArchitectureCheck"), "true");
        assert_string_equal(sparkconf_get(c, "spark.driver.extraJavaOptions"),
                            RENDER_RAPIDS_LAZY_GPU_INIT);
        if (k8s)
            assert_string_equal(sparkconf_get(c, "spark.executor.extraJavaOptions"),
                                RENDER_RAPIDS_LAZY_GPU_INIT);
        else
            assert_null(sparkconf_get(c, "spark.executor.extraJavaOptions"));
        sparkconf_free(c);
    }
    plan_free(p);
    /* the kernelspec's own JVM options come after ours */
    p = plan_of("4.1", "gpu", ", \"rapids\": {\"mode\": \"explainOnly\"}, \"spark_conf\": "
                "{\"spark.driver.extraJavaOptions\": \"-Dx=1\"}");
    struct sparkconf *c = NULL;
    assert_int_equal(render_spark_conf(p, NULL, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.driver.extraJavaOptions"),
                        RENDER_RAPIDS_LAZY_GPU_INIT " -Dx=1");
    sparkconf_free(c);
    plan_free(p);
    p = plan_of("3.5", "gpu", "");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.rapids.sql.mode")); /* RAPIDS' default: on the GPU */
    assert_null(sparkconf_get(c, "spark.driver.extraJavaOptions"));
    assert_string_equal(sparkconf_get(c, "spark.executor.resource.gpu.amount"), "1");
    sparkconf_free(c);
    plan_free(p);
}

/* S3FileIO's endpoint, region and path style become catalog properties (endpoint
 * implies S3FileIO); credentials never appear among the properties. */
static void test_render_s3(void **state)
{
    (void)state;
    struct error err = {0};
    struct plan *p = plan_of("4.1", "iceberg", ", \"iceberg\": {\"name\": \"lake\", \"type\": "
                             "\"rest\", \"uri\": \"http://c:8181\"}, \"s3\": {\"endpoint\": "
                             "\"http://minio:9000\", \"region\": \"eu-west-1\", "
                             "\"path_style_access\": true, \"credentials_secret\": \"s3-keys\"}");
    struct sparkconf *c = NULL;
    assert_int_equal(render_spark_conf(p, NULL, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.lake.io-impl"),
                        "org.apache.iceberg.aws.s3.S3FileIO");
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.lake.s3.endpoint"), "http://minio:9000");
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.lake.client.region"), "eu-west-1");
    assert_string_equal(sparkconf_get(c, "spark.sql.catalog.lake.s3.path-style-access"), "true");
    assert_null(sparkconf_get(c, "spark.sql.catalog.lake.warehouse"));
    for (size_t i = 0; i < sparkconf_count(c); i++)
        assert_null(strstr(sparkconf_value(c, i), "s3-keys")); /* the pods' env, not Spark's */
    sparkconf_free(c);
    plan_free(p);
}

/* Defect 2: Spark's warehouse on Kubernetes: the kernelspec's, mounted by every
 * executor from its claim; else the pod's /tmp with managed tables refused by the
 * session (sharedWarehouse false). Locally: Spark's own default unless given. */
static void test_render_spark_warehouse(void **state)
{
    (void)state;
    struct error err = {0};
    struct render_pod pod = {"10.96.0.1:443", "team", "k", "k.team.svc", "10.1.2.3"};
    struct plan *p = plan_of("4.1", "baseline", ", \"runtime\": \"kubernetes\", "
                             "\"spark_warehouse\": {\"dir\": \"file:///mnt/wh\", \"claim\": \"lake\"}");
    struct sparkconf *c = NULL;
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.warehouse.dir"), "file:///mnt/wh");
    static const char vol[] = "spark.kubernetes.executor.volumes.persistentVolumeClaim.spark-warehouse.";
    char key[256];
    snprintf(key, sizeof key, "%soptions.claimName", vol);
    assert_string_equal(sparkconf_get(c, key), "lake");
    snprintf(key, sizeof key, "%smount.path", vol);
    assert_string_equal(sparkconf_get(c, key), "/mnt/wh");
    snprintf(key, sizeof key, "%smount.readOnly", vol);
    assert_string_equal(sparkconf_get(c, key), "false");
    assert_null(sparkconf_get(c, RENDER_SHARED_WAREHOUSE));
    sparkconf_free(c);
    plan_free(p);

    p = plan_of("4.1", "baseline", ", \"runtime\": \"kubernetes\", \"spark_warehouse\": "
                "{\"dir\": \"hdfs://nn/sw\"}");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.warehouse.dir"), "hdfs://nn/sw");
    snprintf(key, sizeof key, "%soptions.claimName", vol);
    assert_null(sparkconf_get(c, key));
    sparkconf_free(c);
    plan_free(p);

    p = plan_of("3.5", "baseline", "");
    assert_int_equal(render_spark_conf(p, &pod, NULL, &c, &err), 0);
    assert_string_equal(sparkconf_get(c, "spark.sql.warehouse.dir"), RENDER_POD_WAREHOUSE);
    assert_string_equal(sparkconf_get(c, RENDER_SHARED_WAREHOUSE), "false");
    sparkconf_free(c);
    assert_int_equal(render_spark_conf(p, NULL, NULL, &c, &err), 0);
    assert_null(sparkconf_get(c, "spark.sql.warehouse.dir"));
    assert_null(sparkconf_get(c, RENDER_SHARED_WAREHOUSE));
    sparkconf_free(c);
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_and_values),
        cmocka_unit_test(test_order_and_provenance),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_render_local_all_variants),
        cmocka_unit_test(test_render_kubernetes),
        cmocka_unit_test(test_render_driver_class_path),
        cmocka_unit_test(test_render_explain_only),
        cmocka_unit_test(test_render_s3),
        cmocka_unit_test(test_render_spark_warehouse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
