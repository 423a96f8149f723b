/* cmd_kernelspec.c — `spark-k8s kernelspec install|list|remove`: the command line over
 * launcher/spec/kernelspec.c, with the locations `jupyter kernelspec` uses. */
#include <dirent.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/errmsg.h"
#include "launcher/spec/config.h"
#include "launcher/spec/kernel_env.h"
#include "launcher/spec/kernelspec.h"
#include "launcher/images/matrix.h"

#define MAX_CONF 256

static const char usage_text[] =
    "usage: spark-k8s kernelspec install [LOCATION] [--all] [--spark LINE] [--variant VARIANT]\n"
    "                                    [--runtime local|kubernetes] [--name NAME]\n"
    "                                    [--display-name TEXT] [--replace] [--executable PATH]\n"
    "                                    [--python PATH] [--registry REGISTRY]\n"
    "                                    [--driver-image REF] [--executor-image REF]\n"
    "                                    [--driver-cores N] [--driver-memory SIZE]\n"
    "                                    [--executor-cores N] [--executor-memory SIZE]\n"
    "                                    [--executor-instances N] [--executor-gpus N]\n"
    "                                    [--iceberg-name NAME] [--iceberg-type hadoop|hive|rest]\n"
    "                                    [--iceberg-uri URI] [--iceberg-warehouse URI]\n"
    "                                    [--s3-endpoint URL] [--s3-region REGION]\n"
    "                                    [--s3-path-style-access true|false]\n"
    "                                    [--s3-credentials-secret SECRET]\n"
    "                                    [--rapids-mode executeOnGPU|explainOnly]\n"
    "                                    [--spark-warehouse URI] [--spark-warehouse-claim PVC]\n"
    "                                    [--namespace NS] [--service-account SA]\n"
    "                                    [--spark-connect] [--spark-connect-port N]\n"
    "                                    [--no-progress] [--progress-interval-ms MS]\n"
    "                                    [--conf KEY=VALUE]...\n"
    "       spark-k8s kernelspec list [LOCATION] [--json]\n"
    "       spark-k8s kernelspec remove [LOCATION] (NAME... | --all)\n"
    "\n"
    "LOCATION (as `jupyter kernelspec`): --user (~/.local/share/jupyter/kernels),\n"
    "--sys-prefix (/usr/share/jupyter/kernels), --prefix DIR (DIR/share/jupyter/kernels).\n"
    "install defaults to /usr/local/share/jupyter/kernels; list and remove search\n"
    "Jupyter's path ($JUPYTER_PATH, the user folder, /usr/local/share/jupyter, /usr/share/jupyter).\n"
    "--all installs every Spark line and variant of the image matrix (narrowed by\n"
    "--spark or --variant if given). SIZE is Spark's format: 512m, 4g.\n"
    "The kernels run the Python environment installed beside this binary\n"
    "(PREFIX/lib/spark-k8s/envs/spark-LINE, by `make install`), or --python PATH:\n"
    "an interpreter with ipykernel and the pyspark of the kernel's Spark line\n"
    "(checked by running it; refused, naming what it holds, otherwise).\n"
    "--spark-connect starts a Spark Connect server in the kernel's driver (Spark 4).\n"
    "Iceberg: a hadoop catalog needs a path or hdfs:// (the kernels carry HDFS's client\n"
    "only); tables on S3 go through a REST or Hive catalog and Iceberg's S3FileIO\n"
    "(--s3-endpoint/--s3-region/--s3-path-style-access; credentials from the environment,\n"
    "the service account, or on Kubernetes the Secret --s3-credentials-secret names, with\n"
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).\n"
    "--rapids-mode explainOnly: RAPIDS says what would run on a GPU; none is needed.\n"
    "--spark-warehouse: where managed tables of spark_catalog go; on Kubernetes hdfs://, or\n"
    "a path on the ReadWriteMany claim --spark-warehouse-claim that every pod mounts\n"
    "(without one, the kernel refuses such tables: the executors' files would be lost).\n"
    "Cells show Spark's jobs as they run (--no-progress: not; --progress-interval-ms:\n"
    "how often the display updates, 500 by default).\n"
    "Exit status: 0 done, 1 failed (file system, not found), 2 bad usage or input (a value,\n"
    "the Python environment, the matrix).\n";

/* Interpreters already probed (one per Spark line at most, plus --python). */
struct probed {
    char path[4200];
    struct kernel_env_probe probe;
    int ok;
    char err[1200];
};

