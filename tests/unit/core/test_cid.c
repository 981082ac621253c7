/* test_cid.c — track CID rules (protocol.md §4) and the dag-json manifest CID (protocol.md §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cid.h"

static int parse(const char *s)
{
    uint8_t bin[SB_CID_BIN_MAX];
    size_t n;
    return sb_cid_parse(s, strlen(s), bin, &n);
}

static void roundtrip(const uint8_t *bin, size_t n, const char *prefix, size_t want_len)
{
    char s[SB_CID_STR_MAX];
    uint8_t back[SB_CID_BIN_MAX];
    size_t bn;
    assert_int_equal(sb_cid_to_string(bin, n, s, sizeof s), 0);
    assert_int_equal(strlen(s), want_len);
    assert_memory_equal(s, prefix, strlen(prefix));
    assert_int_equal(sb_cid_parse(s, strlen(s), back, &bn), 0);
    assert_int_equal(bn, n);
    assert_memory_equal(back, bin, n);
}

static void cidv0_round_trips_as_46_char_base58btc(void **state)
{
    uint8_t bin[34] = { 0x12, 0x20 };
    for (int v = 0; v < 256; v += 51) {
        memset(bin + 2, v, 32);
        roundtrip(bin, 34, "Qm", 46);
    }
    /* well-known CIDv0s */
    assert_int_equal(parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), 0);
    assert_int_equal(parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), 0);
}

static void cidv1_raw_and_dag_pb_round_trip_as_base32(void **state)
{
    uint8_t bin[36] = { 0x01, 0x55, 0x12, 0x20 };
    for (int v = 0; v < 256; v += 17) {
        memset(bin + 4, v, 32);
        bin[1] = 0x55;
        roundtrip(bin, 36, "bafkrei", 59);
        bin[1] = 0x70;
        roundtrip(bin, 36, "bafybei", 59);
    }
    assert_int_equal(parse("bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se"), 0);
}

static void other_codecs_hashes_and_versions_are_rejected(void **state)
{
    char s[SB_CID_STR_MAX];
    uint8_t bin[40] = { 0x01, 0x71, 0x12, 0x20 }; /* dag-cbor */
    assert_int_equal(sb_cid_to_string(bin, 36, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    bin[1] = 0x55;
    bin[2] = 0x11; /* sha1 */
    bin[3] = 0x14;
    assert_int_equal(sb_cid_to_string(bin, 24, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    bin[2] = 0x00; /* identity hash */
    bin[3] = 0x20;
    assert_int_equal(sb_cid_to_string(bin, 36, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    bin[2] = 0x12;
    bin[3] = 0x1f; /* sha2-256 with the wrong digest length */
    assert_int_equal(sb_cid_to_string(bin, 35, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    uint8_t v2[36] = { 0x02, 0x55, 0x12, 0x20 };
    assert_int_equal(sb_cid_to_string(v2, 36, s, sizeof s), -1);
    /* dag-json CIDs (the manifest kind) are not track CIDs */
    uint8_t mj[37];
    sb_cid_dagjson((const uint8_t *)"{}", 2, mj);
    assert_int_equal(sb_cid_to_string(mj, 37, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
}

static void non_minimal_varint_and_trailing_bytes_are_rejected(void **state)
{
    char s[SB_CID_STR_MAX];
    /* codec 0x55 written as 0xd5 0x00 */
    uint8_t nm[37] = { 0x01, 0xd5, 0x00, 0x12, 0x20 };
    assert_int_equal(sb_cid_to_string(nm, 37, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    /* multihash code 0x12 written as 0x92 0x00 */
    uint8_t nh[37] = { 0x01, 0x55, 0x92, 0x00, 0x20 };
    assert_int_equal(sb_cid_to_string(nh, 37, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
    /* one byte too many */
    uint8_t extra[37] = { 0x01, 0x55, 0x12, 0x20 };
    assert_int_equal(sb_cid_to_string(extra, 37, s, sizeof s), 0);
    assert_int_equal(parse(s), -1);
}

static void wrong_base_case_padding_and_trailing_bits_are_rejected(void **state)
{
    const char *good = "bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se";
    char s[80];
    assert_int_equal(parse(good), 0);
    /* uppercase base32 ('B' multibase) and mixed case */
    snprintf(s, sizeof s, "%s", good);
    for (char *q = s; *q; q++)
        if (*q >= 'a' && *q <= 'z')
            *q = (char)(*q - 32);
    assert_int_equal(parse(s), -1);
    snprintf(s, sizeof s, "%s", good);
    s[5] = 'E';
    assert_int_equal(parse(s), -1);
    /* padding */
    snprintf(s, sizeof s, "%s======", good);
    assert_int_equal(parse(s), -1);
    /* last character changed so the unused trailing bits are non-zero: 'e' = 4 -> 'f' = 5 */
    snprintf(s, sizeof s, "%s", good);
    s[strlen(s) - 1] = 'f';
    assert_int_equal(parse(s), -1);
    /* base58btc multibase 'z' of a v1, and base32 'c' (base32pad) prefixes */
    snprintf(s, sizeof s, "%s", good);
    s[0] = 'z';
    assert_int_equal(parse(s), -1);
    s[0] = 'c';
    assert_int_equal(parse(s), -1);
    /* truncated, empty, embedded NUL via length */
    assert_int_equal(parse("bafkrei"), -1);
    assert_int_equal(parse(""), -1);
    uint8_t bin[SB_CID_BIN_MAX];
    size_t n;
    assert_int_equal(sb_cid_parse(good, strlen(good) - 1, bin, &n), -1);
    /* v0: wrong length, invalid base58 characters ('0', 'O', 'I', 'l'), leading '1' */
    assert_int_equal(parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd"), -1);
    assert_int_equal(parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd0"), -1);
    assert_int_equal(parse("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdO"), -1);
    assert_int_equal(parse("1mYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"), -1);
    /* 46 base58 chars starting Qm that decode to something else than 12 20 || 32 bytes */
    assert_int_equal(parse("Qmzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), -1);
}

static void dagjson_cid_has_the_manifest_prefix(void **state)
{
    uint8_t cid[37];
    char s[SB_CID_STR_MAX];
    sb_cid_dagjson((const uint8_t *)"{}", 2, cid);
    assert_memory_equal(cid, "\x01\xa9\x02\x12\x20", 5);
    assert_int_equal(sb_cid_to_string(cid, 37, s, sizeof s), 0);
    assert_int_equal(strncmp(s, "baguqeera", 9), 0);
    assert_int_equal(strlen(s), 61);
    /* too-small output buffer */
    assert_int_equal(sb_cid_to_string(cid, 37, s, 61), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cidv0_round_trips_as_46_char_base58btc),
        cmocka_unit_test(cidv1_raw_and_dag_pb_round_trip_as_base32),
        cmocka_unit_test(other_codecs_hashes_and_versions_are_rejected),
        cmocka_unit_test(non_minimal_varint_and_trailing_bytes_are_rejected),
        cmocka_unit_test(wrong_base_case_padding_and_trailing_bits_are_rejected),
        cmocka_unit_test(dagjson_cid_has_the_manifest_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
