/* image_build.c — plan, bake, build, size and push the images (see image_build.h). */
#include "launcher/images/image_build.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "launcher/images/image_plan.h"
#include "launcher/images/matrix.h"
#include "launcher/sys/spawn.h"

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
static int step(struct argv_buf *a, int dry, struct error *err)
{
    if (a->oom) {
        return error_nomem(err);
    }
    print_argv(a->v);
    if (dry)
        return 0;
    int rc = spawn_run(a->v, NULL, 0, 0);
    if (rc == 0)
        return 0;
    return error_set(err, ERR_RUNTIME, "`%s %s` failed (exit status %d)", a->v[0],
                     a->n > 1 ? a->v[1] : "", rc);
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

static int write_bake(const struct image_plan *p, const struct image_build_options *o,
                      struct error *err)
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
                    return error_set(err, ERR_SYSTEM, "cannot create %s: %s", dir,
                                     strerror(errno));
                }
                *c = '/';
            }
        if (*dir && mkdir(dir, 0777) && errno != EEXIST) {
            return error_set(err, ERR_SYSTEM, "cannot create %s: %s", dir, strerror(errno));
        }
    }
    json_t *bake = image_plan_bake_json(p, o->context);
    int rc = bake ? json_dump_file(bake, o->bake_file, JSON_INDENT(2) | JSON_SORT_KEYS) : -1;
    json_decref(bake);
    if (rc) {
        return error_set(err, ERR_SYSTEM, "cannot write %s: %s", o->bake_file,
                         strerror(errno));
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
    snprintf(why, whylen, "%s", nl ? nl + 1 : text);
    free(out);
    return rc;
}

static int docker_missing(int rc, const char *why, struct error *err)
{
    if (rc == 127)
        return error_set(err, ERR_SYSTEM,
                         "docker: not found on PATH. `images build` needs the Docker CLI and a "
                         "running Docker engine, or buildah; `images plan` and `images bake` "
                         "need neither.");
    return error_set(err, ERR_SYSTEM,
                     "no Docker engine is reachable (`docker version` exit status %d: %s). Start "
                     "dockerd or point DOCKER_HOST at one; `images plan` and `images bake` work "
                     "without it.",
                     rc, why);
}

/* The engine must answer before anything is built. */
static int check_docker(struct error *err)
{
    char why[512];
    int rc = docker_state(why, sizeof why);
    return rc != 0 ? docker_missing(rc, why, err) : 0;
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

static int build_bake(const struct image_plan *p, const struct image_build_options *o,
                      struct error *err)
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
    int rc = step(&a, o->dry_run, err);
    argv_free(&a);
    return rc;
}

/* `docker build` or `buildah build` of each image in order: the same Dockerfile,
 * context, tags and build arguments. buildah keeps Docker's image format (its
 * HEALTHCHECK is not part of OCI's), caches layers as Docker does, and removes its
 * working containers even when a step fails. */
