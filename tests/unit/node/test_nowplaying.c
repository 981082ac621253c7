/* test_nowplaying.c - the now-playing feed and page (protocol.md §14) rendered from a programme
 * result: exact JSON for on air / off air / not finalized / not initialised, and the page's
 * server-rendered, HTML-escaped title. Pure functions: no server, no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nowplaying.h"
#include "tally.h"

#define S 1000000000LL

/* T0 = 1000 s, L = 20 s: slot 2 runs 1040 s .. 1060 s. */
static const sb_prog_timing TM = { 1000 * S, 20 * S };
static const sb_np_station ST = { "Radio <Sleet>", "http://127.0.0.1:8000/sleetbubble.ogg",
                                  "http://127.0.0.1:8000/sleetbubble.mp3", "" };

static sb_sched_track T2[] = { { "bafyone", "Song & \"One\"", "Ann", 5000, 0 },
                               { "bafytwo", "Two", "Bob", 7000, 5000 } };
static uint64_t D2[] = { 5000, 7000 };
static sb_sched_track T3[] = { { "bafythree", "", "Cy", 4000, 0 } };
static uint64_t D3[] = { 4000 };

static sb_sched mk(uint64_t slot, int finalized, int outcome, sb_sched_track *t, uint64_t *d,
                   size_t n)
{
    sb_sched s;
    memset(&s, 0, sizeof(s));
    s.slot = slot;
    s.finalized = finalized;
    s.rec.slot = slot;
    s.rec.outcome = outcome;
    s.tracks = t;
    s.duration_ms = d;
    s.n = n;
    for (size_t i = 0; i < n; i++)
        s.total_ms += d[i];
    return s;
}

/* Programme at t for cur/nxt, then the feed. Caller frees. */
static char *feed_at(int64_t t, const sb_sched *cur, const sb_sched *nxt, char **page)
{
    sb_prog_slot pc, pn;
    sb_prog_now np;
    sb_sched_prog_slot(cur, &pc);
    sb_sched_prog_slot(nxt, &pn);
    assert_int_equal(sb_prog_at(&TM, t, &pc, &pn, &np), 0);
    sb_np_input in = { t, 1, &np, cur, nxt };
    if (page) {
        *page = sb_np_page_html(&ST, &in);
        assert_non_null(*page);
    }
    char *s = sb_np_feed_json(&ST, &in);
    assert_non_null(s);
    return s;
}

static void feed_on_air_names_the_track_and_the_next(void **state)
{
    (void)state;
    sb_sched c = mk(2, 1, SB_OUTCOME_SUPERMAJORITY, T2, D2, 2);
    sb_sched n = mk(3, 1, SB_OUTCOME_FALLBACK, T3, D3, 1);
    char *page = NULL;
    /* 1046.5 s: slot 2, offset 6.5 s: track 1 (5 s .. 12 s), 1500 ms in, 5500 left */
    char *s = feed_at(1046500000000LL, &c, &n, &page);
    assert_string_equal(
        s, "{\"gateway_url\":null,\"now_playing\":{\"artist\":\"Bob\",\"cid\":\"bafytwo\","
           "\"duration_ms\":7000,\"elapsed_ms\":1500,\"ends_at_ns\":\"1052000000000\","
           "\"index\":1,\"remaining_ms\":5500,\"slot\":\"2\",\"started_at_ns\":\"1045000000000\","
           "\"title\":\"Two\"},\"on_air\":true,\"outcome\":\"SUPERMAJORITY\","
           "\"playing_next\":{\"artist\":\"Ann\",\"cid\":\"bafyone\",\"duration_ms\":5000,"
           "\"elapsed_ms\":0,\"ends_at_ns\":\"1057000000000\",\"index\":0,\"remaining_ms\":5000,"
           "\"slot\":\"2\",\"started_at_ns\":\"1052000000000\",\"title\":\"Song & \\\"One\\\"\"},"
           "\"server_time_ns\":\"1046500000000\",\"slot\":\"2\",\"state\":\"on_air\","
           "\"station\":{\"name\":\"Radio <Sleet>\"},"
           "\"stream_url\":\"http://127.0.0.1:8000/sleetbubble.ogg\","
           "\"stream_url_mp3\":\"http://127.0.0.1:8000/sleetbubble.mp3\"}");
    /* the page carries the title and the next track as served, HTML-escaped */
    assert_non_null(strstr(page, "<h2 id=\"title\">Two</h2>"));
    assert_non_null(strstr(page, "<p id=\"artist\">Bob</p>"));
    assert_non_null(
        strstr(page, "<span id=\"next\">Song &amp; &quot;One&quot; \xe2\x80\x94 Ann</span>"));
    assert_non_null(strstr(page, "<h1 id=\"station\">Radio &lt;Sleet&gt;</h1>"));
    assert_non_null(
        strstr(page, "<span id=\"elapsed\">0:01</span> / <span id=\"remaining\">-0:05</span>"));
    assert_non_null(strstr(page, "<audio id=\"player\" controls preload=\"none\" "
                                 "src=\"http://127.0.0.1:8000/sleetbubble.mp3\"></audio>"));
    assert_null(strstr(page, "<Sleet>"));
    assert_null(strstr(page, "<script src")); /* self-contained: no external script */
    assert_null(strstr(page, "<link"));
    free(page);
    free(s);
    /* 1059 s: pass 1's track 0 (1052 .. 1057 s) is over; track 1 plays from 1057 s, cut at
     * 1060 s; next is slot 3's first track, whose title is empty (the page shows its CID) */
    s = feed_at(1059 * S, &c, &n, &page);
    assert_non_null(
        strstr(s, "\"ends_at_ns\":\"1060000000000\",\"index\":1,\"remaining_ms\":5000"));
    assert_non_null(strstr(s, "\"playing_next\":{\"artist\":\"Cy\",\"cid\":\"bafythree\""));
    assert_non_null(
        strstr(s, "\"slot\":\"3\",\"started_at_ns\":\"1060000000000\",\"title\":\"\"}"));
    assert_non_null(strstr(page, "<span id=\"next\">bafythree \xe2\x80\x94 Cy</span>"));
    free(page);
    free(s);
}

