/* pin_store.h - the pin worker's own database (protocol.md §10 "intents and progress are separate").
 *
 * What to pin is consensus state: the committed `slots` rows of data/sleetbubble.db. How far
 * pinning got is node-local and lives in data/pins.db, which this module alone writes, through
 * ONE connection shared by the worker's threads under a mutex (one writer per file). The
 * consensus database is read through the store's read-only view (store.h, the only code
 * that knows its schema), one short read transaction at a time, never across a network
 * call.
 *
 * pins.db:
 *   jobs(cid PK, kind, slot, state, attempts, next_try_ms, last_error, pinned_at_ms, bytes)
 *   refs(slot, cid)        every CID each ingested winner slot references (REPEATs included)
 *   winners(slot)          the ingested slots that have a winner, newest keep_slots kept
 *   doomed(cid)            CIDs no kept slot references any more: being unpinned
 *   progress(high_water)   highest consensus slot whose jobs and refs are written
 *   job_counts(state, n)   kept exact by triggers (the gauges never count rows)
 * Every statement is served by an index; nothing scans history (tests/unit/node/
 * test_lifetime.c checks it statement by statement).
 *
 * Every function takes the store's mutex; all are safe from any thread. Functions return 0
 * (or a count / 1 found) on success and -1 on an SQLite error, which is logged with the
 * statement.
 */
#ifndef SB_NODE_PIN_STORE_H
#define SB_NODE_PIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pin.h"

/* Longest CID string a job may hold (track CIDs are validated to < SB_CID_STR_MAX). */
#define SB_PIN_CID_MAX 128

typedef struct sb_pinstore sb_pinstore;

/* A claimed job (kind: 1 manifest, 2 track). */
typedef struct sb_pin_job {
    char cid[SB_PIN_CID_MAX];
    int kind;
    int64_t slot;
    sb_pin_job_state st;
} sb_pin_job;

enum { SB_PIN_KIND_MANIFEST = 1, SB_PIN_KIND_TRACK = 2 };

/* Open (creating) pins_path with its schema, and state_path (the consensus database)
 * read-only. state_path NULL: a read-only view of pins.db for queries (pins_path must exist;
 * only sb_pinstore_job works). Returns -1 with "path: reason" in err. */
int sb_pinstore_open(const char *pins_path, const char *state_path, sb_pinstore **out, char *err,
                     size_t errlen);
/* Close both connections and free. NULL is a no-op. */
void sb_pinstore_close(sb_pinstore *ps);

/* Start-up: every `pinning` job goes back to `queued`, due at now_ms (SB_PIN_EV_RESTART).
 * Returns how many, or -1. */
int sb_pinstore_restart(sb_pinstore *ps, int64_t now_ms);

/* One bounded ingest batch: read at most max_slots committed slots above the high-water mark
 * (the first call starts below the newest keep_slots winners, or at slot 0 when keep_slots is
 * 0), and write their jobs, refs and the new high-water mark in one pins.db transaction, so a
 * kill -9 anywhere loses or duplicates no job. A new job starts queued; a `failed` one that
 * a new slot references is queued again with attempts 0. *slots: slots read (< max_slots
 * means caught up); *jobs: jobs created or re-queued. */
int sb_pinstore_ingest(sb_pinstore *ps, uint64_t keep_slots, size_t max_slots, size_t *slots,
                       size_t *jobs);

/* Claim the due queued job of the newest slot that is not being unpinned: queued -> pinning.
 * 1 claimed (*j filled), 0 none, -1 error. */
int sb_pinstore_claim(sb_pinstore *ps, int64_t now_ms, sb_pin_job *j);

/* Write the end of an attempt: state/attempts/next_try from *out; last_error (NULL keeps the
 * old one; cleared when pinned); pinned_at_ms = now_ms when pinned; bytes when > 0. Only a
 * row still `pinning` is written. Returns rows changed (0 or 1) or -1. */
int sb_pinstore_finish(sb_pinstore *ps, const sb_pin_job *j, const sb_pin_job_state *out,
                       const char *last_error, int64_t now_ms, uint64_t bytes);