static int build_each(const struct image_plan *p, const struct image_build_options *o,
                      enum image_builder b, struct error *err)
{
    for (size_t i = 0; i < p->n_images; i++) {
        const struct image_spec *s = &p->images[i];
        struct argv_buf a = {0};
        char path[PATH_MAX];
        if (b == IMAGE_BUILDER_BUILDAH) {
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
        int rc = step(&a, o->dry_run, err);
        argv_free(&a);
        if (rc)
            return rc;
    }
    return 0;
}

/* The size of image REF in bytes, as Docker counts it (its layers, uncompressed), or -1. */
static long long image_bytes(const char *ref, enum image_builder b)
{
    if (b != IMAGE_BUILDER_BUILDAH) {
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
static int size_report(const struct image_plan *p, const struct image_build_options *o,
                       enum image_builder b, struct error *err)
{
    if (o->dry_run) {
        for (size_t i = 0; i < p->n_images; i++) {
            char *const dargv[] = {"docker", "image", "inspect", "--format", "{{.Size}}",
                                   p->images[i].ref, NULL};
            char *const bargv[] = {"buildah", "inspect", "--type", "image", "--format",
                                   "{{.Manifest}}", p->images[i].ref, NULL};
            print_argv(b == IMAGE_BUILDER_BUILDAH ? bargv : dargv);
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
        return error_set(err, ERR_RUNTIME, "over budget (budgets_mb in %s); not pushing",
                         p->matrix_origin);
    if (failed)
        return error_set(err, ERR_RUNTIME, "an image could not be inspected (above); not pushing");
    return 0;
}

static int push_all(const struct image_plan *p, const struct image_build_options *o,
                    enum image_builder b, struct error *err)
{
    for (size_t i = 0; i < p->n_images; i++) {
        const char *refs[2] = {p->images[i].ref, p->images[i].version_ref};
        for (int k = 0; k < 2; k++) {
            struct argv_buf a = {0};
            argv_add(&a, b == IMAGE_BUILDER_BUILDAH ? "buildah" : "docker");
            argv_add(&a, "push");
            argv_add(&a, refs[k]);
            int rc = step(&a, o->dry_run, err);
            argv_free(&a);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Which builder: the one asked for, or Docker (bake with buildx) where an engine
 * answers and buildah where none does. 0 with *OUT set, or a failure's status, said. */
static int pick_builder(const struct image_build_options *o, enum image_builder *out,
                        struct error *err)
{
    *out = o->builder;
    if (o->builder == IMAGE_BUILDER_BUILDAH) {
        if (!o->dry_run && !have_buildah()) {
            return error_set(err, ERR_SYSTEM, "buildah: not found on PATH (or `buildah version` "
                             "fails); Debian: apt-get install buildah");
        }
        return 0;
    }
    if (o->builder == IMAGE_BUILDER_AUTO && !o->dry_run) {
        char why[512];
        int rc = docker_state(why, sizeof why);
        if (rc != 0) {
            if (have_buildah()) {
                fprintf(stderr, "spark-k8s images: no Docker engine (%s): building with buildah\n",
                        rc == 127 ? "no docker client" : why);
                *out = IMAGE_BUILDER_BUILDAH;
                return 0;
            }
            docker_missing(rc, why, err);
            fprintf(stderr, "spark-k8s images: %s\n", err->text);
            return error_set(err, ERR_SYSTEM, "buildah is not there either (Debian: apt-get "
                             "install buildah)");
        }
    } else if (!o->dry_run && check_docker(err)) {
        return -1;
    }
    /* bake takes no per-build arguments: --builder-arg means one build per image */
    if (*out == IMAGE_BUILDER_AUTO)
        *out = !o->n_builder_args && have_buildx() ? IMAGE_BUILDER_BAKE : IMAGE_BUILDER_DOCKER;
    if (*out == IMAGE_BUILDER_BAKE && o->n_builder_args) {
        return error_set(err, ERR_USAGE, "--builder-arg applies to docker build and buildah "
                         "build, not to bake");
    }
    return 0;
}

static int do_build(const struct image_plan *p, const struct image_build_options *o,
                    struct error *err)
{
    char df[PATH_MAX];
    snprintf(df, sizeof df, "%s/images/runtime.Dockerfile", o->context);
    if (access(df, R_OK) != 0) {
        return error_set(err, ERR_USAGE,
                         "%s not found: run from the repository root or pass --context", df);
    }
    enum image_builder b;
    int rc = pick_builder(o, &b, err);
    if (rc)
        return rc;
    if (b == IMAGE_BUILDER_BAKE) {
        rc = write_bake(p, o, err);
        if (rc == 0)
            rc = build_bake(p, o, err);
    } else {
        if (b == IMAGE_BUILDER_DOCKER && !o->dry_run)
            fprintf(stderr, "spark-k8s images: docker buildx not available: plain docker build, "
                            "one image at a time in dependency order\n");
        rc = build_each(p, o, b, err);
    }
    if (rc == 0)
        rc = size_report(p, o, b, err);
    if (rc == 0 && o->push)
        rc = push_all(p, o, b, err);
    return rc;
}

/* The checksums the selected images need (a baseline image downloads no jar). */
static int check_plan_pins(const struct image_plan *p, const struct matrix *m, struct error *err)
{
    if (p->n_images == 0)
        return matrix_check_pins(m, err);
    for (size_t i = 0; i < p->n_images; i++)
        if (matrix_check_pins_for(m, p->images[i].line, p->images[i].variant, err))
            return -1;
    return 0;
}

/* --build-arg NAME=VALUE: into every image of P that takes NAME, said on stderr. */
static int apply_build_args(struct image_plan *p, const struct image_build_options *o,
                            struct error *err)
{
    for (size_t i = 0; i < o->n_build_args; i++) {
        const char *kv = o->build_args[i];
        const char *eq = strchr(kv, '=');
        char name[128];
        if ((size_t)(eq - kv) >= sizeof name)
            return error_set(err, ERR_USAGE, "--build-arg: '%.*s' is too long a name",
                             (int)(eq - kv), kv);
        snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
        const char *old = NULL;
        for (size_t k = 0; !old && k < p->n_images; k++)
            old = image_spec_arg(&p->images[k], name);
        char *was = old ? strdup(old) : NULL;
        size_t n = 0;
        if (image_plan_set_arg(p, name, eq + 1, &n, err)) {
            free(was);
            return error_prefix(err, "--build-arg: ");
        }
        fprintf(stderr,
                "spark-k8s images: substituted for this run: %s=%s in %zu image%s (the matrix "
                "says %s)\n",
                name, eq + 1, n, n == 1 ? "" : "s", was && *was ? was : "(empty)");
        free(was);
    }
    return 0;
}

int image_build_run(const struct image_build_options *o, struct error *err)
{
    struct matrix *m = NULL;
    if (matrix_load_default(&m, err))
        return -1;
    char *rev = revision();
    struct image_plan_options po = {
        .registry = o->registry, .select = o->select, .revision = rev, .gpu_python = o->gpu_python};
    struct image_plan *p = NULL;
    struct error refusal = {0};
    int rc = -1;
    if (image_plan_make(m, &po, &p, err)) {
        error_prefix(err, "refused: ");
        goto out;
    }
    if (apply_build_args(p, o, err))
        goto out;
    rc = 0;
    int pins = check_plan_pins(p, m, &refusal);
    if (strcmp(o->action, "plan") == 0) {
        if (o->json) {
            json_t *j = image_plan_json(p);
            if (j)
                json_object_set_new(j, "buildable", json_boolean(pins == 0));
            if (j && pins)
                json_object_set_new(j, "refusal", json_string(refusal.text));
            char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
            json_decref(j);
            if (!text) {
                rc = error_nomem(err);
                goto out;
            }
            puts(text);
            free(text);
        } else if (o->markdown) {
            image_plan_write_markdown(p, m, stdout);
        } else {
            image_plan_write_text(p, stdout);
        }
        fflush(stdout);
    }
    if (pins && strcmp(o->action, "plan") == 0) {
        /* A plan is only a plan: show it, and say what stops a build. */
        fprintf(stderr, "spark-k8s images: not buildable yet (a build would refuse): %s\n",
                refusal.text);
        goto out;
    }
    if (pins) {
        /* nothing unverified is ever built */
        *err = refusal; /* the matrix's kind: ERR_INPUT */
        rc = error_prefix(err, "refusing to build: ");
        goto out;
    }
    if (strcmp(o->action, "bake") == 0)
        rc = write_bake(p, o, err);
    else if (strcmp(o->action, "build") == 0)
        rc = do_build(p, o, err);
out:
    image_plan_free(p);
    matrix_free(m);
    free(rev);
    return rc;
}
