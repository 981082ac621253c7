/* pin.c - the pinning worker (SPEC §10). See pin.h for the contract.
 *
 * Layout of this file: the pure state machine and backoff first (no I/O), then a sorted
 * string set, the SQLite helpers, the job runner, the worker and housekeeping threads, and
 * start/notify/stop.
 *
 * Design notes (also in docs/ when the operator guide is written):
 * - Concurrency: one thread per pin.concurrency slot, each with a blocking libcurl easy handle
 *   and its own SQLite connection (simpler than curl_multi, and a stalled pin only occupies
 *   its own thread). A claim is an UPDATE ... WHERE state = 'queued' done under one in-process
 *   mutex, so two threads never run the same job.
 * - Every write is a single short statement or a short transaction: the store's writer holds
 *   BEGIN IMMEDIATE from FinalizeBlock to Commit, and we must never make it wait long.
 * - Times: next_try_ms and pinned_at_ms are CLOCK_REALTIME ms (node-local); the watchdog in
 *   kubo.c uses CLOCK_MONOTONIC.
 * - Latency metric: time from the claim of the successful attempt to pinned (the schema has
 *   no queued-at column; for a job pinned on its first try this is queued -> pinned up to
 *   the worker's pick-up delay).
 * - Retention (pin.keep_slots > 0): the kept slots are the newest keep_slots finalized slots
 *   that have a winner (SUPERMAJORITY, FALLBACK or REPEAT; NONE slots hold nothing to keep).
 *   Their CIDs (manifest_cid, and the tracks of proposals.body decoded with protobuf-c; a
 *   REPEAT row carries the proposal_id and manifest_cid of the slot it copies) form the kept
 *   set, recomputed from `slots` each time rather than kept in a side table, so it can never
 *   drift from the state. Any job whose CID is outside the kept set is unpinned in Kubo and
 *   its row deleted; a CID shared with a kept slot is in the kept set, so it stays. While a
 *   CID is being unpinned no worker may claim it; after the pin/rm calls the kept set is
 *   recomputed under BEGIN IMMEDIATE and a CID that a Commit referenced again in the meantime
 *   is re-queued instead of deleted.
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
#include <sqlite3.h>

#include "cid.h"
#include "kubo.h"
#include "log.h"
#include "metrics.h"
#include "sleetbubble/v1/tx.pb-c.h"

/* Longest CID string a job may hold (track CIDs are validated to < SB_CID_STR_MAX). */
#define PIN_CID_MAX 128
/* SQLite busy timeout of the worker's connections, ms. */
#define PIN_BUSY_MS 10000
/* Longest idle sleep of a worker without a wake-up, ms. */
#define PIN_IDLE_MS 60000
/* Period of the retention sweep besides "after a manifest was pinned", ms. */
#define PIN_SWEEP_MS 600000
/* Jobs looked at per claim. */
#define PIN_CLAIM_BATCH 64

/* ==== pure: backoff and state machine ==================================================== */

uint64_t sb_pin_backoff_ms(uint32_t attempt, int32_t jitter_permille)
{
    if (attempt == 0)
        attempt = 1;
    if (jitter_permille > SB_PIN_JITTER_PERMILLE)
        jitter_permille = SB_PIN_JITTER_PERMILLE;
    if (jitter_permille < -SB_PIN_JITTER_PERMILLE)
        jitter_permille = -SB_PIN_JITTER_PERMILLE;
    uint64_t d = SB_PIN_BACKOFF_CAP_MS;
    if (attempt - 1 < 20) {
        d = (uint64_t)SB_PIN_BACKOFF_BASE_MS << (attempt - 1);
        if (d > SB_PIN_BACKOFF_CAP_MS)
            d = SB_PIN_BACKOFF_CAP_MS;
    }
    d = d * (uint64_t)(1000 + jitter_permille) / 1000u;
    if (d > SB_PIN_BACKOFF_CAP_MS)
        d = SB_PIN_BACKOFF_CAP_MS;
    if (d < SB_PIN_BACKOFF_MIN_MS)
        d = SB_PIN_BACKOFF_MIN_MS;
    return d;
}

static const char *const state_names[SB_PIN_NSTATES] = {"queued", "pinning", "pinned",
                                                         "failed"};

const char *sb_pin_state_name(sb_pin_state s)
{
    return (unsigned)s < SB_PIN_NSTATES ? state_names[s] : "?";
}

int sb_pin_state_parse(const char *name)
{
    for (int i = 0; name && i < SB_PIN_NSTATES; i++)
        if (strcmp(name, state_names[i]) == 0)
            return i;
    return -1;
}

