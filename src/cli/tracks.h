/* tracks.h — audio files to playlist tracks: duration and tags with libsndfile, tag
 * cleaning to protocol.md §4 string rules, `tracks add` (protocol.md §12). */
#ifndef SB_CLI_TRACKS_H
#define SB_CLI_TRACKS_H

#include <stddef.h>
#include <stdint.h>

/* Room for a cleaned tag: protocol.md §4's 256 bytes + NUL. */
#define CLI_TAG_MAX 257

/* Clean in[0..n) into out[outlen] (NUL-terminated) so it satisfies protocol.md §4 strings:
 * invalid UTF-8 (bad lead/continuation bytes, overlongs, surrogates, > U+10FFFF) is dropped
 * byte by byte; U+0000–U+001F, U+007F, U+2028 and U+2029 are dropped; leading and trailing
 * spaces are trimmed; the result is cut to at most min(256, outlen - 1) bytes on a
 * character boundary. Returns the length written. */
size_t cli_tag_clean(const char *in, size_t n, char *out, size_t outlen);

/* duration_ms = frames * 1000 / samplerate rounded down (integer math). 0, or -1 when
 * samplerate <= 0, frames < 0, or the result is outside [1, 3 600 000] (protocol.md §4). */
int cli_duration_ms(int64_t frames, int samplerate, uint32_t *out);

/* What libsndfile tells about one file: duration (ms) and the cleaned title/artist tags
 * ("" when the file has none). */
typedef struct cli_audio {
    uint32_t duration_ms;
    char title[CLI_TAG_MAX];
    char artist[CLI_TAG_MAX];
} cli_audio;

/* Open path with libsndfile and fill *out. 0, or -1 with err naming the file and
 * libsndfile's reason (or the duration limit). The title falls back to the file's base
 * name without its extension (cleaned the same way) when the file has no title tag. */
int cli_audio_probe(const char *path, cli_audio *out, char *err, size_t errlen);

#endif
