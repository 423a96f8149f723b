/* http.h — HTTP(S) GETs with libcurl for the commands that fetch pinned files: a
 * small body into memory (checksum files), or a large one streamed into a file
 * descriptor (or only through the digests) with its SHA-1 and SHA-256 computed on
 * the way (jars). http and https
 * only; TLS 1.2 or later, peers verified; a redirect never downgrades https. */
#ifndef SPARK_K8S_HTTP_H
#define SPARK_K8S_HTTP_H

#include <curl/curl.h>
#include <stddef.h>

#include "launcher/sys/buffer.h"
#include "launcher/sys/errmsg.h"

/* curl_easy_setopt(H, OPT, VAL) unless RC holds a failure already; RC gets its result:
 * a run of options checked once at the end (the Kubernetes client uses it too). */
#define HTTP_SETOPT(rc, h, opt, val) \
    ((rc) = (rc) != CURLE_OK ? (rc) : curl_easy_setopt((h), (opt), (val)))

/* libcurl's process-wide set-up, once before the first request (0 or -1), and
 * its release at the end. */
int http_global_init(void);
void http_global_cleanup(void);

/* GET URL into B (at most B->limit bytes; a limit of 0 becomes 1 MiB). 0 on a
 * 2xx answer; 1 on another HTTP status (*STATUS, ERR says it); -1 when no answer
 * came (ERR says why).
 * AGENT names the caller in the User-Agent ("images pin"). */
int http_get(const char *url, long timeout_s, const char *agent, struct buffer *b,
             long *status, struct error *err);

/* What a download wrote. */
struct http_download {
    size_t bytes;
    char sha1[41];   /* lowercase hex */
    char sha256[65];
};

/* GET URL into FD (FD < 0: nowhere, the digests only), computing the digests.
 * Same returns as http_get; TIMEOUT_S bounds the connection and a stall (no byte
 * for that long), not the whole transfer. */
int http_download_fd(const char *url, int fd, long timeout_s, const char *agent,
                     struct http_download *d, long *status, struct error *err);

#endif
