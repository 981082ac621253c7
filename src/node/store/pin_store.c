/* pin_store.c - the pin worker's own database and its read-only view of the consensus one
 * (protocol.md §10): schema, open/close, the per-job statements and the /pins query. See
 * pin_store.h for the contract and pin_store-internal.h for the other files. */
#include "pin_store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "pin_store-internal.h"
#include "store.h"

/* Busy timeout, ms: pins.db has one connection that writes; the consensus file is only read
 * (a WAL reader waits only while a checkpoint restarts the log). */
#define PS_BUSY_MS 10000

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

void sb_pinstore_log_db(sqlite3 *db, const char *what)
{
    sb_log(SB_LOG_ERROR, M, "database: %s: %s", what, sqlite3_errmsg(db));
}

int sb_pinstore_run(sqlite3 *db, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        sb_pinstore_log_db(db, what);
        return -1;
    }
    return 0;
}

int sb_pinstore_items_add(items *it, int64_t slot, int kind, const char *cid)
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

int sb_pinstore_open(const char *pins_path, const char *state_path, sb_pinstore **out, char *err,
                     size_t errlen)
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
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "UPDATE jobs SET state = 'queued', next_try_ms = ? "
                                 "WHERE state = 'pinning'");
    if (s) {
        sqlite3_bind_int64(s, 1, now_ms);
        if (sb_pinstore_run(ps->db, s, "restart pinning jobs") == 0)
            n = sqlite3_changes(ps->db);
    }
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
    return n;
}

/* ==== jobs ================================================================================= */

int sb_pinstore_claim(sb_pinstore *ps, int64_t now_ms, sb_pin_job *j)
{
    int ret = -1;
    sb_pinstore_lock(ps);
    /* Newest slot first (the next slot to play matters most); walks jobs_queue in order and
     * stops at the first due job. */
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "SELECT cid, kind, slot, attempts, next_try_ms FROM jobs "
                                 "WHERE state = 'queued' AND next_try_ms <= ? "
                                 "AND NOT EXISTS (SELECT 1 FROM doomed d WHERE d.cid = jobs.cid) "
                                 "ORDER BY slot DESC LIMIT 1");
    sqlite3_stmt *u = sb_db_prep(ps->db, M,
                                 "UPDATE jobs SET state = 'pinning' "
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
        sb_pinstore_log_db(ps->db, "claim");
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
    if (sb_pinstore_run(ps->db, u, "claim") < 0)
        goto done;
    ret = sqlite3_changes(ps->db) == 1;
done:
    sqlite3_finalize(s);
    sqlite3_finalize(u);
    sb_pinstore_unlock(ps);
    return ret;
}

int sb_pinstore_finish(sb_pinstore *ps, const sb_pin_job *j, const sb_pin_job_state *out,
                       const char *last_error, int64_t now_ms, uint64_t bytes)
{
    int ret = -1;
    sb_pinstore_lock(ps);
    sqlite3_stmt *s =
        sb_db_prep(ps->db, M,
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
        if (sb_pinstore_run(ps->db, s, "record job result") == 0)
            ret = sqlite3_changes(ps->db);
    }
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
    return ret;
}

int sb_pinstore_manifest(sb_pinstore *ps, const char *cid, uint8_t **out, size_t *len)
{
    uint8_t bin[37], h[37], *mb = NULL;
    size_t ml = 0;
    if (sb_cid_parse_manifest(cid, bin) < 0)
        return 0;
    sb_pinstore_lock(ps);
    int ret = sb_store_manifest_by_cid(ps->state, bin, sizeof(bin), &mb, &ml);
    sb_pinstore_unlock(ps);
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
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "SELECT min(next_try_ms) FROM jobs "
                                 "WHERE state = 'queued'");
    if (s) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            t = sqlite3_column_type(s, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 0);
        else
            sb_pinstore_log_db(ps->db, "next due");
    }
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
    return t;
}

int sb_pinstore_counts(sb_pinstore *ps, int64_t n[SB_PIN_NSTATES])
{
    int ret = -1;
    memset(n, 0, sizeof(*n) * SB_PIN_NSTATES);
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "SELECT state, n FROM job_counts WHERE state IN "
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
            sb_pinstore_log_db(ps->db, "job counts");
    }
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
    return ret;
}

/* ==== query ================================================================================ */

int sb_pinstore_job(sb_pinstore *ps, const char *cid, sb_pin_job_info *out)
{
    int ret = -1;
    memset(out, 0, sizeof(*out));
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "SELECT state, attempts, last_error, pinned_at_ms, "
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
        sb_pinstore_log_db(ps->db, "job");
    }
done:
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
    return ret;
}
