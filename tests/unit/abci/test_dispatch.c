/* test_dispatch.c - method dispatch (abci/src/conn.c, protocol.md §2): safe defaults for NULL
 * callbacks, explicit statuses, callback errors, v0.38 and v1.0 wire forms, absent
 * sub-messages. Requests go over a real socket to a real server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abci/frame.h"
#include "harness.h"
#include "test_filter.h"

/* ---- tiny protobuf writer for hand-made wire bytes ---------------------------------------- */
typedef struct {
    uint8_t b[512];
    size_t n;
} pb;

static void pb_varint(pb *w, uint64_t v) { w->n += abci_varint_encode(v, w->b + w->n); }
static void pb_bytes(pb *w, unsigned field, const void *p, size_t len)
{
    pb_varint(w, (uint64_t)field << 3 | 2);
    pb_varint(w, len);
    memcpy(w->b + w->n, p, len);
    w->n += len;
}
static void pb_uint(pb *w, unsigned field, uint64_t v)
{
    pb_varint(w, (uint64_t)field << 3);
    pb_varint(w, v);
}
static void pb_msg(pb *w, unsigned field, const pb *m) { pb_bytes(w, field, m->b, m->n); }
static void send_pb_frame(client *c, const pb *req)
{
    pb f = { .n = 0 };
    pb_varint(&f, req->n);
    memcpy(f.b + f.n, req->b, req->n);
    f.n += req->n;
    assert_int_equal(client_send_raw(c, f.b, f.n), 0);
}

static void send_req(client *c, Tendermint__Abci__Request *r)
{
    assert_int_equal(client_send(c, r), 0);
}

static void send_flush(client *c)
{
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestFlush f;
    req_flush(&r, &f);
    send_req(c, &r);
}

static Tendermint__Abci__Response *recv_case(client *c, Tendermint__Abci__Response__ValueCase vc)
{
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, vc);
    return res;
}

#define REQ(r, CASE, field, Type, INIT)                            \
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT; \
    Type r##_m = INIT;                                             \
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_##CASE;        \
    r.field = &r##_m

/* ---- defaults ----------------------------------------------------------------------------- */

