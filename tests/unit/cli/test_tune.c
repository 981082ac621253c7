/* test_tune.c — the extended M3U of `tune` (protocol.md §12): #EXTM3U, per track
 * #EXTINF:<seconds>,<artist> - <title> then <gateway>/ipfs/<cid>. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tune.h"

#define PB "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
#define RAW "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"

static char *render(const char *winner_json, const char *gateway, int want_rc)
{
    json_error_t je;
    json_t *w = json_loads(winner_json, 0, &je);
    assert_non_null(w);
    sb_buf b;
    char err[256] = "";
    sb_buf_init(&b, 1 << 20);
    int rc = cli_tune_m3u(w, gateway, &b, err, sizeof err);
    json_decref(w);
    assert_int_equal(rc, want_rc);
    if (rc) {
        sb_buf_free(&b);
        return strdup(err);
    }
    sb_buf_putc(&b, 0);
    return sb_buf_steal_str(&b);
}

static void winner_renders_as_extended_m3u_with_gateway_urls(void **state)
{
    (void)state;
    char *m = render("{\"slot\":\"12\",\"outcome\":\"SUPERMAJORITY\",\"tracks\":["
                     "{\"cid\":\"" PB "\",\"duration_ms\":183000,\"title\":\"Frozen Tune\","
                     "\"artist\":\"Guillaume\"},"
                     "{\"cid\":\"" RAW "\",\"duration_ms\":2500,\"title\":\"Short\","
                     "\"artist\":\"\"}]}",
                     "http://127.0.0.1:8080", 0);
    assert_string_equal(m, "#EXTM3U\n"
                           "#PLAYLIST:Sleetbubble slot 12 (SUPERMAJORITY)\n"
                           "#EXTINF:183,Guillaume - Frozen Tune\n"
                           "http://127.0.0.1:8080/ipfs/" PB "\n"
                           "#EXTINF:3,Short\n"
                           "http://127.0.0.1:8080/ipfs/" RAW "\n");
    free(m);
}

static void seconds_round_to_nearest_and_are_at_least_one(void **state)
{
    (void)state;
    char *m = render("{\"tracks\":[{\"cid\":\"" RAW "\",\"duration_ms\":1,\"title\":\"a\"},"
                     "{\"cid\":\"" RAW "\",\"duration_ms\":1499,\"title\":\"b\"},"
                     "{\"cid\":\"" RAW "\",\"duration_ms\":3600000,\"title\":\"c\"}]}",
                     "http://gw/", 0);
    assert_non_null(strstr(m, "#EXTINF:1,a\nhttp://gw/ipfs/"));
    assert_non_null(strstr(m, "#EXTINF:1,b\n"));
    assert_non_null(strstr(m, "#EXTINF:3600,c\n"));
    assert_null(strstr(m, "#PLAYLIST")); /* no slot given */
    assert_null(strstr(m, "gw//ipfs"));  /* trailing slash of the gateway dropped */
    free(m);
}

static void untitled_track_shows_its_cid_and_line_breaks_become_spaces(void **state)
{
    (void)state;
    char *m = render("{\"tracks\":[{\"cid\":\"" RAW "\",\"duration_ms\":5000,\"title\":\"\","
                     "\"artist\":\"x\\ny\"},{\"cid\":\"" PB "\",\"duration_ms\":5000,"
                     "\"title\":\"a\\r\\nb\"}]}",
                     "http://gw", 0);
    assert_non_null(strstr(m, "#EXTINF:5,x y - " RAW "\n"));
    assert_non_null(strstr(m, "#EXTINF:5,a  b\n"));
    free(m);
}

static void winner_without_tracks_or_with_a_bad_cid_is_an_error(void **state)
{
    (void)state;
    char *e = render("{\"outcome\":\"NONE\",\"tracks\":[]}", "http://gw", -1);
    assert_non_null(strstr(e, "no tracks"));
    free(e);
    e = render("{\"tracks\":[{\"cid\":\"../../etc/passwd\",\"duration_ms\":5}]}", "http://gw", -1);
    assert_non_null(strstr(e, "tracks[0].cid"));
    free(e);
    e = render("{\"tracks\":[{\"cid\":\"" RAW "\"}]}", "http://gw", -1);
    assert_non_null(strstr(e, "tracks[0].duration_ms"));
    free(e);
}

/* tune --now (protocol.md §14): T0 = 1000 s, L = 20 s; slot 2 (1040 s .. 1060 s) plays 5 s then
 * 7 s. At 1046.5 s track 2 ("Two") is 1500 ms in, 5500 left, anchored at 1045 s; next is pass
 * 1's first track at 1052 s. Expected values worked out by hand. */
