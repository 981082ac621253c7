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

static char *render(const char *winner_json, const char *gateway, int want_rc) {
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

static void winner_renders_as_extended_m3u_with_gateway_urls(void **state) {
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

static void seconds_round_to_nearest_and_are_at_least_one(void **state) {
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

static void untitled_track_shows_its_cid_and_line_breaks_become_spaces(void **state) {
  (void)state;
  char *m = render("{\"tracks\":[{\"cid\":\"" RAW "\",\"duration_ms\":5000,\"title\":\"\","
                   "\"artist\":\"x\\ny\"},{\"cid\":\"" PB "\",\"duration_ms\":5000,"
                   "\"title\":\"a\\r\\nb\"}]}",
                   "http://gw", 0);
  assert_non_null(strstr(m, "#EXTINF:5,x y - " RAW "\n"));
  assert_non_null(strstr(m, "#EXTINF:5,a  b\n"));
  free(m);
}

static void winner_without_tracks_or_with_a_bad_cid_is_an_error(void **state) {
  (void)state;
  char *e = render("{\"outcome\":\"NONE\",\"tracks\":[]}", "http://gw", -1);
  assert_non_null(strstr(e, "no tracks"));
  free(e);
  e = render("{\"tracks\":[{\"cid\":\"../../etc/passwd\",\"duration_ms\":5}]}", "http://gw",
             -1);
  assert_non_null(strstr(e, "tracks[0].cid"));
  free(e);
  e = render("{\"tracks\":[{\"cid\":\"" RAW "\"}]}", "http://gw", -1);
  assert_non_null(strstr(e, "tracks[0].duration_ms"));
  free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(winner_renders_as_extended_m3u_with_gateway_urls),
      cmocka_unit_test(seconds_round_to_nearest_and_are_at_least_one),
      cmocka_unit_test(untitled_track_shows_its_cid_and_line_breaks_become_spaces),
      cmocka_unit_test(winner_without_tracks_or_with_a_bad_cid_is_an_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
