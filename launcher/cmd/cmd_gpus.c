/* cmd_gpus.c — `spark-k8s gpus`: prints the GPUs gpus_probe finds as a table,
 * as JSON, or as Spark's resource discovery JSON (the discovery-script mode). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/gpus.h"

/* The exit statuses of what the probe found missing, documented in --help: what the
 * machine lacks, told apart for scripts (errors exit through err_exit_status: 1 for an
 * unexpected CUDA error, 2 for bad usage). */
enum {
    GPUS_EXIT_NO_LIBRARY = 3,
    GPUS_EXIT_NO_DRIVER = 4,
    GPUS_EXIT_NO_DEVICE = 5,
};

enum gpus_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_SPARK_RESOURCE };

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

static size_t memory_mib(const struct gpu_device *dev)
{
    return dev->memory_bytes / (1024u * 1024u);
}

static void print_table(const struct gpu_list *list)
{
    int name_width = 4;
    for (size_t i = 0; i < list->n; i++) {
        int len = (int)strlen(list->devices[i].name);
        if (len > name_width)
            name_width = len;
    }
    printf("%-5s  %-*s  %10s  %-4s  %s\n", "INDEX", name_width, "NAME", "MEMORY", "CC", "PCI BUS ID");
    for (size_t i = 0; i < list->n; i++) {
        const struct gpu_device *dev = &list->devices[i];
        char memory[32], cc[16];
        snprintf(memory, sizeof memory, "%zu MiB", memory_mib(dev));
        snprintf(cc, sizeof cc, "%d.%d", dev->cc_major, dev->cc_minor);
        printf("%-5d  %-*s  %10s  %-4s  %s\n", dev->index, name_width, dev->name, memory, cc, dev->pci_bus_id);
    }
    char runtime[16], driver[16];
    gpus_version_string(list->runtime_version, runtime, sizeof runtime);
    gpus_version_string(list->driver_version, driver, sizeof driver);
    printf("CUDA runtime %s, driver %s (%s)\n", runtime[0] ? runtime : "?", driver[0] ? driver : "?",
           list->library);
}

/* Adds value to obj; a NULL value (allocation failure) fails the whole document. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *device_json(const struct gpu_device *dev)
{
    char cc[16];
    snprintf(cc, sizeof cc, "%d.%d", dev->cc_major, dev->cc_minor);
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (put(d, "index", json_integer(dev->index)) != 0 || put(d, "name", json_string(dev->name)) != 0 ||
        put(d, "memory_bytes", json_integer((json_int_t)dev->memory_bytes)) != 0 ||
        put(d, "memory_mib", json_integer((json_int_t)memory_mib(dev))) != 0 ||
        put(d, "compute_capability", json_string(cc)) != 0 ||
        put(d, "pci_bus_id", json_string(dev->pci_bus_id)) != 0 || put(d, "uuid", json_string(dev->uuid)) != 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}

static json_t *list_json(const struct gpu_list *list)
{
    char runtime[16], driver[16];
    gpus_version_string(list->runtime_version, runtime, sizeof runtime);
    gpus_version_string(list->driver_version, driver, sizeof driver);
    json_t *root = json_object();
    if (!root)
        return NULL;
    json_t *devices = json_array();
    if (put(root, "library", json_string(list->library)) != 0 || put(root, "runtime", json_string(runtime)) != 0 ||
        put(root, "runtime_version", json_integer(list->runtime_version)) != 0 ||
        put(root, "driver", json_string(driver)) != 0 ||
        put(root, "driver_version", json_integer(list->driver_version)) != 0 || put(root, "devices", devices) != 0) {
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; i < list->n; i++) {
        if (json_array_append_new(devices, device_json(&list->devices[i])) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

static int print_json(const struct gpu_list *list)
{
    json_t *root = list_json(list);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        fprintf(stderr, "spark-k8s gpus: out of memory writing the JSON document\n");
        return -1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

/* Exactly what Spark's ResourceInformation.parseJson reads: name and addresses. */
static void print_spark_resource(const struct gpu_list *list)
{
    printf("{\"name\":\"gpu\",\"addresses\":[");
    for (size_t i = 0; i < list->n; i++)
        printf("%s\"%d\"", i ? "," : "", list->devices[i].index);
    printf("]}\n");
}

int cmd_gpus(int argc, char **argv)
{
    /* main.c passes the whole argv when invoked as spark-k8s-gpu-discovery. */
    const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    int discovery = argc > 0 && argv[0] && strcmp(self ? self + 1 : argv[0], GPUS_DISCOVERY_NAME) == 0;
    enum gpus_format format = discovery ? FORMAT_SPARK_RESOURCE : FORMAT_TABLE;
    const char *cudart = NULL;
    int formats = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--json") == 0) {
            format = FORMAT_JSON;
            formats++;
        } else if (strcmp(arg, "--spark-resource") == 0) {
            format = FORMAT_SPARK_RESOURCE;
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

    struct gpu_list list;
    char err[1024];
    int status = gpus_probe(cudart, &list, err, sizeof err);
    int rc = exit_status(status);
    if (status != GPUS_OK) {
        fprintf(stderr, "spark-k8s gpus: %s\n", err);
        if (format == FORMAT_SPARK_RESOURCE && status != GPUS_ERROR) {
            print_spark_resource(&list); /* no devices: "addresses":[] */
            rc = 0;
        }
    } else if (format == FORMAT_TABLE) {
        print_table(&list);
    } else if (format == FORMAT_JSON) {
        if (print_json(&list) != 0)
            rc = err_exit_status(ERR_SYSTEM); /* out of memory */
    } else {
        print_spark_resource(&list);
    }
    gpu_list_free(&list);
    if (fflush(stdout) != 0 || ferror(stdout))
        return cmd_error("gpus", ERR_SYSTEM, "could not write to stdout");
    return rc;
}
