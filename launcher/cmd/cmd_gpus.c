/* cmd_gpus.c — `spark-k8s gpus`: the command line over launcher/sys/gpus_report.c
 * (the GPUs gpus_probe finds as a table, as JSON, or as Spark's resource discovery
 * JSON, the discovery-script mode), and the exit status of what the probe found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/gpus.h"
#include "launcher/sys/gpus_report.h"

/* The exit statuses of what the probe found missing, documented in --help: what the
 * machine lacks, told apart for scripts (errors exit through err_exit_status: 1 for an
 * unexpected CUDA error, 2 for bad usage). */
enum {
    GPUS_EXIT_NO_LIBRARY = 3,
    GPUS_EXIT_NO_DRIVER = 4,
    GPUS_EXIT_NO_DEVICE = 5,
};

static void usage(FILE *out)
{
    fprintf(out,
        "usage: spark-k8s gpus [--json | --spark-resource] [--cudart PATH]\n"
        "\n"
        "List the NVIDIA GPUs that the CUDA runtime can see on this machine.\n"
        "\n"
        "  (no option)        a table: index, name, memory, compute capability, PCI bus id\n"
        "  --json             a JSON document: library, runtime and driver versions, and a\n"
        "                     devices array (index, name, memory_bytes, memory_mib,\n"
        "                     compute_capability, pci_bus_id, uuid)\n"
        "  --spark-resource   Spark's resource discovery JSON, {\"name\":\"gpu\",\"addresses\":[\"0\",\"1\"]}\n"
        "  --cudart PATH      the CUDA runtime library to load; default: $%s if set,\n"
        "                     else libcudart.so.13, libcudart.so.12, libcudart.so\n"
        "\n"
        "Device indices are CUDA ordinals, counted after CUDA_VISIBLE_DEVICES: the numbers\n"
        "Spark and RAPIDS hand to cudaSetDevice.\n"
        "\n"
        "Exit status:\n"
        "  0  GPUs found (with --spark-resource, also when none is usable: see below)\n"
        "  1  the CUDA runtime reported an unexpected error\n"
        "  2  bad usage\n"
        "  3  no CUDA runtime library (libcudart) could be loaded\n"
        "  4  no NVIDIA driver, or one too old for the CUDA runtime\n"
        "  5  no CUDA device is visible\n"
        "Every failure prints one line saying why on stderr.\n"
        "\n"
        "As Spark's GPU discovery script: Spark runs the script with no arguments and parses\n"
        "its stdout, so this binary, invoked through a symlink (or `exec -a`) named\n"
        "spark-k8s-gpu-discovery, behaves as `spark-k8s gpus --spark-resource`:\n"
        "  ln -s /usr/local/bin/spark-k8s /usr/local/bin/spark-k8s-gpu-discovery\n"
        "  spark.executor.resource.gpu.discoveryScript=/usr/local/bin/spark-k8s-gpu-discovery\n"
        "With --spark-resource, no library, no driver and no device all print\n"
        "{\"name\":\"gpu\",\"addresses\":[]} and exit 0, the reason on stderr (Spark logs it):\n"
        "Spark then fails an executor that asked for GPUs with its own message, \"Resource:\n"
        "gpu, with addresses:  is less than what the user requested: N\", where a non-zero\n"
        "exit would only say \"Process ... exited with code N\"; and an executor that asks\n"
        "for 0 GPUs still starts. An unexpected CUDA error exits 1 with nothing on stdout.\n",
        GPUS_CUDART_ENV);
}

/* The exit status of the probe's outcome: 0, a named one for what is missing, or
 * ERR_RUNTIME's for an unexpected CUDA error. */
static int exit_status(int status)
{
    switch (status) {
    case GPUS_OK: return 0;
    case GPUS_NO_LIBRARY: return GPUS_EXIT_NO_LIBRARY;
    case GPUS_NO_DRIVER: return GPUS_EXIT_NO_DRIVER;
    case GPUS_NO_DEVICE: return GPUS_EXIT_NO_DEVICE;
    default: return err_exit_status(ERR_RUNTIME);
    }
}

int cmd_gpus(int argc, char **argv)
{
    /* main.c passes the whole argv when invoked as spark-k8s-gpu-discovery. */
    const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    int discovery =
        argc > 0 && argv[0] && strcmp(self ? self + 1 : argv[0], GPUS_DISCOVERY_NAME) == 0;
    enum gpus_format format = discovery ? GPUS_FORMAT_SPARK_RESOURCE : GPUS_FORMAT_TABLE;
    const char *cudart = NULL;
    int formats = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            format = GPUS_FORMAT_JSON;
            formats++;
        } else if (strcmp(arg, "--spark-resource") == 0) {
            format = GPUS_FORMAT_SPARK_RESOURCE;
            formats++;
        } else if (strcmp(arg, "--cudart") == 0) {
            if (i + 1 >= argc)
                return cmd_error("gpus", ERR_USAGE, "--cudart needs a path");
            cudart = argv[++i];
        } else if (strncmp(arg, "--cudart=", 9) == 0) {
            cudart = arg + 9;
        } else {
            int status = cmd_error("gpus", ERR_USAGE, "unknown argument '%s'", arg);
            usage(stderr);
            return status;
        }
    }
    if (cudart && !cudart[0])
        return cmd_error("gpus", ERR_USAGE, "--cudart needs a path, not an empty string");
    if (formats > 1)
        return cmd_error("gpus", ERR_USAGE, "--json and --spark-resource cannot be combined");

    struct error err = {0};
    int status = gpus_report(cudart, format, stdout, &err);
    int rc = err.kind == ERR_NOMEM ? error_exit_status(&err) : exit_status(status);
    if (err.kind != ERR_NONE)
        fprintf(stderr, "spark-k8s gpus: %s\n", err.text);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cmd_error("gpus", ERR_SYSTEM, "could not write to stdout");
    return rc;
}
