/* test_agent.c — the vote agent's pure rules (protocol.md §15): target slot, h* selection,
 * phases, and each policy on crafted slots. Expected choices under the hash rule are computed
 * here from the preimage with EVP SHA-256, never by sb_agent_rank_hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "agent.h"
#include "slot.h"

#define S 1000000000LL

static sb_params mk(int64_t t0, uint64_t L, uint64_t lead)
{
    sb_params p;
    memset(&p, 0, sizeof p);
    p.epoch_ns = t0;
    p.slot_seconds = L;
    p.close_lead_seconds = lead;
    p.horizon_slots = 48;
    return p;
}

/* SHA-256("sleetbubble/v1/agent\0" || h || id) with EVP, independent of the module. */
static void ref_rank(const uint8_t h[32], const uint8_t id[32], uint8_t out[32])
{
    static const char dom[] = "sleetbubble/v1/agent";
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(c, dom, sizeof dom), 1); /* includes the NUL */
    assert_int_equal(EVP_DigestUpdate(c, h, 32), 1);
    assert_int_equal(EVP_DigestUpdate(c, id, 32), 1);
    assert_int_equal(EVP_DigestFinal_ex(c, out, &n), 1);
    assert_int_equal(n, 32);
    EVP_MD_CTX_free(c);
}

static sb_agent_cand cand(uint8_t idb, uint8_t curb, uint64_t power, int64_t height, int available)
{
    sb_agent_cand c;
    memset(&c, 0, sizeof c);
    memset(c.id, idb, 32);
    memset(c.curator, curb, 32);
    c.power_for = power;
    c.height = height;
    c.available = available;
    return c;
}

static sb_agent_in input(const sb_agent_cand *c, size_t n, int64_t hstar)
{
    sb_agent_in in;
    memset(&in, 0, sizeof in);
    in.cands = c;
    in.n = n;
    in.hstar_height = hstar;
    for (int i = 0; i < 32; i++)
        in.hstar_hash[i] = (uint8_t)(0xa0 + i);
    in.policy = SB_AGENT_FOLLOW;
    return in;
}

/* Index of the lowest reference rank among cands[i] with power p, height <= hstar, available. */
static size_t ref_lowest(const sb_agent_in *in, uint64_t p)
{
    size_t best = SIZE_MAX;
    uint8_t bh[32], h[32];
    for (size_t i = 0; i < in->n; i++) {
        if (in->cands[i].power_for != p || !in->cands[i].available ||
            in->cands[i].height > in->hstar_height)
            continue;
        ref_rank(in->hstar_hash, in->cands[i].id, h);
        if (best == SIZE_MAX || memcmp(h, bh, 32) < 0) {
            best = i;
            memcpy(bh, h, 32);
        }
    }
    return best;
}

static void rank_hash_matches_the_preimage(void **state)
{
    uint8_t h[32], id[32], a[32], b[32];
    memset(h, 7, 32);
    memset(id, 9, 32);
    sb_agent_rank_hash(h, id, a);
    ref_rank(h, id, b);
    assert_memory_equal(a, b, 32);
}

static void target_is_the_first_slot_still_open(void **state)
{
    sb_params p = mk(1000 * S, 20, 8); /* close(s) = 992 + 20 s */
    uint64_t s;
    int64_t c;
    assert_int_equal(sb_agent_target_slot(&p, 0, &s, &c), 0);
    assert_int_equal(s, 0);
    assert_true(c == 992 * S);
    assert_int_equal(sb_agent_target_slot(&p, 992 * S - 1, &s, &c), 0);
    assert_int_equal(s, 0);
    assert_int_equal(sb_agent_target_slot(&p, 992 * S, &s, &c), 0); /* slot 0 just closed */
    assert_int_equal(s, 1);
    assert_true(c == 1012 * S);
    assert_int_equal(sb_agent_target_slot(&p, 1012 * S - 1, &s, &c), 0); /* last ns open */
    assert_int_equal(s, 1);
    assert_int_equal(sb_agent_target_slot(&p, 1012 * S, &s, &c), 0);
    assert_int_equal(s, 2);
    for (int64_t t = 900 * S; t < 1200 * S; t += S / 3) { /* the definition, brute force */
        assert_int_equal(sb_agent_target_slot(&p, t, &s, &c), 0);
        assert_true(sb_slot_close(&p, s) > t);
        assert_true(s == 0 || sb_slot_close(&p, s - 1) <= t);
    }
}

static void phases_split_at_close_minus_lead_and_close(void **state)
{
    int64_t close = 1012 * S;
    assert_true(sb_agent_threshold_ns(close, 5) == 1007 * S);
    assert_int_equal(sb_agent_phase_at(close, 5, 1007 * S - 1), SB_AGENT_WAIT);
    assert_int_equal(sb_agent_phase_at(close, 5, 1007 * S), SB_AGENT_DECIDE);
    assert_int_equal(sb_agent_phase_at(close, 5, close - 1), SB_AGENT_DECIDE);
    assert_int_equal(sb_agent_phase_at(close, 5, close), SB_AGENT_CLOSED);
    assert_true(sb_agent_threshold_ns(INT64_MIN + 1, 10) == INT64_MIN); /* saturates */
}

