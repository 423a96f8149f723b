/* cmd_shim.c — `spark-k8s shim`: the driver pod's entrypoint (kubernetes runtime);
 * launcher/runtime/shim_host.c serves the launcher and runs the kernel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel/log.h"
#include "launcher/cmd/commands.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/runtime/shim_host.h"
#include "launcher/sys/errmsg.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spark-k8s shim --keys DIR --conf FILE [--port N] [--watchdog SECONDS]\n"
            "                      [--kernel-name NAME] [-- KERNEL_ARGV...]\n"
            "\n"
            "The entrypoint of a kernel's driver pod (the kubernetes runtime creates it):\n"
            "serves the launcher on $SPARK_K8S_POD_IP, ports N..N+4, with CurveZMQ, and runs\n"
            "the kernel KERNEL_ARGV ({connection_file}, {resource_dir}) locally.\n"
            "\n"
            "  --keys DIR         the Secret's files: hmac-key, curve-server-secret,\n"
            "                     curve-server-public, curve-client-public\n"
            "  --conf FILE        spark-defaults.conf from the launcher (the ConfigMap)\n"
            "  --port N           first of the five channel ports (default 7070)\n"
            "  --watchdog SECONDS stop and delete this pod when the launcher is silent this\n"
            "                     long (default 60)\n");
}

/* ---- the command ----------------------------------------------------------------------- */

int cmd_shim(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"keys", required_argument, NULL, 'k'},
        {"conf", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"watchdog", required_argument, NULL, 'w'},
        {"kernel-name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keys = NULL, *conf = NULL, *kernel_name = NULL;
    long port = KUBE_SHIM_PORT, watchdog_s = SHIM_DEFAULT_WATCHDOG_S;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (opt) {
        case 'k':
            keys = optarg;
            break;
        case 'c':
            conf = optarg;
            break;
        case 'n':
            kernel_name = optarg;
            break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 1 || port > 65535 - KUBE_SHIM_PORTS) {
                log_line("spark-k8s shim", "--port '%s' is not a port number", optarg);
                return err_exit_status(ERR_USAGE);
            }
            break;
        case 'w':
            watchdog_s = strtol(optarg, &end, 10);
            if (*end || watchdog_s < 1) {
                log_line("spark-k8s shim", "--watchdog '%s' is not a number of seconds",
                         optarg);
                return err_exit_status(ERR_USAGE);
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return err_exit_status(ERR_USAGE);
        }
    }
    if (!keys || !conf) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    struct shim_options o = {.keys_dir = keys, .conf_path = conf, .kernel_name = kernel_name,
                             .port = port, .watchdog_s = watchdog_s,
                             .kernel_argv = argv + optind, .kernel_argc = argc - optind};
    struct error err = {0};
    int status = shim_host_run(&o, &err);
    if (status < 0) {
        log_line("spark-k8s shim", "%s", err.text);
        return error_exit_status(&err);
    }
    return status;
}
