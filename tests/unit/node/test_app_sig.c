/* test_app_sig.c - signatures through the app's ABCI callbacks over a real SQLite store
 * (protocol.md §4, §4.1): the mixed-failure vectors (tests/vectors/sleetbubble-mixed.json)
 * through CheckTx, ProcessProposal and FinalizeBlock; the same chains (SPEC, extra and mixed
 * vectors) with the signature cache on, off and cold give identical codes, verdicts and app
 * hashes; with the cache on no signature is verified twice; the CheckTx stage returns facts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "abci/frame.h"
#include "app_harness.h"
#include "sb_code.h"
#include "sb_time.h"
#include "sigcache.h"

enum { MODE_ON, MODE_OFF, MODE_COLD, NMODES };
static const char *const mode_name[] = { "on", "off", "cold" };
static const abci_app_t *T;

static json_t *load(const char *name)
{
    char path[1024];
    json_error_t je;
    snprintf(path, sizeof(path), "%s/%s", SB_VECTORS_DIR, name);
    json_t *v = json_load_file(path, 0, &je);
    if (!v)
        fail_msg("%s: %s", path, je.text);
    return v;
}

static int64_t jnum(json_t *o, const char *k)
{
    return strtoll(json_string_value(json_object_get(o, k)), NULL, 10);
}

static Tendermint__Abci__Timestamp ts_of(int64_t t)
{
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t / 1000000000;
    ts.nanos = (int32_t)(t % 1000000000);
    return ts;
}

static void init_chain(app_harness *h, json_t *g)
{
    json_t *vals = json_object_get(g, "validators");
    size_t n = json_array_size(vals);
    Tendermint__Abci__RequestInitChain req = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__ResponseInitChain res = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
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
        vu[i].power = jnum(v, "power");
        vp[i] = &vu[i];
    }
    int64_t gt;
    assert_int_equal(
        sb_parse_rfc3339_ns(json_string_value(json_object_get(g, "genesis_time")), &gt), 0);
    Tendermint__Abci__Timestamp ts = ts_of(gt);
    char *as = json_dumps(json_object_get(g, "app_state"), JSON_COMPACT);
    req.chain_id = (char *)json_string_value(json_object_get(g, "chain_id"));
    req.time = &ts;
    req.validators = vp;
    req.n_validators = n;
    req.app_state_bytes.data = (uint8_t *)as;
    req.app_state_bytes.len = strlen(as);
    req.initial_height = jnum(g, "initial_height");
    assert_int_equal(T->init_chain(h->app, h->ctx, &req, &res), 0);
    free(as);
    abci_ctx_reset(h->ctx);
}

/* What one run of a vectors file produced, compared across cache modes. */
typedef struct run_out {
    int codes[1024], check[1024], pp[64];
    size_t ncodes, nblocks;
    char hash[64][65];
} run_out;

static ProtobufCBinaryData *block_txs(json_t *b, size_t *n)
{
    json_t *txs = json_object_get(b, "txs");
    *n = json_array_size(txs);
    ProtobufCBinaryData *d = calloc(*n ? *n : 1, sizeof(*d));
    assert_non_null(d);
    for (size_t i = 0; i < *n; i++) {
        const char *hex = json_string_value(json_array_get(txs, i));
        d[i].len = strlen(hex) / 2;
        d[i].data = malloc(d[i].len ? d[i].len : 1);
        assert_int_equal(sb_unhex(hex, d[i].data, d[i].len), 0);
    }
    return d;
}

/* The stage (as a server's worker runs it: it fills the cache) then CheckTx. A standalone ctx
 * hands check_tx no stage result, so check_tx finds the stage's verification in the cache. */
