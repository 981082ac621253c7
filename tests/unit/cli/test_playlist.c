/* test_playlist.c — the playlist file (protocol.md §12): parse errors name the field and the limit;
 * what `tracks add` writes is what `propose --playlist` reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "playlist.h"

#define RAW "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define PB "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
#define V0 "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"

/* Parse text, expect failure, and that the message contains want. */
static void expect_error(const char *text, const char *want)
{
    cli_playlist p;
    char err[512] = "";
    int rc = cli_playlist_parse(text, strlen(text), &p, err, sizeof err);
    if (rc != -1 || !strstr(err, want)) {
        print_error("input %s\n  rc %d err \"%s\", want \"%s\"\n", text, rc, err, want);
        fail();
    }
    assert_int_equal(p.n, 0);
    assert_null(p.tracks);
}

static void valid_playlist_parses_every_field(void **state)
{
    (void)state;
    const char *text =
        "{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":183000,\"title\":\"Frozen\","
        "\"artist\":\"Bubble\"},{\"cid\":\"" RAW "\",\"duration_ms\":1},"
        "{\"cid\":\"" V0 "\",\"duration_ms\":3600000,\"title\":\"\"}],\"slot\":\"7\"}";
    cli_playlist p;
    char err[512];
    assert_int_equal(cli_playlist_parse(text, strlen(text), &p, err, sizeof err), 0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.tracks[0].cid, PB);
    assert_int_equal(p.tracks[0].duration_ms, 183000);
    assert_string_equal(p.tracks[0].title, "Frozen");
    assert_string_equal(p.tracks[0].artist, "Bubble");
    assert_string_equal(p.tracks[1].title, "");
    assert_string_equal(p.tracks[1].artist, "");
    assert_int_equal(p.tracks[2].duration_ms, 3600000);
    cli_playlist_free(&p);
}

static void syntax_error_names_line_and_column(void **state)
{
    (void)state;
    expect_error("{\"tracks\":[\n{\"cid\":}]}", "line 2 column");
}

static void missing_or_wrong_tracks_is_named(void **state)
{
    (void)state;
    expect_error("[]", "expected a JSON object");
    expect_error("{}", "tracks: missing");
    expect_error("{\"tracks\":{}}", "tracks: expected an array");
    expect_error("{\"tracks\":[]}", "tracks: empty");
    expect_error("{\"tracks\":[1]}", "tracks[0]: expected an object");
}

static void duplicate_keys_are_refused(void **state)
{
    (void)state;
    expect_error("{\"tracks\":[],\"tracks\":[]}", "duplicate");
}

static void bad_cid_names_the_track_and_the_value(void **state)
{
    (void)state;
    expect_error("{\"tracks\":[{\"duration_ms\":5}]}", "tracks[0].cid: missing");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5},"
                 "{\"cid\":\"bafyNOTACID\",\"duration_ms\":5}]}",
                 "tracks[1].cid: \"bafyNOTACID\" is not");
    expect_error("{\"tracks\":[{\"cid\":7,\"duration_ms\":5}]}", "tracks[0].cid: value is not");
    /* uppercase base32 is another string for the same bytes: refused (protocol.md §4) */
    expect_error("{\"tracks\":[{\"cid\":\"BAFYBEIGDYRZT5SFP7UDM7HU76UH7Y26NF3EFUYLQABF3OCLGTQY55FB"
                 "ZDI\",\"duration_ms\":5}]}",
                 "tracks[0].cid");
}

static void duration_outside_range_names_value_and_limits(void **state)
{
    (void)state;
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\"}]}", "tracks[0].duration_ms: missing");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":0}]}",
                 "tracks[0].duration_ms: 0 outside [1, 3600000]");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":3600001}]}",
                 "tracks[0].duration_ms: 3600001 outside [1, 3600000]");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":\"183000\"}]}",
                 "tracks[0].duration_ms: expected an integer");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":1.5}]}",
                 "tracks[0].duration_ms: expected an integer");
}

static void bad_strings_name_the_field(void **state)
{
    (void)state;
    char text[1024], title[300];
    memset(title, 'x', 257);
    title[257] = '\0';
    snprintf(text, sizeof text,
             "{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"title\":\"%s\"}]}", title);
    expect_error(text, "tracks[0].title: 257 bytes, more than 256");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"artist\":\"a\\u0007\"}]}",
                 "tracks[0].artist: contains a control character");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"artist\":\"a\\u2028\"}]}",
                 "tracks[0].artist");
    /* jansson refuses \u0000 itself (a C string would be cut there) */
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"title\":\"a\\u0000b\"}]}",
                 "\\u0000");
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"title\":3}]}",
                 "tracks[0].title: expected a string");
}

static void unknown_track_key_is_named(void **state)
{
    (void)state;
    expect_error("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":5,\"durration\":5}]}",
                 "tracks[0].durration: unknown key");
}

static void written_playlist_reads_back_identically(void **state)
{
    (void)state;
    cli_playlist p = { 0 }, q;
    char err[256];
    assert_int_equal(cli_playlist_add(&p, PB, 183000, "T\xc3\xa9 \"q\" \\", "A"), 0);
    assert_int_equal(cli_playlist_add(&p, RAW, 2500, "", ""), 0);
    json_t *j = cli_playlist_to_json(&p);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    assert_non_null(s);
    /* protocol.md §12 shape, keys in the documented order */
    assert_non_null(strstr(s, "\"cid\": \"" PB "\",\n      \"duration_ms\": 183000,\n"
                              "      \"title\": \"T\xc3\xa9 \\\"q\\\" \\\\\",\n"
                              "      \"artist\": \"A\""));
    assert_int_equal(cli_playlist_parse(s, strlen(s), &q, err, sizeof err), 0);
    assert_int_equal(q.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(q.tracks[i].cid, p.tracks[i].cid);
        assert_int_equal(q.tracks[i].duration_ms, p.tracks[i].duration_ms);
        assert_string_equal(q.tracks[i].title, p.tracks[i].title);
        assert_string_equal(q.tracks[i].artist, p.tracks[i].artist);
    }
    free(s);
    json_decref(j);
    cli_playlist_free(&p);
    cli_playlist_free(&q);
}

static void load_prefixes_errors_with_the_path(void **state)
{
    (void)state;
    cli_playlist p;
    char err[512];
    assert_int_equal(cli_playlist_load("/nonexistent/pl.json", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/pl.json"));
    char path[] = "/tmp/sb-cli-pl.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":0}]}", f);
    fclose(f);
    assert_int_equal(cli_playlist_load(path, &p, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "tracks[0].duration_ms"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_playlist_parses_every_field),
        cmocka_unit_test(syntax_error_names_line_and_column),
        cmocka_unit_test(missing_or_wrong_tracks_is_named),
        cmocka_unit_test(duplicate_keys_are_refused),
        cmocka_unit_test(bad_cid_names_the_track_and_the_value),
        cmocka_unit_test(duration_outside_range_names_value_and_limits),
        cmocka_unit_test(bad_strings_name_the_field),
        cmocka_unit_test(unknown_track_key_is_named),
        cmocka_unit_test(written_playlist_reads_back_identically),
        cmocka_unit_test(load_prefixes_errors_with_the_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
