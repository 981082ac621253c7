/* test_programme.c — the programme and "now playing" (protocol.md §14). Every expected value is
 * worked out by hand in the comments next to it, never by the function under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "programme.h"
#include "tally.h"

#define S 1000000000LL /* ns per s */
#define MS 1000000LL   /* ns per ms */

/* T0 = 10^6 s, L = 20 s: S_3 = 10^15 + 3·2·10^10 = 1 000 060 000 000 000 ns. */
static const sb_prog_timing TM = { 1000000 * S, 20 * S };
#define S3 1000060000000000LL
#define S4 1000080000000000LL

/* Slot 3 plays 5 s, 7 s, 3 s (total 15 s: one full pass and a third of a second pass). */
static const uint64_t D3[] = { 5000, 7000, 3000 };
static const uint64_t D4[] = { 4000 };

static sb_prog_slot rec(uint64_t s, int outcome, const uint64_t *d, size_t n)
{
    sb_prog_slot r = { s, 1, outcome, d, n };
    return r;
}

static void i128_eq(__int128 got, __int128 want)
{
    char g[48], w[48];
    assert_int_equal(sb_prog_i128_dec(got, g, sizeof g), 0);
    assert_int_equal(sb_prog_i128_dec(want, w, sizeof w), 0);
    assert_string_equal(g, w);
}

static void at(int64_t t, const sb_prog_slot *cur, const sb_prog_slot *nxt, sb_prog_now *o)
{
    assert_int_equal(sb_prog_at(&TM, t, cur, nxt, o), 0);
}

static void first_track_starts_exactly_at_the_slot_start(void **state)
{
    (void)state;
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, D3, 3),
                 n = rec(4, SB_OUTCOME_FALLBACK, D4, 1);
    sb_prog_now o;
    assert_int_equal(sb_prog_slot_for(&TM, S3), 3);
    at(S3, &c, &n, &o);
    assert_int_equal(o.now.state, SB_PROG_ON_AIR);
    assert_int_equal(o.now.slot, 3);
    assert_int_equal(o.now.outcome, SB_OUTCOME_SUPERMAJORITY);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.pass, 0);
    assert_int_equal(o.now.duration_ms, 5000);
    assert_int_equal(o.now.elapsed_ms, 0);
    assert_int_equal(o.now.remaining_ms, 5000);
    i128_eq(o.now.started_at_ns, S3);
    i128_eq(o.now.ends_at_ns, S3 + 5 * S);
    /* next: track 1 anchored at S3 + 5 s, playing to S3 + 12 s */
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.slot, 3);
    assert_int_equal(o.next.index, 1);
    assert_int_equal(o.next.pass, 0);
    assert_int_equal(o.next.elapsed_ms, 0);
    assert_int_equal(o.next.remaining_ms, 7000);
    i128_eq(o.next.started_at_ns, S3 + 5 * S);
    i128_eq(o.next.ends_at_ns, S3 + 12 * S);
}

static void boundaries_are_exact_to_the_nanosecond(void **state)
{
    (void)state;
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, D3, 3),
                 n = rec(4, SB_OUTCOME_FALLBACK, D4, 1);
    sb_prog_now o;
    /* one ns before track 1: still track 0, floor(4999.999999 ms) = 4999 elapsed, 1 left */
    at(S3 + 5 * S - 1, &c, &n, &o);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.elapsed_ms, 4999);
    assert_int_equal(o.now.remaining_ms, 1);
    assert_int_equal(o.next.index, 1);
    /* exactly at S3 + 5 s: track 1, nothing elapsed */
    at(S3 + 5 * S, &c, &n, &o);
    assert_int_equal(o.now.index, 1);
    assert_int_equal(o.now.elapsed_ms, 0);
    assert_int_equal(o.now.remaining_ms, 7000);
    i128_eq(o.now.started_at_ns, S3 + 5 * S);
    /* S3 + 12 s is track 2's first ns */
    at(S3 + 12 * S, &c, &n, &o);
    assert_int_equal(o.now.index, 2);
    assert_int_equal(o.now.elapsed_ms, 0);
    /* the slot's last ns belongs to slot 3, the next ns to slot 4 */
    assert_int_equal(sb_prog_slot_for(&TM, S4 - 1), 3);
    assert_int_equal(sb_prog_slot_for(&TM, S4), 4);
}

