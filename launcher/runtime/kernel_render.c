/* kernel_render.c — a kernel's settings, Spark properties or objects, rendered without
 * starting it (see kernel_render.h). */
#include "launcher/runtime/kernel_render.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/images/matrix.h"
#include "launcher/runtime/kube_launch.h"
#include "launcher/plan/config.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/plan/kernelspec.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/render.h"
#include "launcher/plan/sparkconf.h"

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

static void print_text(const struct plan *plan, const struct sparkconf *conf, FILE *out)
{
    char buf[4600];
    fprintf(out, "# spark-k8s render: %s (%s)\n", plan_kernel_name(plan), plan_path(plan));
    fprintf(out, "# Spark %s, variant %s, %s runtime\n",
            plan_spark_version(plan)[0] ? plan_spark_version(plan) : "?", plan_variant(plan),
            plan_runtime(plan));
    fprintf(out, "# runtime command:");
    for (char *const *a = plan_runtime_argv(plan); *a; a++)
        fprintf(out, " %s", *a);
    fprintf(out, "\n#\n# settings:\n");
    for (int id = 0; id < SETTING_COUNT; id++) {
        const struct setting *s = plan_setting(plan, id);
        if (s->value)
            fprintf(out, "#   %-30s %-45s from: %s\n", setting_info(id)->path, s->value,
                    short_source(plan, s->source, buf, sizeof buf));
    }
    const struct settings *all = plan_settings(plan);
    for (size_t i = 0; i < all->n_extra; i++)
        fprintf(out, "#   spark_conf %-19s %-45s from: %s\n", all->extra[i].key,
                all->extra[i].value, short_source(plan, all->extra[i].source, buf, sizeof buf));
    fprintf(out, "#\n# spark-defaults.conf ($SPARK_CONF_DIR of the runtime):\n");
    for (size_t i = 0; i < sparkconf_count(conf); i++) {
        fprintf(out, "# from: %s\n",
                short_source(plan, sparkconf_source(conf, i), buf, sizeof buf));
        struct sparkconf *one = sparkconf_new();
        if (one && sparkconf_set(one, sparkconf_key(conf, i), sparkconf_value(conf, i), "",
                                 NULL) == 0)
            sparkconf_print(one, out, NULL, 0);
        sparkconf_free(one);
    }
}

static void print_json(const struct plan *plan, const char *dir, const struct sparkconf *conf,
                       FILE *out)
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
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "name",
                            plan_kernel_name(plan), "resource_dir", dir, "display_name",
                            plan_display_name(plan), "spark_version", plan_spark_version(plan),
                            "variant", plan_variant(plan), "runtime", plan_runtime(plan),
                            "runtime_command", argv, "settings", settings, "spark_conf", props);
    json_dumpf(doc, out, JSON_INDENT(2));
    fputc('\n', out);
    json_decref(doc);
}

int kernel_render(const char *name, enum kernel_render_what what, FILE *out, struct error *err)
{
    char *dir = NULL;
    if (kernelspec_find(name, &dir, err)) /* not found or unreadable: ERR_RUNTIME */
        return -1;
    struct plan *plan = NULL;
    struct sparkconf *conf = NULL;
    int rc = -1;
    if (plan_load(dir, &plan, err))
        goto out;
    if (what == KERNEL_RENDER_OBJECTS) { /* the Kubernetes objects, and nothing else */
        rc = kube_render_plan(plan, out, err);
        goto out;
    }
    struct render_pod pod = placeholder_pod(plan);
    int kubernetes = strcmp(plan_runtime(plan), "kubernetes") == 0;
    /* what the kernel would add: its jars folder, a token made at each start */
    char jars_dir[4200];
    struct render_env env = {.connect_token = "(a new token at each kernel start)"};
    if (kubernetes && kernel_env_image_jars_dir(plan_matrix(plan), plan_spark_line(plan), jars_dir,
                                                sizeof jars_dir) == 0)
        env.image_jars_dir = jars_dir;
    if (!kubernetes && kernel_env_jars_dir(plan_runtime_argv(plan)[0], jars_dir,
                                           sizeof jars_dir) == 0)
        env.jars_dir = jars_dir;
    if (render_spark_conf(plan, kubernetes ? &pod : NULL, &env, &conf, err))
        goto out;
    if (what == KERNEL_RENDER_JSON)
        print_json(plan, dir, conf, out);
    else
        print_text(plan, conf, out);
    rc = 0;
out:
    sparkconf_free(conf);
    plan_free(plan);
    free(dir);
    return rc;
}
