/* test_sb_string.c — the string rules of protocol.md §4 (sb_string_ok). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sb_string.h"

static void string_validator_follows_rfc3629(void **state)
{
    (void)state;
    assert_int_equal(sb_string_ok("", 0), 1);
    assert_int_equal(sb_string_ok("a\0b", 3), 0);
    assert_int_equal(sb_string_ok("\xf0\x9f\x8e", 3), 0); /* truncated */
    assert_int_equal(sb_string_ok("\xf0\x9f\x8e\xb5", 4), 1);
    assert_int_equal(sb_string_ok("\xed\x9f\xbf", 3), 1); /* U+D7FF */
    assert_int_equal(sb_string_ok("\xed\xbf\xbf", 3), 0); /* U+DFFF */
    assert_int_equal(sb_string_ok("\xee\x80\x80", 3), 1); /* U+E000 */
    assert_int_equal(sb_string_ok("\x1f", 1), 0);
    assert_int_equal(sb_string_ok(" ~", 2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(string_validator_follows_rfc3629),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
