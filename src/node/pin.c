/* pin.c - the pinning worker's threads (protocol.md §10). See pin.h for the contract; the job
 * database is pin_store.c, the pure schedule pin_sched.c, the Kubo client kubo.c.
 *
 * Threads: pin.concurrency workers, each with a blocking libcurl handle (simpler than
 * curl_multi; a stalled pin only occupies its own thread), and one housekeeper (reconcile
 * with pin/ls, retention). They share one sb_pinstore (one writing connection under a
 * mutex, never held across a network call) and never touch libevent objects.
 *
 * Flow: Commit writes the `slots` rows; sb_pin_notify bumps a counter; a worker that sees it
 * ingests the new committed slots in bounded batches (jobs + refs + high-water mark in one
 * pins.db transaction) and then claims jobs, newest slot first. Start-up work (ingest of
 * history, reconcile, retention) all happens on these threads after sb_pin_start returned,
 * so sleetbubbled accepts ABCI connections first (protocol.md §10: pinning never blocks consensus).
 *
 * Times: next_try_ms and pinned_at_ms are CLOCK_REALTIME ms (node-local); durations and the
 * watchdog in kubo.c use CLOCK_MONOTONIC.
 *
 * Retention (pin.keep_slots > 0): the kept slots are the newest keep_slots ingested slots
 * with a winner (SUPERMAJORITY, FALLBACK, REPEAT). Older ones lose their refs in bounded
 * batches; a CID with no ref left is "doomed" (not claimable), unpinned in Kubo, then its
 * job row goes - or, if a new slot referenced it meanwhile, it is queued again.
 */
#include "pin.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "kubo.h"
#include "log.h"
#include "metrics.h"
#include "pin_store.h"
#include "sb_url.h"

/* Longest idle sleep of a worker without a wake-up, ms. */
#define PIN_IDLE_MS 60000
/* Period of the retention sweep besides "after a manifest was pinned", ms. */
#define PIN_SWEEP_MS 600000
/* Slots per ingest batch (one pins.db transaction each). */
#define PIN_INGEST_BATCH 64
/* Slots per retention batch, CIDs per unpin batch, jobs per reconcile page. */
#define PIN_EXPIRE_BATCH 64
#define PIN_UNPIN_BATCH 64
#define PIN_RECONCILE_PAGE 512

/* ==== a sorted set of strings (pin/ls answers) ============================================= */

typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static int strset_add(strset *s, const char *str)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        char **nv = realloc(s->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(str)))
        return -1;
    s->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort; call before strset_has. */
