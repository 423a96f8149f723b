/* cmd_images.c — `spark-k8s images plan|bake|build`: prints the image plan made
 * from the matrix (no Docker), writes the docker-bake file, or builds the images
 * with `docker buildx bake` (plain `docker build` in dependency order without
 * buildx; `buildah build` where no Docker engine runs), reports their sizes against
 * the budgets, and pushes them. Docker and buildah are always exec'd with an argv,
 * never through a shell. `images pin` is passed on to launcher/cmd/cmd_images_pin.c. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "launcher/cmd/commands.h"
#include "launcher/images/image_plan.h"
#include "launcher/images/matrix.h"
#include "launcher/images/matrix_pin.h"
#include "launcher/sys/errmsg.h"
#include "launcher/sys/spawn.h"

extern char **environ;

/* The actions below return the process exit status: 0, or err_exit_status(kind) of a
 * failure they have said on stderr. */
enum builder { BUILDER_AUTO, BUILDER_BAKE, BUILDER_DOCKER, BUILDER_BUILDAH };

#define MAX_BUILD_ARGS 32

struct options {
    const char *action; /* plan | bake | build */
    int json, markdown, push, dry_run, gpu_python;
    const char *registry, *select, *context, *bake_file;
    enum builder builder;
    const char *build_args[MAX_BUILD_ARGS]; /* NAME=VALUE substitutions, as given */
    size_t n_build_args;
    const char *builder_args[MAX_BUILD_ARGS]; /* extra argv items of each build command */
    size_t n_builder_args;
};

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

static int parse_args(int argc, char **argv, struct options *o)
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
            if (o->n_build_args == MAX_BUILD_ARGS) {
                fprintf(stderr, "spark-k8s images: more than %d --build-arg\n", MAX_BUILD_ARGS);
                return -1;
            }
            o->build_args[o->n_build_args++] = kv;
        } else if (strcmp(a, "--builder-arg") == 0) {
            const char *arg = NULL;
            VALUE(arg);
            if (o->n_builder_args == MAX_BUILD_ARGS) {
                fprintf(stderr, "spark-k8s images: more than %d --builder-arg\n", MAX_BUILD_ARGS);
                return -1;
            }
            o->builder_args[o->n_builder_args++] = arg;
        } else if (strcmp(a, "--builder") == 0) {
            const char *b = NULL;
            VALUE(b);
            if (strcmp(b, "auto") == 0)
                o->builder = BUILDER_AUTO;
            else if (strcmp(b, "bake") == 0)
                o->builder = BUILDER_BAKE;
            else if (strcmp(b, "docker") == 0)
                o->builder = BUILDER_DOCKER;
            else if (strcmp(b, "buildah") == 0)
                o->builder = BUILDER_BUILDAH;
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

static void print_argv(char *const argv[])
{
    fputs("+", stdout);
    for (int i = 0; argv[i]; i++) {
        const char *a = argv[i];
        int plain = *a != '\0';
        for (const char *c = a; *c; c++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+%",
                        *c))
                plain = 0;
        if (plain) {
            printf(" %s", a);
            continue;
        }
        fputs(" '", stdout);
        for (const char *c = a; *c; c++)
            if (*c == '\'')
                fputs("'\\''", stdout);
            else
                putchar(*c);
        putchar('\'');
    }
    putchar('\n');
    fflush(stdout);
}

/* A growable NULL-terminated argv whose strings it owns. */
struct argv_buf {
    char **v;
    size_t n, cap;
    int oom;
};

static void argv_add(struct argv_buf *a, const char *s)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 32;
        char **nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv) {
            a->oom = 1;
            return;
        }
        a->v = nv;
        a->cap = ncap;
    }
    a->v[a->n] = strdup(s);
    if (!a->v[a->n]) {
        a->oom = 1;
        return;
    }
    a->v[++a->n] = NULL;
}

