/* kernelspec.c — builds, installs, removes and finds spark-k8s kernelspecs (see kernelspec.h). */
#include "launcher/plan/kernelspec.h"
#include "launcher/sys/errmsg.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/images/matrix.h"
#include "launcher/plan/plan.h"
#include "launcher/plan/sparkconf.h"
#include "launcher/sys/fs.h"
#include "launcher/sys/strv.h"

extern const unsigned char spark_k8s_logo_svg[], spark_k8s_logo_svg_end[];
extern const unsigned char spark_k8s_logo_32[], spark_k8s_logo_32_end[];
extern const unsigned char spark_k8s_logo_64[], spark_k8s_logo_64_end[];
extern const unsigned char spark_k8s_session_py[], spark_k8s_session_py_end[];
extern const unsigned char spark_k8s_log4j2[], spark_k8s_log4j2_end[];
extern const unsigned char spark_k8s_pkg_init_py[], spark_k8s_pkg_init_py_end[];
extern const unsigned char spark_k8s_pkg_settings_py[], spark_k8s_pkg_settings_py_end[];
extern const unsigned char spark_k8s_pkg_jvm_py[], spark_k8s_pkg_jvm_py_end[];
extern const unsigned char spark_k8s_pkg_session_py[], spark_k8s_pkg_session_py_end[];
extern const unsigned char spark_k8s_pkg_interrupts_py[], spark_k8s_pkg_interrupts_py_end[];
extern const unsigned char spark_k8s_pkg_cells_py[], spark_k8s_pkg_cells_py_end[];
extern const unsigned char spark_k8s_pkg_progress_py[], spark_k8s_pkg_progress_py_end[];
extern const unsigned char spark_k8s_pkg_tables_py[], spark_k8s_pkg_tables_py_end[];
extern const unsigned char spark_k8s_pkg_helper_py[], spark_k8s_pkg_helper_py_end[];
extern const unsigned char spark_k8s_pkg_notebook_conf_py[], spark_k8s_pkg_notebook_conf_py_end[];

const char *kernelspec_file(size_t i, const unsigned char **data, size_t *size)
{
    static const struct {
        const char *name;
        const unsigned char *start, *end;
    } files[] = {
        {"logo-svg.svg", spark_k8s_logo_svg, spark_k8s_logo_svg_end},
        {"logo-32x32.png", spark_k8s_logo_32, spark_k8s_logo_32_end},
        {"logo-64x64.png", spark_k8s_logo_64, spark_k8s_logo_64_end},
        {"log4j2.properties", spark_k8s_log4j2, spark_k8s_log4j2_end},
        /* the IPython startup file and the package it loads (folders are made) */
        {"spark_session.py", spark_k8s_session_py, spark_k8s_session_py_end},
        {"spark_k8s_session/__init__.py", spark_k8s_pkg_init_py, spark_k8s_pkg_init_py_end},
        {"spark_k8s_session/settings.py", spark_k8s_pkg_settings_py, spark_k8s_pkg_settings_py_end},
        {"spark_k8s_session/jvm.py", spark_k8s_pkg_jvm_py, spark_k8s_pkg_jvm_py_end},
        {"spark_k8s_session/session.py", spark_k8s_pkg_session_py, spark_k8s_pkg_session_py_end},
        {"spark_k8s_session/interrupts.py", spark_k8s_pkg_interrupts_py, spark_k8s_pkg_interrupts_py_end},
        {"spark_k8s_session/cells.py", spark_k8s_pkg_cells_py, spark_k8s_pkg_cells_py_end},
        {"spark_k8s_session/progress.py", spark_k8s_pkg_progress_py, spark_k8s_pkg_progress_py_end},
        {"spark_k8s_session/tables.py", spark_k8s_pkg_tables_py, spark_k8s_pkg_tables_py_end},
        {"spark_k8s_session/helper.py", spark_k8s_pkg_helper_py, spark_k8s_pkg_helper_py_end},
        {"spark_k8s_session/notebook_conf.py", spark_k8s_pkg_notebook_conf_py,
         spark_k8s_pkg_notebook_conf_py_end},
    };
    if (i >= sizeof files / sizeof files[0])
        return NULL;
    *data = files[i].start;
    *size = (size_t)(files[i].end - files[i].start);
    return files[i].name;
}

/* ---- building kernel.json ---- */

static int name_ok(const char *name)
{
    if (!*name || strlen(name) > 128 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && !strchr("._-", *p))
            return 0;
    return 1;
}