static void hstar_is_the_first_block_at_or_after_the_threshold(void **state)
{
    /* blocks at 1000.4, 1001.4, ..., threshold 1003 s: h* is the block at 1003.4 */
    int64_t thr = 1003 * S, t[8];
    int found = -1;
    for (int i = 0; i < 8; i++)
        t[i] = 1000 * S + i * S + 4 * S / 10;
    for (int i = 0; i < 8; i++)
        if (sb_agent_is_hstar(thr, t[i], i > 0, i > 0 ? t[i - 1] : 0)) {
            assert_int_equal(found, -1); /* exactly one */
            found = i;
        }
    assert_int_equal(found, 3);
    assert_int_equal(sb_agent_is_hstar(thr, thr, 1, thr - 1), 1); /* exactly at the threshold */
    assert_int_equal(sb_agent_is_hstar(thr, thr, 1, thr), 0);
    assert_int_equal(sb_agent_is_hstar(thr, thr + 5, 0, 0), 1); /* first block of the chain */
}

static void follow_without_votes_takes_the_lowest_rank_hash(void **state)
{
    sb_agent_cand c[4] = { cand(1, 11, 0, 5, 1), cand(2, 12, 0, 6, 1), cand(3, 13, 0, 7, 1),
                           cand(4, 14, 0, 7, 1) };
    sb_agent_in in = input(c, 4, 7);
    sb_agent_out out;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.reason, SB_AGENT_R_HASH);
    assert_int_equal(out.choice, ref_lowest(&in, 0));
    assert_int_equal(out.n_committed, 4);
    /* Another h* hash reorders: the rule follows the hash, not the index. */
    int changed = 0;
    for (int k = 0; k < 16; k++) {
        size_t before = out.choice;
        in.hstar_hash[0] = (uint8_t)k;
        sb_agent_decide(&in, &out);
        assert_int_equal(out.choice, ref_lowest(&in, 0));
        changed |= out.choice != before;
    }
    assert_true(changed);
}

static void follow_takes_the_most_power(void **state)
{
    sb_agent_cand c[3] = { cand(1, 11, 10, 5, 1), cand(2, 12, 30, 6, 1), cand(3, 13, 20, 7, 1) };
    sb_agent_in in = input(c, 3, 7);
    sb_agent_out out;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, 1);
    assert_int_equal(out.reason, SB_AGENT_R_POWER);
}

static void follow_tie_goes_to_the_first_listed_curator(void **state)
{
    sb_agent_cand c[3] = { cand(1, 11, 30, 5, 1), cand(2, 12, 30, 6, 1), cand(3, 13, 40, 7, 0) };
    uint8_t cur[2][32];
    memset(cur[0], 12, 32);
    memset(cur[1], 11, 32);
    sb_agent_in in = input(c, 3, 7);
    sb_agent_out out;
    in.curators = (const uint8_t(*)[32])cur;
    in.n_curators = 2;
    sb_agent_decide(&in, &out); /* index 2 has more power but is unavailable */
    assert_int_equal(out.choice, 1);
    assert_int_equal(out.reason, SB_AGENT_R_POWER_CURATORS);
    in.n_curators = 0; /* no list: the hash among the tied */
    sb_agent_decide(&in, &out);
    assert_int_equal(out.reason, SB_AGENT_R_POWER_HASH);
    assert_int_equal(out.choice, ref_lowest(&in, 30));
}

static void curators_list_does_not_break_zero_power_ties(void **state)
{
    sb_agent_cand c[2] = { cand(1, 11, 0, 5, 1), cand(2, 12, 0, 6, 1) };
    uint8_t cur[2][32];
    memset(cur[0], 12, 32);
    memset(cur[1], 11, 32);
    sb_agent_in in = input(c, 2, 7);
    sb_agent_out out;
    in.curators = (const uint8_t(*)[32])cur;
    in.n_curators = 2;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.reason, SB_AGENT_R_HASH);
    assert_int_equal(out.choice, ref_lowest(&in, 0));
}

static void priority_takes_the_first_listed_curator_else_follows(void **state)
{
    sb_agent_cand c[3] = { cand(1, 11, 50, 5, 1), cand(2, 12, 0, 6, 1), cand(3, 13, 10, 7, 1) };
    uint8_t cur[3][32];
    memset(cur[0], 99, 32); /* no proposal */
    memset(cur[1], 13, 32);
    memset(cur[2], 12, 32);
    sb_agent_in in = input(c, 3, 7);
    sb_agent_out out;
    in.policy = SB_AGENT_PRIORITY;
    in.curators = (const uint8_t(*)[32])cur;
    in.n_curators = 3;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, 2);
    assert_int_equal(out.reason, SB_AGENT_R_PRIORITY);
    c[2].available = 0; /* next listed curator */
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, 1);
    c[1].height = 8; /* after h*: no listed curator left -> follow */
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, 0);
    assert_int_equal(out.reason, SB_AGENT_R_POWER);
}