static void argv_free(struct argv_buf *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Run (or, dry, print) A; report a failure naming the command. */
static int step(struct argv_buf *a, int dry)
{
    if (a->oom) {
        fprintf(stderr, "spark-k8s images: out of memory\n");
        return err_exit_status(ERR_SYSTEM);
    }
    print_argv(a->v);
    if (dry)
        return 0;
    int rc = spawn_run(a->v, NULL, 0, 0);
    if (rc == 0)
        return 0;
    fprintf(stderr, "spark-k8s images: `%s %s` failed (exit status %d)\n", a->v[0],
            a->n > 1 ? a->v[1] : "", rc);
    return err_exit_status(ERR_RUNTIME);
}

/* ---- the revision for the OCI label ---- */

static char *revision(void)
{
    const char *env = getenv("SPARK_K8S_REVISION");
    if (env && *env)
        return strdup(env);
    char *const argv[] = {"git", "rev-parse", "HEAD", NULL};
    char *out = NULL;
    int rc = spawn_run(argv, &out, SPAWN_QUIET, 0);
    if (rc != 0 || !out || strlen(out) < 7) {
        free(out);
        return strdup("unknown");
    }
    out[strcspn(out, "\r\n")] = '\0';
    return out;
}

/* ---- actions ---- */

static int write_bake(const struct image_plan *p, const struct options *o)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", o->bake_file);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        /* create each missing component of the directory */
        for (char *c = dir + 1; *c; c++)
            if (*c == '/') {
                *c = '\0';
                if (mkdir(dir, 0777) && errno != EEXIST) {
                    fprintf(stderr, "spark-k8s images: cannot create %s: %s\n", dir, strerror(errno));
                    return err_exit_status(ERR_SYSTEM);
                }
                *c = '/';
            }
        if (*dir && mkdir(dir, 0777) && errno != EEXIST) {
            fprintf(stderr, "spark-k8s images: cannot create %s: %s\n", dir, strerror(errno));
            return err_exit_status(ERR_SYSTEM);
        }
    }
    json_t *bake = image_plan_bake_json(p, o->context);
    int rc = bake ? json_dump_file(bake, o->bake_file, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;
    json_decref(bake);
    if (rc) {
        fprintf(stderr, "spark-k8s images: cannot write %s: %s\n", o->bake_file, strerror(errno));
        return err_exit_status(ERR_SYSTEM);
    }
    fprintf(stderr, "spark-k8s images: wrote %s (%zu targets)\n", o->bake_file, p->n_images);
    return 0;
}

/* Is a Docker engine there? 0 yes; 127 no client; else the client's exit status,
 * with its own words (last non-empty line) in WHY. */
static int docker_state(char *why, size_t whylen)
{
    char *const argv[] = {"docker", "version", "--format", "{{.Server.Version}}", NULL};
    char *out = NULL;
    int rc = spawn_run(argv, &out, SPAWN_MERGE_STDERR, 0);
    char *text = out ? out : "";
    size_t len = strlen(text);
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        text[--len] = '\0';
    char *nl = strrchr(text, '\n');
    errorf(why, whylen, "%s", nl ? nl + 1 : text);
    free(out);
    return rc;
}

static void docker_missing(int rc, const char *why)
{
    if (rc == 127)
        fprintf(stderr,
                "spark-k8s images: docker: not found on PATH. `images build` needs the Docker CLI "
                "and a running Docker engine, or buildah; `images plan` and `images bake` need "
                "neither.\n");
    else
        fprintf(stderr,
                "spark-k8s images: no Docker engine is reachable (`docker version` exit status %d: "
                "%s). Start dockerd or point DOCKER_HOST at one; `images plan` and `images bake` "
                "work without it.\n",
                rc, why);
}

/* The engine must answer before anything is built. */
static int check_docker(void)
{
    char why[512];
    int rc = docker_state(why, sizeof why);
    if (rc != 0) {
        docker_missing(rc, why);
        return err_exit_status(ERR_SYSTEM);
    }
    return 0;
}

static int have_buildx(void)
{
    char *const argv[] = {"docker", "buildx", "version", NULL};
    char *out = NULL;
    int rc = spawn_run(argv, &out, SPAWN_MERGE_STDERR | SPAWN_QUIET, 0);
    free(out);
    return rc == 0;
}

static int have_buildah(void)
{
    char *const argv[] = {"buildah", "version", NULL};
    char *out = NULL;
    int rc = spawn_run(argv, &out, SPAWN_MERGE_STDERR | SPAWN_QUIET, 0);
    free(out);
    return rc == 0;
}

