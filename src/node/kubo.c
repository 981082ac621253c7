/* kubo.c - Kubo HTTP RPC client on libcurl (protocol.md §10). See kubo.h for the contract.
 *
 * Every answer Kubo gives on the commands we use is a sequence of JSON values separated by
 * newlines (one value for the plain commands, many for pin/add?progress=true and
 * pin/ls?stream=true), so one line splitter feeds every call: each complete line is parsed
 * with jansson and handed to the command's handler. Lines are capped (SB_KUBO_LINE_MAX) so a
 * misbehaving endpoint cannot make us buffer without bound. */
#include "kubo.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

/* Longest single JSON line accepted from Kubo, bytes. */
#define SB_KUBO_LINE_MAX (1u << 20)
/* Longest URL we build (base + command + arguments), bytes. */
#define SB_KUBO_URL_MAX 1024

struct sb_kubo {
    CURL *h;
    char *base;              /* api_url with a trailing '/' */
    struct curl_slist *hdrs; /* "Expect:" and the auth header, if any */
    uint32_t timeout_s;
    const atomic_int *cancel;
    const sb_kubo_canned *canned; /* test/fuzz seam: answer calls with this, no network */
    char curl_err[CURL_ERROR_SIZE];
};

typedef struct call call;
/* Handler for one JSON value of the answer. Returns 0 to go on, or a negative SB_KUBO_E_*
 * after filling c->fail (the transfer is then aborted). */
typedef int (*obj_fn)(call *c, json_t *o);

struct call {
    sb_kubo *k;
    const char *what; /* command, for messages */
    obj_fn on_obj;
    /* line splitter */
    char *line;
    size_t len, cap;
    /* first error found while reading (abort reason) */
    int fail;
    char fail_msg[256];
    /* Kubo's {"Message":…} error object, if one came in the body */
    int has_api_msg;
    char api_msg[256];
    /* X-Stream-Error trailer */
    int has_trailer;
    char trailer[256];
    /* recursive pin watchdog */
    int watch;
    uint32_t stall_s;
    uint64_t max_bytes;
    uint64_t start_ms, grew_ms;
    uint64_t bytes, nodes;
    int done; /* the command's success object arrived */
    /* command outputs */
    char *key;
    size_t keylen;
    sb_kubo_cid_fn ls_fn;
    void *ls_arg;
};

const char *sb_kubo_reason(int code)
{
    switch (code) {
    case SB_KUBO_OK: return "ok";
    case SB_KUBO_E_UNREACHABLE: return "unreachable";
    case SB_KUBO_E_TIMEOUT: return "timeout";
    case SB_KUBO_E_API: return "kubo_error";
    case SB_KUBO_E_PROTOCOL: return "protocol";
    case SB_KUBO_E_STALLED: return "stalled";
    case SB_KUBO_E_TOO_LARGE: return "too_large";
    case SB_KUBO_E_CANCELLED: return "cancelled";
    case SB_KUBO_E_NOMEM: return "nomem";
    case SB_KUBO_E_ARG: return "bad_argument";
    default: return "unknown";
    }
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void set_err(sb_kubo_err *e, int code, long status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_err(sb_kubo_err *e, int code, long status, const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    e->http_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
}

static void call_fail(call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_fail(call *c, int code, const char *fmt, ...)
{
    if (c->fail)
        return; /* keep the first reason */
    c->fail = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_msg, sizeof(c->fail_msg), fmt, ap);
    va_end(ap);
}

/* Copy s into a fixed buffer, replacing control characters (Kubo text is untrusted). */
static void copy_text(char *dst, size_t dstlen, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < dstlen; i++)
        dst[j++] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
    dst[j] = '\0';
}

/* CIDs go into URLs unescaped: accept only what a CID string can contain. */
static int cid_ok(const char *cid)
{
    size_t n = cid ? strlen(cid) : 0;
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)cid[i]))
            return 0;
    return 1;
}