/* The manifest bytes whose dag-json CID is `cid`, from the consensus database (by the
 * manifest_cid index: a REPEAT's bytes live in the slot it copies). The bytes must hash to
 * the CID. *out malloc'd, caller frees. 1 found, 0 not, -1 error. */
int sb_pinstore_manifest(sb_pinstore *ps, const char *cid, uint8_t **out, size_t *len);

/* Earliest next_try_ms of a queued job, 0 if none, -1 on error. */
int64_t sb_pinstore_next_due(sb_pinstore *ps);

/* Jobs per state (sb_pin_state index), from the trigger-kept counts. */
int sb_pinstore_counts(sb_pinstore *ps, int64_t n[SB_PIN_NSTATES]);

/* ---- reconcile (start-up, in pages) --------------------------------------------------- */

typedef struct sb_pin_snap {
    char cid[SB_PIN_CID_MAX];
    int kind;
    sb_pin_state state; /* SB_PIN_PINNED or SB_PIN_QUEUED */
    int64_t pinned_at;
    int pinned_at_null;
    int present; /* filled by the caller: Kubo pins it */
} sb_pin_snap;

/* Up to max pinned/queued jobs with cid > after (after "" = from the start), in cid order.
 * *n: how many (< max: last page). */
int sb_pinstore_page(sb_pinstore *ps, const char *after, sb_pin_snap *v, size_t max, size_t *n);
/* Judge a page in one transaction: a pinned job not present goes back to queued (MISSING,
 * only if still pinned with the same pinned_at, and only if it was pinned before listed_ms,
 * the time (ms, same clock as pinned_at) the Kubo listing began: a pin made while the listing
 * ran cannot be in it and is not judged missing); a queued job present is marked pinned
 * (FOUND). *missing / *found: rows changed (missing ones are logged by the caller with
 * sb_pin_snap_missing). */
int sb_pinstore_reconcile(sb_pinstore *ps, const sb_pin_snap *v, size_t n, int64_t listed_ms,
                          int64_t now_ms, int *missing, int *found);

/* 1 if reconcile judges s missing from a Kubo listing that began at listed_ms: pinned, not
 * present, and pinned before the listing began. */
int sb_pin_snap_missing(const sb_pin_snap *s, int64_t listed_ms);

/* ---- retention (pin.keep_slots > 0) ----------------------------------------------------- */

/* One bounded batch: the ingested winner slots older than the newest keep_slots (at most
 * max_slots of them, oldest first) lose their refs; every CID left with no ref is marked
 * doomed (no longer claimable). *expired: slots expired; *doomed: CIDs newly doomed. */
int sb_pinstore_expire(sb_pinstore *ps, uint64_t keep_slots, size_t max_slots, size_t *expired,
                       size_t *doomed);
/* Up to max doomed CIDs to unpin now (their job is not `pinning` and still no slot
 * references them; a doomed CID referenced again is simply un-doomed here). cids: max
 * entries of SB_PIN_CID_MAX bytes. */
int sb_pinstore_doomed(sb_pinstore *ps, char (*cids)[SB_PIN_CID_MAX], size_t max, size_t *n);
/* After pin/rm of `cid` succeeded: if a slot referenced it meanwhile, its job is queued again
 * (*requeued = 1: pin it again); else its job row goes. The doomed mark is removed. */
int sb_pinstore_unpinned(sb_pinstore *ps, const char *cid, int *requeued);

/* ---- query (/pins/<n>) -------------------------------------------------------------------- */

typedef struct sb_pin_job_info {
    char state[16];
    int64_t attempts, pinned_at_ms, bytes, next_try_ms;
    int pinned_at_null;
    char last_error[400]; /* "" when none */
} sb_pin_job_info;

/* The job of `cid`. 1 found, 0 none, -1 error. */
int sb_pinstore_job(sb_pinstore *ps, const char *cid, sb_pin_job_info *out);

#endif /* SB_NODE_PIN_STORE_H */
