/* kubo_fuzz.c - Kubo's answers (protocol.md §10) through the Kubo client's parsers (src/node/kubo.c):
 * the newline-delimited JSON splitter, the per-command handlers (block/put's Key, pin/add's
 * Pins / Progress / Bytes stream, pin/ls's streamed Cid lines, pin/rm's "not pinned" error),
 * the X-Stream-Error trailer and the HTTP status rules, with no network: sb_kubo_set_canned
 * feeds the answer through the same callbacks libcurl would.
 *
 * Input: byte 0 picks the command, byte 1 the HTTP status, byte 2 the body piece size (0 =
 * one piece), byte 3 flags (bit 0: the connection breaks after the body; bit 1: the rest
 * after the first NUL are headers rather than trailers; bits 2-3: key buffer size / byte
 * limit; bit 4: pin/ls's callback stops at the second CID); then the body, and after a NUL
 * byte the header or trailer lines.
 * Invariants (abort): results are known codes and match the error's code; a message is set
 * iff the call failed, is terminated, has no control character and never holds the auth
 * header; an HTTP error status, a broken transfer or an X-Stream-Error never pass as success;
 * block/put's key is terminated inside the caller's buffer; pin/add respects the byte limit;
 * pin/ls hands over only strings and stops when asked. */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fuzz_common.h"
#include "kubo.h"

#define SECRET "Authorization: Bearer fuzz-secret-7f3a"

static sb_kubo *g_k;
static size_t g_ok, g_fail;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    FUZZ_CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == 0, "curl init");
    sb_kubo_opts o = { .api_url = "http://127.0.0.1:9/api/v0",
                       .auth_header = SECRET,
                       .timeout_seconds = 5 };
    g_k = sb_kubo_new(&o, err, sizeof(err));
    FUZZ_CHECK(g_k != NULL, "kubo client");
    return 0;
}

typedef struct ls_state {
    size_t n, stop_at;
} ls_state;

static int on_cid(void *arg, const char *cid)
{
    ls_state *s = arg;
    FUZZ_CHECK(cid != NULL, "pin/ls handed a NULL CID");
    FUZZ_CHECK(s->stop_at == 0 || s->n < s->stop_at, "pin/ls went on after the stop");
    s->n++;
    return s->stop_at && s->n == s->stop_at;
}