/* ---- one JSON line ------------------------------------------------------------------- */

static int handle_line(call *c, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 0;
    json_error_t je;
    json_t *o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        long status = 0;
        curl_easy_getinfo(c->k->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 400) {
            /* A plain-text error page (e.g. Kubo's 403 "Kubo RPC Access Denied: …" when
             * API.Authorizations rejects the auth header): Kubo's message, an API error. */
            if (!c->has_api_msg) {
                c->has_api_msg = 1;
                copy_text(c->api_msg, sizeof(c->api_msg), p, n);
            }
            return 0;
        }
        call_fail(c, SB_KUBO_E_PROTOCOL, "%s: answer is not a JSON object", c->what);
        return c->fail;
    }
    int rc = 0;
    json_t *m = json_object_get(o, "Message");
    json_t *t = json_object_get(o, "Type");
    if (json_is_string(m) && json_is_string(t) && strcmp(json_string_value(t), "error") == 0) {
        /* An error object: keep the first; the HTTP status or trailer decides the result. */
        if (!c->has_api_msg) {
            c->has_api_msg = 1;
            copy_text(c->api_msg, sizeof(c->api_msg), json_string_value(m), json_string_length(m));
        }
    } else if (c->on_obj) {
        rc = c->on_obj(c, o);
    }
    json_decref(o);
    return rc;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    call *c = ud;
    size_t n = size * nmemb;
    if (c->fail)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = ptr[i];
        if (ch == '\n') {
            if (handle_line(c, c->line, c->len) < 0)
                return 0;
            c->len = 0;
            continue;
        }
        if (c->len == c->cap) {
            if (c->cap >= SB_KUBO_LINE_MAX) {
                call_fail(c, SB_KUBO_E_PROTOCOL, "%s: answer line longer than %u bytes", c->what,
                          SB_KUBO_LINE_MAX);
                return 0;
            }
            size_t ncap = c->cap ? c->cap * 2 : 1024;
            if (ncap > SB_KUBO_LINE_MAX)
                ncap = SB_KUBO_LINE_MAX;
            char *nl = realloc(c->line, ncap);
            if (!nl) {
                call_fail(c, SB_KUBO_E_NOMEM, "%s: out of memory", c->what);
                return 0;
            }
            c->line = nl;
            c->cap = ncap;
        }
        c->line[c->len++] = ch;
    }
    return n;
}

/* Headers, and with chunked encoding the trailers too: catch X-Stream-Error. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    call *c = ud;
    size_t n = size * nitems;
    static const char name[] = "X-Stream-Error:";
    size_t nl = sizeof(name) - 1;
    if (n > nl && strncasecmp(buf, name, nl) == 0) {
        const char *v = buf + nl;
        size_t vn = n - nl;
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        if (vn && !c->has_trailer) {
            c->has_trailer = 1;
            copy_text(c->trailer, sizeof(c->trailer), v, vn);
        }
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    call *c = ud;
    if (c->k->cancel && atomic_load(c->k->cancel)) {
        call_fail(c, SB_KUBO_E_CANCELLED, "%s: cancelled (stopping)", c->what);
        return 1;
    }
    if (c->fail)
        return 1;
    if (!c->watch)
        return 0;
    uint64_t now = mono_ms();
    if (c->bytes == 0 && c->nodes == 0 && now - c->start_ms >= (uint64_t)c->k->timeout_s * 1000u) {
        call_fail(c, SB_KUBO_E_TIMEOUT, "%s: no progress at all within ipfs.timeout_seconds = %u",
                  c->what, c->k->timeout_s);
        return 1;
    }
    if (now - c->grew_ms >= (uint64_t)c->stall_s * 1000u) {
        call_fail(c, SB_KUBO_E_STALLED,
                  "%s: no progress for pin.stall_seconds = %u (%llu bytes, %llu blocks so far)",
                  c->what, c->stall_s, (unsigned long long)c->bytes, (unsigned long long)c->nodes);
        return 1;
    }
    return 0;
}

/* ---- running a call ------------------------------------------------------------------ */

