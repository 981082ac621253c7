/* pin_store.c - the pin worker's own database and its read-only view of the consensus one
 * (protocol.md §10). See pin_store.h for the contract. */
#include "pin_store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "db.h"
#include "log.h"
#include "sleetbubble/v1/tx.pb-c.h"
#include "store.h"
#include "tally.h"

/* Busy timeout, ms: pins.db has one connection that writes; the consensus file is only read
 * (a WAL reader waits only while a checkpoint restarts the log). */
#define PS_BUSY_MS 10000

struct sb_pinstore {
    pthread_mutex_t mu;
    sqlite3 *db;       /* pins.db, the only writer */
    sb_store *state;   /* consensus database, read-only; NULL for a query view */
};

static const char *schema =
    /* One transaction: a kill -9 during the first start leaves all of it or none. */
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE;"
    "CREATE TABLE IF NOT EXISTS jobs ("
    "  cid TEXT PRIMARY KEY, kind INTEGER NOT NULL, slot INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0, last_error TEXT, pinned_at_ms INTEGER,"
    "  bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs(state, next_try_ms);"
    "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, slot);"
    "CREATE TABLE IF NOT EXISTS refs (slot INTEGER NOT NULL, cid TEXT NOT NULL,"
    "  PRIMARY KEY (slot, cid)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS refs_by_cid ON refs(cid);"
    /* n: ingest order, so "all but the newest keep_slots" is a range, not an OFFSET scan. */
    "CREATE TABLE IF NOT EXISTS winners (n INTEGER PRIMARY KEY, slot INTEGER NOT NULL UNIQUE);"
    "CREATE TABLE IF NOT EXISTS doomed (cid TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS progress (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  high_water INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS job_counts (state TEXT PRIMARY KEY, n INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS jobs_ins AFTER INSERT ON jobs BEGIN"
    "  INSERT INTO job_counts (state, n) VALUES (new.state, 1)"
    "    ON CONFLICT(state) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS jobs_del AFTER DELETE ON jobs BEGIN"
    "  UPDATE job_counts SET n = n - 1 WHERE state = old.state; END;"
    "CREATE TRIGGER IF NOT EXISTS jobs_upd AFTER UPDATE OF state ON jobs"
    "  WHEN old.state != new.state BEGIN"
    "  UPDATE job_counts SET n = n - 1 WHERE state = old.state;"
    "  INSERT INTO job_counts (state, n) VALUES (new.state, 1)"
    "    ON CONFLICT(state) DO UPDATE SET n = n + 1; END;"
    "COMMIT;";

#define M "pin"

static void lock(sb_pinstore *ps) { pthread_mutex_lock(&ps->mu); }
static void unlock(sb_pinstore *ps) { pthread_mutex_unlock(&ps->mu); }

static void log_db(sqlite3 *db, const char *what)
{
    sb_log(SB_LOG_ERROR, M, "database: %s: %s", what, sqlite3_errmsg(db));
}

/* Step a statement that returns no rows; 0 or -1 (logged). Leaves it reset. */
static int run(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        log_db(db, what);
        return -1;
    }
    return 0;
}

int sb_pinstore_open(const char *pins_path, const char *state_path, sb_pinstore **out,
                     char *err, size_t errlen)
{
    sb_pinstore *ps = calloc(1, sizeof(*ps));
    *out = NULL;
    if (!ps) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_init(&ps->mu, NULL);
    if (sb_db_open(pins_path, state_path != NULL, PS_BUSY_MS, &ps->db, err, errlen) < 0)
        goto fail;
    if (state_path) {
        char *msg = NULL;
        if (sqlite3_exec(ps->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: cannot set up schema: %s", pins_path, msg ? msg : "?");
            sqlite3_free(msg);
            sb_db_rollback(ps->db);
            goto fail;
        }
        if (sb_store_open_readonly(state_path, &ps->state, err, errlen) < 0)
            goto fail;
    }
    *out = ps;
    return 0;
fail:
    sb_pinstore_close(ps);
    return -1;
}

void sb_pinstore_close(sb_pinstore *ps)
{
    if (!ps)
        return;
    sb_store_close(ps->state);
    sqlite3_close(ps->db);
    pthread_mutex_destroy(&ps->mu);
    free(ps);
}

int sb_pinstore_restart(sb_pinstore *ps, int64_t now_ms)
{
    int n = -1;
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "UPDATE jobs SET state = 'queued', next_try_ms = ? "
                                            "WHERE state = 'pinning'");
    if (s) {
        sqlite3_bind_int64(s, 1, now_ms);
        if (run(ps->db, s, "restart pinning jobs") == 0)
            n = sqlite3_changes(ps->db);
    }
    sqlite3_finalize(s);
    unlock(ps);
    return n;
}

