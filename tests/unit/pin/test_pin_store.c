/* test_pin_store.c - the pin worker's own database (protocol.md §10): resume after kill -9 from the
 * high-water mark with no job lost or duplicated, and retention that re-pins what a new slot
 * references while a CID is being unpinned. No Kubo: these are the database's rules (the
 * Kubo side is test_kubo_real.c). The kill -9 is a real SIGKILL of a child process that is
 * ingesting, at a different moment each round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cid.h"
#include "pin_store.h"
#include "sleetbubble/v1/tx.pb-c.h"
#include "store.h"
#include "tally.h"

#define NTRACKS 3

typedef struct fx {
    char dir[128], db[160], pins[160];
    sb_store *st;
} fx;

static void cid_for(uint64_t slot, int i, char out[SB_CID_STR_MAX])
{
    uint8_t seed[16] = { 0 }, h[37], bin[36] = { 0x01, 0x55, 0x12, 0x20 };
    memcpy(seed, &slot, 8);
    memcpy(seed + 8, &i, sizeof(i));
    sb_cid_dagjson(seed, sizeof(seed), h);
    memcpy(bin + 4, h + 5, 32);
    assert_int_equal(sb_cid_to_string(bin, sizeof(bin), out, SB_CID_STR_MAX), 0);
}

/* A committed SUPERMAJORITY slot whose tracks are cid_for(track_seed, 0..NTRACKS-1). */
static void winner(fx *f, uint64_t slot, uint64_t track_seed)
{
    uint8_t id[32] = { 0 }, cur[32] = { 1 };
    char cids[NTRACKS][SB_CID_STR_MAX], manifest[64];
    Sleetbubble__V1__Track tr[NTRACKS], *tp[NTRACKS];
    Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
    Sleetbubble__V1__ProposalBody body = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    uint8_t packed[1024];
    memcpy(id, &slot, 8);
    memcpy(cur + 1, &slot, 8);
    for (int i = 0; i < NTRACKS; i++) {
        cid_for(track_seed, i, cids[i]);
        sleetbubble__v1__track__init(&tr[i]);
        tr[i].cid = cids[i];
        tr[i].duration_ms = 1000;
        tp[i] = &tr[i];
    }
    pl.n_tracks = NTRACKS;
    pl.tracks = tp;
    body.chain_id = "c";
    body.slot = slot;
    body.playlist = &pl;
    size_t blen = sleetbubble__v1__proposal_body__pack(&body, packed);
    int n = snprintf(manifest, sizeof(manifest), "{\"slot\":%llu}", (unsigned long long)slot);
    sb_slot_record r = { .slot = slot,
                         .outcome = SB_OUTCOME_SUPERMAJORITY,
                         .power_for = 1,
                         .total = 1,
                         .height = 1,
                         .manifest_cid_len = 37 };
    memcpy(r.proposal_id, id, 32);
    sb_cid_dagjson((const uint8_t *)manifest, (size_t)n, r.manifest_cid);
    assert_int_equal(sb_store_begin(f->st), 0);
    assert_int_equal(sb_store_add_proposal(f->st, id, slot, cur, 1, 0, packed, blen, packed, blen,
                                           NTRACKS, NTRACKS * 1000),
                     0);
    assert_int_equal(sb_store_add_slot(f->st, &r, (const uint8_t *)manifest, (size_t)n), 0);
    assert_int_equal(sb_store_commit(f->st), 0);
}

