/* test_plan.c — the launch plan: kernelspec metadata, the admin config file and
 * SPARK_K8S_* variables in their order of precedence, the sources each value
 * reports, and the refusals (each naming file or variable, field and value). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/plan/config.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"

struct fixture {
    char dir[64];      /* a kernelspec folder */
    char spec[128];    /* its kernel.json */
    char config[128];  /* an admin config file */
};

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void clear_env(void)
{
    for (int id = 0; id < SETTING_COUNT; id++)
        unsetenv(setting_info(id)->env);
    unsetenv(CONFIG_SPARK_CONF_ENV);
    unsetenv(CONFIG_PATH_ENV);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-plan-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->spec, sizeof f->spec, "%s/kernel.json", f->dir);
    snprintf(f->config, sizeof f->config, "%s/config.json", f->dir);
    write_text(f->spec,
               "{\"argv\": [\"x\"], \"display_name\": \"Spark · Iceberg\", \"language\": "
               "\"python\", \"metadata\": {\"spark_k8s\": {\"spark_version\": \"3.5\", "
               "\"variant\": \"iceberg\", \"runtime\": \"local\", \"resources\": "
               "{\"executor_memory\": \"5g\", \"driver_memory\": \"3g\"}, \"spark_conf\": "
               "{\"spark.sql.shuffle.partitions\": \"10\"}, \"runtime_command\": "
               "[\"python3\", \"-f\", \"{connection_file}\"]}}}");
    write_text(f->config, "{}");
    clear_env();
    setenv(CONFIG_PATH_ENV, f->config, 1); /* never the machine's /etc/spark-k8s */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[160];
    unlink(f->spec);
    unlink(f->config);
    snprintf(path, sizeof path, "%s/spark-defaults.conf", f->dir);
    unlink(path);
    rmdir(f->dir);
    clear_env();
    free(f);
    return 0;
}

static struct plan *load_ok(const struct fixture *f)
{
    struct error err = {0};
    struct plan *p = NULL;
    if (plan_load(f->dir, &p, &err))
        fail_msg("plan_load: %s", err.text);
    return p;
}

static void load_fails(const struct fixture *f, const char *const *needles)
{
    struct error err = {0};
    struct plan *p = NULL;
    assert_int_equal(plan_load(f->dir, &p, &err), -1);
    assert_null(p);
    for (; *needles; needles++)
        if (!strstr(err.text, *needles))
            fail_msg("message '%s' lacks '%s'", err.text, *needles);
}

static void test_default_plan(void **state)
{
    (void)state;
    struct error err = {0};
    struct plan *p = NULL;
    assert_int_equal(plan_load(NULL, &p, &err), 0);
    assert_string_equal(plan_runtime(p), "local");
    assert_string_equal(plan_variant(p), "baseline");
    assert_string_equal(plan_spark_version(p), "");
    assert_string_equal(plan_runtime_argv(p)[0], "/usr/bin/python3");
    plan_free(p);
}

static void test_kernelspec_values(void **state)
{
    struct fixture *f = *state;
    struct plan *p = load_ok(f);
    assert_string_equal(plan_kernel_name(p), strrchr(f->dir, '/') + 1);
    assert_string_equal(plan_display_name(p), "Spark · Iceberg");
    assert_string_equal(plan_spark_line(p), "3.5");
    assert_true(strncmp(plan_spark_version(p), "3.5.", 4) == 0);
    assert_string_equal(plan_runtime_argv(p)[0], "python3");
    assert_null(plan_runtime_argv(p)[3]);
    const struct setting *mem = plan_setting(p, SETTING_EXECUTOR_MEMORY);
    assert_string_equal(mem->value, "5g");
    assert_non_null(strstr(mem->source, f->spec));
    assert_non_null(strstr(mem->source, "metadata.spark_k8s.resources.executor_memory"));
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_CORES)->source, "built-in default");
    assert_string_equal(plan_setting(p, SETTING_ICEBERG_TYPE)->value, "hadoop");
    assert_string_equal(plan_setting(p, SETTING_DRIVER_IMAGE)->source, "matrix default");
    assert_non_null(strstr(plan_setting(p, SETTING_DRIVER_IMAGE)->value, "spark-k8s-jupyter:3.5"));
    assert_int_equal(plan_settings(p)->n_extra, 1);
    plan_free(p);
}