/* ==== ingest ================================================================================ */

typedef struct item {
    int64_t slot;
    int kind;
    char cid[SB_PIN_CID_MAX];
} item;

typedef struct items {
    item *v;
    size_t n, cap;
    int64_t *winners;
    size_t nw;
} items;

static int items_add(items *it, int64_t slot, int kind, const char *cid)
{
    size_t len = strlen(cid);
    if (len == 0 || len >= SB_PIN_CID_MAX)
        return 0; /* not a CID a job can hold; the tx rules make this unreachable */
    if (it->n == it->cap) {
        size_t nc = it->cap ? it->cap * 2 : 64;
        item *nv = realloc(it->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        it->v = nv;
        it->cap = nc;
    }
    item *x = &it->v[it->n++];
    x->slot = slot;
    x->kind = kind;
    memcpy(x->cid, cid, len + 1);
    return 0;
}

/* The CIDs of one winner record: its manifest and the tracks of its proposal (a REPEAT
 * carries the proposal_id and manifest_cid of the slot it copies). */
static int winner_cids(sb_store *st, const sb_slot_record *r, items *it)
{
    char cid[SB_CID_STR_MAX];
    int64_t slot = (int64_t)r->slot;
    if (r->manifest_cid_len > 0 &&
        sb_cid_to_string(r->manifest_cid, r->manifest_cid_len, cid, sizeof(cid)) == 0) {
        if (items_add(it, slot, SB_PIN_KIND_MANIFEST, cid) < 0)
            return -1;
    } else {
        sb_log(SB_LOG_WARN, M, "slot %" PRId64 ": no usable manifest_cid", slot);
    }
    uint8_t *body = NULL;
    size_t blen = 0;
    int f = sb_store_proposal_body(st, 0, r->proposal_id, &body, &blen);
    if (f < 0)
        return -1;
    if (f == 0) {
        sb_log(SB_LOG_WARN, M, "slot %" PRId64 ": winning proposal body missing", slot);
        return 0;
    }
    Sleetbubble__V1__ProposalBody *pb = sleetbubble__v1__proposal_body__unpack(NULL, blen, body);
    free(body);
    if (!pb) {
        sb_log(SB_LOG_WARN, M, "slot %" PRId64 ": winning proposal body undecodable", slot);
        return 0;
    }
    int bad = 0;
    for (size_t i = 0; pb->playlist && i < pb->playlist->n_tracks && !bad; i++)
        if (pb->playlist->tracks[i]->cid)
            bad = items_add(it, slot, SB_PIN_KIND_TRACK, pb->playlist->tracks[i]->cid) < 0;
    sleetbubble__v1__proposal_body__free_unpacked(pb, NULL);
    return bad ? -1 : 0;
}

/* Where a first ingest starts: below the newest keep_slots winners (0: everything). Walks
 * the slots_with_winner index down from the top in ranges (no OFFSET scan); runs once in the
 * worker's life, O(keep_slots). */
static int first_high_water(sb_pinstore *ps, uint64_t keep, int64_t *hw)
{
    int64_t below = INT64_MAX, oldest = -1, v[256];
    uint64_t seen = 0;
    *hw = -1;
    if (!keep)
        return 0;
    while (seen < keep) {
        size_t got;
        if (sb_store_winner_slots_below(ps->state, below, v, 256, &got) < 0)
            return -1;
        for (size_t i = 0; i < got && seen < keep; i++, seen++)
            oldest = below = v[i];
        if (got < 256)
            break;
    }
    if (seen == keep)
        *hw = oldest - 1;
    return 0;
}

typedef struct read_ctx {
    sb_store *st;
    items *it;
    size_t *nslots;
    int64_t *last;
} read_ctx;

/* sb_store_each_slot_after callback: one committed slot into the batch. */
static int read_slot(void *arg, const sb_slot_record *r)
{
    read_ctx *c = arg;
    (*c->nslots)++;
    *c->last = (int64_t)r->slot;
    if (!sb_outcome_has_winner(r->outcome))
        return 0; /* NONE: nothing to pin */
    c->it->winners[c->it->nw++] = (int64_t)r->slot;
    return winner_cids(c->st, r, c->it) < 0 ? -1 : 0;
}

/* Read up to max slots above hw from the consensus database in one short read
 * transaction. *last: the highest slot read (hw if none). */
static int read_slots(sb_pinstore *ps, int64_t hw, size_t max, items *it, size_t *nslots,
                      int64_t *last)
{
    int ret = -1;
    read_ctx c = {ps->state, it, nslots, last};
    *nslots = 0;
    *last = hw;
    if (!(it->winners = malloc(max * sizeof(*it->winners))) ||
        sb_store_snapshot_begin(ps->state) < 0)
        goto done;
    ret = sb_store_each_slot_after(ps->state, hw, max, read_slot, &c) < 0 ? -1 : 0;
done:
    sb_store_snapshot_end(ps->state); /* end the read transaction before any network call */
    return ret;
}

/* Write one batch's jobs, refs, winners and high-water mark (inside BEGIN IMMEDIATE). */
static int write_batch(sb_pinstore *ps, const items *it, int64_t last, int first,
                       size_t *jobs)
{
    sqlite3 *db = ps->db;
    int ret = -1;
    sqlite3_stmt *j = sb_db_prep(db, M,
        "INSERT INTO jobs (cid, kind, slot) VALUES (?1, ?2, ?3) ON CONFLICT(cid) DO UPDATE SET "
        "state = 'queued', attempts = 0, next_try_ms = 0, slot = excluded.slot "
        "WHERE jobs.state = 'failed'");
    sqlite3_stmt *r = sb_db_prep(db, M, "INSERT OR IGNORE INTO refs (slot, cid) VALUES (?, ?)");
    sqlite3_stmt *w = sb_db_prep(db, M, "INSERT OR IGNORE INTO winners (n, slot) VALUES "
                                        "(coalesce((SELECT max(n) FROM winners), 0) + 1, ?)");
    sqlite3_stmt *h = sb_db_prep(db, M, first ? "INSERT INTO progress (id, high_water) "
                                                "VALUES (1, ?)"
                                              : "UPDATE progress SET high_water = ? WHERE id = 1");
    if (!j || !r || !w || !h)
        goto done;
    for (size_t i = 0; i < it->n; i++) {
        const item *x = &it->v[i];
        sqlite3_bind_text(j, 1, x->cid, -1, SQLITE_STATIC);
        sqlite3_bind_int(j, 2, x->kind);
        sqlite3_bind_int64(j, 3, x->slot);
        if (run(db, j, "queue job") < 0)
            goto done;
        *jobs += (size_t)sqlite3_changes(db);
        sqlite3_bind_int64(r, 1, x->slot);
        sqlite3_bind_text(r, 2, x->cid, -1, SQLITE_STATIC);
        if (run(db, r, "reference") < 0)
            goto done;
    }
    for (size_t i = 0; i < it->nw; i++) {
        sqlite3_bind_int64(w, 1, it->winners[i]);
        if (run(db, w, "winner") < 0)
            goto done;
    }
    sqlite3_bind_int64(h, 1, last);
    ret = run(db, h, "high-water mark");
done:
    sqlite3_finalize(j);
    sqlite3_finalize(r);
    sqlite3_finalize(w);
    sqlite3_finalize(h);
    return ret;
}

int sb_pinstore_ingest(sb_pinstore *ps, uint64_t keep_slots, size_t max_slots, size_t *slots,
                       size_t *jobs)
{
    items it = {0};
    int ret = -1, first = 0;
    int64_t hw = -1, last;
    *slots = *jobs = 0;
    if (max_slots == 0)
        return 0;
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT high_water FROM progress WHERE id = 1");
    if (!s)
        goto done;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        hw = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_db(ps->db, "high-water mark");
        goto done;
    }
    if (rc == SQLITE_DONE) {
        first = 1;
        if (first_high_water(ps, keep_slots, &hw) < 0)
            goto done;
    }
    if (read_slots(ps, hw, max_slots, &it, slots, &last) < 0)
        goto done;
    if (*slots == 0 && !first) {
        ret = 0;
        goto done;
    }
    if (sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    if (write_batch(ps, &it, last, first, jobs) < 0 || sb_db_exec(ps->db, M, "COMMIT") < 0) {
        sb_db_rollback(ps->db);
        *jobs = 0;
        goto done;
    }
    ret = 0;
done:
    unlock(ps);
    free(it.v);
    free(it.winners);
    return ret;
}

/* ==== jobs ================================================================================= */

int sb_pinstore_claim(sb_pinstore *ps, int64_t now_ms, sb_pin_job *j)
{
    int ret = -1;
    lock(ps);
    /* Newest slot first (the next slot to play matters most); walks jobs_queue in order and
     * stops at the first due job. */
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
        "SELECT cid, kind, slot, attempts, next_try_ms FROM jobs "
        "WHERE state = 'queued' AND next_try_ms <= ? "
        "AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.cid = jobs.cid) "
        "ORDER BY slot DESC LIMIT 1");
    sqlite3_stmt *u = sb_db_prep(ps->db, M, "UPDATE jobs SET state = 'pinning' "
                                            "WHERE cid = ? AND state = 'queued'");
    if (!s || !u)
        goto done;
    sqlite3_bind_int64(s, 1, now_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        log_db(ps->db, "claim");
        goto done;
    }
    const char *cid = (const char *)sqlite3_column_text(s, 0);
    size_t len = cid ? strlen(cid) : 0;
    if (len == 0 || len >= sizeof(j->cid)) {
        sb_log(SB_LOG_ERROR, M, "claim: job with an unusable CID");
        goto done;
    }
    memcpy(j->cid, cid, len + 1);
    j->kind = sqlite3_column_int(s, 1);
    j->slot = sqlite3_column_int64(s, 2);
    int64_t a = sqlite3_column_int64(s, 3);
    j->st.attempts = a < 0 ? 0 : a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
    j->st.next_try_ms = sqlite3_column_int64(s, 4);
    j->st.state = SB_PIN_QUEUED;
    sqlite3_reset(s);
    if (sb_pin_transition(&j->st, SB_PIN_EV_CLAIM, now_ms, 0, 0, &j->st) < 0) {
        ret = 0;
        goto done;
    }
    sqlite3_bind_text(u, 1, j->cid, -1, SQLITE_STATIC);
    if (run(ps->db, u, "claim") < 0)
        goto done;
    ret = sqlite3_changes(ps->db) == 1;
done:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    unlock(ps);
    return ret;
}

