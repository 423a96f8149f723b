/* connection.h — Jupyter connection files: read, write (mode 0600), endpoints, keys.
 *
 * A connection file names the transport (tcp or ipc), the address, one port per
 * channel, the HMAC key and the signature scheme. For ipc, Jupyter's endpoint
 * for a channel is "ipc://IP-PORT", IP being a path prefix. */
#ifndef SPARK_K8S_CONNECTION_H
#define SPARK_K8S_CONNECTION_H

#include <stddef.h>

enum channel { CH_SHELL, CH_IOPUB, CH_STDIN, CH_CONTROL, CH_HB, CH_COUNT };

/* "shell", "iopub", "stdin", "control", "hb" */
const char *channel_name(enum channel ch);

struct connection {
    char transport[8];        /* "tcp" or "ipc" */
    char ip[512];             /* tcp: an address; ipc: a path prefix */
    int ports[CH_COUNT];      /* tcp: 1..65535 (0 in a template: pick one); ipc: any positive */
    char *key;                /* HMAC key bytes as in the file, NUL-terminated; "" = unsigned */
    size_t key_len;
    char signature_scheme[32];/* "hmac-sha256" */
    char kernel_name[256];    /* optional, "" when absent */
};

/* Read and validate PATH. On error returns -1 and writes a message naming the
 * file, the field and the value into ERR. OUT must be released with connection_clear. */
int connection_read(const char *path, struct connection *out, char *err, size_t errlen);

/* Write C to PATH, created with mode 0600 (an existing file is replaced). */
int connection_write(const char *path, const struct connection *c, char *err, size_t errlen);

/* Set the key (copied); returns -1 on allocation failure. */
int connection_set_key(struct connection *c, const char *key, size_t len);

/* A fresh random key: 64 hex characters from 32 bytes of OpenSSL's CSPRNG. */
int connection_generate_key(char out[65]);

/* The ZMQ endpoint of a channel: "tcp://IP:PORT" or "ipc://IP-PORT". */
int connection_endpoint(const struct connection *c, enum channel ch, char *buf, size_t len);

void connection_clear(struct connection *c);

#endif