/* Hand header lines ('\n'-terminated pieces of h[0..n)) to on_header as libcurl would. */
static int canned_headers(call *c, const char *h, size_t n)
{
    while (n) {
        const char *nl = memchr(h, '\n', n);
        size_t l = nl ? (size_t)(nl - h) + 1 : n;
        if (on_header((char *)h, 1, l, c) != l)
            return -1;
        h += l;
        n -= l;
    }
    return 0;
}

/* The transfer of a canned answer (sb_kubo_set_canned): headers, the body in pieces, then
 * the trailers, through the same callbacks a real transfer uses; a callback that refuses
 * data ends it as libcurl does (CURLE_WRITE_ERROR). */
static CURLcode replay_canned(call *c, const sb_kubo_canned *a, long *status)
{
    *status = a->status;
    if (canned_headers(c, a->headers, a->headers_len) < 0)
        return CURLE_WRITE_ERROR;
    size_t step = a->chunk ? a->chunk : a->body_len;
    for (size_t off = 0; off < a->body_len; off += step) {
        size_t n = a->body_len - off < step ? a->body_len - off : step;
        if (on_write((char *)a->body + off, 1, n, c) != n)
            return CURLE_WRITE_ERROR;
    }
    if (a->transport_error)
        return CURLE_RECV_ERROR;
    if (canned_headers(c, a->trailers, a->trailers_len) < 0)
        return CURLE_WRITE_ERROR;
    return CURLE_OK;
}

/* POST base+cmd (cmd includes the query string). mime: multipart body or NULL (empty body).
 * streaming: no total timeout (the watchdog in on_progress applies when c->watch). */