/* 1 if a line of h[0..n) is an X-Stream-Error header with a value (any case). */
static int stream_error(const char *h, size_t n)
{
    static const char name[] = "x-stream-error:";
    const size_t nl = sizeof(name) - 1;
    for (size_t at = 0; at < n;) {
        const char *line = h + at;
        const char *end = memchr(line, '\n', n - at);
        size_t len = end ? (size_t)(end - line) : n - at;
        if (len > nl && strncasecmp(line, name, nl) == 0)
            for (size_t i = nl; i < len; i++)
                if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                    return 1;
        at += len + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 200, 200, 200, 500, 400, 404, 403, 401, 201, 204, 0 };
    if (size < 4)
        return 0;
    int cmd = data[0] % 6;
    long status = statuses[data[1] % (sizeof(statuses) / sizeof(statuses[0]))];
    uint8_t flags = data[3];
    const uint8_t *rest = data + 4;
    size_t n = size - 4;
    const uint8_t *nul = memchr(rest, '\0', n);
    size_t body_len = nul ? (size_t)(nul - rest) : n;
    const char *extra = nul ? (const char *)nul + 1 : "";
    size_t extra_len = nul ? n - body_len - 1 : 0;

    sb_kubo_canned a = { .status = status,
                         .body = rest,
                         .body_len = body_len,
                         .chunk = data[2],
                         .transport_error = flags & 1 };
    if (flags & 2)
        a.headers = extra, a.headers_len = extra_len;
    else
        a.trailers = extra, a.trailers_len = extra_len;
    sb_kubo_set_canned(g_k, &a);

    sb_kubo_err e;
    memset(&e, 'x', sizeof(e));
    int ret;
    char key[128];
    size_t keylen = (flags >> 2 & 3) == 0 ? 1 : (flags >> 2 & 3) == 1 ? 8 : sizeof(key);
    uint64_t limit = (flags >> 2 & 3) == 3 ? 0 : (uint64_t)1 << (8 * (flags >> 2 & 3));
    ls_state ls = { 0, (flags & 16) ? 2 : 0 };
    const char *cid = "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswty";
    switch (cmd) {
    case 0:
        memset(key, 'k', sizeof(key));
        ret = sb_kubo_block_put(g_k, (const uint8_t *)"{}", 2, key, keylen, &e);
        FUZZ_CHECK(memchr(key, '\0', keylen) != NULL, "block/put key not terminated");
        FUZZ_CHECK(ret != SB_KUBO_OK || key[0], "block/put succeeded without a key");
        FUZZ_CHECK(ret == SB_KUBO_OK || !key[0], "block/put failed but left a key");
        break;
    case 1: ret = sb_kubo_pin_direct(g_k, cid, &e); break;
    case 2: {
        sb_kubo_pin_limits lim = { .stall_seconds = 60, .max_bytes = limit };
        uint64_t bytes = 0;
        ret = sb_kubo_pin_recursive(g_k, cid, &lim, &bytes, &e);
        if (limit)
            FUZZ_CHECK(ret != SB_KUBO_OK || bytes <= limit, "pin/add passed over the limit");
        FUZZ_CHECK(ret != SB_KUBO_E_TOO_LARGE || (limit && bytes > limit), "too_large");
        break;
    }
    case 3:
        ret = sb_kubo_pin_ls(g_k, "recursive", flags & 32 ? 30 : 0, on_cid, &ls, &e);
        FUZZ_CHECK(!ls.stop_at || ls.n < ls.stop_at || ret == SB_KUBO_E_CANCELLED,
                   "pin/ls stopped by the caller but not cancelled");
        break;
    case 4: {
        int was = -1;
        ret = sb_kubo_pin_rm(g_k, cid, &was, &e);
        FUZZ_CHECK(was == 0 || was == 1, "pin/rm was_pinned");
        FUZZ_CHECK(ret == SB_KUBO_OK || was == 0, "pin/rm failed but was_pinned");
        break;
    }
    default: ret = sb_kubo_health(g_k, &e); break;
    }
    sb_kubo_set_canned(g_k, NULL);

    FUZZ_CHECK(ret <= 0 && ret >= SB_KUBO_E_ARG, "unknown result code");
    FUZZ_CHECK(strcmp(sb_kubo_reason(ret), "unknown") != 0, "result without a reason");
    FUZZ_CHECK(e.code == ret, "error code differs from the result");
    FUZZ_CHECK(memchr(e.msg, '\0', sizeof(e.msg)) != NULL, "message not terminated");
    FUZZ_CHECK((ret == SB_KUBO_OK) == (e.msg[0] == '\0'), "message set iff the call failed");
    for (const char *p = e.msg; *p; p++)
        FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "control character in a message");
    /* the header's value must not leak; Kubo quoting the same text is not a leak */
    if (!memmem(data, size, "fuzz-secret", 11))
        FUZZ_CHECK(!strstr(e.msg, "fuzz-secret"), "auth header in a message");
    if (ret == SB_KUBO_OK) {
        g_ok++;
        /* pin/rm: Kubo's "not pinned" error, whatever its status, means nothing to remove */
        FUZZ_CHECK(status == 200 || cmd == 4, "success with an error status");
        FUZZ_CHECK(!a.transport_error, "success over a broken transfer");
        FUZZ_CHECK(!stream_error(extra, extra_len), "success despite an X-Stream-Error");
    } else {
        g_fail++;
    }
    return 0;
}

const char *fuzz_replay_summary(void)
{
    static char s[96];
    snprintf(s, sizeof(s), "; %zu calls succeeded, %zu failed", g_ok, g_fail);
    return s;
}
