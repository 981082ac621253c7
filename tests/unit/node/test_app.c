/* test_app.c - the whole state machine through its ABCI callbacks over a real SQLite store:
 * SPEC vectors (codes, finalized slots, app hashes), queries (§8), events, durability
 * (restart after Commit, crash between FinalizeBlock and Commit) and the mempool view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "app_harness.h"
#include "pin_store.h"
#include "params.h"
#include "sb_time.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "tx.h"

#ifndef SB_VECTORS_FILE
#error "SB_VECTORS_FILE must name sleetbubble-v1.json"
#endif

typedef struct fx {
    app_harness h;
    json_t *vec;
} fx;

static const abci_app_t *T;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    json_error_t je;
    if (!f)
        return -1;
    f->vec = json_load_file(SB_VECTORS_FILE, 0, &je);
    if (!f->vec) {
        fprintf(stderr, "%s: %s\n", SB_VECTORS_FILE, je.text);
        return -1;
    }
    T = sb_app_abci();
    if (app_harness_init(&f->h, "sb-test-app") < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int rc = app_harness_destroy(&f->h);
    json_decref(f->vec);
    free(f);
    return rc;
}

static size_t unhex_alloc(const char *hex, uint8_t **out)
{
    size_t n = strlen(hex) / 2;
    char *tmp = strndup(hex, 2 * n);
    *out = malloc(n ? n : 1);
    assert_non_null(*out);
    assert_int_equal(sb_unhex(tmp, *out, n), 0);
    free(tmp);
    return n;
}

static void hex32(const uint8_t *p, char out[65]) { sb_hex(p, 32, out); }

/* InitChain from the vectors' genesis; returns H_0 hex. */
static void init_chain(fx *f, char h0[65])
{
    json_t *g = json_object_get(f->vec, "genesis");
    json_t *vals = json_object_get(g, "validators");
    size_t n = json_array_size(vals);
    Tendermint__Abci__RequestInitChain req = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__ResponseInitChain res = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    Tendermint__Abci__ValidatorUpdate vu[8], *vp[8];
    Tendermint__Abci__PublicKey pk[8];
    uint8_t keys[8][48];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(vals, i);
        const char *b64 =
            json_string_value(json_object_get(json_object_get(v, "pub_key"), "value"));
        assert_int_equal(EVP_DecodeBlock(keys[i], (const unsigned char *)b64, (int)strlen(b64)),
                         33);
        tendermint__abci__validator_update__init(&vu[i]);
        tendermint__abci__public_key__init(&pk[i]);
        pk[i].ed25519.data = keys[i];
        pk[i].ed25519.len = 32;
        vu[i].pub_key = &pk[i];
        vu[i].power = strtoll(json_string_value(json_object_get(v, "power")), NULL, 10);
        vp[i] = &vu[i];
    }
    int64_t gt;
    assert_int_equal(
        sb_parse_rfc3339_ns(json_string_value(json_object_get(g, "genesis_time")), &gt), 0);
    ts.seconds = gt / 1000000000;
    ts.nanos = (int32_t)(gt % 1000000000);
    char *as = json_dumps(json_object_get(g, "app_state"), JSON_COMPACT);
    req.chain_id = (char *)json_string_value(json_object_get(g, "chain_id"));
    req.time = &ts;
    req.validators = vp;
    req.n_validators = n;
    req.app_state_bytes.data = (uint8_t *)as;
    req.app_state_bytes.len = strlen(as);
    req.initial_height = 1;
    assert_int_equal(T->init_chain(f->h.app, f->h.ctx, &req, &res), 0);
    assert_int_equal(res.app_hash.len, 32);
    hex32(res.app_hash.data, h0);
    free(as);
}

static const char *attr(const Tendermint__Abci__Event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attributes; i++)
        if (strcmp(e->attributes[i]->key, key) == 0) {
            assert_true(e->attributes[i]->index);
            return e->attributes[i]->value;
        }
    return NULL;
}

