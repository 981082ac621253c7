/* kubo_client.h — the Kubo RPC calls of the CLI and the vote agent (each a POST to
 * …/api/v0/…):
 * `add` for `tracks add` and `dag/stat` for the check before `vote` (protocol.md §10, §12).
 * Returns 0, or SB_RPCC_UNREACHABLE with err (connection failure naming the URL and
 * --ipfs; or Kubo's own error message). */
#ifndef SB_RPCC_KUBO_CLIENT_H
#define SB_RPCC_KUBO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cid.h"

/* Add the file at path: add?cid-version=1&raw-leaves=true&pin=true, as `ipfs add
 * --cid-version 1 --raw-leaves` would. cid receives the CID string (validated with
 * sb_cid_parse). timeout_s bounds the whole upload (0 = none). */
int sb_kuboc_add(const char *api, const char *path, long timeout_s, char cid[SB_CID_STR_MAX],
                 char *err, size_t errlen);

/* sb_kuboc_add with only_hash = 1: add?…&only-hash=true computes the same CID without
 * storing or pinning anything (schedule --dry-run, protocol.md §15). */
int sb_kuboc_add_ex(const char *api, const char *path, int only_hash, long timeout_s,
                    char cid[SB_CID_STR_MAX], char *err, size_t errlen);

/* id: the node's peer ID into peer[peerlen] (schedule notices a different Kubo node and
 * adds the library again, protocol.md §15). 0 or SB_RPCC_UNREACHABLE with err. */
int sb_kuboc_id(const char *api, long timeout_s, char *peer, size_t peerlen, char *err,
                size_t errlen);

/* dag/stat?arg=<cid>&progress=false: total size of the DAG in bytes. Works with both reply
 * shapes Kubo has used ({"Size":…} and {"TotalSize":…, "DagStats":[…]}). On a Kubo error
 * (block not found) or no answer within timeout_s (an online Kubo looking for content no
 * peer has never answers) returns SB_RPCC_REJECTED with the reason in err, so the caller
 * can tell "Kubo down" (3) from "Kubo cannot get it" (1). */
int sb_kuboc_dag_size(const char *api, const char *cid, long timeout_s, uint64_t *size, char *err,
                      size_t errlen);

/* Parse Kubo's reply body text: the last JSON object of a newline-delimited stream.
 * New reference or NULL. (Exposed for tests.) */
json_t *sb_kuboc_last_object(const char *text, size_t len);

#endif