static int check_tx(app_harness *h, const ProtobufCBinaryData *d)
{
    Tendermint__Abci__RequestCheckTx req = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    Tendermint__Abci__ResponseCheckTx res = TENDERMINT__ABCI__RESPONSE_CHECK_TX__INIT;
    void *facts = NULL;
    req.tx = *d;
    assert_int_equal(T->check_tx_stage(h->app, h->ctx, &req, &facts), 0);
    abci_ctx_reset(h->ctx);
    assert_int_equal(T->check_tx(h->app, h->ctx, &req, &res), 0);
    abci_ctx_reset(h->ctx);
    return (int)res.code;
}

/* 1 ACCEPT, 0 REJECT. */
static int process(app_harness *h, ProtobufCBinaryData *d, size_t n, int64_t height, int64_t t)
{
    Tendermint__Abci__RequestProcessProposal req = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    Tendermint__Abci__ResponseProcessProposal res =
        TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__INIT;
    Tendermint__Abci__Timestamp ts = ts_of(t);
    req.txs = d;
    req.n_txs = n;
    req.height = height;
    req.time = &ts;
    assert_int_equal(T->process_proposal(h->app, h->ctx, &req, &res), 0);
    abci_ctx_reset(h->ctx);
    if (res.status == TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT)
        return 1;
    assert_int_equal(res.status,
                     TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__REJECT);
    return 0;
}

/* FinalizeBlock + Commit; codes into o, app hash hex into hash. */
static void finalize(app_harness *h, ProtobufCBinaryData *d, size_t n, int64_t height, int64_t t,
                     run_out *o, char hash[65])
{
    Tendermint__Abci__RequestFinalizeBlock req = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock res = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__Timestamp ts = ts_of(t);
    req.txs = d;
    req.n_txs = n;
    req.height = height;
    req.time = &ts;
    assert_int_equal(T->finalize_block(h->app, h->ctx, &req, &res), 0);
    assert_int_equal(res.n_tx_results, n);
    for (size_t i = 0; i < n; i++)
        o->codes[o->ncodes++] = (int)res.tx_results[i]->code;
    sb_hex(res.app_hash.data, 32, hash);
    abci_ctx_reset(h->ctx);
    Tendermint__Abci__RequestCommit cr = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__ResponseCommit cres = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
    assert_int_equal(T->commit(h->app, h->ctx, &cr, &cres), 0);
    abci_ctx_reset(h->ctx);
}

static uint64_t verifies(void)
{
    sb_sigcache_stats st;
    sb_sigcache_stats_get(NULL, &st);
    return st.verifies;
}

/* CheckTx, ProcessProposal, FinalizeBlock + Commit of one block; checks what the file says. */
static void run_block(app_harness *h, const char *file, int mode, json_t *b, size_t bi, run_out *o)
{
    size_t n;
    ProtobufCBinaryData *d = block_txs(b, &n);
    int64_t t = jnum(b, "time_ns"), height = json_integer_value(json_object_get(b, "height"));
    json_t *want_check = json_object_get(b, "check_tx_codes");
    size_t first = o->ncodes;
    assert_true(first + n <= 1024 && bi < 64);
    for (size_t i = 0; i < n; i++) {
        o->check[first + i] = check_tx(h, &d[i]);
        if (want_check &&
            o->check[first + i] != (int)json_integer_value(json_array_get(want_check, i)))
            fail_msg("%s cache %s block %zu tx %zu: CheckTx code %d, want %lld", file,
                     mode_name[mode], bi, i, o->check[first + i],
                     (long long)json_integer_value(json_array_get(want_check, i)));
    }
    if (mode == MODE_COLD)
        sb_sigcache_clear(h->app->sigcache);
    uint64_t v0 = verifies();
    o->pp[bi] = process(h, d, n, height, t);
    uint64_t v1 = verifies();
    finalize(h, d, n, height, t, o, o->hash[bi]);
    uint64_t v2 = verifies();
    if (mode == MODE_ON && v2 != v0)
        fail_msg("%s block %zu: %llu signatures verified again after CheckTx", file, bi,
                 (unsigned long long)(v2 - v0));
    if (mode == MODE_COLD && v2 != v1)
        fail_msg("%s block %zu: FinalizeBlock verified %llu signatures ProcessProposal had", file,
                 bi, (unsigned long long)(v2 - v1));
    const char *pp = json_string_value(json_object_get(b, "process_proposal"));
    if (pp && strcmp(pp, o->pp[bi] ? "ACCEPT" : "REJECT") != 0)
        fail_msg("%s block %zu: ProcessProposal %s, want %s", file, bi,
                 o->pp[bi] ? "ACCEPT" : "REJECT", pp);
    for (size_t i = 0; i < n; i++) {
        int want = (int)json_integer_value(json_array_get(json_object_get(b, "codes"), i));
        if (o->codes[first + i] != want)
            fail_msg("%s cache %s block %zu tx %zu: code %d, want %d", file, mode_name[mode], bi, i,
                     o->codes[first + i], want);
        free(d[i].data);
    }
    assert_string_equal(o->hash[bi], json_string_value(json_object_get(b, "app_hash")));
    free(d);
    o->nblocks = bi + 1;
}

