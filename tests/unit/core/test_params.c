/* test_params.c — genesis app_state (protocol.md §9), params JSON, the P encoding (protocol.md §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apphash.h"
#include "ed25519.h"
#include "params.h"

#define GT 1795392000250000000LL /* 2026-11-23T00:00:00.25Z */

static sb_validator vals[3];
static char hexv[3][65], hexc[2][65], hexk[2][65];

static int setup(void **state)
{
    memset(vals, 0, sizeof vals);
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32];
        memset(seed, 0x11 * (i + 1), 32);
        assert_int_equal(sb_ed25519_pubkey(seed, vals[i].pubkey), 0);
        vals[i].power = 10 * (i + 1);
        sb_hex(vals[i].pubkey, 32, hexv[i]);
    }
    for (int i = 0; i < 2; i++) {
        uint8_t seed[32], pub[32];
        memset(seed, 0xa1 + i, 32);
        assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
        sb_hex(pub, 32, hexc[i]);
        memset(seed, 0xd1 + i, 32);
        assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
        sb_hex(pub, 32, hexk[i]);
    }
    return 0;
}

/* Parse; returns rc and leaves the message in err. */
static int parse(const char *json, sb_params *p, char *err, size_t errlen)
{
    return sb_params_from_genesis(json, strlen(json), "chain-1", GT, vals, 3, p, err, errlen);
}