int sb_pinstore_finish(sb_pinstore *ps, const sb_pin_job *j, const sb_pin_job_state *out,
                       const char *last_error, int64_t now_ms, uint64_t bytes)
{
    int ret = -1;
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
        "UPDATE jobs SET state = ?1, attempts = ?2, next_try_ms = ?3, "
        "last_error = CASE WHEN ?1 = 'pinned' THEN NULL "
        "  WHEN ?4 IS NULL THEN last_error ELSE ?4 END, "
        "pinned_at_ms = CASE WHEN ?1 = 'pinned' THEN ?5 ELSE pinned_at_ms END, "
        "bytes = CASE WHEN ?6 > 0 THEN ?6 ELSE bytes END "
        "WHERE cid = ?7 AND state = 'pinning'");
    if (s) {
        sqlite3_bind_text(s, 1, sb_pin_state_name(out->state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, out->attempts);
        sqlite3_bind_int64(s, 3, out->next_try_ms);
        if (last_error)
            sqlite3_bind_text(s, 4, last_error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, now_ms);
        sqlite3_bind_int64(s, 6, bytes > INT64_MAX ? INT64_MAX : (int64_t)bytes);
        sqlite3_bind_text(s, 7, j->cid, -1, SQLITE_STATIC);
        if (run(ps->db, s, "record job result") == 0)
            ret = sqlite3_changes(ps->db);
    }
    sqlite3_finalize(s);
    unlock(ps);
    return ret;
}