static void playlist_loops_with_anchored_passes(void **state)
{
    (void)state;
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, D3, 3),
                 n = rec(4, SB_OUTCOME_FALLBACK, D4, 1);
    sb_prog_now o;
    /* S3 + 14.5 s: track 2 (12 s..15 s), 2500 ms in, 500 left; next is pass 1's track 0 at 15 s */
    at(S3 + 14500 * MS, &c, &n, &o);
    assert_int_equal(o.now.index, 2);
    assert_int_equal(o.now.pass, 0);
    assert_int_equal(o.now.elapsed_ms, 2500);
    assert_int_equal(o.now.remaining_ms, 500);
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.index, 0);
    assert_int_equal(o.next.pass, 1);
    i128_eq(o.next.started_at_ns, S3 + 15 * S);
    /* S3 + 16.25 s: pass 1 (offset 1.25 s): track 0 anchored at S3 + 15 s, 1250 ms in */
    at(S3 + 16250 * MS, &c, &n, &o);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.pass, 1);
    assert_int_equal(o.now.elapsed_ms, 1250);
    assert_int_equal(o.now.remaining_ms, 3750);
    i128_eq(o.now.started_at_ns, S3 + 15 * S);
    i128_eq(o.now.ends_at_ns, S3 + 20 * S); /* 15 + 5 = 20 s: ends with the slot, not cut */
    /* its anchored end is S_4 exactly, so next is slot 4's first track at S_4 */
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.slot, 4);
    assert_int_equal(o.next.outcome, SB_OUTCOME_FALLBACK);
    assert_int_equal(o.next.index, 0);
    assert_int_equal(o.next.pass, 0);
    assert_int_equal(o.next.duration_ms, 4000);
    i128_eq(o.next.started_at_ns, S4);
    i128_eq(o.next.ends_at_ns, S4 + 4 * S);
}

static void many_passes_anchor_to_the_slot_start(void **state)
{
    (void)state;
    /* L = 1800 s, tracks 7 ms + 11 ms (total 18 ms). At S + 1 799 999 999 999 ns: pass
   * k = floor(1799999999999 / 18000000) = 99999 (99999·18 ms = 1 799 982 000 000 ns), offset
   * 17 999 999 ns: track 1 (7 ms..18 ms), elapsed floor(10.999999) = 10, remaining 1; anchored
   * at S + (99999·18 + 7) ms = S + 1 799 989 000 000 ns; it ends at S + 1800 s = S_{s+1}. */
    static const uint64_t d[] = { 7, 11 };
    sb_prog_timing tm = { 0, 1800 * S };
    sb_prog_slot c = { 2, 1, SB_OUTCOME_FALLBACK, d, 2 };
    sb_prog_now o;
    int64_t s2 = 3600 * S;
    assert_int_equal(sb_prog_at(&tm, s2 + 1799999999999LL, &c, NULL, &o), 0);
    assert_int_equal(o.now.state, SB_PROG_ON_AIR);
    assert_int_equal(o.now.index, 1);
    assert_int_equal(o.now.pass, 99999);
    assert_int_equal(o.now.elapsed_ms, 10);
    assert_int_equal(o.now.remaining_ms, 1);
    i128_eq(o.now.started_at_ns, s2 + 1799989000000LL);
    i128_eq(o.now.ends_at_ns, s2 + 1800 * S);
    /* next falls in slot 3, unknown to the caller */
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.next.slot, 3);
}

