/* plan.c — reads a kernelspec's metadata into a launch plan (see plan.h). */
#include "launcher/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct plan {
    char *kernel_name;
    char *display_name;
    char *spark_version;
    char *variant;
    char *runtime;
    char **runtime_argv; /* NULL-terminated */
};

static const char *const default_argv[] = {
    "/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}", NULL,
};

static char **argv_copy(const char *const *src)
{
    size_t n = 0;
    while (src[n])
        n++;
    char **dst = calloc(n + 1, sizeof *dst);
    if (!dst)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        dst[i] = strdup(src[i]);
        if (!dst[i]) {
            for (size_t j = 0; j < i; j++)
                free(dst[j]);
            free(dst);
            return NULL;
        }
    }
    return dst;
}

static void argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

void plan_free(struct plan *plan)
{
    if (!plan)
        return;
    free(plan->kernel_name);
    free(plan->display_name);
    free(plan->spark_version);
    free(plan->variant);
    free(plan->runtime);
    argv_free(plan->runtime_argv);
    free(plan);
}

static int set_string(char **dst, const char *value)
{
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

/* A string field of OBJ, or FALLBACK when absent; -1 when present but not a string. */
static int take_string(json_t *obj, const char *field, const char *fallback, char **dst,
                       const char *path, const char *where, char *err, size_t errlen)
{
    json_t *v = obj ? json_object_get(obj, field) : NULL;
    if (!v)
        return set_string(dst, fallback);
    if (!json_is_string(v)) {
        char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(err, errlen, "%s: field %s%s must be a string, not %s", path, where, field,
                 dump ? dump : "?");
        free(dump);
        return -1;
    }
    return set_string(dst, json_string_value(v));
}

static int take_argv(json_t *meta, const char *path, struct plan *plan, char *err, size_t errlen)
{
    json_t *cmd = meta ? json_object_get(meta, "runtime_command") : NULL;
    if (!cmd) {
        plan->runtime_argv = argv_copy(default_argv);
        return plan->runtime_argv ? 0 : -1;
    }
    size_t n = json_is_array(cmd) ? json_array_size(cmd) : 0;
    if (n == 0) {
        char *dump = json_dumps(cmd, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(err, errlen,
                 "%s: field metadata.spark_k8s.runtime_command must be a non-empty array of "
                 "strings, not %s", path, dump ? dump : "?");
        free(dump);
        return -1;
    }
    plan->runtime_argv = calloc(n + 1, sizeof *plan->runtime_argv);
    if (!plan->runtime_argv)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *arg = json_array_get(cmd, i);
        if (!json_is_string(arg) || json_string_length(arg) == 0) {
            char *dump = json_dumps(arg, JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(err, errlen,
                     "%s: field metadata.spark_k8s.runtime_command[%zu] must be a non-empty "
                     "string, not %s", path, i, dump ? dump : "?");
            free(dump);
            return -1;
        }
        plan->runtime_argv[i] = strdup(json_string_value(arg));
        if (!plan->runtime_argv[i])
            return -1;
    }
    return 0;
}

int plan_load(const char *dir, struct plan **out, char *err, size_t errlen)
{
    struct plan *plan = calloc(1, sizeof *plan);
    if (!plan) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_t *root = NULL, *meta = NULL;
    char path[4096] = "(default)";
    if (dir) {
        snprintf(path, sizeof path, "%s/kernel.json", dir);
        json_error_t jerr;
        root = json_load_file(path, 0, &jerr);
        if (!root) {
            snprintf(err, errlen, "%s: cannot read kernelspec: %s (line %d)", path, jerr.text,
                     jerr.line);
            goto fail;
        }
        if (!json_is_object(root)) {
            snprintf(err, errlen, "%s: a kernelspec must be a JSON object", path);
            goto fail;
        }
        json_t *m = json_object_get(root, "metadata");
        meta = m ? json_object_get(m, "spark_k8s") : NULL;
        if (meta && !json_is_object(meta)) {
            snprintf(err, errlen, "%s: field metadata.spark_k8s must be an object", path);
            goto fail;
        }
    }
    const char *base = dir ? strrchr(dir, '/') : NULL;
    err[0] = '\0';
    if (set_string(&plan->kernel_name, dir ? (base ? base + 1 : dir) : "") ||
        take_string(root, "display_name", "Python (spark-k8s)", &plan->display_name, path, "",
                    err, errlen) ||
        take_string(meta, "spark_version", "", &plan->spark_version, path,
                    "metadata.spark_k8s.", err, errlen) ||
        take_string(meta, "variant", "baseline", &plan->variant, path, "metadata.spark_k8s.",
                    err, errlen) ||
        take_string(meta, "runtime", "local", &plan->runtime, path, "metadata.spark_k8s.", err,
                    errlen) ||
        take_argv(meta, path, plan, err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (strcmp(plan->runtime, "local") != 0 && strcmp(plan->runtime, "kubernetes") != 0) {
        snprintf(err, errlen,
                 "%s: field metadata.spark_k8s.runtime has value '%s'; expected 'local' or "
                 "'kubernetes'", path, plan->runtime);
        goto fail;
    }
    json_decref(root);
    *out = plan;
    return 0;
fail:
    json_decref(root);
    plan_free(plan);
    return -1;
}

const char *plan_kernel_name(const struct plan *plan) { return plan->kernel_name; }
const char *plan_display_name(const struct plan *plan) { return plan->display_name; }
const char *plan_spark_version(const struct plan *plan) { return plan->spark_version; }
const char *plan_variant(const struct plan *plan) { return plan->variant; }
const char *plan_runtime(const struct plan *plan) { return plan->runtime; }
char *const *plan_runtime_argv(const struct plan *plan) { return plan->runtime_argv; }

int plan_write_spark_conf(const struct plan *plan, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/spark-defaults.conf", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# spark-k8s: %s (Spark %s, %s, %s runtime)\n", plan->kernel_name,
            plan->spark_version, plan->variant, plan->runtime);
    fprintf(f, "spark.master local[*]\n");
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