static void proposals_after_hstar_are_not_candidates(void **state)
{
    sb_agent_cand c[2] = { cand(1, 11, 0, 5, 1), cand(2, 12, 90, 8, 1) };
    sb_agent_in in = input(c, 2, 7);
    sb_agent_out out;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, 0);
    assert_int_equal(out.n_committed, 1);
    in.hstar_height = 4;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, SIZE_MAX);
    assert_int_equal(out.reason, SB_AGENT_R_NO_CANDIDATE);
}

static void no_proposals_means_no_candidate_and_unavailable_ones_unavailable(void **state)
{
    sb_agent_cand c[2] = { cand(1, 11, 0, 5, 0), cand(2, 12, 5, 6, 0) };
    sb_agent_in in = input(c, 0, 7);
    sb_agent_out out;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, SIZE_MAX);
    assert_int_equal(out.reason, SB_AGENT_R_NO_CANDIDATE);
    in.n = 2;
    sb_agent_decide(&in, &out);
    assert_int_equal(out.choice, SIZE_MAX);
    assert_int_equal(out.reason, SB_AGENT_R_UNAVAILABLE);
    assert_int_equal(out.n_committed, 2);
    assert_int_equal(out.n_available, 0);
    assert_string_equal(sb_agent_reason_name(out.reason), "unavailable");
}

/* protocol.md §15 key_file: validators A (no delegate) and B (delegates to key D). */
static void key_roles_follow_the_validators_and_their_delegates(void **state)
{
    sb_validator v[2];
    sb_params p = mk(0, 20, 8);
    uint8_t a[32], b[32], d[32], x[32];
    const sb_validator *got = (const sb_validator *)&p;
    memset(a, 0x0a, 32);
    memset(b, 0x0b, 32);
    memset(d, 0x0d, 32);
    memset(x, 0x55, 32);
    memset(v, 0, sizeof v);
    memcpy(v[0].pubkey, a, 32);
    v[0].power = 40;
    memcpy(v[1].pubkey, b, 32);
    v[1].power = 60;
    v[1].has_vote_key = 1;
    memcpy(v[1].vote_key, d, 32);
    p.validators = v;
    p.n_validators = 2;
    assert_int_equal(sb_agent_key_check(&p, d, &got), SB_AGENT_KEY_DELEGATE);
    assert_ptr_equal(got, &v[1]);
    assert_int_equal(sb_agent_key_check(&p, a, &got), SB_AGENT_KEY_CONSENSUS);
    assert_ptr_equal(got, &v[0]);
    /* B's own key: refused, B delegates (its votes would fail SIGNATURE) */
    assert_int_equal(sb_agent_key_check(&p, b, &got), SB_AGENT_KEY_DELEGATED_AWAY);
    assert_ptr_equal(got, &v[1]);
    /* not a validator's key, nor a delegate: refused */
    assert_int_equal(sb_agent_key_check(&p, x, &got), SB_AGENT_KEY_UNKNOWN);
    assert_null(got);
    assert_int_equal(sb_agent_key_check(&p, x, NULL), SB_AGENT_KEY_UNKNOWN);
    /* A's key delegated by B: it votes for B (the delegation wins over the own key) */
    memcpy(v[1].vote_key, a, 32);
    assert_int_equal(sb_agent_key_check(&p, a, &got), SB_AGENT_KEY_DELEGATE);
    assert_ptr_equal(got, &v[1]);
    p.n_validators = 0; /* no validators at all */
    assert_int_equal(sb_agent_key_check(&p, a, &got), SB_AGENT_KEY_UNKNOWN);
    assert_null(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rank_hash_matches_the_preimage),
        cmocka_unit_test(target_is_the_first_slot_still_open),
        cmocka_unit_test(phases_split_at_close_minus_lead_and_close),
        cmocka_unit_test(hstar_is_the_first_block_at_or_after_the_threshold),
        cmocka_unit_test(follow_without_votes_takes_the_lowest_rank_hash),
        cmocka_unit_test(follow_takes_the_most_power),
        cmocka_unit_test(follow_tie_goes_to_the_first_listed_curator),
        cmocka_unit_test(curators_list_does_not_break_zero_power_ties),
        cmocka_unit_test(priority_takes_the_first_listed_curator_else_follows),
        cmocka_unit_test(proposals_after_hstar_are_not_candidates),
        cmocka_unit_test(no_proposals_means_no_candidate_and_unavailable_ones_unavailable),
        cmocka_unit_test(key_roles_follow_the_validators_and_their_delegates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
