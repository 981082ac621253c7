/* test_schedule.c — the pure part of `sleetbubble schedule` (protocol.md §15) and its library
 * scan: packing fills at most the slot and as much as possible (against brute force), the
 * rotation window K, the index JSON round trip and its bounded trim, and the scan (bad files
 * skipped, renamed files keep their CID and rotation state, changed bytes re-indexed, removed
 * files dropped) over WAV files written with libsndfile in the test; and the command against
 * the fake CometBFT + Kubo of fake_node.c (canned answers; the real chain is
 * tests/integration/cli_schedule.sh): a re-run resends the journaled tx instead of making a
 * new proposal, a committed proposal is not proposed again, bad files are named. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "cli.h"
#include "fake_node.h"
#include "keys.h"
#include "sb_buf.h"
#include "sched.h"

static size_t pack(const uint32_t *d, size_t n, uint64_t cap, size_t maxt, uint64_t *total,
                   size_t *out)
{
    size_t k = sched_pack(d, n, cap, maxt, out, total);
    uint64_t sum = 0;
    for (size_t i = 0; i < k; i++) {
        assert_true(out[i] < n);
        if (i)
            assert_true(out[i] > out[i - 1]); /* rotation order, no repeats */
        sum += d[out[i]];
    }
    assert_int_equal(sum, *total);
    assert_true(sum <= cap);
    assert_true(k <= maxt);
    return k;
}

/* The best total <= cap over all subsets of d[0..n) (n <= 16). */
static uint64_t brute(const uint32_t *d, size_t n, uint64_t cap)
{
    uint64_t best = 0;
    for (uint32_t m = 0; m < (1u << n); m++) {
        uint64_t s = 0;
        for (size_t i = 0; i < n; i++)
            if (m & (1u << i))
                s += d[i];
        if (s <= cap && s > best)
            best = s;
    }
    return best;
}

static void packing_fills_the_slot_without_exceeding_it(void **state)
{
    (void)state;
    size_t out[64];
    uint64_t total;
    /* the integration test's library: 40 s of tracks, a 20 s slot */
    const uint32_t lib[] = { 3000, 4000, 5000, 6000, 7000, 8000, 3000, 4000 };
    pack(lib, 8, 20000, 256, &total, out);
    assert_int_equal(total, 20000);
    /* first fit alone stops at 6+5 = 11 s; the slot takes 5+5+5 */
    const uint32_t a[] = { 6000, 5000, 5000, 5000 };
    assert_int_equal(pack(a, 4, 15000, 256, &total, out), 3);
    assert_int_equal(total, 15000);
    assert_int_equal(out[0], 1);
    /* ties keep the earliest candidates in rotation order */
    const uint32_t b[] = { 5000, 5000, 5000, 5000 };
    assert_int_equal(pack(b, 4, 10000, 256, &total, out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 1);
    /* nothing fits; max_tracks bounds the count */
    const uint32_t c[] = { 30000, 25000 };
    assert_int_equal(pack(c, 2, 20000, 256, &total, out), 0);
    assert_int_equal(total, 0);
    assert_int_equal(pack(b, 4, 20000, 2, &total, out), 2);
    assert_int_equal(total, 10000);
    /* and an exact cap of one ms more or less */
    const uint32_t e[] = { 10001, 9999, 10000 };
    pack(e, 3, 20000, 256, &total, out);
    assert_int_equal(total, 20000);
}

static void packing_is_optimal_against_brute_force(void **state)
{
    (void)state;
    uint32_t d[14];
    size_t out[14];
    uint64_t total, x = 12345;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + (size_t)(round % 14);
        for (size_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            d[i] = 1000 + (uint32_t)((x >> 33) % 480000); /* 1 s .. 8 min */
        }
        uint64_t cap = 600000 + (uint64_t)(round % 7) * 300000; /* 10 .. 40 min */
        pack(d, n, cap, 256, &total, out);
        assert_int_equal(total, brute(d, n, cap));
    }
}

static void packing_many_candidates_stays_bounded_and_fills(void **state)
{
    (void)state;
    enum { N = 500 };
    uint32_t d[N];
    size_t out[N];
    uint64_t total;
    for (size_t i = 0; i < N; i++)
        d[i] = 170000 + (uint32_t)(i * 7919 % 90000); /* ~3-4 min */
    pack(d, N, 1800000, 256, &total, out);
    assert_true(total > 1800000 - 170000); /* no room left for even the shortest track */
    /* ms-exact: thirty of the one-second tracks fill 30 s, the 29.5 s first one would not */
    for (size_t i = 0; i < 60; i++)
        d[i] = 1000;
    d[0] = 29500;
    pack(d, 60, 30000, 256, &total, out);
    assert_int_equal(total, 30000);
}

