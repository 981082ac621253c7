/* pin-internal.h - what the pin worker's files share (protocol.md §10): the worker state, the
 * batch sizes, and the clock / wake-up / gauge helpers. Not a public API: pin.h is.
 *   pin.c        start, notify, stop; the helpers below
 *   pin_worker.c ingest of committed slots and the job loop (pin.concurrency threads)
 *   pin_house.c  housekeeping: start-up reconcile with Kubo and retention (one thread)
 *   pin_sched.c  the pure schedule (backoff, state machine); pin_store*.c the database
 */
#ifndef SB_NODE_PIN_INTERNAL_H
#define SB_NODE_PIN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kubo.h"
#include "pin.h"
#include "pin_store.h"

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

typedef struct worker worker;

struct sb_pin {
    char api_url[512];
    char api_url_log[512]; /* api_url with any password masked */
    char auth[1024];       /* auth header line or ""; never logged */
    uint32_t timeout_s, concurrency, max_attempts, stall_s;
    uint64_t keep_slots, max_track_bytes;

    sb_pinstore *ps;
    atomic_int stop;

    /* Commits notified vs. ingested: a worker ingests while they differ. */
    atomic_uint_fast64_t notified, ingested;
    pthread_mutex_t ingest_mu; /* one ingesting worker at a time (trylock) */
    size_t backfill_jobs, backfill_slots;

    pthread_mutex_t wake_mu; /* never held across I/O (sb_pin_notify takes it) */
    pthread_cond_t wake_cv;
    uint64_t wake_seq;
    int retention_due;

    pthread_mutex_t gauge_mu;
    int64_t gauge_at_ms;

    worker *w; /* concurrency workers, then the housekeeper */
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

/* CLOCK_REALTIME ms (next_try_ms, pinned_at_ms: node-local). */
int64_t sb_pin_now_ms(void);
/* CLOCK_MONOTONIC ms (durations). */
uint64_t sb_pin_mono_ms(void);
/* 1 once sb_pin_stop raised the stop flag. */
int sb_pin_stopping(const sb_pin *p);
/* Retry jitter in [-SB_PIN_JITTER_PERMILLE, +SB_PIN_JITTER_PERMILLE] from w's own generator. */
int32_t sb_pin_draw_jitter(worker *w);
/* Wake every thread; retention: also ask the housekeeper for a retention pass. */
void sb_pin_wake_all(sb_pin *p, int retention);
/* Sleep until woken (wake_seq != *seq; seq NULL: ignore wake-ups), `until_ms` (realtime; <= 0
 * for PIN_IDLE_MS), or stop. want_retention: also return when retention_due is set. */
void sb_pin_wait_wake(sb_pin *p, const uint64_t *seq, int64_t until_ms, int want_retention);
/* The wake-up counter now (pass its address to sb_pin_wait_wake). */
uint64_t sb_pin_wake_seq(sb_pin *p);
/* Set the sleetbubble_pin_jobs{state} gauges; at most once a second unless force. */
void sb_pin_refresh_gauges(sb_pin *p, int force);

/* Thread bodies (arg: the thread's worker). pin_worker.c: ingest and claim/run jobs until
 * stop; pin_house.c: reconcile once Kubo answers, then retention sweeps until stop. */
void *sb_pin_worker_main(void *arg);
void *sb_pin_house_main(void *arg);

#endif /* SB_NODE_PIN_INTERNAL_H */