static int build_bake(const struct image_plan *p, const struct options *o)
{
    struct argv_buf a = {0};
    argv_add(&a, "docker");
    argv_add(&a, "buildx");
    argv_add(&a, "bake");
    argv_add(&a, "--file");
    argv_add(&a, o->bake_file);
    argv_add(&a, "--load"); /* into the local engine: sized first, pushed after */
    for (size_t i = 0; i < p->n_images; i++)
        argv_add(&a, p->images[i].target);
    int rc = step(&a, o->dry_run);
    argv_free(&a);
    return rc;
}

/* `docker build` or `buildah build` of each image in order: the same Dockerfile,
 * context, tags and build arguments. buildah keeps Docker's image format (its
 * HEALTHCHECK is not part of OCI's), caches layers as Docker does, and removes its
 * working containers even when a step fails. */
static int build_each(const struct image_plan *p, const struct options *o, enum builder b)
{
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        struct argv_buf a = {0};
        char path[PATH_MAX];
        if (b == BUILDER_BUILDAH) {
            argv_add(&a, "buildah");
            argv_add(&a, "build");
            argv_add(&a, "--format");
            argv_add(&a, "docker");
            argv_add(&a, "--layers");
            argv_add(&a, "--force-rm"); /* no working container left by a failed step */
        } else {
            argv_add(&a, "docker");
            argv_add(&a, "build");
        }
        argv_add(&a, "--file");
        snprintf(path, sizeof path, "%s/%s", o->context, s->dockerfile);
        argv_add(&a, path);
        argv_add(&a, "--tag");
        argv_add(&a, s->ref);
        argv_add(&a, "--tag");
        argv_add(&a, s->version_ref);
        for (size_t k = 0; k < s->n_args; k++) {
            size_t len = strlen(s->args[k].name) + strlen(s->args[k].value) + 2;
            char *kv = malloc(len);
            if (!kv) {
                a.oom = 1;
                break;
            }
            snprintf(kv, len, "%s=%s", s->args[k].name, s->args[k].value);
            argv_add(&a, "--build-arg");
            argv_add(&a, kv);
            free(kv);
        }
        for (size_t k = 0; k < o->n_builder_args; k++)
            argv_add(&a, o->builder_args[k]);
        argv_add(&a, o->context);
        int rc = step(&a, o->dry_run);
        argv_free(&a);
        if (rc)
            return rc;
    }
    return 0;
}

/* The size of image REF in bytes, as Docker counts it (its layers, uncompressed), or -1. */
static long long image_bytes(const char *ref, enum builder b)
{
    if (b != BUILDER_BUILDAH) {
        char *const argv[] = {"docker", "image", "inspect", "--format", "{{.Size}}", (char *)ref,
                              NULL};
        char *out = NULL;
        int rc = spawn_run(argv, &out, 0, 0);
        char *end = NULL;
        long long bytes = (rc == 0 && out) ? strtoll(out, &end, 10) : -1;
        if (end == out)
            bytes = -1;
        free(out);
        return bytes;
    }
    /* buildah stores layers uncompressed; its manifest lists their sizes */
    char *const argv[] = {"buildah", "inspect", "--type", "image", "--format", "{{.Manifest}}",
                          (char *)ref, NULL};
    char *out = NULL;
    int rc = spawn_run(argv, &out, 0, 0);
    json_t *manifest = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    json_t *layers = json_object_get(manifest, "layers");
    long long bytes = json_is_array(layers) && json_array_size(layers) ? 0 : -1;
    size_t i;
    json_t *layer;
    json_array_foreach(layers, i, layer) {
        json_t *size = json_object_get(layer, "size");
        if (!json_is_integer(size) || json_integer_value(size) < 0) {
            bytes = -1;
            break;
        }
        bytes += json_integer_value(size);
    }
    json_decref(manifest);
    return bytes;
}