static int setup(void **state)
{
    char err[256];
    fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sb-pin-store.XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->db, sizeof(f->db), "%s/sleetbubble.db", f->dir);
    snprintf(f->pins, sizeof(f->pins), "%s/pins.db", f->dir);
    if (sb_store_open(f->db, &f->st, err, sizeof(err)) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[200];
    sb_store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static int64_t one(sqlite3 *db, const char *q)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Every slot at or below the high-water mark has all its refs and jobs; none above has any. */
static int64_t check_consistent(fx *f, uint64_t slots)
{
    sqlite3 *db;
    char q[200];
    if (access(f->pins, F_OK) != 0)
        return -1; /* killed before it created its file */
    assert_int_equal(sqlite3_open(f->pins, &db), SQLITE_OK);
    if (one(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('progress', 'jobs')") == 0) {
        sqlite3_close(db); /* killed before its schema committed: none of it exists */
        return -1;
    }
    assert_int_equal(one(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('progress', "
                             "'jobs', 'refs', 'winners', 'doomed', 'job_counts')"),
                     6);
    int64_t hw = one(db, "SELECT coalesce((SELECT high_water FROM progress), -1)");
    for (uint64_t s = 0; s < slots; s++) {
        snprintf(q, sizeof(q), "SELECT count(*) FROM refs WHERE slot = %llu",
                 (unsigned long long)s);
        int64_t refs = one(db, q);
        assert_int_equal(refs, (int64_t)s <= hw ? 1 + NTRACKS : 0);
    }
    /* Jobs: exactly the distinct CIDs referenced (a CID is a primary key: no duplicates). */
    assert_int_equal(one(db, "SELECT count(*) FROM jobs"),
                     one(db, "SELECT count(DISTINCT cid) FROM refs"));
    assert_int_equal(one(db, "SELECT count(*) FROM jobs WHERE cid NOT IN (SELECT cid FROM refs)"),
                     0);
    assert_int_equal(one(db, "SELECT coalesce(sum(n), 0) FROM job_counts"),
                     one(db, "SELECT count(*) FROM jobs"));
    sqlite3_close(db);
    return hw;
}

/* The high-water slot in pins.db as another process sees it; -1 while there is none yet (no
 * file, no table, no row). Read-only: never creates the file. */
static int64_t high_water_now(fx *f)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t hw = -1;
    if (sqlite3_open_v2(f->pins, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT high_water FROM progress", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        hw = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return hw;
}

static void ingest_resumes_after_kill_9_without_losing_or_duplicating_jobs(void **state)
{
    fx *f = *state;
    const uint64_t slots = 400;
    for (uint64_t s = 0; s < slots; s++)
        winner(f, s, s);
    int kills = 0;
    int64_t hw = -1, prev = -1;
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char err[256];
            sb_pinstore *ps = NULL;
            size_t ns, nj;
            if (sb_pinstore_open(f->pins, f->db, &ps, err, sizeof(err)) < 0)
                _exit(2);
            do
                if (sb_pinstore_ingest(ps, 0, 3, &ns, &nj) < 0)
                    _exit(3);
            while (ns == 3);
            _exit(0);
        }
        /* Wait until it has made progress (the mark moved past the last one, a state, so a
         * slow build such as TSan or valgrind makes progress too), let it run a little more,
         * a different time each round, then kill -9: the kill lands at varied points. */
        int st = 0, exited = 0;
        for (int i = 0; !exited && high_water_now(f) <= prev; i++) {
            if (waitpid(pid, &st, WNOHANG) == pid)
                exited = 1;
            else if (i > 60000)
                fail_msg("round %d: the child made no progress past slot %lld", round,
                         (long long)prev);
            struct timespec poll = { 0, 1000000 };
            nanosleep(&poll, NULL);
        }
        struct timespec ts = { 0, (long)((round * 773 % 7) * 1000000L) };
        nanosleep(&ts, NULL);
        int rc = exited ? -1 : kill(pid, SIGKILL);
        if (!exited)
            assert_int_equal(waitpid(pid, &st, 0), pid);
        if (rc == 0 && WIFSIGNALED(st))
            kills++;
        else
            assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        hw = check_consistent(f, slots);
        assert_true(hw >= prev); /* each restart resumes from the mark, never below it */
        prev = hw;
    }
    print_message("high-water mark after 40 kill -9 rounds: slot %lld of %llu\n", (long long)hw,
                  (unsigned long long)slots);
    assert_true(hw > 0); /* progress was made across the kills */
    /* Finish in-process: everything ingested exactly once. */
    char err[256];
    sb_pinstore *ps = NULL;
    size_t ns, nj;
    assert_int_equal(sb_pinstore_open(f->pins, f->db, &ps, err, sizeof(err)), 0);
    do
        assert_int_equal(sb_pinstore_ingest(ps, 0, 64, &ns, &nj), 0);
    while (ns == 64);
    sb_pinstore_close(ps);
    assert_int_equal(check_consistent(f, slots), (int64_t)slots - 1);
    assert_true(kills > 0); /* at least one round really died mid-ingest */
    print_message("kill -9 rounds that hit a running ingest: %d of 40\n", kills);
}

static void a_cid_referenced_again_while_doomed_is_kept_or_pinned_again(void **state)
{
    fx *f = *state;
    char err[256], cids[8][SB_PIN_CID_MAX], t0[SB_CID_STR_MAX];
    sb_pinstore *ps = NULL;
    size_t ns, nj, e, d, n;
    int again;
    assert_int_equal(sb_pinstore_open(f->pins, f->db, &ps, err, sizeof(err)), 0);
    cid_for(100, 0, t0);
    winner(f, 0, 100); /* tracks A */
    winner(f, 1, 200); /* tracks B */
    assert_int_equal(sb_pinstore_ingest(ps, 0, 64, &ns, &nj), 0);
    /* keep 1: slot 0 expires and its 4 CIDs are doomed, not claimable. */
    assert_int_equal(sb_pinstore_expire(ps, 1, 64, &e, &d), 0);
    assert_int_equal(e, 1);
    assert_int_equal(d, 1 + NTRACKS);
    /* Slot 2 plays A again before anything was unpinned: nothing of A is unpinned. */
    winner(f, 2, 100);
    assert_int_equal(sb_pinstore_ingest(ps, 1, 64, &ns, &nj), 0);
    assert_int_equal(sb_pinstore_doomed(ps, cids, 8, &n), 0);
    assert_int_equal(n, 1); /* only slot 0's manifest: A's tracks are referenced by slot 2 */
    assert_int_equal(sb_pinstore_unpinned(ps, cids[0], &again), 0);
    assert_int_equal(again, 0);
    sb_pin_job_info ji;
    assert_int_equal(sb_pinstore_job(ps, cids[0], &ji), 0); /* its job is gone */
    assert_int_equal(sb_pinstore_job(ps, t0, &ji), 1);
    /* Now slot 1 expires (keep 1 of {1, 2}) and B is doomed and handed out for pin/rm; slot 3
     * references B while the pin/rm runs: after it, B's jobs are queued again. */
    assert_int_equal(sb_pinstore_expire(ps, 1, 64, &e, &d), 0);
    assert_int_equal(e, 1);
    assert_int_equal(sb_pinstore_doomed(ps, cids, 8, &n), 0);
    assert_int_equal(n, 1 + NTRACKS);
    sb_pin_job j;
    assert_int_equal(sb_pinstore_claim(ps, INT64_MAX, &j), 1);
    assert_string_not_equal(j.cid, cids[0]); /* doomed CIDs are not claimable */
    winner(f, 3, 200);
    assert_int_equal(sb_pinstore_ingest(ps, 1, 64, &ns, &nj), 0);
    int requeued = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(sb_pinstore_unpinned(ps, cids[i], &again), 0);
        requeued += again;
    }
    assert_int_equal(requeued, NTRACKS); /* B's tracks: pin them again */
    for (size_t i = 0; i < n; i++)
        if (sb_pinstore_job(ps, cids[i], &ji) == 1)
            assert_string_equal(ji.state, "queued");
    sb_pinstore_close(ps);
}

/* Reconcile judges a pinned job missing from Kubo's listing only if it was pinned before the
 * listing began: a pin that completes while `pin/ls` streams is not in it (this race re-queued
 * freshly pinned jobs and reset their attempts). */
static void reconcile_ignores_pins_made_after_the_listing_began(void **state)
{
    fx *f = *state;
    char err[256];
    sb_pinstore *ps = NULL;
    size_t ns, nj, n;
    assert_int_equal(sb_pinstore_open(f->pins, f->db, &ps, err, sizeof(err)), 0);
    winner(f, 0, 100);
    assert_int_equal(sb_pinstore_ingest(ps, 0, 64, &ns, &nj), 0);
    sb_pin_job j;
    sb_pin_job_state done = { SB_PIN_PINNED, 1, 0 };
    while (sb_pinstore_claim(ps, INT64_MAX, &j) == 1)
        assert_int_equal(sb_pinstore_finish(ps, &j, &done, NULL, 1000, 100), 1);
    sb_pin_snap v[8];
    assert_int_equal(sb_pinstore_page(ps, "", v, 8, &n), 0);
    assert_int_equal(n, 1 + NTRACKS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].state, SB_PIN_PINNED);
        assert_int_equal(v[i].pinned_at, 1000);
        v[i].present = 0; /* none in the listing */
    }
    int miss, found;
    /* Listing began at 1000 (the same ms) and at 500: every pin is as new as the listing. */
    assert_int_equal(sb_pinstore_reconcile(ps, v, n, 1000, 3000, &miss, &found), 0);
    assert_int_equal(miss, 0);
    assert_int_equal(sb_pinstore_reconcile(ps, v, n, 500, 3000, &miss, &found), 0);
    assert_int_equal(miss, 0);
    sb_pin_job_info ji;
    assert_int_equal(sb_pinstore_job(ps, v[0].cid, &ji), 1);
    assert_string_equal(ji.state, "pinned");
    /* Listing began after the pins: they are really gone from Kubo. */
    assert_int_equal(sb_pinstore_reconcile(ps, v, n, 1001, 3000, &miss, &found), 0);
    assert_int_equal(miss, (int)n);
    assert_int_equal(sb_pinstore_job(ps, v[0].cid, &ji), 1);
    assert_string_equal(ji.state, "queued");
    sb_pinstore_close(ps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            ingest_resumes_after_kill_9_without_losing_or_duplicating_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(a_cid_referenced_again_while_doomed_is_kept_or_pinned_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(reconcile_ignores_pins_made_after_the_listing_began, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
