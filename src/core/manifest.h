/* manifest.h — the winner's manifest in canonical DAG-JSON (protocol.md §6). */
#ifndef SB_MANIFEST_H
#define SB_MANIFEST_H

#include <stdint.h>

#include "sb_buf.h"
#include "sleetbubble/v1/tx.pb-c.h"

/* Append the canonical DAG-JSON manifest of an accepted proposal (body already passed
 * sb_tx_check, so strings need only \" and \\ escaped) to out (caller-initialised):
 * {"chain_id":..,"curator":"<hex>","proposal_id":"<hex>","slot":N,"tracks":[{"artist":..,
 * "cid":{"/":".."},"duration_ms":N,"title":..},...]}. 0 / -1 (cap or memory). */
int sb_manifest_build(const Sleetbubble__V1__ProposalBody *body, const uint8_t proposal_id[32],
                      sb_buf *out);

#endif