static int run(call *c, const char *cmd, curl_mime *mime, int streaming, sb_kubo_err *e)
{
    sb_kubo *k = c->k;
    char url[SB_KUBO_URL_MAX];
    int ret;
    if ((size_t)snprintf(url, sizeof(url), "%s%s", k->base, cmd) >= sizeof(url)) {
        set_err(e, SB_KUBO_E_ARG, 0, "%s: URL too long", c->what);
        return SB_KUBO_E_ARG;
    }
    curl_easy_reset(k->h);
    k->curl_err[0] = '\0';
    curl_easy_setopt(k->h, CURLOPT_URL, url);
    curl_easy_setopt(k->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->h, CURLOPT_HTTPHEADER, k->hdrs);
    curl_easy_setopt(k->h, CURLOPT_ERRORBUFFER, k->curl_err);
    curl_easy_setopt(k->h, CURLOPT_CONNECTTIMEOUT, (long)k->timeout_s);
    if (!streaming)
        curl_easy_setopt(k->h, CURLOPT_TIMEOUT, (long)k->timeout_s);
    if (mime) {
        curl_easy_setopt(k->h, CURLOPT_MIMEPOST, mime);
    } else {
        curl_easy_setopt(k->h, CURLOPT_POST, 1L);
        curl_easy_setopt(k->h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(k->h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(k->h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(k->h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(k->h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k->h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(k->h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(k->h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(k->h, CURLOPT_NOPROGRESS, 0L);

    c->start_ms = c->grew_ms = mono_ms();
    CURLcode res;
    long status = 0;
    if (k->canned) {
        res = replay_canned(c, k->canned, &status);
    } else {
        res = curl_easy_perform(k->h);
        curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
    }
    if (res == CURLE_OK && !c->fail && c->len) /* last value without a newline */
        (void)handle_line(c, c->line, c->len);
    c->len = 0;

    if (c->fail && (c->fail != SB_KUBO_E_PROTOCOL || status < 400)) {
        /* Our own abort (watchdog, cancel, size) or an unusable 2xx answer. */
        ret = c->fail;
        set_err(e, ret, status, "%s", c->fail_msg);
    } else if (res == CURLE_OPERATION_TIMEDOUT) {
        ret = SB_KUBO_E_TIMEOUT;
        set_err(e, ret, status, "%s: no answer within ipfs.timeout_seconds = %u", c->what,
                k->timeout_s);
    } else if (res != CURLE_OK) {
        ret = SB_KUBO_E_UNREACHABLE;
        set_err(e, ret, status, "%s: %s", c->what,
                k->curl_err[0] ? k->curl_err : curl_easy_strerror(res));
    } else if (c->has_trailer) {
        ret = SB_KUBO_E_API;
        set_err(e, ret, status, "%s: Kubo error (X-Stream-Error): %s", c->what, c->trailer);
    } else if (status >= 400 || (status != 200 && c->has_api_msg)) {
        ret = SB_KUBO_E_API;
        set_err(e, ret, status, "%s: Kubo error (HTTP %ld): %s", c->what, status,
                c->has_api_msg ? c->api_msg : "no message");
    } else if (status != 200) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, status, "%s: unexpected HTTP status %ld", c->what, status);
    } else if (c->has_api_msg) {
        ret = SB_KUBO_E_API;
        set_err(e, ret, status, "%s: Kubo error: %s", c->what, c->api_msg);
    } else {
        ret = SB_KUBO_OK;
        if (e) {
            e->code = 0;
            e->http_status = status;
            e->msg[0] = '\0';
        }
    }
    return ret;
}

static void call_init(call *c, sb_kubo *k, const char *what, obj_fn fn)
{
    memset(c, 0, sizeof(*c));
    c->k = k;
    c->what = what;
    c->on_obj = fn;
}

static void call_free(call *c) { free(c->line); }

/* ---- client -------------------------------------------------------------------------- */

sb_kubo *sb_kubo_new(const sb_kubo_opts *o, char *err, size_t errlen)
{
    sb_kubo *k = NULL;
    if (!o || !o->api_url ||
        (strncmp(o->api_url, "http://", 7) != 0 && strncmp(o->api_url, "https://", 8) != 0)) {
        snprintf(err, errlen, "[ipfs] api_url: must start with http:// or https://");
        return NULL;
    }
    size_t n = strlen(o->api_url);
    if (n > SB_KUBO_URL_MAX - 200) {
        snprintf(err, errlen, "[ipfs] api_url: longer than %d bytes", SB_KUBO_URL_MAX - 200);
        return NULL;
    }
    if (!(k = calloc(1, sizeof(*k))) || !(k->base = malloc(n + 2)))
        goto nomem;
    memcpy(k->base, o->api_url, n);
    if (n == 0 || k->base[n - 1] != '/')
        k->base[n++] = '/';
    k->base[n] = '\0';
    k->timeout_s = o->timeout_seconds ? o->timeout_seconds : 60;
    k->cancel = o->cancel;
    struct curl_slist *l = curl_slist_append(NULL, "Expect:");
    if (!l)
        goto nomem;
    k->hdrs = l;
    if (o->auth_header && o->auth_header[0]) {
        if (!(l = curl_slist_append(k->hdrs, o->auth_header)))
            goto nomem;
        k->hdrs = l;
    }
    if (!(k->h = curl_easy_init())) {
        snprintf(err, errlen, "libcurl: curl_easy_init failed");
        goto fail;
    }
    return k;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    sb_kubo_free(k);
    return NULL;
}

void sb_kubo_set_canned(sb_kubo *k, const sb_kubo_canned *a) { k->canned = a; }

void sb_kubo_free(sb_kubo *k)
{
    if (!k)
        return;
    if (k->h)
        curl_easy_cleanup(k->h);
    curl_slist_free_all(k->hdrs);
    free(k->base);
    free(k);
}

int sb_kubo_read_auth_header(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char buf[4096];
    int ret = -1;
    if (!f) {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(buf, sizeof(buf), f)) {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: empty", path);
        goto done;
    }
    size_t n = strlen(buf);
    if (n == sizeof(buf) - 1 && buf[n - 1] != '\n') {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: first line longer than %zu bytes", path,
                 sizeof(buf) - 2);
        goto done;
    }
    while (n &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    const char *colon = memchr(buf, ':', n);
    if (!colon || colon == buf) {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: first line is not \"Name: value\"",
                 path);
        goto done;
    }
    for (const char *p = buf; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            snprintf(err, errlen, "[ipfs] auth_header_file %s: bad header name", path);
            goto done;
        }
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!*v) {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: empty header value", path);
        goto done;
    }
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t') {
            snprintf(err, errlen, "[ipfs] auth_header_file %s: control character in value", path);
            goto done;
        }
    if (n + 1 > outlen) {
        snprintf(err, errlen, "[ipfs] auth_header_file %s: header longer than %zu bytes", path,
                 outlen - 1);
        goto done;
    }
    memcpy(out, buf, n + 1);
    ret = 0;
done:
    explicit_bzero(buf, sizeof(buf));
    fclose(f);
    return ret;
}

/* ---- commands ------------------------------------------------------------------------ */

static int on_put(call *c, json_t *o)
{
    json_t *key = json_object_get(o, "Key");
    if (!json_is_string(key) || json_string_length(key) == 0) {
        call_fail(c, SB_KUBO_E_PROTOCOL, "%s: answer has no \"Key\"", c->what);
        return c->fail;
    }
    if (json_string_length(key) + 1 > c->keylen) {
        call_fail(c, SB_KUBO_E_PROTOCOL, "%s: \"Key\" longer than %zu bytes", c->what,
                  c->keylen - 1);
        return c->fail;
    }
    memcpy(c->key, json_string_value(key), json_string_length(key) + 1);
    c->done = 1;
    return 0;
}

int sb_kubo_block_put(sb_kubo *k, const uint8_t *data, size_t n, char *key, size_t keylen,
                      sb_kubo_err *e)
{
    call c;
    int ret;
    if (!keylen) {
        set_err(e, SB_KUBO_E_ARG, 0, "block/put: no room for the key");
        return SB_KUBO_E_ARG;
    }
    key[0] = '\0';
    curl_mime *mime = curl_mime_init(k->h);
    curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
    if (!part || curl_mime_name(part, "file") != CURLE_OK ||
        curl_mime_filename(part, "manifest") != CURLE_OK ||
        curl_mime_type(part, "application/octet-stream") != CURLE_OK ||
        curl_mime_data(part, (const char *)data, n) != CURLE_OK) {
        curl_mime_free(mime);
        set_err(e, SB_KUBO_E_NOMEM, 0, "block/put: out of memory");
        return SB_KUBO_E_NOMEM;
    }
    call_init(&c, k, "block/put", on_put);
    c.key = key;
    c.keylen = keylen;
    ret = run(&c, "block/put?cid-codec=dag-json&mhtype=sha2-256&pin=false", mime, 0, e);
    if (ret == SB_KUBO_OK && !c.done) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, 200, "block/put: answer has no \"Key\"");
    }
    if (ret != SB_KUBO_OK)
        key[0] = '\0';
    call_free(&c);
    curl_mime_free(mime);
    return ret;
}

/* {"Pins":[…]} (the end of pin/add), or {"Progress":N,"Bytes":B} while it runs. */
static int on_pin(call *c, json_t *o)
{
    json_t *pins = json_object_get(o, "Pins");
    if (json_is_array(pins)) {
        /* One argument, so one entry. Kubo may print the CID in another encoding than we
         * sent (e.g. a CIDv0 as v1), so any string entry counts. */
        size_t i;
        json_t *v;
        json_array_foreach(pins, i, v)
        {
            if (json_is_string(v))
                c->done = 1;
        }
        if (!c->done) {
            call_fail(c, SB_KUBO_E_PROTOCOL, "%s: \"Pins\" is empty", c->what);
            return c->fail;
        }
        return 0;
    }
    json_t *p = json_object_get(o, "Progress"), *b = json_object_get(o, "Bytes");
    int grew = 0;
    if (json_is_integer(p) && json_integer_value(p) > 0 &&
        (uint64_t)json_integer_value(p) > c->nodes) {
        c->nodes = (uint64_t)json_integer_value(p);
        grew = 1;
    }
    if (json_is_integer(b) && json_integer_value(b) > 0 &&
        (uint64_t)json_integer_value(b) > c->bytes) {
        c->bytes = (uint64_t)json_integer_value(b);
        grew = 1;
    }
    if (grew)
        c->grew_ms = mono_ms();
    if (c->max_bytes && c->bytes > c->max_bytes) {
        call_fail(c, SB_KUBO_E_TOO_LARGE, "%s: %llu bytes so far, over pin.max_track_bytes = %llu",
                  c->what, (unsigned long long)c->bytes, (unsigned long long)c->max_bytes);
        return c->fail;
    }
    return 0;
}

int sb_kubo_pin_direct(sb_kubo *k, const char *cid, sb_kubo_err *e)
{
    char cmd[256];
    call c;
    if (!cid_ok(cid)) {
        set_err(e, SB_KUBO_E_ARG, 0, "pin/add: bad CID");
        return SB_KUBO_E_ARG;
    }
    snprintf(cmd, sizeof(cmd), "pin/add?arg=%s&recursive=false", cid);
    call_init(&c, k, "pin/add (direct)", on_pin);
    int ret = run(&c, cmd, NULL, 0, e);
    if (ret == SB_KUBO_OK && !c.done) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, 200, "pin/add (direct): answer has no \"Pins\"");
    }
    call_free(&c);
    return ret;
}

