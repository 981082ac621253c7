/* tune.h — a slot's winning playlist as an extended M3U (protocol.md §12 `tune`). */
#ifndef SB_CLI_TUNE_H
#define SB_CLI_TUNE_H

#include <stddef.h>

#include <jansson.h>

#include "sb_buf.h"

/* Render the /winner/<n> reply (borrowed; needs "tracks":[{cid,duration_ms,title,artist}],
 * optional "slot" and "outcome") into out (caller-initialised; text appended):
 *   #EXTM3U
 *   #PLAYLIST:Sleetbubble slot <n> (<outcome>)
 *   #EXTINF:<seconds>,<artist> - <title>      (title alone when artist is empty)
 *   <gateway>/ipfs/<cid>
 * seconds = duration_ms rounded to the nearest second, at least 1. Line breaks inside
 * titles become spaces. 0, or -1 with err (no tracks, a bad CID or duration, buffer cap). */
int cli_tune_m3u(json_t *winner, const char *gateway, sb_buf *out, char *err, size_t errlen);

#endif
