/* kube_cli.c — test driver for the Kubernetes client and objects (not part of
 * the product): lets pytest exercise launcher/kube_*.c against the fake API
 * server with the real configuration loading, TLS and watch code.
 *
 *   kube-cli render INPUTS.json           print kube_render_list's List
 *   kube-cli create PATH FILE.json        POST; print the stored object
 *   kube-cli get PATH | delete PATH
 *   kube-cli list PATH [LABEL_SELECTOR [FIELD_SELECTOR]]
 *   kube-cli watch PATH COUNT [FIELD_SELECTOR]
 *       print COUNT events as JSON lines, then {"resumes":N,"relists":M}
 *   kube-cli apply-kernel INPUTS.json     create Pod, then Secret, Service and
 *       ConfigMap owned by it (as the kubernetes runtime does); print the List sent
 *
 * Configuration as the launcher finds it (KUBECONFIG, in-cluster, ~/.kube/config).
 * Errors: one line on stderr "code=C reason=R message=M", exit 1. */
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/kube/kube_client.h"
#include "launcher/kube/kube_objects.h"
#include "launcher/sys/yaml_json.h"

static int fail_status(const struct kube_status *st)
{
    fprintf(stderr, "code=%ld reason=%s message=%s\n", st->code, st->reason, st->message);
    return 1;
}

static void print_json(const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
    if (text) {
        puts(text);
        free(text);
    }
    fflush(stdout);
}

static const char *opt_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int opt_int(json_t *obj, const char *key)
{
    return (int)json_integer_value(json_object_get(obj, key));
}

/* Fill IN from the inputs file; borrowed strings point into *doc, the template
 * into *tmpl, the pull-secret list into SECRETS (room for 8). */