/* built-in < kernelspec < config file < environment */
static void test_precedence(void **state)
{
    struct fixture *f = *state;
    write_text(f->config, "{\"resources\": {\"executor_memory\": \"6g\", \"executor_cores\": 3},"
                          " \"image_registry\": \"reg.example.com/team\", \"kubernetes\": "
                          "{\"namespace\": \"spark-jobs\"}, \"spark_conf\": "
                          "{\"spark.sql.shuffle.partitions\": \"20\"}}");
    struct plan *p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_MEMORY)->value, "6g");
    assert_non_null(strstr(plan_setting(p, SETTING_EXECUTOR_MEMORY)->source, f->config));
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_CORES)->value, "3");
    assert_string_equal(plan_setting(p, SETTING_DRIVER_MEMORY)->value, "3g"); /* kernelspec */
    assert_string_equal(plan_setting(p, SETTING_NAMESPACE)->value, "spark-jobs");
    const char *image = plan_setting(p, SETTING_EXECUTOR_IMAGE)->value;
    assert_true(strncmp(image, "reg.example.com/team/spark-k8s-runtime:3.5", 42) == 0);
    assert_int_equal(plan_settings(p)->n_extra, 2); /* later one wins when rendered */
    plan_free(p);

    setenv("SPARK_K8S_EXECUTOR_MEMORY", "7g", 1);
    setenv("SPARK_K8S_RUNTIME", "kubernetes", 1);
    setenv("SPARK_K8S_ICEBERG_WAREHOUSE", "hdfs://nn:8020/lake/warehouse", 1); /* pods share it */
    setenv(CONFIG_SPARK_CONF_ENV, "spark.sql.shuffle.partitions=30; spark.eventLog.enabled=true",
           1);
    p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_MEMORY)->value, "7g");
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_MEMORY)->source,
                        "env SPARK_K8S_EXECUTOR_MEMORY");
    assert_string_equal(plan_runtime(p), "kubernetes");
    const struct settings *s = plan_settings(p);
    assert_int_equal(s->n_extra, 4);
    assert_string_equal(s->extra[2].key, "spark.sql.shuffle.partitions");
    assert_string_equal(s->extra[2].value, "30");
    assert_string_equal(s->extra[3].key, "spark.eventLog.enabled");
    plan_free(p);
}

