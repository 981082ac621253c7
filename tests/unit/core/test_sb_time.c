/* test_sb_time.c — RFC 3339 times to nanoseconds (protocol.md §9 epoch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sb_time.h"

#define GT 1795392000250000000LL /* 2026-11-23T00:00:00.25Z */

static void rfc3339_times_parse_to_nanoseconds(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(sb_parse_rfc3339_ns("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(sb_parse_rfc3339_ns("2026-11-23T00:00:00.25Z", &t), 0);
    assert_int_equal(t, GT);
    assert_int_equal(sb_parse_rfc3339_ns("2026-11-23T01:00:00.25+01:00", &t), 0);
    assert_int_equal(t, GT);
    assert_int_equal(sb_parse_rfc3339_ns("2026-11-22T23:00:00.250000000-01:00", &t), 0);
    assert_int_equal(t, GT);
    assert_int_equal(sb_parse_rfc3339_ns("1969-12-31T23:59:59.999999999Z", &t), 0);
    assert_int_equal(t, -1);
    assert_int_equal(sb_parse_rfc3339_ns("2000-02-29T00:00:00Z", &t), 0);
    assert_int_equal(t, 951782400LL * 1000000000LL);
    assert_int_equal(sb_parse_rfc3339_ns("2262-04-11T23:47:16.854775807Z", &t), 0);
    assert_int_equal(t, INT64_MAX);
    assert_int_equal(sb_parse_rfc3339_ns("1677-09-21T00:12:43.145224192Z", &t), 0);
    assert_int_equal(t, INT64_MIN);
    const char *bad[] = { "2262-04-11T23:47:16.854775808Z",
                          "1677-09-21T00:12:43.145224191Z",
                          "2026-11-23T00:00:00.1234567891Z",
                          "2026-11-23T00:00:00.Z",
                          "2026-11-23T00:00:00",
                          "2026-11-23t00:00:00Z",
                          "2026-11-23T00:00:00z",
                          "2026-11-23 00:00:00Z",
                          "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z",
                          "1900-02-29T00:00:00Z",
                          "2026-11-31T00:00:00Z",
                          "2026-11-23T24:00:00Z",
                          "2026-11-23T00:60:00Z",
                          "2026-11-23T00:00:60Z",
                          "2026-11-23T00:00:00+0100",
                          "2026-11-23T00:00:00+24:00",
                          "2026-11-23T00:00:00Zjunk",
                          "",
                          "26-11-23T00:00:00Z" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (sb_parse_rfc3339_ns(bad[i], &t) != -1)
            fail_msg("accepted %s", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_times_parse_to_nanoseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