/* FinalizeBlock block i of the vectors; checks codes, finalized slots and app hash. */
static void run_block(fx *f, size_t bi, int commit)
{
    json_t *b = json_array_get(json_object_get(f->vec, "blocks"), bi);
    json_t *txs = json_object_get(b, "txs");
    size_t n = json_array_size(txs);
    ProtobufCBinaryData *d = calloc(n ? n : 1, sizeof(*d));
    for (size_t i = 0; i < n; i++)
        d[i].len = unhex_alloc(json_string_value(json_array_get(txs, i)), &d[i].data);
    int64_t t = strtoll(json_string_value(json_object_get(b, "time_ns")), NULL, 10);
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t / 1000000000;
    ts.nanos = (int32_t)(t % 1000000000);
    Tendermint__Abci__RequestFinalizeBlock req = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock res = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    req.txs = d;
    req.n_txs = n;
    req.height = json_integer_value(json_object_get(b, "height"));
    req.time = &ts;
    assert_int_equal(T->finalize_block(f->h.app, f->h.ctx, &req, &res), 0);

    json_t *codes = json_object_get(b, "codes");
    assert_int_equal(res.n_tx_results, n);
    for (size_t i = 0; i < n; i++) {
        int want = (int)json_integer_value(json_array_get(codes, i));
        if ((int)res.tx_results[i]->code != want)
            fail_msg("block %zu tx %zu: code %u (%s), want %d", bi + 1, i, res.tx_results[i]->code,
                     res.tx_results[i]->log ? res.tx_results[i]->log : "", want);
        if (want == 0) {
            assert_int_equal(res.tx_results[i]->n_events, 1);
        } else {
            assert_string_equal(res.tx_results[i]->codespace, SB_CODESPACE);
            assert_non_null(res.tx_results[i]->log);
        }
    }
    json_t *fin = json_object_get(b, "finalized");
    assert_int_equal(res.n_events, json_array_size(fin));
    for (size_t i = 0; i < res.n_events; i++) {
        json_t *w = json_array_get(fin, i);
        const Tendermint__Abci__Event *e = res.events[i];
        assert_string_equal(e->type, "sleetbubble.slot_finalized");
        char slot[24];
        snprintf(slot, sizeof(slot), "%lld",
                 (long long)json_integer_value(json_object_get(w, "slot")));
        assert_string_equal(attr(e, "slot"), slot);
        assert_string_equal(attr(e, "outcome"), json_string_value(json_object_get(w, "outcome")));
        assert_string_equal(attr(e, "winner"), json_string_value(json_object_get(w, "winner")));
        assert_string_equal(attr(e, "manifest_cid"),
                            json_string_value(json_object_get(w, "manifest_cid")));
    }
    char got[65];
    assert_int_equal(res.app_hash.len, 32);
    hex32(res.app_hash.data, got);
    assert_string_equal(got, json_string_value(json_object_get(b, "app_hash")));
    for (size_t i = 0; i < n; i++)
        free(d[i].data);
    free(d);
    if (commit) {
        Tendermint__Abci__RequestCommit cr = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
        Tendermint__Abci__ResponseCommit cres = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
        assert_int_equal(T->commit(f->h.app, f->h.ctx, &cr, &cres), 0);
        assert_int_equal(cres.retain_height, 0);
    }
    abci_ctx_reset(f->h.ctx);
}

static void info(fx *f, int64_t *height, char hash[65])
{
    Tendermint__Abci__RequestInfo req = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    Tendermint__Abci__ResponseInfo res = TENDERMINT__ABCI__RESPONSE_INFO__INIT;
    assert_int_equal(T->info(f->h.app, f->h.ctx, &req, &res), 0);
    *height = res.last_block_height;
    hash[0] = '\0';
    if (res.last_block_app_hash.len == 32)
        hex32(res.last_block_app_hash.data, hash);
}

