/* test_tracks.c — tag cleaning to protocol.md §4 strings, duration arithmetic, and libsndfile
 * probing of real audio files written by the test (WAV and Ogg Vorbis, 2.5 s at 44.1 kHz). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "tracks.h"
#include "sb_string.h"
#include "tx.h"

static char dir[] = "/tmp/sb-cli-tracks.XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t clean(const char *in, char *out)
{
    return cli_tag_clean(in, strlen(in), out, CLI_TAG_MAX);
}

static void tag_clean_drops_control_characters_and_del(void **state)
{
    (void)state;
    char out[CLI_TAG_MAX];
    clean("Sleet\tBubble\r\n\x01\x1f\x7f!", out);
    assert_string_equal(out, "SleetBubble!");
    assert_true(sb_string_ok(out, strlen(out)));
}

static void tag_clean_drops_line_and_paragraph_separators(void **state)
{
    (void)state;
    char out[CLI_TAG_MAX];
    clean("a\xe2\x80\xa8"
          "b\xe2\x80\xa9"
          "c\xe2\x80\xa7",
          out); /* U+2028, U+2029, U+2027 */
    assert_string_equal(out, "abc\xe2\x80\xa7");
}

static void tag_clean_drops_invalid_utf8_and_keeps_valid_multibyte(void **state)
{
    (void)state;
    char out[CLI_TAG_MAX];
    /* lone continuation, overlong '/', surrogate U+D800, > U+10FFFF, truncated sequence,
   * Latin-1 'é' byte; valid: "é" (2 bytes), "€" (3), "🎵" (4) */
    clean("x\x80y\xc0\xafz\xed\xa0\x80w\xf4\x90\x80\x80v\xe2\x82u\xe9t \xc3\xa9\xe2\x82\xac"
          "\xf0\x9f\x8e\xb5",
          out);
    assert_string_equal(out, "xyzwvut \xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb5");
    assert_true(sb_string_ok(out, strlen(out)));
}

static void tag_clean_trims_outer_spaces(void **state)
{
    (void)state;
    char out[CLI_TAG_MAX];
    clean("  \t Frozen Bubble \n ", out);
    assert_string_equal(out, "Frozen Bubble");
}

