/* test_buf.c — capped writer, hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sb_buf.h"
#include "sb_code.h"

static void writer_stops_at_its_cap_and_stays_failed(void **state)
{
    sb_buf b;
    sb_buf_init(&b, 10);
    assert_int_equal(sb_buf_put_be64(&b, 0x0102030405060708ULL), 0);
    assert_int_equal(sb_buf_put_be16(&b, 0x090a), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(sb_buf_putc(&b, 1), -1);
    assert_int_equal(b.oom, 1);
    assert_int_equal(sb_buf_append(&b, "", 0), -1); /* sticky */
    assert_int_equal(b.len, 10);
    static const uint8_t want[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
    assert_memory_equal(b.data, want, 10);
    sb_buf_reset(&b);
    assert_int_equal(sb_buf_put_be32(&b, 0xdeadbeef), 0);
    assert_int_equal(sb_buf_puts(&b, "abcdefg"), -1);
    sb_buf_free(&b);
    sb_buf_free(&b);
}

static void writer_grows_and_steals_a_nul_terminated_string(void **state)
{
    sb_buf b;
    sb_buf_init(&b, SIZE_MAX);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sb_buf_puts(&b, "xy"), 0);
    char *s = sb_buf_steal_str(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), 2000);
    assert_null(b.data);
    free(s);
    sb_buf_init(&b, 0);
    s = sb_buf_steal_str(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void hex_round_trips_and_rejects_bad_input(void **state)
{
    uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
    char s[7];
    sb_hex(in, 3, s);
    assert_string_equal(s, "00abff");
    assert_int_equal(sb_unhex("00ABff", out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(sb_unhex("00abf", out, 3), -1);
    assert_int_equal(sb_unhex("00abfff", out, 3), -1);
    assert_int_equal(sb_unhex("00abfg", out, 3), -1);
    assert_int_equal(sb_unhex(NULL, out, 3), -1);
}

static void code_names_match_the_spec_table(void **state)
{
    assert_string_equal(sb_code_name(SB_OK), "OK");
    assert_string_equal(sb_code_name(SB_ENCODING), "ENCODING");
    assert_string_equal(sb_code_name(SB_CURATOR_NOT_ALLOWED), "CURATOR_NOT_ALLOWED");
    assert_string_equal(sb_code_name(SB_PROPOSAL_LIMIT), "PROPOSAL_LIMIT");
    assert_string_equal(sb_code_name(SB_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(sb_code_name(15), "UNKNOWN");
    assert_string_equal(sb_code_name(-1), "UNKNOWN");
    assert_int_equal(SB_NOT_VALIDATOR, 9);
    assert_int_equal(SB_UNKNOWN_PATH, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writer_stops_at_its_cap_and_stays_failed),
        cmocka_unit_test(writer_grows_and_steals_a_nul_terminated_string),
        cmocka_unit_test(hex_round_trips_and_rejects_bad_input),
        cmocka_unit_test(code_names_match_the_spec_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
