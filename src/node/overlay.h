/* overlay.h - a small ordered set of (kind, slot, key) facts layered over committed state:
 * the mempool view of CheckTx and the "txs already kept" of PrepareProposal (protocol.md §4).
 * Node-local; kept sorted so lookups are O(log n) and nothing depends on hash order. */
#ifndef SB_NODE_OVERLAY_H
#define SB_NODE_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

enum { SB_OV_PROPOSAL = 1, SB_OV_CURATOR = 2, SB_OV_VOTER = 3 };

typedef struct sb_overlay_key {
    uint8_t kind;
    uint64_t slot;
    uint8_t key[32];
} sb_overlay_key;

typedef struct sb_overlay {
    sb_overlay_key *v; /* owned, sorted by (kind, slot, key) */
    size_t n, cap;
} sb_overlay;

/* Insert (idempotent). 0, or -1 on out-of-memory. */
int sb_overlay_add(sb_overlay *o, uint8_t kind, uint64_t slot, const uint8_t key[32]);
/* 1 if present, else 0. */
int sb_overlay_has(const sb_overlay *o, uint8_t kind, uint64_t slot, const uint8_t key[32]);
/* Number of entries of `kind` for `slot`. */
uint32_t sb_overlay_count(const sb_overlay *o, uint8_t kind, uint64_t slot);
/* Forget everything (keeps the allocation). */
void sb_overlay_clear(sb_overlay *o);
void sb_overlay_free(sb_overlay *o);

#endif
