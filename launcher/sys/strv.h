/* strv.h — NULL-terminated arrays of strings, the array and each string malloc'd (an
 * argv, a list of folders): copied, freed, and any array of strings joined into text. */
#ifndef SPARK_K8S_STRV_H
#define SPARK_K8S_STRV_H

#include <stddef.h>

/* A copy of the NULL-terminated V; NULL when out of memory. */
char **strv_copy(const char *const *v);

/* Free V and each of its strings; NULL is fine. */
void strv_free(char **v);

/* The N strings of V separated by SEP into BUF, cut at LEN - 1 bytes; "" for none. */
void strv_join(const char *const *v, size_t n, const char *sep, char *buf, size_t len);

#endif
