/* hex.h — bytes as lowercase hex digits (digests, tokens). */
#ifndef SPARK_K8S_HEX_H
#define SPARK_K8S_HEX_H

#include <stddef.h>

/* The N bytes at BYTES as 2N lowercase hex digits and a NUL into OUT. */
void hex_encode(const unsigned char *bytes, size_t n, char *out);

#endif