int sb_kubo_pin_recursive(sb_kubo *k, const char *cid, const sb_kubo_pin_limits *lim,
                          uint64_t *bytes, sb_kubo_err *e)
{
    char cmd[256];
    call c;
    if (bytes)
        *bytes = 0;
    if (!cid_ok(cid) || !lim || lim->stall_seconds == 0) {
        set_err(e, SB_KUBO_E_ARG, 0, "pin/add: bad CID or limits");
        return SB_KUBO_E_ARG;
    }
    snprintf(cmd, sizeof(cmd), "pin/add?arg=%s&recursive=true&progress=true", cid);
    call_init(&c, k, "pin/add (recursive)", on_pin);
    c.watch = 1;
    c.stall_s = lim->stall_seconds;
    c.max_bytes = lim->max_bytes;
    int ret = run(&c, cmd, NULL, 1, e);
    if (ret == SB_KUBO_OK && !c.done) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, 200, "pin/add (recursive): stream ended without \"Pins\"");
    }
    if (bytes)
        *bytes = c.bytes;
    call_free(&c);
    return ret;
}

static int on_ls(call *c, json_t *o)
{
    json_t *cid = json_object_get(o, "Cid");
    if (!json_is_string(cid)) {
        call_fail(c, SB_KUBO_E_PROTOCOL, "%s: line without \"Cid\"", c->what);
        return c->fail;
    }
    c->nodes++; /* the watchdog's progress: one more pin listed */
    c->grew_ms = mono_ms();
    if (c->ls_fn && c->ls_fn(c->ls_arg, json_string_value(cid)) != 0) {
        call_fail(c, SB_KUBO_E_CANCELLED, "%s: stopped by the caller", c->what);
        return c->fail;
    }
    return 0;
}