static void run_file(const char *file, int mode, run_out *o)
{
    app_harness h = { 0 };
    json_t *v = load(file);
    memset(o, 0, sizeof(*o));
    h.sig_cache_entries = mode == MODE_OFF ? 0 : 4096;
    assert_int_equal(app_harness_init(&h, "sb-test-app-sig"), 0);
    assert_true(mode == MODE_OFF ? h.app->sigcache == NULL : h.app->sigcache != NULL);
    init_chain(&h, json_object_get(v, "genesis"));
    size_t bi;
    json_t *b;
    json_array_foreach(json_object_get(v, "blocks"), bi, b) run_block(&h, file, mode, b, bi, o);
    assert_true(o->nblocks > 0);
    assert_int_equal(app_harness_destroy(&h), 0);
    json_decref(v);
}

static void same_in_every_mode(const char *file)
{
    static run_out out[NMODES];
    for (int m = 0; m < NMODES; m++)
        run_file(file, m, &out[m]);
    for (int m = 1; m < NMODES; m++) {
        assert_int_equal(out[m].ncodes, out[0].ncodes);
        assert_memory_equal(out[m].codes, out[0].codes, out[0].ncodes * sizeof(int));
        assert_memory_equal(out[m].check, out[0].check, out[0].ncodes * sizeof(int));
        assert_memory_equal(out[m].pp, out[0].pp, out[0].nblocks * sizeof(int));
        assert_memory_equal(out[m].hash, out[0].hash, out[0].nblocks * 65);
    }
}

static void spec_vectors_same_with_cache_on_off_cold(void **state)
{
    same_in_every_mode("sleetbubble-v1.json");
}

static void extra_vectors_same_with_cache_on_off_cold(void **state)
{
    same_in_every_mode("sleetbubble-extra.json");
}

static void mixed_vectors_through_checktx_process_finalize(void **state)
{
    same_in_every_mode("sleetbubble-mixed.json");
}

/* Each mixed-vector tx alone in a proposal: REJECT iff its intended code is ENCODING or
 * SIGNATURE (protocol.md §4.1); and the stage's facts for it: decoded iff its code is not
 * ENCODING, a valid signature where the code says the signature passed. */
