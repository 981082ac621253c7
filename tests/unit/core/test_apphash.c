/* test_apphash.c — H_0 and H_h item encodings (protocol.md §7), checked against an independent
 * byte-by-byte construction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "apphash.h"

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int l = 32;
    assert_int_equal(EVP_Digest(p, n, out, &l, EVP_sha256(), NULL), 1);
}

static size_t put(uint8_t *b, size_t at, const void *p, size_t n)
{
    memcpy(b + at, p, n);
    return at + n;
}

static size_t put_be(uint8_t *b, size_t at, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        b[at + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return at + (size_t)bytes;
}

static void empty_block_hash_is_the_domain_hash_of_prev_height_and_empty_d(void **state)
{
    uint8_t prev[32], out[32], want[32], d[32], buf[128];
    memset(prev, 0x5a, 32);
    sb_apphash_ctx c;
    assert_int_equal(sb_apphash_begin(&c), 0);
    assert_int_equal(sb_apphash_finish(&c, prev, 7, out), 0);
    assert_null(c.md);
    sha(buf, 0, d);
    size_t n = put(buf, 0, "sleetbubble/v1/apphash", 23); /* incl. NUL */
    n = put(buf, n, prev, 32);
    n = put_be(buf, n, 7, 8);
    n = put(buf, n, d, 32);
    sha(buf, n, want);
    assert_memory_equal(out, want, 32);
}

static void tx_and_slot_items_are_length_prefixed_in_order(void **state)
{
    uint8_t prev[32] = { 1 }, out[32], want[32], d[32], dbuf[512], buf[128];
    const uint8_t tx[3] = { 0xaa, 0xbb, 0xcc };
    sb_slot_record r;
    memset(&r, 0, sizeof r);
    r.slot = 0x0102030405060708ULL;
    r.outcome = 2;
    memset(r.proposal_id, 0x33, 32);
    r.power_for = 30;
    r.total = 40;
    r.manifest_cid_len = 37;
    memset(r.manifest_cid, 0x44, 37);
    sb_slot_record none;
    memset(&none, 0, sizeof none);
    none.slot = 9;
    none.outcome = 4;
    memset(none.proposal_id, 0x99, 32); /* must be written as zeros for NONE */
    none.total = 40;

    sb_apphash_ctx c;
    assert_int_equal(sb_apphash_begin(&c), 0);
    assert_int_equal(sb_apphash_add_tx(&c, tx, 3), 0);
    assert_int_equal(sb_apphash_add_slot(&c, &r), 0);
    assert_int_equal(sb_apphash_add_slot(&c, &none), 0);
    assert_int_equal(sb_apphash_finish(&c, prev, 2, out), 0);

    size_t n = put_be(dbuf, 0, 4, 4);
    dbuf[n++] = 0x01;
    n = put(dbuf, n, tx, 3);
    n = put_be(dbuf, n, 1 + 8 + 1 + 32 + 8 + 8 + 2 + 37, 4);
    dbuf[n++] = 0x02;
    n = put_be(dbuf, n, r.slot, 8);
    dbuf[n++] = 2;
    n = put(dbuf, n, r.proposal_id, 32);
    n = put_be(dbuf, n, 30, 8);
    n = put_be(dbuf, n, 40, 8);
    n = put_be(dbuf, n, 37, 2);
    n = put(dbuf, n, r.manifest_cid, 37);
    n = put_be(dbuf, n, 1 + 8 + 1 + 32 + 8 + 8 + 2, 4);
    dbuf[n++] = 0x02;
    n = put_be(dbuf, n, 9, 8);
    dbuf[n++] = 4;
    memset(dbuf + n, 0, 32);
    n += 32;
    n = put_be(dbuf, n, 0, 8);
    n = put_be(dbuf, n, 40, 8);
    n = put_be(dbuf, n, 0, 2);
    sha(dbuf, n, d);
    n = put(buf, 0, "sleetbubble/v1/apphash", 23);
    n = put(buf, n, prev, 32);
    n = put_be(buf, n, 2, 8);
    n = put(buf, n, d, 32);
    sha(buf, n, want);
    assert_memory_equal(out, want, 32);
}

