/* test_app_guard.c - the app's guards against bad input. FinalizeBlock
 * height (protocol.md §2, §7): only the expected height (initial_height while nothing is committed,
 * else last committed + 1) is applied; any other is refused with one error line naming both
 * heights and the state left as it was. Rejected CheckTx: one line per tx at debug only.
 * Drives the callbacks in-process over a real SQLite store. */
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
#include "ed25519.h"
#include "log.h"
#include "sb_buf.h"
#include "sb_code.h"

#define CHAIN "guard-chain"
#define GENESIS_S 1700000000LL

typedef struct fx {
    app_harness h;
    uint8_t val_pub[32], cur_pub[32];
    FILE *log; /* sb_log lines of the test */
} fx;

static const abci_app_t *T;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    uint8_t seed[32];
    if (!f)
        return -1;
    memset(seed, 0x11, 32);
    if (sb_ed25519_pubkey(seed, f->val_pub) < 0)
        return -1;
    memset(seed, 0x22, 32);
    if (sb_ed25519_pubkey(seed, f->cur_pub) < 0)
        return -1;
    T = sb_app_abci();
    if (!(f->log = tmpfile()) || app_harness_init(&f->h, "sb-test-guard") < 0)
        return -1;
    sb_log_set_fd(fileno(f->log));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    sb_log_set_fd(2);
    fclose(f->log);
    int rc = app_harness_destroy(&f->h);
    free(f);
    return rc;
}

/* Number of lines logged so far containing needle. */
static int log_count(fx *f, const char *needle)
{
    char line[8192];
    int n = 0;
    rewind(f->log);
    while (fgets(line, sizeof(line), f->log))
        n += strstr(line, needle) != NULL;
    fseek(f->log, 0, SEEK_END);
    return n;
}

/* InitChain with one validator (power 10), one curator and the given initial_height. */
static void init_chain(fx *f, int64_t initial_height)
{
    char hex[65], as[256];
    sb_hex(f->cur_pub, 32, hex);
    snprintf(as, sizeof(as), "{\"curators\":[\"%s\"]}", hex);
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
    req.initial_height = initial_height;
    assert_int_equal(T->init_chain(f->h.app, f->h.ctx, &req, &res), 0);
    abci_ctx_reset(f->h.ctx);
}

/* An empty FinalizeBlock at `height` (block time GENESIS_S + height s); returns the callback's
 * rc and, when it succeeded and hash is not NULL, the app hash. */
static int finalize(fx *f, int64_t height, uint8_t hash[32])
{
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = GENESIS_S + height;
    Tendermint__Abci__RequestFinalizeBlock req = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock res = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    req.height = height;
    req.time = &ts;
    int rc = T->finalize_block(f->h.app, f->h.ctx, &req, &res);
    if (rc == 0 && hash) {
        assert_int_equal(res.app_hash.len, 32);
        memcpy(hash, res.app_hash.data, 32);
    }
    abci_ctx_reset(f->h.ctx);
    return rc;
}

static void commit(fx *f)
{
    Tendermint__Abci__RequestCommit req = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__ResponseCommit res = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
    assert_int_equal(T->commit(f->h.app, f->h.ctx, &req, &res), 0);
    abci_ctx_reset(f->h.ctx);
}

/* Blocks from..to, each finalized and committed. */
static void run_blocks(fx *f, int64_t from, int64_t to)
{
    for (int64_t h = from; h <= to; h++) {
        assert_int_equal(finalize(f, h, NULL), 0);
        commit(f);
    }
}

/* The durable state: meta height and app hash as a restarted process would read them. */
static void assert_durable(fx *f, int64_t height, const uint8_t hash[32])
{
    sb_meta m;
    assert_int_equal(sb_store_load_meta(f->h.store, &m), 0);
    assert_int_equal(m.height, height);
    assert_memory_equal(m.app_hash, hash, 32);
    sb_meta_free(&m);
    assert_int_equal(sb_app_height(f->h.app), height);
    assert_memory_equal(f->h.app->committed.app_hash, hash, 32);
}

static void block_two_ahead_is_refused_and_state_unchanged(void **state)
{
    fx *f = *state;
    uint8_t h2[32];
    init_chain(f, 1);
    run_blocks(f, 1, 2);
    memcpy(h2, f->h.app->committed.app_hash, 32);

    assert_int_equal(finalize(f, 4, NULL), -1);
    assert_int_equal(log_count(f, "finalize_block refused: expected height 3, got 4"), 1);
    assert_durable(f, 2, h2);
    assert_int_equal(f->h.app->pending, 0);
    assert_int_equal(sb_store_in_block(f->h.store), 0);
    /* a committed height is refused as well */
    assert_int_equal(finalize(f, 2, NULL), -1);
    assert_int_equal(log_count(f, "expected height 3, got 2"), 1);
    assert_durable(f, 2, h2);

    /* the expected height is applied */
    uint8_t h3[32];
    assert_int_equal(finalize(f, 3, h3), 0);
    commit(f);
    assert_durable(f, 3, h3);
    assert_memory_not_equal(h3, h2, 32);
}

