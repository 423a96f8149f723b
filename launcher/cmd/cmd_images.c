/* cmd_images.c — `spark-k8s images plan|bake|build|pin`: the command line over
 * launcher/images/image_build.c (plan, bake, build) and, for `images pin`,
 * launcher/cmd/cmd_images_pin.c. */
#include <stddef.h>
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

/* --build-arg, --builder-arg and --builder with their value V: 0, or -1 said. */
static int list_option(struct image_build_options *o, const char *a, const char *v)
{
    if (strcmp(a, "--build-arg") == 0) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v) {
            fprintf(stderr, "spark-k8s images: --build-arg: '%s' is not NAME=VALUE\n", v);
            return -1;
        }
        if (o->n_build_args == IMAGE_BUILD_MAX_ARGS) {
            fprintf(stderr, "spark-k8s images: more than %d --build-arg\n", IMAGE_BUILD_MAX_ARGS);
            return -1;
        }
        o->build_args[o->n_build_args++] = v;
        return 0;
    }
    if (strcmp(a, "--builder-arg") == 0) {
        if (o->n_builder_args == IMAGE_BUILD_MAX_ARGS) {
            fprintf(stderr, "spark-k8s images: more than %d --builder-arg\n",
                    IMAGE_BUILD_MAX_ARGS);
            return -1;
        }
        o->builder_args[o->n_builder_args++] = v;
        return 0;
    }
    static const char *const builders[] = {[IMAGE_BUILDER_AUTO] = "auto",
                                           [IMAGE_BUILDER_BAKE] = "bake",
                                           [IMAGE_BUILDER_DOCKER] = "docker",
                                           [IMAGE_BUILDER_BUILDAH] = "buildah"};
    for (size_t b = 0; b < sizeof builders / sizeof builders[0]; b++)
        if (strcmp(v, builders[b]) == 0) {
            o->builder = (enum image_builder)b;
            return 0;
        }
    fprintf(stderr, "spark-k8s images: --builder: '%s' is not auto, bake, docker or buildah\n", v);
    return -1;
}

/* One option at ARGV[*I] (its value, when it takes one, at *I + 1): 0, or -1 said. */
static int option(struct image_build_options *o, int argc, char **argv, int *i)
{
    static const struct {
        const char *name;
        size_t offset; /* of an int set to 1 */
    } flags[] = {
        {"--json", offsetof(struct image_build_options, json)},
        {"--markdown", offsetof(struct image_build_options, markdown)},
        {"--push", offsetof(struct image_build_options, push)},
        {"--dry-run", offsetof(struct image_build_options, dry_run)},
        {"--gpu-python", offsetof(struct image_build_options, gpu_python)},
    };
    static const struct {
        const char *name;
        size_t offset; /* of a const char * set to the value; 0: list_option's */
    } values[] = {
        {"--registry", offsetof(struct image_build_options, registry)},
        {"--images", offsetof(struct image_build_options, select)},
        {"--context", offsetof(struct image_build_options, context)},
        {"--bake-file", offsetof(struct image_build_options, bake_file)},
        {"--build-arg", 0},
        {"--builder-arg", 0},
        {"--builder", 0},
    };
    const char *a = argv[*i];
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++)
        if (strcmp(a, flags[k].name) == 0) {
            *(int *)((char *)o + flags[k].offset) = 1;
            return 0;
        }
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++) {
        if (strcmp(a, values[k].name) != 0)
            continue;
        if (*i + 1 >= argc) {
            fprintf(stderr, "spark-k8s images: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (!values[k].offset)
            return list_option(o, a, v);
        *(const char **)((char *)o + values[k].offset) = v;
        return 0;
    }
    fprintf(stderr, "spark-k8s images: unknown option '%s'\n", a);
    return -1;
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
    for (int i = 2; i < argc; i++)
        if (option(o, argc, argv, &i))
            return -1;
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
