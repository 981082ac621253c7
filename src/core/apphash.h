/* apphash.h — genesis hash H_0 and per-block app hash H_h (protocol.md §7). */
#ifndef SB_APPHASH_H
#define SB_APPHASH_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "tally.h"

/* H_0 = SHA-256("sleetbubble/v1/genesis\0" || P) with P the params encoding of §7. */
void sb_apphash_genesis(const sb_params *p, uint8_t h0[32]);

/* Streaming D_h of one block: items added in order, each hashed as be32 len || item.
 * md is an OpenSSL EVP_MD_CTX owned by the ctx from begin until finish/abort. */
typedef struct sb_apphash_ctx {
    void *md;
} sb_apphash_ctx;

/* Start a block's item hash. 0 / -1 (out of memory). */
int sb_apphash_begin(sb_apphash_ctx *c);
/* Item 0x01 || tx[0..len): every code-0 tx, in block order. 0 / -1. */
int sb_apphash_add_tx(sb_apphash_ctx *c, const uint8_t *tx, size_t len);
/* Item 0x02 || be64 slot || u8 outcome || proposal_id (zero for NONE) || be64 power_for ||
 * be64 total || be16 len || manifest CID: every finalized slot, in slot order. 0 / -1. */
int sb_apphash_add_slot(sb_apphash_ctx *c, const sb_slot_record *r);
/* H_h = SHA-256("sleetbubble/v1/apphash\0" || prev || be64 height || D_h) into out; frees
 * the ctx (also on error). 0 / -1. */
int sb_apphash_finish(sb_apphash_ctx *c, const uint8_t prev[32], uint64_t height, uint8_t out[32]);
/* Free the ctx without a result. Safe on a zeroed or finished ctx. */
void sb_apphash_abort(sb_apphash_ctx *c);

#endif