static void null_callbacks_answer_with_explicit_safe_defaults(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);

    uint8_t t1[10] = { 1 }, t2[10] = { 2 }, t3[10] = { 3 };
    ProtobufCBinaryData txs[3] = { { 10, t1 }, { 10, t2 }, { 10, t3 } };

    REQ(info, INFO, info, Tendermint__Abci__RequestInfo, TENDERMINT__ABCI__REQUEST_INFO__INIT);
    REQ(ic, INIT_CHAIN, init_chain, Tendermint__Abci__RequestInitChain,
        TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT);
    REQ(q, QUERY, query, Tendermint__Abci__RequestQuery, TENDERMINT__ABCI__REQUEST_QUERY__INIT);
    REQ(ct, CHECK_TX, check_tx, Tendermint__Abci__RequestCheckTx,
        TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT);
    REQ(pp, PREPARE_PROPOSAL, prepare_proposal, Tendermint__Abci__RequestPrepareProposal,
        TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT);
    pp_m.max_tx_bytes = 25; /* two of the three 10-byte txs: 12 bytes each with proto overhead */
    pp_m.n_txs = 3;
    pp_m.txs = txs;
    REQ(pp1, PREPARE_PROPOSAL, prepare_proposal, Tendermint__Abci__RequestPrepareProposal,
        TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT);
    pp1_m.max_tx_bytes = 23; /* 20 raw bytes would fit two, 24 proto bytes do not */
    pp1_m.n_txs = 3;
    pp1_m.txs = txs;
    REQ(pr, PROCESS_PROPOSAL, process_proposal, Tendermint__Abci__RequestProcessProposal,
        TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT);
    REQ(fb, FINALIZE_BLOCK, finalize_block, Tendermint__Abci__RequestFinalizeBlock,
        TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT);
    fb_m.n_txs = 3;
    fb_m.txs = txs;
    REQ(ev, EXTEND_VOTE, extend_vote, Tendermint__Abci__RequestExtendVote,
        TENDERMINT__ABCI__REQUEST_EXTEND_VOTE__INIT);
    REQ(vv0, VERIFY_VOTE_EXTENSION, verify_vote_extension,
        Tendermint__Abci__RequestVerifyVoteExtension,
        TENDERMINT__ABCI__REQUEST_VERIFY_VOTE_EXTENSION__INIT);
    REQ(vv1, VERIFY_VOTE_EXTENSION, verify_vote_extension,
        Tendermint__Abci__RequestVerifyVoteExtension,
        TENDERMINT__ABCI__REQUEST_VERIFY_VOTE_EXTENSION__INIT);
    vv1_m.vote_extension = txs[0];
    REQ(cm, COMMIT, commit, Tendermint__Abci__RequestCommit,
        TENDERMINT__ABCI__REQUEST_COMMIT__INIT);
    REQ(ls, LIST_SNAPSHOTS, list_snapshots, Tendermint__Abci__RequestListSnapshots,
        TENDERMINT__ABCI__REQUEST_LIST_SNAPSHOTS__INIT);
    REQ(os, OFFER_SNAPSHOT, offer_snapshot, Tendermint__Abci__RequestOfferSnapshot,
        TENDERMINT__ABCI__REQUEST_OFFER_SNAPSHOT__INIT);
    REQ(lc, LOAD_SNAPSHOT_CHUNK, load_snapshot_chunk, Tendermint__Abci__RequestLoadSnapshotChunk,
        TENDERMINT__ABCI__REQUEST_LOAD_SNAPSHOT_CHUNK__INIT);
    REQ(ac, APPLY_SNAPSHOT_CHUNK, apply_snapshot_chunk, Tendermint__Abci__RequestApplySnapshotChunk,
        TENDERMINT__ABCI__REQUEST_APPLY_SNAPSHOT_CHUNK__INIT);

    Tendermint__Abci__Request *all[] = { &info, &ic,  &q,   &ct, &pp, &pp1, &pr, &fb,
                                         &ev,   &vv0, &vv1, &cm, &ls, &os,  &lc, &ac };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        send_req(&c, all[i]);
    send_flush(&c);

    Tendermint__Abci__Response *r;
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_INFO);
    assert_int_equal(r->info->last_block_height, 0);
    assert_int_equal(r->info->last_block_app_hash.len, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_INIT_CHAIN);
    assert_int_equal(r->init_chain->app_hash.len, 0);
    assert_int_equal(r->init_chain->n_validators, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_QUERY);
    assert_int_equal(r->query->code, 1);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX);
    assert_int_equal(r->check_tx->code, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_PREPARE_PROPOSAL);
    assert_int_equal(r->prepare_proposal->n_txs, 2);
    assert_int_equal(r->prepare_proposal->txs[0].data[0], 1);
    assert_int_equal(r->prepare_proposal->txs[1].data[0], 2);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_PREPARE_PROPOSAL);
    assert_int_equal(r->prepare_proposal->n_txs, 1);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_PROCESS_PROPOSAL);
    assert_int_equal(r->process_proposal->status,
                     TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_FINALIZE_BLOCK);
    assert_int_equal(r->finalize_block->n_tx_results, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(r->finalize_block->tx_results[i]->code, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_EXTEND_VOTE);
    assert_int_equal(r->extend_vote->vote_extension.len, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_VERIFY_VOTE_EXTENSION);
    assert_int_equal(r->verify_vote_extension->status,
                     TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__ACCEPT);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_VERIFY_VOTE_EXTENSION);
    assert_int_equal(r->verify_vote_extension->status,
                     TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__REJECT);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_COMMIT);
    assert_int_equal(r->commit->retain_height, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_LIST_SNAPSHOTS);
    assert_int_equal(r->list_snapshots->n_snapshots, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_OFFER_SNAPSHOT);
    assert_int_equal(r->offer_snapshot->result,
                     TENDERMINT__ABCI__RESPONSE_OFFER_SNAPSHOT__RESULT__REJECT);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_LOAD_SNAPSHOT_CHUNK);
    assert_int_equal(r->load_snapshot_chunk->chunk.len, 0);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_APPLY_SNAPSHOT_CHUNK);
    assert_int_equal(r->apply_snapshot_chunk->result,
                     TENDERMINT__ABCI__RESPONSE_APPLY_SNAPSHOT_CHUNK__RESULT__ABORT);
    tendermint__abci__response__free_unpacked(r, NULL);
    r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    tendermint__abci__response__free_unpacked(r, NULL);
    client_close(&c);
    harness_stop(&h);
}

