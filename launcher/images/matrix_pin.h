/* matrix_pin.h — pinning the image matrix's checksums: reading a publisher's
 * checksum file (sha256sum/sha1sum and GPG styles, Maven's bare or named hex), and
 * setting one string value inside a JSON text in place, every other byte kept, so
 * that a pinned images/matrix.json differs from the file an admin wrote only in the
 * checksums. `spark-k8s images pin` (launcher/images/image_pin.c) is built on these. */
#ifndef SPARK_K8S_MATRIX_PIN_H
#define SPARK_K8S_MATRIX_PIN_H

#include <stddef.h>

#include "launcher/sys/errmsg.h"

/* Read a checksum file: TEXT (LEN bytes, need not be NUL-terminated) names the file
 * NAME (compared with the basename of the name in the text) and carries HEXLEN hex
 * digits (40: SHA-1, 64: SHA-256). The forms accepted:
 *   "HEX  NAME" or "HEX *NAME"  (sha256sum/sha1sum; with several lines, the line
 *                                naming NAME)
 *   "NAME: AAAAAAAA BBBB ..."   (gpg --print-md: hex groups in either case, wrapped
 *                                over several lines)
 *   "HEX"                       (Maven's bare form; only when ALLOW_BARE)
 * On success writes HEXLEN lowercase hex digits and a NUL into OUT (OUTLEN >
 * HEXLEN) and returns 0; else -1 and ERR says what was wrong (the name it found,
 * the token that is not hex, ...), quoting the text only as printable ASCII. */
int checksum_parse(const char *text, size_t len, const char *name, size_t hexlen, int allow_bare,
                   char *out, size_t outlen, struct error *err);

/* The last path component of URL ("https://h/a/b.tgz?x" -> "b.tgz") into BUF.
 * 0, or -1 when it has none or BUF is too small. */
int url_basename(const char *url, char *buf, size_t len);

/* TEXT (a valid JSON document) with the string at PATH set to VALUE: PATH is DEPTH
 * object keys or, inside arrays, decimal indices ({"spark", "1", "iceberg",
 * "sha256"}). The old value must be a string; it is replaced and every other byte of
 * TEXT is kept. When the last key is absent from its object it is added after the
 * object's last member, on a line of its own indented like that member (inline when
 * the member shares a line with the brace). VALUE must need no escaping (no '"',
 * '\\' or control characters). *OUT is a malloc'd NUL-terminated text the caller
 * frees. 0, or -1 with ERR naming the path. */
int json_text_set_string(const char *text, const char *const *path, size_t depth,
                         const char *value, char **out, struct error *err);

#endif
