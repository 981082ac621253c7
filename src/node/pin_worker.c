/* pin_worker.c - the pin worker's job threads (protocol.md §10): ingest of committed slots in
 * bounded batches, then claim and run jobs, newest slot first. pin.concurrency threads, each
 * with its own blocking libcurl handle (a stalled pin only occupies its own thread); they
 * share one sb_pinstore and never touch libevent objects. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubo.h"
#include "log.h"
#include "metrics.h"
#include "pin-internal.h"
#include "pin_store.h"

/* ==== ingest =============================================================================== */

/* One ingest batch if commits are pending and no other worker is ingesting. */
static void ingest_some(sb_pin *p)
{
    uint64_t want = atomic_load(&p->notified);
    if (atomic_load(&p->ingested) == want || pthread_mutex_trylock(&p->ingest_mu) != 0)
        return;
    size_t slots = 0, jobs = 0;
    if (sb_pinstore_ingest(p->ps, p->keep_slots, PIN_INGEST_BATCH, &slots, &jobs) == 0) {
        p->backfill_slots += slots;
        p->backfill_jobs += jobs;
        if (slots < PIN_INGEST_BATCH) { /* caught up with what was committed at `want` */
            if (p->backfill_slots > PIN_INGEST_BATCH)
                sb_log(SB_LOG_INFO, "pin",
                       "back-fill: %zu job(s) queued from %zu committed "
                       "slot(s)",
                       p->backfill_jobs, p->backfill_slots);
            p->backfill_slots = p->backfill_jobs = 0;
            atomic_store(&p->ingested, want);
        }
        if (jobs || slots)
            sb_pin_wake_all(p, p->keep_slots != 0);
    }
    pthread_mutex_unlock(&p->ingest_mu);
}

/* ==== jobs ================================================================================= */

/* Record the end of an attempt: apply `ev` and write the row (only if still ours). */
static void finish(worker *w, sb_pin_job *j, sb_pin_event ev, const char *reason, const char *msg,
                   uint64_t bytes, uint64_t took_ms)
{
    sb_pin *p = w->p;
    int64_t now = sb_pin_now_ms();
    sb_pin_job_state out;
    char last[400];
    if (sb_pin_transition(&j->st, ev, now, p->max_attempts, sb_pin_draw_jitter(w), &out) < 0) {
        sb_log(SB_LOG_ERROR, "pin", "%s: internal: event %d not allowed in state %s", j->cid,
               (int)ev, sb_pin_state_name(j->st.state));
        return;
    }
    last[0] = '\0';
    if (reason)
        snprintf(last, sizeof(last), "%s: %s", reason, msg ? msg : "");
    if (sb_pinstore_finish(p->ps, j, &out, reason ? last : NULL, now, bytes) < 0)
        return;
    const char *what = j->kind == SB_PIN_KIND_MANIFEST ? "manifest" : "track";
    switch (ev) {
    case SB_PIN_EV_SUCCESS:
        sb_metrics_pin_latency_ms(took_ms);
        sb_log(SB_LOG_INFO, "pin",
               "pinned %s %s of slot %" PRId64 " (%" PRIu64 " bytes, %" PRIu64
               " ms, attempt %" PRIu32 ")",
               what, j->cid, j->slot, bytes, took_ms, out.attempts);
        break;
    case SB_PIN_EV_RETRY:
    case SB_PIN_EV_FATAL:
        sb_metrics_pin_failure(reason ? reason : "unknown");
        if (out.state == SB_PIN_FAILED)
            sb_log(SB_LOG_ERROR, "pin",
                   "FAILED %s %s of slot %" PRId64 " after %" PRIu32
                   " attempt(s), no more retries: %s",
                   what, j->cid, j->slot, out.attempts, last);
        else
            sb_log(SB_LOG_WARN, "pin",
                   "%s %s of slot %" PRId64 ": attempt %" PRIu32 " failed: %s; retry in %" PRId64
                   " ms",
                   what, j->cid, j->slot, out.attempts, last, out.next_try_ms - now);
        break;
    default:
        sb_log(SB_LOG_INFO, "pin", "%s %s of slot %" PRId64 ": interrupted, queued again", what,
               j->cid, j->slot);
        break;
    }
    sb_pin_refresh_gauges(p, 0);
    if (ev == SB_PIN_EV_SUCCESS && j->kind == SB_PIN_KIND_MANIFEST && p->keep_slots)
        sb_pin_wake_all(p, 1);
}

/* Event for a kubo result code. */
static sb_pin_event event_for(int rc)
{
    switch (rc) {
    case SB_KUBO_OK: return SB_PIN_EV_SUCCESS;
    case SB_KUBO_E_CANCELLED: return SB_PIN_EV_ABORT;
    case SB_KUBO_E_TOO_LARGE:
    case SB_KUBO_E_ARG: return SB_PIN_EV_FATAL;
    default: return SB_PIN_EV_RETRY;
    }
}