/* ---- app errors --------------------------------------------------------------------------- */

static int check_tx_fails(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                          Tendermint__Abci__ResponseCheckTx *res)
{
    return -5;
}

static void callback_error_closes_the_connection_with_the_method_named(void **state)
{
    harness h;
    const abci_app_t app = { .check_tx = check_tx_fails };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    REQ(ct, CHECK_TX, check_tx, Tendermint__Abci__RequestCheckTx,
        TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT);
    send_req(&c, &ct);
    send_flush(&c);
    assert_true(client_wait_closed(&c)); /* no response, never an exception */
    assert_true(harness_wait_log(&h, "application check_tx callback failed with -5", 2000));
    client_close(&c);
    harness_stop(&h);
}

static int process_proposal_forgets_status(void *app, abci_ctx *ctx,
                                           const Tendermint__Abci__RequestProcessProposal *req,
                                           Tendermint__Abci__ResponseProcessProposal *res)
{
    return 0;
}

static void unknown_status_from_a_callback_is_never_sent(void **state)
{
    harness h;
    const abci_app_t app = { .process_proposal = process_proposal_forgets_status };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    REQ(pr, PROCESS_PROPOSAL, process_proposal, Tendermint__Abci__RequestProcessProposal,
        TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT);
    send_req(&c, &pr);
    send_flush(&c);
    assert_null(client_recv(&c));
    assert_true(harness_wait_log(&h, "process_proposal callback left the status UNKNOWN", 2000));
    client_close(&c);
    harness_stop(&h);
}

/* ---- wire forms --------------------------------------------------------------------------- */

static int check_tx_reports_kind(void *app, abci_ctx *ctx,
                                 const Tendermint__Abci__RequestCheckTx *req,
                                 Tendermint__Abci__ResponseCheckTx *res)
{
    res->code = 10 + (uint32_t)abci_check_tx_kind_of(req);
    res->data = req->tx;
    return 0;
}

static void check_tx_kind_decodes_v038_field_2_and_v1_field_3(void **state)
{
    harness h;
    const abci_app_t app = { .check_tx = check_tx_reports_kind };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    /* field 2 / field 3 values as each CometBFT version sends them */
    const struct {
        unsigned field;
        uint64_t v;
        uint32_t want;
    } cases[] = {
        { 0, 0, 10 }, /* v0.38 NEW (zero, omitted on the wire) */
        { 2, 1, 11 }, /* v0.38 RECHECK */
        { 3, 2, 10 }, /* v1.0 CHECK */
        { 3, 1, 11 }, /* v1.0 RECHECK */
    };
    for (size_t i = 0; i < 4; i++) {
        pb in = { .n = 0 }, req = { .n = 0 };
        pb_bytes(&in, 1, "k=v", 3);
        if (cases[i].field)
            pb_uint(&in, cases[i].field, cases[i].v);
        pb_msg(&req, 8, &in); /* Request.check_tx = 8 */
        send_pb_frame(&c, &req);
    }
    send_flush(&c);
    for (size_t i = 0; i < 4; i++) {
        Tendermint__Abci__Response *r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX);
        assert_int_equal(r->check_tx->code, cases[i].want);
        assert_int_equal(r->check_tx->data.len, 3);
        assert_memory_equal(r->check_tx->data.data, "k=v", 3);
        tendermint__abci__response__free_unpacked(r, NULL);
    }
    tendermint__abci__response__free_unpacked(
        recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH), NULL);
    client_close(&c);
    harness_stop(&h);
}