/* abci_query; returns the code, *value (malloc'd JSON text or NULL). */
static int query(fx *f, const char *path, int64_t height, char **value)
{
    Tendermint__Abci__RequestQuery req = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    Tendermint__Abci__ResponseQuery res = TENDERMINT__ABCI__RESPONSE_QUERY__INIT;
    req.path = (char *)path;
    req.height = height;
    assert_int_equal(T->query(f->h.app, f->h.ctx, &req, &res), 0);
    if (value)
        *value = res.value.len ? strndup((const char *)res.value.data, res.value.len) : NULL;
    int code = (int)res.code;
    abci_ctx_reset(f->h.ctx);
    return code;
}

static const char *vblock_hash(fx *f, size_t bi)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(f->vec, "blocks"), bi), "app_hash"));
}

static void spec_vectors_replay_to_every_app_hash(void **state)
{
    fx *f = *state;
    char h0[65];
    init_chain(f, h0);
    assert_string_equal(h0, json_string_value(json_object_get(f->vec, "H_0")));
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 0; i < nb; i++)
        run_block(f, i, 1);
    int64_t h;
    char hash[65];
    info(f, &h, hash);
    assert_int_equal(h, (int64_t)nb);
    assert_string_equal(hash, vblock_hash(f, nb - 1));
}

static void state_survives_restart_after_commit(void **state)
{
    fx *f = *state;
    char h0[65], hash[65];
    int64_t h;
    init_chain(f, h0);
    run_block(f, 0, 1);
    run_block(f, 1, 1);
    app_harness_close(&f->h);
    app_harness_open(&f->h);
    info(f, &h, hash);
    assert_int_equal(h, 2);
    assert_string_equal(hash, vblock_hash(f, 1));
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 2; i < nb; i++)
        run_block(f, i, 1);
}

static void crash_between_finalize_and_commit_replays_to_same_hash(void **state)
{
    fx *f = *state;
    char h0[65], hash[65];
    int64_t h;
    init_chain(f, h0);
    run_block(f, 0, 1);
    run_block(f, 1, 0); /* FinalizeBlock 2, then "crash" before Commit */
    app_harness_close(&f->h);
    app_harness_open(&f->h);
    info(f, &h, hash);
    assert_int_equal(h, 1);
    assert_string_equal(hash, vblock_hash(f, 0));
    run_block(f, 1, 1); /* CometBFT replays block 2 */
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 2; i < nb; i++)
        run_block(f, i, 1);
}

static void crash_before_first_commit_forgets_init_chain(void **state)
{
    fx *f = *state;
    char h0[65], hash[65];
    int64_t h;
    init_chain(f, h0);
    run_block(f, 0, 0);
    app_harness_close(&f->h);
    app_harness_open(&f->h);
    info(f, &h, hash);
    assert_int_equal(h, 0);
    assert_string_equal(hash, "");
    init_chain(f, h0); /* CometBFT sends InitChain again while Info says 0 */
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 0; i < nb; i++)
        run_block(f, i, 1);
}