/* An index of n audio files with CIDs "cid<i>". */
static void make_index(sched_index *x, size_t n)
{
    memset(x, 0, sizeof *x);
    x->library = strdup("/lib");
    x->kubo_peer = strdup("peer");
    x->files = calloc(n, sizeof *x->files);
    x->nfiles = n;
    for (size_t i = 0; i < n; i++) {
        sched_file *f = &x->files[i];
        char p[32];
        snprintf(p, sizeof p, "t%zu.ogg", i);
        f->path = strdup(p);
        memset(f->sha256, 'a', 64);
        f->sha256[63] = (char)('0' + i % 10);
        f->duration_ms = 1000 + (uint32_t)i;
        snprintf(f->cid, sizeof f->cid, "cid%zu", i);
        snprintf(f->title, sizeof f->title, "Track %zu", i);
    }
}

static void put(sched_index *x, uint64_t slot, const char *a, const char *b)
{
    char *cids[2] = { (char *)a, (char *)b };
    assert_int_equal(sched_index_put_prop(x, slot,
                                          "00000000000000000000000000000000000000000000"
                                          "00000000000000000000",
                                          cids, b ? 2 : 1, "dHg="),
                     0);
}

static void rotation_keeps_tracks_out_of_the_next_k_proposals(void **state)
{
    (void)state;
    sched_index x;
    uint8_t fb[6];
    make_index(&x, 6);
    put(&x, 12, "cid3", NULL); /* out of order on purpose: kept sorted */
    put(&x, 10, "cid0", "cid1");
    put(&x, 11, "cid2", NULL);
    assert_int_equal(x.props[0].slot, 10);
    assert_int_equal(x.props[2].slot, 12);
    sched_forbidden(&x, 13, 2, fb); /* the 2 proposals before 13: slots 11 and 12 */
    assert_memory_equal(fb, ((uint8_t[]){ 0, 0, 1, 1, 0, 0 }), 6);
    sched_forbidden(&x, 13, 3, fb);
    assert_memory_equal(fb, ((uint8_t[]){ 1, 1, 1, 1, 0, 0 }), 6);
    sched_forbidden(&x, 13, 0, fb);
    assert_memory_equal(fb, ((uint8_t[]){ 0, 0, 0, 0, 0, 0 }), 6);
    sched_forbidden(&x, 11, 4, fb); /* only proposals before the slot count */
    assert_memory_equal(fb, ((uint8_t[]){ 1, 1, 0, 0, 0, 0 }), 6);
    /* rotation order: never proposed first (library order), then the longest rested */
    x.files[0].has_last = 1, x.files[0].last_slot = 0; /* slot 0 is a slot like any other */
    x.files[2].has_last = 1, x.files[2].last_slot = 11;
    x.files[5].has_last = 1, x.files[5].last_slot = 3;
    size_t cand[6] = { 0, 1, 2, 3, 4, 5 };
    sched_rotation_sort(&x, cand, 6);
    assert_memory_equal(cand, ((size_t[]){ 1, 3, 4, 0, 5, 2 }), sizeof cand);
    sched_index_free(&x);
}

static void index_round_trips_and_trim_is_bounded(void **state)
{
    (void)state;
    sched_index x, y;
    char err[256];
    make_index(&x, 3);
    x.files[1].skip = strdup("not a readable audio file");
    x.files[2].has_last = 1, x.files[2].last_slot = 12345678901234ull;
    x.files[0].mtime_ns = -5;
    for (uint64_t s = 100; s < 110; s++)
        put(&x, s, "cid0", "cid2");
    json_t *j = sched_index_to_json(&x);
    assert_non_null(j);
    assert_int_equal(sched_index_from_json(j, &y, err, sizeof err), 0);
    json_t *j2 = sched_index_to_json(&y);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    assert_string_equal(y.files[1].skip, "not a readable audio file");
    assert_int_equal(y.files[2].last_slot, 12345678901234ull);
    assert_int_equal(y.files[0].mtime_ns, -5);
    assert_int_equal(y.nprops, 10);
    assert_string_equal(y.props[3].tx_b64, "dHg=");
    /* keep every record from the first open slot on, and the 3 latest before it */
    sched_index_trim(&y, 107, 3);
    assert_int_equal(y.nprops, 6);
    assert_int_equal(y.props[0].slot, 104);
    assert_null(y.props[0].tx_b64); /* closed: nothing to resend */
    assert_non_null(y.props[3].tx_b64);
    assert_int_equal(sched_index_del_prop(&y, 108), 1);
    assert_int_equal(sched_index_del_prop(&y, 108), 0);
    assert_int_equal(y.nprops, 5);
    sched_index_free(&y);
    /* a damaged index is refused with a reason (the command then starts a new one) */
    json_object_set_new(j, "version", json_integer(99));
    assert_int_equal(sched_index_from_json(j, &y, err, sizeof err), -1);
    assert_non_null(strstr(err, "version"));
    json_decref(j);
    sched_index_free(&x);
}

