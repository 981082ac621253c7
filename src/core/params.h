/* params.h — chain parameters from genesis app_state (protocol.md §9) and their encodings.
 * RFC 3339 times are in sb_time.h, the string rules of protocol.md §4 in sb_string.h. */
#ifndef SB_PARAMS_H
#define SB_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "sb_buf.h"

/* Defaults of protocol.md §9. */
#define SB_DEFAULT_SLOT_SECONDS 1800u
#define SB_DEFAULT_CLOSE_LEAD_SECONDS 300u
#define SB_DEFAULT_HORIZON_SLOTS 48u
#define SB_DEFAULT_MAX_TRACKS 256u
#define SB_DEFAULT_MAX_PROPOSALS_PER_SLOT 64u
#define SB_DEFAULT_MAX_TX_SIZE 65536u
/* Our upper bounds on genesis values (keep every §3 product inside 128 bits and every
 * allocation bounded): slot_seconds <= 10^9 s; max_tx_size <= 64 MiB;
 * max_tracks <= 1 000 000; horizon_slots <= 2^53 (a JSON-safe integer). */
#define SB_MAX_SLOT_SECONDS 1000000000ull
#define SB_MAX_TX_SIZE_LIMIT (64u * 1024u * 1024u)
#define SB_MAX_TRACKS_LIMIT 1000000u
#define SB_MAX_HORIZON_SLOTS (1ull << 53)

/* One validator: consensus pubkey (ed25519, 32 bytes), voting power (> 0), and the vote key
 * delegated in genesis vote_keys if has_vote_key (protocol.md §4 votes). */
typedef struct sb_validator {
    uint8_t pubkey[32];
    int64_t power;
    int has_vote_key;
    uint8_t vote_key[32];
} sb_validator;

/* Chain parameters (protocol.md §3, §9). Owns chain_id (NUL-terminated), curators and validators;
 * free with sb_params_free. Times: slot_seconds/close_lead_seconds in seconds, epoch_ns = T0
 * in ns since the Unix epoch. */
typedef struct sb_params {
    char *chain_id;
    uint64_t slot_seconds, close_lead_seconds, horizon_slots;
    int64_t epoch_ns;
    uint32_t max_tracks, max_proposals_per_slot, max_tx_size;
    int open_curation;
    size_t n_curators;
    uint8_t (*curators)[32]; /* sorted bytewise, no duplicates */
    size_t n_validators;
    sb_validator *validators; /* sorted by pubkey bytewise, no duplicates */
} sb_params;

/* Parse genesis app_state JSON app_state_json[0..len) (protocol.md §9) with defaults for missing
 * keys (empty input counts as {}). chain_id: the genesis chain id (copied).
 * genesis_time_ns: default epoch. vals[0..n_vals): InitChain's validators (the caller has
 * already rejected non-ed25519 keys); copied and sorted. On success fills *out (caller frees
 * with sb_params_free) and returns 0. On error returns -1, leaves *out zeroed and writes a
 * NUL-terminated message naming the key into err[errlen], e.g.
 * "app_state.curators[1]: listed twice". */
int sb_params_from_genesis(const char *app_state_json, size_t len, const char *chain_id,
                           int64_t genesis_time_ns, const sb_validator *vals, size_t n_vals,
                           sb_params *out, char *err, size_t errlen);

/* Canonical JSON of p (sorted keys, compact): chain_id, slot_seconds, close_lead_seconds,
 * horizon_slots, epoch_ns (decimal string, ns), max_tracks, max_proposals_per_slot,
 * max_tx_size, open_curation, curators [hex], vote_keys {validator hex: vote key hex},
 * validators [{"pub_key": hex, "power": decimal string}]. malloc'd; caller frees; NULL on
 * out of memory. */
char *sb_params_to_json(const sb_params *p);

/* Reverse of sb_params_to_json (for the store): 0, or -1 with a message in err. Checks shape,
 * ranges, order-independence (re-sorts) and duplicates, not the genesis-time rules. */
int sb_params_from_json(const char *json, sb_params *out, char *err, size_t errlen);

/* Free everything p owns and zero it. Safe on a zeroed struct. */
void sb_params_free(sb_params *p);

/* The validator with consensus key pub (binary search), or NULL. Borrowed from p. */
const sb_validator *sb_params_validator(const sb_params *p, const uint8_t pub[32]);

/* 1 iff pub is in the curators allowlist (binary search). */
int sb_params_is_curator(const sb_params *p, const uint8_t pub[32]);

/* Sum of all validator powers (fits: each <= INT64_MAX, checked at parse). */
uint64_t sb_params_total_power(const sb_params *p);

/* The P encoding of protocol.md §7 into out (app hash genesis input). 0 / -1 (buffer cap). */
int sb_params_encode(const sb_params *p, sb_buf *out);

#endif
