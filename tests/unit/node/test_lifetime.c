/* test_lifetime.c - no statement on a per-block, per-slot, per-job or start-up path grows
 * with history (protocol.md §7, §10; STYLE "Lifetime rules").
 *
 * A store is filled with 1,000 and then (fresh) 10,000 finalized slots - proposals of 10
 * tracks, votes, SUPERMAJORITY / REPEAT / NONE records with manifests - and the pin worker's
 * database is brought to its steady state over them (everything ingested and pinned,
 * retention applied). Then one "day in the life" runs: every store function CheckTx,
 * FinalizeBlock, Commit and the queries use, and every pin-store function the worker uses
 * per job, per slot and at start-up. A profiler (sb_db_set_profiler) records each
 * statement's full-scan steps and VM steps per run (sqlite3_stmt_status). The test asserts,
 * statement by statement: FULLSCAN_STEP is 0, and VM_STEP at 10,000 slots is not more than
 * at 1,000 (plus 10 % slack for B-tree depth). Counts, not times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cid.h"
#include "db.h"
#include "pin_store.h"
#include "sleetbubble/v1/tx.pb-c.h"
#include "store.h"
#include "tally.h"

#define KEEP 500 /* pin.keep_slots in the steady state */
#define NTRACKS 10
#define MAXSTMT 128

typedef struct stmt_stat {
    char *sql;
    int64_t full, vm; /* max over the runs of the measured phase */
    int runs;
} stmt_stat;

typedef struct profile {
    int on;
    stmt_stat s[MAXSTMT];
    size_t n;
} profile;

static int is_control(const char *sql)
{
    static const char *const skip[] = { "BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "CREATE", "DROP" };
    for (size_t i = 0; i < sizeof(skip) / sizeof(*skip); i++)
        if (strncmp(sql, skip[i], strlen(skip[i])) == 0)
            return 1;
    return 0;
}

static void on_stmt(void *arg, const char *sql, int64_t full, int64_t vm)
{
    profile *p = arg;
    if (!p->on || is_control(sql))
        return;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->s[i].sql, sql) == 0) {
            if (full > p->s[i].full)
                p->s[i].full = full;
            if (vm > p->s[i].vm)
                p->s[i].vm = vm;
            p->s[i].runs++;
            return;
        }
    assert_true(p->n < MAXSTMT);
    p->s[p->n].sql = strdup(sql);
    p->s[p->n].full = full;
    p->s[p->n].vm = vm;
    p->s[p->n].runs = 1;
    p->n++;
}

static void profile_free(profile *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->s[i].sql);
    memset(p, 0, sizeof(*p));
}

/* ---- history ------------------------------------------------------------------------------ */

static void track_cid(uint64_t slot, int i, char out[SB_CID_STR_MAX])
{
    uint8_t bin[36] = { 0x01, 0x55, 0x12, 0x20 }, seed[16] = { 0 }, h[37];
    memcpy(seed, &slot, 8);
    memcpy(seed + 8, &i, sizeof(i));
    sb_cid_dagjson(seed, sizeof(seed), h); /* any 32 bytes: reuse its digest */
    memcpy(bin + 4, h + 5, 32);
    assert_int_equal(sb_cid_to_string(bin, 36, out, SB_CID_STR_MAX), 0);
}

/* One slot as FinalizeBlock + Commit write it: a proposal, 4 votes and the record. Slot
 * s % 5 == 3 REPEATs s - 1, s % 7 == 6 is NONE, the rest (and every slot when `winner`)
 * SUPERMAJORITY with a manifest. */
