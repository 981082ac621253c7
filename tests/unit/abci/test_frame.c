/* test_frame.c - varint and frame decoding rules (abci/frame.h, protocol.md §2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abci/frame.h"
#include "tendermint/abci/types.pb-c.h"

static void roundtrip(uint64_t v, size_t want_len)
{
    uint8_t buf[ABCI_VARINT_MAX_BYTES + 2];
    memset(buf, 0xAA, sizeof buf);
    size_t n = abci_varint_encode(v, buf);
    assert_int_equal(n, want_len);
    assert_int_equal(abci_varint_size(v), want_len);
    assert_int_equal(buf[n], 0xAA); /* nothing written past the varint */
    abci_reader r = { buf, n, 0 };
    uint64_t got = ~v;
    assert_int_equal(abci_varint_decode(&r, &got), ABCI_FRAME_OK);
    assert_true(got == v);
    assert_int_equal(r.pos, n);
}

static void varint_boundaries_roundtrip_with_exact_lengths(void **state)
{
    roundtrip(0, 1);
    roundtrip(1, 1);
    roundtrip(127, 1);
    roundtrip(128, 2);
    roundtrip(300, 2);
    roundtrip(16383, 2);
    roundtrip(16384, 3);
    roundtrip((uint64_t)1 << 63, 10);
    roundtrip(UINT64_MAX, 10);
}

static void varint_known_encodings_match_go_uvarint(void **state)
{
    uint8_t b[ABCI_VARINT_MAX_BYTES];
    assert_int_equal(abci_varint_encode(0, b), 1);
    assert_int_equal(b[0], 0x00);
    assert_int_equal(abci_varint_encode(127, b), 1);
    assert_int_equal(b[0], 0x7f);
    assert_int_equal(abci_varint_encode(128, b), 2);
    assert_int_equal(b[0], 0x80);
    assert_int_equal(b[1], 0x01);
    assert_int_equal(abci_varint_encode((uint64_t)1 << 63, b), 10);
    for (int i = 0; i < 9; i++)
        assert_int_equal(b[i], 0x80);
    assert_int_equal(b[9], 0x01);
}

static void varint_ten_byte_max_decodes_to_uint64_max(void **state)
{
    const uint8_t b[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    abci_reader r = { b, sizeof b, 0 };
    uint64_t v = 0;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_OK);
    assert_true(v == UINT64_MAX);
    assert_int_equal(r.pos, 10);
}

static void varint_tenth_byte_over_one_is_bad_varint(void **state)
{
    /* 0x02 in the 10th byte would be bit 64: overflow */
    const uint8_t b[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
    abci_reader r = { b, sizeof b, 0 };
    uint64_t v = 7;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_BAD_VARINT);
    assert_int_equal(r.pos, 0);
    assert_true(v == 7);
}

static void varint_overlong_eleven_bytes_is_bad_varint(void **state)
{
    uint8_t b[11];
    memset(b, 0x80, sizeof b);
    b[10] = 0x00;
    abci_reader r = { b, sizeof b, 0 };
    uint64_t v;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_BAD_VARINT);
    assert_int_equal(r.pos, 0);
}

static void varint_truncated_needs_more_and_keeps_position(void **state)
{
    const uint8_t b[] = { 0x80, 0x80, 0x80 };
    for (size_t len = 0; len <= sizeof b; len++) {
        abci_reader r = { b, len, 0 };
        uint64_t v;
        assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_NEED_MORE);
        assert_int_equal(r.pos, 0);
    }
    /* nine continuation bytes: still just incomplete, not bad */
    uint8_t nine[9];
    memset(nine, 0xff, sizeof nine);
    abci_reader r = { nine, sizeof nine, 0 };
    uint64_t v;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_NEED_MORE);
}

static void varint_non_minimal_encoding_is_accepted_like_go(void **state)
{
    const uint8_t b[] = { 0x80, 0x00 };
    abci_reader r = { b, sizeof b, 0 };
    uint64_t v = 1;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_OK);
    assert_true(v == 0);
    assert_int_equal(r.pos, 2);
}

static void varint_decodes_from_reader_position(void **state)
{
    const uint8_t b[] = { 0x05, 0xac, 0x02, 0x7f };
    abci_reader r = { b, sizeof b, 1 };
    uint64_t v;
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_OK);
    assert_true(v == 300);
    assert_int_equal(r.pos, 3);
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_OK);
    assert_true(v == 127);
    assert_int_equal(abci_varint_decode(&r, &v), ABCI_FRAME_NEED_MORE);
}

static void frame_one_gib_declared_length_is_too_long_from_header_alone(void **state)
{
    /* only the 5-byte header exists: the decision cannot depend on any body memory */
    uint8_t b[ABCI_VARINT_MAX_BYTES];
    size_t n = abci_varint_encode((uint64_t)1 << 30, b);
    abci_reader r = { b, n, 0 };
    uint64_t blen = 0;
    assert_int_equal(abci_frame_header(&r, ABCI_DEFAULT_MAX_FRAME_BYTES, &blen),
                     ABCI_FRAME_TOO_LONG);
    assert_true(blen == (uint64_t)1 << 30);
    assert_int_equal(r.pos, 0);

    const uint8_t *body = NULL;
    r.pos = 0;
    assert_int_equal(abci_frame_next(&r, ABCI_DEFAULT_MAX_FRAME_BYTES, &body, &blen),
                     ABCI_FRAME_TOO_LONG);
    assert_null(body);
}

