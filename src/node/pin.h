/* pin.h - the IPFS pinning worker of sleetbubbled (protocol.md §10): node-local, never blocks
 * consensus.
 *
 * What to pin is the committed `slots` rows of the consensus database (written by Commit,
 * whatever pin.enabled says). The worker reads them through a read-only connection and keeps
 * its own progress - jobs, attempts, errors, refs, a high-water slot - in its own SQLite file
 * (pin_store.h), so the consensus database has one writer and FinalizeBlock/Commit never
 * wait on the worker. Jobs:
 *   manifest (kind 1): block/put of the slot's manifest (the returned CID must equal the
 *                      job's CID, else the job fails as "cid_mismatch", no retry) then a
 *                      direct pin;
 *   track    (kind 2): recursive pin with a progress watchdog (stalled / too_large).
 *
 * Threads: pin.concurrency workers, each with its own blocking libcurl handle, plus one
 * housekeeping thread (start-up reconcile with pin/ls, retention). Ingest of committed slots,
 * back-fill, reconcile and retention all run on these threads in bounded batches, after
 * sb_pin_start has returned. The loop thread only calls sb_pin_notify.
 *
 * Job states: queued -> pinning -> pinned | failed (sb_pin_transition below is the whole
 * state machine). At start-up pinning -> queued; reconcile then re-queues pinned jobs whose
 * pin went missing in Kubo and marks queued ones Kubo already has as pinned.
 */
#ifndef SB_NODE_PIN_H
#define SB_NODE_PIN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct sb_pin sb_pin;

/* Start the worker: reads ipfs.auth_header_file, opens (creating) its own database at
 * pin_db_path (normally <home>/data/pins.db) and the consensus database db_path read-only,
 * moves the jobs the last run was pinning back to queued (at most pin.concurrency rows),
 * starts the threads and returns; ingest of history, reconcile and retention happen on the
 * threads afterwards. Kubo need not be up. cfg is copied. Returns the worker (free with
 * sb_pin_stop), or NULL with a reason in err[0..errlen) (never containing the auth header).*/
sb_pin *sb_pin_start(const sb_config *cfg, const char *db_path, const char *pin_db_path, char *err,
                     size_t errlen);

/* The database half of one retention pass, run by the caller's thread (benchmarks and tests;
 * the housekeeper runs the same code): expire every ingested winner slot older than the
 * newest pin.keep_slots, in bounded batches, dooming CIDs nothing kept references; no Kubo
 * call. *expired: slots expired; *doomed: CIDs newly doomed. 0 or -1. */
int sb_pin_expire_pass(sb_pin *p, size_t *expired, size_t *doomed);

/* Wake the worker after Commit at `height` (new jobs may be queued). Loop thread; cheap,
 * never blocks on I/O. NULL is a no-op. */
void sb_pin_notify(sb_pin *p, int64_t height);

/* Stop: raises the stop flag (running Kubo calls abort within ~1 s and their jobs go back to
 * `queued` with attempts unchanged, so nothing is left half-done), joins every thread, closes
 * the connections, frees. NULL is a no-op. */
void sb_pin_stop(sb_pin *p);

/* ---- pure parts (no I/O, no clock, no randomness: inputs in, outputs out) -------------- */

/* Retry schedule (protocol.md §10): delay before retry number `attempt` (1 = after the first failed
 * attempt; 0 is treated as 1), milliseconds: d = min(2000 * 2^(attempt-1), 600000), then
 * d * (1000 + jitter_permille) / 1000, clamped to [SB_PIN_BACKOFF_MIN_MS, 600000].
 * jitter_permille is clamped to [-200, 200] (±20 %); callers draw it at random. */
#define SB_PIN_BACKOFF_BASE_MS 2000u
#define SB_PIN_BACKOFF_CAP_MS 600000u
#define SB_PIN_BACKOFF_MIN_MS 1600u
#define SB_PIN_JITTER_PERMILLE 200
uint64_t sb_pin_backoff_ms(uint32_t attempt, int32_t jitter_permille);

typedef enum {
    SB_PIN_QUEUED = 0,
    SB_PIN_PINNING,
    SB_PIN_PINNED,
    SB_PIN_FAILED,
    SB_PIN_NSTATES
} sb_pin_state;

/* "queued" "pinning" "pinned" "failed" (the jobs.state values in pins.db); "?" otherwise. */
const char *sb_pin_state_name(sb_pin_state s);
/* Reverse; -1 for anything else. */
int sb_pin_state_parse(const char *name);

typedef enum {
    SB_PIN_EV_CLAIM,   /* queued -> pinning, only when next_try_ms <= now */
    SB_PIN_EV_SUCCESS, /* pinning -> pinned; attempts + 1 */
    SB_PIN_EV_RETRY,   /* pinning -> queued, attempts + 1, next_try = now + backoff; or ->
                           failed when max_attempts != 0 and attempts + 1 >= max_attempts */
    SB_PIN_EV_FATAL,   /* pinning -> failed, attempts + 1 (too_large, cid_mismatch: no retry) */
    SB_PIN_EV_ABORT,   /* pinning -> queued, attempts unchanged, due now (worker stopping) */
    SB_PIN_EV_RESTART, /* pinning -> queued at start-up, attempts unchanged, due now */
    SB_PIN_EV_MISSING, /* pinned -> queued: reconcile found it unpinned; attempts 0, due now */
    SB_PIN_EV_FOUND,   /* queued -> pinned: reconcile found Kubo already pins it */
    SB_PIN_EV_REQUEUE, /* failed -> queued (the CID won again); attempts 0, due now */
} sb_pin_event;

/* The part of a job the state machine looks at. next_try_ms: CLOCK_REALTIME ms. */
typedef struct sb_pin_job_state {
    sb_pin_state state;
    uint32_t attempts;
    int64_t next_try_ms;
} sb_pin_job_state;

/* Apply `ev` to *in at time now_ms. max_attempts: pin.max_attempts (0 = retry forever);
 * jitter_permille: as for sb_pin_backoff_ms (only RETRY uses it). Writes *out (may alias in)
 * and returns 0; returns -1 and leaves *out untouched if `ev` is not allowed in in->state
 * (or CLAIM before next_try_ms). */
int sb_pin_transition(const sb_pin_job_state *in, sb_pin_event ev, int64_t now_ms,
                      uint32_t max_attempts, int32_t jitter_permille, sb_pin_job_state *out);

#endif /* SB_NODE_PIN_H */
