/* test_rejlog.c - src/node/rejlog.c: the rejected-CheckTx summary is rate-limited to one line
 * per 10 s with counts per code name (the log volume is bounded by us, not by peers). Time is
 * injected, never slept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rejlog.h"
#include "sb_code.h"

#define T0 5000000ull /* an arbitrary monotonic start, ms */

static void flood_within_10_s_gives_one_line_after_10_s(void **state)
{
    sb_rejlog r;
    char line[SB_REJLOG_LINE_MAX];
    sb_rejlog_init(&r);
    /* 10,000 rejections, one per ms over [T0, T0 + 10 s): 9,000 SIGNATURE, 1,000 ENCODING */
    for (uint64_t i = 0; i < 10000; i++) {
        int code = i % 10 == 0 ? SB_ENCODING : SB_SIGNATURE;
        assert_int_equal(sb_rejlog_note(&r, code, T0 + i, line, sizeof(line)), 0);
    }
    assert_int_equal(sb_rejlog_tick(&r, T0 + 9999, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 10000, line, sizeof(line)), 1);
    assert_string_equal(line, "checktx: rejected 10000 tx(s) in the last 10 s: ENCODING=1000 "
                              "SIGNATURE=9000");
    /* exactly one line: the window is empty now */
    assert_int_equal(sb_rejlog_tick(&r, T0 + 10001, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 60000, line, sizeof(line)), 0);
}

static void the_rejection_that_closes_the_window_is_counted_in_it(void **state)
{
    sb_rejlog r;
    char line[SB_REJLOG_LINE_MAX];
    sb_rejlog_init(&r);
    assert_int_equal(sb_rejlog_note(&r, SB_DUPLICATE, T0, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_note(&r, SB_SLOT_CLOSED, T0 + 10000, line, sizeof(line)), 1);
    assert_string_equal(line,
                        "checktx: rejected 2 tx(s) in the last 10 s: SLOT_CLOSED=1 DUPLICATE=1");
}

static void quiet_period_gives_no_line(void **state)
{
    sb_rejlog r;
    char line[SB_REJLOG_LINE_MAX] = "untouched";
    sb_rejlog_init(&r);
    for (uint64_t t = T0; t < T0 + 3600000; t += 1000)
        assert_int_equal(sb_rejlog_tick(&r, t, line, sizeof(line)), 0);
    assert_string_equal(line, "untouched");
    /* after a summary, silence gives nothing; the next rejection opens a new window */
    assert_int_equal(sb_rejlog_note(&r, SB_ENCODING, T0, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 10000, line, sizeof(line)), 1);
    for (uint64_t t = T0 + 10000; t < T0 + 3600000; t += 1000)
        assert_int_equal(sb_rejlog_tick(&r, t, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_note(&r, SB_CHAIN_ID, T0 + 3600000, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 3609999, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 3612000, line, sizeof(line)), 1);
    assert_string_equal(line, "checktx: rejected 1 tx(s) in the last 12 s: CHAIN_ID=1");
}

static void continuous_flood_gives_at_most_one_line_per_10_s(void **state)
{
    sb_rejlog r;
    char line[SB_REJLOG_LINE_MAX];
    uint64_t last = 0, sum = 0;
    int lines = 0;
    sb_rejlog_init(&r);
    /* 100 rejections per second for 60 s, ticks at every second too */
    for (uint64_t t = T0; t < T0 + 60000; t += 10) {
        int due = sb_rejlog_note(&r, SB_NOT_VALIDATOR, t, line, sizeof(line));
        if (t % 1000 == 0 && !due)
            due = sb_rejlog_tick(&r, t, line, sizeof(line));
        if (!due)
            continue;
        unsigned long long n = 0;
        assert_int_equal(sscanf(line, "checktx: rejected %llu tx(s)", &n), 1);
        assert_non_null(strstr(line, "NOT_VALIDATOR="));
        if (lines)
            assert_true(t - last >= SB_REJLOG_PERIOD_MS);
        last = t;
        sum += n;
        lines++;
    }
    assert_int_equal(lines, 5); /* windows close at 10, 20.01, 30.02, 40.03, 50.04 s */
    assert_int_equal(sb_rejlog_tick(&r, T0 + 70000, line, sizeof(line)), 1);
    unsigned long long n = 0;
    assert_int_equal(sscanf(line, "checktx: rejected %llu tx(s)", &n), 1);
    assert_int_equal(sum + n, 6000); /* every rejection counted exactly once */
}

static void unknown_codes_count_as_other_and_a_short_buffer_is_cut(void **state)
{
    sb_rejlog r;
    char line[SB_REJLOG_LINE_MAX], small[24];
    sb_rejlog_init(&r);
    assert_int_equal(sb_rejlog_note(&r, 99, T0, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_note(&r, -1, T0, line, sizeof(line)), 0);
    assert_int_equal(sb_rejlog_tick(&r, T0 + 10000, line, sizeof(line)), 1);
    assert_string_equal(line, "checktx: rejected 2 tx(s) in the last 10 s: OTHER=2");
    assert_int_equal(sb_rejlog_note(&r, SB_ENCODING, T0, small, sizeof(small)), 0);
    memset(small, 'x', sizeof(small));
    assert_int_equal(sb_rejlog_tick(&r, T0 + 10000, small, sizeof(small)), 1);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "checktx: rejected 1 tx(", sizeof(small) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flood_within_10_s_gives_one_line_after_10_s),
        cmocka_unit_test(the_rejection_that_closes_the_window_is_counted_in_it),
        cmocka_unit_test(quiet_period_gives_no_line),
        cmocka_unit_test(continuous_flood_gives_at_most_one_line_per_10_s),
        cmocka_unit_test(unknown_codes_count_as_other_and_a_short_buffer_is_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
