/* fuzz_message.c — libFuzzer harness for the pure wire codec.
 *
 * The input is frames, each a length then bytes: one length byte, or 0xff
 * followed by two little-endian bytes; a short last frame takes what is left.
 * Drives message_split, message_verify (keyed and unsigned), message_header_read,
 * message_reply_type and frame_contains, and checks that sign-then-verify of the
 * same parts always passes, and replay_seen on the signature frame. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/message.h"
#include "kernel/replay.h"
#include "kernel/signer.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_FRAMES 64

static struct signer *keyed, *unsigned_signer;
static struct replay seen;

static void cleanup(void)
{
    signer_free(keyed);
    signer_free(unsigned_signer);
    replay_free(&seen);
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
    replay_init(&seen);
    atexit(cleanup);
    return 0;
}

static int is_hex64(const struct frame *f)
{
    if (f->size != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!strchr("0123456789abcdefABCDEF", ((const char *)f->data)[i]) ||
            ((const char *)f->data)[i] == '\0')
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
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
    fuzz_check(st == MESSAGE_OK || st == MESSAGE_NO_DELIMITER || st == MESSAGE_TOO_FEW_FRAMES,
               "split status");
    fuzz_check(message_status_text(st) != NULL, "status text");
    if (st != MESSAGE_OK)
        return 0;
    fuzz_check(v.n_frames == n && v.n_ids == v.delimiter && v.n_ids + 6 + v.n_buffers == n &&
                   v.first_buffer == v.n_ids + 6,
               "view counts");
    fuzz_check(frames[v.delimiter].size == MESSAGE_DELIMITER_LEN &&
                   memcmp(frames[v.delimiter].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0,
               "delimiter frame");
    for (size_t i = 0; i < v.n_ids; i++)
        fuzz_check(!(frames[i].size == MESSAGE_DELIMITER_LEN &&
                     memcmp(frames[i].data, MESSAGE_DELIMITER, MESSAGE_DELIMITER_LEN) == 0),
                   "first delimiter");

    fuzz_check(message_verify(unsigned_signer, &v) == MESSAGE_OK, "unsigned accepts all");
    enum message_status sig = message_verify(keyed, &v);
    fuzz_check(sig == MESSAGE_OK || sig == MESSAGE_BAD_SIGNATURE, "verify status");
    if (sig == MESSAGE_OK)
        fuzz_check(v.signature.size == SIGNER_HEX_LEN, "a valid signature has 64 characters");

    /* Sign the parts as they are, then verify that signature in place of the one given. */
    const struct signed_part parts[4] = {{v.header.data, v.header.size},
                                         {v.parent.data, v.parent.size},
                                         {v.metadata.data, v.metadata.size},
                                         {v.content.data, v.content.size}};
    char hex[SIGNER_HEX_LEN + 1];
    fuzz_check(signer_sign(keyed, parts, hex) == 0, "sign");
    struct message_view resigned = v;
    resigned.signature.data = hex;
    resigned.signature.size = SIGNER_HEX_LEN;
    fuzz_check(message_verify(keyed, &resigned) == MESSAGE_OK, "sign then verify");

    /* A signature is remembered once; the same bytes again are a replay. */
    int first = replay_seen(&seen, v.signature.data, v.signature.size);
    fuzz_check(first == -1 || first == 0 || first == 1, "replay status");
    if (first >= 0)
        fuzz_check(replay_seen(&seen, v.signature.data, v.signature.size) == 1, "seen twice");
    else
        fuzz_check(!is_hex64(&v.signature), "only a malformed signature is refused");

    struct message_header h;
    enum message_status hs = message_header_read(&v.header, &h);
    fuzz_check(hs == MESSAGE_OK || hs == MESSAGE_BAD_HEADER, "header status");
    if (hs == MESSAGE_OK) {
        fuzz_check(memchr(h.msg_id, 0, sizeof h.msg_id) && memchr(h.msg_type, 0, sizeof h.msg_type) &&
                       memchr(h.session, 0, sizeof h.session),
                   "header strings terminated");
        fuzz_check(h.msg_type[0] != '\0', "msg_type not empty");
        char reply[80];
        if (message_reply_type(h.msg_type, reply, sizeof reply) == 0) {
            size_t len = strlen(reply);
            fuzz_check(len >= 7 && strcmp(reply + len - 6, "_reply") == 0, "reply type");
        }
    }
    frame_contains(&v.content, "\"code\"");
    return 0;
}