static void frame_at_limit_is_accepted_and_one_over_is_refused(void **state)
{
    uint8_t b[ABCI_VARINT_MAX_BYTES];
    size_t n = abci_varint_encode(1000, b);
    abci_reader r = { b, n, 0 };
    uint64_t blen;
    assert_int_equal(abci_frame_header(&r, 1000, &blen), ABCI_FRAME_OK);
    assert_int_equal(r.pos, n);
    r.pos = 0;
    assert_int_equal(abci_frame_header(&r, 999, &blen), ABCI_FRAME_TOO_LONG);
    /* a 2^64-1 declared length does not wrap around any size arithmetic */
    n = abci_varint_encode(UINT64_MAX, b);
    r = (abci_reader){ b, n, 0 };
    assert_int_equal(abci_frame_header(&r, SIZE_MAX - 1, &blen), ABCI_FRAME_TOO_LONG);
}

static void frame_incomplete_body_needs_more_then_completes(void **state)
{
    uint8_t b[3 + 4] = { 0x03, 'a', 'b', 'c', 0x00, 0x01, 'z' };
    const uint8_t *body = NULL;
    uint64_t blen = 0;
    abci_reader r = { b, 3, 0 };
    assert_int_equal(abci_frame_next(&r, 100, &body, &blen), ABCI_FRAME_NEED_MORE);
    assert_int_equal(blen, 3);
    assert_int_equal(r.pos, 0);
    r.len = sizeof b;
    assert_int_equal(abci_frame_next(&r, 100, &body, &blen), ABCI_FRAME_OK);
    assert_int_equal(blen, 3);
    assert_memory_equal(body, "abc", 3);
    assert_int_equal(abci_frame_next(&r, 100, &body, &blen), ABCI_FRAME_OK); /* empty frame */
    assert_int_equal(blen, 0);
    assert_int_equal(abci_frame_next(&r, 100, &body, &blen), ABCI_FRAME_OK);
    assert_int_equal(blen, 1);
    assert_int_equal(body[0], 'z');
    assert_int_equal(r.pos, sizeof b);
    assert_int_equal(abci_frame_next(&r, 100, &body, &blen), ABCI_FRAME_NEED_MORE);
}

static void frame_pack_roundtrips_a_request_and_refuses_small_buffer(void **state)
{
    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestEcho e = TENDERMINT__ABCI__REQUEST_ECHO__INIT;
    char msg[200];
    memset(msg, 'x', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    e.message = msg;
    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
    req.echo = &e;

    size_t need = abci_frame_size(&req.base);
    uint8_t *buf = malloc(need);
    assert_non_null(buf);
    assert_int_equal(abci_frame_pack(&req.base, buf, need - 1), 0);
    assert_int_equal(abci_frame_pack(&req.base, buf, need), need);

    abci_reader r = { buf, need, 0 };
    const uint8_t *body;
    uint64_t blen;
    assert_int_equal(abci_frame_next(&r, need, &body, &blen), ABCI_FRAME_OK);
    assert_int_equal(blen + 2, need); /* 2-byte header for a ~203 byte body */
    Tendermint__Abci__Request *back = tendermint__abci__request__unpack(NULL, blen, body);
    assert_non_null(back);
    assert_int_equal(back->value_case, TENDERMINT__ABCI__REQUEST__VALUE_ECHO);
    assert_string_equal(back->echo->message, msg);
    tendermint__abci__request__free_unpacked(back, NULL);
    free(buf);
}

static void status_names_are_distinct(void **state)
{
    assert_string_equal(abci_frame_status_str(ABCI_FRAME_OK), "ok");
    assert_string_equal(abci_frame_status_str(ABCI_FRAME_TOO_LONG), "frame too long");
    assert_string_equal(abci_frame_status_str(ABCI_FRAME_BAD_VARINT), "bad varint");
    assert_string_equal(abci_frame_status_str(ABCI_FRAME_NEED_MORE), "need more bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varint_boundaries_roundtrip_with_exact_lengths),
        cmocka_unit_test(varint_known_encodings_match_go_uvarint),
        cmocka_unit_test(varint_ten_byte_max_decodes_to_uint64_max),
        cmocka_unit_test(varint_tenth_byte_over_one_is_bad_varint),
        cmocka_unit_test(varint_overlong_eleven_bytes_is_bad_varint),
        cmocka_unit_test(varint_truncated_needs_more_and_keeps_position),
        cmocka_unit_test(varint_non_minimal_encoding_is_accepted_like_go),
        cmocka_unit_test(varint_decodes_from_reader_position),
        cmocka_unit_test(frame_one_gib_declared_length_is_too_long_from_header_alone),
        cmocka_unit_test(frame_at_limit_is_accepted_and_one_over_is_refused),
        cmocka_unit_test(frame_incomplete_body_needs_more_then_completes),
        cmocka_unit_test(frame_pack_roundtrips_a_request_and_refuses_small_buffer),
        cmocka_unit_test(status_names_are_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
