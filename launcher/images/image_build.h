/* image_build.h — what `spark-k8s images plan|bake|build` does with the image plan
 * (image_plan.h) made from the matrix: print it (no Docker), write the docker-bake
 * file, or build the images with `docker buildx bake` (plain `docker build` in
 * dependency order without buildx; `buildah build` where no Docker engine runs), report
 * their sizes against the budgets, and push them. Docker and buildah are always exec'd
 * with an argv, never through a shell. The images that download a jar are refused,
 * before anything is built, while the matrix pins no checksum for it.
 *
 * Each step says what it runs ("+ docker build ...") on stdout and what it decided on
 * stderr ("spark-k8s images: ..."); a failure comes back as the error. */
#ifndef SPARK_K8S_IMAGE_BUILD_H
#define SPARK_K8S_IMAGE_BUILD_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

enum image_builder { IMAGE_BUILDER_AUTO, IMAGE_BUILDER_BAKE, IMAGE_BUILDER_DOCKER,
                     IMAGE_BUILDER_BUILDAH };

#define IMAGE_BUILD_MAX_ARGS 32

struct image_build_options {
    const char *action; /* "plan" | "bake" | "build" */
    int json, markdown, push, dry_run, gpu_python;
    const char *registry, *select, *context, *bake_file;
    enum image_builder builder;
    const char *build_args[IMAGE_BUILD_MAX_ARGS]; /* NAME=VALUE substitutions, as given */
    size_t n_build_args;
    const char *builder_args[IMAGE_BUILD_MAX_ARGS]; /* extra argv items of each build command */
    size_t n_builder_args;
};

/* Do O's action with the matrix (matrix_load_default). 0, or -1 with ERR: ERR_INPUT
 * for a matrix or selection the plan refuses (or a build without its checksums),
 * ERR_USAGE for a build argument no image takes, ERR_SYSTEM when no builder runs here,
 * ERR_RUNTIME when a build step failed or an image is over budget. */
int image_build_run(const struct image_build_options *o, struct error *err);

#endif