static void add_history_slot(sb_store *st, uint64_t s, sb_slot_record *prev, int winner)
{
    uint8_t id[32] = { 0 }, cur[32] = { 1 }, val[32] = { 2 };
    char cids[NTRACKS][SB_CID_STR_MAX], manifest[64];
    Sleetbubble__V1__Track tr[NTRACKS], *tp[NTRACKS];
    Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
    Sleetbubble__V1__ProposalBody body = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    uint8_t packed[4096];
    memcpy(id, &s, sizeof(s));
    memcpy(cur + 1, &s, sizeof(s));
    for (int i = 0; i < NTRACKS; i++) {
        track_cid(s, i, cids[i]);
        sleetbubble__v1__track__init(&tr[i]);
        tr[i].cid = cids[i];
        tr[i].duration_ms = 1000;
        tp[i] = &tr[i];
    }
    pl.n_tracks = NTRACKS;
    pl.tracks = tp;
    body.chain_id = "lifetime";
    body.slot = s;
    body.playlist = &pl;
    size_t blen = sleetbubble__v1__proposal_body__pack(&body, packed);
    assert_int_equal(sb_store_add_proposal(st, id, s, cur, 1, 0, packed, blen, packed, blen,
                                           NTRACKS, NTRACKS * 1000),
                     0);
    for (int v = 0; v < 4; v++) {
        val[1] = (uint8_t)v;
        assert_int_equal(sb_store_add_vote(st, s, val, id, 1, 1, packed, 8), 0);
    }
    sb_slot_record r = { .slot = s, .power_for = 40, .total = 40, .height = (int64_t)s + 1 };
    int n = snprintf(manifest, sizeof(manifest), "{\"slot\":%llu}", (unsigned long long)s);
    if (s % 7 == 6 && !winner) {
        r.outcome = SB_OUTCOME_NONE;
        r.power_for = 0;
        assert_int_equal(sb_store_add_slot(st, &r, NULL, 0), 0);
    } else if (s % 5 == 3 && !winner && prev->outcome != 0 && prev->outcome != SB_OUTCOME_NONE) {
        r.outcome = SB_OUTCOME_REPEAT;
        r.power_for = 0;
        memcpy(r.proposal_id, prev->proposal_id, 32);
        memcpy(r.manifest_cid, prev->manifest_cid, prev->manifest_cid_len);
        r.manifest_cid_len = prev->manifest_cid_len;
        assert_int_equal(sb_store_add_slot(st, &r, NULL, 0), 0);
    } else {
        r.outcome = SB_OUTCOME_SUPERMAJORITY;
        memcpy(r.proposal_id, id, 32);
        sb_cid_dagjson((const uint8_t *)manifest, (size_t)n, r.manifest_cid);
        r.manifest_cid_len = 37;
        assert_int_equal(sb_store_add_slot(st, &r, (const uint8_t *)manifest, (size_t)n), 0);
    }
    *prev = r;
}

typedef struct home {
    char dir[128], db[160], pins[160], pins2[160];
    sb_store *st;
    sb_pinstore *ps;
    sb_slot_record last;
} home;