static const char *P = "{\"epoch_ns\":\"1000000000000\",\"slot_seconds\":20}";
static const char *S2 =
    "{\"slot\":\"2\",\"outcome\":\"SUPERMAJORITY\",\"tracks\":["
    "{\"index\":0,\"cid\":\"" PB "\",\"title\":\"One\",\"artist\":\"Ann\",\"duration_ms\":5000,"
    "\"offset_ms\":0},{\"index\":1,\"cid\":\"" RAW "\",\"title\":\"Two\",\"artist\":\"Bob\","
    "\"duration_ms\":7000,\"offset_ms\":5000}]}";

static json_t *now_at(const char *cur, const char *nxt, int64_t t)
{
    json_t *p = json_loads(P, 0, NULL), *c = cur ? json_loads(cur, 0, NULL) : NULL;
    json_t *n = nxt ? json_loads(nxt, 0, NULL) : NULL, *out = NULL;
    char err[256];
    assert_int_equal(cli_tune_now(p, c, n, t, "http://gw.test/", &out, err, sizeof err), 0);
    json_decref(p);
    json_decref(c);
    json_decref(n);
    return out;
}

static void now_names_the_track_by_the_programme_rules(void **state)
{
    (void)state;
    uint64_t s;
    char err[256];
    json_t *p = json_loads(P, 0, NULL);
    assert_int_equal(cli_tune_slot_at(p, 1046500000000LL, &s, err, sizeof err), 0);
    assert_int_equal(s, 2);
    assert_int_equal(cli_tune_slot_at(p, 999, &s, err, sizeof err), 0);
    assert_int_equal(s, 0);
    json_decref(p);
    json_t *o = now_at(S2, NULL, 1046500000000LL);
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        txt,
        "{\"now_playing\":{\"artist\":\"Bob\",\"cid\":\"" RAW "\",\"duration_ms\":7000,"
        "\"elapsed_ms\":1500,\"ends_at_ns\":\"1052000000000\",\"index\":1,\"remaining_ms\":5500,"
        "\"slot\":\"2\",\"started_at_ns\":\"1045000000000\",\"title\":\"Two\","
        "\"url\":\"http://gw.test/ipfs/" RAW "\"},\"on_air\":true,\"outcome\":\"SUPERMAJORITY\","
        "\"playing_next\":{\"artist\":\"Ann\",\"cid\":\"" PB "\",\"duration_ms\":5000,"
        "\"elapsed_ms\":0,\"ends_at_ns\":\"1057000000000\",\"index\":0,\"remaining_ms\":5000,"
        "\"slot\":\"2\",\"started_at_ns\":\"1052000000000\",\"title\":\"One\","
        "\"url\":\"http://gw.test/ipfs/" PB "\"},\"slot\":\"2\",\"state\":\"on_air\","
        "\"time_ns\":\"1046500000000\"}");
    free(txt);
    json_decref(o);
}

static void now_off_air_and_bad_replies(void **state)
{
    (void)state;
    /* slot 2 not finalized: off air, not an error */
    json_t *o = now_at(NULL, NULL, 1046500000000LL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "not_finalized");
    assert_true(json_is_false(json_object_get(o, "on_air")));
    assert_true(json_is_null(json_object_get(o, "now_playing")));
    assert_true(json_is_null(json_object_get(o, "outcome")));
    json_decref(o);
    /* NONE: off air with its outcome */
    o = now_at("{\"slot\":\"2\",\"outcome\":\"NONE\",\"tracks\":[]}", NULL, 1046500000000LL);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "off_air");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "NONE");
    json_decref(o);
    /* a schedule of the wrong slot is refused */
    json_t *p = json_loads(P, 0, NULL), *c = json_loads(S2, 0, NULL), *out = NULL;
    char err[256];
    assert_int_equal(
        cli_tune_now(p, c, NULL, 1061 * 1000000000LL, "http://gw", &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "/schedule/3"));
    json_object_set_new(p, "slot_seconds", json_integer(0));
    assert_int_equal(cli_tune_now(p, NULL, NULL, 5, "http://gw", &out, err, sizeof err), -1);
    json_decref(p);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(winner_renders_as_extended_m3u_with_gateway_urls),
        cmocka_unit_test(seconds_round_to_nearest_and_are_at_least_one),
        cmocka_unit_test(untitled_track_shows_its_cid_and_line_breaks_become_spaces),
        cmocka_unit_test(winner_without_tracks_or_with_a_bad_cid_is_an_error),
        cmocka_unit_test(now_names_the_track_by_the_programme_rules),
        cmocka_unit_test(now_off_air_and_bad_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
