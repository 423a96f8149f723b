/* kube_names.h — the names of a kernel's Kubernetes objects and the label values
 * that carry its id and user: derived from the kernel id ("spark-k8s-<id>", at most
 * 63 characters, DNS-1123 and DNS-1035 safe), with a hash suffix wherever the text had
 * to change, so distinct ids stay distinct. */
#ifndef SPARK_K8S_KUBE_NAMES_H
#define SPARK_K8S_KUBE_NAMES_H

#include "launcher/sys/errmsg.h"

#define KUBE_NAME_MAX 63

/* The names of a kernel's objects. */
struct kube_names {
    char base[KUBE_NAME_MAX + 1];      /* pod and service: "spark-k8s-<id>" */
    char secret[KUBE_NAME_MAX + 1];    /* base + "-keys" (Secret names may be 253) */
    char configmap[KUBE_NAME_MAX + 1]; /* base + "-conf" */
    char kernel_label[KUBE_NAME_MAX + 1]; /* the id as a label value */
};

/* Derive names from KERNEL_ID: lower-cased, anything outside [a-z0-9-] becomes
 * '-', and when that changed or shortened the id, 8 hex digits of its SHA-256 are
 * appended so distinct ids stay distinct. */
int kube_names_for(const char *kernel_id, struct kube_names *names, struct error *err);

/* TEXT as a label value (≤ 63, [A-Za-z0-9] at both ends, [-A-Za-z0-9_.] inside),
 * with a hash suffix when it had to change; "" stays "". OUT has 64 bytes. */
void kube_label_value(const char *text, char out[KUBE_NAME_MAX + 1]);

/* 1 if NAME is a DNS-1123 label (≤ 63, [a-z0-9-], alphanumeric at both ends). */
int kube_is_dns_label(const char *name);

#endif