static void title_of_300_bytes_is_cut_to_256_on_a_character_boundary(void **state)
{
    (void)state;
    char in[301], out[CLI_TAG_MAX];
    /* "ab" then the 3-byte "€" repeated: boundaries at 2 + 3k, i.e. 254 and 257, so the cut
   * at 256 bytes must fall back to 254. */
    size_t n = 0;
    in[n++] = 'a';
    in[n++] = 'b';
    while (n + 3 <= 300) {
        memcpy(in + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    in[n] = '\0';
    size_t got = cli_tag_clean(in, n, out, sizeof out);
    assert_int_equal(got, 254);
    assert_int_equal(strlen(out), 254);
    assert_true(sb_string_ok(out, got));
    /* plain ASCII: exactly 256 */
    memset(in, 'q', 300);
    in[300] = '\0';
    assert_int_equal(cli_tag_clean(in, 300, out, sizeof out), SB_TITLE_MAX_BYTES);
}

static void tag_clean_respects_a_small_output_buffer(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(cli_tag_clean("h\xc3\xa9llo", 6, out, sizeof out), 3);
    assert_string_equal(out, "h\xc3\xa9");
    assert_int_equal(cli_tag_clean("\xe2\x82\xac\xe2\x82\xac", 6, out, sizeof out), 3);
}

static void duration_is_frames_times_1000_over_rate_rounded_down(void **state)
{
    (void)state;
    uint32_t ms = 0;
    assert_int_equal(cli_duration_ms(110250, 44100, &ms), 0);
    assert_int_equal(ms, 2500);
    assert_int_equal(cli_duration_ms(44099, 44100, &ms), 0);
    assert_int_equal(ms, 999);
    assert_int_equal(cli_duration_ms(8070300, 44100, &ms), 0); /* 3:03 */
    assert_int_equal(ms, 183000);
}

static void duration_outside_1ms_to_1h_is_refused(void **state)
{
    (void)state;
    uint32_t ms = 0;
    assert_int_equal(cli_duration_ms(44, 44100, &ms), -1); /* 0.99 ms -> 0 */
    assert_int_equal(cli_duration_ms(0, 44100, &ms), -1);
    assert_int_equal(cli_duration_ms(48000LL * 3600, 48000, &ms), 0); /* exactly 1 h */
    assert_int_equal(ms, 3600000);
    assert_int_equal(cli_duration_ms(48000LL * 3600 + 48, 48000, &ms), -1);
    assert_int_equal(cli_duration_ms(100, 0, &ms), -1);
    assert_int_equal(cli_duration_ms(-1, 44100, &ms), -1);
    assert_int_equal(cli_duration_ms(INT64_MAX, 1, &ms), -1);
}

/* Write 2.5 s of a 440 Hz sine at 44.1 kHz, stereo, in format fmt, with optional tags. */
static int write_tone(const char *path, int fmt, const char *title, const char *artist)
{
    SF_INFO info = { .samplerate = 44100, .channels = 2, .format = fmt };
    if (!sf_format_check(&info))
        return -1;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return -1;
    if (title)
        sf_set_string(sf, SF_STR_TITLE, title);
    if (artist)
        sf_set_string(sf, SF_STR_ARTIST, artist);
    static float buf[2 * 1025];
    long done = 0, total = 110250;
    while (done < total) {
        long n = total - done < 1025 ? total - done : 1025;
        for (long i = 0; i < n; i++)
            buf[2 * i] = buf[2 * i + 1] =
                0.3f * (float)sin(2.0 * M_PI * 440.0 * (double)(done + i) / 44100.0);
        if (sf_writef_float(sf, buf, n) != n) {
            sf_close(sf);
            return -1;
        }
        done += n;
    }
    return sf_close(sf) == 0 ? 0 : -1;
}

static void wav_of_2_5_s_reads_2500_ms_and_its_tags(void **state)
{
    (void)state;
    char path[256], err[512];
    cli_audio a;
    snprintf(path, sizeof path, "%s/tone.wav", dir);
    assert_int_equal(write_tone(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, "Tone\tA", "Test Artist"),
                     0);
    assert_int_equal(cli_audio_probe(path, &a, err, sizeof err), 0);
    assert_int_equal(a.duration_ms, 2500);
    assert_string_equal(a.title, "ToneA");
    assert_string_equal(a.artist, "Test Artist");
}

static void ogg_vorbis_of_2_5_s_reads_2500_ms_and_its_tags(void **state)
{
    (void)state;
    char path[256], err[512];
    cli_audio a;
    snprintf(path, sizeof path, "%s/tone.ogg", dir);
    assert_int_equal(
        write_tone(path, SF_FORMAT_OGG | SF_FORMAT_VORBIS, "Bubble \xc3\xa9t\xc3\xa9", "Sleet"), 0);
    assert_int_equal(cli_audio_probe(path, &a, err, sizeof err), 0);
    assert_int_equal(a.duration_ms, 2500);
    assert_string_equal(a.title, "Bubble \xc3\xa9t\xc3\xa9");
    assert_string_equal(a.artist, "Sleet");
}

static void file_without_title_tag_gets_its_base_name(void **state)
{
    (void)state;
    char path[256], err[512];
    cli_audio a;
    snprintf(path, sizeof path, "%s/My Song.v2.flac", dir);
    assert_int_equal(write_tone(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, NULL, NULL), 0);
    assert_int_equal(cli_audio_probe(path, &a, err, sizeof err), 0);
    assert_int_equal(a.duration_ms, 2500);
    assert_string_equal(a.title, "My Song.v2");
    assert_string_equal(a.artist, "");
}

static void non_audio_file_is_refused_naming_the_file_and_the_reason(void **state)
{
    (void)state;
    char path[256], err[512];
    cli_audio a;
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not audio, just some text that is long enough to be looked at\n", f);
    fclose(f);
    assert_int_equal(cli_audio_probe(path, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a readable audio file"));
    assert_true(strlen(err) > strlen(path) + 30); /* libsndfile's reason follows */

    snprintf(path, sizeof path, "%s/missing.wav", dir);
    assert_int_equal(cli_audio_probe(path, &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing.wav"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tag_clean_drops_control_characters_and_del),
        cmocka_unit_test(tag_clean_drops_line_and_paragraph_separators),
        cmocka_unit_test(tag_clean_drops_invalid_utf8_and_keeps_valid_multibyte),
        cmocka_unit_test(tag_clean_trims_outer_spaces),
        cmocka_unit_test(title_of_300_bytes_is_cut_to_256_on_a_character_boundary),
        cmocka_unit_test(tag_clean_respects_a_small_output_buffer),
        cmocka_unit_test(duration_is_frames_times_1000_over_rate_rounded_down),
        cmocka_unit_test(duration_outside_1ms_to_1h_is_refused),
        cmocka_unit_test(wav_of_2_5_s_reads_2500_ms_and_its_tags),
        cmocka_unit_test(ogg_vorbis_of_2_5_s_reads_2500_ms_and_its_tags),
        cmocka_unit_test(file_without_title_tag_gets_its_base_name),
        cmocka_unit_test(non_audio_file_is_refused_naming_the_file_and_the_reason),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