static void expect_error(const char *json, const char *needle)
{
    sb_params p;
    char err[256] = "";
    assert_int_equal(parse(json, &p, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not contain \"%s\"", err, needle);
    assert_null(p.chain_id);
}

static void defaults_apply_to_missing_keys(void **state)
{
    char json[256];
    sb_params p;
    char err[256];
    snprintf(json, sizeof json, "{\"curators\":[\"%s\"]}", hexc[0]);
    assert_int_equal(parse(json, &p, err, sizeof err), 0);
    assert_string_equal(p.chain_id, "chain-1");
    assert_int_equal(p.slot_seconds, 1800);
    assert_int_equal(p.close_lead_seconds, 300);
    assert_int_equal(p.horizon_slots, 48);
    assert_int_equal(p.epoch_ns, GT);
    assert_int_equal(p.max_tracks, 256);
    assert_int_equal(p.max_proposals_per_slot, 64);
    assert_int_equal(p.max_tx_size, 65536);
    assert_int_equal(p.open_curation, 0);
    assert_int_equal(p.n_curators, 1);
    assert_int_equal(p.n_validators, 3);
    assert_int_equal(sb_params_total_power(&p), 60);
    for (int i = 0; i < 3; i++) {
        const sb_validator *v = sb_params_validator(&p, vals[i].pubkey);
        assert_non_null(v);
        assert_int_equal(v->power, vals[i].power);
        assert_int_equal(v->has_vote_key, 0);
    }
    uint8_t c0[32];
    sb_unhex(hexc[0], c0, 32);
    assert_int_equal(sb_params_is_curator(&p, c0), 1);
    assert_int_equal(sb_params_is_curator(&p, vals[0].pubkey), 0);
    assert_null(sb_params_validator(&p, c0));
    for (size_t i = 1; i < p.n_validators; i++)
        assert_true(memcmp(p.validators[i - 1].pubkey, p.validators[i].pubkey, 32) < 0);
    sb_params_free(&p);
    sb_params_free(&p);
}

static void every_key_is_read(void **state)
{
    char json[1024];
    sb_params p;
    char err[256];
    snprintf(json, sizeof json,
             "{\"slot_seconds\":900,\"close_lead_seconds\":60,\"horizon_slots\":0,"
             "\"epoch\":\"2026-11-23T00:31:00+00:30\",\"max_tracks\":3,"
             "\"max_proposals_per_slot\":2,\"max_tx_size\":1000,\"curators\":[\"%s\",\"%s\"],"
             "\"open_curation\":true,\"vote_keys\":{\"%s\":\"%s\"}}",
             hexc[1], hexc[0], hexv[2], hexk[0]);
    assert_int_equal(parse(json, &p, err, sizeof err), 0);
    assert_int_equal(p.slot_seconds, 900);
    assert_int_equal(p.close_lead_seconds, 60);
    assert_int_equal(p.horizon_slots, 0);
    assert_int_equal(p.epoch_ns, GT - 250000000LL + 60LL * 1000000000LL);
    assert_int_equal(p.max_tracks, 3);
    assert_int_equal(p.max_proposals_per_slot, 2);
    assert_int_equal(p.max_tx_size, 1000);
    assert_int_equal(p.open_curation, 1);
    assert_int_equal(p.n_curators, 2);
    assert_true(memcmp(p.curators[0], p.curators[1], 32) < 0);
    const sb_validator *v = sb_params_validator(&p, vals[2].pubkey);
    assert_int_equal(v->has_vote_key, 1);
    uint8_t k[32];
    sb_unhex(hexk[0], k, 32);
    assert_memory_equal(v->vote_key, k, 32);
    sb_params_free(&p);
}

static void bad_app_state_is_rejected_with_the_key_named(void **state)
{
    char json[1024];
    expect_error("{\"curators\":[],\"open_curation\":true,\"slot_secs\":5}",
                 "app_state.slot_secs: unknown key");
    expect_error("{\"open_curation\":true,\"slot_seconds\":\"1800\"}", "app_state.slot_seconds");
    expect_error("{\"open_curation\":true,\"slot_seconds\":0}", "app_state.slot_seconds");
    expect_error("{\"open_curation\":true,\"slot_seconds\":1.5}", "app_state.slot_seconds");
    expect_error("{\"open_curation\":true,\"slot_seconds\":-5}", "app_state.slot_seconds");
    expect_error("{\"open_curation\":true,\"slot_seconds\":20,\"close_lead_seconds\":20}",
                 "app_state.close_lead_seconds");
    expect_error("{\"open_curation\":true,\"close_lead_seconds\":0}",
                 "app_state.close_lead_seconds");
    expect_error("{\"open_curation\":true,\"max_tracks\":0}", "app_state.max_tracks");
    expect_error("{\"open_curation\":true,\"max_tx_size\":99999999999}", "app_state.max_tx_size");
    expect_error("{\"open_curation\":true,\"max_proposals_per_slot\":4294967296}",
                 "app_state.max_proposals_per_slot");
    expect_error("{\"open_curation\":\"yes\"}", "app_state.open_curation");
    expect_error("{}", "app_state.curators: empty list requires");
    expect_error("{\"curators\":[]}", "app_state.curators: empty list requires");
    expect_error("[1]", "app_state: must be a JSON object");
    expect_error("{\"open_curation\":true,\"open_curation\":true}", "app_state: invalid JSON");
    expect_error("{\"open_curation\":true,\"epoch\":\"2026-11-23\"}", "app_state.epoch");
    expect_error("{\"open_curation\":true,\"epoch\":12}", "app_state.epoch");
    /* epoch earlier than genesis time - L (L = 1800 s by default) */
    expect_error("{\"open_curation\":true,\"epoch\":\"2026-11-22T23:30:00.249999999Z\"}",
                 "app_state.epoch");
    snprintf(json, sizeof json, "{\"curators\":[\"%s\",\"%s\"]}", hexc[0], hexc[0]);
    expect_error(json, "app_state.curators[1]: listed twice");
    snprintf(json, sizeof json, "{\"curators\":[\"%s\",\"%s\"]}", hexc[0], "abcd");
    expect_error(json, "app_state.curators[1]");
    expect_error(
        "{\"curators\":[\"0100000000000000000000000000000000000000000000000000000000000000\"]}",
        "app_state.curators[0]: not a valid ed25519 point");
    snprintf(json, sizeof json, "{\"open_curation\":true,\"vote_keys\":{\"%s\":\"%s\"}}", hexc[0],
             hexk[0]);
    expect_error(json, "not a validator");
    snprintf(json, sizeof json,
             "{\"open_curation\":true,\"vote_keys\":{\"%s\":\"%s\",\"%s\":\"%s\"}}", hexv[0],
             hexk[0], hexv[1], hexk[0]);
    expect_error(json, "vote key used twice");
    snprintf(json, sizeof json, "{\"open_curation\":true,\"vote_keys\":{\"%s\":\"%s\"}}", hexv[0],
             hexv[1]);
    expect_error(json, "vote key equals a consensus key");
    snprintf(json, sizeof json, "{\"open_curation\":true,\"vote_keys\":{\"%s\":\"%s\"}}", hexv[0],
             "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    expect_error(json, "not a valid ed25519 point");
}

static void epoch_at_genesis_minus_one_slot_is_allowed(void **state)
{
    sb_params p;
    char err[256];
    const char *json = "{\"open_curation\":true,\"epoch\":\"2026-11-22T23:30:00.25Z\"}";
    assert_int_equal(parse(json, &p, err, sizeof err), 0);
    assert_int_equal(p.epoch_ns, GT - 1800LL * 1000000000LL);
    sb_params_free(&p);
}

static void bad_validator_sets_are_rejected(void **state)
{
    sb_params p;
    char err[256];
    sb_validator v[2];
    memcpy(v, vals, sizeof v);
    memcpy(v[1].pubkey, v[0].pubkey, 32);
    assert_int_equal(sb_params_from_genesis("", 0, "c", GT, v, 2, &p, err, sizeof err), -1);
    assert_int_equal(
        sb_params_from_genesis("{\"open_curation\":true}", 22, "c", GT, v, 2, &p, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "listed twice"));
    memcpy(v, vals, sizeof v);
    v[1].power = 0;
    assert_int_equal(
        sb_params_from_genesis("{\"open_curation\":true}", 22, "c", GT, v, 2, &p, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "power"));
    memcpy(v, vals, sizeof v);
    memset(v[0].pubkey, 0, 32); /* small order */
    assert_int_equal(
        sb_params_from_genesis("{\"open_curation\":true}", 22, "c", GT, v, 2, &p, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "ed25519"));
    memcpy(v, vals, sizeof v);
    v[0].power = INT64_MAX;
    assert_int_equal(
        sb_params_from_genesis("{\"open_curation\":true}", 22, "c", GT, v, 2, &p, err, sizeof err),
        -1);
    assert_non_null(strstr(err, "total power"));
    /* chain id rules */
    assert_int_equal(sb_params_from_genesis("{\"open_curation\":true}", 22, "", GT, vals, 3, &p,
                                            err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "chain_id"));
}

static void params_json_round_trips_to_the_same_genesis_hash(void **state)
{
    char json[1024];
    sb_params p, q;
    char err[256];
    snprintf(json, sizeof json,
             "{\"slot_seconds\":900,\"close_lead_seconds\":60,\"epoch\":\"2026-11-23T00:01:00Z\","
             "\"curators\":[\"%s\",\"%s\"],\"vote_keys\":{\"%s\":\"%s\",\"%s\":\"%s\"}}",
             hexc[1], hexc[0], hexv[2], hexk[0], hexv[0], hexk[1]);
    assert_int_equal(parse(json, &p, err, sizeof err), 0);
    char *s = sb_params_to_json(&p);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"epoch_ns\":\"1795392060000000000\""));
    assert_non_null(strstr(s, "\"power\":\"10\""));
    assert_int_equal(sb_params_from_json(s, &q, err, sizeof err), 0);
    uint8_t h1[32], h2[32];
    sb_apphash_genesis(&p, h1);
    sb_apphash_genesis(&q, h2);
    assert_memory_equal(h1, h2, 32);
    char *s2 = sb_params_to_json(&q);
    assert_string_equal(s, s2);
    free(s);
    free(s2);
    sb_params_free(&q);
    /* broken stored params are refused */
    assert_int_equal(sb_params_from_json("{\"chain_id\":\"x\"}", &q, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing"));
    assert_int_equal(sb_params_from_json("nope", &q, err, sizeof err), -1);
    sb_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply_to_missing_keys),
        cmocka_unit_test(every_key_is_read),
        cmocka_unit_test(bad_app_state_is_rejected_with_the_key_named),
        cmocka_unit_test(epoch_at_genesis_minus_one_slot_is_allowed),
        cmocka_unit_test(bad_validator_sets_are_rejected),
        cmocka_unit_test(params_json_round_trips_to_the_same_genesis_hash),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
