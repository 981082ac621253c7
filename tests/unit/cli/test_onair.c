/* test_onair.c — the pure parts of `sleetbubble onair` (protocol.md §14): the key and the
 * annotated Liquidsoap URI of a track, and the driver's decision (join mid-track cued at the
 * elapsed time of the play instant, prepare the next track within the lead, switch at its
 * anchored start, stop off air, silence for a track that cannot be played). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "onair.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
#define CID "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

/* Slot 7 of a programme; track `index` of pass 0 started at start_ns and lasts dur_ms. */
static sb_prog_play on_air(uint64_t slot, size_t index, int64_t start_ns, uint64_t dur_ms)
{
    sb_prog_play p;
    memset(&p, 0, sizeof p);
    p.state = SB_PROG_ON_AIR;
    p.slot = slot;
    p.index = index;
    p.duration_ms = dur_ms;
    p.started_at_ns = start_ns;
    p.ends_at_ns = start_ns + (int64_t)dur_ms * MS;
    return p;
}

static sb_prog_play off(int state)
{
    sb_prog_play p;
    memset(&p, 0, sizeof p);
    p.state = state;
    return p;
}

static cli_onair_view view(int64_t t, const sb_prog_now *pn, const char *liq, const char *prepared)
{
    cli_onair_view v = { .t_ns = t,
                         .prog = pn,
                         .liq_now = liq,
                         .prepared = prepared,
                         .failed = { "", NULL },
                         .retry_ns = { 0, 0 },
                         .join_margin_ns = 1 * S,
                         .lead_ns = 5 * S };
    return v;
}

static void key_is_slot_index_pass(void **state)
{
    (void)state;
    char k[64];
    sb_prog_play p = on_air(18446744073709551615u, 3, 0, 1000);
    p.pass = 2;
    assert_int_equal(cli_onair_key(&p, k, sizeof k), 0);
    assert_string_equal(k, "18446744073709551615:3:2");
    assert_int_equal(cli_onair_key(&p, k, 8), -1);
}

static void uri_carries_key_titles_and_cue_points(void **state)
{
    (void)state;
    char u[1024];
    cli_onair_track t = { .key = "7:1:0",
                          .cid = CID,
                          .title = "Say \"hi\" \\ there",
                          .artist = "A\nB",
                          .cue_in_ms = 12345,
                          .cue_out_ms = 30000 };
    assert_int_equal(cli_onair_uri(&t, "http://127.0.0.1:8080/", u, sizeof u), 0);
    assert_string_equal(u, "annotate:sb_key=\"7:1:0\",title=\"Say \\\"hi\\\" \\\\ there\","
                           "artist=\"A B\",liq_cue_in=\"12.345\",liq_cue_out=\"30.000\":"
                           "http://127.0.0.1:8080/ipfs/" CID);
    t.title = "";
    t.artist = NULL;
    t.cue_in_ms = 7;
    assert_int_equal(cli_onair_uri(&t, "http://g", u, sizeof u), 0);
    assert_string_equal(u, "annotate:sb_key=\"7:1:0\",liq_cue_in=\"0.007\","
                           "liq_cue_out=\"30.000\":http://g/ipfs/" CID);
    assert_int_equal(cli_onair_uri(&t, "http://g", u, 40), -1);
    assert_string_equal(u, "");
}

static void join_mid_track_cues_at_elapsed_of_the_play_instant(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = on_air(7, 1, 100 * S, 20000), .next = on_air(7, 2, 120 * S, 9000) };
    cli_onair_view v = view(107 * S + 250 * MS, &pn, "off", "");
    cli_onair_decision d;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_JOIN);
    assert_int_equal(d.play_ns, 108 * S + 250 * MS);
    assert_int_equal(d.cue_in_ms, 8250);
    assert_int_equal(d.cue_out_ms, 20000);
    /* Liquidsoap plays something else (restarted mid-way, or a stale key): join as well. */
    v.liq_now = "7:0:0";
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_JOIN);
}

static void track_cut_at_slot_end_sets_cue_out(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = on_air(7, 0, 100 * S, 20000), .next = off(SB_PROG_NOT_FINALIZED) };
    pn.now.ends_at_ns = 112 * S; /* the slot ends 12 s into the track */
    cli_onair_view v = view(101 * S, &pn, "off", "");
    cli_onair_decision d;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_JOIN);
    assert_int_equal(d.cue_out_ms, 12000);
}

