/* tune.h — a slot's winning playlist as an extended M3U (protocol.md §12 `tune`). */
#ifndef SB_CLI_TUNE_H
#define SB_CLI_TUNE_H

#include <stddef.h>
#include <stdint.h>

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

/* What plays at t_ns (ns since the Unix epoch) by the programme rules (protocol.md §14), from
 * the node's replies (all borrowed): params = /params (epoch_ns, slot_seconds); cur = the
 * /schedule/<s> value of s = the slot holding t (NULL: not finalized yet); nxt = /schedule/<s+1>
 * (NULL: not finalized yet). Uses sb_prog_at, the function the node's feed uses. *out gets a
 * new object: {"slot","state" (on_air|off_air|before_epoch|not_finalized),"on_air","outcome",
 * "now_playing":{"cid","title","artist","duration_ms","elapsed_ms","remaining_ms",
 * "started_at_ns","ends_at_ns","index","slot","url"}|null,"playing_next":{same}|null,
 * "time_ns"}, url = gateway/ipfs/cid. 0, or -1 with err (a malformed reply, cur/nxt of the
 * wrong slot, out of memory). */
int cli_tune_now(json_t *params, json_t *cur, json_t *nxt, int64_t t_ns, const char *gateway,
                 json_t **out, char *err, size_t errlen);

/* The slot `tune --now` needs first: floor((t - epoch)/L), 0 before the epoch, from /params.
 * 0, or -1 with err on a malformed reply. */
int cli_tune_slot_at(json_t *params, int64_t t_ns, uint64_t *slot, char *err, size_t errlen);

#endif
