/* cmd_render.c — `spark-k8s render NAME`: what a kernel would run, without starting
 * anything: its settings and the spark-defaults.conf it would get, each value with
 * where it came from (matrix / built-in default, kernelspec, config file, env). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/spec/config.h"
#include "launcher/spec/kernel_env.h"
#include "launcher/images/matrix.h"
#include "launcher/spec/kernelspec.h"
#include "launcher/runtime/kube_launch.h"
#include "launcher/spec/plan.h"
#include "launcher/spec/render.h"
#include "launcher/spec/sparkconf.h"

static const char usage_text[] =
    "usage: spark-k8s render NAME|PATH [--json | --runtime kubernetes]\n"
    "\n"
    "Prints the spark-defaults.conf the kernel NAME would get, each property under a\n"
    "'# from:' comment naming where it came from, and the settings behind it. NAME is\n"
    "looked up where Jupyter looks ($JUPYTER_PATH, ~/.local/share/jupyter,\n"
    "/usr/local/share/jupyter, /usr/share/jupyter); a PATH names a kernelspec folder or\n"
    "its kernel.json. The admin config file ($SPARK_K8S_CONFIG, else\n"
    "/etc/spark-k8s/config.json) and SPARK_K8S_* variables apply as they would for the kernel.\n"
    "For a kubernetes runtime, facts only the driver pod knows are shown as <...>.\n"
    "--runtime kubernetes prints only the objects the kernel would create (Pod, Secret with\n"
    "values redacted, Service, ConfigMap) as one JSON List, for kubectl or review.\n"
    "Exit status: 0 printed, 1 not found or unreadable, 2 bad usage or a bad value.\n";

/* Placeholders for what the Kubernetes runtime learns when the driver pod exists. */
static struct render_pod placeholder_pod(const struct plan *plan)
{
    const struct setting *ns = plan_setting(plan, SETTING_NAMESPACE);
    return (struct render_pod){
        .api_server = "<in-cluster API server>",
        .namespace = ns->value && *ns->value ? ns->value : "<namespace of the launcher>",
        .driver_pod_name = "<driver pod>",
        .driver_host = "<driver service>",
        .pod_ip = "<driver pod IP>",
    };
}

/* "kernelspec /long/path/kernel.json (metadata...)" -> "kernelspec (metadata...)": the
 * header already names the file. */
static const char *short_source(const struct plan *plan, const char *source, char *buf,
                                size_t len)
{
    size_t n = strlen(plan_path(plan));
    if (strncmp(source, "kernelspec ", 11) == 0 && strncmp(source + 11, plan_path(plan), n) == 0) {
        snprintf(buf, len, "kernelspec%s", source + 11 + n);
        return buf;
    }
    return source;
}

static void print_text(const struct plan *plan, const struct sparkconf *conf)
{
    char buf[4600];
    printf("# spark-k8s render: %s (%s)\n", plan_kernel_name(plan), plan_path(plan));
    printf("# Spark %s, variant %s, %s runtime\n",
           plan_spark_version(plan)[0] ? plan_spark_version(plan) : "?", plan_variant(plan),
           plan_runtime(plan));
    printf("# runtime command:");
    for (char *const *a = plan_runtime_argv(plan); *a; a++)
        printf(" %s", *a);
    printf("\n#\n# settings:\n");
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting *s = plan_setting(plan, id);
        if (s->value)
            printf("#   %-30s %-45s from: %s\n", setting_info(id)->path, s->value,
                   short_source(plan, s->source, buf, sizeof buf));
    }
    const struct settings *all = plan_settings(plan);
    for (size_t i = 0; i < all->n_extra; i++)
        printf("#   spark_conf %-19s %-45s from: %s\n", all->extra[i].key, all->extra[i].value,
               short_source(plan, all->extra[i].source, buf, sizeof buf));
    printf("#\n# spark-defaults.conf ($SPARK_CONF_DIR of the runtime):\n");
    for (size_t i = 0; i < sparkconf_count(conf); i++) {
        printf("# from: %s\n", short_source(plan, sparkconf_source(conf, i), buf, sizeof buf));
        struct sparkconf *one = sparkconf_new();
        if (one && sparkconf_set(one, sparkconf_key(conf, i), sparkconf_value(conf, i), "",
                                 buf, sizeof buf) == 0)
            sparkconf_print(one, stdout, NULL, 0);
        sparkconf_free(one);
    }
}