int sb_pinstore_manifest(sb_pinstore *ps, const char *cid, uint8_t **out, size_t *len)
{
    uint8_t bin[37], h[37], *mb = NULL;
    size_t ml = 0;
    if (sb_cid_parse_manifest(cid, bin) < 0)
        return 0;
    lock(ps);
    int ret = sb_store_manifest_by_cid(ps->state, bin, sizeof(bin), &mb, &ml);
    unlock(ps);
    if (ret == 1) {
        sb_cid_dagjson(mb, ml, h);
        if (memcmp(h, bin, sizeof(h)) != 0) {
            free(mb); /* the stored bytes do not hash to their recorded CID */
            return 0;
        }
        *out = mb;
        *len = ml;
    }
    return ret;
}

int64_t sb_pinstore_next_due(sb_pinstore *ps)
{
    int64_t t = -1;
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT min(next_try_ms) FROM jobs "
                                            "WHERE state = 'queued'");
    if (s) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            t = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
        else
            log_db(ps->db, "next due");
    }
    sqlite3_finalize(s);
    unlock(ps);
    return t;
}

int sb_pinstore_counts(sb_pinstore *ps, int64_t n[SB_PIN_NSTATES])
{
    int ret = -1;
    memset(n, 0, sizeof(*n) * SB_PIN_NSTATES);
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT state, n FROM job_counts WHERE state IN "
                                            "('queued', 'pinning', 'pinned', 'failed')");
    if (s) {
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int st = sb_pin_state_parse((const char *)sqlite3_column_text(s, 0));
            if (st >= 0)
                n[st] = sqlite3_column_int64(s, 1);
        }
        if (rc == SQLITE_DONE)
            ret = 0;
        else
            log_db(ps->db, "job counts");
    }
    sqlite3_finalize(s);
    unlock(ps);
    return ret;
}