static void run_manifest(worker *w, sb_pin_job *j, uint64_t t0)
{
    uint8_t *m = NULL;
    size_t mlen = 0;
    char key[SB_PIN_CID_MAX];
    sb_kubo_err e = { 0 };
    int f = sb_pinstore_manifest(w->p->ps, j->cid, &m, &mlen);
    if (f <= 0) {
        finish(w, j, f < 0 ? SB_PIN_EV_RETRY : SB_PIN_EV_FATAL,
               f < 0 ? "database" : "manifest_missing",
               f < 0 ? "cannot read the manifest" : "no stored manifest has this CID", 0, 0);
        return;
    }
    /* Always put before the direct pin: the block may have been collected since last time. */
    int rc = sb_kubo_block_put(w->k, m, mlen, key, sizeof(key), &e);
    if (rc == SB_KUBO_OK && strcmp(key, j->cid) != 0) {
        sb_log(SB_LOG_ERROR, "pin",
               "CID MISMATCH: Kubo stored manifest of slot %" PRId64 " as %s, expected %s; "
               "not pinning it (check the Kubo endpoint in [ipfs] api_url)",
               j->slot, key, j->cid);
        char msg[300];
        snprintf(msg, sizeof(msg), "block/put returned %s, expected %s", key, j->cid);
        finish(w, j, SB_PIN_EV_FATAL, "cid_mismatch", msg, mlen, 0);
        free(m);
        return;
    }
    if (rc == SB_KUBO_OK)
        rc = sb_kubo_pin_direct(w->k, j->cid, &e);
    free(m);
    finish(w, j, event_for(rc), rc ? sb_kubo_reason(rc) : NULL, rc ? e.msg : NULL, mlen,
           sb_pin_mono_ms() - t0);
}

static void run_track(worker *w, sb_pin_job *j, uint64_t t0)
{
    sb_pin *p = w->p;
    sb_kubo_err e = { 0 };
    uint64_t bytes = 0;
    sb_kubo_pin_limits lim = { .stall_seconds = p->stall_s, .max_bytes = p->max_track_bytes };
    int rc = sb_kubo_pin_recursive(w->k, j->cid, &lim, &bytes, &e);
    if (rc == SB_KUBO_OK && p->max_track_bytes && bytes > p->max_track_bytes) {
        rc = SB_KUBO_E_TOO_LARGE;
        snprintf(e.msg, sizeof(e.msg), "%" PRIu64 " bytes, over pin.max_track_bytes = %" PRIu64,
                 bytes, p->max_track_bytes);
    }
    if (rc == SB_KUBO_E_TOO_LARGE) {
        /* The pin may have completed before we saw the size: undo it. */
        sb_kubo_err e2;
        if (sb_kubo_pin_rm(w->k, j->cid, NULL, &e2) != SB_KUBO_OK)
            sb_log(SB_LOG_WARN, "pin", "%s: removing the too-large pin failed: %s", j->cid, e2.msg);
    }
    finish(w, j, event_for(rc), rc ? sb_kubo_reason(rc) : NULL, rc ? e.msg : NULL, bytes,
           sb_pin_mono_ms() - t0);
}

static void run_job(worker *w, sb_pin_job *j)
{
    uint64_t t0 = sb_pin_mono_ms();
    sb_pin_refresh_gauges(w->p, 0);
    if (j->kind == SB_PIN_KIND_MANIFEST)
        run_manifest(w, j, t0);
    else if (j->kind == SB_PIN_KIND_TRACK)
        run_track(w, j, t0);
    else
        finish(w, j, SB_PIN_EV_FATAL, "bad_argument", "unknown job kind", 0, 0);
}

/* When to look again for a queued job: its next_try_ms, or 0 (idle) when none. */
static int64_t next_due(sb_pin *p)
{
    int64_t t = sb_pinstore_next_due(p->ps);
    if (t < 0)
        return sb_pin_now_ms() + 1000;
    if (t > 0 && t <= sb_pin_now_ms())
        t = sb_pin_now_ms() + 1000; /* due but not claimable (being unpinned): look again soon */
    return t;
}

void *sb_pin_worker_main(void *arg)
{
    worker *w = arg;
    sb_pin *p = w->p;
    int worked = 0;
    while (!sb_pin_stopping(p)) {
        uint64_t seq = sb_pin_wake_seq(p);
        ingest_some(p);
        sb_pin_job j;
        int r = sb_pinstore_claim(p->ps, sb_pin_now_ms(), &j);
        if (r == 1) {
            run_job(w, &j);
            worked = 1;
            continue;
        }
        if (worked) /* going idle after work: make the gauges exact */
            sb_pin_refresh_gauges(p, 1);
        worked = 0;
        if (atomic_load(&p->ingested) != atomic_load(&p->notified))
            continue; /* more history to ingest */
        sb_pin_wait_wake(p, &seq, r < 0 ? sb_pin_now_ms() + 1000 : next_due(p), 0);
    }
    return NULL;
}
