/* kube_rbac.c — the RBAC objects and NetworkPolicies of a namespace (see kube_rbac.h). */
#include "launcher/kube/kube_rbac.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/kube/kube_json.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/sys/errmsg.h"

#define RBAC_DRIVER_PORT 7078
#define RBAC_BLOCK_MANAGER_PORT 7079

struct rbac_rule {
    const char *resource;
    const char *verbs[9];
};

/* Exactly the calls made (tests/kubernetes/test_spark_on_kubernetes.py derives them from
 * what the fake API server recorded, Spark 3.5 and 4.1 alike). */
static const struct rbac_rule rbac_rules[] = {
    /* launcher: the kernel pod (create, watch, delete; get: its own pod, the owner);
     * driver: its own pod (get), executor pods (create, list, watch, delete, and
     * deletecollection when it stops); shim: its own pod (delete, by the watchdog) */
    {"pods", {"create", "get", "list", "watch", "delete", "deletecollection", NULL}},
    /* launcher: the headless service; driver: deletes its own services when it stops */
    {"services", {"create", "deletecollection", NULL}},
    /* launcher: spark-defaults and the executor template; driver: the executors' conf */
    {"configmaps", {"create", "deletecollection", NULL}},
    /* launcher: the kernel's keys (never read back; garbage collection deletes them) */
    {"secrets", {"create", NULL}},
    /* driver: looks for reusable claims, deletes its own when it stops */
    {"persistentvolumeclaims", {"list", "deletecollection", NULL}},
    /* launcher: the progress of a starting pod */
    {"events", {"list", "watch", NULL}},
};
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
static int parse_selector(const char *text, json_t **out, struct error *err)
{
    json_t *labels = json_object();
    char *copy = strdup(text);
    if (!labels || !copy) {
        json_decref(labels);
        free(copy);
        error_nomem(err);
        return -1;
    }
    char *save = NULL;
    int rc = 0;
    for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq) {
            error_set(err, ERR_INPUT, "--jupyter-selector: '%s' is not KEY=VALUE", pair);
            rc = -1;
            break;
        }
        *eq = '\0';
        const char *value = eq + 1;
        if (!label_key_ok(pair) || (value[0] && !label_name_ok(value, strlen(value)))) {
            error_set(err, ERR_INPUT, "--jupyter-selector: '%s=%s' is not a valid label", pair, value);
            rc = -1;
            break;
        }
        json_object_set_new(labels, pair, json_string(value));
    }
    free(copy);
    if (rc == 0 && json_object_size(labels) == 0) {
        error_set(err, ERR_INPUT, "--jupyter-selector: empty");
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

static json_t *port_of(const char *protocol, int port, int *bad)
{
    json_t *p = tcp_port(port, bad);
    put(p, "protocol", json_string(protocol), bad);
    return p;
}

static json_t *tcp_port_range(int first, int last, int *bad)
{
    json_t *p = tcp_port(first, bad);
    put(p, "endPort", json_integer(last), bad);
    return p;
}

/* {"app.kubernetes.io/name": "spark-k8s", "app.kubernetes.io/component": COMPONENT}:
 * the labels the launcher puts on kernel pods and, through the executor pod template,
 * on executor pods. */
static json_t *component(const char *name, int *bad)
{
    json_t *labels = json_object();
    put(labels, "app.kubernetes.io/name", json_string("spark-k8s"), bad);
    put(labels, "app.kubernetes.io/component", json_string(name), bad);
    return labels;
}

static json_t *pods(json_t *labels, int *bad)
{
    json_t *selector = json_object();
    put(selector, "matchLabels", labels, bad);
    json_t *peer = json_object();
    put(peer, "podSelector", selector, bad);
    return peer;
}

/* One rule: from (ingress) or to (egress) these PEERS (NULL: anywhere) on these PORTS. */
static json_t *rule(const char *direction, json_t *peers, json_t *ports, int *bad)
{
    json_t *r = json_object();
    if (peers)
        put(r, direction, peers, bad);
    put(r, "ports", ports, bad);
    return r;
}

static json_t *one(json_t *item, int *bad)
{
    json_t *list = json_array();
    push(list, item, bad);
    return list;
}

static json_t *two(json_t *a, json_t *b, int *bad)
{
    json_t *list = one(a, bad);
    push(list, b, bad);
    return list;
}

struct netpol_options {
    json_t *jupyter;        /* labels of the Jupyter server pods (borrowed) */
    int egress;             /* render egress rules too (namespaces that deny egress) */
    int connect_port;       /* Spark Connect in the kernel pods */
    int api_ports[KUBE_RBAC_MAX_API_PORTS]; /* the API server's ports (443, 6443) */
    size_t n_api_ports;
    const char *api_cidr;   /* where the API server is, "0.0.0.0/0" when unknown */
    const char *dns_namespace;
};

/* Egress to the cluster DNS (kube-dns pods, UDP and TCP 53). */
static json_t *dns_rule(const struct netpol_options *o, int *bad)
{
    json_t *ns_labels = json_object();
    put(ns_labels, "kubernetes.io/metadata.name", json_string(o->dns_namespace), bad);
    json_t *ns_selector = json_object();
    put(ns_selector, "matchLabels", ns_labels, bad);
    json_t *dns_labels = json_object();
    put(dns_labels, "k8s-app", json_string("kube-dns"), bad);
    json_t *pod_selector = json_object();
    put(pod_selector, "matchLabels", dns_labels, bad);
    json_t *peer = json_object();
    put(peer, "namespaceSelector", ns_selector, bad);
    put(peer, "podSelector", pod_selector, bad);
    return rule("to", one(peer, bad), two(port_of("UDP", 53, bad), port_of("TCP", 53, bad), bad),
                bad);
}

/* Egress to the API server, which is no pod: its address block and ports. */
static json_t *api_rule(const struct netpol_options *o, int *bad)
{
    json_t *block = json_object();
    put(block, "cidr", json_string(o->api_cidr), bad);
    json_t *peer = json_object();
    put(peer, "ipBlock", block, bad);
    json_t *ports = json_array();
    for (size_t i = 0; i < o->n_api_ports; i++)
        push(ports, tcp_port(o->api_ports[i], bad), bad);
    return rule("to", one(peer, bad), ports, bad);
}

static json_t *policy(const char *name, const char *ns, json_t *selected, json_t *ingress,
                      json_t *egress, int *bad)
{
    json_t *np = object("networking.k8s.io/v1", "NetworkPolicy", name, ns, bad);
    json_t *spec = json_object();
    json_t *pod_selector = json_object();
    put(pod_selector, "matchLabels", selected, bad);
    put(spec, "podSelector", pod_selector, bad);
    json_t *types = json_array();
    if (ingress)
        push(types, json_string("Ingress"), bad);
    if (egress)
        push(types, json_string("Egress"), bad);
    put(spec, "policyTypes", types, bad);
    if (ingress)
        put(spec, "ingress", ingress, bad);
    if (egress)
        put(spec, "egress", egress, bad);
    put(np, "spec", spec, bad);
    return np;
}

/* Kernel pods: the shim's ports, Spark Connect and the Spark UI from Jupyter pods, the driver's RPC and
 * block manager ports from executors; out (with egress) to DNS, the API server and the
 * executors' block managers. */
static json_t *kernel_policy(const char *name, const char *ns, const struct netpol_options *o,
                             int *bad)
{
    json_t *from_jupyter = json_array();
    push(from_jupyter, tcp_port_range(KUBE_SHIM_PORT, KUBE_SHIM_PORT + KUBE_SHIM_PORTS - 1, bad),
         bad);
    if (o->connect_port)
        push(from_jupyter, tcp_port(o->connect_port, bad), bad);
    push(from_jupyter, tcp_port(KUBE_SPARK_UI_PORT, bad), bad); /* the UI, through Jupyter */
    json_t *ingress = two(rule("from", one(pods(json_deep_copy(o->jupyter), bad), bad), from_jupyter,
                               bad),
                          rule("from", one(pods(component("executor", bad), bad), bad),
                               two(tcp_port(RBAC_DRIVER_PORT, bad),
                                   tcp_port(RBAC_BLOCK_MANAGER_PORT, bad), bad),
                               bad),
                          bad);
    json_t *egress = NULL;
    if (o->egress) {
        egress = two(dns_rule(o, bad), api_rule(o, bad), bad);
        push(egress, rule("to", one(pods(component("executor", bad), bad), bad),
                          one(tcp_port(RBAC_BLOCK_MANAGER_PORT, bad), bad), bad),
             bad);
    }
    return policy(name, ns, component("kernel", bad), ingress, egress, bad);
}

/* Executor pods: block manager traffic from their driver and from each other (shuffle);
 * out (with egress) to DNS, the driver's ports and the other executors. */
static json_t *executor_policy(const char *name, const char *ns, const struct netpol_options *o,
                               int *bad)
{
    json_t *ingress = one(rule("from", two(pods(component("kernel", bad), bad),
                                           pods(component("executor", bad), bad), bad),
                               one(tcp_port(RBAC_BLOCK_MANAGER_PORT, bad), bad), bad),
                          bad);
    json_t *egress = NULL;
    if (o->egress) {
        egress = one(dns_rule(o, bad), bad);
        push(egress, rule("to", one(pods(component("kernel", bad), bad), bad),
                          two(tcp_port(RBAC_DRIVER_PORT, bad), tcp_port(RBAC_BLOCK_MANAGER_PORT, bad),
                              bad),
                          bad),
             bad);
        push(egress, rule("to", one(pods(component("executor", bad), bad), bad),
                          one(tcp_port(RBAC_BLOCK_MANAGER_PORT, bad), bad), bad),
             bad);
    }
    return policy(name, ns, component("executor", bad), ingress, egress, bad);
}

/* Jupyter server pods (egress only, and only on request: selecting them for egress
 * limits their egress to this): the kernel pods' shim, Connect and UI ports, the API
 * server, DNS. */
static json_t *jupyter_policy(const char *name, const char *ns, const struct netpol_options *o,
                              int *bad)
{
    json_t *to_kernels = json_array();
    push(to_kernels, tcp_port_range(KUBE_SHIM_PORT, KUBE_SHIM_PORT + KUBE_SHIM_PORTS - 1, bad),
         bad);
    if (o->connect_port)
        push(to_kernels, tcp_port(o->connect_port, bad), bad);
    push(to_kernels, tcp_port(KUBE_SPARK_UI_PORT, bad), bad);
    json_t *egress = two(dns_rule(o, bad), api_rule(o, bad), bad);
    push(egress, rule("to", one(pods(component("kernel", bad), bad), bad), to_kernels, bad), bad);
    return policy(name, ns, json_deep_copy(o->jupyter), NULL, egress, bad);
}

int kube_rbac_list(const struct kube_rbac_options *o, json_t **out, struct error *err)
{
    *out = NULL;
    struct netpol_options np = {.egress = o->egress, .connect_port = o->connect_port,
                                .api_cidr = o->api_cidr, .dns_namespace = o->dns_namespace};
    for (size_t i = 0; i < o->n_api_ports && i < KUBE_RBAC_MAX_API_PORTS; i++)
        np.api_ports[np.n_api_ports++] = o->api_ports[i];
    if (np.n_api_ports == 0) {
        np.api_ports[np.n_api_ports++] = 443;
        np.api_ports[np.n_api_ports++] = 6443;
    }
    if (parse_selector(o->jupyter_selector, &np.jupyter, err) < 0)
        return -1;
    const char *ns = o->namespace, *sa = o->service_account;
    int bad = 0;
    json_t *items = json_array();
    push(items, object("v1", "ServiceAccount", sa, ns, &bad), &bad);
    push(items, role(sa, ns, &bad), &bad);
    push(items, role_binding(sa, ns, &bad), &bad);
    char name[KUBE_NAME_MAX + 16];
    snprintf(name, sizeof name, "%s-kernels", sa);
    push(items, kernel_policy(name, ns, &np, &bad), &bad);
    snprintf(name, sizeof name, "%s-executors", sa);
    push(items, executor_policy(name, ns, &np, &bad), &bad);
    if (np.egress) {
        snprintf(name, sizeof name, "%s-jupyter", sa);
        push(items, jupyter_policy(name, ns, &np, &bad), &bad);
    }
    json_decref(np.jupyter);
    json_t *list = kube_json_list(items, &bad);
    if (bad) {
        json_decref(list);
        return error_nomem(err);
    }
    *out = list;
    return 0;
}