int sb_pin_transition(const sb_pin_job_state *in, sb_pin_event ev, int64_t now_ms,
                      uint32_t max_attempts, int32_t jitter_permille, sb_pin_job_state *out)
{
    sb_pin_job_state r = *in;
    uint32_t n = in->attempts == UINT32_MAX ? UINT32_MAX : in->attempts + 1;
    switch (ev) {
    case SB_PIN_EV_CLAIM:
        if (in->state != SB_PIN_QUEUED || in->next_try_ms > now_ms)
            return -1;
        r.state = SB_PIN_PINNING;
        break;
    case SB_PIN_EV_SUCCESS:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_PINNED;
        r.attempts = n;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_RETRY:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.attempts = n;
        if (max_attempts != 0 && n >= max_attempts) {
            r.state = SB_PIN_FAILED;
            r.next_try_ms = 0;
        } else {
            r.state = SB_PIN_QUEUED;
            r.next_try_ms = now_ms + (int64_t)sb_pin_backoff_ms(n, jitter_permille);
        }
        break;
    case SB_PIN_EV_FATAL:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_FAILED;
        r.attempts = n;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_ABORT:
    case SB_PIN_EV_RESTART:
        if (in->state != SB_PIN_PINNING)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.next_try_ms = now_ms;
        break;
    case SB_PIN_EV_MISSING:
        if (in->state != SB_PIN_PINNED)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.attempts = 0;
        r.next_try_ms = now_ms;
        break;
    case SB_PIN_EV_FOUND:
        if (in->state != SB_PIN_QUEUED)
            return -1;
        r.state = SB_PIN_PINNED;
        r.next_try_ms = 0;
        break;
    case SB_PIN_EV_REQUEUE:
        if (in->state != SB_PIN_FAILED)
            return -1;
        r.state = SB_PIN_QUEUED;
        r.attempts = 0;
        r.next_try_ms = now_ms;
        break;
    default:
        return -1;
    }
    *out = r;
    return 0;
}

/* ==== a sorted set of strings ============================================================= */

typedef struct strset {
    char **v;
    size_t n, cap;
    int sorted;
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
    s->sorted = 0;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates; call before strset_has. */
static void strset_seal(strset *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), cmp_str);
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (j && strcmp(s->v[j - 1], s->v[i]) == 0) {
            free(s->v[i]);
            continue;
        }
        s->v[j++] = s->v[i];
    }
    s->n = j;
    s->sorted = 1;
}

