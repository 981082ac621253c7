/* rpc.h — CometBFT JSON-RPC 2.0 over HTTP POST (status, abci_query, broadcast_tx_sync),
 * libcurl + jansson. Every function returns an rpcc.h result: 0 ok, SB_RPCC_REJECTED when
 * the node answered with a JSON-RPC error, SB_RPCC_UNREACHABLE when it could not be reached
 * or the reply was not the expected JSON; err gets one line naming the URL. */
#ifndef SB_RPCC_RPC_H
#define SB_RPCC_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A CometBFT RPC endpoint: base URL as given with --node, per-request timeout (s). */
typedef struct sb_rpcc {
    const char *url;
    long timeout_s;
} sb_rpcc;

/* Call method with params (borrowed JSON object, NULL = {}). *result gets a new reference to
 * the reply's "result" (caller json_decref's it). */
int sb_rpcc_call(const sb_rpcc *r, const char *method, json_t *params, json_t **result, char *err,
                 size_t errlen);

/* `status`: chain_id (= .node_info.network) into chain_id[chain_id_len], latest height and
 * latest block time (ns since the Unix epoch). Any output pointer may be NULL. */
int sb_rpcc_status(const sb_rpcc *r, char *chain_id, size_t chain_id_len, int64_t *height,
                   int64_t *block_time_ns, char *err, size_t errlen);

/* The app's answer to an abci_query. value: the decoded JSON value (NULL when the node sent
 * none), owned; log/codespace: copies, owned. Free with sb_rpcc_query_free. */
typedef struct sb_rpcc_result {
    int code;
    char *log;
    char *codespace;
    int64_t height;
    json_t *value;
} sb_rpcc_result;

/* abci_query with path and empty data at the latest height (protocol.md §8). A non-zero app code is
 * NOT an error here: the call returns 0 and q->code says it. A value that is not JSON is
 * SB_RPCC_UNREACHABLE. */
int sb_rpcc_query(const sb_rpcc *r, const char *path, sb_rpcc_result *q, char *err, size_t errlen);
void sb_rpcc_query_free(sb_rpcc_result *q);

/* broadcast_tx_sync of tx[0..len) (sent base64). The CheckTx result: code, log and
 * codespace (copied into the arrays, truncated), tx hash (uppercase hex as CometBFT prints it).
 * CometBFT v1.0's JSON-RPC error for a tx CheckTx rejected ("tx <hash> is invalid: code=…,
 * log='…', codespace='…'") is read into out the same way (returns 0). Any other JSON-RPC error
 * (e.g. "tx already exists in cache") returns SB_RPCC_REJECTED with the message in err. */
typedef struct sb_rpcc_tx_result {
    int code;
    char log[1024];
    char codespace[64];
    char hash[65];
} sb_rpcc_tx_result;
int sb_rpcc_broadcast(const sb_rpcc *r, const uint8_t *tx, size_t len, sb_rpcc_tx_result *out,
                      char *err, size_t errlen);

/* Base64 (RFC 4648, padded) helpers on OpenSSL. Encode: malloc'd NUL-terminated string or
 * NULL. Decode: malloc'd bytes (NUL-terminated for convenience) with *outlen, or NULL on bad
 * input. */
char *sb_b64_encode(const uint8_t *p, size_t n);
uint8_t *sb_b64_decode(const char *s, size_t *outlen);

/* A JSON 64-bit integer as CometBFT and our queries print it (a decimal string), or a plain
 * JSON integer. 0, or -1 if v is neither or the string is not a whole int64. */
int sb_json_i64(json_t *v, int64_t *out);

#endif
