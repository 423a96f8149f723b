/* cmd_render.c — `spark-k8s render NAME`: the command line over
 * launcher/runtime/kernel_render.c (what a kernel would run, without starting it). */
#include <stdio.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/runtime/kernel_render.h"
#include "launcher/sys/errmsg.h"

static const char usage_text[] =
    "usage: spark-k8s render NAME|PATH [--json | --runtime kubernetes]\n"
    "\n"
    "Prints the spark-defaults.conf the kernel NAME would get, each property under a\n"
    "'# from:' comment naming where it came from, and the settings behind it. NAME is\n"
    "looked up where Jupyter looks ($JUPYTER_PATH, ~/.local/share/jupyter,\n"
    "/usr/local/share/jupyter, /usr/share/jupyter); a PATH names a kernelspec folder or\n"
    "its kernel.json. The admin config file ($SPARK_K8S_CONFIG, else\n"
    "/etc/spark-k8s/config.json) and SPARK_K8S_* variables apply as they would for the kernel.\n"
    "For a kubernetes runtime, facts only the driver pod knows are shown as <...>.\n"
    "--runtime kubernetes prints only the objects the kernel would create (Pod, Secret with\n"
    "values redacted, Service, ConfigMap) as one JSON List, for kubectl or review.\n"
    "Exit status: 0 printed, 1 not found or unreadable, 2 bad usage or a bad value.\n";

int cmd_render(int argc, char **argv)
{
    const char *name = NULL;
    int json = 0, objects = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--runtime") == 0 && i + 1 < argc &&
                   (strcmp(argv[i + 1], "kubernetes") == 0 || strcmp(argv[i + 1], "local") == 0)) {
            objects = strcmp(argv[++i], "kubernetes") == 0;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "spark-k8s render: unexpected argument '%s'\n%s", argv[i],
                    usage_text);
            return err_exit_status(ERR_USAGE);
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        fputs(usage_text, stderr);
        return err_exit_status(ERR_USAGE);
    }
    struct error err = {0};
    enum kernel_render_what what = objects ? KERNEL_RENDER_OBJECTS
                                 : json    ? KERNEL_RENDER_JSON
                                           : KERNEL_RENDER_TEXT;
    if (kernel_render(name, what, stdout, &err) < 0)
        return cmd_fail("render", &err);
    return 0;
}
