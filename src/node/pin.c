/* pin.c - the pinning worker (protocol.md §10): start, notify, stop and the helpers its threads
 * share. See pin.h for the contract and pin-internal.h for the files: the job loop is
 * pin_worker.c, housekeeping pin_house.c, the job database pin_store*.c, the pure schedule
 * pin_sched.c, the Kubo client kubo.c.
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
#include "pin-internal.h"
#include "pin_store.h"
#include "sb_url.h"

/* ==== helpers shared by the threads (pin-internal.h) ======================================= */

int64_t sb_pin_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t sb_pin_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int sb_pin_stopping(const sb_pin *p) { return atomic_load(&p->stop) != 0; }

int32_t sb_pin_draw_jitter(worker *w)
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

void sb_pin_wake_all(sb_pin *p, int retention)
{
    pthread_mutex_lock(&p->wake_mu);
    p->wake_seq++;
    if (retention)
        p->retention_due = 1;
    pthread_cond_broadcast(&p->wake_cv);
    pthread_mutex_unlock(&p->wake_mu);
}

void sb_pin_wait_wake(sb_pin *p, const uint64_t *seq, int64_t until_ms, int want_retention)
{
    int64_t d = until_ms > 0 ? until_ms - sb_pin_now_ms() : PIN_IDLE_MS;
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
    while ((!seq || p->wake_seq == *seq) && !sb_pin_stopping(p) &&
           !(want_retention && p->retention_due))
        if (pthread_cond_timedwait(&p->wake_cv, &p->wake_mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&p->wake_mu);
}

uint64_t sb_pin_wake_seq(sb_pin *p)
{
    pthread_mutex_lock(&p->wake_mu);
    uint64_t s = p->wake_seq;
    pthread_mutex_unlock(&p->wake_mu);
    return s;
}

void sb_pin_refresh_gauges(sb_pin *p, int force)
{
    int64_t now = sb_pin_now_ms();
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

/* ==== start / notify / stop ================================================================ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void sb_pin_notify(sb_pin *p, int64_t height)
{
    (void)height;
    if (!p)
        return;
    atomic_fetch_add(&p->notified, 1);
    sb_pin_wake_all(p, 0);
}

void sb_pin_stop(sb_pin *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    sb_pin_wake_all(p, 0);
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
        int rc = pthread_create(&w->th, NULL,
                                w->housekeeper ? sb_pin_house_main : sb_pin_worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start pin thread: %s", strerror(rc));
            return -1;
        }
        w->started = 1;
    }
    return 0;
}

sb_pin *sb_pin_start(const sb_config *cfg, const char *db_path, const char *pin_db_path, char *err,
                     size_t errlen)
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
    int n = sb_pinstore_restart(p->ps, sb_pin_now_ms());
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
            w->rng = ((uint64_t)sb_pin_now_ms() << 8) ^ (i + 1) ^ 0x9e3779b97f4a7c15ull;
        sb_kubo_opts ko = { .api_url = p->api_url,
                            .auth_header = p->auth,
                            .timeout_seconds = p->timeout_s,
                            .cancel = &p->stop };
        char kerr[256];
        if (!(w->k = sb_kubo_new(&ko, kerr, sizeof(kerr)))) {
            snprintf(err, errlen, "%s", kerr);
            goto fail;
        }
    }
    sb_pin_refresh_gauges(p, 1);
    if (start_threads(p, err, errlen) < 0)
        goto fail;
    sb_log(SB_LOG_INFO, "pin",
           "worker started: %" PRIu32 " thread(s), Kubo %s%s, keep_slots %" PRIu64
           ", stall %" PRIu32 " s, max track %" PRIu64 " bytes, max attempts %" PRIu32
           ", progress in %s",
           p->concurrency, p->api_url_log, p->auth[0] ? " (with auth header)" : "", p->keep_slots,
           p->stall_s, p->max_track_bytes, p->max_attempts, pin_db_path);
    return p;
fail:
    sb_pin_stop(p);
    return NULL;
}
