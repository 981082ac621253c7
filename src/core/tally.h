/* tally.h — slot tally and winner (protocol.md §5). */
#ifndef SB_TALLY_H
#define SB_TALLY_H

#include <stddef.h>
#include <stdint.h>

#include "cid.h"
#include "params.h"

/* Outcomes (values enter the app hash, protocol.md §5, §7). */
enum {
    SB_OUTCOME_SUPERMAJORITY = 1,
    SB_OUTCOME_FALLBACK = 2,
    SB_OUTCOME_REPEAT = 3,
    SB_OUTCOME_NONE = 4
};

/* "SUPERMAJORITY", "FALLBACK", "REPEAT", "NONE"; "UNKNOWN" otherwise. Static string. */
const char *sb_outcome_name(int outcome);
/* Reverse of sb_outcome_name; 0 if unknown. */
int sb_outcome_from_name(const char *name);
/* 1 iff a slot with this outcome has a winning playlist (SUPERMAJORITY, FALLBACK, REPEAT). */
int sb_outcome_has_winner(int outcome);

/* One proposal of the slot and the summed power of the accepted votes naming it. */
typedef struct sb_tally_candidate {
    uint8_t id[32];
    uint64_t power_for;
} sb_tally_candidate;

/* The accepted votes of one slot summed into power per proposal (protocol.md §5): each vote adds
 * its validator's genesis power to the proposal it names. The sums do not depend on the
 * order of the votes or of the proposals. Owns its arrays (sb_tally_votes_free). */
typedef struct sb_tally_votes {
    const sb_params *params; /* borrowed: the validator powers */
    sb_tally_candidate *c;   /* n proposals in the caller's order; power_for by _finish */
    size_t n;
    unsigned __int128 *sum;     /* running power per candidate */
    struct sb_tally_key *by_id; /* candidates in ascending id order (lookup) */
} sb_tally_votes;

/* Start a count over the proposals ids[0..n) (32 bytes each, any order, distinct).
 * 0, or -1 out of memory (tv zeroed). */
int sb_tally_votes_init(sb_tally_votes *tv, const sb_params *p, const uint8_t *ids, size_t n);
/* Count one vote: adds the power of `validator` (nothing if it is not a validator of p) to
 * the proposal `proposal_id`. Returns the candidate's index in the caller's order, or tv->n
 * when the vote names none of them (then nothing is counted). */
size_t sb_tally_votes_add(sb_tally_votes *tv, const uint8_t validator[32],
                          const uint8_t proposal_id[32]);
/* Write each candidate's sum into tv->c[i].power_for. -1 if a sum exceeds UINT64_MAX
 * (cannot happen with sb_params' total power limit), else 0. */
int sb_tally_votes_finish(sb_tally_votes *tv);
/* Free the arrays and zero tv. Safe on a zeroed struct. */
void sb_tally_votes_free(sb_tally_votes *tv);

/* A finalized slot (protocol.md §5 record). proposal_id all zero for NONE; manifest_cid is the
 * binary CID (manifest_cid_len 0 for NONE); height = finalizing block height. */
typedef struct sb_slot_record {
    uint64_t slot;
    int outcome;
    uint8_t proposal_id[32];
    uint64_t power_for, total;
    uint8_t manifest_cid[SB_CID_BIN_MAX];
    size_t manifest_cid_len;
    int64_t height;
} sb_slot_record;

/* Tally slot `slot` finalized in block `height`.
 * c[0..n): every proposal of the slot with its power_for, in any order (the result does not
 * depend on it). total: sum of all powers. curated: 1 iff open_curation is false (then
 * proposals without votes are fallback candidates). prev_app_hash: H_{h-1} (tie-break).
 * prev: slot s-1's record, or NULL if there is none (a NONE prev is treated like NULL).
 * Fills *out: manifest left empty for SUPERMAJORITY / FALLBACK (the caller builds it with
 * sb_manifest_build + sb_cid_dagjson), copied from prev for REPEAT, empty for NONE.
 * Returns 0, or -1 if some power_for > total or n > 0 with c NULL. */
int sb_tally(uint64_t slot, const sb_tally_candidate *c, size_t n, uint64_t total, int curated,
             const uint8_t prev_app_hash[32], const sb_slot_record *prev, int64_t height,
             sb_slot_record *out);

/* SHA-256("sleetbubble/v1/tiebreak\0" || prev_app_hash || be64(slot) || id) (protocol.md §5). */
void sb_tally_tiebreak(const uint8_t prev_app_hash[32], uint64_t slot, const uint8_t id[32],
                       uint8_t out[32]);

#endif