static void mixed_txs_alone_and_their_stage_facts(void **state)
{
    app_harness h = { .sig_cache_entries = 4096 };
    json_t *v = load("sleetbubble-mixed.json");
    assert_int_equal(app_harness_init(&h, "sb-test-app-sig"), 0);
    init_chain(&h, json_object_get(v, "genesis"));
    size_t bi, count = 0;
    json_t *b;
    json_array_foreach(json_object_get(v, "blocks"), bi, b)
    {
        size_t n;
        ProtobufCBinaryData *d = block_txs(b, &n);
        for (size_t i = 0; i < n; i++, count++) {
            int code = (int)json_integer_value(json_array_get(json_object_get(b, "codes"), i));
            int want = code != SB_ENCODING && code != SB_SIGNATURE;
            assert_int_equal(process(&h, &d[i], 1, 1, jnum(b, "time_ns")), want);
            Tendermint__Abci__RequestCheckTx req = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
            void *result = NULL;
            req.tx = d[i];
            assert_non_null(T->check_tx_stage);
            assert_int_equal(T->check_tx_stage(h.app, h.ctx, &req, &result), 0);
            const sb_sig_facts *f = result;
            assert_non_null(f);
            assert_int_equal(f->decoded, code != SB_ENCODING);
            assert_int_equal(f->verified, code != SB_ENCODING);
            if (code == SB_OK || code == SB_NOT_VALIDATOR || code == SB_CURATOR_NOT_ALLOWED)
                assert_int_equal(f->ok, 1);
            if (code == SB_SIGNATURE)
                assert_int_equal(f->ok, 0);
            abci_ctx_reset(h.ctx);
            free(d[i].data);
        }
        free(d);
    }
    assert_true(count >= 10);
    assert_int_equal(app_harness_destroy(&h), 0);
    json_decref(v);
}

/* ---- the same through the real server: CheckTx stages on its worker pool, maps on it ---- */

typedef struct srv_fx {
    struct event_base *base;
    abci_server *srv;
    pthread_t thread;
    int fd;
    uint8_t in[1 << 16];
    size_t inlen;
} srv_fx;