static void refusal_leaves_a_staged_block_as_it_was(void **state)
{
    fx *f = *state;
    uint8_t staged[32];
    init_chain(f, 1);
    run_blocks(f, 1, 2);
    assert_int_equal(finalize(f, 3, staged), 0);
    /* the staged block 3 does not move the expected height: 4 is refused */
    assert_int_equal(finalize(f, 4, NULL), -1);
    assert_int_equal(log_count(f, "expected height 3, got 4"), 1);
    assert_int_equal(f->h.app->pending, 1);
    assert_int_equal(f->h.app->staged.height, 3);
    commit(f);
    assert_durable(f, 3, staged);
}

static void uncommitted_height_is_accepted_again_in_process_and_after_restart(void **state)
{
    fx *f = *state;
    uint8_t a[32], b[32], c[32];
    init_chain(f, 1);
    run_blocks(f, 1, 2);
    assert_int_equal(finalize(f, 3, a), 0);
    assert_int_equal(finalize(f, 3, b), 0); /* same height again: re-applied from committed */
    assert_memory_equal(a, b, 32);
    app_harness_close(&f->h); /* crash before Commit */
    app_harness_open(&f->h);
    assert_int_equal(finalize(f, 4, NULL), -1);
    assert_int_equal(finalize(f, 3, c), 0);
    assert_memory_equal(a, c, 32);
    commit(f);
    assert_durable(f, 3, a);
    assert_int_equal(log_count(f, "finalize_block refused"), 1);
}

static void before_first_commit_only_initial_height_is_accepted(void **state)
{
    fx *f = *state;
    uint8_t h5[32];
    init_chain(f, 5);
    const int64_t wrong[] = { 1, 4, 6 };
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        assert_int_equal(finalize(f, wrong[i], NULL), -1);
    assert_int_equal(log_count(f, "expected height 5, got 1"), 1);
    assert_int_equal(log_count(f, "expected height 5, got 4"), 1);
    assert_int_equal(log_count(f, "expected height 5, got 6"), 1);
    assert_int_equal(sb_app_height(f->h.app), 0);

    assert_int_equal(finalize(f, 5, h5), 0);
    commit(f);
    assert_durable(f, 5, h5);
    /* after a restart the next one is 6, from the committed height */
    app_harness_close(&f->h);
    app_harness_open(&f->h);
    assert_int_equal(finalize(f, 5, NULL), -1);
    assert_int_equal(finalize(f, 7, NULL), -1);
    assert_int_equal(log_count(f, "expected height 6, got 7"), 1);
    run_blocks(f, 6, 6);
    assert_int_equal(sb_app_height(f->h.app), 6);
}

static uint32_t check_tx(fx *f, const char *tx)
{
    Tendermint__Abci__RequestCheckTx req = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    Tendermint__Abci__ResponseCheckTx res = TENDERMINT__ABCI__RESPONSE_CHECK_TX__INIT;
    req.tx.data = (uint8_t *)tx;
    req.tx.len = strlen(tx);
    assert_int_equal(T->check_tx(f->h.app, f->h.ctx, &req, &res), 0);
    uint32_t code = res.code;
    abci_ctx_reset(f->h.ctx);
    return code;
}

static void rejected_check_tx_is_logged_per_tx_at_debug_only(void **state)
{
    fx *f = *state;
    init_chain(f, 1);
    run_blocks(f, 1, 1);
    sb_log_setup(SB_LOG_INFO, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(check_tx(f, "not a tx"), SB_ENCODING);
    assert_int_equal(log_count(f, "rejected tx"), 0);
    sb_log_setup(SB_LOG_DEBUG, 0);
    assert_int_equal(check_tx(f, "not a tx"), SB_ENCODING);
    sb_log_setup(SB_LOG_INFO, 0);
    assert_int_equal(log_count(f, "level=debug module=checktx msg=\"rejected tx "), 1);
    assert_int_equal(log_count(f, "code=1 ENCODING"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(block_two_ahead_is_refused_and_state_unchanged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refusal_leaves_a_staged_block_as_it_was, setup, teardown),
        cmocka_unit_test_setup_teardown(
            uncommitted_height_is_accepted_again_in_process_and_after_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(before_first_commit_only_initial_height_is_accepted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(rejected_check_tx_is_logged_per_tx_at_debug_only, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
