/* store.h - Sleetbubble state in SQLite (protocol.md §7).
 *
 * Two connections to one WAL database: the writer stages every write of a block in one
 * transaction (opened by InitChain or the first write of FinalizeBlock) that Commit makes
 * durable (synchronous=FULL); the reader sees only the last committed state and serves CheckTx
 * and Query, which CometBFT may send between FinalizeBlock and Commit.
 *
 * All functions return 0 on success and -1 on an SQLite error (logged by the store with the
 * statement and SQLite's message) unless said otherwise. `staged` selects the writer (the
 * committed state plus this block's staged writes) when non-zero, the reader otherwise.
 * Slots are stored as SQLite INTEGER: a slot that passed SLOT_TOO_FAR is below 2^63.
 */
#ifndef SB_NODE_STORE_H
#define SB_NODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "tally.h"

typedef struct sb_store sb_store;

/* The `meta` row: what Info reports and what the next block builds on. */
typedef struct sb_meta {
    int64_t height;         /* last committed height; 0 before the first Commit */
    uint8_t app_hash[32];   /* app hash after `height` (H_0 before the first block) */
    int has_app_hash;       /* 0 until InitChain */
    int64_t last_time_ns;   /* time of block `height` (genesis time before the first block) */
    uint64_t next_slot;     /* lowest slot not finalized yet (protocol.md §3) */
    int64_t initial_height; /* genesis initial_height */
    char *params_json;      /* sb_params_to_json(); owned by the struct, NULL before InitChain */
} sb_meta;

void sb_meta_free(sb_meta *m);

/* Open (creating if needed) `path` and its schema. On error returns -1 with a message. */
int sb_store_open(const char *path, sb_store **out, char *err, size_t errlen);
/* Roll back any staged block and close both connections. NULL is a no-op. */
void sb_store_close(sb_store *st);

/* Read the committed meta (reader). A fresh database gives height 0, has_app_hash 0. */
int sb_store_load_meta(sb_store *st, sb_meta *out);

/* Begin the staged block transaction if none is open (idempotent). */
int sb_store_begin(sb_store *st);
/* Discard the staged transaction, if any. */
void sb_store_rollback(sb_store *st);
/* 1 if a staged transaction is open. */
int sb_store_in_block(const sb_store *st);
/* Write `m` into the staged transaction (meta is replaced whole). */
int sb_store_put_meta(sb_store *st, const sb_meta *m);
/* Update the staged meta row's head (height, app hash, block time, next slot) after a
 * FinalizeBlock; params and initial_height stay as InitChain wrote them. */
int sb_store_set_head(sb_store *st, int64_t height, const uint8_t app_hash[32], int64_t time_ns,
                      uint64_t next_slot);
/* Delete all state in the staged transaction (a repeated InitChain at height 0, protocol.md §7). */
int sb_store_wipe(sb_store *st);
/* Make the staged transaction durable. After it the reader sees it. */
int sb_store_commit(sb_store *st);

/* Staged writes (protocol.md §4 accounting, §5 records). Byte arrays are copied. */
int sb_store_add_proposal(sb_store *st, const uint8_t id[32], uint64_t slot,
                          const uint8_t curator[32], int64_t height, uint32_t index,
                          const uint8_t *tx, size_t txlen, const uint8_t *body, size_t bodylen,
                          uint32_t n_tracks, uint64_t total_ms);
int sb_store_add_vote(sb_store *st, uint64_t slot, const uint8_t validator[32],
                      const uint8_t proposal_id[32], int64_t height, uint32_t index,
                      const uint8_t *tx, size_t txlen);
/* manifest may be NULL (REPEAT, NONE). */
int sb_store_add_slot(sb_store *st, const sb_slot_record *r, const uint8_t *manifest,
                      size_t manifest_len);