/* Fill `slots` slots and bring the pin store to its steady state (not profiled). */
static void fill(home *h, uint64_t slots)
{
    char err[256];
    snprintf(h->dir, sizeof(h->dir), "/tmp/sb-lifetime.XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->db, sizeof(h->db), "%s/sleetbubble.db", h->dir);
    snprintf(h->pins, sizeof(h->pins), "%s/pins.db", h->dir);
    snprintf(h->pins2, sizeof(h->pins2), "%s/pins-fresh.db", h->dir);
    assert_int_equal(sb_store_open(h->db, &h->st, err, sizeof(err)), 0);
    memset(&h->last, 0, sizeof(h->last));
    for (uint64_t s = 0; s < slots; s++) {
        if (s % 500 == 0)
            assert_int_equal(sb_store_begin(h->st), 0);
        if (s == 0) {
            sb_meta m = { .height = 0, .has_app_hash = 1, .initial_height = 1 };
            m.params_json = "{}";
            assert_int_equal(sb_store_put_meta(h->st, &m), 0);
        }
        add_history_slot(h->st, s, &h->last, 0);
        if (s % 500 == 499 || s == slots - 1)
            assert_int_equal(sb_store_commit(h->st), 0);
    }
    assert_int_equal(sb_pinstore_open(h->pins, h->db, &h->ps, err, sizeof(err)), 0);
    size_t ns, nj, e, d;
    do
        assert_int_equal(sb_pinstore_ingest(h->ps, 0, 256, &ns, &nj), 0);
    while (ns == 256);
    do
        assert_int_equal(sb_pinstore_expire(h->ps, KEEP, 256, &e, &d), 0);
    while (e == 256);
    /* Everything left was pinned long ago; the doomed ones were unpinned. */
    char cids[64][SB_PIN_CID_MAX];
    size_t n;
    do {
        assert_int_equal(sb_pinstore_doomed(h->ps, cids, 64, &n), 0);
        for (size_t i = 0; i < n; i++) {
            int again;
            assert_int_equal(sb_pinstore_unpinned(h->ps, cids[i], &again), 0);
        }
    } while (n == 64);
    sb_pin_job j;
    sb_pin_job_state done = { SB_PIN_PINNED, 1, 0 };
    while (sb_pinstore_claim(h->ps, INT64_MAX, &j) == 1)
        assert_int_equal(sb_pinstore_finish(h->ps, &j, &done, NULL, 1, 100), 1);
}

static int count_proposal(void *arg, const sb_proposal_row *row)
{
    (void)row;
    (*(int *)arg)++;
    return 0;
}

static int count_vote(void *arg, const uint8_t v[32], const uint8_t p[32])
{
    (void)v;
    (void)p;
    (*(int *)arg)++;
    return 0;
}

/* One day in the life: everything a block, a slot, a job and a start-up does. */
static void day_in_the_life(home *h, uint64_t slots)
{
    uint8_t id[32] = { 0 }, cur[32] = { 1 }, val[32] = { 2 }, *ids = NULL, *body = NULL;
    size_t n = 0, blen = 0;
    uint64_t last = slots - 1;
    sb_meta m;
    sb_slot_record r;
    uint32_t count;
    memcpy(id, &last, sizeof(last));
    memcpy(cur + 1, &last, sizeof(last));
    /* CheckTx and the queries: committed reads. */
    assert_int_equal(sb_store_load_meta(h->st, &m), 0);
    sb_meta_free(&m);
    assert_int_equal(sb_store_proposal_exists(h->st, 0, last, id), 1);
    assert_int_equal(sb_store_curator_proposed(h->st, 0, last, cur), 1);
    assert_int_equal(sb_store_validator_voted(h->st, 0, last, val), 1);
    assert_int_equal(sb_store_proposal_count(h->st, 0, last, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(sb_store_proposal_body(h->st, 0, id, &body, &blen), 1);
    free(body);
    assert_int_equal(sb_store_get_slot(h->st, 0, last, &r), 1);
    /* The /slot and /proposal queries: a slot's proposals in block order, a proposal's height. */
    int props = 0;
    int64_t ph = 0;
    assert_int_equal(sb_store_each_proposal(h->st, 0, last, count_proposal, &props), 0);
    assert_int_equal(props, 1);
    assert_int_equal(sb_store_proposal_height(h->st, 0, id, &ph), 1);
    assert_true(ph > 0);
    /* FinalizeBlock of slot `slots` with its tally reads, then Commit. */
    assert_int_equal(sb_store_begin(h->st), 0);
    add_history_slot(h->st, slots, &h->last, 1); /* a new winner */
    uint64_t s = slots;
    memcpy(id, &s, sizeof(s));
    assert_int_equal(sb_store_proposal_exists(h->st, 1, s, id), 1);
    assert_int_equal(sb_store_proposal_count(h->st, 1, s, &count), 0);
    assert_int_equal(sb_store_proposal_ids(h->st, 1, s, &ids, &n), 0);
    free(ids);
    int votes = 0;
    assert_int_equal(sb_store_each_vote(h->st, 1, s, count_vote, &votes), 0);
    assert_int_equal(votes, 4);
    assert_int_equal(sb_store_get_slot(h->st, 1, s - 1, &r), 1);
    assert_int_equal(sb_store_set_head(h->st, (int64_t)s + 1, id, 1, s + 1), 0);
    assert_int_equal(sb_store_commit(h->st), 0);
    /* The worker: ingest the new slot, retention, a job, its manifest, the gauges. */
    size_t ns, nj, e, d;
    assert_int_equal(sb_pinstore_ingest(h->ps, KEEP, 64, &ns, &nj), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(sb_pinstore_expire(h->ps, KEEP, 64, &e, &d), 0);
    char cids[64][SB_PIN_CID_MAX];
    assert_int_equal(sb_pinstore_doomed(h->ps, cids, 64, &n), 0);
    for (size_t i = 0; i < n; i++) {
        int again;
        assert_int_equal(sb_pinstore_unpinned(h->ps, cids[i], &again), 0);
    }
    sb_pin_job j;
    int64_t st[SB_PIN_NSTATES];
    int claimed = 0;
    while (sb_pinstore_claim(h->ps, 2, &j) == 1) {
        sb_pin_job_state done = { SB_PIN_PINNED, 1, 0 };
        if (j.kind == SB_PIN_KIND_MANIFEST) {
            uint8_t *mb = NULL;
            size_t ml = 0;
            assert_int_equal(sb_pinstore_manifest(h->ps, j.cid, &mb, &ml), 1);
            free(mb);
        }
        assert_int_equal(sb_pinstore_finish(h->ps, &j, &done, NULL, 2, 100), 1);
        claimed++;
    }
    assert_int_equal(claimed, 1 + NTRACKS); /* the new winner's manifest and tracks */
    assert_true(sb_pinstore_next_due(h->ps) >= 0);
    assert_int_equal(sb_pinstore_counts(h->ps, st), 0);
    assert_true(st[SB_PIN_PINNED] > 0);
    sb_pin_job_info ji;
    assert_int_equal(sb_pinstore_job(h->ps, j.cid, &ji), 1);
    /* Start-up: restart, a reconcile page, and a fresh worker's first ingest batch. */
    sb_pin_snap *page = calloc(512, sizeof(*page));
    assert_non_null(page);
    assert_true(sb_pinstore_restart(h->ps, 3) >= 0);
    assert_int_equal(sb_pinstore_page(h->ps, "", page, 512, &n), 0);
    int miss, found;
    assert_int_equal(sb_pinstore_reconcile(h->ps, page, 0, 3, 3, &miss, &found), 0);
    free(page);
    char err[256];
    sb_pinstore *fresh = NULL;
    assert_int_equal(sb_pinstore_open(h->pins2, h->db, &fresh, err, sizeof(err)), 0);
    assert_int_equal(sb_pinstore_ingest(fresh, KEEP, 64, &ns, &nj), 0);
    assert_int_equal(ns, 64);
    sb_pinstore_close(fresh);
}

static void run_at(uint64_t slots, profile *p)
{
    home h;
    memset(p, 0, sizeof(*p));
    sb_db_set_profiler(on_stmt, p);
    fill(&h, slots);
    p->on = 1;
    day_in_the_life(&h, slots);
    p->on = 0;
    sb_db_set_profiler(NULL, NULL);
    sb_pinstore_close(h.ps);
    sb_store_close(h.st);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h.dir);
    assert_int_equal(system(cmd), 0);
}

static const stmt_stat *find(const profile *p, const char *sql)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->s[i].sql, sql) == 0)
            return &p->s[i];
    return NULL;
}

