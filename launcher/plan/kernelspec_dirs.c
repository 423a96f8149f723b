/* kernelspec_dirs.c — installing, listing and removing spark-k8s kernelspecs in
 * Jupyter's folders (see kernelspec_dirs.h). */
#include "launcher/plan/kernelspec_dirs.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/config.h"
#include "launcher/plan/kernel_env.h"
#include "launcher/sys/strv.h"

/* Interpreters already probed (one per Spark line at most, plus --python). */
struct probed {
    char path[4200];
    struct kernel_env_probe probe;
    int ok;
    struct error err; /* why not, when not ok */
};

/* One install: the interpreters probed so far (one per Spark line at most, plus
 * --python) and what was said about them. */
struct install {
    const struct kernelspec_install_options *o;
    struct probed probed[8];
    size_t n_probed;
    char pythons[8][4200]; /* kernel.json paths of the bundled environments */
    int warned[8];         /* per Spark line: told that it has no environment */
};

/* Probe PATH once; the result stays in A. */
static const struct probed *probe(struct install *a, const char *path)
{
    for (size_t i = 0; i < a->n_probed; i++)
        if (strcmp(a->probed[i].path, path) == 0)
            return &a->probed[i];
    if (a->n_probed == sizeof a->probed / sizeof a->probed[0])
        a->n_probed--; /* reuse the last slot */
    struct probed *p = &a->probed[a->n_probed++];
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    p->ok = kernel_env_probe(path, &p->probe, &p->err) == 0;
    return p;
}

/* The Python of a kernelspec of LINE and VARIANT into R->python: --python, checked;
 * else the environment installed beside the binary (found beside this one when
 * --executable names where the binary will be, as with DESTDIR), checked; else
 * the built-in default, with a warning. 0, or -1 with ERR. */
