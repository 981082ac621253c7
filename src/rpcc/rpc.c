/* rpc.c — CometBFT JSON-RPC client (see rpc.h). */
#include "rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rpcc.h"
#include "http.h"
#include "sb_time.h"

#define RPC_MAX_REPLY (64u * 1024u * 1024u)

char *sb_b64_encode(const uint8_t *p, size_t n)
{
    if (n > (size_t)1 << 30)
        return NULL;
    size_t cap = 4 * ((n + 2) / 3) + 1;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
    return out;
}

uint8_t *sb_b64_decode(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    if (n % 4 || n > (size_t)1 << 30)
        return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 1);
    if (!out)
        return NULL;
    int got = n ? EVP_DecodeBlock(out, (const unsigned char *)s, (int)n) : 0;
    if (got < 0) {
        free(out);
        return NULL;
    }
    size_t pad = 0;
    if (n && s[n - 1] == '=')
        pad++;
    if (n > 1 && s[n - 2] == '=')
        pad++;
    *outlen = (size_t)got - pad;
    out[*outlen] = 0;
    return out;
}

int sb_rpcc_call(const sb_rpcc *r, const char *method, json_t *params, json_t **result, char *err,
                 size_t errlen)
{
    int ret = SB_RPCC_UNREACHABLE;
    char *body = NULL;
    json_t *reply = NULL;
    sb_http_res res = { 0 };
    json_t *req = json_pack("{s:s, s:i, s:s, s:o}", "jsonrpc", "2.0", "id", 1, "method", method,
                            "params", params ? json_incref(params) : json_object());
    *result = NULL;
    if (!req || !(body = json_dumps(req, JSON_COMPACT))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    sb_http_req rq = { .url = r->url,
                       .what = "CometBFT RPC",
                       .base = r->url,
                       .flag = "--node",
                       .ctype = "application/json",
                       .body = body,
                       .len = strlen(body),
                       .timeout_s = r->timeout_s,
                       .max_bytes = RPC_MAX_REPLY };
    if (sb_http_post(&rq, &res, err, errlen) < 0)
        goto done;
    json_error_t je;
    reply = json_loadb((const char *)res.body.data, res.body.len, 0, &je);
    if (!reply || !json_is_object(reply)) {
        snprintf(err, errlen,
                 "CometBFT RPC at %s answered %s with HTTP %ld and no JSON-RPC reply "
                 "(is --node a CometBFT RPC address?)",
                 r->url, method, res.status);
        goto done;
    }
    json_t *e = json_object_get(reply, "error");
    if (e && !json_is_null(e)) {
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *data = json_string_value(json_object_get(e, "data"));
        snprintf(err, errlen, "CometBFT RPC %s: %s%s%s", method, msg ? msg : "error",
                 data ? ": " : "", data ? data : "");
        ret = SB_RPCC_REJECTED;
        goto done;
    }
    json_t *result_v = json_object_get(reply, "result");
    if (!result_v) {
        snprintf(err, errlen, "CometBFT RPC at %s: %s reply has no result", r->url, method);
        goto done;
    }
    *result = json_incref(result_v);
    ret = SB_RPCC_OK;
done:
    json_decref(reply);
    json_decref(req);
    free(body);
    sb_http_res_free(&res);
    return ret;
}

/* CometBFT prints int64 as decimal strings; accept plain integers too. 0 / -1. */
int sb_json_i64(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

int sb_rpcc_status(const sb_rpcc *r, char *chain_id, size_t chain_id_len, int64_t *height,
                   int64_t *block_time_ns, char *err, size_t errlen)
{
    json_t *res = NULL;
    int ret = sb_rpcc_call(r, "status", NULL, &res, err, errlen);
    if (ret)
        return ret;
    ret = SB_RPCC_UNREACHABLE;
    const char *net =
        json_string_value(json_object_get(json_object_get(res, "node_info"), "network"));
    json_t *sync = json_object_get(res, "sync_info");
    int64_t h = 0, t = 0;
    const char *ts = json_string_value(json_object_get(sync, "latest_block_time"));
    if (!net || sb_json_i64(json_object_get(sync, "latest_block_height"), &h) < 0) {
        snprintf(err, errlen,
                 "CometBFT RPC at %s: status reply lacks node_info.network or "
                 "sync_info.latest_block_height",
                 r->url);
        goto done;
    }
    if (block_time_ns && (!ts || sb_parse_rfc3339_ns(ts, &t) < 0)) {
        snprintf(err, errlen, "CometBFT RPC at %s: bad sync_info.latest_block_time", r->url);
        goto done;
    }
    if (chain_id) {
        if (strlen(net) >= chain_id_len) {
            snprintf(err, errlen, "chain id \"%s\" is too long", net);
            goto done;
        }
        memcpy(chain_id, net, strlen(net) + 1);
    }
    if (height)
        *height = h;
    if (block_time_ns)
        *block_time_ns = t;
    ret = SB_RPCC_OK;
done:
    json_decref(res);
    return ret;
}

void sb_rpcc_query_free(sb_rpcc_result *q)
{
    free(q->log);
    free(q->codespace);
    json_decref(q->value);
    memset(q, 0, sizeof *q);
}

int sb_rpcc_query(const sb_rpcc *r, const char *path, sb_rpcc_result *q, char *err, size_t errlen)
{
    json_t *res = NULL, *params = json_pack("{s:s, s:s}", "path", path, "data", "");
    uint8_t *val = NULL;
    memset(q, 0, sizeof *q);
    int ret =
        params ? sb_rpcc_call(r, "abci_query", params, &res, err, errlen) : SB_RPCC_UNREACHABLE;
    json_decref(params);
    if (ret)
        return ret;
    ret = SB_RPCC_UNREACHABLE;
    json_t *resp = json_object_get(res, "response");
    json_t *code = json_object_get(resp, "code");
    if (!json_is_object(resp) || (code && !json_is_integer(code))) {
        snprintf(err, errlen, "CometBFT RPC at %s: abci_query reply lacks result.response", r->url);
        goto done;
    }
    q->code = code ? (int)json_integer_value(code) : 0;
    const char *log = json_string_value(json_object_get(resp, "log"));
    const char *cs = json_string_value(json_object_get(resp, "codespace"));
    q->log = strdup(log ? log : "");
    q->codespace = strdup(cs ? cs : "");
    if (!q->log || !q->codespace)
        goto done;
    if (sb_json_i64(json_object_get(resp, "height"), &q->height) < 0)
        q->height = 0;
    const char *v64 = json_string_value(json_object_get(resp, "value"));
    if (v64 && *v64) {
        size_t n;
        json_error_t je;
        if (!(val = sb_b64_decode(v64, &n))) {
            snprintf(err, errlen, "abci_query %s: value is not base64", path);
            goto done;
        }
        q->value = json_loadb((const char *)val, n, JSON_DECODE_ANY, &je);
        if (!q->value) {
            snprintf(err, errlen,
                     "abci_query %s: value is not JSON: %s (is this a sleetbubbled "
                     "node?)",
                     path, je.text);
            goto done;
        }
    }
    ret = SB_RPCC_OK;
done:
    if (ret)
        sb_rpcc_query_free(q);
    free(val);
    json_decref(res);
    return ret;
}

/* CometBFT v1.0 answers a tx that CheckTx rejects with a JSON-RPC error whose data ends
 * "tx <HASH> is invalid: code=<n>, data=<HEX>, log='<log>', codespace='<cs>'" (v0.38 puts the
 * same fields in result). Fills out from msg; 0, or -1 if msg is not of that form. */
static int parse_v1_invalid_tx(const char *msg, sb_rpcc_tx_result *out)
{
    static const char mark[] = " is invalid: code=", lmark[] = ", log='",
                      cmark[] = "', codespace='";
    const char *q = strstr(msg, mark);
    if (!q)
        return -1;
    const char *h = q;
    while (h > msg && strchr("0123456789ABCDEFabcdef", h[-1]))
        h--;
    if (h - msg < 3 || strncmp(h - 3, "tx ", 3) != 0 || q - h != 64)
        return -1;
    char *end;
    errno = 0;
    unsigned long code = strtoul(q + sizeof mark - 1, &end, 10);
    if (errno || end == q + sizeof mark - 1 || *end != ',' || code == 0 || code > 0xffffffffUL)
        return -1;
    const char *l = strstr(end, lmark), *c = NULL, *t;
    if (!l)
        return -1;
    l += sizeof lmark - 1;
    for (t = l; (t = strstr(t, cmark)); t++)
        c = t; /* the last one: the log may hold anything */
    size_t sl = strlen(msg);
    if (!c || sl < 1 || msg[sl - 1] != '\'')
        return -1;
    const char *cs = c + sizeof cmark - 1, *cs_end = msg + sl - 1;
    if (cs > cs_end)
        return -1;
    memset(out, 0, sizeof *out);
    out->code = (int)code;
    snprintf(out->hash, sizeof out->hash, "%.*s", 64, h);
    snprintf(out->log, sizeof out->log, "%.*s", (int)(c - l), l);
    snprintf(out->codespace, sizeof out->codespace, "%.*s", (int)(cs_end - cs), cs);
    return 0;
}

int sb_rpcc_broadcast(const sb_rpcc *r, const uint8_t *tx, size_t len, sb_rpcc_tx_result *out,
                      char *err, size_t errlen)
{
    json_t *res = NULL, *params = NULL;
    char *b64 = sb_b64_encode(tx, len);
    int ret = SB_RPCC_UNREACHABLE;
    memset(out, 0, sizeof *out);
    if (!b64 || !(params = json_pack("{s:s}", "tx", b64))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    ret = sb_rpcc_call(r, "broadcast_tx_sync", params, &res, err, errlen);
    if (ret == SB_RPCC_REJECTED && parse_v1_invalid_tx(err, out) == 0) {
        ret = SB_RPCC_OK; /* a CheckTx rejection from v1.0: same result as v0.38's */
        goto done;
    }
    if (ret)
        goto done;
    ret = SB_RPCC_UNREACHABLE;
    json_t *code = json_object_get(res, "code");
    if (!json_is_integer(code)) {
        snprintf(err, errlen, "CometBFT RPC at %s: broadcast_tx_sync reply lacks result.code",
                 r->url);
        goto done;
    }
    out->code = (int)json_integer_value(code);
    const char *s;
    if ((s = json_string_value(json_object_get(res, "log"))))
        snprintf(out->log, sizeof out->log, "%s", s);
    if ((s = json_string_value(json_object_get(res, "codespace"))))
        snprintf(out->codespace, sizeof out->codespace, "%s", s);
    if ((s = json_string_value(json_object_get(res, "hash"))))
        snprintf(out->hash, sizeof out->hash, "%s", s);
    ret = SB_RPCC_OK;
done:
    json_decref(res);
    json_decref(params);
    free(b64);
    return ret;
}