static void print_json(const struct plan *plan, const char *dir, const struct sparkconf *conf)
{
    json_t *argv = json_array();
    for (char *const *a = plan_runtime_argv(plan); *a; a++)
        json_array_append_new(argv, json_string(*a));
    json_t *settings = json_object();
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting *s = plan_setting(plan, id);
        if (s->value)
            json_object_set_new(settings, setting_info(id)->path,
                                json_pack("{s:s, s:s}", "value", s->value, "source", s->source));
    }
    json_t *props = json_array();
    for (size_t i = 0; i < sparkconf_count(conf); i++)
        json_array_append_new(props, json_pack("{s:s, s:s, s:s}", "key", sparkconf_key(conf, i),
                                               "value", sparkconf_value(conf, i), "source",
                                               sparkconf_source(conf, i)));
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name",
                            plan_kernel_name(plan), "resource_dir", dir, "display_name",
                            plan_display_name(plan), "spark_version", plan_spark_version(plan),
                            "variant", plan_variant(plan), "runtime", plan_runtime(plan),
                            "runtime_command", argv, "settings", settings, "spark_conf", props);
    json_dumpf(out, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(out);
}

int cmd_render(int argc, char **argv)
{
    const char *name = NULL;
    int json = 0, objects = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--runtime") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "kubernetes") == 0 || strcmp(argv[i + 1], "local") == 0)) {
            objects = strcmp(argv[++i], "kubernetes") == 0;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "spark-k8s render: unexpected argument '%s'\n%s", argv[i],
                    usage_text);
            return err_exit_status(ERR_USAGE);
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        fputs(usage_text, stderr);
        return err_exit_status(ERR_USAGE);
    }
    char err[4096], *dir = NULL;
    if (kernelspec_find(name, &dir, err, sizeof err)) /* not found or unreadable: 1 */
        return cmd_error("render", ERR_RUNTIME, "%s", err);
    struct plan *plan = NULL;
    struct sparkconf *conf = NULL;
    if (plan_load(dir, &plan, err, sizeof err)) {
        free(dir);
        return cmd_error("render", ERR_INPUT, "%s", err);
    }
    if (objects) { /* the Kubernetes objects, and nothing else on stdout */
        int rc = kube_render_plan(plan, stdout, err, sizeof err) < 0
                     ? cmd_error("render", ERR_INPUT, "%s", err)
                     : 0;
        plan_free(plan);
        free(dir);
        return rc;
    }
    struct render_pod pod = placeholder_pod(plan);
    int kubernetes = strcmp(plan_runtime(plan), "kubernetes") == 0;
    /* what the kernel would add: its jars folder, a token made at each start */
    char jars_dir[4200];
    struct render_env env = {.connect_token = "(a new token at each kernel start)"};
    struct matrix *m = NULL;
    if (kubernetes && matrix_load_default(&m, err, sizeof err) == 0 &&
        kernel_env_image_jars_dir(m, plan_spark_line(plan), jars_dir, sizeof jars_dir) == 0)
        env.image_jars_dir = jars_dir;
    matrix_free(m);
    if (!kubernetes && kernel_env_jars_dir(plan_runtime_argv(plan)[0], jars_dir,
                                           sizeof jars_dir) == 0)
        env.jars_dir = jars_dir;
    if (render_spark_conf(plan, kubernetes ? &pod : NULL, &env, &conf, err, sizeof err)) {
        plan_free(plan);
        free(dir);
        return cmd_error("render", ERR_INPUT, "%s", err);
    }
    if (json)
        print_json(plan, dir, conf);
    else
        print_text(plan, conf);
    sparkconf_free(conf);
    plan_free(plan);
    free(dir);
    return 0;
}