static void strset_seal(strset *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static int strset_has(const strset *s, const char *str)
{
    return s->n && bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int strset_add_cb(void *arg, const char *cid) { return strset_add(arg, cid) < 0; }

/* ==== state ================================================================================ */

typedef struct worker worker;

struct sb_pin {
    char api_url[512];
    char api_url_log[512];       /* api_url with any password masked */
    char auth[1024];             /* auth header line or ""; never logged */
    uint32_t timeout_s, concurrency, max_attempts, stall_s;
    uint64_t keep_slots, max_track_bytes;

    sb_pinstore *ps;
    atomic_int stop;

    /* Commits notified vs. ingested: a worker ingests while they differ. */
    atomic_uint_fast64_t notified, ingested;
    pthread_mutex_t ingest_mu;   /* one ingesting worker at a time (trylock) */
    size_t backfill_jobs, backfill_slots;

    pthread_mutex_t wake_mu;     /* never held across I/O (sb_pin_notify takes it) */
    pthread_cond_t wake_cv;
    uint64_t wake_seq;
    int retention_due;

    pthread_mutex_t gauge_mu;
    int64_t gauge_at_ms;

    worker *w;                   /* concurrency workers, then the housekeeper */
    size_t nw;
};

struct worker {
    sb_pin *p;
    size_t id;
    int housekeeper;
    sb_kubo *k;
    pthread_t th;
    int started;
    uint64_t rng;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int stopping(const sb_pin *p) { return atomic_load(&p->stop) != 0; }

static int32_t draw_jitter(worker *w)
{
    /* xorshift64*: node-local randomness is fine for jitter (protocol.md §10). */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (int32_t)((x * 2685821657736338717ull) % (2 * SB_PIN_JITTER_PERMILLE + 1)) -
           SB_PIN_JITTER_PERMILLE;
}

static void wake_all(sb_pin *p, int retention)
{
    pthread_mutex_lock(&p->wake_mu);
    p->wake_seq++;
    if (retention)
        p->retention_due = 1;
    pthread_cond_broadcast(&p->wake_cv);
    pthread_mutex_unlock(&p->wake_mu);
}

/* Sleep until woken (wake_seq != *seq; seq NULL: ignore wake-ups), `until_ms` (realtime; <= 0
 * for PIN_IDLE_MS), or stop. want_retention: also return when retention_due is set. */
static void wait_wake(sb_pin *p, const uint64_t *seq, int64_t until_ms, int want_retention)
{
    int64_t d = until_ms > 0 ? until_ms - now_ms() : PIN_IDLE_MS;
    if (d > PIN_IDLE_MS)
        d = PIN_IDLE_MS;
    if (d < 50)
        d = 50;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += d / 1000;
    ts.tv_nsec += (d % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&p->wake_mu);
    while ((!seq || p->wake_seq == *seq) && !stopping(p) &&
           !(want_retention && p->retention_due))
        if (pthread_cond_timedwait(&p->wake_cv, &p->wake_mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&p->wake_mu);
}

static uint64_t wake_seq(sb_pin *p)
{
    pthread_mutex_lock(&p->wake_mu);
    uint64_t s = p->wake_seq;
    pthread_mutex_unlock(&p->wake_mu);
    return s;
}

/* Set the sleetbubble_pin_jobs{state} gauges; at most once a second unless force. */
static void refresh_gauges(sb_pin *p, int force)
{
    int64_t now = now_ms();
    pthread_mutex_lock(&p->gauge_mu);
    int due = force || now - p->gauge_at_ms >= 1000 || now < p->gauge_at_ms;
    if (due)
        p->gauge_at_ms = now;
    pthread_mutex_unlock(&p->gauge_mu);
    int64_t n[SB_PIN_NSTATES];
    if (!due || sb_pinstore_counts(p->ps, n) < 0)
        return;
    for (int i = 0; i < SB_PIN_NSTATES; i++)
        sb_metrics_pin_jobs(sb_pin_state_name((sb_pin_state)i), n[i]);
}

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
                sb_log(SB_LOG_INFO, "pin", "back-fill: %zu job(s) queued from %zu committed "
                       "slot(s)", p->backfill_jobs, p->backfill_slots);
            p->backfill_slots = p->backfill_jobs = 0;
            atomic_store(&p->ingested, want);
        }
        if (jobs || slots)
            wake_all(p, p->keep_slots != 0);
    }
    pthread_mutex_unlock(&p->ingest_mu);
}

/* ==== jobs ================================================================================= */

/* Record the end of an attempt: apply `ev` and write the row (only if still ours). */
static void finish(worker *w, sb_pin_job *j, sb_pin_event ev, const char *reason,
                   const char *msg, uint64_t bytes, uint64_t took_ms)
{
    sb_pin *p = w->p;
    int64_t now = now_ms();
    sb_pin_job_state out;
    char last[400];
    if (sb_pin_transition(&j->st, ev, now, p->max_attempts, draw_jitter(w), &out) < 0) {
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
        sb_log(SB_LOG_INFO, "pin", "pinned %s %s of slot %" PRId64 " (%" PRIu64 " bytes, %" PRIu64
               " ms, attempt %" PRIu32 ")", what, j->cid, j->slot, bytes, took_ms, out.attempts);
        break;
    case SB_PIN_EV_RETRY:
    case SB_PIN_EV_FATAL:
        sb_metrics_pin_failure(reason ? reason : "unknown");
        if (out.state == SB_PIN_FAILED)
            sb_log(SB_LOG_ERROR, "pin", "FAILED %s %s of slot %" PRId64 " after %" PRIu32
                   " attempt(s), no more retries: %s", what, j->cid, j->slot, out.attempts, last);
        else
            sb_log(SB_LOG_WARN, "pin", "%s %s of slot %" PRId64 ": attempt %" PRIu32
                   " failed: %s; retry in %" PRId64 " ms", what, j->cid, j->slot, out.attempts,
                   last, out.next_try_ms - now);
        break;
    default:
        sb_log(SB_LOG_INFO, "pin", "%s %s of slot %" PRId64 ": interrupted, queued again", what,
               j->cid, j->slot);
        break;
    }
    refresh_gauges(p, 0);
    if (ev == SB_PIN_EV_SUCCESS && j->kind == SB_PIN_KIND_MANIFEST && p->keep_slots)
        wake_all(p, 1);
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
    sb_kubo_err e = {0};
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
           mono_ms() - t0);
}

