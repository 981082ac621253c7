/* test_tally.c — winner selection (protocol.md §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core_test_util.h"
#include "tally.h"

static const uint8_t H[32] = { 0xab, 0xcd };

static void unhex32(const char *hex, uint8_t out[32])
{
    assert_int_equal(strlen(hex), 64);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* H_{h-1} = 00 01 .. 1f and slot 0x0102030405060708 for the known-answer vectors below. */
static void kat_prev(uint8_t h[32])
{
    for (int i = 0; i < 32; i++)
        h[i] = (uint8_t)i;
}
#define KAT_SLOT UINT64_C(0x0102030405060708)

static sb_tally_candidate cand(uint8_t tag, uint64_t power)
{
    sb_tally_candidate c;
    memset(c.id, tag, 32);
    c.power_for = power;
    return c;
}

static void supermajority_needs_strictly_more_than_two_thirds(void **state)
{
    sb_tally_candidate c[2] = { cand(1, 20), cand(2, 10) };
    sb_slot_record r;
    assert_int_equal(sb_tally(5, c, 2, 30, 1, H, NULL, 9, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK); /* 3·20 = 2·30 is not > */
    assert_memory_equal(r.proposal_id, c[0].id, 32);
    c[0].power_for = 21;
    c[1].power_for = 9;
    assert_int_equal(sb_tally(5, c, 2, 30, 1, H, NULL, 9, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_SUPERMAJORITY);
    assert_memory_equal(r.proposal_id, c[0].id, 32);
    assert_int_equal(r.power_for, 21);
    assert_int_equal(r.total, 30);
    assert_int_equal(r.slot, 5);
    assert_int_equal(r.height, 9);
    assert_int_equal(r.manifest_cid_len, 0);
}

static void supermajority_arithmetic_does_not_overflow_at_uint64_max(void **state)
{
    sb_tally_candidate c[1] = { cand(1, UINT64_MAX / 3 * 2 + 2) };
    sb_slot_record r;
    assert_int_equal(sb_tally(0, c, 1, UINT64_MAX, 1, H, NULL, 1, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_SUPERMAJORITY);
    c[0].power_for = UINT64_MAX / 3 * 2;
    assert_int_equal(sb_tally(0, c, 1, UINT64_MAX, 1, H, NULL, 1, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
}

static void fallback_picks_the_highest_power_for(void **state)
{
    sb_tally_candidate c[3] = { cand(1, 5), cand(2, 9), cand(3, 0) };
    sb_slot_record r;
    assert_int_equal(sb_tally(2, c, 3, 100, 1, H, NULL, 3, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
    assert_memory_equal(r.proposal_id, c[1].id, 32);
    assert_int_equal(r.power_for, 9);
}

/* All permutations of four tied candidates give the same winner, and it is the one with the
 * lowest tie-break hash. */
static void ties_are_broken_by_hash_whatever_the_candidate_order(void **state)
{
    sb_tally_candidate base[4] = { cand(1, 7), cand(2, 7), cand(3, 7), cand(4, 3) };
    uint8_t best[32], tb[32], bestid[32];
    memset(best, 0xff, 32);
    for (int i = 0; i < 3; i++) {
        tu_tiebreak_ref(H, 11, base[i].id, tb);
        if (memcmp(tb, best, 32) < 0) {
            memcpy(best, tb, 32);
            memcpy(bestid, base[i].id, 32);
        }
    }
    int perm[24][4], np = 0;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < 4; d++)
                    if (a != b && a != c && a != d && b != c && b != d && c != d) {
                        perm[np][0] = a, perm[np][1] = b, perm[np][2] = c, perm[np][3] = d;
                        np++;
                    }
    assert_int_equal(np, 24);
    for (int k = 0; k < np; k++) {
        sb_tally_candidate c[4];
        sb_slot_record r;
        for (int i = 0; i < 4; i++)
            c[i] = base[perm[k][i]];
        assert_int_equal(sb_tally(11, c, 4, 100, 1, H, NULL, 12, &r), 0);
        assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
        assert_memory_equal(r.proposal_id, bestid, 32);
    }
    /* a different previous app hash can pick a different winner but again order-free */
    uint8_t h2[32] = { 1 };
    sb_slot_record r1, r2;
    sb_tally_candidate fwd[3] = { base[0], base[1], base[2] },
                       rev[3] = { base[2], base[1], base[0] };
    assert_int_equal(sb_tally(11, fwd, 3, 100, 1, h2, NULL, 12, &r1), 0);
    assert_int_equal(sb_tally(11, rev, 3, 100, 1, h2, NULL, 12, &r2), 0);
    assert_memory_equal(r1.proposal_id, r2.proposal_id, 32);
}

static void tiebreak_hash_is_domain_separated_sha256(void **state)
{
    uint8_t a[32], b[32], id[32] = { 9 };
    sb_tally_tiebreak(H, 1, id, a);
    sb_tally_tiebreak(H, 2, id, b);
    assert_memory_not_equal(a, b, 32);
    sb_tally_tiebreak(H, 1, id, b);
    assert_memory_equal(a, b, 32);
}

/* sb_tally_tiebreak against the SPEC preimage: a fixed answer computed outside the project
 *   { printf 'sleetbubble/v1/tiebreak\000'; printf '%s%016x%s' \
 *       000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 72623859790382856 \
 *       3333333333333333333333333333333333333333333333333333333333333333 | xxd -r -p; } | sha256sum
 * and EVP SHA-256 of the preimage (tu_tiebreak_ref) for every byte position that matters. */
static void tiebreak_hash_matches_the_spec_preimage(void **state)
{
    uint8_t prev[32], id[32], got[32], want[32];
    kat_prev(prev);
    memset(id, 0x33, 32);
    sb_tally_tiebreak(prev, KAT_SLOT, id, got);
    unhex32("2a4bd41b8ae6d07705e6ce38aca61f01c2b0b153a717cbe12a65946ffd3059f3", want);
    assert_memory_equal(got, want, 32);

    static const uint64_t slots[] = { 0, 1, 255, 256, KAT_SLOT, UINT64_MAX };
    for (size_t k = 0; k < sizeof slots / sizeof slots[0]; k++)
        for (int pos = 0; pos < 32; pos++) {
            uint8_t p[32] = { 0 }, q[32] = { 0 };
            p[pos] = (uint8_t)(0x80 | pos);
            q[31 - pos] = (uint8_t)(k + 1);
            sb_tally_tiebreak(p, slots[k], q, got);
            tu_tiebreak_ref(p, slots[k], q, want);
            assert_memory_equal(got, want, 32);
        }
}

/* A real tie: three proposals with power_for 7 (and one with 3). With the KAT H_{h-1} and slot,
 * the hashes (computed as above) are 0x11.. f6fce380.., 0x22.. f6f66028.., 0x33.. 2a4bd41b..:
 * 0x33.. wins, which is neither the lowest id nor the first given, in every order. */
static void real_tie_goes_to_the_lowest_spec_hash(void **state)
{
    uint8_t prev[32], want[32];
    kat_prev(prev);
    memset(want, 0x33, 32);
    const sb_tally_candidate base[4] = { cand(0x22, 7), cand(0x33, 7), cand(0x11, 7),
                                         cand(0x44, 3) };
    for (int rot = 0; rot < 4; rot++)
        for (int flip = 0; flip < 2; flip++) {
            sb_tally_candidate c[4];
            for (int i = 0; i < 4; i++)
                c[i] = base[flip ? (3 - (i + rot) % 4) : (i + rot) % 4];
            sb_slot_record r;
            assert_int_equal(sb_tally(KAT_SLOT, c, 4, 30, 1, prev, NULL, 99, &r), 0);
            assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
            assert_memory_equal(r.proposal_id, want, 32);
            assert_int_equal(r.power_for, 7);
            assert_int_equal(r.total, 30);
        }
    /* the same three, no votes on a curated chain: still 0x33.. */
    sb_tally_candidate z[3] = { cand(0x11, 0), cand(0x22, 0), cand(0x33, 0) };
    sb_slot_record r;
    assert_int_equal(sb_tally(KAT_SLOT, z, 3, 30, 1, prev, NULL, 99, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
    assert_memory_equal(r.proposal_id, want, 32);
    assert_int_equal(r.power_for, 0);
}

static void curated_slot_without_votes_falls_back_to_all_proposals(void **state)
{
    sb_tally_candidate c[2] = { cand(1, 0), cand(2, 0) };
    sb_slot_record r;
    assert_int_equal(sb_tally(3, c, 2, 40, 1, H, NULL, 4, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_FALLBACK);
    assert_int_equal(r.power_for, 0);
    uint8_t t1[32], t2[32];
    tu_tiebreak_ref(H, 3, c[0].id, t1);
    tu_tiebreak_ref(H, 3, c[1].id, t2);
    assert_memory_equal(r.proposal_id, memcmp(t1, t2, 32) < 0 ? c[0].id : c[1].id, 32);
}

static void open_curation_without_votes_repeats_or_is_none(void **state)
{
    sb_tally_candidate c[2] = { cand(1, 0), cand(2, 0) };
    sb_slot_record r, prev;
    assert_int_equal(sb_tally(3, c, 2, 40, 0, H, NULL, 4, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_NONE);
    assert_int_equal(r.total, 40);
    memset(&prev, 0, sizeof prev);
    prev.slot = 2;
    prev.outcome = SB_OUTCOME_FALLBACK;
    memset(prev.proposal_id, 0x77, 32);
    prev.manifest_cid_len = 37;
    memset(prev.manifest_cid, 0x55, 37);
    prev.power_for = 13;
    assert_int_equal(sb_tally(3, c, 2, 40, 0, H, &prev, 4, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_REPEAT);
    assert_memory_equal(r.proposal_id, prev.proposal_id, 32);
    assert_int_equal(r.manifest_cid_len, 37);
    assert_memory_equal(r.manifest_cid, prev.manifest_cid, 37);
    assert_int_equal(r.power_for, 0);
    assert_int_equal(r.total, 40);
    assert_int_equal(r.slot, 3);
}

static void repeat_of_a_repeat_keeps_the_original_winner(void **state)
{
    sb_slot_record prev, r, r2;
    memset(&prev, 0, sizeof prev);
    prev.outcome = SB_OUTCOME_SUPERMAJORITY;
    memset(prev.proposal_id, 0x42, 32);
    prev.manifest_cid_len = 37;
    memset(prev.manifest_cid, 0x24, 37);
    assert_int_equal(sb_tally(1, NULL, 0, 10, 1, H, &prev, 2, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_REPEAT);
    assert_int_equal(sb_tally(2, NULL, 0, 10, 1, H, &r, 3, &r2), 0);
    assert_int_equal(r2.outcome, SB_OUTCOME_REPEAT);
    assert_memory_equal(r2.proposal_id, prev.proposal_id, 32);
    assert_memory_equal(r2.manifest_cid, prev.manifest_cid, 37);
    /* after a NONE there is nothing to repeat */
    prev.outcome = SB_OUTCOME_NONE;
    assert_int_equal(sb_tally(1, NULL, 0, 10, 1, H, &prev, 2, &r), 0);
    assert_int_equal(r.outcome, SB_OUTCOME_NONE);
    uint8_t zero[32] = { 0 };
    assert_memory_equal(r.proposal_id, zero, 32);
    assert_int_equal(r.manifest_cid_len, 0);
}

static void power_for_above_total_is_an_error(void **state)
{
    sb_tally_candidate c[1] = { cand(1, 11) };
    sb_slot_record r;
    assert_int_equal(sb_tally(1, c, 1, 10, 1, H, NULL, 1, &r), -1);
    assert_int_equal(sb_tally(1, NULL, 1, 10, 1, H, NULL, 1, &r), -1);
}

static void outcome_names_round_trip(void **state)
{
    assert_string_equal(sb_outcome_name(SB_OUTCOME_SUPERMAJORITY), "SUPERMAJORITY");
    assert_string_equal(sb_outcome_name(SB_OUTCOME_FALLBACK), "FALLBACK");
    assert_string_equal(sb_outcome_name(SB_OUTCOME_REPEAT), "REPEAT");
    assert_string_equal(sb_outcome_name(SB_OUTCOME_NONE), "NONE");
    assert_string_equal(sb_outcome_name(0), "UNKNOWN");
    for (int o = 1; o <= 4; o++)
        assert_int_equal(sb_outcome_from_name(sb_outcome_name(o)), o);
    assert_int_equal(sb_outcome_from_name("nope"), 0);
}

/* Three validators (powers 5, 7, 11, keys 0x10.., 0x20.., 0x30..). */
static sb_params three_validators(sb_validator v[3])
{
    sb_params p;
    memset(&p, 0, sizeof p);
    for (int i = 0; i < 3; i++) {
        memset(&v[i], 0, sizeof v[i]);
        memset(v[i].pubkey, 0x10 * (i + 1), 32);
    }
    v[0].power = 5;
    v[1].power = 7;
    v[2].power = 11;
    p.validators = v;
    p.n_validators = 3;
    return p;
}

static void votes_sum_validator_power_per_proposal_in_the_callers_order(void **state)
{
    (void)state;
    sb_validator v[3];
    sb_params p = three_validators(v);
    uint8_t ids[3 * 32], none[32], stranger[32];
    memset(ids, 0xcc, 32); /* not in id order: the indexes returned are the caller's */
    memset(ids + 32, 0xaa, 32);
    memset(ids + 64, 0xbb, 32);
    memset(none, 0xdd, 32);
    memset(stranger, 0x99, 32);
    sb_tally_votes tv;
    assert_int_equal(sb_tally_votes_init(&tv, &p, ids, 3), 0);
    assert_int_equal(sb_tally_votes_add(&tv, v[0].pubkey, ids + 64), 2);
    assert_int_equal(sb_tally_votes_add(&tv, v[2].pubkey, ids + 64), 2);
    assert_int_equal(sb_tally_votes_add(&tv, v[1].pubkey, ids), 0);
    assert_int_equal(sb_tally_votes_add(&tv, v[1].pubkey, none), 3);  /* names no proposal */
    assert_int_equal(sb_tally_votes_add(&tv, stranger, ids + 32), 1); /* counted as nothing */
    assert_int_equal(sb_tally_votes_finish(&tv), 0);
    assert_memory_equal(tv.c[0].id, ids, 32);
    assert_int_equal(tv.c[0].power_for, 7);
    assert_int_equal(tv.c[1].power_for, 0);
    assert_int_equal(tv.c[2].power_for, 16);
    sb_tally_votes_free(&tv);
    assert_null(tv.c);
    /* no proposals: every vote names none */
    assert_int_equal(sb_tally_votes_init(&tv, &p, NULL, 0), 0);
    assert_int_equal(sb_tally_votes_add(&tv, v[0].pubkey, ids), 0);
    assert_int_equal(sb_tally_votes_finish(&tv), 0);
    sb_tally_votes_free(&tv);
}

static void outcomes_with_a_winner(void **state)
{
    (void)state;
    assert_true(sb_outcome_has_winner(SB_OUTCOME_SUPERMAJORITY));
    assert_true(sb_outcome_has_winner(SB_OUTCOME_FALLBACK));
    assert_true(sb_outcome_has_winner(SB_OUTCOME_REPEAT));
    assert_false(sb_outcome_has_winner(SB_OUTCOME_NONE));
    assert_false(sb_outcome_has_winner(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(supermajority_needs_strictly_more_than_two_thirds),
        cmocka_unit_test(supermajority_arithmetic_does_not_overflow_at_uint64_max),
        cmocka_unit_test(fallback_picks_the_highest_power_for),
        cmocka_unit_test(ties_are_broken_by_hash_whatever_the_candidate_order),
        cmocka_unit_test(tiebreak_hash_is_domain_separated_sha256),
        cmocka_unit_test(tiebreak_hash_matches_the_spec_preimage),
        cmocka_unit_test(real_tie_goes_to_the_lowest_spec_hash),
        cmocka_unit_test(curated_slot_without_votes_falls_back_to_all_proposals),
        cmocka_unit_test(open_curation_without_votes_repeats_or_is_none),
        cmocka_unit_test(repeat_of_a_repeat_keeps_the_original_winner),
        cmocka_unit_test(power_for_above_total_is_an_error),
        cmocka_unit_test(outcome_names_round_trip),
        cmocka_unit_test(votes_sum_validator_power_per_proposal_in_the_callers_order),
        cmocka_unit_test(outcomes_with_a_winner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
