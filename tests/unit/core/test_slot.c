/* test_slot.c — slot arithmetic (protocol.md §3) at slot 0, at the close boundary and near 2^64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "slot.h"

#define S 1000000000LL

static sb_params mk(int64_t t0, uint64_t L, uint64_t lead, uint64_t H)
{
    sb_params p;
    memset(&p, 0, sizeof p);
    p.epoch_ns = t0;
    p.slot_seconds = L;
    p.close_lead_seconds = lead;
    p.horizon_slots = H;
    return p;
}

static void slot_zero_closes_lead_before_the_epoch(void **state)
{
    sb_params p = mk(1000 * S, 20, 8, 48);
    assert_true(sb_slot_start(&p, 0) == (__int128)1000 * S);
    assert_true(sb_slot_close(&p, 0) == (__int128)992 * S);
    assert_true(sb_slot_close(&p, 1) == (__int128)1012 * S);
    assert_int_equal(sb_slot_is_open(&p, 0, 992 * S - 1), 1);
    assert_int_equal(sb_slot_is_open(&p, 0, 992 * S), 0);
}

static void current_slot_is_zero_before_the_epoch_and_floors_after(void **state)
{
    sb_params p = mk(1000 * S, 20, 8, 48);
    assert_int_equal(sb_slot_current(&p, INT64_MIN), 0);
    assert_int_equal(sb_slot_current(&p, 0), 0);
    assert_int_equal(sb_slot_current(&p, 1000 * S - 1), 0);
    assert_int_equal(sb_slot_current(&p, 1000 * S), 0);
    assert_int_equal(sb_slot_current(&p, 1020 * S - 1), 0);
    assert_int_equal(sb_slot_current(&p, 1020 * S), 1);
    assert_int_equal(sb_slot_current(&p, INT64_MAX), (uint64_t)((INT64_MAX - 1000 * S) / (20 * S)));
}

static void horizon_allows_current_plus_h_and_not_one_more(void **state)
{
    sb_params p = mk(0, 20, 8, 3);
    int64_t t = 45 * S; /* current = 2 */
    assert_int_equal(sb_slot_within_horizon(&p, 5, t), 1);
    assert_int_equal(sb_slot_within_horizon(&p, 6, t), 0);
    assert_int_equal(sb_slot_within_horizon(&p, UINT64_MAX, t), 0);
}

/* L = 20 s, lead = 8 s, T0 = 1000 s: slot s closes at 992 + 20 s. */
static void first_open_slot_is_the_first_whose_close_is_ahead(void **state)
{
    (void)state;
    sb_params p = mk(1000 * S, 20, 8, 48);
    assert_int_equal(sb_slot_first_open(&p, INT64_MIN), 0);
    assert_int_equal(sb_slot_first_open(&p, 992 * S - 1), 0);
    assert_int_equal(sb_slot_first_open(&p, 992 * S), 1);  /* before the epoch, slot 0 closed */
    assert_int_equal(sb_slot_first_open(&p, 1000 * S), 1); /* slot 0 playing */
    assert_int_equal(sb_slot_first_open(&p, 1012 * S - 1), 1);
    assert_int_equal(sb_slot_first_open(&p, 1012 * S), 2); /* in slot 1's close lead */
    assert_int_equal(sb_slot_first_open(&p, 1019 * S), 2);
    assert_int_equal(sb_slot_first_open(&p, 1020 * S), 2); /* slot 1 playing */
    assert_int_equal(sb_slot_first_open(&p, 1032 * S), 3);
    /* at the end of int64 time, with the earliest epoch */
    sb_params q = mk(INT64_MIN, 1, 0, 1);
    assert_int_equal(sb_slot_first_open(&q, INT64_MAX), UINT64_MAX / S + 1);
}

static void arithmetic_near_2_to_the_64_does_not_overflow(void **state)
{
    sb_params p = mk(INT64_MAX, 1000000000ULL, 999999999ULL, (1ULL << 53));
    __int128 L = (__int128)1000000000 * S;
    __int128 want = (__int128)INT64_MAX + (__int128)UINT64_MAX * L;
    assert_true(sb_slot_start(&p, UINT64_MAX) == want);
    assert_true(sb_slot_close(&p, UINT64_MAX) == want - (__int128)999999999 * S);
    assert_true(sb_slot_close(&p, UINT64_MAX) > 0);
    /* far-future slots are open but beyond the horizon */
    assert_int_equal(sb_slot_is_open(&p, UINT64_MAX, INT64_MAX), 1);
    assert_int_equal(sb_slot_within_horizon(&p, UINT64_MAX, INT64_MAX), 0);
    /* a huge horizon with the largest current slot cannot wrap */
    sb_params q = mk(INT64_MIN, 1, 0, UINT64_MAX);
    uint64_t cur = sb_slot_current(&q, INT64_MAX);
    assert_int_equal(cur, UINT64_MAX / S);
    assert_int_equal(sb_slot_within_horizon(&q, UINT64_MAX, INT64_MAX), 1);
    /* slot 0 with the earliest epoch */
    assert_true(sb_slot_close(&q, 0) == (__int128)INT64_MIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slot_zero_closes_lead_before_the_epoch),
        cmocka_unit_test(current_slot_is_zero_before_the_epoch_and_floors_after),
        cmocka_unit_test(horizon_allows_current_plus_h_and_not_one_more),
        cmocka_unit_test(first_open_slot_is_the_first_whose_close_is_ahead),
        cmocka_unit_test(arithmetic_near_2_to_the_64_does_not_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