static void no_statement_scans_or_grows_with_history(void **state)
{
    (void)state;
    profile small, big;
    run_at(1000, &small);
    run_at(10000, &big);
    int bad = 0;
    assert_true(big.n >= 25); /* the day above runs this many distinct statements */
    for (size_t i = 0; i < big.n; i++) {
        const stmt_stat *b = &big.s[i], *s = find(&small, b->sql);
        int grew = !s || b->vm > s->vm + s->vm / 10 + 10;
        if (b->full != 0 || grew) {
            fprintf(stderr,
                    "%s: full-scan steps %lld, VM steps %lld at 10,000 slots vs %lld at "
                    "1,000\n  %s\n",
                    b->full ? "SCAN" : "GROWS", (long long)b->full, (long long)b->vm,
                    s ? (long long)s->vm : -1LL, b->sql);
            bad = 1;
        }
    }
    if (getenv("SB_LIFETIME_VERBOSE"))
        for (size_t i = 0; i < big.n; i++) {
            const stmt_stat *s = find(&small, big.s[i].sql);
            fprintf(stderr, "%6lld %6lld  %s\n", s ? (long long)s->vm : -1LL,
                    (long long)big.s[i].vm, big.s[i].sql);
        }
    profile_free(&small);
    profile_free(&big);
    assert_false(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_statement_scans_or_grows_with_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
