/* cmd_rbac.c — `spark-k8s rbac`: prints the ServiceAccount, Role, RoleBinding and
 * NetworkPolicies a namespace needs (launcher/kube/kube_rbac.c builds them), as one v1
 * List for `kubectl apply -f -`. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/sys/errmsg.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/kube/kube_rbac.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spark-k8s rbac --namespace NS [--service-account NAME] "
            "[--jupyter-selector K=V[,K=V...]]\n"
            "                      [--egress [--api-server-cidr CIDR] [--api-server-port N]...\n"
            "                       [--dns-namespace NS]] [--spark-connect-port N]\n"
            "\n"
            "Print a v1 List (JSON) with the ServiceAccount, Role, RoleBinding and the\n"
            "NetworkPolicies that kernels in namespace NS need; apply it with\n"
            "  spark-k8s rbac --namespace NS | kubectl apply -f -\n"
            "\n"
            "  --namespace NS            namespace of the kernels (required)\n"
            "  --service-account NAME    service account of the launcher and the kernel pods\n"
            "                            (default " KUBE_RBAC_DEFAULT_SA ")\n"
            "  --jupyter-selector K=V    labels of the Jupyter server pods allowed to reach\n"
            "                            the kernels (default " KUBE_RBAC_DEFAULT_JUPYTER_SELECTOR ")\n"
            "  --egress                  also allow the egress kernels, executors and Jupyter\n"
            "                            pods need, for a namespace that denies egress by\n"
            "                            default (this limits their egress to exactly that)\n"
            "  --api-server-cidr CIDR    where the API server is (default 0.0.0.0/0)\n"
            "  --api-server-port N       its port (repeatable; default 443 and 6443)\n"
            "  --dns-namespace NS        namespace of the kube-dns pods (default kube-system)\n"
            "  --spark-connect-port N    Spark Connect's port on kernel pods, reachable from\n"
            "                            Jupyter pods (default %d; 0: none)\n",
            KUBE_RBAC_CONNECT_PORT);
}
static int parse_port(const char *opt, const char *text, int allow_zero, int *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < (allow_zero ? 0 : 1) || v > 65535) {
        fprintf(stderr, "spark-k8s rbac: %s '%s' is not a TCP port\n", opt, text);
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* "a.b.c.d/n" (IPv4) or an IPv6 block: digits, hex, '.', ':' and one '/'. */
static int cidr_ok(const char *text)
{
    const char *slash = strchr(text, '/');
    if (!slash || slash == text || !slash[1] || strchr(slash + 1, '/'))
        return 0;
    for (const char *p = text; *p; p++)
        if (!strchr("0123456789abcdefABCDEF.:/", *p))
            return 0;
    return 1;
}

int cmd_rbac(int argc, char **argv)
{
    static const struct option options[] = {
        {"namespace", required_argument, NULL, 'n'},
        {"service-account", required_argument, NULL, 's'},
        {"jupyter-selector", required_argument, NULL, 'j'},
        {"egress", no_argument, NULL, 'e'},
        {"api-server-port", required_argument, NULL, 'p'},
        {"api-server-cidr", required_argument, NULL, 'c'},
        {"spark-connect-port", required_argument, NULL, 'k'},
        {"dns-namespace", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct kube_rbac_options o = {.service_account = KUBE_RBAC_DEFAULT_SA,
                                  .jupyter_selector = KUBE_RBAC_DEFAULT_JUPYTER_SELECTOR,
                                  .connect_port = KUBE_RBAC_CONNECT_PORT, .api_cidr = "0.0.0.0/0",
                                  .dns_namespace = "kube-system"};
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "n:s:j:h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            o.namespace = optarg;
            break;
        case 's':
            o.service_account = optarg;
            break;
        case 'j':
            o.jupyter_selector = optarg;
            break;
        case 'e':
            o.egress = 1;
            break;
        case 'p':
            if (o.n_api_ports == KUBE_RBAC_MAX_API_PORTS)
                return cmd_error("rbac", ERR_USAGE, "at most 4 --api-server-port options");
            if (parse_port("--api-server-port", optarg, 0, &o.api_ports[o.n_api_ports]) < 0 ||
                o.api_ports[o.n_api_ports] == 0)
                return err_exit_status(ERR_USAGE);
            o.n_api_ports++;
            break;
        case 'c':
            if (!cidr_ok(optarg))
                return cmd_error("rbac", ERR_USAGE, "--api-server-cidr '%s' is not an address "
                                 "block such as 10.0.0.1/32", optarg);
            o.api_cidr = optarg;
            break;
        case 'k':
            if (parse_port("--spark-connect-port", optarg, 1, &o.connect_port) < 0)
                return err_exit_status(ERR_USAGE);
            break;
        case 'd':
            if (!kube_is_dns_label(optarg))
                return cmd_error("rbac", ERR_USAGE, "--dns-namespace '%s' is not a DNS-1123 label",
                                 optarg);
            o.dns_namespace = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return err_exit_status(ERR_USAGE);
        }
    }
    if (optind < argc) {
        int status = cmd_error("rbac", ERR_USAGE, "unexpected argument '%s'", argv[optind]);
        usage(stderr);
        return status;
    }
    if (!o.namespace) {
        int status = cmd_error("rbac", ERR_USAGE, "--namespace is required");
        usage(stderr);
        return status;
    }
    if (!kube_is_dns_label(o.namespace))
        return cmd_error("rbac", ERR_USAGE, "--namespace '%s' is not a DNS-1123 label",
                         o.namespace);
    if (!kube_is_dns_label(o.service_account) || strlen(o.service_account) > KUBE_NAME_MAX - 10)
        return cmd_error("rbac", ERR_USAGE, "--service-account '%s' is not a DNS-1123 label of "
                         "at most %d characters", o.service_account, KUBE_NAME_MAX - 10);
    json_t *list = NULL;
    struct error err = {0};
    if (kube_rbac_list(&o, &list, &err) < 0)
        return cmd_fail("rbac", &err);
    char *text = json_dumps(list, JSON_INDENT(2));
    json_decref(list);
    if (!text) {
        error_nomem(&err);
        return cmd_fail("rbac", &err);
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : cmd_error("rbac", ERR_SYSTEM, "cannot write to stdout");
}