int sb_kubo_pin_ls(sb_kubo *k, const char *type, uint32_t stall_seconds, sb_kubo_cid_fn fn,
                   void *arg, sb_kubo_err *e)
{
    char cmd[128];
    call c;
    if (!type || (strcmp(type, "recursive") && strcmp(type, "direct") && strcmp(type, "indirect") &&
                  strcmp(type, "all"))) {
        set_err(e, SB_KUBO_E_ARG, 0, "pin/ls: bad type");
        return SB_KUBO_E_ARG;
    }
    snprintf(cmd, sizeof(cmd), "pin/ls?type=%s&stream=true", type);
    call_init(&c, k, "pin/ls", on_ls);
    c.ls_fn = fn;
    c.ls_arg = arg;
    /* Streamed: a node with a million pins lists for longer than any total timeout, so the
     * call is watched for stalls (no new line for stall_seconds) like pin/add. */
    c.watch = stall_seconds != 0;
    c.stall_s = stall_seconds;
    int ret = run(&c, cmd, NULL, c.watch, e);
    call_free(&c);
    return ret;
}

static int on_any(call *c, json_t *o)
{
    c->done = 1;
    return 0;
}

int sb_kubo_pin_rm(sb_kubo *k, const char *cid, int *was_pinned, sb_kubo_err *e)
{
    char cmd[256];
    call c;
    if (was_pinned)
        *was_pinned = 0;
    if (!cid_ok(cid)) {
        set_err(e, SB_KUBO_E_ARG, 0, "pin/rm: bad CID");
        return SB_KUBO_E_ARG;
    }
    snprintf(cmd, sizeof(cmd), "pin/rm?arg=%s&recursive=true", cid);
    call_init(&c, k, "pin/rm", on_any);
    int ret = run(&c, cmd, NULL, 0, e);
    /* Kubo's own "not pinned" answer, not a stream that failed (X-Stream-Error) after it */
    if (ret == SB_KUBO_E_API && !c.has_trailer && c.has_api_msg &&
        strstr(c.api_msg, "not pinned")) {
        ret = SB_KUBO_OK; /* "not pinned or pinned indirectly": nothing of ours to remove */
        if (e)
            e->code = 0, e->msg[0] = '\0';
    } else if (ret == SB_KUBO_OK && was_pinned) {
        *was_pinned = 1;
    }
    call_free(&c);
    return ret;
}