static void run_track(worker *w, sb_pin_job *j, uint64_t t0)
{
    sb_pin *p = w->p;
    sb_kubo_err e = {0};
    uint64_t bytes = 0;
    sb_kubo_pin_limits lim = {.stall_seconds = p->stall_s, .max_bytes = p->max_track_bytes};
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
            sb_log(SB_LOG_WARN, "pin", "%s: removing the too-large pin failed: %s", j->cid,
                   e2.msg);
    }
    finish(w, j, event_for(rc), rc ? sb_kubo_reason(rc) : NULL, rc ? e.msg : NULL, bytes,
           mono_ms() - t0);
}

static void run_job(worker *w, sb_pin_job *j)
{
    uint64_t t0 = mono_ms();
    refresh_gauges(w->p, 0);
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
        return now_ms() + 1000;
    if (t > 0 && t <= now_ms())
        t = now_ms() + 1000; /* due but not claimable (being unpinned): look again soon */
    return t;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sb_pin *p = w->p;
    int worked = 0;
    while (!stopping(p)) {
        uint64_t seq = wake_seq(p);
        ingest_some(p);
        sb_pin_job j;
        int r = sb_pinstore_claim(p->ps, now_ms(), &j);
        if (r == 1) {
            run_job(w, &j);
            worked = 1;
            continue;
        }
        if (worked) /* going idle after work: make the gauges exact */
            refresh_gauges(p, 1);
        worked = 0;
        if (atomic_load(&p->ingested) != atomic_load(&p->notified))
            continue; /* more history to ingest */
        wait_wake(p, &seq, r < 0 ? now_ms() + 1000 : next_due(p), 0);
    }
    return NULL;
}

/* ==== housekeeping: reconcile and retention ================================================ */

/* Start-up reconcile (protocol.md §10), in pages of PIN_RECONCILE_PAGE jobs: a pinned job whose CID
 * Kubo no longer pins goes back to queued; a queued job Kubo already pins is marked pinned.
 * The pin listings are streamed and watched for stalls, not cut by ipfs.timeout_seconds.
 * Returns 0, or -1 (Kubo or database error; try again later). */
