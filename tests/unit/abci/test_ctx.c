/* test_ctx.c - per-request arena and CheckTx kind normalisation (abci.h, protocol.md §2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "abci/ctx.h"

static void arena_memory_is_zeroed_and_aligned(void **state)
{
    abci_ctx *ctx = abci_ctx_new("tcp 127.0.0.1:1");
    assert_non_null(ctx);
    for (size_t n = 0; n < 200; n++) {
        unsigned char *p = abci_ctx_alloc(ctx, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xff, n); /* must not bleed into the next allocation */
    }
    abci_ctx_reset(ctx);
    unsigned char *again = abci_ctx_alloc(ctx, 64); /* usable after reset, zeroed again */
    assert_non_null(again);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(again[i], 0);
    abci_ctx_free(ctx);
}

static void arena_serves_allocations_larger_than_a_chunk(void **state)
{
    abci_ctx *ctx = abci_ctx_new(NULL);
    assert_non_null(ctx);
    unsigned char *small = abci_ctx_alloc(ctx, 10);
    unsigned char *big = abci_ctx_alloc(ctx, (size_t)1 << 20);
    assert_non_null(small);
    assert_non_null(big);
    memset(big, 1, (size_t)1 << 20);
    memset(small, 2, 10);
    assert_int_equal(big[0], 1);
    assert_int_equal(big[(1 << 20) - 1], 1);
    abci_ctx_free(ctx);
}

static void arena_refuses_absurd_sizes(void **state)
{
    abci_ctx *ctx = abci_ctx_new(NULL);
    assert_non_null(ctx);
    assert_null(abci_ctx_alloc(ctx, SIZE_MAX));
    assert_null(abci_ctx_alloc(ctx, SIZE_MAX / 2 + 1));
    abci_ctx_free(ctx);
}

static void arena_copies_strings_bytes_and_formats(void **state)
{
    abci_ctx *ctx = abci_ctx_new("unix /x.sock");
    assert_non_null(ctx);
    char src[] = "hello";
    char *s = abci_ctx_strdup(ctx, src);
    src[0] = 'j';
    assert_string_equal(s, "hello");
    uint8_t b[3] = { 0, 1, 2 };
    uint8_t *m = abci_ctx_memdup(ctx, b, 3);
    assert_memory_equal(m, b, 3);
    assert_non_null(abci_ctx_memdup(ctx, NULL, 0));
    char *f = abci_ctx_printf(ctx, "slot %d of %s: %llu", 7, "x", 18446744073709551615ull);
    assert_string_equal(f, "slot 7 of x: 18446744073709551615");
    char *e = abci_ctx_printf(ctx, "%s", "");
    assert_string_equal(e, "");
    assert_string_equal(abci_ctx_peer(ctx), "unix /x.sock");
    assert_null(abci_ctx_stage_result(ctx)); /* no server, no stage */
    abci_ctx_free(ctx);
    ctx = abci_ctx_new(NULL);
    assert_non_null(ctx);
    assert_string_equal(abci_ctx_peer(ctx), "");
    abci_ctx_free(ctx);
    abci_ctx_free(NULL);
}

static void check_tx_kind_reads_v038_type_and_v1_type(void **state)
{
    Tendermint__Abci__RequestCheckTx r = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    assert_int_equal(abci_check_tx_kind_of(&r), ABCI_CHECK_TX_NEW); /* v0.38 NEW (zero) */
    r.type = TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK;
    assert_int_equal(abci_check_tx_kind_of(&r), ABCI_CHECK_TX_RECHECK); /* v0.38 RECHECK */
    r.type = 0;
    r.type_v1 = 2;
    assert_int_equal(abci_check_tx_kind_of(&r), ABCI_CHECK_TX_NEW); /* v1.0 CHECK */
    r.type_v1 = 1;
    assert_int_equal(abci_check_tx_kind_of(&r), ABCI_CHECK_TX_RECHECK); /* v1.0 RECHECK */
    r.type_v1 = 0;
    assert_int_equal(abci_check_tx_kind_of(&r), ABCI_CHECK_TX_NEW); /* v1.0 UNKNOWN */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_memory_is_zeroed_and_aligned),
        cmocka_unit_test(arena_serves_allocations_larger_than_a_chunk),
        cmocka_unit_test(arena_refuses_absurd_sizes),
        cmocka_unit_test(arena_copies_strings_bytes_and_formats),
        cmocka_unit_test(check_tx_kind_reads_v038_type_and_v1_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