static void test_refusals(void **state)
{
    struct fixture *f = *state;
    setenv("SPARK_K8S_DRIVER_MEMORY", "4gb", 1);
    load_fails(f, (const char *const[]){"SPARK_K8S_DRIVER_MEMORY", "driver_memory", "'4gb'", NULL});
    unsetenv("SPARK_K8S_DRIVER_MEMORY");

    write_text(f->config, "{\"resources\": {\"executor_cores\": 0}}");
    load_fails(f, (const char *const[]){f->config, "executor_cores", "'0'", NULL});
    write_text(f->config, "{\"images\": {\"driver\": \"my image:1\"}}");
    load_fails(f, (const char *const[]){f->config, "images.driver", "'my image:1'", NULL});
    write_text(f->config, "{\"resourcez\": {}}");
    load_fails(f, (const char *const[]){f->config, "resourcez", NULL});
    write_text(f->config, "{\"spark_conf\": {\"spark.master\": \"yarn\"}}");
    load_fails(f, (const char *const[]){f->config, "spark.master", NULL});
    write_text(f->config, "{\"spark_conf\": {\"spark.x\": \"a\\nspark.master=yarn\"}}");
    load_fails(f, (const char *const[]){f->config, "spark.x", "control character", NULL});
    write_text(f->config, "{\"iceberg\": {\"type\": \"rest\"}}");
    load_fails(f, (const char *const[]){f->config, "iceberg.type", "iceberg.uri", NULL});
    write_text(f->config, "{\"iceberg\": {\"type\": \"hive\"}}"); /* uri from hive-site.xml */
    plan_free(load_ok(f));
    write_text(f->config, "{\"iceberg\": {\"type\": \"glue\"}}");
    load_fails(f, (const char *const[]){f->config, "iceberg.type", "'glue'", NULL});
    write_text(f->config, "not json");
    load_fails(f, (const char *const[]){f->config, NULL});
    /* executors are pods: the warehouse must be shared storage, named with the option */
    write_text(f->config, "{\"runtime\": \"kubernetes\"}");
    load_fails(f, (const char *const[]){"iceberg.warehouse", "'iceberg-warehouse'",
                                        "--iceberg-warehouse", "s3a://", NULL});
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"/data/wh\"}}");
    load_fails(f, (const char *const[]){f->config, "iceberg.warehouse", "'/data/wh'", NULL});
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"hdfs://nn/lake/wh\"}}");
    plan_free(load_ok(f));
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"type\": \"rest\", "
                          "\"uri\": \"http://catalog:8181\"}}");
    plan_free(load_ok(f)); /* the REST catalog says where the data is */
    /* the executor cap (dynamic allocation's maximum) bounds the initial executors */
    write_text(f->config, "{\"resources\": {\"executor_instances\": 6, "
                          "\"executor_max_instances\": 3}}");
    load_fails(f, (const char *const[]){"executor_instances", "'6'", "executor_max_instances",
                                        "'3'", f->config, NULL});
    write_text(f->config, "{\"resources\": {\"executor_max_instances\": 0}}");
    load_fails(f, (const char *const[]){f->config, "executor_max_instances", "'0'", NULL});
    /* pod template and pull secrets are admin settings: file and environment, not kernelspec */
    write_text(f->config, "{\"kubernetes\": {\"pod_template\": \"pod.yaml\"}}");
    load_fails(f, (const char *const[]){f->config, "kubernetes.pod_template", "'pod.yaml'",
                                        "absolute", NULL});
    write_text(f->config, "{\"kubernetes\": {\"image_pull_secrets\": \"regcred,Bad_Name\"}}");
    load_fails(f, (const char *const[]){f->config, "kubernetes.image_pull_secrets",
                                        "'regcred,Bad_Name'", NULL});
    write_text(f->config, "{}");

    setenv(CONFIG_SPARK_CONF_ENV, "spark.ok=1;novalue", 1);
    load_fails(f, (const char *const[]){CONFIG_SPARK_CONF_ENV, "novalue", NULL});
    unsetenv(CONFIG_SPARK_CONF_ENV);

    setenv(CONFIG_PATH_ENV, "/nonexistent/config.json", 1);
    load_fails(f, (const char *const[]){"/nonexistent/config.json", NULL});
    setenv(CONFIG_PATH_ENV, f->config, 1);

    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"2.4\"}}}");
    load_fails(f, (const char *const[]){f->spec, "spark_version", "'2.4'", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"3.5\", "
                        "\"variant\": \"tpu\"}}}");
    load_fails(f, (const char *const[]){f->spec, "variant", "'tpu'", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"3.5\", "
                        "\"variant\": \"gpu\", \"resources\": {\"executor_gpus\": 2}}}}");
    load_fails(f, (const char *const[]){f->spec, "executor_gpus", "'2'", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"3.5\", "
                        "\"image_registry\": \"r.example.com\"}}}");
    load_fails(f, (const char *const[]){f->spec, "image_registry", "admin config", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"runtime\": \"yarn\"}}}");
    load_fails(f, (const char *const[]){f->spec, "runtime", "'yarn'", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"resources\": "
                        "{\"executor_memory\": 4}}}}");
    load_fails(f, (const char *const[]){f->spec, "executor_memory", "4", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"runtime_command\": []}}}");
    load_fails(f, (const char *const[]){f->spec, "runtime_command", NULL});
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"kubernetes\": "
                        "{\"image_pull_secrets\": \"regcred\"}}}}");
    load_fails(f, (const char *const[]){f->spec, "image_pull_secrets", "admin config", NULL});
}

/* The admin settings of the Kubernetes runtime come from the config file too
 * (the environment still wins), with their sources; executor cap and driver GPUs have
 * defaults. */
static void test_admin_kubernetes_settings(void **state)
{
    struct fixture *f = *state;
    write_text(f->config, "{\"kubernetes\": {\"pod_template\": \"/etc/spark-k8s/pod.yaml\", "
                          "\"image_pull_secrets\": \"regcred,mirror\"}}");
    struct plan *p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_POD_TEMPLATE)->value, "/etc/spark-k8s/pod.yaml");
    assert_non_null(strstr(plan_setting(p, SETTING_POD_TEMPLATE)->source, f->config));
    assert_string_equal(plan_setting(p, SETTING_IMAGE_PULL_SECRETS)->value, "regcred,mirror");
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_MAX_INSTANCES)->value, "4");
    assert_string_equal(plan_setting(p, SETTING_DRIVER_GPUS)->value, "0");
    plan_free(p);
    setenv("SPARK_K8S_IMAGE_PULL_SECRETS", "other", 1);
    p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_IMAGE_PULL_SECRETS)->value, "other");
    assert_string_equal(plan_setting(p, SETTING_IMAGE_PULL_SECRETS)->source,
                        "env SPARK_K8S_IMAGE_PULL_SECRETS");
    plan_free(p);
}