struct args {
    const char *location;
    struct probed probed[8];
    size_t n_probed;
    char pythons[8][4200]; /* kernel.json paths of the bundled environments */
    int warned[8];         /* per Spark line: told that it has no environment */
    char location_buf[4096];
    int all, replace, json;
    struct kernelspec_request req;
    const char *conf[MAX_CONF];
    const char *names[MAX_CONF];
    size_t n_names;
};

static int set_location(struct args *a, const char *flag, const char *prefix)
{
    if (a->location) {
        fprintf(stderr, "spark-k8s kernelspec: %s: only one of --user, --sys-prefix, --prefix\n",
                flag);
        return -1;
    }
    if (strcmp(flag, "--user") == 0) {
        if (kernelspec_user_dir(a->location_buf, sizeof a->location_buf)) {
            fprintf(stderr, "spark-k8s kernelspec: --user: neither JUPYTER_DATA_DIR, "
                            "XDG_DATA_HOME nor HOME is set\n");
            return -1;
        }
    } else if (strcmp(flag, "--sys-prefix") == 0) {
        /* sys.prefix of Debian's /usr/bin/python3, which runs the kernels */
        snprintf(a->location_buf, sizeof a->location_buf, "/usr/share/jupyter/kernels");
    } else {
        if (!*prefix) {
            fprintf(stderr, "spark-k8s kernelspec: --prefix: empty folder name\n");
            return -1;
        }
        snprintf(a->location_buf, sizeof a->location_buf, "%s/share/jupyter/kernels", prefix);
    }
    a->location = a->location_buf;
    return 0;
}

/* The option's value: "--opt VALUE" or "--opt=VALUE". */
static const char *option_value(const char *opt, int argc, char **argv, int *i)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], opt) != 0)
        return NULL;
    if (*i + 1 >= argc)
        return "";
    return argv[++*i];
}

static int matches(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int parse(struct args *a, int argc, char **argv, const char *verb)
{
    int install = strcmp(verb, "install") == 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *v;
        if (strcmp(arg, "--user") == 0 || strcmp(arg, "--sys-prefix") == 0) {
            if (set_location(a, arg, NULL))
                return err_exit_status(ERR_USAGE);
        } else if (matches(arg, "--prefix")) {
            v = option_value("--prefix", argc, argv, &i);
            if (set_location(a, "--prefix", v))
                return err_exit_status(ERR_USAGE);
        } else if (strcmp(arg, "--all") == 0) {
            a->all = 1;
        } else if (install && strcmp(arg, "--replace") == 0) {
            a->replace = 1;
        } else if (!install && strcmp(verb, "list") == 0 && strcmp(arg, "--json") == 0) {
            a->json = 1;
        } else if (install && strcmp(arg, "--no-progress") == 0) {
            a->req.values[SETTING_PROGRESS] = "false";
        } else if (install && strcmp(arg, "--spark-connect") == 0) {
            a->req.values[SETTING_CONNECT] = "true"; /* a flag; --spark-connect=false also works */
        } else if (install && matches(arg, "--conf")) {
            if (a->req.n_conf == MAX_CONF)
                return cmd_usage_error("kernelspec", "too many %s options", "--conf");
            a->conf[a->req.n_conf++] = option_value("--conf", argc, argv, &i);
        } else if (install && arg[0] == '-') {
            static const struct {
                const char *opt;
                size_t offset;
            } strings[] = {
                {"--spark", offsetof(struct kernelspec_request, spark)},
                {"--variant", offsetof(struct kernelspec_request, variant)},
                {"--name", offsetof(struct kernelspec_request, name)},
                {"--display-name", offsetof(struct kernelspec_request, display_name)},
                {"--executable", offsetof(struct kernelspec_request, executable)},
                {"--python", offsetof(struct kernelspec_request, python)},
                {"--registry", offsetof(struct kernelspec_request, registry)},
            };
            int known = 0;
            for (size_t k = 0; !known && k < sizeof strings / sizeof strings[0]; k++) {
                if (matches(arg, strings[k].opt)) {
                    v = option_value(strings[k].opt, argc, argv, &i);
                    *(const char **)((char *)&a->req + strings[k].offset) = v;
                    known = 1;
                }
            }
            for (int id = 0; !known && id < SETTING_COUNT; id++) {
                const struct setting_info *in = setting_info(id);
                if (in->in_metadata && matches(arg, in->option)) {
                    a->req.values[id] = option_value(in->option, argc, argv, &i);
                    known = 1;
                }
            }
            if (!known)
                return cmd_usage_error("kernelspec", "unknown option '%s'", arg);
        } else if (arg[0] == '-') {
            return cmd_usage_error("kernelspec", "unknown option '%s'", arg);
        } else if (strcmp(verb, "remove") == 0 && a->n_names < MAX_CONF) {
            a->names[a->n_names++] = arg;
        } else {
            return cmd_usage_error("kernelspec", "unexpected argument '%s'", arg);
        }
    }
    a->req.conf = a->conf;
    return 0;
}

