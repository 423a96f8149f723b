/* cmd_rbac.c — `spark-k8s rbac`: prints the ServiceAccount, Role, RoleBinding and
 * NetworkPolicy a namespace needs, as one v1 List for `kubectl apply -f -`.
 *
 * The Role is the union of two callers, and nothing more:
 *   the launcher (kubernetes runtime): pods create/get/list/watch/delete (get: its
 *     own pod's uid for ownerReferences), services/secrets/configmaps
 *     create/delete, events list/watch (progress of a starting pod);
 *   the Spark driver in the kernel pod, as Spark on Kubernetes documents for the
 *     driver's service account: executor pods (create, get, list, watch, delete,
 *     deletecollection, patch for decommission labels), the executor ConfigMap and
 *     services (create, get, list, delete, deletecollection), and on-demand
 *     PersistentVolumeClaims (create, get, list, watch, delete, deletecollection,
 *     patch, update).
 * Secrets can be created and deleted but never read or listed.
 *
 * The NetworkPolicy admits to kernel pods only the shim's port from Jupyter pods
 * (--jupyter-selector) and the driver's RPC and block manager ports from this
 * kernel's executors; executor pods are not selected, so driver → executor and
 * executor ↔ executor traffic stays open. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "launcher/commands.h"
#include "launcher/kube_objects.h"

#define RBAC_DEFAULT_SA "spark-k8s"
#define RBAC_DEFAULT_JUPYTER_SELECTOR "spark-k8s.io/jupyter=true"
#define RBAC_DRIVER_PORT 7078
#define RBAC_BLOCK_MANAGER_PORT 7079

struct rbac_rule {
    const char *resource;
    const char *verbs[9];
};

static const struct rbac_rule rbac_rules[] = {
    {"pods", {"create", "get", "list", "watch", "delete", "deletecollection", "patch", NULL}},
    {"services", {"create", "get", "list", "delete", "deletecollection", NULL}},
    {"configmaps", {"create", "get", "list", "delete", "deletecollection", NULL}},
    {"secrets", {"create", "delete", NULL}},
    {"persistentvolumeclaims",
     {"create", "get", "list", "watch", "delete", "deletecollection", "patch", "update", NULL}},
    {"events", {"list", "watch", NULL}},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: spark-k8s rbac --namespace NS [--service-account NAME] "
            "[--jupyter-selector K=V[,K=V...]]\n"
            "\n"
            "Print a v1 List (JSON) with the ServiceAccount, Role, RoleBinding and\n"
            "NetworkPolicy that kernels in namespace NS need; apply it with\n"
            "  spark-k8s rbac --namespace NS | kubectl apply -f -\n"
            "\n"
            "  --namespace NS            namespace of the kernels (required)\n"
            "  --service-account NAME    service account of the launcher and the kernel pods\n"
            "                            (default " RBAC_DEFAULT_SA ")\n"
            "  --jupyter-selector K=V    labels of the Jupyter server pods allowed to reach\n"
            "                            the kernels (default " RBAC_DEFAULT_JUPYTER_SELECTOR ")\n");
}

static void put(json_t *obj, const char *key, json_t *value, int *bad)
{
    if (!value || !obj || json_object_set_new(obj, key, value) < 0)
        *bad = 1;
}

static void push(json_t *array, json_t *value, int *bad)
{
    if (!value || !array || json_array_append_new(array, value) < 0)
        *bad = 1;
}

static int label_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || i == n - 1 || (c != '-' && c != '_' && c != '.')))
            return 0;
    }
    return 1;
}

/* A label key: [prefix/]name, prefix a DNS subdomain (≤ 253). */
static int label_key_ok(const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash)
        return label_name_ok(key, strlen(key));
    size_t plen = (size_t)(slash - key);
    if (plen == 0 || plen > 253)
        return 0;
    for (size_t i = 0; i < plen; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return label_name_ok(slash + 1, strlen(slash + 1));
}

