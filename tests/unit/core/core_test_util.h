/* core_test_util.h — helpers shared by the src/core unit tests: hex, the vectors files, and
 * an in-memory chain (sb_tx_view + tally + app hash) that replays blocks the way the node
 * does, without SQLite. */
#ifndef CORE_TEST_UTIL_H
#define CORE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apphash.h"
#include "params.h"
#include "tally.h"
#include "tx.h"

/* Hex string -> malloc'd bytes (*n = length); NULL on bad hex. */
uint8_t *tu_unhex_alloc(const char *hex, size_t *n);
/* Load JSON file path; aborts the test on failure. */
json_t *tu_load_json(const char *path);
/* Path of a vectors file: SB_VECTORS_DIR/name, else SB_VECTORS_FALLBACK_DIR/name. */
const char *tu_vectors_path(const char *name, char *buf, size_t buflen);
/* Parse a vectors-file "genesis" object into params (asserts success). */
void tu_params_from_genesis_json(json_t *genesis, sb_params *out);
/* Seed hex -> 32 bytes (asserts). */
void tu_seed(const char *hex, uint8_t seed[32]);
/* The protocol.md §5 tie-break hash computed from its preimage with EVP SHA-256, independently of
 * sb_tally_tiebreak: SHA-256("sleetbubble/v1/tiebreak\0" || prev || be64(slot) || id). */
void tu_tiebreak_ref(const uint8_t prev[32], uint64_t slot, const uint8_t id[32], uint8_t out[32]);

/* In-memory chain state. */
typedef struct tu_proposal {
    uint64_t slot;
    uint8_t id[32], curator[32];
    uint8_t *tx;
    size_t txlen;
    uint64_t power_for;
} tu_proposal;
typedef struct tu_vote {
    uint64_t slot;
    uint8_t validator[32], id[32];
} tu_vote;
typedef struct tu_chain {
    sb_params params;
    uint8_t app_hash[32];
    int64_t height;
    uint64_t next_slot; /* lowest slot not yet finalized */
    tu_proposal *props;
    size_t n_props;
    tu_vote *votes;
    size_t n_votes;
    sb_slot_record *slots; /* finalized, index = slot */
    size_t n_slots;
    /* results of the last block */
    int codes[64];
    size_t n_codes;
    sb_slot_record fin[16];
    char manifests[16][4096];
    size_t n_fin;
} tu_chain;

/* Start a chain at H_0 of params (takes ownership of params). */
void tu_chain_init(tu_chain *c, sb_params *params, int64_t initial_height);
/* The view over the chain's committed + this block's accepted txs. */
sb_tx_view tu_chain_view(tu_chain *c);
/* FinalizeBlock at time t with txs; fills codes/fin, updates app_hash and height. */
void tu_chain_block(tu_chain *c, int64_t t_ns, uint8_t **txs, size_t *lens, size_t n);
void tu_chain_free(tu_chain *c);

#endif
