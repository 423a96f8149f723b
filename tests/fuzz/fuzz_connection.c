/* fuzz_connection.c — libFuzzer harness for connection files.
 *
 * The input is the file's bytes (written to a temp file), read with
 * connection_read. A file that reads is written back with connection_write,
 * read again and compared, and its endpoints are formed; one that does not read
 * leaves nothing allocated and its message names the file. */
#include <stdint.h>
#include <string.h>

#include "kernel/connection.h"
#include "tests/fuzz/fuzz_util.h"

static char in_path[300], out_path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = fuzz_tmpdir("fuzz_connection");
    snprintf(in_path, sizeof in_path, "%s/in.json", dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(in_path, data, size);
    struct connection c, back;
    char err[1024];
    if (connection_read(in_path, &c, err, sizeof err) != 0) {
        fuzz_check(c.key == NULL, "cleared after an error");
        fuzz_check(strstr(err, in_path) != NULL, "error names the file");
        return 0;
    }
    char ep[700];
    for (int ch = 0; ch < CH_COUNT; ch++) {
        fuzz_check(connection_endpoint(&c, (enum channel)ch, ep, sizeof ep) == 0, "endpoint");
        fuzz_check(strncmp(ep, "tcp://", 6) == 0 || strncmp(ep, "ipc://", 6) == 0, "scheme");
        /* An IPv6 address is bracketed, or libzmq would read its last group as the port. */
        if (strcmp(c.transport, "tcp") == 0 && strchr(c.ip, ':'))
            fuzz_check(ep[6] == '[', "IPv6 in brackets");
    }
    fuzz_check(connection_write(out_path, &c, err, sizeof err) == 0, "write what was read");
    fuzz_check(connection_read(out_path, &back, err, sizeof err) == 0, "read what was written");
    fuzz_check(strcmp(c.transport, back.transport) == 0 && strcmp(c.ip, back.ip) == 0 &&
                   strcmp(c.signature_scheme, back.signature_scheme) == 0 &&
                   strcmp(c.kernel_name, back.kernel_name) == 0 && c.key_len == back.key_len &&
                   memcmp(c.key, back.key, c.key_len) == 0 &&
                   memcmp(c.ports, back.ports, sizeof c.ports) == 0,
               "connection round trip");
    connection_clear(&back);
    connection_clear(&c);
    return 0;
}
