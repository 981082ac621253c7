/* pin_store_ingest.c - committed slots into pin jobs (protocol.md §10): read the consensus
 * database's `slots` rows above the high-water mark, in bounded batches, and write jobs, refs,
 * winners and the new mark in one pins.db transaction per batch. */
#include "pin_store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "db.h"
#include "log.h"
#include "pin_store-internal.h"
#include "sleetbubble/v1/tx.pb-c.h"
#include "store.h"
#include "tally.h"

/* ==== ingest ================================================================================ */

/* The CIDs of one winner record: its manifest and the tracks of its proposal (a REPEAT
 * carries the proposal_id and manifest_cid of the slot it copies). */
static int winner_cids(sb_store *st, const sb_slot_record *r, items *it)
{
    char cid[SB_CID_STR_MAX];
    int64_t slot = (int64_t)r->slot;
    if (r->manifest_cid_len > 0 &&
        sb_cid_to_string(r->manifest_cid, r->manifest_cid_len, cid, sizeof(cid)) == 0) {
        if (sb_pinstore_items_add(it, slot, SB_PIN_KIND_MANIFEST, cid) < 0)
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
            bad = sb_pinstore_items_add(it, slot, SB_PIN_KIND_TRACK, pb->playlist->tracks[i]->cid) <
                  0;
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
    read_ctx c = { ps->state, it, nslots, last };
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
static int write_batch(sb_pinstore *ps, const items *it, int64_t last, int first, size_t *jobs)
{
    sqlite3 *db = ps->db;
    int ret = -1;
    sqlite3_stmt *j = sb_db_prep(
        db, M,
        "INSERT INTO jobs (cid, kind, slot) VALUES (?1, ?2, ?3) ON CONFLICT(cid) DO UPDATE SET "
        "state = 'queued', attempts = 0, next_try_ms = 0, slot = excluded.slot "
        "WHERE jobs.state = 'failed'");
    sqlite3_stmt *r = sb_db_prep(db, M, "INSERT OR IGNORE INTO refs (slot, cid) VALUES (?, ?)");
    sqlite3_stmt *w = sb_db_prep(db, M,
                                 "INSERT OR IGNORE INTO winners (n, slot) VALUES "
                                 "(coalesce((SELECT max(n) FROM winners), 0) + 1, ?)");
    sqlite3_stmt *h = sb_db_prep(db, M,
                                 first ? "INSERT INTO progress (id, high_water) "
                                         "VALUES (1, ?)"
                                       : "UPDATE progress SET high_water = ? WHERE id = 1");
    if (!j || !r || !w || !h)
        goto done;
    for (size_t i = 0; i < it->n; i++) {
        const item *x = &it->v[i];
        sqlite3_bind_text(j, 1, x->cid, -1, SQLITE_STATIC);
        sqlite3_bind_int(j, 2, x->kind);
        sqlite3_bind_int64(j, 3, x->slot);
        if (sb_pinstore_run(db, j, "queue job") < 0)
            goto done;
        *jobs += (size_t)sqlite3_changes(db);
        sqlite3_bind_int64(r, 1, x->slot);
        sqlite3_bind_text(r, 2, x->cid, -1, SQLITE_STATIC);
        if (sb_pinstore_run(db, r, "reference") < 0)
            goto done;
    }
    for (size_t i = 0; i < it->nw; i++) {
        sqlite3_bind_int64(w, 1, it->winners[i]);
        if (sb_pinstore_run(db, w, "winner") < 0)
            goto done;
    }
    sqlite3_bind_int64(h, 1, last);
    ret = sb_pinstore_run(db, h, "high-water mark");
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
    items it = { 0 };
    int ret = -1, first = 0;
    int64_t hw = -1, last;
    *slots = *jobs = 0;
    if (max_slots == 0)
        return 0;
    sb_pinstore_lock(ps);
    sqlite3_stmt *s = sb_db_prep(ps->db, M, "SELECT high_water FROM progress WHERE id = 1");
    if (!s)
        goto done;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        hw = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sb_pinstore_log_db(ps->db, "high-water mark");
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
    sb_pinstore_unlock(ps);
    free(it.v);
    free(it.winners);
    return ret;
}