/* "Spark 4.1 · GPU · Iceberg": the line, then each word of the variant but "baseline". */
static void display_name(const char *line, const char *variant, char *buf, size_t len)
{
    snprintf(buf, len, "Spark %s", line);
    if (strcmp(variant, "baseline") == 0)
        return;
    const char *p = variant;
    while (*p) {
        size_t n = strcspn(p, "-");
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)(n < 63 ? n : 63), p);
        if (strcmp(word, "gpu") == 0)
            snprintf(word, sizeof word, "GPU");
        else
            word[0] = (char)toupper((unsigned char)word[0]);
        snprintf(buf + strlen(buf), len - strlen(buf), " \xc2\xb7 %s", word);
        p += n;
        if (*p == '-')
            p++;
    }
}

/* How a setting's text is written into kernel.json: a number, a boolean, a string. */
static json_t *setting_json(enum setting_id id, const char *v)
{
    enum setting_kind k = setting_info(id)->kind;
    if (k == SETTING_COUNT_POS || k == SETTING_COUNT_ANY || k == SETTING_PORT)
        return json_integer(strtoll(v, NULL, 10));
    if (k == SETTING_BOOL)
        return json_boolean(strcmp(v, "true") == 0);
    return json_string(v);
}

/* Put VALUE at the dotted PATH of OBJ, creating intermediate objects. */
static int json_put(json_t *obj, const char *path, json_t *value)
{
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        char part[64];
        snprintf(part, sizeof part, "%.*s", (int)(dot - path), path);
        json_t *next = json_object_get(obj, part);
        if (!next) {
            next = json_object();
            if (json_object_set_new(obj, part, next))
                break;
        }
        obj = next;
        path = dot + 1;
    }
    return json_object_set_new(obj, path, value);
}

static json_t *runtime_command(const char *python)
{
    return json_pack("[s s s s s s]", python, "-m", "ipykernel_launcher", "-f",
                     "{connection_file}",
                     "--IPKernelApp.exec_files={resource_dir}/spark_session.py");
}

/* The options given, checked one by one so a refusal names the option. */
const char *kernelspec_setting_feature(enum setting_id id)
{
    switch (id) {
    case SETTING_ICEBERG_NAME:
    case SETTING_ICEBERG_TYPE:
    case SETTING_ICEBERG_URI:
    case SETTING_ICEBERG_WAREHOUSE:
    case SETTING_S3_ENDPOINT:         /* Iceberg's S3FileIO reads these */
    case SETTING_S3_REGION:
    case SETTING_S3_PATH_STYLE:
    case SETTING_S3_CREDENTIALS_SECRET:
        return "iceberg";
    case SETTING_EXECUTOR_GPUS:
    case SETTING_RAPIDS_MODE:
        return "gpu";
    default:
        return NULL;
    }
}

