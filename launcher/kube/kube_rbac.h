/* kube_rbac.h — what a namespace needs before kernels can run in it: the
 * ServiceAccount, Role and RoleBinding of the launcher, the shim and the Spark driver,
 * and the NetworkPolicies of kernel, executor and (with egress) Jupyter pods, as one
 * v1 List for `kubectl apply -f -` (`spark-k8s rbac` prints it).
 *
 * The Role is what the launcher, the shim and the Spark driver in the kernel pod call,
 * and nothing more (rbac_rules in kube_rbac.c, proven against the calls a real Spark
 * 3.5 and 4.1 make). Secrets can be created but never read, listed or deleted. Spark
 * features that are off by default need more: on-demand executor PVCs
 * (persistentvolumeclaims create, get, patch), decommission labels or deletion costs
 * (pods patch).
 *
 * The NetworkPolicies admit to kernel pods only the shim's ports and Spark Connect's
 * from Jupyter pods (the Jupyter selector) and the driver's RPC and block manager ports
 * from executors; to executor pods only block manager traffic from kernels and other
 * executors (shuffle). With egress (a namespace that denies egress by default) they
 * also allow what each needs out: DNS, the API server (kernels and Jupyter pods), the
 * driver's ports (executors), the executors' block managers, the shim's ports (Jupyter
 * pods). Storage (S3, HDFS) egress is the admin's to add. */
#ifndef SPARK_K8S_KUBE_RBAC_H
#define SPARK_K8S_KUBE_RBAC_H

#include <jansson.h>
#include <stddef.h>

#include "launcher/sys/errmsg.h"

#define KUBE_RBAC_DEFAULT_SA "spark-k8s"
#define KUBE_RBAC_DEFAULT_JUPYTER_SELECTOR "spark-k8s.io/jupyter=true"
#define KUBE_RBAC_CONNECT_PORT 15002
#define KUBE_RBAC_MAX_API_PORTS 4

struct kube_rbac_options {
    const char *namespace;        /* a DNS-1123 label (checked by the caller) */
    const char *service_account;  /* ditto, at most KUBE_NAME_MAX - 10 characters */
    const char *jupyter_selector; /* the Jupyter server pods' labels, "k=v[,k=v...]" */
    int egress;                   /* egress rules too (namespaces that deny egress) */
    int connect_port;             /* Spark Connect in the kernel pods; 0: none */
    int api_ports[KUBE_RBAC_MAX_API_PORTS]; /* the API server's ports; none: 443 and 6443 */
    size_t n_api_ports;
    const char *api_cidr;         /* where the API server is, "0.0.0.0/0" when unknown */
    const char *dns_namespace;    /* the namespace of the kube-dns pods */
};

/* The v1 List for O into *OUT (the caller's reference). 0, or -1 with ERR: a Jupyter
 * selector that is no set of labels, or out of memory. */
int kube_rbac_list(const struct kube_rbac_options *o, json_t **out, struct error *err);

#endif
