/* http.c — libcurl POST with a capped reply buffer (see http.h). */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sb_url.h"

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    sb_buf *b = arg;
    size_t len = size * n;
    if (sb_buf_append(b, p, len) < 0)
        return 0; /* over max_bytes: curl aborts (WRITE_ERROR) */
    return len;
}

/* Headers and, for chunked replies, trailers: keep Kubo's X-Stream-Error. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    sb_http_res *res = arg;
    size_t len = size * n;
    static const char name[] = "X-Stream-Error:";
    size_t nl = sizeof name - 1;
    if (len > nl && strncasecmp(p, name, nl) == 0) {
        const char *v = p + nl;
        size_t vl = len - nl;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof res->stream_error)
            vl = sizeof res->stream_error - 1;
        memcpy(res->stream_error, v, vl);
        res->stream_error[vl] = '\0';
    }
    return len;
}

int sb_http_join(const char *base, const char *suffix, char *out, size_t outlen)
{
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    int n = snprintf(out, outlen, "%.*s%s", (int)bl, base, suffix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void sb_http_res_free(sb_http_res *res)
{
    sb_buf_free(&res->body);
    memset(res, 0, sizeof *res);
}

/* The request body of rq on h: a multipart upload of rq->file_path, or rq->body with its
 * content type. *mime and *hdrs are created here and freed by the caller. 0, or -1 with a
 * message in err. */
static int set_body(CURL *h, const sb_http_req *rq, curl_mime **mime, struct curl_slist **hdrs,
                    char *err, size_t errlen)
{
    if (rq->file_path) {
        *mime = curl_mime_init(h);
        curl_mimepart *part = *mime ? curl_mime_addpart(*mime) : NULL;
        if (!part || curl_mime_name(part, "file") != CURLE_OK ||
            curl_mime_filedata(part, rq->file_path) != CURLE_OK) {
            snprintf(err, errlen, "%s: cannot prepare the upload", rq->file_path);
            return -1;
        }
        curl_easy_setopt(h, CURLOPT_MIMEPOST, *mime);
        return 0;
    }
    if (rq->ctype) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", rq->ctype);
        *hdrs = curl_slist_append(*hdrs, ct);
    }
    *hdrs = curl_slist_append(*hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->len : 0));
    return 0;
}

/* The message for a failed transfer (rc from curl_easy_perform; cerr: curl's error buffer;
 * base: the endpoint for messages, password masked) into err, and its CLI_HTTP_* code. */
static int perform_failed(CURL *h, CURLcode rc, const char *cerr, const sb_http_req *rq,
                          const sb_http_res *res, const char *base, char *err, size_t errlen)
{
    const char *why = cerr[0] ? cerr : curl_easy_strerror(rc);
    long connected = 0;
    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &connected);
    if (rc == CURLE_WRITE_ERROR && res->body.oom) {
        snprintf(err, errlen, "%s at %s sent a reply larger than %zu bytes", rq->what, base,
                 rq->max_bytes);
        return CLI_HTTP_FAILED;
    }
    if (rc == CURLE_READ_ERROR && rq->file_path) {
        snprintf(err, errlen, "%s: cannot read the file for upload: %s", rq->file_path, why);
        return CLI_HTTP_FAILED;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT && connected) {
        snprintf(err, errlen, "%s at %s did not answer within %ld s", rq->what, base,
                 rq->timeout_s);
        return CLI_HTTP_TIMEOUT;
    }
    snprintf(err, errlen, "cannot reach %s at %s: %s (set %s)", rq->what, base, why, rq->flag);
    return CLI_HTTP_UNREACHABLE;
}

int sb_http_post(const sb_http_req *rq, sb_http_res *res, char *err, size_t errlen)
{
    int ret = CLI_HTTP_FAILED;
    CURL *h = NULL;
    curl_mime *mime = NULL;
    struct curl_slist *hdrs = NULL;
    char cerr[CURL_ERROR_SIZE] = "";
    char base[1024]; /* rq->base for messages: a password in it is masked */
    sb_url_for_log(rq->base, base, sizeof base);

    memset(res, 0, sizeof *res);
    sb_buf_init(&res->body, rq->max_bytes + 1);
    h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot start libcurl");
        goto fail;
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &res->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, res);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rq->timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, rq->timeout_s);
    if (set_body(h, rq, &mime, &hdrs, err, errlen) < 0)
        goto fail;
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        ret = perform_failed(h, rc, cerr, rq, res, base, err, errlen);
        goto fail;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->status);
    /* NUL-terminate without counting it. */
    if (sb_buf_putc(&res->body, 0) < 0) {
        snprintf(err, errlen, "%s at %s sent a reply larger than %zu bytes", rq->what, base,
                 rq->max_bytes);
        ret = CLI_HTTP_FAILED;
        goto fail;
    }
    res->body.len--;
    ret = 0;
    goto done;
fail:
    sb_http_res_free(res);
done:
    curl_slist_free_all(hdrs);
    curl_mime_free(mime);
    if (h)
        curl_easy_cleanup(h);
    return ret;
}
