/* playlist.h — the playlist file shared by `tracks add` (writes), `propose --playlist`
 * (reads) and /winner/<n> (its "tracks"), protocol.md §12:
 *   {"tracks":[{"cid":"bafy…","duration_ms":183000,"title":"…","artist":"…"}]}
 * Parsing applies the core's per-track rules (sb_track_check, protocol.md §4: CID form,
 * 1 <= duration_ms <= 3 600 000, §4 strings, title/artist <= 256 bytes); the genesis limits
 * (max_tracks, the slot length) are the chain's to judge. Other top-level keys are ignored (so a saved /winner reply
 * works); unknown keys inside a track are errors (typos). */
#ifndef SB_CLI_PLAYLIST_H
#define SB_CLI_PLAYLIST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* One track; the strings are owned (malloc'd, NUL-terminated, "" when absent). */
typedef struct cli_track {
    char *cid;
    uint32_t duration_ms;
    char *title;
    char *artist;
} cli_track;

/* tracks[0..n) owned; free with cli_playlist_free. */
typedef struct cli_playlist {
    size_t n;
    cli_track *tracks;
} cli_playlist;

/* Most tracks a playlist file may hold here (the chain's max_tracks is lower). */
#define CLI_PLAYLIST_MAX_TRACKS 1000000u
/* Largest playlist file read (bytes). */
#define CLI_PLAYLIST_MAX_BYTES (64u * 1024u * 1024u)

/* Parse JSON text[0..len). 0, or -1 with a message naming the field in err, e.g.
 * "tracks[2].duration_ms: 0 outside [1, 3600000]". *out is zeroed on error. */
int cli_playlist_parse(const char *text, size_t len, cli_playlist *out, char *err, size_t errlen);

/* Check an already-decoded JSON value (borrowed) the same way. */
int cli_playlist_from_json(json_t *root, cli_playlist *out, char *err, size_t errlen);

/* Read and parse the file at path; errors are prefixed with the path. */
int cli_playlist_load(const char *path, cli_playlist *out, char *err, size_t errlen);

/* Append a copy of a track (strings copied). 0 / -1 out of memory. */
int cli_playlist_add(cli_playlist *p, const char *cid, uint32_t duration_ms, const char *title,
                     const char *artist);

/* The playlist as JSON (new reference; keys in SPEC order cid, duration_ms, title, artist);
 * NULL on out of memory. */
json_t *cli_playlist_to_json(const cli_playlist *p);

void cli_playlist_free(cli_playlist *p);

#endif