/* ---- the scan, over real files ---- */

static char dir[] = "/tmp/sb-sched.XXXXXX";

/* A mono 16-bit WAV of ms milliseconds at 8 kHz; seed varies the samples (the bytes). */
static void write_wav(const char *path, int ms, int seed)
{
    SF_INFO info = { .samplerate = 8000,
                     .channels = 1,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    assert_non_null(sf);
    sf_count_t n = (sf_count_t)ms * 8;
    short *buf = calloc((size_t)n, sizeof *buf);
    for (sf_count_t i = 0; i < n; i++)
        buf[i] = (short)((i * (seed + 1) * 37) % 20000 - 10000);
    assert_int_equal(sf_write_short(sf, buf, n), n);
    free(buf);
    sf_close(sf);
}

static void in_dir(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static sched_file *find(sched_index *x, const char *path)
{
    for (size_t i = 0; i < x->nfiles; i++)
        if (strcmp(x->files[i].path, path) == 0)
            return &x->files[i];
    return NULL;
}

static void scan_skips_bad_files_and_reindexes_changed_bytes(void **state)
{
    (void)state;
    char p[256], q[256], err[512];
    sched_index x;
    assert_non_null(mkdtemp(dir));
    in_dir(p, sizeof p, "sub");
    assert_int_equal(mkdir(p, 0700), 0);
    in_dir(p, sizeof p, "b.wav");
    write_wav(p, 2000, 1);
    in_dir(p, sizeof p, "sub/c.wav");
    write_wav(p, 1500, 2);
    in_dir(p, sizeof p, "a.txt");
    FILE *f = fopen(p, "w");
    fputs("not audio\n", f);
    fclose(f);
    memset(&x, 0, sizeof x);
    assert_int_equal(sched_index_scan(&x, dir, err, sizeof err), 0);
    assert_int_equal(x.nfiles, 3);
    assert_string_equal(x.files[0].path, "a.txt"); /* sorted, subdirectories in place */
    assert_string_equal(x.files[1].path, "b.wav");
    assert_string_equal(x.files[2].path, "sub/c.wav");
    assert_non_null(x.files[0].skip);
    assert_null(x.files[1].skip);
    assert_int_equal(x.files[1].duration_ms, 2000);
    assert_string_equal(x.files[1].title, "b"); /* no tags: the file name */
    assert_int_equal(x.files[2].duration_ms, 1500);
    /* pretend b.wav was added and proposed, then rename it: same bytes keep CID and rotation */
    snprintf(x.files[1].cid, sizeof x.files[1].cid, "bafkreib");
    x.files[1].has_last = 1, x.files[1].last_slot = 42;
    char sha_b[65];
    memcpy(sha_b, x.files[1].sha256, 65);
    in_dir(p, sizeof p, "b.wav");
    in_dir(q, sizeof q, "z.wav");
    assert_int_equal(rename(p, q), 0);
    /* re-encode sub/c.wav (new bytes, new length) and remove a.txt */
    in_dir(p, sizeof p, "sub/c.wav");
    char sha_c[65];
    memcpy(sha_c, x.files[2].sha256, 65);
    snprintf(x.files[2].cid, sizeof x.files[2].cid, "bafkreic");
    write_wav(p, 2500, 3);
    in_dir(p, sizeof p, "a.txt");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(sched_index_scan(&x, dir, err, sizeof err), 0);
    assert_int_equal(x.nfiles, 2);
    sched_file *z = find(&x, "z.wav"), *c = find(&x, "sub/c.wav");
    assert_non_null(z);
    assert_non_null(c);
    assert_null(find(&x, "a.txt"));
    assert_string_equal(z->sha256, sha_b);
    assert_string_equal(z->cid, "bafkreib");
    assert_int_equal(z->last_slot, 42);
    assert_string_not_equal(c->sha256, sha_c);
    assert_string_equal(c->cid, ""); /* new bytes: added to Kubo again */
    assert_int_equal(c->duration_ms, 2500);
    /* an unchanged library is not re-read: same entries again */
    assert_int_equal(sched_index_scan(&x, dir, err, sizeof err), 0);
    assert_int_equal(x.nfiles, 2);
    assert_string_equal(find(&x, "z.wav")->cid, "bafkreib");
    sched_index_free(&x);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- the command against fake_node ---- */

/* 2024-01-01T00:00:00.5Z, block time; epoch 100 s earlier, 20 s slots, 8 s lead: slot 5 is
 * closed at BT, slot 6 is the first open one. */
#define BT 1704067200500000000LL

static int run(char **out, char **err, char **argv, int argc)
{
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    char *bufs[2] = { NULL, NULL };
    FILE *fs[2] = { fo, fe };
    for (int i = 0; i < 2; i++) {
        long n = ftell(fs[i]);
        bufs[i] = calloc(1, (size_t)n + 1);
        rewind(fs[i]);
        if (n > 0 && fread(bufs[i], 1, (size_t)n, fs[i]) != (size_t)n)
            bufs[i][0] = '\0';
        fclose(fs[i]);
    }
    *out = bufs[0];
    *err = bufs[1];
    return rc;
}

static void rerun_resends_the_journaled_tx_and_never_proposes_twice(void **state)
{
    (void)state;
    static fake_node F;
    char d[] = "/tmp/sb-sched-cmd.XXXXXX", p[512], home[128], lib[128], params[1024], slot_now[512],
         node[64], ipfs[64], err[256], pubhex[65], slot6[512];
    uint8_t pub[32];
    char *out, *errs;
    assert_non_null(mkdtemp(d));
    snprintf(home, sizeof home, "%s/home", d);
    snprintf(lib, sizeof lib, "%s/lib", d);
    assert_int_equal(mkdir(lib, 0700), 0);
    snprintf(p, sizeof p, "%s/one.wav", lib);
    write_wav(p, 3000, 5);
    snprintf(p, sizeof p, "%s/cover.jpg", lib);
    FILE *f = fopen(p, "w");
    fputs("\xff\xd8\xff not really a picture", f);
    fclose(f);
    assert_int_equal(cli_keys_new(home, "cur", pub, err, sizeof err), 0);
    sb_hex(pub, 32, pubhex);
    snprintf(params, sizeof params,
             "{\"chain_id\":\"test-chain\",\"slot_seconds\":20,\"close_lead_seconds\":8,"
             "\"horizon_slots\":48,\"epoch_ns\":\"%lld\",\"max_tracks\":256,"
             "\"max_proposals_per_slot\":64,\"max_tx_size\":65536,\"open_curation\":true,"
             "\"curators\":[],\"vote_keys\":{},\"validators\":[{\"pub_key\":\"%064d\","
             "\"power\":\"10\"}]}",
             BT - 100000000000LL, 7);
    snprintf(slot_now, sizeof slot_now,
             "{\"slot\":\"5\",\"start_ns\":\"%lld\",\"close_ns\":\"%lld\",\"next_slot\":\"6\","
             "\"next_close_ns\":\"%lld\",\"block_time_ns\":\"%lld\",\"next_to_finalize\":\"5\"}",
             BT, BT - 8000000000LL, BT + 12000000000LL, BT);
    F.chain_id = "test-chain";
    F.routes[F.nroutes++] = (fake_route){ "/params", 0, "", params };
    F.routes[F.nroutes++] = (fake_route){ "/slot/current", 0, "", slot_now };
    F.routes[F.nroutes++] = (fake_route){ "/slot/6", 0, "", "{\"slot\":\"6\",\"proposals\":[]}" };
    F.kubo_body = "{\"ID\":\"12D3KooWfake\"}";
    F.add_hash = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    assert_int_equal(fake_node_start(&F), 0);
    snprintf(node, sizeof node, "--node=http://127.0.0.1:%d", F.port);
    snprintf(ipfs, sizeof ipfs, "--ipfs=http://127.0.0.1:%d", F.port);
    char *argv[] = { "sleetbubble", node,   ipfs,       "--home",    home,
                     "--output",    "json", "schedule", "--library", lib,
                     "--key",       "cur",  "--slots",  "1",         NULL };
    int argc = (int)(sizeof argv / sizeof argv[0]) - 1;

    /* run 1: proposes slot 6 with the one track; cover.jpg is named and skipped */
    assert_int_equal(run(&out, &errs, argv, argc), 0);
    assert_non_null(strstr(errs, "cover.jpg: skipped"));
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "proposed")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "proposed"), 0), "slot")),
                        "6");
    assert_int_equal(json_array_size(json_object_get(j, "skipped")), 1);
    char id[65];
    snprintf(id, sizeof id, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(j, "proposed"), 0),
                                               "proposal_id")));
    json_decref(j);
    free(out);
    free(errs);
    assert_int_equal(F.n_broadcasts, 1);
    uint8_t tx1[65536];
    size_t tx1_len = F.last_tx_len;
    memcpy(tx1, F.last_tx, tx1_len);
    int adds = F.n_kubo;

    /* run 2: the chain shows nothing yet (still in the mempool): the same bytes are resent,
   * nothing new is proposed, the unchanged library is not added again */
    assert_int_equal(run(&out, &errs, argv, argc), 0);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "proposed")), 0);
    json_t *a = json_array_get(json_object_get(j, "already"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "proposal_id")), id);
    assert_true(json_is_true(json_object_get(a, "pending")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "library"), "added")),
                     0);
    json_decref(j);
    free(out);
    free(errs);
    assert_int_equal(F.n_broadcasts, 2);
    assert_int_equal(F.last_tx_len, tx1_len);
    assert_memory_equal(F.last_tx, tx1, tx1_len);
    assert_int_equal(F.n_kubo, adds + 1); /* only the id call */

    /* run 3: the proposal is committed: nothing is sent */
    snprintf(slot6, sizeof slot6,
             "{\"slot\":\"6\",\"proposals\":[{\"id\":\"%s\",\"curator\":\"%s\"}]}", id, pubhex);
    F.routes[2].value = slot6;
    assert_int_equal(run(&out, &errs, argv, argc), 0);
    j = json_loads(out, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(j, "proposed")), 0);
    a = json_array_get(json_object_get(j, "already"), 0);
    assert_false(json_is_true(json_object_get(a, "pending")));
    json_decref(j);
    free(out);
    free(errs);
    assert_int_equal(F.n_broadcasts, 2);

    /* a chain rejection is reported by code name, exit 1, and forgotten */
    assert_int_equal(cli_keys_new(home, "cur2", pub, err, sizeof err), 0);
    F.routes[2].value = "{\"slot\":\"6\",\"proposals\":[]}";
    F.bc_code = 11;
    F.bc_log = "slot 6 already has 64 proposals";
    /* slots 7..9 have no route: the fake answers UNKNOWN_PATH, so ask for slot 6 only */
    char *argv3[] = { "sleetbubble", node,    ipfs,   "--home",  home, "schedule", "--library",
                      lib,           "--key", "cur2", "--slots", "1",  NULL };
    assert_int_equal(run(&out, &errs, argv3, 12), 1);
    assert_non_null(strstr(out, "rejected slot 6: PROPOSAL_LIMIT (code 11)"));
    assert_non_null(strstr(out, "summary: "));
    free(out);
    free(errs);
    snprintf(p, sizeof p, "%s/schedule/cur2.json", home);
    FILE *ix = fopen(p, "r");
    assert_non_null(ix);
    json_t *idx = json_loadf(ix, 0, NULL);
    fclose(ix);
    assert_int_equal(json_array_size(json_object_get(idx, "proposals")), 0);
    json_decref(idx);

    fake_node_stop(&F);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packing_fills_the_slot_without_exceeding_it),
        cmocka_unit_test(packing_is_optimal_against_brute_force),
        cmocka_unit_test(packing_many_candidates_stays_bounded_and_fills),
        cmocka_unit_test(rotation_keeps_tracks_out_of_the_next_k_proposals),
        cmocka_unit_test(index_round_trips_and_trim_is_bounded),
        cmocka_unit_test(scan_skips_bad_files_and_reindexes_changed_bytes),
        cmocka_unit_test(rerun_resends_the_journaled_tx_and_never_proposes_twice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