/* InitChain: describe each validator as "power:type:keylen:firstbyte" in app_hash. */
static int init_chain_describes_validators(void *app, abci_ctx *ctx,
                                           const Tendermint__Abci__RequestInitChain *req,
                                           Tendermint__Abci__ResponseInitChain *res)
{
    char *s = abci_ctx_strdup(ctx, req->chain_id);
    for (size_t i = 0; s && i < req->n_validators; i++) {
        const Tendermint__Abci__ValidatorUpdate *v = req->validators[i];
        /* v0.38: pub_key message; v1.0: pub_key_bytes + pub_key_type */
        const ProtobufCBinaryData *k =
            v->pub_key_bytes.len ? &v->pub_key_bytes : &v->pub_key->ed25519;
        const char *type = v->pub_key_type[0]        ? v->pub_key_type
                           : v->pub_key->ed25519.len ? "ed25519(v0.38)"
                                                     : "none";
        s = abci_ctx_printf(ctx, "%s|%lld:%s:%zu:%d", s, (long long)v->power, type, k->len,
                            k->len ? k->data[0] : -1);
    }
    if (!s)
        return -1;
    res->app_hash.data = (uint8_t *)s;
    res->app_hash.len = strlen(s);
    return 0;
}

static void init_chain_decodes_both_validator_update_forms(void **state)
{
    harness h;
    const abci_app_t app = { .init_chain = init_chain_describes_validators };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    uint8_t key1[32], key2[32];
    memset(key1, 0xa1, sizeof key1);
    memset(key2, 0xb2, sizeof key2);

    pb pk = { .n = 0 }, v038 = { .n = 0 }, v1 = { .n = 0 }, ic = { .n = 0 }, req = { .n = 0 };
    pb_bytes(&pk, 1, key1, 32);     /* PublicKey.ed25519 */
    pb_msg(&v038, 1, &pk);          /* ValidatorUpdate.pub_key (v0.38) */
    pb_uint(&v038, 2, 10);          /* power */
    pb_uint(&v1, 2, 20);            /* power */
    pb_bytes(&v1, 3, key2, 32);     /* pub_key_bytes (v1.0) */
    pb_bytes(&v1, 4, "ed25519", 7); /* pub_key_type (v1.0) */
    pb_bytes(&ic, 2, "chain-x", 7); /* chain_id */
    pb_msg(&ic, 4, &v038);          /* validators */
    pb_msg(&ic, 4, &v1);
    pb_uint(&ic, 6, 1);   /* initial_height */
    pb_msg(&req, 5, &ic); /* Request.init_chain */
    send_pb_frame(&c, &req);
    send_flush(&c);

    Tendermint__Abci__Response *r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_INIT_CHAIN);
    char got[256];
    snprintf(got, sizeof got, "%.*s", (int)r->init_chain->app_hash.len,
             (const char *)r->init_chain->app_hash.data);
    assert_string_equal(got, "chain-x|10:ed25519(v0.38):32:161|20:ed25519:32:178");
    tendermint__abci__response__free_unpacked(r, NULL);
    client_close(&c);
    harness_stop(&h);
}

/* FinalizeBlock reads sub-messages without NULL checks; reports what it saw in app_hash. */
static int finalize_reads_everything(void *app, abci_ctx *ctx,
                                     const Tendermint__Abci__RequestFinalizeBlock *req,
                                     Tendermint__Abci__ResponseFinalizeBlock *res)
{
    const Tendermint__Abci__CommitInfo *ci = req->decided_last_commit;
    long long power = 0;
    for (size_t i = 0; i < ci->n_votes; i++)
        power += ci->votes[i]->validator->power;
    char *s = abci_ctx_printf(ctx, "h=%lld t=%lld.%d round=%d votes=%zu power=%lld mis=%lld",
                              (long long)req->height, (long long)req->time->seconds,
                              req->time->nanos, ci->round, ci->n_votes, power,
                              req->n_misbehavior ? (long long)req->misbehavior[0]->time->seconds +
                                                       req->misbehavior[0]->validator->power
                                                 : -1);
    if (!s)
        return -1;
    res->app_hash.data = (uint8_t *)s;
    res->app_hash.len = strlen(s);
    return 0;
}