static void *loop_main(void *arg)
{
    event_base_loop(((srv_fx *)arg)->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void send_req(srv_fx *x, Tendermint__Abci__Request *r, const void *msg, int value_case)
{
    size_t len;
    r->value_case = value_case;
    r->echo = (void *)msg; /* the oneof's members share one pointer slot */
    uint8_t *f = abci_frame_encode(&r->base, &len);
    assert_non_null(f);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(x->fd, f + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    free(f);
}

static Tendermint__Abci__Response *recv_resp(srv_fx *x)
{
    for (;;) {
        abci_reader rd = { x->in, x->inlen, 0 };
        const uint8_t *body;
        uint64_t blen;
        abci_frame_status st = abci_frame_next(&rd, sizeof(x->in), &body, &blen);
        if (st == ABCI_FRAME_OK) {
            Tendermint__Abci__Response *r = tendermint__abci__response__unpack(NULL, blen, body);
            assert_non_null(r);
            memmove(x->in, x->in + rd.pos, x->inlen - rd.pos);
            x->inlen -= rd.pos;
            return r;
        }
        assert_int_equal(st, ABCI_FRAME_NEED_MORE);
        ssize_t got = read(x->fd, x->in + x->inlen, sizeof(x->in) - x->inlen);
        assert_true(got > 0);
        x->inlen += (size_t)got;
    }
}

/* One block of the mixed vectors through the server: every tx's CheckTx in one window, then
 * ProcessProposal, FinalizeBlock and Commit, each answered before the next is sent. */
static void server_block(srv_fx *x, json_t *b, size_t bi)
{
    size_t n;
    ProtobufCBinaryData *d = block_txs(b, &n);
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestCheckTx ct[64];
    Tendermint__Abci__RequestFlush fl = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        tendermint__abci__request_check_tx__init(&ct[i]);
        ct[i].tx = d[i];
        send_req(x, &r, &ct[i], TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX);
    }
    send_req(x, &r, &fl, TENDERMINT__ABCI__REQUEST__VALUE_FLUSH);
    for (size_t i = 0; i <= n; i++) {
        Tendermint__Abci__Response *res = recv_resp(x);
        if (i < n) {
            long long want =
                json_integer_value(json_array_get(json_object_get(b, "check_tx_codes"), i));
            if ((long long)res->check_tx->code != want)
                fail_msg("server block %zu tx %zu: CheckTx %u want %lld", bi, i,
                         res->check_tx->code, want);
        }
        tendermint__abci__response__free_unpacked(res, NULL);
    }
    int64_t t = jnum(b, "time_ns"), height = json_integer_value(json_object_get(b, "height"));
    Tendermint__Abci__Timestamp ts = ts_of(t);
    Tendermint__Abci__RequestProcessProposal pp = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    pp.txs = d;
    pp.n_txs = n;
    pp.height = height;
    pp.time = &ts;
    send_req(x, &r, &pp, TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL);
    send_req(x, &r, &fl, TENDERMINT__ABCI__REQUEST__VALUE_FLUSH);
    Tendermint__Abci__Response *res = recv_resp(x);
    const char *want_pp = json_string_value(json_object_get(b, "process_proposal"));
    assert_int_equal(res->process_proposal->status,
                     strcmp(want_pp, "ACCEPT") == 0
                         ? TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT
                         : TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__REJECT);
    tendermint__abci__response__free_unpacked(res, NULL);
    tendermint__abci__response__free_unpacked(recv_resp(x), NULL);
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__RequestCommit cm = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    fb.txs = d;
    fb.n_txs = n;
    fb.height = height;
    fb.time = &ts;
    send_req(x, &r, &fb, TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK);
    send_req(x, &r, &cm, TENDERMINT__ABCI__REQUEST__VALUE_COMMIT);
    send_req(x, &r, &fl, TENDERMINT__ABCI__REQUEST__VALUE_FLUSH);
    res = recv_resp(x);
    assert_int_equal(res->finalize_block->n_tx_results, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(res->finalize_block->tx_results[i]->code,
                         json_integer_value(json_array_get(json_object_get(b, "codes"), i)));
    char hex[65];
    sb_hex(res->finalize_block->app_hash.data, 32, hex);
    assert_string_equal(hex, json_string_value(json_object_get(b, "app_hash")));
    tendermint__abci__response__free_unpacked(res, NULL);
    tendermint__abci__response__free_unpacked(recv_resp(x), NULL); /* Commit */
    tendermint__abci__response__free_unpacked(recv_resp(x), NULL); /* Flush */
    for (size_t i = 0; i < n; i++)
        free(d[i].data);
    free(d);
}

static void mixed_vectors_through_the_server_and_its_pool(void **state)
{
    app_harness h = { .sig_cache_entries = 4096 };
    srv_fx *x = calloc(1, sizeof(*x));
    int sv[2];
    json_t *v = load("sleetbubble-mixed.json");
    assert_non_null(x);
    assert_int_equal(app_harness_init(&h, "sb-test-app-sig"), 0);
    init_chain(&h, json_object_get(v, "genesis"));
    abci_server_opts so = { .workers = 2 };
    assert_int_equal(evthread_use_pthreads(), 0);
    assert_non_null(x->base = event_base_new());
    assert_non_null(x->srv = abci_server_new(x->base, T, h.app, &so));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(abci_server_serve_fd(x->srv, sv[0], "test"), 0);
    x->fd = sv[1];
    assert_int_equal(pthread_create(&x->thread, NULL, loop_main, x), 0);
    size_t bi;
    json_t *b;
    json_array_foreach(json_object_get(v, "blocks"), bi, b) server_block(x, b, bi);
    close(x->fd);
    event_base_loopbreak(x->base);
    pthread_join(x->thread, NULL);
    abci_server_free(x->srv);
    event_base_free(x->base);
    free(x);
    assert_int_equal(app_harness_destroy(&h), 0);
    json_decref(v);
}

int main(void)
{
    T = sb_app_abci();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mixed_vectors_through_checktx_process_finalize),
        cmocka_unit_test(mixed_txs_alone_and_their_stage_facts),
        cmocka_unit_test(mixed_vectors_through_the_server_and_its_pool),
        cmocka_unit_test(spec_vectors_same_with_cache_on_off_cold),
        cmocka_unit_test(extra_vectors_same_with_cache_on_off_cold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