/* The admin's limits on a notebook's session settings: admin only, checked, rendered
 * for the kernel, and out of reach of extra properties. */
static void test_limits(void **state)
{
    struct fixture *f = *state;
    write_text(f->config, "{\"limits\": {\"executors\": 6, \"executor_memory\": \"8g\", "
                          "\"locked_properties\": \"spark.sql.catalog.*,spark.jars\"}}");
    setenv("SPARK_K8S_LIMIT_EXECUTOR_CORES", "4", 1);
    struct plan *p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_LIMIT_EXECUTORS)->value, "6");
    assert_int_equal(plan_number(p, SETTING_LIMIT_EXECUTOR_MEMORY), 8192);
    assert_null(plan_setting(p, SETTING_LIMIT_EXECUTOR_GPUS)->value);
    struct error err = {0};
    assert_int_equal(render_write_spark_conf(p, f->dir, NULL, &err), 0);
    char path[160], text[8192];
    snprintf(path, sizeof path, "%s/spark-defaults.conf", f->dir);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = '\0';
    fclose(in);
    assert_non_null(strstr(text, "\nspark.k8s.notebook.limits.executors 6\n"));
    assert_non_null(strstr(text, "\nspark.k8s.notebook.limits.executorCores 4\n"));
    assert_non_null(strstr(text, "\nspark.k8s.notebook.limits.executorMemory 8g\n"));
    assert_non_null(strstr(text, "\nspark.k8s.notebook.limits.lockedProperties "
                                 "spark.sql.catalog.*,spark.jars\n"));
    assert_null(strstr(text, "limits.executorGpus"));
    plan_free(p);
    unsetenv("SPARK_K8S_LIMIT_EXECUTOR_CORES");

    const char *bad_list[] = {"spark.a,", "spark.*x", "foo.bar", "spark.a b", "spark.", NULL};
    for (const char *const *v = bad_list; *v; v++) {
        assert_int_equal(setting_check(SETTING_LIMIT_LOCKED, *v, "t", &err), -1);
        assert_non_null(strstr(err.text, "limits.locked_properties"));
    }
    assert_int_equal(setting_check(SETTING_LIMIT_LOCKED, "spark.kubernetes.*", "t", &err), 0);
    setenv("SPARK_K8S_LIMIT_EXECUTORS", "0", 1);
    load_fails(f, (const char *[]){"SPARK_K8S_LIMIT_EXECUTORS", "limits.executors", "'0'", NULL});
    unsetenv("SPARK_K8S_LIMIT_EXECUTORS");
    /* a notebook's kernelspec or the extra properties cannot raise them */
    setenv(CONFIG_SPARK_CONF_ENV, "spark.k8s.notebook.limits.executors=100", 1);
    load_fails(f, (const char *[]){"spark.k8s.notebook.limits.executors", "limits.*", NULL});
    unsetenv(CONFIG_SPARK_CONF_ENV);
    write_text(f->spec, "{\"argv\": [\"x\"], \"display_name\": \"S\", \"language\": \"python\", "
                        "\"metadata\": {\"spark_k8s\": {\"spark_version\": \"3.5\", "
                        "\"limits\": {\"executors\": 100}}}}");
    write_text(f->config, "{}");
    load_fails(f, (const char *[]){"metadata.spark_k8s.limits.executors",
                                    "belongs in the admin config file", NULL});
}