static int reconcile(worker *w)
{
    sb_pin *p = w->p;
    strset rec = {0}, dir = {0};
    sb_pin_snap *v = calloc(PIN_RECONCILE_PAGE, sizeof(*v));
    sb_kubo_err e;
    int ret = -1, missing = 0, found = 0;
    size_t checked = 0, n = 0;
    char after[SB_PIN_CID_MAX] = "";
    if (!v)
        goto done;
    /* A job pinned after this instant cannot be in the listing: not judged missing. */
    int64_t listed_ms = now_ms();
    if (sb_kubo_pin_ls(w->k, "recursive", p->stall_s, strset_add_cb, &rec, &e) != SB_KUBO_OK ||
        sb_kubo_pin_ls(w->k, "direct", p->stall_s, strset_add_cb, &dir, &e) != SB_KUBO_OK) {
        sb_log(SB_LOG_WARN, "pin", "reconcile: %s (will retry)", e.msg);
        goto done;
    }
    strset_seal(&rec);
    strset_seal(&dir);
    do {
        int m = 0, f = 0;
        if (stopping(p) || sb_pinstore_page(p->ps, after, v, PIN_RECONCILE_PAGE, &n) < 0)
            goto done;
        for (size_t i = 0; i < n; i++)
            v[i].present = strset_has(&rec, v[i].cid) ||
                           (v[i].kind == SB_PIN_KIND_MANIFEST && strset_has(&dir, v[i].cid));
        if (sb_pinstore_reconcile(p->ps, v, n, listed_ms, now_ms(), &m, &f) < 0)
            goto done;
        for (size_t i = 0; i < n && m; i++)
            if (sb_pin_snap_missing(&v[i], listed_ms))
                sb_log(SB_LOG_WARN, "pin", "reconcile: %s %s is no longer pinned in Kubo: "
                       "queued again", v[i].kind == SB_PIN_KIND_MANIFEST ? "manifest" : "track",
                       v[i].cid);
        missing += m;
        found += f;
        checked += n;
        if (n)
            memcpy(after, v[n - 1].cid, sizeof(after));
    } while (n == PIN_RECONCILE_PAGE);
    sb_log(SB_LOG_INFO, "pin", "reconcile with Kubo: %zu job(s) checked, %d re-queued (missing), "
           "%d already pinned", checked, missing, found);
    ret = 0;
done:
    free(v);
    strset_free(&rec);
    strset_free(&dir);
    if (missing || found)
        wake_all(p, 0);
    refresh_gauges(p, 1);
    return ret;
}

/* The database half of a retention pass: expire every slot older than the newest
 * keep_slots winners, in batches. Returns 0 or -1. */
static int retention_expire(sb_pin *p, size_t *expired, size_t *doomed)
{
    size_t e, d;
    *expired = *doomed = 0;
    do {
        if (stopping(p) || sb_pinstore_expire(p->ps, p->keep_slots, PIN_EXPIRE_BATCH, &e, &d) < 0)
            return -1;
        *expired += e;
        *doomed += d;
    } while (e == PIN_EXPIRE_BATCH);
    return 0;
}

/* Retention (pin.keep_slots > 0): expire, then unpin the doomed CIDs in batches. Returns 0,
 * or -1 if something is left for the next sweep. */
static int retention(worker *w)
{
    sb_pin *p = w->p;
    char (*cids)[SB_PIN_CID_MAX] = calloc(PIN_UNPIN_BATCH, SB_PIN_CID_MAX);
    size_t expired, doomed, n = 0;
    int ret = -1, removed = 0, requeued = 0, left = 0;
    if (!cids || retention_expire(p, &expired, &doomed) < 0)
        goto done;
    do {
        if (stopping(p) || sb_pinstore_doomed(p->ps, cids, PIN_UNPIN_BATCH, &n) < 0)
            goto done;
        for (size_t i = 0; i < n && !stopping(p); i++) {
            sb_kubo_err e;
            int was = 0, again = 0;
            if (sb_kubo_pin_rm(w->k, cids[i], &was, &e) != SB_KUBO_OK) {
                left++;
                sb_log(SB_LOG_WARN, "pin", "retention: %s (will retry)", e.msg);
                continue;
            }
            if (sb_pinstore_unpinned(p->ps, cids[i], &again) < 0) {
                left++;
                continue;
            }
            again ? requeued++ : removed++;
            if (was && !again)
                sb_log(SB_LOG_INFO, "pin", "retention: unpinned %s (no kept slot references it)",
                       cids[i]);
        }
    } while (n == PIN_UNPIN_BATCH && !left);
    ret = left ? -1 : 0;
done:
    if (removed || requeued)
        sb_log(SB_LOG_INFO, "pin", "retention (keep_slots = %" PRIu64 "): %d job(s) removed, "
               "%d re-queued (referenced again)", p->keep_slots, removed, requeued);
    if (requeued)
        wake_all(p, 0);
    free(cids);
    refresh_gauges(p, 1);
    return ret;
}

