/* gpus_report.c — the GPUs as a table, JSON or Spark's discovery JSON (see
 * gpus_report.h). */
#include "launcher/sys/gpus_report.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/sys/gpus.h"

static size_t memory_mib(const struct gpu_device *dev)
{
    return dev->memory_bytes / (1024u * 1024u);
}

static void print_table(const struct gpu_list *list, FILE *out)
{
    int name_width = 4;
    for (size_t i = 0; i < list->n; i++) {
        int len = (int)strlen(list->devices[i].name);
        if (len > name_width)
            name_width = len;
    }
    fprintf(out, "%-5s  %-*s  %10s  %-4s  %s\n", "INDEX", name_width, "NAME", "MEMORY", "CC",
            "PCI BUS ID");
    for (size_t i = 0; i < list->n; i++) {
        const struct gpu_device *dev = &list->devices[i];
        char memory[32], cc[16];
        snprintf(memory, sizeof memory, "%zu MiB", memory_mib(dev));
        snprintf(cc, sizeof cc, "%d.%d", dev->cc_major, dev->cc_minor);
        fprintf(out, "%-5d  %-*s  %10s  %-4s  %s\n", dev->index, name_width, dev->name, memory,
                cc, dev->pci_bus_id);
    }
    char runtime[16], driver[16];
    gpus_version_string(list->runtime_version, runtime, sizeof runtime);
    gpus_version_string(list->driver_version, driver, sizeof driver);
    fprintf(out, "CUDA runtime %s, driver %s (%s)\n", runtime[0] ? runtime : "?",
            driver[0] ? driver : "?", list->library);
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

static int print_json(const struct gpu_list *list, FILE *out, struct error *err)
{
    json_t *root = list_json(list);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text)
        return error_nomem(err);
    fprintf(out, "%s\n", text);
    free(text);
    return 0;
}

/* Exactly what Spark's ResourceInformation.parseJson reads: name and addresses. */
static void print_spark_resource(const struct gpu_list *list, FILE *out)
{
    fprintf(out, "{\"name\":\"gpu\",\"addresses\":[");
    for (size_t i = 0; i < list->n; i++)
        fprintf(out, "%s\"%d\"", i ? "," : "", list->devices[i].index);
    fprintf(out, "]}\n");
}

int gpus_report(const char *cudart, enum gpus_format format, FILE *out, struct error *err)
{
    struct gpu_list list;
    int status = gpus_probe(cudart, &list, err);
    if (status != GPUS_OK) {
        if (format == GPUS_FORMAT_SPARK_RESOURCE && status != GPUS_ERROR) {
            print_spark_resource(&list, out); /* no devices: "addresses":[] */
            status = GPUS_OK;
        }
    } else if (format == GPUS_FORMAT_TABLE) {
        print_table(&list, out);
    } else if (format == GPUS_FORMAT_JSON) {
        if (print_json(&list, out, err) != 0)
            status = GPUS_ERROR;
    } else {
        print_spark_resource(&list, out);
    }
    gpu_list_free(&list);
    return status;
}