static int check_request(const struct matrix *m, const struct kernelspec_request *req,
                         const struct matrix_spark **line, struct error *err)
{
    *line = req->spark ? matrix_spark_find(m, req->spark) : NULL;
    if (!*line) {
        char known[256] = "";
        for (size_t i = 0; i < m->n_spark; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s (%s)",
                     i ? ", " : "", m->spark[i].line, m->spark[i].version);
        error_set(err, ERR_INPUT, "--spark: unknown Spark version '%s'; the matrix has %s",
                  req->spark ? req->spark : "", known);
        return -1;
    }
    if (!req->variant || !matrix_variant_valid(m, req->variant)) {
        char known[256] = "";
        for (size_t i = 0; i < m->n_variants; i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                     i ? ", " : "", m->variants[i]);
        error_set(err, ERR_INPUT, "--variant: unknown variant '%s'; expected one of %s",
                  req->variant ? req->variant : "", known);
        return -1;
    }
    if (req->name && !name_ok(req->name)) {
        error_set(err, ERR_INPUT,
                  "--name: '%s' is not a kernelspec name: lowercase letters, digits and . _ - "
                  "(as Jupyter requires), not starting with '.'", req->name);
        return -1;
    }
    if (req->display_name) {
        for (const char *p = req->display_name; *p; p++)
            if ((unsigned char)*p < 0x20) {
                error_set(err, ERR_INPUT, "--display-name: '%s' contains a control character",
                          req->display_name);
                return -1;
            }
    }
    if (req->executable && (req->executable[0] != '/' || strpbrk(req->executable, "\n\r"))) {
        error_set(err, ERR_INPUT, "--executable: '%s' must be an absolute path", req->executable);
        return -1;
    }
    if (req->python && (req->python[0] == '\0' || strpbrk(req->python, "\n\r"))) {
        error_set(err, ERR_INPUT, "--python: '%s' is not a usable command", req->python);
        return -1;
    }
    const char *connect = req->values[SETTING_CONNECT];
    if (connect && strcmp(connect, "true") == 0 && (*line)->line[0] < '4') {
        error_set(err, ERR_INPUT, "--spark-connect: Spark %s has no Spark Connect server in its Python "
                  "package (pyspark 4 carries it); install it for a Spark 4 line (--spark 4.1)",
                  (*line)->line);
        return -1;
    }
    if (req->registry && setting_check(SETTING_IMAGE_REGISTRY, req->registry, "--registry", err))
        return -1;
    for (int id = 0; id < SETTING_COUNT; id++)
        if (req->values[id] &&
            setting_check(id, req->values[id], setting_info(id)->option, err))
            return -1;
    for (int id = 0; id < SETTING_COUNT; id++) {
        const char *v = req->values[id], *feature = kernelspec_setting_feature(id);
        if (v && feature && !matrix_variant_has(req->variant, feature) &&
            !(id == SETTING_EXECUTOR_GPUS && strcmp(v, "0") == 0)) {
            error_set(err, ERR_INPUT, "%s: '%s' needs %s %s variant, not '%s'", setting_info(id)->option,
                      v, strcmp(feature, "iceberg") == 0 ? "an" : "a", feature, req->variant);
            return -1;
        }
    }
    for (size_t i = 0; i < req->n_conf; i++) {
        const char *eq = strchr(req->conf[i], '=');
        if (!eq) {
            error_set(err, ERR_INPUT, "--conf: '%s' is not KEY=VALUE", req->conf[i]);
            return -1;
        }
        char key[300];
        snprintf(key, sizeof key, "%.*s", (int)(eq - req->conf[i]), req->conf[i]);
        if (sparkconf_check_key(key, "--conf", err) ||
            sparkconf_check_value(key, eq + 1, "--conf", err))
            return -1;
        if (sparkconf_reserved(key)) {
            error_set(err, ERR_INPUT, "--conf: property '%s' is set by the runtime and cannot be "
                      "overridden", key);
            return -1;
        }
    }
    return 0;
}