/* Reconcile once Kubo answers. Returns 1 when done, 0 when to try again later. */
static int house_reconcile(worker *w, uint32_t *down, int *down_logged)
{
    sb_pin *p = w->p;
    sb_kubo_err e;
    if (sb_kubo_health(w->k, &e) != SB_KUBO_OK) {
        if (!*down_logged)
            sb_log(SB_LOG_WARN, "pin", "Kubo not answering at %s: %s; jobs wait and retry "
                   "until it is back", p->api_url_log, e.msg);
        *down_logged = 1;
        (*down)++;
        return 0;
    }
    if (*down_logged)
        sb_log(SB_LOG_INFO, "pin", "Kubo answers again at %s", p->api_url_log);
    *down = 0;
    *down_logged = 0;
    return reconcile(w) == 0;
}

static void *house_main(void *arg)
{
    worker *w = arg;
    sb_pin *p = w->p;
    int reconciled = 0, down_logged = 0;
    uint32_t down = 0;
    int64_t next_sweep = 0, next_reconcile = 0;
    while (!stopping(p)) {
        uint64_t seq = wake_seq(p);
        if (!reconciled && now_ms() >= next_reconcile) {
            reconciled = house_reconcile(w, &down, &down_logged);
            if (!reconciled)
                next_reconcile = now_ms() + (int64_t)(down ? sb_pin_backoff_ms(down, 0) : 5000);
        }
        pthread_mutex_lock(&p->wake_mu);
        int due = p->retention_due;
        p->retention_due = 0;
        pthread_mutex_unlock(&p->wake_mu);
        /* Retention runs whether or not reconcile succeeded. */
        if (p->keep_slots && (due || now_ms() >= next_sweep)) {
            retention(w);
            next_sweep = now_ms() + PIN_SWEEP_MS;
        }
        int64_t until = p->keep_slots ? next_sweep : 0;
        if (!reconciled && (until <= 0 || next_reconcile < until))
            until = next_reconcile;
        wait_wake(p, &seq, until, 1);
    }
    return NULL;
}