static void test_memory_formats(void **state)
{
    (void)state;
    struct error err = {0};
    const char *good[] = {"512m", "4g", "4096m", "1t", "64k", "2G"};
    const char *bad[] = {"4gb", "4", "g", "-1g", "1.5g", "4 g", "0g", ""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(setting_check(SETTING_EXECUTOR_MEMORY, good[i], "t", &err),
                         0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(setting_check(SETTING_EXECUTOR_MEMORY, bad[i], "t", &err),
                         -1);
        char want[32];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        assert_non_null(strstr(err.text, want));
    }
}

static void test_write_spark_conf(void **state)
{
    struct fixture *f = *state;
    struct plan *p = load_ok(f);
    struct error err = {0};
    char path[160];
    assert_int_equal(render_write_spark_conf(p, f->dir, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/spark-defaults.conf", f->dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *in = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = '\0';
    fclose(in);
    assert_non_null(strstr(text, "\nspark.master local[*]\n"));
    assert_non_null(strstr(text, "\nspark.driver.memory 3g\n"));
    assert_non_null(strstr(text, "\nspark.sql.catalog.iceberg org.apache.iceberg.spark.SparkCatalog\n"));
    assert_non_null(strstr(text, "\nspark.sql.shuffle.partitions 10\n"));
    assert_null(strstr(text, "spark.plugins"));
    plan_free(p);
}

/* A kernelspec folder's name reaches spark-defaults.conf in its header comment: a
 * newline in it must not end the comment and start a property of its own. */
static void test_folder_name_cannot_add_a_property(void **state)
{
    struct fixture *f = *state;
    struct error err = {0};
    char sub[256], spec[300], path[160];
    snprintf(sub, sizeof sub, "%s/evil\nspark.driver.memory 99g\r\x01", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(spec, sizeof spec, "%s/kernel.json", sub);
    FILE *in = fopen(f->spec, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, in);
    text[n] = '\0';
    fclose(in);
    write_text(spec, text);
    struct plan *p = NULL;
    if (plan_load(sub, &p, &err))
        fail_msg("plan_load: %s", err.text);
    assert_int_equal(render_write_spark_conf(p, f->dir, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/spark-defaults.conf", f->dir);
    in = fopen(path, "r");
    n = fread(text, 1, sizeof text - 1, in);
    text[n] = '\0';
    fclose(in);
    assert_null(strstr(text, "\nspark.driver.memory 99g"));
    assert_non_null(strstr(text, "\nspark.driver.memory 3g\n"));
    /* the name is still there to read, with its control characters shown */
    assert_non_null(strstr(text, "# spark-k8s: evil\\nspark.driver.memory 99g\\r\\x01 (Spark"));
    assert_int_equal(strchr(text, '\n') - text, strcspn(text, "\r\x01\n"));
    plan_free(p);
    unlink(spec);
    assert_int_equal(rmdir(sub), 0);
}

/* Defect 6: a hadoop catalog keeps its tables through Hadoop's file systems; the
 * kernels carry HDFS's client only, so s3a://, s3://, gs://, abfs:// are refused on
 * either runtime, naming the connector the scheme needs and what works instead. */
static void test_hadoop_catalog_schemes(void **state)
{
    struct fixture *f = *state;
    static const char *const refused[][2] = {
        {"s3a://lake/wh", "hadoop-aws"}, {"s3://lake/wh", "S3FileIO"},
        {"gs://lake/wh", "GCS connector"}, {"abfss://c@a.dfs.core.windows.net/wh", "hadoop-azure"},
        {"oss://b/wh", "Aliyun"}, {"ftp://b/wh", "no Hadoop file system"},
    };
    char text[512], quoted[128];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        for (int k8s = 0; k8s < 2; k8s++) {
            snprintf(text, sizeof text, "{\"runtime\": \"%s\", \"iceberg\": {\"warehouse\": \"%s\"}}",
                     k8s ? "kubernetes" : "local", refused[i][0]);
            write_text(f->config, text);
            snprintf(quoted, sizeof quoted, "'%s'", refused[i][0]);
            load_fails(f, (const char *const[]){f->config, "iceberg.warehouse", quoted,
                                                refused[i][1], "--iceberg-type rest", NULL});
        }
    }
    /* the same locations are fine for a REST catalog (Iceberg's S3FileIO reads s3) */
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"type\": \"rest\", "
                          "\"uri\": \"http://c:8181\", \"warehouse\": \"s3a://lake/wh\"}}");
    plan_free(load_ok(f));
    /* a hadoop catalog on HDFS, or on a path of the local runtime's machine */
    write_text(f->config, "{\"iceberg\": {\"warehouse\": \"/data/wh\"}}");
    plan_free(load_ok(f));
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"viewfs://cluster/wh\"}}");
    plan_free(load_ok(f));
}

/* Defect 3: only a hadoop catalog gets the default warehouse; a REST or Hive catalog
 * gets none (a REST server would take "iceberg-warehouse" as a warehouse's name). */
static void test_rest_catalog_has_no_default_warehouse(void **state)
{
    struct fixture *f = *state;
    struct plan *p = load_ok(f); /* the default: a hadoop catalog */
    assert_string_equal(plan_setting(p, SETTING_ICEBERG_TYPE)->value, "hadoop");
    assert_string_equal(plan_setting(p, SETTING_ICEBERG_WAREHOUSE)->value, "iceberg-warehouse");
    assert_non_null(strstr(plan_setting(p, SETTING_ICEBERG_WAREHOUSE)->source, "hadoop"));
    plan_free(p);
    static const char *const types[] = {
        "{\"iceberg\": {\"type\": \"rest\", \"uri\": \"http://c:8181\"}}",
        "{\"iceberg\": {\"type\": \"hive\"}}",
    };
    for (size_t i = 0; i < 2; i++) {
        write_text(f->config, types[i]);
        p = load_ok(f);
        assert_null(plan_setting(p, SETTING_ICEBERG_WAREHOUSE)->value);
        struct sparkconf *c = NULL;
        struct error err = {0};
        assert_int_equal(render_spark_conf(p, NULL, NULL, &c, &err), 0);
        assert_null(sparkconf_get(c, "spark.sql.catalog.iceberg.warehouse"));
        sparkconf_free(c);
        plan_free(p);
    }
    /* given, it is passed as given */
    write_text(f->config, "{\"iceberg\": {\"type\": \"rest\", \"uri\": \"http://c:8181\", "
                          "\"warehouse\": \"analytics\"}}");
    p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_ICEBERG_WAREHOUSE)->value, "analytics");
    plan_free(p);
}

/* Defect 2: Spark's own warehouse on Kubernetes is shared storage or nothing: a path
 * needs the claim every pod mounts there; a scheme without its Hadoop connector is
 * refused everywhere. */
static void test_spark_warehouse(void **state)
{
    struct fixture *f = *state;
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"hdfs://nn/wh\"}, \"spark_warehouse\": {\"dir\": \"/mnt/warehouse\"}}");
    load_fails(f, (const char *const[]){f->config, "spark_warehouse.dir", "'/mnt/warehouse'",
                                        "--spark-warehouse-claim", NULL});
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"hdfs://nn/wh\"}, \"spark_warehouse\": {\"claim\": \"lake\"}}");
    load_fails(f, (const char *const[]){f->config, "spark_warehouse.claim", "'lake'", "unset", NULL});
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"hdfs://nn/wh\"}, \"spark_warehouse\": {\"dir\": \"hdfs://nn/sw\", "
                          "\"claim\": \"lake\"}}");
    load_fails(f, (const char *const[]){f->config, "spark_warehouse.claim", "not a path", NULL});
    write_text(f->config, "{\"spark_warehouse\": {\"dir\": \"s3a://lake/sw\"}}");
    load_fails(f, (const char *const[]){f->config, "spark_warehouse.dir", "'s3a://lake/sw'",
                                        "hadoop-aws", NULL});
    write_text(f->config, "{\"spark_warehouse\": {\"dir\": \"relative/sw\"}}");
    load_fails(f, (const char *const[]){f->config, "spark_warehouse.dir", "absolute", NULL});
    write_text(f->config, "{\"runtime\": \"kubernetes\", \"iceberg\": {\"warehouse\": "
                          "\"hdfs://nn/wh\"}, \"spark_warehouse\": {\"dir\": \"file:///mnt/wh\", "
                          "\"claim\": \"lake\"}}");
    struct plan *p = load_ok(f);
    assert_string_equal(plan_warehouse_mount_path(p), "/mnt/wh");
    plan_free(p);
    write_text(f->config, "{\"spark_warehouse\": {\"dir\": \"/data/sw\"}}"); /* one machine */
    p = load_ok(f);
    assert_null(plan_warehouse_mount_path(p));
    plan_free(p);
}

