/* pin_store_house.c - the housekeeping statements of the pin job database (protocol.md §10):
 * start-up reconcile in pages, and retention (expire old winner slots, doom CIDs no kept slot
 * references, forget them once unpinned), all in bounded batches. */
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

/* ==== reconcile ============================================================================= */

int sb_pinstore_page(sb_pinstore *ps, const char *after, sb_pin_snap *v, size_t max, size_t *n)
{
    int ret = -1;
    *n = 0;
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M,
                                 "SELECT cid, kind, state, pinned_at_ms FROM jobs "
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
        sb_pinstore_log_db(ps->db, "reconcile page");
done:
    sqlite3_finalize(s);
    sb_pinstore_unlock(ps);
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
    sb_pinstore_lock(ps);
    sqlite3_stmt *miss =
        sb_db_prep(ps->db, M,
                   "UPDATE jobs SET state = 'queued', attempts = 0, next_try_ms = ?, last_error = "
                   "'missing: no longer pinned in Kubo (start-up reconcile)' WHERE cid = ? AND "
                   "state = 'pinned' AND pinned_at_ms IS ?");
    sqlite3_stmt *have = sb_db_prep(
        ps->db, M,
        "UPDATE jobs SET state = 'pinned', pinned_at_ms = ?, last_error = NULL, next_try_ms = 0 "
        "WHERE cid = ? AND state = 'queued'");
    if (!miss || !have || sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        sb_pin_job_state st = { v[i].state, 0, 0 }, out;
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
        if (sb_pinstore_run(ps->db, u, "reconcile update") < 0) {
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
    sb_pinstore_unlock(ps);
    return ret;
}

/* ==== retention ============================================================================ */

/* Expire one slot: drop its refs and winner row; doom every CID it was the last ref of. */
static int expire_slot(sb_pinstore *ps, sqlite3_stmt *sel, sqlite3_stmt *del, sqlite3_stmt *any,
                       sqlite3_stmt *doom, sqlite3_stmt *delw, int64_t slot, size_t *doomed)
{
    items it = { 0 };
    int ret = -1, rc;
    sqlite3_bind_int64(sel, 1, slot);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW)
        if (sb_pinstore_items_add(&it, slot, 0, (const char *)sqlite3_column_text(sel, 0)) < 0)
            break;
    sqlite3_reset(sel);
    if (rc != SQLITE_DONE) {
        sb_pinstore_log_db(ps->db, "expired refs");
        goto done;
    }
    sqlite3_bind_int64(del, 1, slot);
    sqlite3_bind_int64(delw, 1, slot);
    if (sb_pinstore_run(ps->db, del, "drop refs") < 0 ||
        sb_pinstore_run(ps->db, delw, "drop winner") < 0)
        goto done;
    for (size_t i = 0; i < it.n; i++) {
        sqlite3_bind_text(any, 1, it.v[i].cid, -1, SQLITE_STATIC);
        rc = sqlite3_step(any);
        sqlite3_reset(any);
        if (rc == SQLITE_ROW)
            continue; /* a kept slot still references it */
        if (rc != SQLITE_DONE) {
            sb_pinstore_log_db(ps->db, "refs of a CID");
            goto done;
        }
        sqlite3_bind_text(doom, 1, it.v[i].cid, -1, SQLITE_STATIC);
        if (sb_pinstore_run(ps->db, doom, "doom") < 0)
            goto done;
        *doomed += (size_t)sqlite3_changes(ps->db);
    }
    ret = 0;
done:
    free(it.v);
    return ret;
}

int sb_pinstore_expire(sb_pinstore *ps, uint64_t keep_slots, size_t max_slots, size_t *expired,
                       size_t *doomed)
{
    int ret = -1, rc;
    int64_t *old = NULL;
    size_t nold = 0;
    *expired = *doomed = 0;
    if (!keep_slots || !max_slots)
        return 0;
    if (!(old = malloc(max_slots * sizeof(*old))))
        return -1;
    sb_pinstore_lock(ps);
    sqlite3_stmt *cut = sb_db_prep(ps->db, M, "SELECT max(n) FROM winners");
    sqlite3_stmt *olds = sb_db_prep(ps->db, M,
                                    "SELECT slot FROM winners WHERE n <= ? "
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
        sb_pinstore_log_db(ps->db, "expired winners");
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
    sb_pinstore_unlock(ps);
    free(old);
    return ret;
}

int sb_pinstore_doomed(sb_pinstore *ps, char (*cids)[SB_PIN_CID_MAX], size_t max, size_t *n)
{
    int ret = -1, rc;
    *n = 0;
    sb_pinstore_lock(ps);
    /* Doomed CIDs whose job is not being pinned right now (a running pin/add would pin it
     * again behind our back; it is looked at again on the next pass). */
    sqlite3_stmt *s = sb_db_prep(
        ps->db, M,
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
            if (sb_pinstore_run(ps->db, undoom, "undoom") < 0)
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
    sb_pinstore_unlock(ps);
    return ret;
}

int sb_pinstore_unpinned(sb_pinstore *ps, const char *cid, int *requeued)
{
    int ret = -1;
    *requeued = 0;
    sb_pinstore_lock(ps);
    sqlite3_stmt *any = sb_db_prep(ps->db, M, "SELECT 1 FROM refs WHERE cid = ? LIMIT 1");
    sqlite3_stmt *req = sb_db_prep(
        ps->db, M,
        "UPDATE jobs SET state = 'queued', attempts = 0, next_try_ms = 0, last_error = NULL "
        "WHERE cid = ? AND state != 'pinning'");
    sqlite3_stmt *del = sb_db_prep(ps->db, M,
                                   "DELETE FROM jobs WHERE cid = ? AND "
                                   "state != 'pinning'");
    sqlite3_stmt *und = sb_db_prep(ps->db, M, "DELETE FROM doomed WHERE cid = ?");
    if (!any || !req || !del || !und || sb_db_exec(ps->db, M, "BEGIN IMMEDIATE") < 0)
        goto done;
    sqlite3_bind_text(any, 1, cid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(any);
    sqlite3_reset(any);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sb_pinstore_log_db(ps->db, "refs of a CID");
        goto fail;
    }
    sqlite3_stmt *u = rc == SQLITE_ROW ? req : del;
    sqlite3_bind_text(u, 1, cid, -1, SQLITE_STATIC);
    sqlite3_bind_text(und, 1, cid, -1, SQLITE_STATIC);
    if (sb_pinstore_run(ps->db, u, "after unpin") < 0)
        goto fail;
    *requeued = rc == SQLITE_ROW && sqlite3_changes(ps->db) > 0;
    if (sb_pinstore_run(ps->db, und, "undoom") < 0 || sb_db_exec(ps->db, M, "COMMIT") < 0)
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
    sb_pinstore_unlock(ps);
    return ret;
}