static void genesis_hash_covers_vote_keys_sorted_by_validator(void **state)
{
    sb_validator v[2];
    memset(v, 0, sizeof v);
    memset(v[0].pubkey, 0x10, 32);
    v[0].power = 5;
    memset(v[1].pubkey, 0x20, 32);
    v[1].power = 7;
    uint8_t cur[1][32];
    memset(cur[0], 0x30, 32);
    sb_params p = { .chain_id = "x",
                    .slot_seconds = 20,
                    .close_lead_seconds = 8,
                    .horizon_slots = 48,
                    .epoch_ns = -1,
                    .max_tracks = 256,
                    .max_proposals_per_slot = 64,
                    .max_tx_size = 65536,
                    .open_curation = 0,
                    .n_curators = 1,
                    .curators = cur,
                    .n_validators = 2,
                    .validators = v };
    uint8_t h0[32], want[32], buf[512];
    sb_apphash_genesis(&p, h0);
    size_t n = put(buf, 0, "sleetbubble/v1/genesis", 23);
    n = put_be(buf, n, 1, 4);
    buf[n++] = 'x';
    n = put_be(buf, n, 20, 8);
    n = put_be(buf, n, 8, 8);
    n = put_be(buf, n, 48, 8);
    n = put_be(buf, n, UINT64_MAX, 8); /* -1 ns, two's complement */
    n = put_be(buf, n, 256, 4);
    n = put_be(buf, n, 64, 4);
    n = put_be(buf, n, 65536, 4);
    buf[n++] = 0;
    n = put_be(buf, n, 1, 4);
    n = put(buf, n, cur[0], 32);
    n = put_be(buf, n, 0, 4);
    n = put_be(buf, n, 2, 4);
    n = put(buf, n, v[0].pubkey, 32);
    n = put_be(buf, n, 5, 8);
    n = put(buf, n, v[1].pubkey, 32);
    n = put_be(buf, n, 7, 8);
    sha(buf, n, want);
    assert_memory_equal(h0, want, 32);

    /* a vote key for the second validator enters as one (validator, vote key) pair */
    v[1].has_vote_key = 1;
    memset(v[1].vote_key, 0x40, 32);
    uint8_t h1[32];
    sb_apphash_genesis(&p, h1);
    assert_memory_not_equal(h0, h1, 32);
    n = put(buf, 0, "sleetbubble/v1/genesis", 23);
    n = put_be(buf, n, 1, 4);
    buf[n++] = 'x';
    n = put_be(buf, n, 20, 8);
    n = put_be(buf, n, 8, 8);
    n = put_be(buf, n, 48, 8);
    n = put_be(buf, n, UINT64_MAX, 8);
    n = put_be(buf, n, 256, 4);
    n = put_be(buf, n, 64, 4);
    n = put_be(buf, n, 65536, 4);
    buf[n++] = 0;
    n = put_be(buf, n, 1, 4);
    n = put(buf, n, cur[0], 32);
    n = put_be(buf, n, 1, 4);
    n = put(buf, n, v[1].pubkey, 32);
    n = put(buf, n, v[1].vote_key, 32);
    n = put_be(buf, n, 2, 4);
    n = put(buf, n, v[0].pubkey, 32);
    n = put_be(buf, n, 5, 8);
    n = put(buf, n, v[1].pubkey, 32);
    n = put_be(buf, n, 7, 8);
    sha(buf, n, want);
    assert_memory_equal(h1, want, 32);
}

static void abort_and_double_finish_are_safe(void **state)
{
    sb_apphash_ctx c;
    uint8_t prev[32] = { 0 }, out[32];
    assert_int_equal(sb_apphash_begin(&c), 0);
    sb_apphash_abort(&c);
    sb_apphash_abort(&c);
    assert_int_equal(sb_apphash_finish(&c, prev, 1, out), -1);
    assert_int_equal(sb_apphash_add_tx(&c, prev, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_block_hash_is_the_domain_hash_of_prev_height_and_empty_d),
        cmocka_unit_test(tx_and_slot_items_are_length_prefixed_in_order),
        cmocka_unit_test(genesis_hash_covers_vote_keys_sorted_by_validator),
        cmocka_unit_test(abort_and_double_finish_are_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