static int on_stat(call *c, json_t *o)
{
    json_t *v = json_object_get(o, "TotalSize");
    if (!v)
        v = json_object_get(o, "Size");
    if (!v)
        v = json_object_get(json_array_get(json_object_get(o, "DagStats"), 0), "Size");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        call_fail(c, SB_KUBO_E_PROTOCOL, "%s: answer has no size", c->what);
        return c->fail;
    }
    c->bytes = (uint64_t)json_integer_value(v);
    c->done = 1;
    return 0;
}

int sb_kubo_dag_stat(sb_kubo *k, const char *cid, uint64_t *size, sb_kubo_err *e)
{
    char cmd[256];
    call c;
    if (!cid_ok(cid)) {
        set_err(e, SB_KUBO_E_ARG, 0, "dag/stat: bad CID");
        return SB_KUBO_E_ARG;
    }
    snprintf(cmd, sizeof(cmd), "dag/stat?arg=%s&progress=false", cid);
    call_init(&c, k, "dag/stat", on_stat);
    int ret = run(&c, cmd, NULL, 0, e);
    if (ret == SB_KUBO_OK && !c.done) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, 200, "dag/stat: empty answer");
    }
    if (ret == SB_KUBO_OK)
        *size = c.bytes;
    call_free(&c);
    return ret;
}

int sb_kubo_health(sb_kubo *k, sb_kubo_err *e)
{
    call c;
    call_init(&c, k, "id", on_any);
    int ret = run(&c, "id", NULL, 0, e);
    if (ret == SB_KUBO_OK && !c.done) {
        ret = SB_KUBO_E_PROTOCOL;
        set_err(e, ret, 200, "id: empty answer");
    }
    call_free(&c);
    return ret;
}