static void queries_answer_every_path_with_spec_codes(void **state)
{
    fx *f = *state;
    char h0[65], *v = NULL;
    init_chain(f, h0);
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 0; i < nb; i++)
        run_block(f, i, 1);

    assert_int_equal(query(f, "/params", 0, &v), 0);
    assert_non_null(strstr(v, "sleetbubble-vectors"));
    free(v);
    assert_int_equal(query(f, "/slot/current", 0, &v), 0);
    assert_non_null(strstr(v, "\"slot\""));
    free(v);
    assert_int_equal(query(f, "/slot/2", (int64_t)nb, &v), 0);
    assert_non_null(strstr(v, "SUPERMAJORITY"));
    assert_non_null(strstr(v, "95fb34ea900ca1a6ac5c3ade502eae36e194724fc4d695c0206a13251a71cd6e"));
    /* the winner's vote: validator 1 (power 30) listed, its power summed per proposal */
    assert_non_null(
        strstr(v, "\"power_for\":\"30\",\"tracks\":2,\"voters\":["
                  "\"d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737\"]"));
    free(v);
    assert_int_equal(query(f, "/winner/2", 0, &v), 0);
    assert_non_null(strstr(v, "baguqeera77cdgty5oe3m2xrcn67pe5kqkgxvvuoraf55xi6ntxvfaqoxaqoq"));
    assert_non_null(strstr(v, "\"tracks\":[{"));
    free(v);
    assert_int_equal(query(f, "/winner/4", 0, &v), 0); /* REPEAT carries slot 3's playlist */
    assert_non_null(strstr(v, "REPEAT"));
    assert_non_null(strstr(v, "bafkreifjzisco6j47mzkunxwv6vhacrr6fsjcg4pq3j3tcdh2wjnp6q2v4"));
    free(v);
    assert_int_equal(
        query(f, "/proposal/95fb34ea900ca1a6ac5c3ade502eae36e194724fc4d695c0206a13251a71cd6e", 0,
              &v),
        0);
    assert_non_null(strstr(v, "\"slot\":\"2\""));
    free(v);
    assert_int_equal(query(f, "/validators", 0, &v), 0);
    assert_non_null(strstr(v, "\"total_power\":\"40\""));
    free(v);
    assert_int_equal(query(f, "/pins/2", 0, &v), 0); /* no worker has run: nothing queued */
    assert_non_null(strstr(v, "\"node_local\":true"));
    assert_non_null(strstr(v, "\"state\":\"not_queued\""));
    assert_null(strstr(v, "\"state\":\"queued\""));
    free(v);
    { /* the pin worker ingests the committed slots into its own file; /pins reads it */
        char err[256];
        sb_pinstore *ps = NULL;
        size_t ns = 0, nj = 0;
        assert_int_equal(sb_pinstore_open(f->h.pins, f->h.db, &ps, err, sizeof(err)), 0);
        assert_int_equal(sb_pinstore_ingest(ps, 0, 64, &ns, &nj), 0);
        assert_true(nj > 0);
        sb_pinstore_close(ps);
    }
    assert_int_equal(query(f, "/pins/2", 0, &v), 0);
    assert_non_null(strstr(v, "\"state\":\"queued\""));
    assert_null(strstr(v, "not_queued"));
    free(v);

    assert_int_equal(query(f, "/winner/99", 0, NULL), SB_NOT_FOUND);
    assert_int_equal(query(f, "/proposal/00", 0, NULL), SB_NOT_FOUND);
    assert_int_equal(query(f, "/nope", 0, NULL), SB_UNKNOWN_PATH);
    assert_int_equal(query(f, "/slot/x", 0, NULL), SB_UNKNOWN_PATH);
    assert_int_equal(query(f, "/params", 1, NULL), SB_HEIGHT_UNAVAILABLE);
}

/* /schedule/<n> (protocol.md §14) over the vectors: T0 = 2026-11-23T00:00:00.25Z =
 * 1795392000250000000 ns, L = 20 s, so slot 2 runs 1795392040250000000 .. 1795392060250000000;
 * its two 1000 ms tracks start at 0 and 1000 ms of a 2000 ms pass. Slot 1 is NONE, slot 4 a
 * REPEAT of slot 3's one-track playlist, slot 99 not finalized. */
