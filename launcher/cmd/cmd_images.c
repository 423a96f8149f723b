/* cmd_images.c — `spark-k8s images plan|bake|build|pin`: the command line over
 * launcher/images/image_build.c (plan, bake, build) and, for `images pin`,
 * launcher/cmd/cmd_images_pin.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/cmd/cmd_common.h"
#include "launcher/cmd/commands.h"
#include "launcher/images/image_build.h"
#include "launcher/sys/errmsg.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: spark-k8s images plan  [--json | --markdown] [OPTIONS]\n"
        "       spark-k8s images bake  [--bake-file FILE] [OPTIONS]\n"
        "       spark-k8s images build [--dry-run] [--builder auto|bake|docker|buildah] [--push]\n"
        "                              [OPTIONS]\n"
        "       spark-k8s images pin   [--matrix FILE] [--if-missing | --force]\n"
        "\n"
        "The runtime images (Spark executors) and the Jupyter images (driver, JupyterLab on\n"
        "port 8888), one per Spark line and variant, all derived from the image matrix\n"
        "($SPARK_K8S_MATRIX, else the copy built into this binary).\n"
        "\n"
        "  plan    print the plan: image, tag, base, build arguments, budget, order (runtime\n"
        "          images before the Jupyter images FROM them). Needs no Docker.\n"
        "  bake    write the docker-bake JSON for the plan (default build/docker-bake.json).\n"
        "  build   build the plan with `docker buildx bake` (or `docker build` per image, in\n"
        "          order, without buildx; `buildah build` per image where no Docker engine\n"
        "          answers), print every image's size against its budget and fail over\n"
        "          budget; with --push, push them (both tags) after the size check.\n"
        "  pin     pin every jar in the matrix file by the sha256 of a download, checked\n"
        "          against the repository's sha1 (needs network); `images pin --help`.\n"
        "\n"
        "options (environment variable in brackets):\n"
        "  --images LIST     build only these [IMAGES]: names (runtime-4.1-gpu), bake targets\n"
        "                    (runtime-4_1-gpu), references, or globs ('jupyter-*-iceberg'),\n"
        "                    separated by ',' or ' '; a Jupyter image brings its runtime image\n"
        "  --registry R      prefix every image with R/ [REGISTRY]\n"
        "  --push            push after a successful build [PUSH=1]\n"
        "  --gpu-python      gpu Jupyter images get cudf, cuml and cupy [GPU_PYTHON=1]\n"
        "  --context DIR     the build context, the repository root (default .)\n"
        "  --build-arg NAME=VALUE  replace a build argument of the plan in every image that\n"
        "                    takes it, for this run (e.g. BASE_IMAGE: a local base where the\n"
        "                    pinned one cannot be pulled); said on stderr, shown by plan\n"
        "  --builder-arg ARG one more argument of each `docker build`/`buildah build` (as one\n"
        "                    argv item, before the context), e.g. --volume=DIR:/etc/xdg/pip:ro\n"
        "  --json            plan as JSON;  --markdown  the README table of versions and budgets\n"
        "  --dry-run         print the build commands instead of running them\n"
        "\n"
        "Each image is tagged <line>-<spark version>-<variant> and, immutably, with the\n"
        "spark-k8s version appended (what kernelspecs name). A combination the compatibility\n"
        "facts rule out, or a jar the selected images download without a checksum, is\n"
        "refused before anything is built, with the reason. Exit status: 0 ok, 1 a build\n"
        "step failed or an image is over budget, 2 bad usage or a refused matrix.\n");
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0 && strcmp(v, "no") != 0 && strcmp(v, "false") != 0;
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int parse_args(int argc, char **argv, struct image_build_options *o)
{
    memset(o, 0, sizeof *o);
    o->registry = env_or_null("REGISTRY");
    o->select = env_or_null("IMAGES");
    o->push = env_true("PUSH");
    o->gpu_python = env_true("GPU_PYTHON");
    o->context = ".";
    o->bake_file = "build/docker-bake.json";
    if (argc < 2)
        return -1;
    o->action = argv[1];
    if (strcmp(o->action, "plan") != 0 && strcmp(o->action, "bake") != 0 &&
        strcmp(o->action, "build") != 0)
        return -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE(dst)                                                                 \
    do {                                                                           \
        if (!next) {                                                               \
            fprintf(stderr, "spark-k8s images: %s needs a value\n", a);            \
            return -1;                                                             \
        }                                                                          \
        dst = next;                                                                \
        i++;                                                                       \
    } while (0)
        if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--markdown") == 0)
            o->markdown = 1;
        else if (strcmp(a, "--push") == 0)
            o->push = 1;
        else if (strcmp(a, "--dry-run") == 0)
            o->dry_run = 1;
        else if (strcmp(a, "--gpu-python") == 0)
            o->gpu_python = 1;
        else if (strcmp(a, "--registry") == 0)
            VALUE(o->registry);
        else if (strcmp(a, "--images") == 0)
            VALUE(o->select);
        else if (strcmp(a, "--context") == 0)
            VALUE(o->context);
        else if (strcmp(a, "--bake-file") == 0)
            VALUE(o->bake_file);
        else if (strcmp(a, "--build-arg") == 0) {
            const char *kv = NULL;
            VALUE(kv);
            const char *eq = strchr(kv, '=');
            if (!eq || eq == kv) {
                fprintf(stderr, "spark-k8s images: --build-arg: '%s' is not NAME=VALUE\n", kv);
                return -1;
            }
            if (o->n_build_args == IMAGE_BUILD_MAX_ARGS) {
                fprintf(stderr, "spark-k8s images: more than %d --build-arg\n", IMAGE_BUILD_MAX_ARGS);
                return -1;
            }
            o->build_args[o->n_build_args++] = kv;
        } else if (strcmp(a, "--builder-arg") == 0) {
            const char *arg = NULL;
            VALUE(arg);
            if (o->n_builder_args == IMAGE_BUILD_MAX_ARGS) {
                fprintf(stderr, "spark-k8s images: more than %d --builder-arg\n", IMAGE_BUILD_MAX_ARGS);
                return -1;
            }
            o->builder_args[o->n_builder_args++] = arg;
        } else if (strcmp(a, "--builder") == 0) {
            const char *b = NULL;
            VALUE(b);
            if (strcmp(b, "auto") == 0)
                o->builder = IMAGE_BUILDER_AUTO;
            else if (strcmp(b, "bake") == 0)
                o->builder = IMAGE_BUILDER_BAKE;
            else if (strcmp(b, "docker") == 0)
                o->builder = IMAGE_BUILDER_DOCKER;
            else if (strcmp(b, "buildah") == 0)
                o->builder = IMAGE_BUILDER_BUILDAH;
            else {
                fprintf(stderr,
                        "spark-k8s images: --builder: '%s' is not auto, bake, docker or buildah\n",
                        b);
                return -1;
            }
        } else {
            fprintf(stderr, "spark-k8s images: unknown option '%s'\n", a);
            return -1;
        }
#undef VALUE
    }
    if (o->json && o->markdown) {
        fprintf(stderr, "spark-k8s images: --json and --markdown exclude each other\n");
        return -1;
    }
    if (o->n_builder_args && strcmp(o->action, "build") != 0) {
        fprintf(stderr, "spark-k8s images: --builder-arg is an option of 'build'\n");
        return -1;
    }
    if ((o->json || o->markdown) && strcmp(o->action, "plan") != 0) {
        fprintf(stderr, "spark-k8s images: --json and --markdown are options of 'plan'\n");
        return -1;
    }
    return 0;
}

int cmd_images(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "pin") == 0)
        return cmd_images_pin(argc - 1, argv + 1);
    struct image_build_options o;
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    struct error err = {0};
    if (image_build_run(&o, &err) < 0) {
        return cmd_fail("images", &err);
    }
    return 0;
}