static void track_playing_at_the_slot_end_is_cut_there(void **state)
{
    (void)state;
    /* 8 s + 9 s = 17 s in a 20 s slot: pass 1's track 0 starts at S3 + 17 s and would end at
   * S3 + 25 s; it is cut at S_4 = S3 + 20 s. At S3 + 18 s: 1000 ms in, remaining (§14
   * formula) 7000, ends_at S_4; next is slot 4's first track at S_4. */
    static const uint64_t d[] = { 8000, 9000 };
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, d, 2), n = rec(4, SB_OUTCOME_REPEAT, D4, 1);
    sb_prog_now o;
    at(S3 + 18 * S, &c, &n, &o);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.pass, 1);
    assert_int_equal(o.now.elapsed_ms, 1000);
    assert_int_equal(o.now.remaining_ms, 7000);
    i128_eq(o.now.started_at_ns, S3 + 17 * S);
    i128_eq(o.now.ends_at_ns, S4);
    assert_int_equal(o.next.slot, 4);
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.outcome, SB_OUTCOME_REPEAT);
    i128_eq(o.next.started_at_ns, S4);
    /* a first track longer than the slot is cut too: 25 s in a 20 s slot */
    static const uint64_t longd[] = { 25000 };
    sb_prog_slot l = rec(3, SB_OUTCOME_FALLBACK, longd, 1);
    at(S3 + 19 * S, &l, NULL, &o);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.pass, 0);
    assert_int_equal(o.now.elapsed_ms, 19000);
    assert_int_equal(o.now.remaining_ms, 6000);
    i128_eq(o.now.ends_at_ns, S4);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.next.slot, 4);
}

static void next_slot_none_or_unknown_is_off_air_next(void **state)
{
    (void)state;
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, D3, 3),
                 none = rec(4, SB_OUTCOME_NONE, NULL, 0);
    sb_prog_slot pending = { 4, 0, 0, NULL, 0 };
    sb_prog_now o;
    at(S4 - 1, &c, &none, &o); /* pass 1's track 0 (15 s..20 s) */
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.elapsed_ms, 4999);
    assert_int_equal(o.next.state, SB_PROG_OFF_AIR);
    assert_int_equal(o.next.slot, 4);
    assert_int_equal(o.next.outcome, SB_OUTCOME_NONE);
    at(S4 - 1, &c, &pending, &o);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.next.slot, 4);
    at(S4 - 1, &c, NULL, &o);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.next.slot, 4);
}

static void none_and_not_finalized_slots_are_off_air(void **state)
{
    (void)state;
    sb_prog_slot none = rec(3, SB_OUTCOME_NONE, NULL, 0), n = rec(4, SB_OUTCOME_FALLBACK, D4, 1);
    sb_prog_slot pending = { 3, 0, 0, NULL, 0 };
    sb_prog_now o;
    at(S3 + 7 * S, &none, &n, &o);
    assert_int_equal(o.now.state, SB_PROG_OFF_AIR);
    assert_int_equal(o.now.slot, 3);
    assert_int_equal(o.now.outcome, SB_OUTCOME_NONE);
    /* next: slot 4's first track at S_4 */
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.slot, 4);
    i128_eq(o.next.started_at_ns, S4);
    at(S3 + 7 * S, &pending, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.now.slot, 3);
    assert_int_equal(o.now.outcome, 0);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
    assert_int_equal(o.next.slot, 4);
    /* a winner outcome without tracks (§4 forbids it) is off air, not a division by zero */
    sb_prog_slot empty = rec(3, SB_OUTCOME_FALLBACK, NULL, 0);
    at(S3, &empty, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_OFF_AIR);
}

