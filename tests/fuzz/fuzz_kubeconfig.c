/* fuzz_kubeconfig.c — libFuzzer harness for the kubeconfig reader.
 *
 * The input is a kubeconfig file (YAML or JSON), read with
 * kube_config_load_kubeconfig for its current context. Checks: what loads has an
 * https server without a trailing slash, a namespace, a client certificate only
 * with its key, and a token that can be read (or a clear reason why not); what
 * is refused says why. Files the input names are read as the reader reads them
 * (at most 1 MiB). Includes launcher/kube/kube_config.c to parse from memory, as
 * kube_config_load_kubeconfig does after reading the file (a file per run would
 * make the target twenty times slower). */
#include "launcher/kube/kube_config.c"

#include <stdint.h>

#include "tests/fuzz/fuzz_util.h"

static const char path[] = "/fuzz/kubeconfig";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    struct error err = {0};
    if (yaml_json_parse((const char *)data, size, path, &doc, &err) != 0) {
        fuzz_check(err.text[0] != '\0', "a refusal says why");
        return 0;
    }
    struct kube_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || copy_string(&cfg->source, path, &err))
        abort();
    int rc = parse_kubeconfig(path, doc, NULL, cfg, &err);
    json_decref(doc);
    if (rc != 0) {
        fuzz_check(err.text[0] != '\0', "a refusal says why");
        kube_config_free(cfg);
        return 0;
    }
    fuzz_check(cfg->server && strncmp(cfg->server, "https://", 8) == 0, "an https server");
    size_t n = strlen(cfg->server);
    fuzz_check(n <= 8 || cfg->server[n - 1] != '/', "no trailing slash");
    fuzz_check(cfg->namespace && cfg->namespace[0], "a namespace");
    fuzz_check(!cfg->client_cert.data == !cfg->client_key.data, "a certificate with its key");
    fuzz_check(!cfg->in_cluster && cfg->source && strcmp(cfg->source, path) == 0, "the source");
    int failed = 0;
    char *token = kube_config_token(cfg, &failed, &err);
    if (token)
        fuzz_check(token[0] != '\0' && !strpbrk(token, " \t\r\n"), "a token is one word");
    else if (failed)
        fuzz_check(err.text[0] != '\0', "a token that cannot be read says why");
    free(token);
    kube_config_free(cfg);
    return 0;
}
