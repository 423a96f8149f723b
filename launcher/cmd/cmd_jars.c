/* cmd_jars.c — `spark-k8s jars list|fetch`: the command line over
 * launcher/plan/kernel_jars.c, which lists, fetches and verifies the RAPIDS and Iceberg
 * jars of the kernel environments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/plan/kernel_jars.h"
#include "launcher/sys/errmsg.h"

static const char usage_text[] =
    "usage: spark-k8s jars list  [--python PATH | --dir DIR [--spark LINE]] [--variant VARIANT]\n"
    "                            [--cuda N] [--arch ARCH | --rapids-classifier NAME]\n"
    "       spark-k8s jars fetch [same] [--cache DIR] [--repository URL] [--timeout SECONDS]\n"
    "\n"
    "The jars of the gpu (RAPIDS) and iceberg (Iceberg) kernels, which outside the images\n"
    "live in the kernel's Python environment: <env>/share/spark-k8s/jars.\n"
    "  --python PATH     the kernel environment of that interpreter (its pyspark gives the\n"
    "                    Spark line); default: every environment installed beside this\n"
    "                    binary (PREFIX/lib/spark-k8s/envs/spark-LINE)\n"
    "  --dir DIR         a folder of jars instead, for Spark LINE (default: every line of\n"
    "                    the matrix, their jars side by side)\n"
    "  --variant V       only the jars of variant V (default: all variants)\n"
    "  --cuda N          the RAPIDS build for CUDA major N (12: NVIDIA driver R525+, 13:\n"
    "                    R580+); default: the one installed, else 12\n"
    "  --arch ARCH       the RAPIDS build for x86_64 or aarch64; default: this machine's\n"
    "  --rapids-classifier NAME  the RAPIDS build by its Maven classifier (cuda12-arm64)\n"
    "  --cache DIR       fetch: take verified jars from DIR (hard links where DIR is on the\n"
    "                    same file system, else copies) and download the missing ones\n"
    "                    into DIR first\n"
    "  --repository URL  a Maven repository or mirror instead of the matrix's\n"
    "                    (also $" KERNEL_JARS_REPOSITORY_ENV ")\n"
    "Each jar is verified against the sha256 the matrix pins (and its sha1); a jar whose\n"
    "sums differ is not installed, and the matrix must pin one (`spark-k8s images pin`).\n"
    "An environment holds one RAPIDS build: fetching another replaces it.\n"
    "Exit status: 0 every jar present, 1 a jar missing, different or not fetched, 2 bad\n"
    "usage or input (an option's value, the matrix, a RAPIDS build the release lacks).\n";

static int parse(int argc, char **argv, struct kernel_jars_options *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--python") == 0)
            slot = &o->python;
        else if (strcmp(a, "--dir") == 0)
            slot = &o->dir;
        else if (strcmp(a, "--spark") == 0)
            slot = &o->spark;
        else if (strcmp(a, "--variant") == 0)
            slot = &o->variant;
        else if (strcmp(a, "--repository") == 0)
            slot = &o->repository;
        else if (strcmp(a, "--cache") == 0)
            slot = &o->cache;
        else if (strcmp(a, "--rapids-classifier") == 0)
            slot = &o->classifier;
        else if (strcmp(a, "--arch") == 0)
            slot = &o->arch;
        else if (strcmp(a, "--timeout") == 0 || strcmp(a, "--cuda") == 0) {
            char *end = NULL;
            errno = 0;
            long v = i + 1 < argc ? strtol(argv[++i], &end, 10) : 0;
            int timeout = a[2] == 't';
            if (!end || *end || errno || v < 1 || (!timeout && v > 99))
                return cmd_usage_error("jars", "%s: give %s", a,
                                       timeout ? "a number of seconds, at least 1"
                                               : "a CUDA major version, e.g. 12 or 13");
            if (timeout)
                o->timeout_s = v;
            else
                o->cuda = (int)v;
            continue;
        } else {
            return cmd_usage_error("jars", "unknown option '%s'", a);
        }
        if (i + 1 >= argc || !*argv[i + 1])
            return cmd_usage_error("jars", "%s needs a value", a);
        *slot = argv[++i];
    }
    if (o->python && o->dir)
        return cmd_usage_error("jars", "give --python or --dir, not both");
    if (o->classifier && (o->cuda || o->arch))
        return cmd_usage_error("jars", "--rapids-classifier names the build; give it without "
                                       "--cuda and --arch");
    if (o->arch && strcmp(o->arch, "x86_64") != 0 && strcmp(o->arch, "aarch64") != 0)
        return cmd_usage_error("jars", "--arch: '%s' is not x86_64 or aarch64", o->arch);
    if (o->cache && !o->fetch)
        return cmd_usage_error("jars", "--cache is for fetch");
    if (o->repository && strncmp(o->repository, "https://", 8) != 0 &&
        strncmp(o->repository, "http://", 7) != 0)
        return cmd_usage_error("jars", "--repository: give an http(s) URL");
    return 0;
}

/* Each failure as it happens: "spark-k8s jars: ...", and for a bad option the hint. */
static void report(void *ctx, const struct error *e)
{
    (void)ctx;
    if (e->kind == ERR_USAGE)
        cmd_usage_error("jars", "%s", e->text);
    else
        cmd_fail("jars", e);
}

int cmd_jars(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? err_exit_status(ERR_USAGE) : 0;
    }
    struct kernel_jars_options o = {0};
    o.timeout_s = KERNEL_JARS_TIMEOUT_S;
    if (strcmp(argv[1], "fetch") == 0)
        o.fetch = 1;
    else if (strcmp(argv[1], "list") != 0)
        return cmd_usage_error("jars", "give list or fetch");
    int rc = parse(argc, argv, &o);
    if (rc)
        return rc;
    const char *repository = getenv(KERNEL_JARS_REPOSITORY_ENV);
    if (!o.repository && repository && *repository)
        o.repository = repository;
    struct error err = {0};
    return kernel_jars_run(&o, report, NULL, &err) < 0 ? error_exit_status(&err) : 0;
}