/* Each image's size against its budget; 1 if any is over (or cannot be sized). */
static int size_report(const struct image_plan *p, const struct options *o, enum builder b)
{
    if (o->dry_run) {
        for (size_t i = 0; i < p->n_images; i++) {
            char *const dargv[] = {"docker", "image", "inspect", "--format", "{{.Size}}",
                                   p->images[i].ref, NULL};
            char *const bargv[] = {"buildah", "inspect", "--type", "image", "--format",
                                   "{{.Manifest}}", p->images[i].ref, NULL};
            print_argv(b == BUILDER_BUILDAH ? bargv : dargv);
        }
        return 0;
    }
    int over = 0, failed = 0;
    printf("\n%-60s %10s %10s  %s\n", "image", "size MB", "budget MB", "status");
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        long long bytes = image_bytes(s->ref, b);
        if (bytes < 0) {
            printf("%-60s %10s %10ld  cannot inspect\n", s->ref, "?", s->budget_mb);
            failed = 1;
            continue;
        }
        double mb = (double)bytes / 1e6;
        const char *status = "ok";
        if (s->budget_mb > 0 && mb > (double)s->budget_mb) {
            status = "OVER BUDGET";
            over = 1;
        } else if (s->budget_mb <= 0)
            status = "no budget";
        printf("%-60s %10.0f %10ld  %s\n", s->ref, mb, s->budget_mb, status);
    }
    fflush(stdout);
    if (over)
        fprintf(stderr, "spark-k8s images: over budget (budgets_mb in %s); not pushing\n",
                p->matrix_origin);
    return over || failed ? err_exit_status(ERR_RUNTIME) : 0;
}

