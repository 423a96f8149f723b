/* main.c — the `spark-k8s` command: dispatches to one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "launcher/sys/errmsg.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/gpus.h"
#include "launcher/sys/version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"kernel", cmd_kernel, "run a Jupyter kernel: spark-k8s kernel -f CONNECTION_FILE"},
    {"kernelspec", cmd_kernelspec, "install, list or remove the Spark kernelspecs"},
    {"render", cmd_render, "print what a kernel would run, without starting it"},
    {"gpus", cmd_gpus, "list NVIDIA GPUs (CUDA runtime); Spark resource discovery"},
    {"shim", cmd_shim, "the driver pod's entrypoint (Kubernetes runtime)"},
    {"rbac", cmd_rbac, "print the RBAC objects and NetworkPolicy for a namespace"},
    {"images", cmd_images, "plan or build the runtime and Jupyter images"},
    {"jars", cmd_jars, "list or fetch the RAPIDS and Iceberg jars of the kernels"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: spark-k8s COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-11s %s\n", "version", "print the version");
    fprintf(out, "\nRun 'spark-k8s COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    /* Spark runs a discovery script with no arguments: invoked as
     * spark-k8s-gpu-discovery (a symlink), this is `spark-k8s gpus --spark-resource`. */
    const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    if (argc > 0 && argv[0] && strcmp(self ? self + 1 : argv[0], GPUS_DISCOVERY_NAME) == 0)
        return cmd_gpus(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("spark-k8s %s\n", SPARK_K8S_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "spark-k8s: unknown command '%s'\n", name);
    usage(stderr);
    return err_exit_status(ERR_USAGE);
}