static void before_the_epoch_is_off_air_and_next_is_slot_zero(void **state)
{
    (void)state;
    sb_prog_slot z = rec(0, SB_OUTCOME_SUPERMAJORITY, D3, 3);
    sb_prog_now o;
    int64_t t0 = 1000000 * S;
    assert_int_equal(sb_prog_slot_for(&TM, t0 - 1), 0);
    at(t0 - 1, &z, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_BEFORE_EPOCH);
    assert_int_equal(o.now.slot, 0);
    assert_int_equal(o.next.state, SB_PROG_ON_AIR);
    assert_int_equal(o.next.slot, 0);
    assert_int_equal(o.next.index, 0);
    i128_eq(o.next.started_at_ns, t0);
    i128_eq(o.next.ends_at_ns, t0 + 5 * S);
    /* at T0 exactly slot 0 is on air */
    at(t0, &z, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_ON_AIR);
    assert_int_equal(o.now.elapsed_ms, 0);
    /* far before it (INT64_MIN), slot 0 not finalized: both off air */
    sb_prog_slot p0 = { 0, 0, 0, NULL, 0 };
    at(INT64_MIN, &p0, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_BEFORE_EPOCH);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
}

static void repeat_plays_the_repeated_manifest(void **state)
{
    (void)state;
    /* REPEAT's record carries the previous winner's manifest; its tracks play like any other */
    sb_prog_slot c = rec(3, SB_OUTCOME_REPEAT, D3, 3);
    sb_prog_now o;
    at(S3 + 6 * S, &c, NULL, &o);
    assert_int_equal(o.now.state, SB_PROG_ON_AIR);
    assert_int_equal(o.now.outcome, SB_OUTCOME_REPEAT);
    assert_int_equal(o.now.index, 1);
    assert_int_equal(o.now.elapsed_ms, 1000);
    assert_int_equal(o.now.remaining_ms, 6000);
}

static void times_far_from_the_unix_epoch(void **state)
{
    (void)state;
    /* T0 = 9·10^18, L = 10^9 s (the §3 maximum); one 1-hour track. At t = INT64_MAX =
   * 9 223 372 036 854 775 807: since = 223 372 036 854 775 807 ns, pass k = floor(since /
   * 3.6·10^12) = 62047, offset = 2 836 854 775 807 ns: elapsed 2 836 854 ms, remaining 763 146;
   * started 9·10^18 + 62047·3.6·10^12 = 9 223 369 200 000 000 000; next pass starts at
   * 9 223 372 800 000 000 000 (past INT64_MAX) and ends at 9 223 376 400 000 000 000. */
    static const uint64_t d[] = { 3600000 };
    sb_prog_timing tm = { 9000000000000000000LL, 1000000000ULL * S };
    sb_prog_slot c = { 0, 1, SB_OUTCOME_SUPERMAJORITY, d, 1 };
    sb_prog_now o;
    assert_int_equal(sb_prog_at(&tm, INT64_MAX, &c, NULL, &o), 0);
    assert_int_equal(o.now.pass, 62047);
    assert_int_equal(o.now.elapsed_ms, 2836854);
    assert_int_equal(o.now.remaining_ms, 763146);
    i128_eq(o.now.started_at_ns, (__int128)9223369200000000000ULL);
    assert_int_equal(o.next.pass, 62048);
    i128_eq(o.next.started_at_ns, (__int128)9223372800000000000ULL);
    i128_eq(o.next.ends_at_ns, (__int128)9223376400000000000ULL);
    /* Before 1970: T0 = -3 s, L = 2 s, one 1.5 s track. t = 0 is slot 1 (S_1 = -1 s), offset
   * 1 s: elapsed 1000, remaining 500, started -1 s; next pass at +0.5 s, cut at S_2 = +1 s. */
    static const uint64_t e[] = { 1500 };
    sb_prog_timing neg = { -3 * S, 2 * S };
    sb_prog_slot c1 = { 1, 1, SB_OUTCOME_FALLBACK, e, 1 };
    assert_int_equal(sb_prog_slot_for(&neg, 0), 1);
    assert_int_equal(sb_prog_at(&neg, 0, &c1, NULL, &o), 0);
    assert_int_equal(o.now.elapsed_ms, 1000);
    assert_int_equal(o.now.remaining_ms, 500);
    i128_eq(o.now.started_at_ns, -1 * S);
    i128_eq(o.next.started_at_ns, 500 * MS);
    i128_eq(o.next.ends_at_ns, 1 * S);
    /* Large durations: sums in 128 bits (2 · 2^63 ms would overflow uint64) */
    static const uint64_t big[] = { 1ULL << 63, 1ULL << 63 };
    sb_prog_slot b = rec(3, SB_OUTCOME_FALLBACK, big, 2);
    at(S3 + 1, &b, NULL, &o);
    assert_int_equal(o.now.index, 0);
    assert_int_equal(o.now.elapsed_ms, 0);
    i128_eq(o.now.ends_at_ns, S4);
    assert_int_equal(o.next.state, SB_PROG_NOT_FINALIZED);
}