/* Lookups for the tx rules: 1 yes, 0 no, -1 error. */
int sb_store_proposal_exists(sb_store *st, int staged, uint64_t slot, const uint8_t id[32]);
int sb_store_curator_proposed(sb_store *st, int staged, uint64_t slot, const uint8_t curator[32]);
int sb_store_validator_voted(sb_store *st, int staged, uint64_t slot, const uint8_t validator[32]);
int sb_store_proposal_count(sb_store *st, int staged, uint64_t slot, uint32_t *count);

/* Every vote of `slot` (validator pubkey, proposal id), ordered by validator. The callback
 * returns 0 to go on. */
typedef int (*sb_store_vote_fn)(void *arg, const uint8_t validator[32],
                                const uint8_t proposal_id[32]);
int sb_store_each_vote(sb_store *st, int staged, uint64_t slot, sb_store_vote_fn fn, void *arg);
/* Every proposal id of `slot` in id order. *ids is malloc'd (32 bytes each), caller frees. */
int sb_store_proposal_ids(sb_store *st, int staged, uint64_t slot, uint8_t **ids, size_t *n);
/* A proposal's signed body bytes; *body malloc'd, caller frees. Returns 1 found, 0 not, -1. */
int sb_store_proposal_body(sb_store *st, int staged, const uint8_t id[32], uint8_t **body,
                           size_t *len);
/* A proposal as the queries show it (protocol.md §8). */
typedef struct sb_proposal_row {
    uint8_t id[32];
    uint8_t curator[32];
    uint32_t n_tracks;
    uint64_t total_ms; /* sum of the track durations, ms */
    int64_t height;    /* block that accepted it */
} sb_proposal_row;
/* Every proposal of `slot` in block order (height, then position in the block). The
 * callback returns 0 to go on; a non-zero return stops and is returned. */
typedef int (*sb_store_proposal_fn)(void *arg, const sb_proposal_row *row);
int sb_store_each_proposal(sb_store *st, int staged, uint64_t slot, sb_store_proposal_fn fn,
                           void *arg);
/* The height of the block that accepted proposal `id`. Returns 1 found, 0 not, -1 error. */
int sb_store_proposal_height(sb_store *st, int staged, const uint8_t id[32], int64_t *height);
/* A finalized slot's record. Returns 1 found, 0 not, -1 error. */
int sb_store_get_slot(sb_store *st, int staged, uint64_t slot, sb_slot_record *out);

/* ---- read-only views (the pin worker's thread, protocol.md §10) ------------------------------- */

/* Open an existing `path` read-only: the committed state as another thread sees it. Only
 * the committed reads (staged = 0) and the functions below work on such a store; it is used
 * by one thread at a time. On error returns -1 with "path: reason" in err. Close with
 * sb_store_close. */
int sb_store_open_readonly(const char *path, sb_store **out, char *err, size_t errlen);

/* Read several things from one committed snapshot: a read transaction from
 * sb_store_snapshot_begin to sb_store_snapshot_end (which ends it even after an error).
 * Keep it short: never hold one across a network call (it pins the WAL). */
int sb_store_snapshot_begin(sb_store *st);
void sb_store_snapshot_end(sb_store *st);

/* The committed slots below `below` that have a winner (sb_outcome_has_winner), newest
 * first: at most max of them into slots[0..*n). */
int sb_store_winner_slots_below(sb_store *st, int64_t below, int64_t *slots, size_t max, size_t *n);

/* Every committed slot record above `after` (-1: from slot 0) in slot order, at most max.
 * The callback returns 0 to go on; a non-zero return stops and is returned. */
typedef int (*sb_store_slot_fn)(void *arg, const sb_slot_record *r);
int sb_store_each_slot_after(sb_store *st, int64_t after, size_t max, sb_store_slot_fn fn,
                             void *arg);

/* The manifest bytes recorded with the binary manifest CID cid[0..cidlen) (a REPEAT's bytes
 * live in the slot it copies). Not checked against the CID here. *out malloc'd, caller
 * frees. Returns 1 found, 0 not, -1 error. */
int sb_store_manifest_by_cid(sb_store *st, const uint8_t *cid, size_t cidlen, uint8_t **out,
                             size_t *len);

#endif /* SB_NODE_STORE_H */
