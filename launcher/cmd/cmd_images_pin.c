/* cmd_images_pin.c — `spark-k8s images pin`: the command line over
 * launcher/images/image_pin.c, which pins the matrix's jars by their checksums. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/images/image_pin.h"
#include "launcher/sys/errmsg.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: spark-k8s images pin [--matrix FILE] [--if-missing | --force] [--timeout SECONDS]\n"
        "\n"
        "Pin every jar the image variants download (the Iceberg runtime and AWS bundle, and\n"
        "each RAPIDS classifier, of each Spark line): download it (through the digests only,\n"
        "nothing is written to disk), take the sha256 of its bytes, and check its sha1\n"
        "against the repository's <jar>.sha1 (and its sha256 against <jar>.sha256 where one\n"
        "is published); then write sha256 and sha1 into the matrix. Needs network (http(s)\n"
        "only, TLS verified). The file is changed in place, only in those fields; review and\n"
        "commit it. (Spark itself is pyspark from PyPI, hash-locked in kernelspecs/envs.)\n"
        "\n"
        "  --matrix FILE   the matrix to pin [SPARK_K8S_MATRIX], default images/matrix.json\n"
        "  (default)       download every jar: fill the empty fields and check the filled\n"
        "                  ones against the download (a mismatch is refused)\n"
        "  --if-missing    download only the jars with an empty sha256 or sha1: with\n"
        "                  everything pinned, no request\n"
        "  --force         replace every checksum with the download's\n"
        "  --timeout S     seconds without progress before a download is given up (default 60)\n"
        "\n"
        "Any HTTP error, malformed checksum file or mismatch refuses the run and changes\n"
        "nothing. Exit status: 0 ok, 1 refused, 2 bad usage or unreadable matrix.\n");
}

static int parse_args(int argc, char **argv, struct image_pin_options *o)
{
    memset(o, 0, sizeof *o);
    o->timeout_s = 60;
    const char *env = getenv("SPARK_K8S_MATRIX");
    o->matrix = env && *env ? env : "images/matrix.json";
    int if_missing = 0, force = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--if-missing") == 0) {
            if_missing = 1;
        } else if (strcmp(a, "--force") == 0) {
            force = 1;
        } else if (strcmp(a, "--matrix") == 0 || strcmp(a, "--timeout") == 0) {
            if (!next || !*next) {
                fprintf(stderr, "spark-k8s images pin: %s needs a value\n", a);
                return -1;
            }
            i++;
            if (a[2] == 'm') {
                o->matrix = next;
            } else {
                char *end = NULL;
                errno = 0;
                long t = strtol(next, &end, 10);
                if (errno || *end || t < 1 || t > 3600) {
                    fprintf(stderr, "spark-k8s images pin: --timeout: '%s' is not 1 to 3600 "
                                    "seconds\n", next);
                    return -1;
                }
                o->timeout_s = t;
            }
        } else {
            fprintf(stderr, "spark-k8s images pin: unknown option '%s'\n", a);
            return -1;
        }
    }
    if (if_missing && force) {
        fprintf(stderr, "spark-k8s images pin: --if-missing and --force exclude each other\n");
        return -1;
    }
    o->mode = force ? IMAGE_PIN_FORCE : if_missing ? IMAGE_PIN_IF_MISSING : IMAGE_PIN_VERIFY;
    return 0;
}

int cmd_images_pin(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    struct image_pin_options o;
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    struct error err = {0};
    if (image_pin_run(&o, &err) < 0) {
        return cmd_fail("images pin", &err);
    }
    return 0;
}