static int load_inputs(const char *path, struct kube_inputs *in, json_t **doc, json_t **tmpl,
                       const char **secrets)
{
    struct error err = {0};
    *tmpl = NULL;
    if (yaml_json_load_file(path, doc, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return -1;
    }
    json_t *d = *doc;
    memset(in, 0, sizeof *in);
    in->kernel_id = opt_str(d, "kernel_id");
    in->user = opt_str(d, "user");
    in->namespace = opt_str(d, "namespace");
    in->driver_image = opt_str(d, "driver_image");
    in->image_pull_policy = opt_str(d, "image_pull_policy");
    in->service_account = opt_str(d, "service_account");
    in->cpu_request = opt_str(d, "cpu_request");
    in->cpu_limit = opt_str(d, "cpu_limit");
    in->memory_request = opt_str(d, "memory_request");
    in->memory_limit = opt_str(d, "memory_limit");
    in->driver_gpus = opt_int(d, "driver_gpus");
    in->executor_gpus = opt_int(d, "executor_gpus");
    in->shim_port = opt_int(d, "shim_port");
    in->watchdog_s = opt_int(d, "watchdog_s");
    in->spark_defaults = opt_str(d, "spark_defaults");
    in->log4j2 = opt_str(d, "log4j2");
    in->node_selector = json_object_get(d, "node_selector");
    in->tolerations = json_object_get(d, "tolerations");
    in->executor_node_selector = json_object_get(d, "executor_node_selector");
    in->executor_tolerations = json_object_get(d, "executor_tolerations");
    in->warehouse_claim = opt_str(d, "warehouse_claim");
    in->warehouse_path = opt_str(d, "warehouse_path");
    in->s3_credentials_secret = opt_str(d, "s3_credentials_secret");
    in->owner_pod_name = opt_str(d, "owner_pod_name");
    in->owner_pod_uid = opt_str(d, "owner_pod_uid");
    in->hmac_key = opt_str(d, "hmac_key");
    in->server_secret_key = opt_str(d, "server_secret_key");
    in->server_public_key = opt_str(d, "server_public_key");
    in->client_public_key = opt_str(d, "client_public_key");
    in->redact = json_is_true(json_object_get(d, "redact"));
    size_t i, n = 0;
    json_t *item;
    json_array_foreach(json_object_get(d, "image_pull_secrets"), i, item) {
        if (n < 7 && json_is_string(item))
            secrets[n++] = json_string_value(item);
    }
    secrets[n] = NULL;
    in->image_pull_secrets = n ? secrets : NULL;
    const char *tmpl_path = opt_str(d, "pod_template_file");
    if (tmpl_path) {
        if (yaml_json_load_file(tmpl_path, tmpl, &err) < 0) {
            fprintf(stderr, "%s\n", err.text);
            json_decref(*doc);
            return -1;
        }
        in->pod_template = *tmpl;
    }
    return 0;
}

static int cmd_render(const char *path)
{
    struct kube_inputs in;
    json_t *doc = NULL, *tmpl = NULL, *list = NULL;
    const char *secrets[8];
    if (load_inputs(path, &in, &doc, &tmpl, secrets) < 0)
        return 2;
    struct error err = {0};
    int rc = kube_render_list(&in, &list, &err);
    if (rc == 0)
        print_json(list);
    else
        fprintf(stderr, "%s\n", err.text);
    json_decref(list);
    json_decref(doc);
    json_decref(tmpl);
    return rc == 0 ? 0 : 2;
}

static int create_owned(struct kube_client *client, const char *ns, const char *resource,
                        json_t *obj, const char *pod_name, const char *pod_uid, json_t *sent)
{
    struct kube_status st;
    char path[512];
    kube_path(path, sizeof path, "v1", ns, resource, NULL);
    if (kube_objects_set_owner(obj, pod_name, pod_uid) < 0) {
        fprintf(stderr, "cannot set the owner\n");
        return -1;
    }
    if (kube_create(client, path, obj, NULL, &st) < 0)
        return fail_status(&st) ? -1 : -1;
    json_array_append(sent, obj);
    return 0;
}

static int cmd_apply_kernel(struct kube_client *client, const char *path)
{
    struct kube_inputs in;
    json_t *doc = NULL, *tmpl = NULL;
    const char *secrets[8];
    if (load_inputs(path, &in, &doc, &tmpl, secrets) < 0)
        return 2;
    struct error err = {0};
    json_t *pod = NULL, *secret = NULL, *svc = NULL, *cm = NULL, *created = NULL;
    json_t *sent = json_array();
    int rc = 1;
    if (kube_build_pod(&in, &pod, &err) < 0 ||
        kube_build_secret(&in, &secret, &err) < 0 ||
        kube_build_service(&in, &svc, &err) < 0 ||
        kube_build_configmap(&in, &cm, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        rc = 2;
        goto done;
    }
    struct kube_status st;
    char pods[512];
    kube_path(pods, sizeof pods, "v1", in.namespace, "pods", NULL);
    if (kube_create(client, pods, pod, &created, &st) < 0) {
        fail_status(&st);
        goto done;
    }
    json_array_append(sent, pod);
    json_t *meta = json_object_get(created, "metadata");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    if (!name || !uid) {
        fprintf(stderr, "created pod has no name or uid\n");
        goto done;
    }
    if (create_owned(client, in.namespace, "secrets", secret, name, uid, sent) < 0 ||
        create_owned(client, in.namespace, "services", svc, name, uid, sent) < 0 ||
        create_owned(client, in.namespace, "configmaps", cm, name, uid, sent) < 0)
        goto done;
    json_t *list = json_pack("{s:s, s:s, s:O}", "apiVersion", "v1", "kind", "List", "items", sent);
    print_json(list);
    json_decref(list);
    rc = 0;
done:
    json_decref(sent);
    json_decref(created);
    json_decref(pod);
    json_decref(secret);
    json_decref(svc);
    json_decref(cm);
    json_decref(doc);
    json_decref(tmpl);
    return rc;
}

static int cmd_watch(struct kube_client *client, const char *path, long count,
                     const char *field_selector)
{
    struct kube_status st;
    struct kube_watch *w = NULL;
    if (kube_watch_open(client, path, NULL, field_selector, &w, &st) < 0)
        return fail_status(&st);
    long seen = 0;
    int rc = 0;
    while (seen < count) {
        char type[16];
        json_t *obj = NULL;
        while (seen < count && kube_watch_next(w, type, &obj) == 1) {
            json_t *line = json_pack("{s:s, s:o}", "type", type, "object", obj);
            print_json(line);
            json_decref(line);
            seen++;
        }
        if (seen >= count)
            break;
        struct kube_watch_fd fds[8];
        struct pollfd pfds[8];
        size_t n = 0;
        long timeout_ms = -1;
        kube_watch_fds(w, fds, 8, &n, &timeout_ms);
        for (size_t i = 0; i < n; i++) {
            pfds[i].fd = fds[i].fd;
            pfds[i].events = fds[i].events;
            pfds[i].revents = 0;
        }
        poll(pfds, n, timeout_ms > 1000 || timeout_ms < 0 ? 1000 : (int)timeout_ms);
        if (kube_watch_process(w, &st) < 0) {
            rc = fail_status(&st);
            break;
        }
    }
    unsigned resumes = 0, relists = 0;
    kube_watch_counts(w, &resumes, &relists);
    printf("{\"resumes\":%u,\"relists\":%u}\n", resumes, relists);
    kube_watch_free(w);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: kube-cli render|create|get|list|delete|watch|apply-kernel ...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "render") == 0)
        return cmd_render(argv[2]);
    struct error err = {0};
    struct kube_config *cfg = NULL;
    if (kube_config_load_default(&cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return 2;
    }
    struct kube_client *client = NULL;
    if (kube_client_new(cfg, &client, &err) < 0) {
        kube_config_free(cfg);
        fprintf(stderr, "%s\n", err.text);
        return 2;
    }
    struct kube_status st;
    int rc = 0;
    json_t *obj = NULL;
    if (strcmp(cmd, "get") == 0) {
        rc = kube_get(client, argv[2], &obj, &st) < 0 ? fail_status(&st) : 0;
    } else if (strcmp(cmd, "list") == 0) {
        rc = kube_list(client, argv[2], argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL, &obj,
                       &st) < 0
                 ? fail_status(&st)
                 : 0;
    } else if (strcmp(cmd, "delete") == 0) {
        int d = kube_delete(client, argv[2], &st);
        if (d < 0)
            rc = fail_status(&st);
        else
            printf("%s\n", d == 1 ? "gone" : "deleted");
    } else if (strcmp(cmd, "create") == 0 && argc > 3) {
        json_t *body = NULL;
        if (yaml_json_load_file(argv[3], &body, &err) < 0) {
            fprintf(stderr, "%s\n", err.text);
            rc = 2;
        } else {
            rc = kube_create(client, argv[2], body, &obj, &st) < 0 ? fail_status(&st) : 0;
            json_decref(body);
        }
    } else if (strcmp(cmd, "watch") == 0 && argc > 3) {
        rc = cmd_watch(client, argv[2], strtol(argv[3], NULL, 10), argc > 4 ? argv[4] : NULL);
    } else if (strcmp(cmd, "apply-kernel") == 0) {
        rc = cmd_apply_kernel(client, argv[2]);
    } else {
        rc = usage();
    }
    if (obj)
        print_json(obj);
    json_decref(obj);
    kube_client_free(client);
    return rc;
}