static void wrong_inputs_are_refused(void **state)
{
    (void)state;
    sb_prog_slot c = rec(3, SB_OUTCOME_SUPERMAJORITY, D3, 3), n5 = rec(5, SB_OUTCOME_NONE, NULL, 0);
    sb_prog_now o;
    sb_prog_timing zero = { 0, 0 };
    assert_int_equal(sb_prog_at(&TM, S4, &c, NULL, &o), -1); /* S4 is slot 4, not 3 */
    assert_int_equal(o.now.state, SB_PROG_NOTHING);
    assert_int_equal(sb_prog_at(&TM, S3, &c, &n5, &o), -1); /* next must be slot 4 */
    assert_int_equal(sb_prog_at(&TM, S3, NULL, NULL, &o), -1);
    assert_int_equal(sb_prog_at(&zero, S3, &c, NULL, &o), -1);
    sb_prog_slot bad = rec(3, SB_OUTCOME_SUPERMAJORITY, NULL, 2);
    assert_int_equal(sb_prog_at(&TM, S3, &bad, NULL, &o), -1);
}

static void decimal_formatting_of_128_bit_times(void **state)
{
    (void)state;
    char b[48];
    assert_int_equal(sb_prog_i128_dec(0, b, sizeof b), 0);
    assert_string_equal(b, "0");
    assert_int_equal(sb_prog_i128_dec(-5, b, sizeof b), 0);
    assert_string_equal(b, "-5");
    assert_int_equal(sb_prog_i128_dec((__int128)10000000000000000000ULL, b, sizeof b), 0);
    assert_string_equal(b, "10000000000000000000");
    __int128 min = -(__int128)((((unsigned __int128)1) << 127) - 1) - 1;
    assert_int_equal(sb_prog_i128_dec(min, b, sizeof b), 0);
    assert_string_equal(b, "-170141183460469231731687303715884105728");
    assert_int_equal(sb_prog_i128_dec(12345, b, 5), -1); /* needs 6 bytes */
    assert_int_equal(sb_prog_i128_dec(12345, b, 6), 0);
    assert_string_equal(b, "12345");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_track_starts_exactly_at_the_slot_start),
        cmocka_unit_test(boundaries_are_exact_to_the_nanosecond),
        cmocka_unit_test(playlist_loops_with_anchored_passes),
        cmocka_unit_test(many_passes_anchor_to_the_slot_start),
        cmocka_unit_test(track_playing_at_the_slot_end_is_cut_there),
        cmocka_unit_test(next_slot_none_or_unknown_is_off_air_next),
        cmocka_unit_test(none_and_not_finalized_slots_are_off_air),
        cmocka_unit_test(before_the_epoch_is_off_air_and_next_is_slot_zero),
        cmocka_unit_test(repeat_plays_the_repeated_manifest),
        cmocka_unit_test(times_far_from_the_unix_epoch),
        cmocka_unit_test(wrong_inputs_are_refused),
        cmocka_unit_test(decimal_formatting_of_128_bit_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
