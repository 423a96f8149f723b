/* fuzz_util.h — what the libFuzzer harnesses share: an invariant check that
 * aborts (so libFuzzer keeps the input), a private temp directory removed at
 * exit, and a check that spark-defaults.conf text says exactly its properties. */
#ifndef SPARK_K8S_FUZZ_UTIL_H
#define SPARK_K8S_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/sys/fs.h"

static char fuzz_dir[256] __attribute__((unused));

static inline void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz: invariant broken: %s\n", what);
        abort();
    }
}

static inline void fuzz_dir_cleanup(void)
{
    if (fuzz_dir[0])
        remove_tree(fuzz_dir);
}

/* A private directory for the files a harness writes; removed at exit. */
static inline const char *fuzz_tmpdir(const char *name)
{
    if (!fuzz_dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
        if (!mkdtemp(fuzz_dir))
            abort();
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir;
}

/* Write DATA to PATH (replacing it). */
static inline void fuzz_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
}

/* TEXT (spark-defaults.conf as sparkconf_print wrote it, with or without a header)
 * has exactly N property lines, and no other line that Java's Properties would
 * read as one: every other line is a comment. */
static inline void fuzz_check_properties(const char *text, size_t n)
{
    size_t props = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        fuzz_check(end != NULL, "every line ends with a newline");
        if (line[0] != '#') {
            fuzz_check(line[0] != ' ' && line[0] != '\t' && line[0] != '\f' && end > line,
                       "a property line starts with its key");
            props++;
        }
        line = end + 1;
    }
    fuzz_check(props == n, "one line per property, nothing else read as a property");
}

#endif