/* ==== reconcile ============================================================================= */

int sb_pinstore_page(sb_pinstore *ps, const char *after, sb_pin_snap *v, size_t max,
                     size_t *n)
{
    int ret = -1;
    *n = 0;
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT cid, kind, state, pinned_at_ms FROM jobs "
                                            "WHERE cid > ? AND +state IN ('pinned', 'queued') "
                                            "ORDER BY cid LIMIT ?");
    if (!s)
        goto done;
    sqlite3_bind_text(s, 1, after, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *cid = (const char *)sqlite3_column_text(s, 0);
        size_t len = cid ? strlen(cid) : 0;
        if (len == 0 || len >= SB_PIN_CID_MAX)
            continue;
        sb_pin_snap *x = &v[(*n)++];
        memcpy(x->cid, cid, len + 1);
        x->kind = sqlite3_column_int(s, 1);
        x->state = sb_pin_state_parse((const char *)sqlite3_column_text(s, 2)) == SB_PIN_PINNED
                       ? SB_PIN_PINNED
                       : SB_PIN_QUEUED;
        x->pinned_at_null = sqlite3_column_type(s, 3) == SQLITE_NULL;
        x->pinned_at = sqlite3_column_int64(s, 3);
        x->present = 0;
    }
    if (rc == SQLITE_DONE)
        ret = 0;
    else
        log_db(ps->db, "reconcile page");
done:
    sqlite3_finalize(s);
    unlock(ps);
    return ret;
}