static int strset_has(const strset *s, const char *str)
{
    if (!s->n)
        return 0;
    return bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void strset_clear(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
    s->sorted = 1;
}

static void strset_free(strset *s)
{
    strset_clear(s);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int strset_add_cb(void *arg, const char *cid) { return strset_add(arg, cid) < 0; }

/* ==== state ================================================================================ */

typedef struct worker worker;

struct sb_pin {
    char api_url[512];
    char auth[1024];             /* auth header line or ""; never logged */
    uint32_t timeout_s, concurrency, max_attempts, stall_s;
    uint64_t keep_slots, max_track_bytes;
    char *db_path;

    atomic_int stop;

    pthread_mutex_t mu;          /* claims and the unpinning set */
    strset unpinning;            /* CIDs retention is removing: not claimable */

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
    sqlite3 *db;
    sb_kubo *k;
    pthread_t th;
    int started;
    uint64_t rng;
};

typedef struct job {
    char cid[PIN_CID_MAX];
    int kind;
    int64_t slot;
    sb_pin_job_state st;
} job;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(const sb_pin *p) { return atomic_load(&p->stop) != 0; }

static int32_t draw_jitter(worker *w)
{
    /* xorshift64*: node-local randomness is fine for jitter (SPEC §10). */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (int32_t)((x * 2685821657736338717ull) % (2 * SB_PIN_JITTER_PERMILLE + 1)) -
           SB_PIN_JITTER_PERMILLE;
}

/* ==== SQLite helpers ======================================================================= */

static void log_db(sqlite3 *db, const char *what)
{
    sb_log(SB_LOG_ERROR, "pin", "database: %s: %s", what, sqlite3_errmsg(db));
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        log_db(db, sql);
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

/* Step a write statement to completion and finalize it; retries SQLITE_BUSY a few times
 * (the busy timeout already waited PIN_BUSY_MS each time). Returns changes or -1. */
static int step_write(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    int rc;
    for (int i = 0; i < 6; i++) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_reset(s);
    }
    if (rc != SQLITE_DONE) {
        log_db(db, what);
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    return sqlite3_changes(db);
}

static int exec(sqlite3 *db, const char *sql)
{
    int rc;
    for (int i = 0; i < 6; i++) {
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
    }
    if (rc != SQLITE_OK) {
        log_db(db, sql);
        return -1;
    }
    return 0;
}

static void rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

static int db_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, PIN_BUSY_MS);
    /* The store created the schema (WAL mode is a property of the file). */
    if (sqlite3_prepare_v2(db, "SELECT cid, kind, slot, state, attempts, next_try_ms, "
                               "last_error, pinned_at_ms, bytes FROM pin_jobs LIMIT 0",
                           -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: no usable pin_jobs table: %s", path, sqlite3_errmsg(db));
        sqlite3_finalize(s);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_finalize(s);
    *out = db;
    return 0;
}

/* Set the sleetbubble_pin_jobs{state} gauges from the table; at most once a second unless
 * force. */
static void refresh_gauges(worker *w, int force)
{
    sb_pin *p = w->p;
    int64_t now = now_ms();
    pthread_mutex_lock(&p->gauge_mu);
    int due = force || now - p->gauge_at_ms >= 1000 || now < p->gauge_at_ms;
    if (due)
        p->gauge_at_ms = now;
    pthread_mutex_unlock(&p->gauge_mu);
    if (!due)
        return;
    int64_t n[SB_PIN_NSTATES] = {0};
    sqlite3_stmt *s = prep(w->db, "SELECT state, count(*) FROM pin_jobs GROUP BY state");
    if (!s)
        return;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int st = sb_pin_state_parse((const char *)sqlite3_column_text(s, 0));
        if (st >= 0)
            n[st] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    for (int i = 0; i < SB_PIN_NSTATES; i++)
        sb_metrics_pin_jobs(state_names[i], n[i]);
}

/* ---- kept slots ----------------------------------------------------------------------- */

/* Called for each CID of each kept slot: kind 1 manifest (mslot: the slot whose row holds the
 * manifest bytes) or 2 track. Returns 0 to go on. */
typedef int (*kept_fn)(void *arg, sqlite3 *db, const char *cid, int kind, int64_t slot,
                       int64_t mslot);

/* Visit the newest `keep` finalized slots with a winner (0 = all), newest first. Returns 0 or
 * -1 (database error, or fn failed). */
static int each_kept_cid(sqlite3 *db, uint64_t keep, kept_fn fn, void *arg)
{
    int ret = -1;
    sqlite3_stmt *s = prep(db, "SELECT slot, outcome, manifest_cid, proposal_id FROM slots "
                               "WHERE outcome IN (1, 2, 3) ORDER BY slot DESC LIMIT ?");
    sqlite3_stmt *b = prep(db, "SELECT body FROM proposals WHERE id = ?");
    sqlite3_stmt *m = prep(db, "SELECT slot FROM slots WHERE manifest_cid = ? AND manifest "
                               "IS NOT NULL ORDER BY slot DESC LIMIT 1");
    if (!s || !b || !m)
        goto done;
    sqlite3_bind_int64(s, 1, keep ? (sqlite3_int64)keep : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t slot = sqlite3_column_int64(s, 0);
        const void *mc = sqlite3_column_blob(s, 2);
        int mclen = sqlite3_column_bytes(s, 2);
        const void *pid = sqlite3_column_blob(s, 3);
        int pidlen = sqlite3_column_bytes(s, 3);
        char cid[SB_CID_STR_MAX];
        if (mc && mclen > 0 && mclen <= SB_CID_BIN_MAX &&
            sb_cid_to_string(mc, (size_t)mclen, cid, sizeof(cid)) == 0) {
            int64_t mslot = slot;
            sqlite3_reset(m);
            sqlite3_bind_blob(m, 1, mc, mclen, SQLITE_TRANSIENT);
            if (sqlite3_step(m) == SQLITE_ROW)
                mslot = sqlite3_column_int64(m, 0);
            if (fn(arg, db, cid, 1, slot, mslot) != 0)
                goto done;
        } else {
            sb_log(SB_LOG_WARN, "pin", "slot %" PRId64 ": no usable manifest_cid", slot);
        }
        if (!pid || pidlen != 32)
            continue;
        sqlite3_reset(b);
        sqlite3_bind_blob(b, 1, pid, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(b) != SQLITE_ROW) {
            sb_log(SB_LOG_WARN, "pin", "slot %" PRId64 ": winning proposal body missing", slot);
            continue;
        }
        Sleetbubble__V1__ProposalBody *pb = sleetbubble__v1__proposal_body__unpack(
            NULL, (size_t)sqlite3_column_bytes(b, 0), sqlite3_column_blob(b, 0));
        if (!pb) {
            sb_log(SB_LOG_WARN, "pin", "slot %" PRId64 ": winning proposal body undecodable",
                   slot);
            continue;
        }
        int bad = 0;
        for (size_t i = 0; pb->playlist && i < pb->playlist->n_tracks && !bad; i++) {
            const char *t = pb->playlist->tracks[i]->cid;
            if (t && t[0] && strlen(t) < PIN_CID_MAX)
                bad = fn(arg, db, t, 2, slot, slot) != 0;
        }
        sleetbubble__v1__proposal_body__free_unpacked(pb, NULL);
        if (bad)
            goto done;
    }
    if (rc != SQLITE_DONE) {
        log_db(db, "kept slots");
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(s);
    sqlite3_finalize(b);
    sqlite3_finalize(m);
    return ret;
}

static int kept_add(void *arg, sqlite3 *db, const char *cid, int kind, int64_t slot,
                    int64_t mslot)
{
    return strset_add(arg, cid);
}

static int kept_set(sqlite3 *db, uint64_t keep, strset *out)
{
    strset_clear(out);
    if (each_kept_cid(db, keep, kept_add, out) < 0)
        return -1;
    strset_seal(out);
    return 0;
}

typedef struct backfill_ctx {
    sqlite3_stmt *ins;
    int added;
} backfill_ctx;

static int backfill_add(void *arg, sqlite3 *db, const char *cid, int kind, int64_t slot,
                        int64_t mslot)
{
    backfill_ctx *b = arg;
    sqlite3_reset(b->ins);
    sqlite3_bind_text(b->ins, 1, cid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(b->ins, 2, kind);
    sqlite3_bind_int64(b->ins, 3, kind == 1 ? mslot : slot);
    if (sqlite3_step(b->ins) != SQLITE_DONE) {
        log_db(db, "back-fill insert");
        return -1;
    }
    b->added += sqlite3_changes(db);
    return 0;
}

/* Start-up: pinning -> queued (SB_PIN_EV_RESTART), then back-fill jobs for kept slots. */
static int startup_db(sb_pin *p, sqlite3 *db, char *err, size_t errlen)
{
    backfill_ctx b = {0};
    int n;
    if (exec(db, "CREATE INDEX IF NOT EXISTS pin_jobs_by_state ON pin_jobs(state, "
                 "next_try_ms)") < 0 ||
        exec(db, "BEGIN IMMEDIATE") < 0)
        goto err;
    sqlite3_stmt *s = prep(db, "UPDATE pin_jobs SET state = 'queued', next_try_ms = ? "
                               "WHERE state = 'pinning'");
    if (!s)
        goto err;
    sqlite3_bind_int64(s, 1, now_ms());
    if ((n = step_write(db, s, "restart pinning jobs")) < 0)
        goto err;
    if (!(b.ins = prep(db, "INSERT OR IGNORE INTO pin_jobs (cid, kind, slot) VALUES (?, ?, ?)")))
        goto err;
    if (each_kept_cid(db, p->keep_slots, backfill_add, &b) < 0)
        goto err;
    sqlite3_finalize(b.ins);
    b.ins = NULL;
    if (exec(db, "COMMIT") < 0)
        goto err;
    if (n)
        sb_log(SB_LOG_INFO, "pin", "start-up: %d interrupted job(s) queued again", n);
    if (b.added)
        sb_log(SB_LOG_INFO, "pin", "start-up: back-filled %d job(s) from kept slots", b.added);
    return 0;
err:
    sqlite3_finalize(b.ins);
    snprintf(err, errlen, "%s: start-up update failed: %s", p->db_path, sqlite3_errmsg(db));
    rollback(db);
    return -1;
}

/* ==== the worker's jobs ==================================================================== */

static void wake_all(sb_pin *p, int retention)
{
    pthread_mutex_lock(&p->wake_mu);
    p->wake_seq++;
    if (retention)
        p->retention_due = 1;
    pthread_cond_broadcast(&p->wake_cv);
    pthread_mutex_unlock(&p->wake_mu);
}

/* Claim the first due queued job not being unpinned. 1 claimed, 0 none, -1 error.
 * The candidates are read first and the read statement reset before any UPDATE: upgrading
 * an open read snapshot to a write fails at once (SQLITE_BUSY_SNAPSHOT) when another
 * connection committed meanwhile, without waiting for the busy timeout. */
static int claim(worker *w, job *j)
{
    sb_pin *p = w->p;
    int ret = -1, rc = SQLITE_DONE;
    int64_t now = now_ms();
    job *c = calloc(PIN_CLAIM_BATCH, sizeof(*c));
    size_t n = 0;
    if (!c)
        return -1;
    pthread_mutex_lock(&p->mu);
    sqlite3_stmt *s = prep(w->db, "SELECT cid, kind, slot, attempts, next_try_ms FROM pin_jobs "
                                  "WHERE state = 'queued' AND next_try_ms <= ? "
                                  "ORDER BY slot DESC, rowid LIMIT ?");
    sqlite3_stmt *u = prep(w->db, "UPDATE pin_jobs SET state = 'pinning' "
                                  "WHERE cid = ? AND state = 'queued'");
    if (!s || !u)
        goto done;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, PIN_CLAIM_BATCH);
    while (n < PIN_CLAIM_BATCH && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(s, 0);
        if (!cid || strlen(cid) >= sizeof(c->cid) || strset_has(&p->unpinning, cid))
            continue;
        job *x = &c[n];
        memcpy(x->cid, cid, strlen(cid) + 1);
        x->kind = sqlite3_column_int(s, 1);
        x->slot = sqlite3_column_int64(s, 2);
        int64_t a = sqlite3_column_int64(s, 3);
        x->st.attempts = a < 0 ? 0 : a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
        x->st.next_try_ms = sqlite3_column_int64(s, 4);
        x->st.state = SB_PIN_QUEUED;
        if (sb_pin_transition(&x->st, SB_PIN_EV_CLAIM, now, p->max_attempts, 0, &x->st) == 0)
            n++;
    }
    if (n == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_db(w->db, "claim select");
        goto done;
    }
    sqlite3_reset(s); /* end the read before writing */
    ret = 0;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(u);
        sqlite3_bind_text(u, 1, c[i].cid, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(u);
        if (rc != SQLITE_DONE) {
            log_db(w->db, "claim");
            ret = -1;
            break;
        }
        if (sqlite3_changes(w->db) == 1) {
            *j = c[i];
            ret = 1;
            break;
        }
    }
done:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    pthread_mutex_unlock(&p->mu);
    free(c);
    return ret;
}

/* Record the end of an attempt: apply `ev` and write the row (only if still ours, i.e.
 * state = 'pinning'). reason/msg: failure text (NULL on success/abort). */
static void finish(worker *w, job *j, sb_pin_event ev, const char *reason, const char *msg,
                   uint64_t bytes, uint64_t took_ms)
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
    sqlite3_stmt *s = prep(w->db,
                           "UPDATE pin_jobs SET state = ?1, attempts = ?2, next_try_ms = ?3, "
                           "last_error = CASE WHEN ?1 = 'pinned' THEN NULL "
                           "  WHEN ?4 IS NULL THEN last_error ELSE ?4 END, "
                           "pinned_at_ms = CASE WHEN ?1 = 'pinned' THEN ?5 ELSE pinned_at_ms END, "
                           "bytes = CASE WHEN ?6 > 0 THEN ?6 ELSE bytes END "
                           "WHERE cid = ?7 AND state = 'pinning'");
    if (!s)
        return;
    sqlite3_bind_text(s, 1, sb_pin_state_name(out.state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, out.attempts);
    sqlite3_bind_int64(s, 3, out.next_try_ms);
    if (reason)
        sqlite3_bind_text(s, 4, last, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int64(s, 6, bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes);
    sqlite3_bind_text(s, 7, j->cid, -1, SQLITE_TRANSIENT);
    if (step_write(w->db, s, "record job result") < 0)
        return;

    const char *what = j->kind == 1 ? "manifest" : "track";
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
                   " failed: %s; retry in %.1f s", what, j->cid, j->slot, out.attempts, last,
                   (double)(out.next_try_ms - now) / 1000.0);
        break;
    default:
        sb_log(SB_LOG_INFO, "pin", "%s %s of slot %" PRId64 ": interrupted, queued again", what,
               j->cid, j->slot);
        break;
    }
    refresh_gauges(w, 0);
    if (ev == SB_PIN_EV_SUCCESS && j->kind == 1 && p->keep_slots)
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

/* Find the manifest bytes whose dag-json CID is `cid`: the job's slot row first, then any
 * row whose manifest_cid has that string form. *out malloc'd. 1 found, 0 not, -1 error. */
static int load_manifest(sqlite3 *db, const char *cid, int64_t slot, uint8_t **out,
                         size_t *len)
{
    sqlite3_stmt *s[2] = {
        prep(db, "SELECT manifest_cid, manifest FROM slots WHERE slot = ? AND manifest IS NOT NULL"),
        prep(db, "SELECT manifest_cid, manifest FROM slots WHERE manifest IS NOT NULL "
                 "ORDER BY slot DESC"),
    };
    int ret = -1;
    if (!s[0] || !s[1])
        goto done;
    sqlite3_bind_int64(s[0], 1, slot);
    ret = 0;
    for (int q = 0; q < 2 && ret == 0; q++) {
        while (sqlite3_step(s[q]) == SQLITE_ROW) {
            const uint8_t *mc = sqlite3_column_blob(s[q], 0);
            int mclen = sqlite3_column_bytes(s[q], 0);
            const uint8_t *mb = sqlite3_column_blob(s[q], 1);
            size_t ml = (size_t)sqlite3_column_bytes(s[q], 1);
            char str[SB_CID_STR_MAX];
            uint8_t bin[37];
            if (!mb)
                continue;
            /* The recorded CID must name the job (cheap), and the bytes must hash to it. */
            if (!mc || mclen <= 0 || mclen > SB_CID_BIN_MAX ||
                sb_cid_to_string(mc, (size_t)mclen, str, sizeof(str)) < 0 || strcmp(str, cid))
                continue;
            sb_cid_dagjson(mb, ml, bin);
            if (sb_cid_to_string(bin, sizeof(bin), str, sizeof(str)) < 0 || strcmp(str, cid))
                continue;
            if (!(*out = malloc(ml ? ml : 1))) {
                ret = -1;
                break;
            }
            memcpy(*out, mb, ml);
            *len = ml;
            ret = 1;
            break;
        }
    }
done:
    sqlite3_finalize(s[0]);
    sqlite3_finalize(s[1]);
    return ret;
}

static void run_manifest(worker *w, job *j, uint64_t t0)
{
    uint8_t *m = NULL;
    size_t mlen = 0;
    char key[PIN_CID_MAX];
    sb_kubo_err e = {0};
    int f = load_manifest(w->db, j->cid, j->slot, &m, &mlen);
    if (f <= 0) {
        finish(w, j, f < 0 ? SB_PIN_EV_RETRY : SB_PIN_EV_FATAL, f < 0 ? "database" : "manifest_missing",
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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t1 = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    finish(w, j, event_for(rc), rc ? sb_kubo_reason(rc) : NULL, rc ? e.msg : NULL, mlen,
           t1 - t0);
}

static void run_track(worker *w, job *j, uint64_t t0)
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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t1 = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    finish(w, j, event_for(rc), rc ? sb_kubo_reason(rc) : NULL, rc ? e.msg : NULL, bytes,
           t1 - t0);
}

static void run_job(worker *w, job *j)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t0 = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    refresh_gauges(w, 0);
    if (j->kind == 1)
        run_manifest(w, j, t0);
    else if (j->kind == 2)
        run_track(w, j, t0);
    else
        finish(w, j, SB_PIN_EV_FATAL, "bad_argument", "unknown job kind", 0, 0);
}

/* Sleep until woken (wake_seq != *seq; seq NULL: ignore wake-ups), `until_ms` (realtime; <= 0
 * for PIN_IDLE_MS), or stop. want_retention: also return when retention_due is set. */
static void wait_wake(sb_pin *p, const uint64_t *seq, int64_t until_ms, int want_retention)
{
    int64_t now = now_ms();
    int64_t d = until_ms > 0 ? until_ms - now : PIN_IDLE_MS;
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

/* Earliest next_try_ms of a queued job, or 0 if none. */
static int64_t next_due(worker *w)
{
    int64_t t = 0;
    sqlite3_stmt *s = prep(w->db, "SELECT min(next_try_ms) FROM pin_jobs WHERE state = 'queued'");
    if (s && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
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
        job j;
        int r = claim(w, &j);
        if (r == 1) {
            run_job(w, &j);
            worked = 1;
            continue;
        }
        if (worked) /* going idle after work: make the gauges exact */
            refresh_gauges(w, 1);
        worked = 0;
        wait_wake(p, &seq, r < 0 ? now_ms() + 1000 : next_due(w), 0);
    }
    return NULL;
}

/* ==== housekeeping: reconcile and retention ================================================ */

typedef struct snap {
    char cid[PIN_CID_MAX];
    int kind;
    sb_pin_state state;
    int64_t pinned_at;
    int pinned_at_null;
} snap;

/* Start-up reconcile (SPEC §10): a pinned job whose CID Kubo no longer pins goes back to
 * queued; a queued job Kubo already pins is marked pinned. Only rows read before the pin
 * listings are judged, and only if unchanged since (so a pin completed meanwhile is not
 * undone). Returns 0, or -1 (Kubo or database error; try again later). */
static int reconcile(worker *w)
{
    sb_pin *p = w->p;
    snap *v = NULL;
    size_t n = 0, cap = 0;
    strset rec = {0}, dir = {0};
    sb_kubo_err e;
    int ret = -1, missing = 0, found = 0;
    sqlite3_stmt *s = prep(w->db, "SELECT cid, kind, state, pinned_at_ms FROM pin_jobs "
                                  "WHERE state IN ('pinned', 'queued')");
    if (!s)
        goto done;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(s, 0);
        if (!cid || strlen(cid) >= PIN_CID_MAX)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            snap *nv = realloc(v, nc * sizeof(*nv));
            if (!nv)
                goto done;
            v = nv;
            cap = nc;
        }
        memcpy(v[n].cid, cid, strlen(cid) + 1);
        v[n].kind = sqlite3_column_int(s, 1);
        v[n].state = sb_pin_state_parse((const char *)sqlite3_column_text(s, 2)) ==
                             SB_PIN_PINNED ? SB_PIN_PINNED : SB_PIN_QUEUED;
        v[n].pinned_at_null = sqlite3_column_type(s, 3) == SQLITE_NULL;
        v[n].pinned_at = sqlite3_column_int64(s, 3);
        n++;
    }
    sqlite3_finalize(s);
    s = NULL;
    if (sb_kubo_pin_ls(w->k, "recursive", strset_add_cb, &rec, &e) != SB_KUBO_OK ||
        sb_kubo_pin_ls(w->k, "direct", strset_add_cb, &dir, &e) != SB_KUBO_OK) {
        sb_log(SB_LOG_WARN, "pin", "reconcile: %s (will retry)", e.msg);
        goto done;
    }
    strset_seal(&rec);
    strset_seal(&dir);
    if (exec(w->db, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_stmt *miss = prep(w->db, "UPDATE pin_jobs SET state = 'queued', attempts = 0, "
                                     "next_try_ms = ?, last_error = 'missing: no longer pinned "
                                     "in Kubo (start-up reconcile)' WHERE cid = ? AND "
                                     "state = 'pinned' AND pinned_at_ms IS ?");
    sqlite3_stmt *have = prep(w->db, "UPDATE pin_jobs SET state = 'pinned', pinned_at_ms = ?, "
                                     "last_error = NULL, next_try_ms = 0 "
                                     "WHERE cid = ? AND state = 'queued'");
    int64_t now = now_ms();
    int bad = !miss || !have;
    for (size_t i = 0; i < n && !bad; i++) {
        int present = strset_has(&rec, v[i].cid) || (v[i].kind == 1 && strset_has(&dir, v[i].cid));
        sb_pin_job_state st = {v[i].state, 0, 0}, out;
        sqlite3_stmt *u = NULL;
        if (v[i].state == SB_PIN_PINNED && !present &&
            sb_pin_transition(&st, SB_PIN_EV_MISSING, now, 0, 0, &out) == 0) {
            u = miss;
            sqlite3_reset(u);
            sqlite3_bind_int64(u, 1, out.next_try_ms);
            if (v[i].pinned_at_null)
                sqlite3_bind_null(u, 3);
            else
                sqlite3_bind_int64(u, 3, v[i].pinned_at);
        } else if (v[i].state == SB_PIN_QUEUED && present &&
                   sb_pin_transition(&st, SB_PIN_EV_FOUND, now, 0, 0, &out) == 0) {
            u = have;
            sqlite3_reset(u);
            sqlite3_bind_int64(u, 1, now);
        }
        if (!u)
            continue;
        sqlite3_bind_text(u, 2, v[i].cid, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(u) != SQLITE_DONE) {
            log_db(w->db, "reconcile update");
            bad = 1;
        } else if (sqlite3_changes(w->db) == 1) {
            if (u == miss) {
                missing++;
                sb_log(SB_LOG_WARN, "pin", "reconcile: %s %s is no longer pinned in Kubo: queued "
                       "again", v[i].kind == 1 ? "manifest" : "track", v[i].cid);
            } else {
                found++;
            }
        }
    }
    sqlite3_finalize(miss);
    sqlite3_finalize(have);
    if (bad || exec(w->db, "COMMIT") < 0) {
        rollback(w->db);
        goto done;
    }
    sb_log(SB_LOG_INFO, "pin", "reconcile with Kubo: %zu job(s) checked, %d re-queued (missing), "
           "%d already pinned", n, missing, found);
    ret = 0;
done:
    sqlite3_finalize(s);
    free(v);
    strset_free(&rec);
    strset_free(&dir);
    if (missing || found)
        wake_all(p, 0);
    refresh_gauges(w, 1);
    return ret;
}

/* Retention (pin.keep_slots > 0): see the header comment of this file. Returns 0, or -1 if
 * something is left for the next sweep. */
static int retention(worker *w)
{
    sb_pin *p = w->p;
    strset kept = {0};
    strset cand = {0};
    int ret = -1, removed = 0, requeued = 0, left = 0;
    char *ok = NULL;

    pthread_mutex_lock(&p->mu);
    if (exec(w->db, "BEGIN") < 0) {
        pthread_mutex_unlock(&p->mu);
        goto done;
    }
    int bad = kept_set(w->db, p->keep_slots, &kept) < 0;
    sqlite3_stmt *s = bad ? NULL : prep(w->db, "SELECT cid FROM pin_jobs WHERE state != 'pinning'");
    bad |= !s;
    while (!bad && sqlite3_step(s) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(s, 0);
        if (cid && !strset_has(&kept, cid) && strlen(cid) < PIN_CID_MAX &&
            (strset_add(&cand, cid) < 0 || strset_add(&p->unpinning, cid) < 0))
            bad = 1;
    }
    sqlite3_finalize(s);
    rollback(w->db); /* read-only transaction */
    strset_seal(&p->unpinning);
    pthread_mutex_unlock(&p->mu);
    if (bad)
        goto release;
    if (cand.n == 0) {
        ret = 0;
        goto release;
    }
    strset_seal(&cand);
    if (!(ok = calloc(cand.n, 1)))
        goto release;
    for (size_t i = 0; i < cand.n && !stopping(p); i++) {
        sb_kubo_err e;
        int was = 0;
        if (sb_kubo_pin_rm(w->k, cand.v[i], &was, &e) == SB_KUBO_OK) {
            ok[i] = 1;
            if (was)
                sb_log(SB_LOG_INFO, "pin", "retention: unpinned %s (no kept slot references it)",
                       cand.v[i]);
        } else {
            left++;
            sb_log(SB_LOG_WARN, "pin", "retention: %s (will retry)", e.msg);
        }
    }

release:
    pthread_mutex_lock(&p->mu);
    if (ok && exec(w->db, "BEGIN IMMEDIATE") == 0) {
        int fail = kept_set(w->db, p->keep_slots, &kept) < 0;
        sqlite3_stmt *del = fail ? NULL : prep(w->db, "DELETE FROM pin_jobs WHERE cid = ? AND "
                                                      "state != 'pinning'");
        sqlite3_stmt *req = fail ? NULL : prep(w->db, "UPDATE pin_jobs SET state = 'queued', "
                                                      "attempts = 0, next_try_ms = 0, "
                                                      "last_error = NULL WHERE cid = ? AND "
                                                      "state != 'pinning'");
        fail |= !del || !req;
        for (size_t i = 0; i < cand.n && !fail; i++) {
            if (!ok[i])
                continue;
            int keep = strset_has(&kept, cand.v[i]);
            sqlite3_stmt *u = keep ? req : del;
            sqlite3_reset(u);
            sqlite3_bind_text(u, 1, cand.v[i], -1, SQLITE_TRANSIENT);
            if (sqlite3_step(u) != SQLITE_DONE) {
                log_db(w->db, "retention update");
                fail = 1;
            } else if (sqlite3_changes(w->db)) {
                keep ? requeued++ : removed++;
            }
        }
        sqlite3_finalize(del);
        sqlite3_finalize(req);
        if (fail || exec(w->db, "COMMIT") < 0) {
            rollback(w->db);
            left++;
        } else if (!left && !stopping(p)) {
            ret = 0;
        }
    }
    strset_clear(&p->unpinning);
    pthread_mutex_unlock(&p->mu);
    if (removed || requeued)
        sb_log(SB_LOG_INFO, "pin", "retention (keep_slots = %" PRIu64 "): %d job(s) removed, "
               "%d re-queued (referenced again)", p->keep_slots, removed, requeued);
    wake_all(p, 0);
done:
    free(ok);
    strset_free(&kept);
    strset_free(&cand);
    refresh_gauges(w, 1);
    return ret;
}

static void *house_main(void *arg)
{
    worker *w = arg;
    sb_pin *p = w->p;
    int reconciled = 0, down_logged = 0;
    uint32_t down = 0;
    int64_t next_sweep = 0;
    while (!stopping(p)) {
        uint64_t seq = wake_seq(p);
        if (!reconciled) {
            sb_kubo_err e;
            if (sb_kubo_health(w->k, &e) != SB_KUBO_OK) {
                if (!down_logged)
                    sb_log(SB_LOG_WARN, "pin", "Kubo not answering at %s: %s; jobs wait and "
                           "retry until it is back", p->api_url, e.msg);
                down_logged = 1;
                wait_wake(p, NULL, now_ms() + (int64_t)sb_pin_backoff_ms(++down, 0), 0);
                continue;
            }
            if (down_logged)
                sb_log(SB_LOG_INFO, "pin", "Kubo answers again at %s", p->api_url);
            down = 0;
            down_logged = 0;
            if (reconcile(w) < 0) {
                wait_wake(p, NULL, now_ms() + 5000, 0);
                continue;
            }
            reconciled = 1;
            next_sweep = 0; /* retention once after reconcile */
        }
        int due = 0;
        pthread_mutex_lock(&p->wake_mu);
        due = p->retention_due;
        p->retention_due = 0;
        pthread_mutex_unlock(&p->wake_mu);
        if (p->keep_slots && (due || now_ms() >= next_sweep)) {
            retention(w);
            next_sweep = now_ms() + PIN_SWEEP_MS;
        }
        wait_wake(p, &seq, p->keep_slots ? next_sweep : 0, 1);
    }
    return NULL;
}

/* ==== start / notify / stop ================================================================ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void sb_pin_notify(sb_pin *p, int64_t height)
{
    if (p)
        wake_all(p, 0);
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
    for (size_t i = 0; i < p->nw; i++) {
        sb_kubo_free(p->w[i].k);
        sqlite3_close(p->w[i].db);
    }
    free(p->w);
    strset_free(&p->unpinning);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->wake_mu);
    pthread_cond_destroy(&p->wake_cv);
    pthread_mutex_destroy(&p->gauge_mu);
    explicit_bzero(p->auth, sizeof(p->auth));
    free(p->db_path);
    free(p);
}

sb_pin *sb_pin_start(const sb_config *cfg, const char *db_path, char *err, size_t errlen)
{
    sb_pin *p = calloc(1, sizeof(*p));
    if (!p || !(p->db_path = strdup(db_path))) {
        snprintf(err, errlen, "out of memory");
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->wake_mu, NULL);
    pthread_mutex_init(&p->gauge_mu, NULL);
    pthread_cond_init(&p->wake_cv, NULL);
    atomic_init(&p->stop, 0);
    p->unpinning.sorted = 1;
    snprintf(p->api_url, sizeof(p->api_url), "%s", cfg->ipfs.api_url);
    p->timeout_s = cfg->ipfs.timeout_seconds ? cfg->ipfs.timeout_seconds : 60;
    p->concurrency = cfg->pin.concurrency ? cfg->pin.concurrency : 1;
    if (p->concurrency > 64)
        p->concurrency = 64;
    p->max_attempts = cfg->pin.max_attempts;
    p->stall_s = cfg->pin.stall_seconds ? cfg->pin.stall_seconds : 120;
    p->keep_slots = cfg->pin.keep_slots;
    p->max_track_bytes = cfg->pin.max_track_bytes;
    if (cfg->ipfs.auth_header_file[0] &&
        sb_kubo_read_auth_header(cfg->ipfs.auth_header_file, p->auth, sizeof(p->auth), err,
                                 errlen) < 0)
        goto fail;
    pthread_once(&curl_once, curl_init_once);

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
        if (db_open(db_path, &w->db, err, errlen) < 0)
            goto fail;
        sb_kubo_opts ko = {.api_url = p->api_url, .auth_header = p->auth,
                           .timeout_seconds = p->timeout_s, .cancel = &p->stop};
        char kerr[256];
        if (!(w->k = sb_kubo_new(&ko, kerr, sizeof(kerr)))) {
            snprintf(err, errlen, "%s", kerr);
            goto fail;
        }
    }
    if (startup_db(p, p->w[p->nw - 1].db, err, errlen) < 0)
        goto fail;
    refresh_gauges(&p->w[p->nw - 1], 1);
    for (size_t i = 0; i < p->nw; i++) {
        worker *w = &p->w[i];
        int rc = pthread_create(&w->th, NULL, w->housekeeper ? house_main : worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start pin thread: %s", strerror(rc));
            goto fail;
        }
        w->started = 1;
    }
    sb_log(SB_LOG_INFO, "pin", "worker started: %" PRIu32 " thread(s), Kubo %s%s, keep_slots %"
           PRIu64 ", stall %" PRIu32 " s, max track %" PRIu64 " bytes, max attempts %" PRIu32,
           p->concurrency, p->api_url, p->auth[0] ? " (with auth header)" : "", p->keep_slots,
           p->stall_s, p->max_track_bytes, p->max_attempts);
    return p;
fail:
    sb_pin_stop(p);
    return NULL;
}