static void feed_off_air_is_an_answer_not_an_error(void **state)
{
    (void)state;
    sb_sched none = mk(2, 1, SB_OUTCOME_NONE, NULL, NULL, 0);
    sb_sched pending = mk(3, 0, 0, NULL, NULL, 0);
    char *page = NULL;
    char *s = feed_at(1041 * S, &none, &pending, &page);
    assert_string_equal(
        s, "{\"gateway_url\":null,\"now_playing\":null,\"on_air\":false,\"outcome\":\"NONE\","
           "\"playing_next\":null,\"server_time_ns\":\"1041000000000\",\"slot\":\"2\","
           "\"state\":\"off_air\",\"station\":{\"name\":\"Radio <Sleet>\"},"
           "\"stream_url\":\"http://127.0.0.1:8000/sleetbubble.ogg\","
           "\"stream_url_mp3\":\"http://127.0.0.1:8000/sleetbubble.mp3\"}");
    assert_non_null(strstr(page, "<h2 id=\"title\">Off air</h2>"));
    assert_non_null(strstr(page, "<span id=\"next\">off air</span>"));
    free(page);
    free(s);
    /* slot 3 not finalized yet */
    sb_sched p3 = mk(3, 0, 0, NULL, NULL, 0), p4 = mk(4, 0, 0, NULL, NULL, 0);
    s = feed_at(1061 * S, &p3, &p4, &page);
    assert_non_null(strstr(s, "\"on_air\":false,\"outcome\":null,\"playing_next\":null"));
    assert_non_null(strstr(s, "\"slot\":\"3\",\"state\":\"not_finalized\""));
    assert_non_null(strstr(page, "Off air (this slot is not finalized yet)</h2>"));
    free(page);
    free(s);
    /* before T0: off air; next is slot 0's first track at T0 */
    sb_sched z = mk(0, 1, SB_OUTCOME_FALLBACK, T3, D3, 1), one = mk(1, 0, 0, NULL, NULL, 0);
    s = feed_at(999 * S, &z, &one, NULL);
    assert_non_null(strstr(s, "\"now_playing\":null,\"on_air\":false,\"outcome\":null"));
    assert_non_null(strstr(s, "\"playing_next\":{\"artist\":\"Cy\""));
    assert_non_null(strstr(s, "\"started_at_ns\":\"1000000000000\""));
    assert_non_null(strstr(s, "\"state\":\"before_epoch\""));
    free(s);
}

static void feed_before_init_chain_says_not_initialised(void **state)
{
    (void)state;
    sb_np_station st = { "", "", "", "http://127.0.0.1:8080" };
    sb_np_input in = { 5, 0, NULL, NULL, NULL };
    char *s = sb_np_feed_json(&st, &in), *page = sb_np_page_html(&st, &in);
    assert_string_equal(
        s, "{\"gateway_url\":\"http://127.0.0.1:8080\",\"now_playing\":null,\"on_air\":false,"
           "\"outcome\":null,\"playing_next\":null,\"server_time_ns\":\"5\",\"slot\":null,"
           "\"state\":\"not_initialised\",\"station\":{\"name\":\"\"},\"stream_url\":null,"
           "\"stream_url_mp3\":null}");
    assert_non_null(strstr(page, "Off air (chain not initialised yet)</h2>"));
    assert_null(strstr(page, "<audio")); /* no stream configured: no player */
    free(page);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(feed_on_air_names_the_track_and_the_next),
        cmocka_unit_test(feed_off_air_is_an_answer_not_an_error),
        cmocka_unit_test(feed_before_init_chain_says_not_initialised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
