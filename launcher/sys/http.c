/* http.c — libcurl GETs into memory or a file, with digests (see http.h). */
#include "launcher/sys/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "launcher/sys/errmsg.h"
#include "launcher/sys/version.h"
#include "launcher/sys/hex.h"

#define DEFAULT_MAX ((size_t)1 << 20)

int http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

struct sink {
    int fd;
    EVP_MD_CTX *sha1, *sha256;
    size_t bytes;
    int write_errno;
};

static size_t to_file(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct sink *s = userdata;
    size_t n = size * nmemb;
    if (!EVP_DigestUpdate(s->sha1, ptr, n) || !EVP_DigestUpdate(s->sha256, ptr, n))
        return 0;
    for (size_t off = 0; s->fd >= 0 && off < n;) { /* fd < 0: digests only */
        ssize_t w = write(s->fd, ptr + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->write_errno = w < 0 ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    s->bytes += n;
    return n;
}

/* A handle set up for URL; NULL with ERR when URL is not http(s) or curl fails. */
static CURL *handle_for(const char *url, long timeout_s, const char *agent, int stream,
                        char *curl_err, struct error *err)
{
    int https = strncasecmp(url, "https://", 8) == 0;
    if (!https && strncasecmp(url, "http://", 7) != 0) {
        error_set(err, ERR_RUNTIME, "%s: not an http(s) URL; refused", url);
        return NULL;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        error_set(err, ERR_RUNTIME, "%s: cannot initialise libcurl", url);
        return NULL;
    }
    char ua[160];
    snprintf(ua, sizeof ua, "spark-k8s/%s (%s)", SPARK_K8S_VERSION, agent ? agent : "fetch");
    CURLcode rc = CURLE_OK;
    HTTP_SETOPT(rc, h, CURLOPT_URL, url);
    HTTP_SETOPT(rc, h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* a redirect never downgrades an https download */
    HTTP_SETOPT(rc, h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
    HTTP_SETOPT(rc, h, CURLOPT_FOLLOWLOCATION, 1L);
    HTTP_SETOPT(rc, h, CURLOPT_MAXREDIRS, 5L);
    HTTP_SETOPT(rc, h, CURLOPT_SSL_VERIFYPEER, 1L);
    HTTP_SETOPT(rc, h, CURLOPT_SSL_VERIFYHOST, 2L);
    HTTP_SETOPT(rc, h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    HTTP_SETOPT(rc, h, CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(rc, h, CURLOPT_CONNECTTIMEOUT, timeout_s < 20 ? timeout_s : 20L);
    if (stream) {
        /* a large file: give up on a stall, not on a slow but moving transfer */
        HTTP_SETOPT(rc, h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        HTTP_SETOPT(rc, h, CURLOPT_LOW_SPEED_TIME, timeout_s);
    } else {
        HTTP_SETOPT(rc, h, CURLOPT_TIMEOUT, timeout_s);
    }
    HTTP_SETOPT(rc, h, CURLOPT_ERRORBUFFER, curl_err);
    HTTP_SETOPT(rc, h, CURLOPT_USERAGENT, ua);
    if (rc != CURLE_OK) {
        error_set(err, ERR_RUNTIME, "%s: %s", url, curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}

/* Perform H and turn the outcome into http_get's returns. */
static int perform(CURL *h, const char *url, const char *curl_err, const char *why_failed,
                   long *status, struct error *err)
{
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        if (why_failed)
            error_set(err, ERR_RUNTIME, "%s: %s", url, why_failed);
        else
            error_set(err, ERR_RUNTIME, "%s: %s", url, *curl_err ? curl_err : curl_easy_strerror(rc));
        return -1;
    }
    *status = code;
    if (code < 200 || code > 299) {
        error_set(err, ERR_RUNTIME, "%s: HTTP %ld", url, code);
        return 1;
    }
    return 0;
}

int http_get(const char *url, long timeout_s, const char *agent, struct buffer *b,
             long *status, struct error *err)
{
    *status = 0;
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *h = handle_for(url, timeout_s, agent, 0, curl_err, err);
    if (!h)
        return -1;
    if (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buffer_curl_write) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, b) != CURLE_OK) {
        curl_easy_cleanup(h);
        error_set(err, ERR_RUNTIME, "%s: cannot set up libcurl", url);
        return -1;
    }
    if (!b->limit)
        b->limit = DEFAULT_MAX;
    int rc = perform(h, url, curl_err, NULL, status, err);
    if (rc < 0 && b->overflow)
        error_set(err, ERR_RUNTIME, "%s: larger than %zu bytes", url, b->limit);
    return rc;
}

int http_download_fd(const char *url, int fd, long timeout_s, const char *agent,
                     struct http_download *d, long *status, struct error *err)
{
    *status = 0;
    memset(d, 0, sizeof *d);
    struct sink s = {fd, EVP_MD_CTX_new(), EVP_MD_CTX_new(), 0, 0};
    int rc = -1;
    if (!s.sha1 || !s.sha256 || !EVP_DigestInit_ex(s.sha1, EVP_sha1(), NULL) ||
        !EVP_DigestInit_ex(s.sha256, EVP_sha256(), NULL)) {
        error_set(err, ERR_RUNTIME, "%s: cannot set up the digests", url);
        goto out;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    CURL *h = handle_for(url, timeout_s, agent, 1, curl_err, err);
    if (!h)
        goto out;
    if (curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_file) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L) != CURLE_OK) {
        curl_easy_cleanup(h);
        error_set(err, ERR_RUNTIME, "%s: cannot set up libcurl", url);
        goto out;
    }
    rc = perform(h, url, curl_err, NULL, status, err);
    if (rc < 0 && s.write_errno)
        error_set(err, ERR_RUNTIME, "%s: cannot write the download: %s", url, strerror(s.write_errno));
    if (rc < 0 && *status == 0) {
        /* FAILONERROR turns an HTTP error into a curl error: keep it an HTTP status */
        long code = 0;
        if (sscanf(curl_err, "The requested URL returned error: %ld", &code) == 1) {
            *status = code;
            error_set(err, ERR_RUNTIME, "%s: HTTP %ld", url, code);
            rc = 1;
        }
    }
    if (rc == 0) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        EVP_DigestFinal_ex(s.sha1, md, &n);
        hex_encode(md, n, d->sha1);
        EVP_DigestFinal_ex(s.sha256, md, &n);
        hex_encode(md, n, d->sha256);
        d->bytes = s.bytes;
    }
out:
    EVP_MD_CTX_free(s.sha1);
    EVP_MD_CTX_free(s.sha256);
    return rc;
}