int sb_pin_snap_missing(const sb_pin_snap *s, int64_t listed_ms)
{
    return s->state == SB_PIN_PINNED && !s->present &&
           (s->pinned_at_null || s->pinned_at < listed_ms);
}

int sb_pinstore_reconcile(sb_pinstore *ps, const sb_pin_snap *v, size_t n, int64_t listed_ms,
                          int64_t now_ms, int *missing, int *found)
{
    int ret = -1;
    *missing = *found = 0;
    lock(ps);
    sqlite3_stmt *miss = sb_db_prep(ps->db, M,
        "UPDATE jobs SET state = 'queued', attempts = 0, next_try_ms = ?, last_error = "
        "'missing: no longer pinned in Kubo (start-up reconcile)' WHERE cid = ? AND "
        "state = 'pinned' AND pinned_at_ms IS ?");
    sqlite3_stmt *have = sb_db_prep(ps->db, M,
        "UPDATE jobs SET state = 'pinned', pinned_at_ms = ?, last_error = NULL, next_try_ms = 0 "
        "WHERE cid = ? AND state = 'queued'");
    if (!miss || !have || sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        sb_pin_job_state st = {v[i].state, 0, 0}, out;
        sqlite3_stmt *u = NULL;
        if (sb_pin_snap_missing(&v[i], listed_ms) &&
            sb_pin_transition(&st, SB_PIN_EV_MISSING, now_ms, 0, 0, &out) == 0) {
            u = miss;
            sqlite3_bind_int64(u, 1, out.next_try_ms);
            if (v[i].pinned_at_null)
                sqlite3_bind_null(u, 3);
            else
                sqlite3_bind_int64(u, 3, v[i].pinned_at);
        } else if (v[i].state == SB_PIN_QUEUED && v[i].present &&
                   sb_pin_transition(&st, SB_PIN_EV_FOUND, now_ms, 0, 0, &out) == 0) {
            u = have;
            sqlite3_bind_int64(u, 1, now_ms);
        }
        if (!u)
            continue;
        sqlite3_bind_text(u, 2, v[i].cid, -1, SQLITE_STATIC);
        if (run(ps->db, u, "reconcile update") < 0) {
            sb_db_rollback(ps->db);
            *missing = *found = 0;
            goto done;
        }
        if (sqlite3_changes(ps->db) == 1)
            (u == miss ? (*missing)++ : (*found)++);
    }
    if (sb_db_exec(ps->db, M, "COMMIT") < 0) {
        sb_db_rollback(ps->db);
        *missing = *found = 0;
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(miss);
    sqlite3_finalize(have);
    unlock(ps);
    return ret;
}

/* ==== retention ============================================================================ */

/* Expire one slot: drop its refs and winner row; doom every CID it was the last ref of. */
static int expire_slot(sb_pinstore *ps, sqlite3_stmt *sel, sqlite3_stmt *del,
                       sqlite3_stmt *any, sqlite3_stmt *doom, sqlite3_stmt *delw, int64_t slot,
                       size_t *doomed)
{
    items it = {0};
    int ret = -1, rc;
    sqlite3_bind_int64(sel, 1, slot);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW)
        if (items_add(&it, slot, 0, (const char *)sqlite3_column_text(sel, 0)) < 0)
            break;
    sqlite3_reset(sel);
    if (rc != SQLITE_DONE) {
        log_db(ps->db, "expired refs");
        goto done;
    }
    sqlite3_bind_int64(del, 1, slot);
    sqlite3_bind_int64(delw, 1, slot);
    if (run(ps->db, del, "drop refs") < 0 || run(ps->db, delw, "drop winner") < 0)
        goto done;
    for (size_t i = 0; i < it.n; i++) {
        sqlite3_bind_text(any, 1, it.v[i].cid, -1, SQLITE_STATIC);
        rc = sqlite3_step(any);
        sqlite3_reset(any);
        if (rc == SQLITE_ROW)
            continue; /* a kept slot still references it */
        if (rc != SQLITE_DONE) {
            log_db(ps->db, "refs of a CID");
            goto done;
        }
        sqlite3_bind_text(doom, 1, it.v[i].cid, -1, SQLITE_STATIC);
        if (run(ps->db, doom, "doom") < 0)
            goto done;
        *doomed += (size_t)sqlite3_changes(ps->db);
    }
    ret = 0;
done:
    free(it.v);
    return ret;
}

