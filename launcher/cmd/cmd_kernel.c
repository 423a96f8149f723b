/* cmd_kernel.c — `spark-k8s kernel -f CONNECTION_FILE`: the kernel Jupyter starts;
 * launcher/runtime/kernel_host.c binds the channels, starts the runtime and relays. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/log.h"
#include "launcher/cmd/commands.h"
#include "launcher/runtime/kernel_host.h"
#include "launcher/sys/errmsg.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spark-k8s kernel -f CONNECTION_FILE [--kernelspec DIR] [--max-message-size BYTES]\n"
            "\n"
            "Runs a Jupyter kernel: binds the channels of CONNECTION_FILE, starts the\n"
            "runtime named by the kernelspec in DIR (metadata.spark_k8s; default: local,\n"
            "/usr/bin/python3 -m ipykernel_launcher) and relays every message.\n"
            "\n"
            "  -f, --connection-file FILE  the connection file Jupyter wrote\n"
            "  --kernelspec DIR            the kernelspec folder (kernel.json); also\n"
            "                              SPARK_K8S_KERNELSPEC\n"
            "  --max-message-size BYTES    drop client messages larger than this\n"
            "                              (default 268435456; also SPARK_K8S_MAX_MESSAGE_BYTES)\n"
            "\n"
            "Exit status: 0 after a shutdown, 1 when the kernel dies or cannot start,\n"
            "2 for a bad connection file, kernelspec or option.\n");
}

static int parse_size(const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || v < 1024 || text[0] == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

int cmd_kernel(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"connection-file", required_argument, NULL, 'f'},
        {"kernelspec", required_argument, NULL, 'k'},
        {"max-message-size", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conn_path = NULL;
    const char *spec_dir = getenv("SPARK_K8S_KERNELSPEC");
    const char *max_text = getenv("SPARK_K8S_MAX_MESSAGE_BYTES");
    const char *max_from = "SPARK_K8S_MAX_MESSAGE_BYTES";
    size_t max_bytes = 0;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            conn_path = optarg;
            break;
        case 'k':
            spec_dir = optarg;
            break;
        case 'm':
            max_text = optarg;
            max_from = "--max-message-size";
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return err_exit_status(ERR_USAGE);
        }
    }
    if (!conn_path || optind != argc) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    if (max_text && *max_text && parse_size(max_text, &max_bytes)) {
        log_line("spark-k8s kernel", "%s '%s': not a number of bytes >= 1024", max_from,
                 max_text);
        return err_exit_status(ERR_USAGE);
    }

    struct kernel_options o = {.connection_file = conn_path,
                               .kernelspec_dir = spec_dir && *spec_dir ? spec_dir : NULL,
                               .max_message_bytes = max_bytes};
    struct error err = {0};
    int status = kernel_host_run(&o, &err);
    if (status < 0) {
        log_line("spark-k8s kernel", "%s", err.text);
        return error_exit_status(&err);
    }
    return status;
}