static void schedule_query_gives_the_programme_of_a_finalized_slot(void **state)
{
    fx *f = *state;
    char h0[65], *v = NULL;
    assert_int_equal(query(f, "/schedule/2", 0, NULL), SB_NOT_FOUND); /* before InitChain */
    init_chain(f, h0);
    size_t nb = json_array_size(json_object_get(f->vec, "blocks"));
    for (size_t i = 0; i < nb; i++)
        run_block(f, i, 1);
    assert_int_equal(query(f, "/schedule/2", 0, &v), 0);
    assert_string_equal(
        v, "{\"end_ns\":\"1795392060250000000\","
           "\"manifest_cid\":\"baguqeera77cdgty5oe3m2xrcn67pe5kqkgxvvuoraf55xi6ntxvfaqoxaqoq\","
           "\"outcome\":\"SUPERMAJORITY\",\"slot\":\"2\",\"start_ns\":\"1795392040250000000\","
           "\"total_ms\":2000,\"tracks\":["
           "{\"artist\":\"Test "
           "Artist\",\"cid\":\"bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se\","
           "\"duration_ms\":1000,\"index\":0,\"offset_ms\":0,\"title\":\"Track 0\"},"
           "{\"artist\":\"Test "
           "Artist\",\"cid\":\"bafkreibbuufrxrddfjbrq5levosv5lty2xs5q3hmj4bokl6p7dqwc5bh6a\","
           "\"duration_ms\":1000,\"index\":1,\"offset_ms\":1000,\"title\":\"Track 1\"}]}");
    free(v);
    assert_int_equal(query(f, "/schedule/1", 0, &v), 0);
    assert_string_equal(
        v, "{\"end_ns\":\"1795392040250000000\",\"manifest_cid\":null,\"outcome\":\"NONE\","
           "\"slot\":\"1\",\"start_ns\":\"1795392020250000000\",\"total_ms\":0,\"tracks\":[]}");
    free(v);
    assert_int_equal(query(f, "/schedule/4", 0, &v), 0);
    assert_non_null(strstr(v, "\"outcome\":\"REPEAT\""));
    assert_non_null(strstr(v, "\"start_ns\":\"1795392080250000000\""));
    assert_non_null(
        strstr(v, "\"tracks\":[{\"artist\":\"Test Artist\","
                  "\"cid\":\"bafkreifjzisco6j47mzkunxwv6vhacrr6fsjcg4pq3j3tcdh2wjnp6q2v4\","
                  "\"duration_ms\":1000,\"index\":0,\"offset_ms\":0,"
                  "\"title\":\"Track 0\"}]"));
    free(v);
    assert_int_equal(query(f, "/schedule/99", 0, NULL), SB_NOT_FOUND);
    assert_int_equal(query(f, "/schedule/x", 0, NULL), SB_UNKNOWN_PATH);
    assert_int_equal(query(f, "/schedule/", 0, NULL), SB_UNKNOWN_PATH);
}

/* CheckTx: a second proposal by the same curator for a slot already in this node's mempool
 * view is DUPLICATE; after Commit the view is cleared and RECHECK rebuilds it. */
/* CheckTx of tx as a new tx (recheck 0), a v0.38 RECHECK (1) or a v1.0 RECHECK (2); returns
 * the code (a non-zero code must carry the codespace and a log naming it). */
static int check_tx(fx *f, const sb_buf *tx, int recheck)
{
    Tendermint__Abci__RequestCheckTx req = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    Tendermint__Abci__ResponseCheckTx res = TENDERMINT__ABCI__RESPONSE_CHECK_TX__INIT;
    req.tx.data = tx->data;
    req.tx.len = tx->len;
    if (recheck == 1)
        req.type = TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK;
    if (recheck == 2)
        req.type_v1 = 1;
    assert_int_equal(T->check_tx(f->h.app, f->h.ctx, &req, &res), 0);
    int code = (int)res.code;
    if (code != 0) {
        assert_string_equal(res.codespace, SB_CODESPACE);
        assert_non_null(strstr(res.log, sb_code_name(code)));
    }
    abci_ctx_reset(f->h.ctx);
    return code;
}