static int choose_python(struct install *a, const struct matrix *m, struct kernelspec_request *r,
                         struct error *err)
{
    const struct matrix_spark *line = r->spark ? matrix_spark_find(m, r->spark) : NULL;
    if (!line || !r->variant) /* kernelspec_build names the bad value */
        return 0;
    int rc = 0;
    char option[4300];
    if (r->python) {
        snprintf(option, sizeof option, "--python %s", r->python);
        const struct probed *p = probe(a, r->python);
        if (!p->ok) {
            *err = p->err;
            return error_prefix(err, "--python: ");
        }
        return kernel_env_check(&p->probe, option, line, r->variant, err) ? -1 : 0;
    }
    char self[4096], here[4200], there[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    const char *exe = r->executable ? r->executable : self;
    int found_there = kernel_env_bundled_python(exe, line->line, there, sizeof there) == 1;
    int found_here = kernel_env_bundled_python(self, line->line, here, sizeof here) == 1;
    if (found_there || found_here) {
        const char *probed_path = found_there ? there : here;
        snprintf(option, sizeof option, "the kernel environment %s", probed_path);
        const struct probed *p = probe(a, probed_path);
        if (!p->ok) {
            *err = p->err;
            rc = -1;
        } else if (kernel_env_check(&p->probe, option, line, r->variant, err))
            rc = -1;
        size_t slot = (size_t)(line - m->spark) % 8;
        snprintf(a->pythons[slot], sizeof a->pythons[slot], "%s", there);
        r->python = a->pythons[slot];
    } else {
        size_t slot = (size_t)(line - m->spark) % 8;
        if (!a->warned[slot]++)
            fprintf(stderr,
                    "spark-k8s kernelspec install: no Spark %s environment at %s (`make install` "
                    "puts one there); the Spark %s kernels will run %s, which needs ipykernel "
                    "and pyspark %s: give --python PATH for another\n",
                    line->line, there, line->line, KERNELSPEC_DEFAULT_PYTHON, line->version);
    }
    return rc;
}

/* choose_python, then kernelspec_build: 0, or -1 with ERR. */
static int build_one(struct install *a, const struct matrix *m, struct kernelspec_request *r,
                     char **name, json_t **spec, struct error *err)
{
    if (choose_python(a, m, r, err))
        return -1;
    return kernelspec_build(m, r, name, spec, err) ? -1 : 0;
}

/* Build and check every kernelspec O asks for (a bad value installs nothing) into
 * NAMES and SPECS (CAP slots); how many, or -1 with ERR. */
static int build_all(struct install *a, const struct matrix *m, char **names, json_t **specs,
                     struct error *err)
{
    const struct kernelspec_install_options *o = a->o;
    if (!o->all) {
        struct kernelspec_request r = o->req;
        if (!r.variant)
            r.variant = "baseline";
        return build_one(a, m, &r, &names[0], &specs[0], err) ? -1 : 1;
    }
    if ((o->req.spark && !matrix_spark_find(m, o->req.spark)) ||
        (o->req.variant && !matrix_variant_valid(m, o->req.variant))) {
        /* the same refusal as for one spec, naming the value */
        struct kernelspec_request r = o->req;
        if (!r.spark && m->n_spark)
            r.spark = m->spark[0].version;
        if (kernelspec_build(m, &r, &names[0], &specs[0], err) == 0)
            error_set(err, ERR_INPUT, "bad --spark or --variant");
        return -1;
    }
    const struct matrix_spark *only = o->req.spark ? matrix_spark_find(m, o->req.spark) : NULL;
    int n = 0;
    for (size_t s = 0; s < m->n_spark; s++) {
        for (size_t v = 0; v < m->n_variants; v++) {
            if ((only && only != &m->spark[s]) ||
                (o->req.variant && strcmp(o->req.variant, m->variants[v]) != 0))
                continue;
            struct kernelspec_request r = o->req;
            r.spark = m->spark[s].version;
            r.variant = m->variants[v];
            /* with --all, an option of one feature is for the variants that have it */
            for (int id = 0; id < SETTING_COUNT; id++) {
                const char *feature = kernelspec_setting_feature(id);
                if (feature && !matrix_variant_has(r.variant, feature))
                    r.values[id] = NULL;
            }
            if (build_one(a, m, &r, &names[n], &specs[n], err))
                return -1;
            n++;
        }
    }
    return n;
}

int kernelspecs_install(const struct kernelspec_install_options *o, struct error *err)
{
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err))
        return -1;
    size_t cap = m->n_spark * m->n_variants + 1;
    struct install *a = calloc(1, sizeof *a);
    char **names = calloc(cap, sizeof *names);
    json_t **specs = calloc(cap, sizeof *specs);
    int rc = -1;
    if (!a || !names || !specs) {
        error_nomem(err);
        goto out;
    }
    a->o = o;
    int n = build_all(a, m, names, specs, err);
    const char *dir = o->location ? o->location : KERNELSPEC_DEFAULT_DIR;
    for (int i = 0; i < n; i++) {
        /* there already (without --replace), or the file system refused */
        if (kernelspec_install(dir, names[i], specs[i], o->replace, err))
            goto out;
        printf("installed %s in %s/%s\n", names[i], dir, names[i]);
    }
    rc = n < 0 ? -1 : 0;
out:
    for (size_t i = 0; i < cap && names && specs; i++) {
        free(names[i]);
        json_decref(specs[i]);
    }
    free(names);
    free(specs);
    free(a);
    matrix_free(m);
    return rc;
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The kernelspec folder names in DIR, sorted; NULL-terminated, or NULL if none readable. */
static char **folder_names(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t n = 0;
    char **names = calloc(1, sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (n + 2) * sizeof *grown);
        if (!grown)
            break;
        names = grown;
        names[n] = strdup(e->d_name);
        if (!names[n])
            break;
        names[++n] = NULL;
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof *names, compare_names);
    return names;
}

static const char *meta_string(json_t *meta, const char *field)
{
    const char *s = json_string_value(json_object_get(meta, field));
    return s ? s : "";
}

/* Pad to WIDTH columns counting UTF-8 characters, not bytes ("·" is two bytes). */
static void print_column(const char *s, int width)
{
    int cols = 0;
    for (const char *p = s; *p; p++)
        if (((unsigned char)*p & 0xc0) != 0x80)
            cols++;
    printf("%s%*s", s, width > cols ? width - cols : 0, "");
}

/* The folders list and remove look in: the one location given, or Jupyter's path. */
static char **search_dirs(const char *location)
{
    if (!location)
        return kernelspec_search_path();
    char **dirs = calloc(2, sizeof *dirs);
    if (dirs && !(dirs[0] = strdup(location))) {
        free(dirs);
        dirs = NULL;
    }
    return dirs;
}

