/* kube_names.c — a kernel's object names and label values from its id (see
 * kube_names.h). */
#include "launcher/kube/kube_names.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static int is_lower_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(int c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

int kube_is_dns_label(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > KUBE_NAME_MAX)
        return 0;
    if (!is_lower_alnum((unsigned char)name[0]) || !is_lower_alnum((unsigned char)name[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum((unsigned char)name[i]) && name[i] != '-')
            return 0;
    return 1;
}

static void hash8(const char *text, char out[9])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)text, strlen(text), digest);
    for (int i = 0; i < 4; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* Cut S to at most MAX characters and then drop trailing characters that may
 * not end a name or label. */
static void trim_end(char *s, size_t max, int (*ok_end)(int))
{
    if (strlen(s) > max)
        s[max] = '\0';
    size_t n = strlen(s);
    while (n > 0 && !ok_end((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* BUF (SIZE bytes), cut to leave room, with "-" and 8 hex digits of TEXT's SHA-256
 * appended, MAX characters at most: the text had to change, and stays distinct. */
static void add_hash(char *buf, size_t size, size_t max, const char *text, int (*ok_end)(int))
{
    char hash[9];
    hash8(text, hash);
    trim_end(buf, max - 9, ok_end);
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s", len ? "-" : "", hash);
}

int kube_names_for(const char *kernel_id, struct kube_names *names, struct error *err)
{
    static const char prefix[] = "spark-k8s-";
    /* base + "-keys" must stay a valid 63-character label too */
    const size_t id_max = KUBE_NAME_MAX - 5 - (sizeof prefix - 1);
    memset(names, 0, sizeof *names);
    if (!kernel_id || !kernel_id[0]) {
        error_set(err, ERR_INPUT, "kernel id: empty");
        return -1;
    }
    char id[KUBE_NAME_MAX + 1];
    size_t n = 0;
    int changed = 0;
    const char *p = kernel_id;
    for (; *p && n < sizeof id - 1; p++) {
        int c = (unsigned char)*p;
        if (c >= 'A' && c <= 'Z') {
            c = c - 'A' + 'a';
            changed = 1;
        } else if (!is_lower_alnum(c) && c != '-') {
            c = '-';
            changed = 1;
        }
        if (n == 0 && c == '-') { /* a name starts with a letter or digit */
            changed = 1;
            continue;
        }
        id[n++] = (char)c;
    }
    id[n] = '\0';
    if (*p)
        changed = 1;
    if (strlen(id) > id_max)
        changed = 1;
    if (changed)
        add_hash(id, sizeof id, id_max, kernel_id, is_lower_alnum);
    trim_end(id, id_max, is_lower_alnum);
    snprintf(names->base, sizeof names->base, "%s%.48s", prefix, id);
    snprintf(names->secret, sizeof names->secret, "%.58s-keys", names->base);
    snprintf(names->configmap, sizeof names->configmap, "%.58s-conf", names->base);
    kube_label_value(kernel_id, names->kernel_label);
    return 0;
}

static int label_char(int c)
{
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

static int label_end(int c)
{
    return is_alnum(c);
}

void kube_label_value(const char *text, char out[KUBE_NAME_MAX + 1])
{
    out[0] = '\0';
    if (!text || !text[0])
        return;
    char buf[KUBE_NAME_MAX + 1];
    size_t n = 0;
    int changed = 0;
    const char *p = text;
    while (*p && !label_end((unsigned char)*p)) {
        p++;
        changed = 1;
    }
    for (; *p && n < KUBE_NAME_MAX; p++) {
        int c = (unsigned char)*p;
        if (!label_char(c)) {
            c = '-';
            changed = 1;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    if (*p)
        changed = 1;
    size_t before = strlen(buf);
    trim_end(buf, KUBE_NAME_MAX, label_end);
    if (strlen(buf) != before)
        changed = 1;
    if (changed)
        add_hash(buf, sizeof buf, KUBE_NAME_MAX, text, label_end);
    memcpy(out, buf, strlen(buf) + 1);
}

