/* fuzz_message.c — libFuzzer harness for the pure wire codec and connection files.
 *
 * Input layout: byte 0 picks the target.
 *   even: a multipart message. The rest is frames, each a length then bytes: one length
 *         byte, or 0xff followed by two little-endian bytes; a short last frame takes what
 *         is left. Drives message_split, message_verify (keyed and unsigned),
 *         message_header_read, message_reply_type and frame_contains, and checks that
 *         sign-then-verify of the same parts always passes.
 *   odd:  a connection file. The rest is the file's bytes (written to a temp file), read
 *         with connection_read; a file that reads is written back with connection_write,
 *         read again and compared, and its endpoints are formed.
 * Built and run by `make fuzz` (clang -fsanitize=fuzzer,address,undefined). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel/connection.h"
#include "kernel/message.h"
#include "kernel/signer.h"
#include "launcher/janitor.h"

#define MAX_FRAMES 64

static struct signer *keyed, *unsigned_signer;
static char tmpdir[256], in_path[300], out_path[300];

static void cleanup(void)
{
    signer_free(keyed);
    signer_free(unsigned_signer);
    remove_tree(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    if (signer_new("hmac-sha256", "fuzz-key", 8, &keyed, err, sizeof err) ||
        signer_new("hmac-sha256", "", 0, &unsigned_signer, err, sizeof err)) {
        fprintf(stderr, "fuzz_message: %s\n", err);
        abort();
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/fuzz_message.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpdir))
        abort();
    snprintf(in_path, sizeof in_path, "%s/in.json", tmpdir);
    snprintf(out_path, sizeof out_path, "%s/out.json", tmpdir);
    atexit(cleanup);
    return 0;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_message: invariant broken: %s\n", what);
        abort();
    }
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
    struct frame frames[MAX_FRAMES];
    size_t n = 0;
    while (size > 0 && n < MAX_FRAMES) {
        size_t len = data[0];
        data++;
        size--;
        if (len == 0xff && size >= 2) {
            len = (size_t)data[0] | (size_t)data[1] << 8;
            data += 2;
            size -= 2;
        }
        if (len > size)
            len = size;
        frames[n].data = data; /* never NULL: points into the input */
        frames[n].size = len;
        n++;
        data += len;
        size -= len;
    }

    struct message_view v;
    enum message_status st = message_split(frames, n, &v);
    check(st == MESSAGE_OK || st == MESSAGE_NO_DELIMITER || st == MESSAGE_TOO_FEW_FRAMES,
          "split status");
    check(message_status_text(st) != NULL, "status text");
    if (st != MESSAGE_OK)
        return;
    check(v.n_frames == n && v.n_ids == v.delimiter && v.n_ids + 6 + v.n_buffers == n &&
              v.first_buffer == v.n_ids + 6,
          "view counts");
    check(frames[v.delimiter].size == MESSAGE_DELIMITER_LEN &&
              memcmp(frames[v.delimiter].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0,
          "delimiter frame");
    for (size_t i = 0; i < v.n_ids; i++)
        check(!(frames[i].size == MESSAGE_DELIMITER_LEN &&
                memcmp(frames[i].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0),
              "first delimiter");

    check(message_verify(unsigned_signer, &v) == MESSAGE_OK, "unsigned accepts all");
    enum message_status sig = message_verify(keyed, &v);
    check(sig == MESSAGE_OK || sig == MESSAGE_BAD_SIGNATURE, "verify status");
    if (sig == MESSAGE_OK)
        check(v.signature.size == SIGNER_HEX_LEN, "a valid signature has 64 characters");

    /* Sign the parts as they are, then verify that signature in place of the one given. */
    const struct signed_part parts[4] = {{v.header.data, v.header.size},
                                         {v.parent.data, v.parent.size},
                                         {v.metadata.data, v.metadata.size},
                                         {v.content.data, v.content.size}};
    char hex[SIGNER_HEX_LEN + 1];
    check(signer_sign(keyed, parts, hex) == 0, "sign");
    struct message_view resigned = v;
    resigned.signature.data = hex;
    resigned.signature.size = SIGNER_HEX_LEN;
    check(message_verify(keyed, &resigned) == MESSAGE_OK, "sign then verify");

    struct message_header h;
    enum message_status hs = message_header_read(&v.header, &h);
    check(hs == MESSAGE_OK || hs == MESSAGE_BAD_HEADER, "header status");
    if (hs == MESSAGE_OK) {
        check(memchr(h.msg_id, 0, sizeof h.msg_id) && memchr(h.msg_type, 0, sizeof h.msg_type) &&
                  memchr(h.session, 0, sizeof h.session),
              "header strings terminated");
        check(h.msg_type[0] != '\0', "msg_type not empty");
        char reply[80];
        if (message_reply_type(h.msg_type, reply, sizeof reply) == 0) {
            size_t len = strlen(reply);
            check(len >= 7 && strcmp(reply + len - 6, "_reply") == 0, "reply type");
        }
    }
    frame_contains(&v.content, "\"code\"");
}

static void fuzz_connection(const uint8_t *data, size_t size)
{
    FILE *f = fopen(in_path, "wb");
    if (!f)
        abort();
    if (size)
        fwrite(data, 1, size, f);
    fclose(f);
    struct connection c, back;
    char err[1024];
    if (connection_read(in_path, &c, err, sizeof err) != 0) {
        check(c.key == NULL, "cleared after an error");
        check(strstr(err, in_path) != NULL, "error names the file");
        return;
    }
    char ep[700];
    for (int ch = 0; ch < CH_COUNT; ch++)
        check(connection_endpoint(&c, (enum channel)ch, ep, sizeof ep) == 0, "endpoint");
    check(connection_write(out_path, &c, err, sizeof err) == 0, "write what was read");
    check(connection_read(out_path, &back, err, sizeof err) == 0, "read what was written");
    check(strcmp(c.transport, back.transport) == 0 && strcmp(c.ip, back.ip) == 0 &&
              strcmp(c.signature_scheme, back.signature_scheme) == 0 &&
              strcmp(c.kernel_name, back.kernel_name) == 0 && c.key_len == back.key_len &&
              memcmp(c.key, back.key, c.key_len) == 0 &&
              memcmp(c.ports, back.ports, sizeof c.ports) == 0,
          "connection round trip");
    connection_clear(&back);
    connection_clear(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        fuzz_connection(data + 1, size - 1);
    else
        fuzz_frames(data + 1, size - 1);
    return 0;
}