static void absent_time_and_commit_info_read_as_empty_messages(void **state)
{
    harness h;
    const abci_app_t app = { .finalize_block = finalize_reads_everything };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);

    /* 1: only a height: no time, no decided_last_commit */
    pb fb = { .n = 0 }, req = { .n = 0 };
    pb_uint(&fb, 5, 7);
    pb_msg(&req, 20, &fb);
    send_pb_frame(&c, &req);

    /* 2: time set, a commit with a vote lacking its validator and one with power 5, and a
     * misbehavior with neither validator nor time */
    pb ts = { .n = 0 }, val = { .n = 0 }, vote_a = { .n = 0 }, vote_b = { .n = 0 }, ci = { .n = 0 },
       mis = { .n = 0 };
    pb_uint(&ts, 1, 1700000000);
    pb_uint(&ts, 2, 5);
    pb_uint(&val, 3, 5);
    pb_uint(&vote_a, 3, 2); /* block_id_flag COMMIT, no validator */
    pb_msg(&vote_b, 1, &val);
    pb_uint(&vote_b, 3, 2);
    pb_uint(&ci, 1, 3); /* round */
    pb_msg(&ci, 2, &vote_a);
    pb_msg(&ci, 2, &vote_b);
    pb_uint(&mis, 1, 1); /* DUPLICATE_VOTE */
    fb.n = req.n = 0;
    pb_msg(&fb, 2, &ci);
    pb_msg(&fb, 3, &mis);
    pb_uint(&fb, 5, 8);
    pb_msg(&fb, 6, &ts);
    pb_msg(&req, 20, &fb);
    send_pb_frame(&c, &req);
    send_flush(&c);

    const char *want[] = {
        "h=7 t=0.0 round=0 votes=0 power=0 mis=-1",
        "h=8 t=1700000000.5 round=3 votes=2 power=5 mis=0",
    };
    for (int i = 0; i < 2; i++) {
        Tendermint__Abci__Response *r =
            recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_FINALIZE_BLOCK);
        char got[256];
        snprintf(got, sizeof got, "%.*s", (int)r->finalize_block->app_hash.len,
                 (const char *)r->finalize_block->app_hash.data);
        assert_string_equal(got, want[i]);
        tendermint__abci__response__free_unpacked(r, NULL);
    }
    client_close(&c);
    harness_stop(&h);
}

static int echo_like_query(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestQuery *req,
                           Tendermint__Abci__ResponseQuery *res)
{
    res->key = req->data; /* borrowed from the request: valid until packed */
    res->value.data = abci_ctx_memdup(ctx, req->data.data, req->data.len);
    res->value.len = req->data.len;
    res->log = abci_ctx_printf(ctx, "path=%s peer=%.3s", req->path, abci_ctx_peer(ctx));
    res->height = req->height;
    return res->log && res->value.data ? 0 : -1;
}

static void responses_may_borrow_request_and_arena_memory(void **state)
{
    harness h;
    const abci_app_t app = { .query = echo_like_query };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "unix", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    REQ(q, QUERY, query, Tendermint__Abci__RequestQuery, TENDERMINT__ABCI__REQUEST_QUERY__INIT);
    static uint8_t key[100000];
    memset(key, 'k', sizeof key);
    q_m.data.data = key;
    q_m.data.len = sizeof key;
    q_m.path = (char *)"/store";
    q_m.height = 42;
    for (int i = 0; i < 20; i++)
        send_req(&c, &q);
    send_flush(&c);
    for (int i = 0; i < 20; i++) {
        Tendermint__Abci__Response *r = recv_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_QUERY);
        assert_int_equal(r->query->key.len, sizeof key);
        assert_int_equal(r->query->value.len, sizeof key);
        assert_memory_equal(r->query->value.data, key, sizeof key);
        assert_string_equal(r->query->log, "path=/store peer=uni");
        assert_int_equal(r->query->height, 42);
        tendermint__abci__response__free_unpacked(r, NULL);
    }
    client_close(&c);
    harness_stop(&h);
}

int main(void)
{
    harness_global_init();
    abci_test_filter_from_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_callbacks_answer_with_explicit_safe_defaults),
        cmocka_unit_test(callback_error_closes_the_connection_with_the_method_named),
        cmocka_unit_test(unknown_status_from_a_callback_is_never_sent),
        cmocka_unit_test(check_tx_kind_decodes_v038_field_2_and_v1_field_3),
        cmocka_unit_test(init_chain_decodes_both_validator_update_forms),
        cmocka_unit_test(absent_time_and_commit_info_read_as_empty_messages),
        cmocka_unit_test(responses_may_borrow_request_and_arena_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