static int push_all(const struct image_plan *p, const struct options *o, enum builder b)
{
    for (size_t i = 0; i < p->n_images; i++) {
        const char *refs[2] = {p->images[i].ref, p->images[i].version_ref};
        for (int k = 0; k < 2; k++) {
            struct argv_buf a = {0};
            argv_add(&a, b == BUILDER_BUILDAH ? "buildah" : "docker");
            argv_add(&a, "push");
            argv_add(&a, refs[k]);
            int rc = step(&a, o->dry_run);
            argv_free(&a);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Which builder: the one asked for, or Docker (bake with buildx) where an engine
 * answers and buildah where none does. 0 with *OUT set, or a failure's status, said. */
static int pick_builder(const struct options *o, enum builder *out)
{
    *out = o->builder;
    if (o->builder == BUILDER_BUILDAH) {
        if (!o->dry_run && !have_buildah()) {
            fprintf(stderr, "spark-k8s images: buildah: not found on PATH (or `buildah version` "
                            "fails); Debian: apt-get install buildah\n");
            return err_exit_status(ERR_SYSTEM);
        }
        return 0;
    }
    if (o->builder == BUILDER_AUTO && !o->dry_run) {
        char why[512];
        int rc = docker_state(why, sizeof why);
        if (rc != 0) {
            if (have_buildah()) {
                fprintf(stderr, "spark-k8s images: no Docker engine (%s): building with buildah\n",
                        rc == 127 ? "no docker client" : why);
                *out = BUILDER_BUILDAH;
                return 0;
            }
            docker_missing(rc, why);
            fprintf(stderr, "spark-k8s images: buildah is not there either (Debian: apt-get "
                            "install buildah)\n");
            return err_exit_status(ERR_SYSTEM);
        }
    } else if (!o->dry_run && check_docker()) {
        return err_exit_status(ERR_SYSTEM);
    }
    /* bake takes no per-build arguments: --builder-arg means one build per image */
    if (*out == BUILDER_AUTO)
        *out = !o->n_builder_args && have_buildx() ? BUILDER_BAKE : BUILDER_DOCKER;
    if (*out == BUILDER_BAKE && o->n_builder_args) {
        fprintf(stderr, "spark-k8s images: --builder-arg applies to docker build and buildah "
                        "build, not to bake\n");
        return err_exit_status(ERR_USAGE);
    }
    return 0;
}

static int do_build(const struct image_plan *p, const struct options *o)
{
    char df[PATH_MAX];
    snprintf(df, sizeof df, "%s/images/runtime.Dockerfile", o->context);
    if (access(df, R_OK) != 0) {
        fprintf(stderr,
                "spark-k8s images: %s not found: run from the repository root or pass --context\n",
                df);
        return err_exit_status(ERR_USAGE);
    }
    enum builder b;
    int rc = pick_builder(o, &b);
    if (rc)
        return rc;
    if (b == BUILDER_BAKE) {
        rc = write_bake(p, o);
        if (rc == 0)
            rc = build_bake(p, o);
    } else {
        if (b == BUILDER_DOCKER && !o->dry_run)
            fprintf(stderr, "spark-k8s images: docker buildx not available: plain docker build, "
                            "one image at a time in dependency order\n");
        rc = build_each(p, o, b);
    }
    if (rc == 0)
        rc = size_report(p, o, b);
    if (rc == 0 && o->push)
        rc = push_all(p, o, b);
    return rc;
}

/* The checksums the selected images need (a baseline image downloads no jar). */
static int check_plan_pins(const struct image_plan *p, const struct matrix *m, char *err,
                           size_t errlen)
{
    if (p->n_images == 0)
        return matrix_check_pins(m, err, errlen);
    for (size_t i = 0; i < p->n_images; i++)
        if (matrix_check_pins_for(m, p->images[i].line, p->images[i].variant, err, errlen))
            return -1;
    return 0;
}

/* --build-arg NAME=VALUE: into every image of P that takes NAME, said on stderr. */
static int apply_build_args(struct image_plan *p, const struct options *o)
{
    for (size_t i = 0; i < o->n_build_args; i++) {
        const char *kv = o->build_args[i];
        const char *eq = strchr(kv, '=');
        char name[128];
        if ((size_t)(eq - kv) >= sizeof name) {
            fprintf(stderr, "spark-k8s images: --build-arg: '%.*s' is too long a name\n",
                    (int)(eq - kv), kv);
            return err_exit_status(ERR_USAGE);
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        const char *old = NULL;
        for (size_t k = 0; !old && k < p->n_images; k++)
            old = image_spec_arg(&p->images[k], name);
        char *was = old ? strdup(old) : NULL;
        char err[512];
        size_t n = 0;
        if (image_plan_set_arg(p, name, eq + 1, &n, err, sizeof err)) {
            fprintf(stderr, "spark-k8s images: --build-arg: %s\n", err);
            free(was);
            return err_exit_status(ERR_USAGE);
        }
        fprintf(stderr,
                "spark-k8s images: substituted for this run: %s=%s in %zu image%s (the matrix "
                "says %s)\n",
                name, eq + 1, n, n == 1 ? "" : "s", was && *was ? was : "(empty)");
        free(was);
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
    struct options o;
    if (parse_args(argc, argv, &o)) {
        usage(stderr);
        return err_exit_status(ERR_USAGE);
    }
    char err[1024];
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err, sizeof err)) {
        fprintf(stderr, "spark-k8s images: %s\n", err);
        return err_exit_status(ERR_INPUT);
    }
    char *rev = revision();
    struct image_plan_options po = {
        .registry = o.registry, .select = o.select, .revision = rev, .gpu_python = o.gpu_python};
    struct image_plan *p = NULL;
    int rc = 0;
    if (image_plan_make(m, &po, &p, err, sizeof err)) {
        fprintf(stderr, "spark-k8s images: refused: %s\n", err);
        rc = err_exit_status(ERR_INPUT);
        goto out;
    }
    rc = apply_build_args(p, &o);
    if (rc)
        goto out;
    int pins = check_plan_pins(p, m, err, sizeof err);
    if (strcmp(o.action, "plan") == 0) {
        if (o.json) {
            json_t *j = image_plan_json(p);
            if (j)
                json_object_set_new(j, "buildable", json_boolean(pins == 0));
            if (j && pins)
                json_object_set_new(j, "refusal", json_string(err));
            char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
            json_decref(j);
            if (!text) {
                fprintf(stderr, "spark-k8s images: out of memory\n");
                rc = err_exit_status(ERR_SYSTEM);
                goto out;
            }
            puts(text);
            free(text);
        } else if (o.markdown) {
            image_plan_write_markdown(p, m, stdout);
        } else {
            image_plan_write_text(p, stdout);
        }
        fflush(stdout);
    }
    if (pins && strcmp(o.action, "plan") == 0) {
        /* A plan is only a plan: show it, and say what stops a build. */
        fprintf(stderr, "spark-k8s images: not buildable yet (a build would refuse): %s\n", err);
        goto out;
    }
    if (pins) {
        /* nothing unverified is ever built */
        fprintf(stderr, "spark-k8s images: refusing to build: %s\n", err);
        rc = err_exit_status(ERR_INPUT);
        goto out;
    }
    if (strcmp(o.action, "bake") == 0)
        rc = write_bake(p, &o);
    else if (strcmp(o.action, "build") == 0)
        rc = do_build(p, &o);
out:
    image_plan_free(p);
    matrix_free(m);
    free(rev);
    return rc;
}