/* "k=v[,k=v...]" → matchLabels object. */
static int parse_selector(const char *text, json_t **out, char *err, size_t errlen)
{
    json_t *labels = json_object();
    char *copy = strdup(text);
    if (!labels || !copy) {
        json_decref(labels);
        free(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *save = NULL;
    int rc = 0;
    for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq) {
            snprintf(err, errlen, "--jupyter-selector: '%s' is not KEY=VALUE", pair);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *value = eq + 1;
        if (!label_key_ok(pair) || (value[0] && !label_name_ok(value, strlen(value)))) {
            snprintf(err, errlen, "--jupyter-selector: '%s=%s' is not a valid label", pair, value);
            rc = -1;
            break;
        }
        json_object_set_new(labels, pair, json_string(value));
    }
    free(copy);
    if (rc == 0 && json_object_size(labels) == 0) {
        snprintf(err, errlen, "--jupyter-selector: empty");
        rc = -1;
    }
    if (rc < 0) {
        json_decref(labels);
        return -1;
    }
    *out = labels;
    return 0;
}

static json_t *meta(const char *name, const char *ns, int *bad)
{
    json_t *m = json_object();
    put(m, "name", json_string(name), bad);
    put(m, "namespace", json_string(ns), bad);
    json_t *labels = json_object();
    put(labels, "app.kubernetes.io/name", json_string("spark-k8s"), bad);
    put(labels, "app.kubernetes.io/managed-by", json_string("spark-k8s"), bad);
    put(m, "labels", labels, bad);
    return m;
}

static json_t *object(const char *api_version, const char *kind, const char *name, const char *ns,
                      int *bad)
{
    json_t *o = json_object();
    put(o, "apiVersion", json_string(api_version), bad);
    put(o, "kind", json_string(kind), bad);
    put(o, "metadata", meta(name, ns, bad), bad);
    return o;
}

static json_t *role(const char *name, const char *ns, int *bad)
{
    json_t *r = object("rbac.authorization.k8s.io/v1", "Role", name, ns, bad);
    json_t *rules = json_array();
    for (size_t i = 0; i < sizeof rbac_rules / sizeof rbac_rules[0]; i++) {
        json_t *rule = json_object();
        json_t *groups = json_array();
        push(groups, json_string(""), bad);
        json_t *resources = json_array();
        push(resources, json_string(rbac_rules[i].resource), bad);
        json_t *verbs = json_array();
        for (size_t v = 0; rbac_rules[i].verbs[v]; v++)
            push(verbs, json_string(rbac_rules[i].verbs[v]), bad);
        put(rule, "apiGroups", groups, bad);
        put(rule, "resources", resources, bad);
        put(rule, "verbs", verbs, bad);
        push(rules, rule, bad);
    }
    put(r, "rules", rules, bad);
    return r;
}

static json_t *role_binding(const char *name, const char *ns, int *bad)
{
    json_t *b = object("rbac.authorization.k8s.io/v1", "RoleBinding", name, ns, bad);
    json_t *subject = json_object();
    put(subject, "kind", json_string("ServiceAccount"), bad);
    put(subject, "name", json_string(name), bad);
    put(subject, "namespace", json_string(ns), bad);
    json_t *subjects = json_array();
    push(subjects, subject, bad);
    put(b, "subjects", subjects, bad);
    json_t *ref = json_object();
    put(ref, "apiGroup", json_string("rbac.authorization.k8s.io"), bad);
    put(ref, "kind", json_string("Role"), bad);
    put(ref, "name", json_string(name), bad);
    put(b, "roleRef", ref, bad);
    return b;
}

static json_t *tcp_port(int port, int *bad)
{
    json_t *p = json_object();
    put(p, "protocol", json_string("TCP"), bad);
    put(p, "port", json_integer(port), bad);
    return p;
}

static json_t *tcp_port_range(int first, int last, int *bad)
{
    json_t *p = tcp_port(first, bad);
    put(p, "endPort", json_integer(last), bad);
    return p;
}

static json_t *ingress_rule(json_t *from_labels, json_t *port_list, int *bad)
{
    json_t *selector = json_object();
    put(selector, "matchLabels", from_labels, bad);
    json_t *peer = json_object();
    put(peer, "podSelector", selector, bad);
    json_t *from = json_array();
    push(from, peer, bad);
    json_t *rule = json_object();
    put(rule, "from", from, bad);
    put(rule, "ports", port_list, bad);
    return rule;
}

static json_t *network_policy(const char *name, const char *ns, json_t *jupyter_labels, int *bad)
{
    json_t *np = object("networking.k8s.io/v1", "NetworkPolicy", name, ns, bad);
    json_t *kernel = json_object();
    put(kernel, "app.kubernetes.io/name", json_string("spark-k8s"), bad);
    put(kernel, "app.kubernetes.io/component", json_string("kernel"), bad);
    json_t *pod_selector = json_object();
    put(pod_selector, "matchLabels", kernel, bad);
    json_t *spec = json_object();
    put(spec, "podSelector", pod_selector, bad);
    json_t *types = json_array();
    push(types, json_string("Ingress"), bad);
    put(spec, "policyTypes", types, bad);
    json_t *ingress = json_array();
    json_t *shim_ports = json_array();
    push(shim_ports, tcp_port_range(KUBE_SHIM_PORT, KUBE_SHIM_PORT + KUBE_SHIM_PORTS - 1, bad), bad);
    push(ingress, ingress_rule(jupyter_labels, shim_ports, bad), bad);
    json_t *executors = json_object();
    put(executors, "app.kubernetes.io/name", json_string("spark-k8s"), bad);
    put(executors, "spark-role", json_string("executor"), bad); /* set by Spark itself */
    json_t *driver_ports = json_array();
    push(driver_ports, tcp_port(RBAC_DRIVER_PORT, bad), bad);
    push(driver_ports, tcp_port(RBAC_BLOCK_MANAGER_PORT, bad), bad);
    push(ingress, ingress_rule(executors, driver_ports, bad), bad);
    put(spec, "ingress", ingress, bad);
    put(np, "spec", spec, bad);
    return np;
}

int cmd_rbac(int argc, char **argv)
{
    static const struct option options[] = {
        {"namespace", required_argument, NULL, 'n'},
        {"service-account", required_argument, NULL, 's'},
        {"jupyter-selector", required_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ns = NULL, *sa = RBAC_DEFAULT_SA, *selector = RBAC_DEFAULT_JUPYTER_SELECTOR;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "n:s:j:h", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            ns = optarg;
            break;
        case 's':
            sa = optarg;
            break;
        case 'j':
            selector = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spark-k8s rbac: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!ns) {
        fprintf(stderr, "spark-k8s rbac: --namespace is required\n");
        usage(stderr);
        return 2;
    }
    if (!kube_is_dns_label(ns)) {
        fprintf(stderr, "spark-k8s rbac: --namespace '%s' is not a DNS-1123 label\n", ns);
        return 2;
    }
    if (!kube_is_dns_label(sa)) {
        fprintf(stderr, "spark-k8s rbac: --service-account '%s' is not a DNS-1123 label\n", sa);
        return 2;
    }
    char err[512];
    json_t *jupyter = NULL;
    if (parse_selector(selector, &jupyter, err, sizeof err) < 0) {
        fprintf(stderr, "spark-k8s rbac: %s\n", err);
        return 2;
    }
    int bad = 0;
    json_t *items = json_array();
    push(items, object("v1", "ServiceAccount", sa, ns, &bad), &bad);
    push(items, role(sa, ns, &bad), &bad);
    push(items, role_binding(sa, ns, &bad), &bad);
    char np_name[KUBE_NAME_MAX + 16];
    snprintf(np_name, sizeof np_name, "%s-kernels", sa);
    push(items, network_policy(np_name, ns, jupyter, &bad), &bad);
    json_t *list = json_object();
    put(list, "apiVersion", json_string("v1"), &bad);
    put(list, "kind", json_string("List"), &bad);
    put(list, "metadata", json_object(), &bad);
    put(list, "items", items, &bad);
    char *text = bad ? NULL : json_dumps(list, JSON_INDENT(2));
    json_decref(list);
    if (!text) {
        fprintf(stderr, "spark-k8s rbac: out of memory\n");
        return 1;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}
