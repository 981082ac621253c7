/* onair.h — `sleetbubble onair`: the station on air (protocol.md §14). A supervised process that
 * follows the programme with the node's clock and tells Liquidsoap (scripts/onair/
 * sleetbubble.liq, over its server socket) which track to prepare and the instant to play it,
 * cued in at the programme's elapsed time; Liquidsoap feeds Icecast. The pieces below are
 * pure, for the unit tests. */
#ifndef SB_CLI_ONAIR_H
#define SB_CLI_ONAIR_H

#include <stddef.h>
#include <stdint.h>

#include "programme.h"

/* The key Liquidsoap reports for a programme entry: "<slot>:<index>:<pass>" (decimal). One
 * entry of sb_prog_at in state SB_PROG_ON_AIR. Writes out[cap] NUL-terminated; 0, or -1 if cap
 * is too small (64 always suffices). */
int cli_onair_key(const sb_prog_play *p, char *out, size_t cap);

/* One track to put on air. Strings borrowed. */
typedef struct cli_onair_track {
    const char *key;     /* cli_onair_key */
    const char *cid;     /* the track's CID */
    const char *title;   /* "" or NULL: none */
    const char *artist;  /* "" or NULL: none */
    uint64_t cue_in_ms;  /* where to start in the file (ms from its beginning) */
    uint64_t cue_out_ms; /* where to stop (ms from its beginning): the duration, or less if the
                          slot's end cuts the track (protocol.md §14) */
} cli_onair_track;

/* The Liquidsoap request URI of t:
 *   annotate:sb_key="K",title="T",artist="A",liq_cue_in="S.mmm",liq_cue_out="S.mmm":
 *   <gateway>/ipfs/<cid>
 * (title/artist left out when empty; '"' and '\' escaped with '\'; control characters — which
 * §4 strings never hold — become spaces, so the command stays one line). gateway: base URL,
 * trailing '/' dropped. Writes out[cap]; 0, or -1 if it does not fit. */
int cli_onair_uri(const cli_onair_track *t, const char *gateway, char *out, size_t cap);

/* What the driver does next, decided from the programme and what Liquidsoap reports. */
typedef enum cli_onair_act {
    CLI_ONAIR_WAIT = 0, /* nothing until wake_ns (or the next poll) */
    CLI_ONAIR_JOIN,     /* the programme's track is not on air: prepare `now` cued at
                         cue_in_ms, play it at play_ns */
    CLI_ONAIR_PREPARE,  /* prepare `next` (cue 0) on the idle deck now */
    CLI_ONAIR_SWITCH,   /* at play_ns play the prepared `next` */
    CLI_ONAIR_STOP,     /* off air: stop (silence or ident) */
    CLI_ONAIR_SILENCE   /* the programme's track cannot be played (or is almost over): on air
                         with silence until the next track */
} cli_onair_act;

/* Inputs of cli_onair_decide. Keys are cli_onair_key strings; "" = none. */
typedef struct cli_onair_view {
    int64_t t_ns;            /* the node's clock */
    const sb_prog_now *prog; /* sb_prog_at at t_ns */
    const char *liq_now;     /* what Liquidsoap plays: a key, "off" or "silence" */
    const char *prepared;    /* the key prepared on the idle deck, "" if none */
    const char *failed[2];   /* keys whose prepare failed ("" or NULL: none; the track playing
                              and the next one may both fail) ... */
    int64_t retry_ns[2];     /* ... not to be tried again before these times */
    int64_t join_margin_ns;  /* time allowed for a prepare before the play instant (> 0) */
    int64_t lead_ns;         /* prepare the next track this long before it starts (> 0) */
} cli_onair_view;

typedef struct cli_onair_decision {
    cli_onair_act act;
    int64_t play_ns;     /* JOIN, SWITCH: the instant to play */
    uint64_t cue_in_ms;  /* JOIN: cue-in = elapsed at play_ns; PREPARE: 0 */
    uint64_t cue_out_ms; /* JOIN, PREPARE: the track's end within its file (duration, cut at the
                          slot's end) */
    int64_t wake_ns;     /* WAIT: the next instant something is due (the caller polls sooner) */
} cli_onair_decision;

/* Pure: the next action (protocol.md §14: tracks start at their anchored instant; a join or a
 * recovery cues in at the elapsed time of the play instant; off air stops). A join is not
 * attempted when less than 1 s of the track would remain: silence until the next one. 0, or
 * -1 on bad input (NULL fields, margins <= 0). */
int cli_onair_decide(const cli_onair_view *v, cli_onair_decision *d);

#endif
