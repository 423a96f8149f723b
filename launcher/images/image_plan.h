/* image_plan.h — the image build plan: which images to build from the matrix, in
 * which order, FROM which base, with which build arguments, under which budget;
 * and its renderings (text, JSON, Markdown, docker-bake JSON). Pure: no Docker,
 * no files; `spark-k8s images` (image_build.c) acts on a plan.
 *
 * A plan owns its strings; image_plan_free releases it. It does not own or keep
 * the matrix it was made from. */
#ifndef SPARK_K8S_IMAGE_PLAN_H
#define SPARK_K8S_IMAGE_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "launcher/images/matrix.h"
#include "launcher/sys/errmsg.h"

struct image_arg {
    char *name;
    char *value;
};

struct image_spec {
    int order;           /* 1-based build order */
    char *name;          /* "runtime-3.5-gpu": what IMAGES= selects */
    char *target;        /* "runtime-3_5-gpu": the bake target */
    char *kind;          /* "runtime" | "jupyter" */
    char *line;          /* "3.5" */
    char *spark_version; /* "3.5.5" */
    char *variant;       /* "gpu" */
    char *ref;           /* "[REGISTRY/]spark-k8s-runtime:3.5-3.5.5-gpu": the line's tag */
    char *repository;    /* "[REGISTRY/]spark-k8s-runtime" */
    char *tag;           /* "3.5-3.5.5-gpu" */
    char *version_ref;   /* "[REGISTRY/]spark-k8s-runtime:3.5-3.5.5-gpu-0.1.0": immutable */
    char *version_tag;   /* "3.5-3.5.5-gpu-0.1.0" (what kernelspecs name) */
    char *dockerfile;    /* "images/runtime.Dockerfile" */
    char *base;          /* what the final stage is FROM */
    int depends_on;      /* index in the plan of the image this one is FROM, or -1 */
    long budget_mb;      /* -1 if none */
    struct image_arg *args;
    size_t n_args;
};

struct image_plan_options {
    const char *registry;  /* NULL or "" for none */
    const char *select;    /* IMAGES=: names, targets, refs or globs, ',' or ' ' separated; NULL = all */
    const char *revision;  /* the VCS revision for the OCI label; NULL = "unknown" */
    int gpu_python;        /* 1: jupyter gpu images get cudf/cuml/cupy */
};

struct image_plan {
    char *matrix_origin;
    char *registry; /* "" when none */
    struct image_spec *images;
    size_t n_images;
};

/* Build the plan: refuses (-1, ERR) a matrix that fails matrix_check, an IMAGES=
 * word that selects nothing, a registry with spaces. Selecting a jupyter image
 * selects the runtime image it is FROM. Pins (checksums) are not checked here. */
int image_plan_make(const struct matrix *m, const struct image_plan_options *opt,
                    struct image_plan **out, struct error *err);
void image_plan_free(struct image_plan *p);

const char *image_spec_arg(const struct image_spec *s, const char *name); /* NULL if absent */

/* Give build argument NAME the value VALUE in every image of P that takes it (a
 * substitution for one build, e.g. a local base image where the pinned one cannot be
 * pulled). 0 and *N_IMAGES set; -1 (ERR) when no image takes NAME or VALUE has a
 * control character. */
int image_plan_set_arg(struct image_plan *p, const char *name, const char *value, size_t *n_images,
                       struct error *err);

void image_plan_write_text(const struct image_plan *p, FILE *out);
/* New JSON object (caller json_decref's): {"matrix", "spark_k8s_version", "registry", "images": [...]} */
json_t *image_plan_json(const struct image_plan *p);
/* The docker-bake JSON: a group "default" and one target per image, tagged with both
 * of its tags; jupyter targets get their runtime image through a "target:" named
 * context. CONTEXT is the build context (the repository root), relative to where
 * bake runs. */
json_t *image_plan_bake_json(const struct image_plan *p, const char *context);
/* The README table: per image the versions inside it and its budget. */
void image_plan_write_markdown(const struct image_plan *p, const struct matrix *m, FILE *out);

#endif
