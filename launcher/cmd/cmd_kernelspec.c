/* cmd_kernelspec.c — `spark-k8s kernelspec install|list|remove`: the command line over
 * launcher/plan/kernelspec_dirs.c, with the locations `jupyter kernelspec` uses. */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/errmsg.h"
#include "launcher/plan/config.h"
#include "launcher/plan/kernelspec.h"
#include "launcher/plan/kernelspec_dirs.h"

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

struct args {
    const char *location;
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

static int install(const struct args *a)
{
    if (!a->all && !a->req.spark)
        return cmd_usage_error("kernelspec", "give --spark LINE (and --variant VARIANT), or --all");
    if (a->all && (a->req.name || a->req.display_name))
        return cmd_usage_error("kernelspec",
                               "--name and --display-name name one kernelspec, not --all");
    struct kernelspec_install_options o = {.location = a->location, .all = a->all,
                                          .replace = a->replace, .req = a->req};
    struct error err = {0};
    if (kernelspecs_install(&o, &err) < 0)
        return cmd_fail("kernelspec install", &err);
    return 0;
}

/* A kernelspec that could not be removed, said as it happens. */
static void report(void *ctx, const struct error *e)
{
    (void)ctx;
    cmd_fail("kernelspec remove", e);
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
    struct error err = {0};
    if (strcmp(verb, "list") == 0)
        return kernelspecs_list(a.location, a.json, &err) < 0
                   ? cmd_fail("kernelspec list", &err)
                   : 0;
    if (!a.all && a.n_names == 0)
        return cmd_usage_error("kernelspec", "remove: give NAME... or --all");
    if (a.all && a.n_names)
        return cmd_usage_error("kernelspec", "remove: give NAME... or --all, not both");
    return kernelspecs_remove(a.location, a.all, a.names, a.n_names, report, NULL, &err) < 0
               ? error_exit_status(&err)
               : 0;
}