/* ==== start / notify / stop ================================================================ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void sb_pin_notify(sb_pin *p, int64_t height)
{
    (void)height;
    if (!p)
        return;
    atomic_fetch_add(&p->notified, 1);
    wake_all(p, 0);
}

int sb_pin_expire_pass(sb_pin *p, size_t *expired, size_t *doomed)
{
    return retention_expire(p, expired, doomed);
}

void sb_pin_stop(sb_pin *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    wake_all(p, 0);
    for (size_t i = 0; i < p->nw; i++)
        if (p->w[i].started)
            pthread_join(p->w[i].th, NULL);
    for (size_t i = 0; i < p->nw; i++)
        sb_kubo_free(p->w[i].k);
    free(p->w);
    sb_pinstore_close(p->ps);
    pthread_mutex_destroy(&p->ingest_mu);
    pthread_mutex_destroy(&p->wake_mu);
    pthread_cond_destroy(&p->wake_cv);
    pthread_mutex_destroy(&p->gauge_mu);
    explicit_bzero(p->auth, sizeof(p->auth));
    free(p);
}

static void copy_config(sb_pin *p, const sb_config *cfg)
{
    snprintf(p->api_url, sizeof(p->api_url), "%s", cfg->ipfs.api_url);
    sb_url_for_log(p->api_url, p->api_url_log, sizeof(p->api_url_log));
    p->timeout_s = cfg->ipfs.timeout_seconds ? cfg->ipfs.timeout_seconds : 60;
    p->concurrency = cfg->pin.concurrency ? cfg->pin.concurrency : 1;
    if (p->concurrency > 64)
        p->concurrency = 64;
    p->max_attempts = cfg->pin.max_attempts;
    p->stall_s = cfg->pin.stall_seconds ? cfg->pin.stall_seconds : 120;
    p->keep_slots = cfg->pin.keep_slots;
    p->max_track_bytes = cfg->pin.max_track_bytes;
}

static int start_threads(sb_pin *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->nw; i++) {
        worker *w = &p->w[i];
        int rc = pthread_create(&w->th, NULL, w->housekeeper ? house_main : worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start pin thread: %s", strerror(rc));
            return -1;
        }
        w->started = 1;
    }
    return 0;
}

sb_pin *sb_pin_start(const sb_config *cfg, const char *db_path, const char *pin_db_path,
                     char *err, size_t errlen)
{
    sb_pin *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->ingest_mu, NULL);
    pthread_mutex_init(&p->wake_mu, NULL);
    pthread_mutex_init(&p->gauge_mu, NULL);
    pthread_cond_init(&p->wake_cv, NULL);
    atomic_init(&p->stop, 0);
    atomic_init(&p->notified, 1); /* ingest what was committed before this start */
    atomic_init(&p->ingested, 0);
    copy_config(p, cfg);
    if (cfg->ipfs.auth_header_file[0] &&
        sb_kubo_read_auth_header(cfg->ipfs.auth_header_file, p->auth, sizeof(p->auth), err,
                                 errlen) < 0)
        goto fail;
    pthread_once(&curl_once, curl_init_once);
    if (sb_pinstore_open(pin_db_path, db_path, &p->ps, err, errlen) < 0)
        goto fail;
    /* Bounded by pin.concurrency rows: the jobs the last run was pinning. */
    int n = sb_pinstore_restart(p->ps, now_ms());
    if (n < 0) {
        snprintf(err, errlen, "%s: start-up update failed", pin_db_path);
        goto fail;
    }
    if (n)
        sb_log(SB_LOG_INFO, "pin", "start-up: %d interrupted job(s) queued again", n);
    p->nw = (size_t)p->concurrency + 1;
    if (!(p->w = calloc(p->nw, sizeof(*p->w)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < p->nw; i++) {
        worker *w = &p->w[i];
        w->p = p;
        w->id = i;
        w->housekeeper = i == p->nw - 1;
        if (getrandom(&w->rng, sizeof(w->rng), 0) != (ssize_t)sizeof(w->rng) || !w->rng)
            w->rng = ((uint64_t)now_ms() << 8) ^ (i + 1) ^ 0x9e3779b97f4a7c15ull;
        sb_kubo_opts ko = {.api_url = p->api_url, .auth_header = p->auth,
                           .timeout_seconds = p->timeout_s, .cancel = &p->stop};
        char kerr[256];
        if (!(w->k = sb_kubo_new(&ko, kerr, sizeof(kerr)))) {
            snprintf(err, errlen, "%s", kerr);
            goto fail;
        }
    }
    refresh_gauges(p, 1);
    if (start_threads(p, err, errlen) < 0)
        goto fail;
    sb_log(SB_LOG_INFO, "pin", "worker started: %" PRIu32 " thread(s), Kubo %s%s, keep_slots %"
           PRIu64 ", stall %" PRIu32 " s, max track %" PRIu64 " bytes, max attempts %" PRIu32
           ", progress in %s", p->concurrency, p->api_url_log,
           p->auth[0] ? " (with auth header)" : "", p->keep_slots, p->stall_s,
           p->max_track_bytes, p->max_attempts, pin_db_path);
    return p;
fail:
    sb_pin_stop(p);
    return NULL;
}
