/* textfile.c — a small file read whole, or copied (see textfile.h). */
#include "launcher/sys/textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int textfile_read(const char *path, size_t max, char **out, size_t *len, struct error *err)
{
    *out = NULL;
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        error_set(err, ERR_INPUT, "%s: %s", path, strerror(e));
        errno = e;
        return -1;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        error_nomem(err);
        errno = ENOMEM;
        return -1;
    }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(buf);
        error_set(err, ERR_INPUT, "%s: %s", path, bad ? "read error" : "file too large");
        errno = bad ? EIO : EFBIG;
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return 0;
}

int textfile_copy(const char *from, const char *to, mode_t mode, size_t max, struct error *err)
{
    char *text = NULL;
    size_t len = 0;
    if (textfile_read(from, max, &text, &len, err) < 0)
        return errno == ENOENT ? (error_clear(err), 1) : -1;
    int fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int rc = 0;
    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        rc = error_set(err, ERR_SYSTEM, "%s: cannot copy to %s: %s", from, to, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = error_set(err, ERR_SYSTEM, "%s: %s", to, strerror(errno));
    free(text);
    return rc;
}