/* RAPIDS' explain-only mode asks for no GPU: executor GPUs default to 0, and an
 * explicit count is refused; a bad mode names the two RAPIDS knows. */
static void test_rapids_mode(void **state)
{
    struct fixture *f = *state;
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"4.1\", "
                        "\"variant\": \"gpu\", \"rapids\": {\"mode\": \"explainOnly\"}}}}");
    struct plan *p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_GPUS)->value, "0");
    assert_non_null(strstr(plan_setting(p, SETTING_EXECUTOR_GPUS)->source, "explainOnly"));
    plan_free(p);
    setenv("SPARK_K8S_EXECUTOR_GPUS", "1", 1);
    load_fails(f, (const char *const[]){"SPARK_K8S_EXECUTOR_GPUS", "'1'", "explainOnly", NULL});
    unsetenv("SPARK_K8S_EXECUTOR_GPUS");
    setenv("SPARK_K8S_RAPIDS_MODE", "gpu", 1);
    load_fails(f, (const char *const[]){"SPARK_K8S_RAPIDS_MODE", "'gpu'", "explainOnly",
                                        "executeOnGPU", NULL});
    /* an admin switches every gpu kernel to it: the environment wins over the kernelspec */
    write_text(f->spec, "{\"metadata\": {\"spark_k8s\": {\"spark_version\": \"4.1\", "
                        "\"variant\": \"gpu\"}}}");
    setenv("SPARK_K8S_RAPIDS_MODE", "EXPLAINONLY", 1);
    p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_GPUS)->value, "0");
    plan_free(p);
    unsetenv("SPARK_K8S_RAPIDS_MODE");
    p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_EXECUTOR_GPUS)->value, "1");
    assert_string_equal(plan_setting(p, SETTING_RAPIDS_MODE)->value, "executeOnGPU");
    plan_free(p);
}

