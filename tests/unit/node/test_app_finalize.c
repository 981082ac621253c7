/* test_app_finalize.c - FinalizeBlock of the ABCI application (src/node/app.c) at the size
 * limits genesis allows (protocol.md §6, §9): each test failed before its fix. Drives the
 * callbacks in-process over a real SQLite store with a genesis built here (not the SPEC
 * vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "app_harness.h"
#include "cid.h"
#include "ed25519.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "tx.h"

#define CHAIN "review-chain"
#define GENESIS_S 1700000000LL
#define NS 1000000000LL

typedef struct fx {
    app_harness h;
    uint8_t val_seed[32], val_pub[32];
    uint8_t cur_seed[32], cur_pub[32];
} fx;

static const abci_app_t *T;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    memset(f->val_seed, 0x11, 32);
    memset(f->cur_seed, 0x22, 32);
    if (sb_ed25519_pubkey(f->val_seed, f->val_pub) < 0 ||
        sb_ed25519_pubkey(f->cur_seed, f->cur_pub) < 0)
        return -1;
    T = sb_app_abci();
    if (app_harness_init(&f->h, "sb-test-review") < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    int rc = app_harness_destroy(&f->h);
    free(f);
    return rc;
}

/* InitChain: one validator (power 10), genesis time GENESIS_S, app_state = extra JSON members
 * (without braces) plus the fixture's curator. */
static void init_chain(fx *f, const char *extra)
{
    char hex[65], as[1024];
    sb_hex(f->cur_pub, 32, hex);
    snprintf(as, sizeof(as), "{%s%s\"curators\":[\"%s\"]}", extra, *extra ? "," : "", hex);
    Tendermint__Abci__RequestInitChain req = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__ResponseInitChain res = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    Tendermint__Abci__ValidatorUpdate vu = TENDERMINT__ABCI__VALIDATOR_UPDATE__INIT, *vp = &vu;
    Tendermint__Abci__PublicKey pk = TENDERMINT__ABCI__PUBLIC_KEY__INIT;
    pk.ed25519.data = f->val_pub;
    pk.ed25519.len = 32;
    vu.pub_key = &pk;
    vu.power = 10;
    ts.seconds = GENESIS_S;
    req.chain_id = CHAIN;
    req.time = &ts;
    req.validators = &vp;
    req.n_validators = 1;
    req.app_state_bytes.data = (uint8_t *)as;
    req.app_state_bytes.len = strlen(as);
    req.initial_height = 1;
    assert_int_equal(T->init_chain(f->h.app, f->h.ctx, &req, &res), 0);
    abci_ctx_reset(f->h.ctx);
}

/* FinalizeBlock (and Commit when it succeeded); returns the FinalizeBlock callback's rc.
 * codes[0..n) receive the tx result codes; *nslots the number of finalized slots. */
static int finalize(fx *f, int64_t height, int64_t time_ns, const sb_buf *txs, size_t n,
                    uint32_t *codes, size_t *nslots)
{
    ProtobufCBinaryData d[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        d[i].data = txs[i].data;
        d[i].len = txs[i].len;
    }
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = time_ns / NS;
    ts.nanos = (int32_t)(time_ns % NS);
    Tendermint__Abci__RequestFinalizeBlock req = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock res = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    req.txs = d;
    req.n_txs = n;
    req.height = height;
    req.time = &ts;
    int rc = T->finalize_block(f->h.app, f->h.ctx, &req, &res);
    if (rc == 0) {
        for (size_t i = 0; i < n && codes; i++)
            codes[i] = res.tx_results[i]->code;
        if (nslots)
            *nslots = res.n_events;
        Tendermint__Abci__RequestCommit cr = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
        Tendermint__Abci__ResponseCommit cres = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
        assert_int_equal(T->commit(f->h.app, f->h.ctx, &cr, &cres), 0);
    }
    abci_ctx_reset(f->h.ctx);
    return rc;
}

/* A proposal whose manifest is larger than 4 MiB: titles and artists of 256 '"' characters
 * (each escaped to two bytes in DAG-JSON) on thousands of tracks. Before the fix FinalizeBlock
 * built the manifest in a buffer capped at 4 MiB, failed, and returned an error - which closes
 * the ABCI connection and halts CometBFT on every node: any curator could stop a chain whose
 * genesis allows max_tracks >= ~3700 and max_tx_size >= ~2.2 MiB (both within the limits
 * genesis accepts). The manifest is a function of a body bounded by max_tx_size, so its
 * buffer must be bounded by the body, not by a constant. */
static void winner_with_manifest_over_4_mib_is_finalized_not_a_halt(void **state)
{
    fx *f = *state;
    enum { NTRACKS = 4000 };
    init_chain(f, "\"max_tracks\":10000,\"max_tx_size\":8388608");

    uint8_t bin[36] = { 0x01, 0x55, 0x12, 0x20 };
    char cid[SB_CID_STR_MAX], quotes[257];
    memset(bin + 4, 0x5a, 32);
    assert_int_equal(sb_cid_to_string(bin, sizeof(bin), cid, sizeof(cid)), 0);
    memset(quotes, '"', 256);
    quotes[256] = '\0';
    sb_track_in *tr = calloc(NTRACKS, sizeof(*tr));
    assert_non_null(tr);
    for (size_t i = 0; i < NTRACKS; i++)
        tr[i] = (sb_track_in){ cid, 1, quotes, quotes };
    sb_buf tx;
    uint8_t id[32];
    sb_buf_init(&tx, 8u << 20);
    assert_int_equal(sb_tx_build_proposal(CHAIN, 1, f->cur_seed, tr, NTRACKS, NULL, &tx, id), 0);
    free(tr);
    assert_true(tx.len < 8u << 20);

    uint32_t code = 99;
    size_t nslots = 0;
    /* block 1 at genesis time: the proposal for slot 1 is accepted, slot 0 finalizes NONE */
    assert_int_equal(finalize(f, 1, GENESIS_S * NS, &tx, 1, &code, &nslots), 0);
    assert_int_equal(code, SB_OK);
    assert_int_equal(nslots, 1);
    /* block 2 at close(1) = T0 + 1800 s - 300 s: slot 1 finalizes; curated, no votes ->
     * FALLBACK to the only proposal, whose manifest is > 4 MiB */
    assert_int_equal(finalize(f, 2, (GENESIS_S + 1500) * NS, NULL, 0, NULL, &nslots), 0);
    assert_int_equal(nslots, 1);
    sb_slot_record r;
    assert_int_equal(sb_store_get_slot(f->h.store, 0, 1, &r), 1);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
    assert_memory_equal(r.proposal_id, id, 32);
    assert_int_equal(r.manifest_cid_len, 37);
    sb_buf_free(&tx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(winner_with_manifest_over_4_mib_is_finalized_not_a_halt,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
