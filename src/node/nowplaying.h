/* nowplaying.h - the now-playing feed and page (protocol.md §14), rendered from a programme
 * result. Pure: no clock, no I/O; the web server (web.c) passes the time and the slots in. */
#ifndef SB_NODE_NOWPLAYING_H
#define SB_NODE_NOWPLAYING_H

#include <stdint.h>

#include "programme.h"
#include "schedule.h"

/* Node-local settings the feed repeats (borrowed strings; "" = not set, rendered as null). */
typedef struct sb_np_station {
    const char *name;
    const char *stream_url;     /* Ogg mount */
    const char *stream_url_mp3; /* MP3 mount, the page's <audio> */
    const char *gateway_url;    /* Kubo gateway ([ipfs] gateway_url) */
} sb_np_station;

/* What the feed says at time t_ns. initialised 0: no InitChain yet (np, cur, nxt unused).
 * Otherwise np is sb_prog_at's result for cur = slot sb_prog_slot_for(t) and nxt = the slot
 * after it (nxt may be NULL = unknown); the tracks' cid/title/artist come from whichever of
 * cur/nxt the play's slot names. */
typedef struct sb_np_input {
    int64_t t_ns;
    int initialised;
    const sb_prog_now *np;
    const sb_sched *cur, *nxt;
} sb_np_input;

/* The /nowplaying.json body (protocol.md §14), compact with sorted keys:
 * {"station":{"name"},"slot":"<dec>"|null,"outcome":name|null,"on_air":bool,
 *  "state":"on_air"|"off_air"|"before_epoch"|"not_finalized"|"not_initialised",
 *  "now_playing":{"cid","title","artist","duration_ms","elapsed_ms","remaining_ms",
 *                 "started_at_ns":"<dec>","ends_at_ns":"<dec>","index","slot":"<dec>"}|null,
 *  "playing_next":{same, elapsed_ms 0}|null,"server_time_ns":"<dec>",
 *  "stream_url","stream_url_mp3","gateway_url" (string or null)}.
 * ms values are JSON integers; ends_at_ns is where the track really stops (cut at the slot's
 * end). malloc'd string (caller frees), NULL on out of memory or invalid UTF-8 in a title. */
char *sb_np_feed_json(const sb_np_station *st, const sb_np_input *in);

/* The GET / page: self-contained HTML (no external assets) that carries the current title,
 * artist and state as served (HTML-escaped), then polls /nowplaying.json every 2 s from JS,
 * animates elapsed/remaining, shows the next track and plays stream_url_mp3 in <audio>.
 * malloc'd string (caller frees), NULL on out of memory. */
char *sb_np_page_html(const sb_np_station *st, const sb_np_input *in);

#endif /* SB_NODE_NOWPLAYING_H */
