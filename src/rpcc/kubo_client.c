/* kubo_client.c — Kubo RPC: add, id and dag/stat (see kubo_client.h). */
#include "kubo_client.h"

#include <stdio.h>
#include <string.h>

#include "rpcc.h"
#include "http.h"
#include "sb_url.h"

#define KUBO_MAX_REPLY (4u * 1024u * 1024u)

json_t *sb_kuboc_last_object(const char *text, size_t len)
{
    json_t *last = NULL;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        if (j > i) {
            json_t *o = json_loadb(text + i, j - i, 0, NULL);
            if (json_is_object(o)) {
                json_decref(last);
                last = o;
            } else {
                json_decref(o);
            }
        }
        i = j + 1;
    }
    return last;
}

/* POST api/v0/<call>; on success *obj = last JSON object of the reply. */
static int kubo_post(const char *api, const char *call, const char *file_path, long timeout_s,
                     json_t **obj, char *err, size_t errlen)
{
    char url[2048];
    sb_http_res res = { 0 };
    int ret = SB_RPCC_UNREACHABLE;
    *obj = NULL;
    if (sb_http_join(api, "/api/v0/", url, sizeof url) < 0 ||
        strlen(url) + strlen(call) >= sizeof url) {
        snprintf(err, errlen, "--ipfs URL is too long");
        return SB_RPCC_USAGE;
    }
    memcpy(url + strlen(url), call, strlen(call) + 1);
    char url_log[sizeof url], api_log[sizeof url]; /* for messages: passwords masked */
    sb_url_for_log(url, url_log, sizeof url_log);
    sb_url_for_log(api, api_log, sizeof api_log);
    sb_http_req rq = { .url = url,
                       .what = "Kubo RPC",
                       .base = api,
                       .flag = "--ipfs",
                       .file_path = file_path,
                       .timeout_s = timeout_s,
                       .max_bytes = KUBO_MAX_REPLY };
    int hr = sb_http_post(&rq, &res, err, errlen);
    if (hr == CLI_HTTP_TIMEOUT) { /* Kubo is up but cannot produce the answer (content missing) */
        ret = SB_RPCC_REJECTED;
        goto done;
    }
    if (hr < 0)
        goto done;
    json_t *o = sb_kuboc_last_object((const char *)res.body.data, res.body.len);
    if (res.status != 200 || res.stream_error[0]) {
        const char *msg = res.stream_error[0] ? res.stream_error
                                              : json_string_value(json_object_get(o, "Message"));
        if (res.status == 404 || res.status == 405)
            snprintf(err, errlen, "%s answered HTTP %ld: is --ipfs %s a Kubo RPC API address?",
                     url_log, res.status, api_log);
        else
            snprintf(err, errlen, "Kubo %s: %s", call, msg ? msg : "error without a message");
        json_decref(o);
        ret = SB_RPCC_REJECTED;
        goto done;
    }
    if (!o) {
        snprintf(err, errlen, "Kubo RPC at %s: %s reply is not JSON", api_log, call);
        goto done;
    }
    *obj = o;
    ret = SB_RPCC_OK;
done:
    sb_http_res_free(&res);
    return ret;
}

int sb_kuboc_add(const char *api, const char *path, long timeout_s, char cid[SB_CID_STR_MAX],
                 char *err, size_t errlen)
{
    return sb_kuboc_add_ex(api, path, 0, timeout_s, cid, err, errlen);
}

int sb_kuboc_add_ex(const char *api, const char *path, int only_hash, long timeout_s,
                    char cid[SB_CID_STR_MAX], char *err, size_t errlen)
{
    json_t *o = NULL;
    int rc = kubo_post(api,
                       only_hash ? "add?cid-version=1&raw-leaves=true&only-hash=true&progress=false"
                                 : "add?cid-version=1&raw-leaves=true&pin=true&progress=false",
                       path, timeout_s, &o, err, errlen);
    if (rc == SB_RPCC_REJECTED)
        rc = SB_RPCC_UNREACHABLE; /* Kubo failed the add */
    if (rc)
        return rc;
    const char *h = json_string_value(json_object_get(o, "Hash"));
    uint8_t bin[SB_CID_BIN_MAX];
    size_t binlen;
    if (!h || strlen(h) >= SB_CID_STR_MAX || sb_cid_parse(h, strlen(h), bin, &binlen) < 0) {
        snprintf(err, errlen, "Kubo add of %s returned %s%s, not a CIDv1 (raw or dag-pb)", path,
                 h ? "CID " : "no Hash", h ? h : "");
        json_decref(o);
        return SB_RPCC_UNREACHABLE;
    }
    memcpy(cid, h, strlen(h) + 1);
    json_decref(o);
    return SB_RPCC_OK;
}

int sb_kuboc_dag_size(const char *api, const char *cid, long timeout_s, uint64_t *size, char *err,
                      size_t errlen)
{
    char call[256];
    json_t *o = NULL;
    snprintf(call, sizeof call, "dag/stat?arg=%s&progress=false", cid);
    int rc = kubo_post(api, call, NULL, timeout_s, &o, err, errlen);
    if (rc)
        return rc;
    json_t *v = json_object_get(o, "TotalSize");
    if (!v)
        v = json_object_get(o, "Size");
    if (!v)
        v = json_object_get(json_array_get(json_object_get(o, "DagStats"), 0), "Size");
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errlen, "Kubo dag/stat %s: reply has no size", cid);
        json_decref(o);
        return SB_RPCC_UNREACHABLE;
    }
    *size = (uint64_t)json_integer_value(v);
    json_decref(o);
    return SB_RPCC_OK;
}

int sb_kuboc_id(const char *api, long timeout_s, char *peer, size_t peerlen, char *err,
                size_t errlen)
{
    json_t *o = NULL;
    int rc = kubo_post(api, "id", NULL, timeout_s, &o, err, errlen);
    if (rc == SB_RPCC_REJECTED)
        rc = SB_RPCC_UNREACHABLE;
    if (rc)
        return rc;
    const char *id = json_string_value(json_object_get(o, "ID"));
    if (!id || !*id || strlen(id) >= peerlen) {
        snprintf(err, errlen, "Kubo id: reply has no ID");
        json_decref(o);
        return SB_RPCC_UNREACHABLE;
    }
    memcpy(peer, id, strlen(id) + 1);
    json_decref(o);
    return SB_RPCC_OK;
}
