/* kube_config.h — where the Kubernetes API is and how to authenticate to it.
 *
 * Two sources, as client-go has them:
 *   in-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT and the service
 *     account directory (token, ca.crt, namespace; default
 *     /var/run/secrets/kubernetes.io/serviceaccount, SPARK_K8S_SA_DIR overrides it);
 *   kubeconfig: KUBECONFIG (first existing file of a ':'-separated list) or
 *     ~/.kube/config — current context → cluster (server, certificate-authority or
 *     -data) and user (token, tokenFile, client-certificate(-data) + client-key(-data)).
 * TLS is always verified: insecure-skip-tls-verify is refused, and so are exec and
 * auth-provider plugins ("unsupported auth method 'exec' in kubeconfig F user U").
 * A kube_config owns all its strings; kube_config_free releases it. */
#ifndef SPARK_K8S_KUBE_CONFIG_H
#define SPARK_K8S_KUBE_CONFIG_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

struct kube_blob {      /* PEM bytes, either read from a file or decoded from *-data */
    char *data;
    size_t len;
};

struct kube_config {
    char *source;       /* "in-cluster (DIR)" or the kubeconfig path: for messages */
    char *context;      /* kubeconfig context name, NULL in-cluster */
    char *user;         /* kubeconfig user name, NULL in-cluster */
    char *server;       /* "https://host:port", no trailing slash */
    char *namespace;    /* the context's or service account's namespace; "default" */
    char *token;        /* bearer token given inline, or NULL */
    char *token_file;   /* file re-read before each request (rotated tokens), or NULL */
    struct kube_blob ca;        /* CA bundle PEM, or {NULL,0}: system trust store */
    struct kube_blob client_cert;
    struct kube_blob client_key;
    int in_cluster;     /* 1 when read from the service account */
};

/* Kubeconfig at PATH. CONTEXT NULL → current-context. */
int kube_config_load_kubeconfig(const char *path, const char *context, struct kube_config **out,
                                struct error *err);

/* In-cluster: HOST and PORT as in KUBERNETES_SERVICE_HOST/PORT, SA_DIR the service
 * account directory (token required, ca.crt required, namespace optional). */
int kube_config_load_incluster(const char *host, const char *port, const char *sa_dir,
                               struct kube_config **out, struct error *err);

/* The process's configuration: KUBECONFIG if set, else in-cluster if
 * KUBERNETES_SERVICE_HOST is set, else ~/.kube/config. */
int kube_config_load_default(struct kube_config **out, struct error *err);

void kube_config_free(struct kube_config *cfg);

/* The bearer token to send now (re-reads token_file); NULL when none.
 * Returns a new string the caller frees, or NULL with err set on a read error
 * (then *failed is 1). */
char *kube_config_token(const struct kube_config *cfg, int *failed, struct error *err);

#endif