static void no_join_in_the_last_second_silence_instead(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = on_air(7, 1, 100 * S, 20000), .next = on_air(7, 2, 120 * S, 9000) };
    cli_onair_view v = view(118 * S + 500 * MS, &pn, "off", "");
    cli_onair_decision d;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_SILENCE);
    v.liq_now = "silence"; /* already silent: prepare the next one (within the lead) */
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_PREPARE);
    assert_int_equal(d.cue_in_ms, 0);
    assert_int_equal(d.cue_out_ms, 9000);
}

static void next_is_prepared_within_lead_then_switched_at_its_start(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = on_air(7, 1, 100 * S, 20000), .next = on_air(7, 2, 120 * S, 9000) };
    cli_onair_decision d;
    cli_onair_view v = view(110 * S, &pn, "7:1:0", "");
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
    assert_int_equal(d.wake_ns, 111 * S); /* 1 s poll, earlier than start - lead = 115 s */
    v.t_ns = 115 * S;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_PREPARE);
    v.prepared = "7:2:0";
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
    assert_int_equal(d.wake_ns, 116 * S);
    v.t_ns = 119 * S + 200 * MS;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_SWITCH);
    assert_int_equal(d.play_ns, 120 * S);
}

static void off_air_stops_and_prepares_the_next_slot(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = off(SB_PROG_OFF_AIR), .next = on_air(8, 0, 140 * S, 9000) };
    cli_onair_decision d;
    cli_onair_view v = view(130 * S, &pn, "7:2:0", "");
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_STOP);
    v.liq_now = "off";
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
    v.t_ns = 136 * S;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_PREPARE);
    v.prepared = "8:0:0";
    v.t_ns = 139 * S + 500 * MS;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_SWITCH);
    assert_int_equal(d.play_ns, 140 * S);
}

static void failed_track_is_silence_until_retry(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = on_air(7, 1, 100 * S, 20000), .next = on_air(7, 2, 120 * S, 9000) };
    cli_onair_decision d;
    cli_onair_view v = view(105 * S, &pn, "off", "");
    v.failed[1] = "7:1:0";
    v.retry_ns[1] = 108 * S;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_SILENCE);
    v.liq_now = "silence";
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
    /* the next track failed too: neither is tried again before its retry time */
    v.t_ns = 116 * S;
    v.retry_ns[1] = 119 * S;
    v.failed[0] = "7:2:0";
    v.retry_ns[0] = 121 * S;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
    assert_int_equal(d.wake_ns, 117 * S);
    v.t_ns = 108 * S;
    v.retry_ns[1] = 108 * S;
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_JOIN);
    assert_int_equal(d.cue_in_ms, 9000);
}

static void bad_input_is_refused(void **state)
{
    (void)state;
    sb_prog_now pn = { .now = off(SB_PROG_BEFORE_EPOCH), .next = off(SB_PROG_NOT_FINALIZED) };
    cli_onair_decision d;
    cli_onair_view v = view(1, &pn, "off", "");
    v.join_margin_ns = 0;
    assert_int_equal(cli_onair_decide(&v, &d), -1);
    v = view(1, &pn, "off", "");
    v.liq_now = NULL;
    assert_int_equal(cli_onair_decide(&v, &d), -1);
    v = view(1, &pn, "off", "");
    assert_int_equal(cli_onair_decide(&v, &d), 0);
    assert_int_equal(d.act, CLI_ONAIR_WAIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_is_slot_index_pass),
        cmocka_unit_test(uri_carries_key_titles_and_cue_points),
        cmocka_unit_test(join_mid_track_cues_at_elapsed_of_the_play_instant),
        cmocka_unit_test(track_cut_at_slot_end_sets_cue_out),
        cmocka_unit_test(no_join_in_the_last_second_silence_instead),
        cmocka_unit_test(next_is_prepared_within_lead_then_switched_at_its_start),
        cmocka_unit_test(off_air_stops_and_prepares_the_next_slot),
        cmocka_unit_test(failed_track_is_silence_until_retry),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