int sb_pinstore_expire(sb_pinstore *ps, uint64_t keep_slots, size_t max_slots,
                       size_t *expired, size_t *doomed)
{
    int ret = -1, rc;
    int64_t *old = NULL;
    size_t nold = 0;
    *expired = *doomed = 0;
    if (!keep_slots || !max_slots)
        return 0;
    if (!(old = malloc(max_slots * sizeof(*old))))
        return -1;
    lock(ps);
    sqlite3_stmt *cut = sb_db_prep(ps->db, M, "SELECT max(n) FROM winners");
    sqlite3_stmt *olds = sb_db_prep(ps->db, M, "SELECT slot FROM winners WHERE n <= ? "
                                               "ORDER BY n LIMIT ?");
    sqlite3_stmt *sel = sb_db_prep(ps->db, M, "SELECT cid FROM refs WHERE slot = ?");
    sqlite3_stmt *del = sb_db_prep(ps->db, M, "DELETE FROM refs WHERE slot = ?");
    sqlite3_stmt *any = sb_db_prep(ps->db, M, "SELECT 1 FROM refs WHERE cid = ? LIMIT 1");
    sqlite3_stmt *doom = sb_db_prep(ps->db, M, "INSERT OR IGNORE INTO doomed (cid) VALUES (?)");
    sqlite3_stmt *delw = sb_db_prep(ps->db, M, "DELETE FROM winners WHERE slot = ?");
    if (!cut || !olds || !sel || !del || !any || !doom || !delw ||
        sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    /* Winners are numbered in ingest (= slot) order: the newest keep_slots are kept, every
     * n <= max(n) - keep_slots goes; nothing to do while there are fewer. */
    rc = sqlite3_step(cut);
    int64_t top = rc == SQLITE_ROW ? sqlite3_column_int64(cut, 0) : 0;
    if (rc == SQLITE_ROW && keep_slots < (uint64_t)INT64_MAX && top > (int64_t)keep_slots) {
        sqlite3_bind_int64(olds, 1, top - (int64_t)keep_slots);
        sqlite3_bind_int64(olds, 2, (sqlite3_int64)max_slots);
        while ((rc = sqlite3_step(olds)) == SQLITE_ROW && nold < max_slots)
            old[nold++] = sqlite3_column_int64(olds, 0);
        sqlite3_reset(olds);
    }
    sqlite3_reset(cut);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_db(ps->db, "expired winners");
        goto fail;
    }
    for (size_t i = 0; i < nold; i++)
        if (expire_slot(ps, sel, del, any, doom, delw, old[i], doomed) < 0)
            goto fail;
    if (sb_db_exec(ps->db, M, "COMMIT") < 0)
        goto fail;
    *expired = nold;
    ret = 0;
    goto done;
fail:
    sb_db_rollback(ps->db);
    *doomed = 0;
done:
    sqlite3_finalize(cut);
    sqlite3_finalize(olds);
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    sqlite3_finalize(any);
    sqlite3_finalize(doom);
    sqlite3_finalize(delw);
    unlock(ps);
    free(old);
    return ret;
}