int kernelspecs_list(const char *location, int json, struct error *err)
{
    char **dirs = search_dirs(location);
    if (!dirs)
        return error_nomem(err);
    json_t *found = json_object();
    for (size_t i = 0; dirs[i]; i++) {
        char **names = folder_names(dirs[i]);
        for (size_t j = 0; names && names[j]; j++) {
            if (json_object_get(found, names[j]))
                continue; /* shadowed, as in Jupyter: the first folder wins */
            char dir[4400], file[4500];
            snprintf(dir, sizeof dir, "%s/%s", dirs[i], names[j]);
            snprintf(file, sizeof file, "%s/kernel.json", dir);
            json_t *root = json_load_file(file, 0, NULL);
            json_t *md = root ? json_object_get(root, "metadata") : NULL;
            json_t *meta = md ? json_object_get(md, "spark_k8s") : NULL;
            if (json_is_object(meta))
                json_object_set_new(
                    found, names[j],
                    json_pack("{s:s, s:s, s:s, s:s, s:s}", "resource_dir", dir, "display_name",
                              json_string_value(json_object_get(root, "display_name"))
                                  ? json_string_value(json_object_get(root, "display_name"))
                                  : "",
                              "runtime", meta_string(meta, "runtime"), "spark_version",
                              meta_string(meta, "spark_version"), "variant",
                              meta_string(meta, "variant")));
            json_decref(root);
            free(names[j]);
        }
        free(names);
    }
    strv_free(dirs);
    if (json) {
        json_t *out = json_pack("{s:O}", "kernelspecs", found);
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(out);
    } else if (json_object_size(found) == 0) {
        printf("No spark-k8s kernelspecs found.\n");
    } else {
        print_column("NAME", 26);
        print_column("DISPLAY NAME", 28);
        print_column("RUNTIME", 12);
        printf("LOCATION\n");
        const char *name;
        json_t *k;
        json_object_foreach(found, name, k) {
            print_column(name, 26);
            print_column(json_string_value(json_object_get(k, "display_name")), 28);
            print_column(json_string_value(json_object_get(k, "runtime")), 12);
            printf("%s\n", json_string_value(json_object_get(k, "resource_dir")));
        }
    }
    json_decref(found);
    return 0;
}

/* A removal: where it looks, whom it tells, its first failure. */
struct removal {
    error_report_fn *report;
    void *ctx;
    struct error *first;
};

/* A failure of the removal, said and kept when it is the first. Returns -1. */
static int removal_failed(struct removal *r, const struct error *e)
{
    r->report(r->ctx, e);
    if (r->first && r->first->kind == ERR_NONE)
        *r->first = *e;
    return -1;
}

/* 0 (removed, or not there), or -1 told (not ours, or the file system refused). */
static int remove_in(struct removal *r, const char *dir, const char *name, int *removed)
{
    struct error e = {0};
    int rc = kernelspec_remove(dir, name, &e);
    if (rc < 0)
        return removal_failed(r, &e);
    if (rc == 0) {
        printf("removed %s/%s\n", dir, name);
        (*removed)++;
    }
    return 0;
}

int kernelspecs_remove(const char *location, int all, const char *const *names, size_t n_names,
                       error_report_fn *report, void *ctx, struct error *err)
{
    struct removal r = {.report = report, .ctx = ctx, .first = err};
    char **dirs = search_dirs(location);
    if (!dirs)
        return error_nomem(err);
    int rc = 0;
    if (all) {
        int removed = 0;
        for (size_t i = 0; dirs[i]; i++) {
            char **found = folder_names(dirs[i]);
            for (size_t j = 0; found && found[j]; j++) {
                char dir[4400];
                snprintf(dir, sizeof dir, "%s/%s", dirs[i], found[j]);
                if (kernelspec_is_ours(dir) && remove_in(&r, dirs[i], found[j], &removed))
                    rc = -1;
                free(found[j]);
            }
            free(found);
        }
        if (!removed && !rc)
            printf("No spark-k8s kernelspecs to remove.\n");
    }
    for (size_t n = 0; n < n_names; n++) {
        int removed = 0;
        for (size_t i = 0; dirs[i] && !removed; i++) {
            if (remove_in(&r, dirs[i], names[n], &removed)) {
                rc = -1;
                break;
            }
        }
        if (!removed && !rc) { /* as `jupyter kernelspec remove`: not found fails the work */
            struct error e = {0};
            error_set(&e, ERR_RUNTIME, "no kernelspec named '%s'%s%s", names[n],
                      location ? " in " : "", location ? location : "");
            rc = removal_failed(&r, &e);
        }
    }
    strv_free(dirs);
    return rc;
}