/* S3FileIO's endpoint, region and path style: checked where they are read. */
static void test_s3_settings(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[][3] = {
        {"{\"s3\": {\"endpoint\": \"minio:9000\"}}", "s3.endpoint", "'minio:9000'"},
        {"{\"s3\": {\"endpoint\": \"http://\"}}", "s3.endpoint", "'http://'"},
        {"{\"s3\": {\"region\": \"eu west\"}}", "s3.region", "'eu west'"},
        {"{\"s3\": {\"path_style_access\": \"yes\"}}", "s3.path_style_access", "'yes'"},
        {"{\"s3\": {\"credentials_secret\": \"S3_Keys\"}}", "s3.credentials_secret", "'S3_Keys'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(f->config, bad[i][0]);
        load_fails(f, (const char *const[]){f->config, bad[i][1], bad[i][2], NULL});
    }
    write_text(f->config, "{\"s3\": {\"endpoint\": \"http://127.0.0.1:9000\", \"region\": "
                          "\"us-east-1\", \"path_style_access\": true, \"credentials_secret\": "
                          "\"s3-keys\"}}");
    struct plan *p = load_ok(f);
    assert_string_equal(plan_setting(p, SETTING_S3_PATH_STYLE)->value, "true");
    plan_free(p);
}

/* The numbers and booleans of the settings are parsed once, when each is set: the plan
 * hands them out typed (memory in MiB), and every layer reads these, not the text. */
static void test_typed_numbers(void **state)
{
    struct fixture *f = *state;
    setenv("SPARK_K8S_EXECUTOR_INSTANCES", "3", 1);
    write_text(f->config, "{\"spark_connect\": {\"port\": 15010}, \"progress\": "
                          "{\"enabled\": false}}"); /* Spark 3.5: no Connect server */
    struct plan *p = load_ok(f);
    assert_int_equal(plan_number(p, SETTING_DRIVER_MEMORY), 3 * 1024);   /* "3g" */
    assert_int_equal(plan_number(p, SETTING_EXECUTOR_MEMORY), 5 * 1024); /* "5g" */
    assert_int_equal(plan_number(p, SETTING_EXECUTOR_INSTANCES), 3);
    assert_int_equal(plan_number(p, SETTING_CONNECT_PORT), 15010);
    assert_int_equal(plan_flag(p, SETTING_CONNECT), 0);
    assert_int_equal(plan_flag(p, SETTING_PROGRESS), 0);
    assert_int_equal(plan_number(p, SETTING_PROGRESS_INTERVAL), 500); /* built-in default */
    assert_int_equal(plan_number(p, SETTING_NAMESPACE), 0);           /* text, and unset */
    assert_int_equal(plan_rapids_explain_only(p), 0);                 /* not a gpu variant */
    plan_free(p);
    unsetenv("SPARK_K8S_EXECUTOR_INSTANCES");
}

/* A number that is none is refused when it is set, naming the setting, where it came
 * from and the value; its kind is the input's. */
static void test_bad_number_names_the_setting(void **state)
{
    struct fixture *f = *state;
    write_text(f->config, "{\"resources\": {\"executor_instances\": \"lots\"}}");
    struct error err = {0};
    struct plan *p = NULL;
    assert_int_equal(plan_load(f->dir, &p, &err), -1);
    assert_null(p);
    assert_int_equal(err.kind, ERR_INPUT);
    assert_non_null(strstr(err.text, "resources.executor_instances"));
    assert_non_null(strstr(err.text, f->config));
    assert_non_null(strstr(err.text, "'lots'"));
    setenv("SPARK_K8S_SPARK_CONNECT_PORT", "70000", 1);
    write_text(f->config, "{}");
    error_clear(&err);
    assert_int_equal(plan_load(f->dir, &p, &err), -1);
    assert_non_null(strstr(err.text, "SPARK_K8S_SPARK_CONNECT_PORT"));
    assert_non_null(strstr(err.text, "spark_connect.port"));
    unsetenv("SPARK_K8S_SPARK_CONNECT_PORT");
}

/* The plan holds the matrix it was made from: the layers below read it there. */
static void test_plan_holds_the_matrix(void **state)
{
    struct fixture *f = *state;
    struct plan *p = load_ok(f);
    assert_non_null(plan_matrix(p));
    assert_non_null(plan_matrix_line(p));
    assert_string_equal(plan_matrix_line(p)->line, plan_spark_line(p));
    assert_string_equal(plan_matrix_line(p)->version, plan_spark_version(p));
    plan_free(p);
    struct error err = {0};
    assert_int_equal(plan_load(NULL, &p, &err), 0); /* the default plan: no Spark line */
    assert_non_null(plan_matrix(p));
    assert_null(plan_matrix_line(p));
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kernelspec_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hadoop_catalog_schemes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rest_catalog_has_no_default_warehouse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spark_warehouse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rapids_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_kubernetes_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_spark_conf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_name_cannot_add_a_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_number_names_the_setting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_holds_the_matrix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