int sb_pinstore_doomed(sb_pinstore *ps, char (*cids)[SB_PIN_CID_MAX], size_t max, size_t *n)
{
    int ret = -1, rc;
    *n = 0;
    lock(ps);
    /* Doomed CIDs whose job is not being pinned right now (a running pin/add would pin it
     * again behind our back; it is looked at again on the next pass). */
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
        "SELECT d.cid, EXISTS (SELECT 1 FROM refs r WHERE r.cid = d.cid) FROM doomed d "
        "WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.cid = d.cid AND j.state = 'pinning') "
        "LIMIT ?");
    sqlite3_stmt *undoom = sb_db_prep(ps->db, M, "DELETE FROM doomed WHERE cid = ?");
    if (!s || !undoom || sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        const char *cid = (const char *)sqlite3_column_text(s, 0);
        size_t len = cid ? strlen(cid) : 0;
        if (len == 0 || len >= SB_PIN_CID_MAX)
            continue;
        if (sqlite3_column_int(s, 1)) { /* referenced again before we unpinned it */
            sqlite3_bind_text(undoom, 1, cid, -1, SQLITE_TRANSIENT);
            if (run(ps->db, undoom, "undoom") < 0)
                break;
            continue;
        }
        memcpy(cids[(*n)++], cid, len + 1);
    }
    sqlite3_reset(s);
    if ((rc != SQLITE_DONE && rc != SQLITE_ROW) || sb_db_exec(ps->db, M, "COMMIT") < 0) {
        sb_db_rollback(ps->db);
        *n = 0;
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(s);
    sqlite3_finalize(undoom);
    unlock(ps);
    return ret;
}

int sb_pinstore_unpinned(sb_pinstore *ps, const char *cid, int *requeued)
{
    int ret = -1;
    *requeued = 0;
    lock(ps);
    sqlite3_stmt *any = sb_db_prep(ps->db, M, "SELECT 1 FROM refs WHERE cid = ? LIMIT 1");
    sqlite3_stmt *req = sb_db_prep(ps->db, M,
        "UPDATE jobs SET state = 'queued', attempts = 0, next_try_ms = 0, last_error = NULL "
        "WHERE cid = ? AND state != 'pinning'");
    sqlite3_stmt *del = sb_db_prep(ps->db, M, "DELETE FROM jobs WHERE cid = ? AND "
                                              "state != 'pinning'");
    sqlite3_stmt *und = sb_db_prep(ps->db, M, "DELETE FROM doomed WHERE cid = ?");
    if (!any || !req || !del || !und || sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_bind_text(any, 1, cid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(any);
    sqlite3_reset(any);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_db(ps->db, "refs of a CID");
        goto fail;
    }
    sqlite3_stmt *u = rc == SQLITE_ROW ? req : del;
    sqlite3_bind_text(u, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(und, 1, cid, -1, SQLITE_STATIC);
    if (run(ps->db, u, "after unpin") < 0)
        goto fail;
    *requeued = rc == SQLITE_ROW && sqlite3_changes(ps->db) > 0;
    if (run(ps->db, und, "undoom") < 0 || sb_db_exec(ps->db, M, "COMMIT") < 0)
        goto fail;
    ret = 0;
    goto done;
fail:
    sb_db_rollback(ps->db);
    *requeued = 0;
done:
    sqlite3_finalize(any);
    sqlite3_finalize(req);
    sqlite3_finalize(del);
    sqlite3_finalize(und);
    unlock(ps);
    return ret;
}

/* ==== query ================================================================================ */

int sb_pinstore_job(sb_pinstore *ps, const char *cid, sb_pin_job_info *out)
{
    int ret = -1;
    memset(out, 0, sizeof(*out));
    lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT state, attempts, last_error, pinned_at_ms, "
                                            "bytes, next_try_ms FROM jobs WHERE cid = ?");
    if (!s)
        goto done;
    sqlite3_bind_text(s, 1, cid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *st = (const char *)sqlite3_column_text(s, 0);
        const char *le = (const char *)sqlite3_column_text(s, 2);
        snprintf(out->state, sizeof(out->state), "%s", st ? st : "?");
        out->attempts = sqlite3_column_int64(s, 1);
        snprintf(out->last_error, sizeof(out->last_error), "%s", le ? le : "");
        out->pinned_at_null = sqlite3_column_type(s, 3) == SQLITE_NULL;
        out->pinned_at_ms = sqlite3_column_int64(s, 3);
        out->bytes = sqlite3_column_int64(s, 4);
        out->next_try_ms = sqlite3_column_int64(s, 5);
        ret = 1;
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    } else {
        log_db(ps->db, "job");
    }
done:
    sqlite3_finalize(s);
    unlock(ps);
    return ret;
}