/* FinalizeBlock `height` at t_ns with txs[0..n) (each must get code 0), then Commit. */
static void finalize_and_commit(fx *f, int64_t height, int64_t t_ns, const sb_buf *txs, size_t n)
{
    ProtobufCBinaryData d[4];
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        d[i].data = txs[i].data;
        d[i].len = txs[i].len;
    }
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t_ns / 1000000000;
    ts.nanos = (int32_t)(t_ns % 1000000000);
    Tendermint__Abci__RequestFinalizeBlock req = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock res = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    req.txs = d;
    req.n_txs = n;
    req.height = height;
    req.time = &ts;
    assert_int_equal(T->finalize_block(f->h.app, f->h.ctx, &req, &res), 0);
    assert_int_equal(res.n_tx_results, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(res.tx_results[i]->code, 0);
    abci_ctx_reset(f->h.ctx);
    Tendermint__Abci__RequestCommit cr = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__ResponseCommit cres = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
    assert_int_equal(T->commit(f->h.app, f->h.ctx, &cr, &cres), 0);
    abci_ctx_reset(f->h.ctx);
}

/* protocol.md §4: CheckTx refuses a second proposal already in the mempool view; the view is cleared
 * at every Commit and rebuilt from the RECHECKs that follow. a and b are two proposals of the
 * same curator for slot 3 (only one may ever be accepted). */
static void checktx_mempool_view_refuses_duplicates_until_commit(void **state)
{
    fx *f = *state;
    char h0[65];
    init_chain(f, h0);
    uint8_t seed[32];
    memset(seed, 0xa1, 32);
    sb_track_in t1 = { "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am", 1000, "A",
                       "B" };
    sb_buf a, b;
    uint8_t id[32];
    sb_buf_init(&a, 1 << 16);
    sb_buf_init(&b, 1 << 16);
    assert_int_equal(sb_tx_build_proposal("sleetbubble-vectors", 3, seed, &t1, 1, "one", &a, id),
                     0);
    assert_int_equal(sb_tx_build_proposal("sleetbubble-vectors", 3, seed, &t1, 1, "two", &b, id),
                     0);
    int64_t t0 = strtoll(json_string_value(json_object_get(
                             json_array_get(json_object_get(f->vec, "blocks"), 0), "time_ns")),
                         NULL, 10);

    /* a enters the mempool; b is refused because of it (nothing is committed yet) */
    assert_int_equal(check_tx(f, &a, 0), 0);
    assert_int_equal(check_tx(f, &b, 0), SB_DUPLICATE);

    /* height 1 without a; a stays in the mempool and is rechecked: accepted again, and the
     * rebuilt view refuses b again */
    finalize_and_commit(f, 1, t0, NULL, 0);
    assert_int_equal(check_tx(f, &a, 1), 0);
    assert_int_equal(check_tx(f, &b, 0), SB_DUPLICATE);

    /* height 2 without a, and a is evicted (no RECHECK): the view is empty, b is accepted */
    finalize_and_commit(f, 2, t0 + 1000000000, NULL, 0);
    assert_int_equal(check_tx(f, &b, 0), 0);
    assert_int_equal(check_tx(f, &a, 0), SB_DUPLICATE);

    /* height 3 commits b: a RECHECK of a (v1.0 field) and a new a are refused by committed
     * state, and so is b itself */
    finalize_and_commit(f, 3, t0 + 2000000000, &b, 1);
    assert_int_equal(check_tx(f, &a, 2), SB_DUPLICATE);
    assert_int_equal(check_tx(f, &a, 0), SB_DUPLICATE);
    assert_int_equal(check_tx(f, &b, 0), SB_DUPLICATE);
    sb_buf_free(&a);
    sb_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(spec_vectors_replay_to_every_app_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(state_survives_restart_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_between_finalize_and_commit_replays_to_same_hash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(crash_before_first_commit_forgets_init_chain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(schedule_query_gives_the_programme_of_a_finalized_slot,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(queries_answer_every_path_with_spec_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(checktx_mempool_view_refuses_duplicates_until_commit, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