/* The kernelspec's folder name, display name and argv[0] (the spark-k8s binary). */
static int names_of(const struct kernelspec_request *req, const struct matrix_spark *line,
                    char name[256], char display[256], char exe[4096], struct error *err)
{
    if (req->name)
        snprintf(name, 256, "%s", req->name);
    else
        snprintf(name, 256, "spark-%s-%s", line->line, req->variant);
    if (req->display_name)
        snprintf(display, 256, "%s", req->display_name);
    else
        display_name(line->line, req->variant, display, 256);
    if (req->executable) {
        snprintf(exe, 4096, "%s", req->executable);
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", exe, 4095);
    if (n <= 0)
        return error_set(err, ERR_INPUT, "/proc/self/exe: %s; give --executable",
                         strerror(errno));
    exe[n] = '\0';
    return 0;
}

/* Images into META: the matrix's names under --registry, unless given outright. */
static int put_images(const struct matrix *m, const struct kernelspec_request *req,
                      const struct matrix_spark *line, json_t *meta, struct error *err)
{
    static const struct {
        enum setting_id id;
        const char *kind;
    } images[] = {{SETTING_DRIVER_IMAGE, "jupyter"}, {SETTING_EXECUTOR_IMAGE, "runtime"}};
    char ref[1024];
    for (size_t i = 0; i < 2; i++) {
        const char *given = req->values[images[i].id];
        if (!given) {
            if (matrix_image_ref(m, req->registry, images[i].kind, line, req->variant, ref,
                                 sizeof ref))
                return error_set(err, ERR_INPUT, "--registry: '%s' makes no valid image name",
                                 req->registry ? req->registry : "");
            given = ref;
        }
        json_put(meta, setting_info(images[i].id)->path, json_string(given));
    }
    return 0;
}

/* Resources and the catalog into META: given values, else the defaults a plan would
 * have; then the namespace and account, the extra properties and the runtime command. */
static int put_settings(const struct matrix *m, const struct kernelspec_request *req,
                        const struct matrix_spark *line, json_t *meta, struct error *err)
{
    struct plan *defaults = NULL;
    json_t *bare = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "spark_k8s", "spark_version",
                             line->version, "variant", req->variant);
    int rc = bare ? plan_from_json_in(m, bare, NULL, "(defaults)", PLAN_NO_ADMIN, &defaults, err)
                  : error_nomem(err);
    json_decref(bare);
    if (rc)
        return -1;
    for (int id = SETTING_DRIVER_CORES; id < SETTING_COUNT; id++) {
        const char *v = req->values[id] ? req->values[id] : plan_setting(defaults, id)->value;
        if (!v || !setting_info(id)->in_metadata)
            continue;
        /* the default cap follows the executor count wherever that is set (an admin's
         * config too): written only when given */
        if (id == SETTING_EXECUTOR_MAX_INSTANCES && !req->values[id])
            continue;
        /* so do executor GPUs (none in RAPIDS' explain-only mode, which an admin may
         * switch on) and a hadoop catalog's warehouse (a REST or Hive catalog has none) */
        if ((id == SETTING_EXECUTOR_GPUS || id == SETTING_ICEBERG_WAREHOUSE) && !req->values[id])
            continue;
        json_put(meta, setting_info(id)->path, setting_json(id, v));
    }
    plan_free(defaults);
    if (!matrix_variant_has(req->variant, "iceberg"))
        json_object_del(meta, "iceberg");
    for (int id = SETTING_NAMESPACE; id <= SETTING_SERVICE_ACCOUNT; id++)
        if (req->values[id])
            json_put(meta, setting_info(id)->path, json_string(req->values[id]));
    json_t *conf = json_object();
    json_object_set_new(meta, "spark_conf", conf);
    for (size_t i = 0; i < req->n_conf; i++) {
        const char *eq = strchr(req->conf[i], '=');
        char key[300];
        snprintf(key, sizeof key, "%.*s", (int)(eq - req->conf[i]), req->conf[i]);
        json_object_set_new(conf, key, json_string(eq + 1));
    }
    json_object_set_new(meta, "runtime_command",
                        runtime_command(req->python ? req->python : KERNELSPEC_DEFAULT_PYTHON));
    return 0;
}

int kernelspec_build(const struct matrix *m, const struct kernelspec_request *req,
                     char **name_out, json_t **json_out, struct error *err)
{
    const struct matrix_spark *line;
    char name[256], display[256], exe[4096];
    if (check_request(m, req, &line, err) || names_of(req, line, name, display, exe, err))
        return -1;
    json_t *meta = json_object();
    json_t *root = json_pack("{s:[s s s s s s], s:s, s:s, s:s, s:{s:o}}", "argv", exe, "kernel",
                             "-f", "{connection_file}", "--kernelspec", "{resource_dir}",
                             "display_name", display, "language", "python", "interrupt_mode",
                             "message", "metadata", "spark_k8s", meta);
    if (!root)
        return error_nomem(err);
    json_object_set_new(meta, "spark_version", json_string(line->version));
    json_object_set_new(meta, "variant", json_string(req->variant));
    json_object_set_new(meta, "runtime", json_string(req->values[SETTING_RUNTIME]
                                                         ? req->values[SETTING_RUNTIME]
                                                         : "local"));
    /* The same reader the kernel uses must accept what we write. */
    char path[600];
    snprintf(path, sizeof path, "%s/kernel.json", name);
    struct plan *check = NULL;
    if (put_images(m, req, line, meta, err) || put_settings(m, req, line, meta, err) ||
        plan_from_json_in(m, root, NULL, path, PLAN_NO_ADMIN, &check, err)) {
        json_decref(root);
        return -1;
    }
    plan_free(check);
    *name_out = strdup(name);
    if (!*name_out) {
        json_decref(root);
        return error_nomem(err);
    }
    *json_out = root;
    return 0;
}

/* ---- files ---- */

