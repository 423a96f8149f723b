/* fuzz_config.c — libFuzzer harness for the admin config file.
 *
 * The input is the file's JSON, read as settings_from_config_file reads it
 * (admin layer: every setting allowed, plus spark_conf). Checks: what is
 * accepted passes each setting's own check, every extra property passes the
 * key and value checks, and spark-defaults.conf made of them says exactly its
 * properties. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "launcher/plan/config.h"
#include "launcher/plan/sparkconf.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!root)
        return 0;
    struct settings s;
    memset(&s, 0, sizeof s);
    struct error err = {0};
    int rc = settings_from_json(&s, root, "config file /etc/spark-k8s/config.json", "", 0, &err);
    if (rc != 0) {
        fuzz_check(err.text[0] != '\0', "a refusal says why");
    } else {
        for (int id = 0; id < SETTING_COUNT; id++)
            if (s.values[id].value)
                fuzz_check(setting_check(id, s.values[id].value, "fuzz", &err) == 0,
                           "an accepted setting passes its check");
        struct sparkconf *conf = sparkconf_new();
        if (!conf)
            abort();
        for (size_t i = 0; i < s.n_extra; i++) {
            fuzz_check(!sparkconf_reserved(s.extra[i].key), "no reserved key");
            fuzz_check(sparkconf_set(conf, s.extra[i].key, s.extra[i].value, s.extra[i].source,
                                     &err) == 0,
                       "an accepted property can be set");
        }
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem)
            abort();
        fuzz_check(sparkconf_print(conf, mem, "spark-k8s: fuzz", 1) == 0, "print");
        fclose(mem);
        fuzz_check_properties(text, sparkconf_count(conf));
        free(text);
        sparkconf_free(conf);
    }
    settings_free(&s);
    json_decref(root);
    return 0;
}