/* Probe PATH once; the result stays in A. */
static const struct probed *probe(struct args *a, const char *path)
{
    for (size_t i = 0; i < a->n_probed; i++)
        if (strcmp(a->probed[i].path, path) == 0)
            return &a->probed[i];
    if (a->n_probed == sizeof a->probed / sizeof a->probed[0])
        a->n_probed--; /* reuse the last slot */
    struct probed *p = &a->probed[a->n_probed++];
    memset(p, 0, sizeof *p);
    snprintf(p->path, sizeof p->path, "%s", path);
    p->ok = kernel_env_probe(path, &p->probe, p->err, sizeof p->err) == 0;
    return p;
}

/* The Python of a kernelspec of LINE and VARIANT into R->python: --python, checked;
 * else the environment installed beside the binary (found beside this one when
 * --executable names where the binary will be, as with DESTDIR), checked; else
 * the built-in default, with a warning. 0, or -1 with ERR. */
static int choose_python(struct args *a, const struct matrix *m, struct kernelspec_request *r,
                         char *err, size_t errlen)
{
    const struct matrix_spark *line = r->spark ? matrix_spark_find(m, r->spark) : NULL;
    if (!line || !r->variant) /* kernelspec_build names the bad value */
        return 0;
    int rc = 0;
    char option[4300];
    if (r->python) {
        snprintf(option, sizeof option, "--python %s", r->python);
        const struct probed *p = probe(a, r->python);
        if (!p->ok)
            return errorf(err, errlen, "--python: %s", p->err);
        return kernel_env_check(&p->probe, option, line, r->variant, err, errlen) ? -1 : 0;
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
        if (!p->ok)
            rc = errorf(err, errlen, "%s", p->err);
        else if (kernel_env_check(&p->probe, option, line, r->variant, err, errlen))
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
static int build_one(struct args *a, const struct matrix *m, struct kernelspec_request *r,
                     char **name, json_t **spec, char *err, size_t errlen)
{
    if (choose_python(a, m, r, err, errlen))
        return -1;
    return kernelspec_build(m, r, name, spec, err, errlen) ? -1 : 0;
}

static int install(struct args *a)
{
    char err[4096];
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err, sizeof err))
        return cmd_error("kernelspec", ERR_INPUT, "%s", err);
    if (!a->all && !a->req.spark) {
        matrix_free(m);
        return cmd_usage_error("kernelspec", "give --spark LINE (and --variant VARIANT), or --all");
    }
    if (a->all && (a->req.name || a->req.display_name)) {
        matrix_free(m);
        return cmd_usage_error("kernelspec",
                               "--name and --display-name name one kernelspec, not --all");
    }
    /* Build and check every spec first: a bad value installs nothing. */
    size_t cap = m->n_spark * m->n_variants + 1, n = 0;
    char **names = calloc(cap, sizeof *names);
    json_t **specs = calloc(cap, sizeof *specs);
    int rc = 0;
    if (!names || !specs) {
        errorf(err, sizeof err, "out of memory");
        rc = err_exit_status(ERR_SYSTEM);
    }
    if (!a->all) {
        struct kernelspec_request r = a->req;
        if (!r.variant)
            r.variant = "baseline";
        if (!rc && build_one(a, m, &r, &names[0], &specs[0], err, sizeof err))
            rc = err_exit_status(ERR_INPUT);
        n = rc ? 0 : 1;
    } else if ((a->req.spark && !matrix_spark_find(m, a->req.spark)) ||
               (a->req.variant && !matrix_variant_valid(m, a->req.variant))) {
        /* the same refusal as for one spec, naming the value */
        struct kernelspec_request r = a->req;
        if (!r.spark && m->n_spark)
            r.spark = m->spark[0].version;
        if (!rc && kernelspec_build(m, &r, &names[0], &specs[0], err, sizeof err) == 0)
            snprintf(err, sizeof err, "bad --spark or --variant");
        rc = err_exit_status(ERR_INPUT);
    } else {
        const struct matrix_spark *only = a->req.spark ? matrix_spark_find(m, a->req.spark) : NULL;
        for (size_t s = 0; !rc && s < m->n_spark; s++) {
            for (size_t v = 0; !rc && v < m->n_variants; v++) {
                if ((only && only != &m->spark[s]) ||
                    (a->req.variant && strcmp(a->req.variant, m->variants[v]) != 0))
                    continue;
                struct kernelspec_request r = a->req;
                r.spark = m->spark[s].version;
                r.variant = m->variants[v];
                /* with --all, an option of one feature is for the variants that have it */
                for (int id = 0; id < SETTING_COUNT; id++) {
                    const char *feature = kernelspec_setting_feature(id);
                    if (feature && !matrix_variant_has(r.variant, feature))
                        r.values[id] = NULL;
                }
                if (build_one(a, m, &r, &names[n], &specs[n], err, sizeof err))
                    rc = err_exit_status(ERR_INPUT);
                else
                    n++;
            }
        }
    }
    const char *dir = a->location ? a->location : "/usr/local/share/jupyter/kernels";
    if (rc)
        fprintf(stderr, "spark-k8s kernelspec install: %s\n", err);
    for (size_t i = 0; !rc && i < n; i++) {
        if (kernelspec_install(dir, names[i], specs[i], a->replace, err, sizeof err)) {
            /* there already (without --replace), or the file system refused */
            rc = cmd_error("kernelspec install", ERR_RUNTIME, "%s", err);
        } else {
            printf("installed %s in %s/%s\n", names[i], dir, names[i]);
        }
    }
    for (size_t i = 0; i < cap && names && specs; i++) {
        free(names[i]);
        json_decref(specs[i]);
    }
    free(names);
    free(specs);
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
static char **search_dirs(const struct args *a)
{
    if (!a->location)
        return kernelspec_search_path();
    char **dirs = calloc(2, sizeof *dirs);
    if (dirs && !(dirs[0] = strdup(a->location))) {
        free(dirs);
        dirs = NULL;
    }
    return dirs;
}

static int list(struct args *a)
{
    char **dirs = search_dirs(a);
    if (!dirs)
        return cmd_error("kernelspec list", ERR_SYSTEM, "out of memory");
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
    kernelspec_path_free(dirs);
    if (a->json) {
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

/* 0 (removed, or not there), or -1 said on stderr (not ours, or the file system refused). */
static int remove_in(const char *dir, const char *name, int *removed)
{
    char err[4096];
    int rc = kernelspec_remove(dir, name, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "spark-k8s kernelspec remove: %s\n", err);
        return -1;
    }
    if (rc == 0) {
        printf("removed %s/%s\n", dir, name);
        (*removed)++;
    }
    return 0;
}

static int remove_specs(struct args *a)
{
    if (!a->all && a->n_names == 0)
        return cmd_usage_error("kernelspec", "remove: give NAME... or --all");
    if (a->all && a->n_names)
        return cmd_usage_error("kernelspec", "remove: give NAME... or --all, not both");
    char **dirs = search_dirs(a);
    if (!dirs)
        return cmd_error("kernelspec remove", ERR_SYSTEM, "out of memory");
    int rc = 0;
    if (a->all) {
        int removed = 0;
        for (size_t i = 0; dirs[i]; i++) {
            char **names = folder_names(dirs[i]);
            for (size_t j = 0; names && names[j]; j++) {
                char dir[4400];
                snprintf(dir, sizeof dir, "%s/%s", dirs[i], names[j]);
                if (kernelspec_is_ours(dir) && remove_in(dirs[i], names[j], &removed))
                    rc = err_exit_status(ERR_RUNTIME);
                free(names[j]);
            }
            free(names);
        }
        if (!removed && !rc)
            printf("No spark-k8s kernelspecs to remove.\n");
    }
    for (size_t n = 0; n < a->n_names; n++) {
        int removed = 0;
        for (size_t i = 0; dirs[i] && !removed; i++) {
            if (remove_in(dirs[i], a->names[n], &removed)) {
                rc = err_exit_status(ERR_RUNTIME);
                break;
            }
        }
        if (!removed && !rc) /* as `jupyter kernelspec remove`: not found fails the work */
            rc = cmd_error("kernelspec remove", ERR_RUNTIME, "no kernelspec named '%s'%s%s",
                           a->names[n], a->location ? " in " : "", a->location ? a->location : "");
    }
    kernelspec_path_free(dirs);
    return rc;
}

int cmd_kernelspec(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? err_exit_status(ERR_USAGE) : 0;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "install") != 0 && strcmp(verb, "list") != 0 &&
        strcmp(verb, "remove") != 0)
        return cmd_usage_error("kernelspec",
                               "unknown action '%s' (install, list, remove)", verb);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
    }
    struct args a;
    memset(&a, 0, sizeof a);
    int rc = parse(&a, argc - 1, argv + 1, verb);
    if (rc)
        return rc;
    if (strcmp(verb, "install") == 0)
        return install(&a);
    if (strcmp(verb, "list") == 0)
        return list(&a);
    return remove_specs(&a);
}