static int write_file(const char *dir, const char *name, const void *data, size_t size,
                      struct error *err)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
        return -1;
    }
    const unsigned char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        p += n;
        size -= (size_t)n;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        error_set(err, ERR_SYSTEM, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int mkdir_p(const char *dir, struct error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path) {
        error_set(err, ERR_SYSTEM, "%s: path too long", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(path, 0755) != 0 && errno != EEXIST) {
                error_set(err, ERR_SYSTEM, "%s: cannot create: %s", path, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        error_set(err, ERR_SYSTEM, "%s: not a directory", dir);
        return -1;
    }
    return 0;
}

int kernelspec_write_files(const char *dir, struct error *err)
{
    const unsigned char *data;
    size_t size;
    const char *file;
    for (size_t i = 0; (file = kernelspec_file(i, &data, &size)); i++) {
        const char *slash = strrchr(file, '/');
        if (slash) {
            char sub[4300];
            snprintf(sub, sizeof sub, "%s/%.*s", dir, (int)(slash - file), file);
            if (mkdir_p(sub, err))
                return -1;
            if (chmod(sub, 0755) != 0) { /* whatever the umask: Jupyter may be another user */
                error_set(err, ERR_SYSTEM, "%s: %s", sub, strerror(errno));
                return -1;
            }
        }
        if (write_file(dir, file, data, size, err))
            return -1;
    }
    return 0;
}

/* Temporary folders are named ".NAME+XXXXXX": '+' is not allowed in a kernel name,
 * so Jupyter never takes a half-written one for a kernelspec. */
static int temp_dir(const char *kernels_dir, const char *name, char *buf, size_t len, struct error *err)
{
    if ((size_t)snprintf(buf, len, "%s/.%s+XXXXXX", kernels_dir, name) >= len) {
        error_set(err, ERR_SYSTEM, "%s: path too long", kernels_dir);
        return -1;
    }
    if (!mkdtemp(buf)) {
        error_set(err, ERR_SYSTEM, "%s: cannot create a folder: %s", kernels_dir, strerror(errno));
        return -1;
    }
    return 0;
}

int kernelspec_install(const char *kernels_dir, const char *name, json_t *kernel_json,
                       int replace, struct error *err)
{
    char target[4096], tmp[4200];
    if (!name_ok(name)) {
        error_set(err, ERR_RUNTIME, "'%s' is not a kernelspec name", name);
        return -1;
    }
    if (mkdir_p(kernels_dir, err))
        return -1;
    snprintf(target, sizeof target, "%s/%s", kernels_dir, name);
    struct stat st;
    int exists = lstat(target, &st) == 0;
    if (exists && !replace) {
        error_set(err, ERR_RUNTIME, "%s already exists; use --replace to replace it", target);
        return -1;
    }
    if (temp_dir(kernels_dir, name, tmp, sizeof tmp, err))
        return -1;
    if (chmod(tmp, 0755) != 0) {
        error_set(err, ERR_SYSTEM, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (kernelspec_write_files(tmp, err))
        goto fail;
    char *text = json_dumps(kernel_json, JSON_INDENT(1));
    if (!text) {
        error_nomem(err);
        goto fail;
    }
    int rc = write_file(tmp, "kernel.json", text, strlen(text), err);
    free(text);
    if (rc)
        goto fail;
    if (exists) {
        /* Swap in one step; the old spec lands in the temporary name and goes. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
            remove_tree(tmp);
            return 0;
        }
        /* Where RENAME_EXCHANGE is not supported: the old entry moves aside to a
         * temporary name (over the empty folder made for it; a file or a link, which
         * cannot replace a folder, to the name that folder held), the new spec in. */
        char old[4200];
        if (temp_dir(kernels_dir, name, old, sizeof old, err))
            goto fail;
        if (!S_ISDIR(st.st_mode))
            rmdir(old);
        if (rename(target, old) != 0) {
            error_set(err, ERR_SYSTEM, "%s: cannot move aside: %s", target, strerror(errno));
            rmdir(old);
            goto fail;
        }
        if (rename(tmp, target) != 0) {
            error_set(err, ERR_SYSTEM, "%s: cannot rename into place: %s", target, strerror(errno));
            rename(old, target);
            goto fail;
        }
        remove_tree(old);
        return 0;
    }
    if (rename(tmp, target) != 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot rename into place: %s", target, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    remove_tree(tmp);
    return -1;
}

int kernelspec_is_ours(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    json_t *md = root ? json_object_get(root, "metadata") : NULL;
    int ours = md && json_is_object(json_object_get(md, "spark_k8s"));
    json_decref(root);
    return ours;
}

int kernelspec_remove(const char *kernels_dir, const char *name, struct error *err)
{
    char target[4096], tmp[4200];
    snprintf(target, sizeof target, "%s/%s", kernels_dir, name);
    struct stat st;
    if (!name_ok(name) || lstat(target, &st) != 0)
        return 1;
    if (!S_ISDIR(st.st_mode) || !kernelspec_is_ours(target)) {
        error_set(err, ERR_RUNTIME, "%s is not a spark-k8s kernelspec; not removing it", target);
        return -1;
    }
    if (temp_dir(kernels_dir, name, tmp, sizeof tmp, err))
        return -1;
    if (rename(target, tmp) != 0) {
        error_set(err, ERR_SYSTEM, "%s: cannot remove: %s", target, strerror(errno));
        rmdir(tmp);
        return -1;
    }
    if (remove_tree(tmp) != 0) {
        error_set(err, ERR_SYSTEM, "%s: removed, but its files remain in %s: %s", target, tmp,
                  strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- where Jupyter looks ---- */

int kernelspec_user_dir(char *buf, size_t len)
{
    const char *data = getenv("JUPYTER_DATA_DIR");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    size_t n;
    if (data && *data)
        n = (size_t)snprintf(buf, len, "%s/kernels", data);
    else if (xdg && *xdg)
        n = (size_t)snprintf(buf, len, "%s/jupyter/kernels", xdg);
    else if (home && *home)
        n = (size_t)snprintf(buf, len, "%s/.local/share/jupyter/kernels", home);
    else
        return -1;
    return n < len ? 0 : -1;
}

static int path_add(char ***dirs, size_t *n, const char *dir)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*dirs)[i], dir) == 0)
            return 0;
    char **grown = realloc(*dirs, (*n + 2) * sizeof *grown);
    if (!grown)
        return -1;
    *dirs = grown;
    grown[*n] = strdup(dir);
    if (!grown[*n])
        return -1;
    grown[++*n] = NULL;
    return 0;
}

char **kernelspec_search_path(void)
{
    char **dirs = calloc(1, sizeof *dirs);
    size_t n = 0;
    char buf[4200];
    int rc = dirs ? 0 : -1;
    const char *jp = getenv("JUPYTER_PATH");
    if (jp && !rc) {
        char *copy = strdup(jp), *save = NULL;
        rc = copy ? 0 : -1;
        for (char *p = copy ? strtok_r(copy, ":", &save) : NULL; p && !rc;
             p = strtok_r(NULL, ":", &save)) {
            size_t len = strlen(p);
            while (len > 1 && p[len - 1] == '/')
                p[--len] = '\0';
            snprintf(buf, sizeof buf, "%s/kernels", p);
            rc = path_add(&dirs, &n, buf);
        }
        free(copy);
    }
    if (!rc && kernelspec_user_dir(buf, sizeof buf) == 0)
        rc = path_add(&dirs, &n, buf);
    if (!rc)
        rc = path_add(&dirs, &n, "/usr/local/share/jupyter/kernels");
    if (!rc)
        rc = path_add(&dirs, &n, "/usr/share/jupyter/kernels");
    if (rc) {
        strv_free(dirs);
        return NULL;
    }
    return dirs;
}

int kernelspec_find(const char *name_or_path, char **dir_out, struct error *err)
{
    struct stat st;
    if (strchr(name_or_path, '/')) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", name_or_path);
        size_t len = strlen(dir);
        if (len > 12 && strcmp(dir + len - 12, "/kernel.json") == 0)
            dir[len - 12] = '\0';
        char file[4200];
        snprintf(file, sizeof file, "%s/kernel.json", dir);
        if (stat(file, &st) != 0) {
            error_set(err, ERR_RUNTIME, "%s: no kernelspec there (%s)", file, strerror(errno));
            return -1;
        }
        *dir_out = strdup(dir);
        return *dir_out ? 0 : -1;
    }
    char **dirs = kernelspec_search_path();
    if (!dirs) {
        error_nomem(err);
        return -1;
    }
    for (size_t i = 0; dirs[i]; i++) {
        char file[4400];
        snprintf(file, sizeof file, "%s/%s/kernel.json", dirs[i], name_or_path);
        if (stat(file, &st) == 0) {
            file[strlen(file) - 12] = '\0';
            *dir_out = strdup(file);
            strv_free(dirs);
            return *dir_out ? 0 : -1;
        }
    }
    char where[ERROR_TEXT_MAX] = "";
    size_t used = 0;
    for (size_t i = 0; dirs[i] && used < sizeof where; i++)
        used += (size_t)snprintf(where + used, sizeof where - used, "%s %s", i ? "," : "", dirs[i]);
    strv_free(dirs);
    return error_set(err, ERR_RUNTIME, "no kernelspec named '%s' in%s", name_or_path, where);
}
