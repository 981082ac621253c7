/* schedule.h - one slot's programme as the node serves it (protocol.md §14): the finalized
 * record and the winning playlist's tracks (cid, title, artist, duration) read through the store
 * accessors, ready for the core programme function (programme.h), the /schedule/<n> query and
 * the now-playing feed. Node-local: nothing here enters consensus. */
#ifndef SB_NODE_SCHEDULE_H
#define SB_NODE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "programme.h"
#include "store.h"
#include "tally.h"

/* One track of a slot's programme; strings owned by the sb_sched. */
typedef struct sb_sched_track {
    const char *cid, *title, *artist; /* never NULL ("" when absent) */
    uint64_t duration_ms;
    uint64_t offset_ms; /* start within one pass: Σ_{j<i} duration_ms */
} sb_sched_track;

/* A slot as the programme sees it. finalized 0: no record yet (rec, tracks unset). For NONE,
 * n 0. For REPEAT the tracks are the repeated winner's playlist (the record's proposal id).
 * Owns tracks, durations and the decoded proposal; free with sb_sched_free. */
typedef struct sb_sched {
    uint64_t slot;
    int finalized;
    sb_slot_record rec;
    sb_sched_track *tracks;
    uint64_t *duration_ms; /* n values, the tracks' durations (sb_prog_slot input) */
    size_t n;
    unsigned __int128 total_ms;
    void *body; /* Sleetbubble__V1__ProposalBody *, owns the strings */
} sb_sched;

/* Load slot `slot` from the committed state of st (staged 0; a read-only store works). 0 (with
 * out->finalized 0 or 1), or -1 on a store error, a missing or undecodable winning proposal, or
 * out of memory (out zeroed, nothing to free). Cost: two indexed lookups. */
int sb_sched_load(sb_store *st, uint64_t slot, sb_sched *out);
/* Free what s owns and zero it. Safe on a zeroed struct. */
void sb_sched_free(sb_sched *s);

/* The programme function's view of s (borrows s's durations). */
void sb_sched_prog_slot(const sb_sched *s, sb_prog_slot *out);

/* The /schedule/<n> value (protocol.md §14) of a finalized s: {"slot","start_ns","end_ns",
 * "outcome","manifest_cid","total_ms","tracks":[{"index","cid","title","artist","duration_ms",
 * "offset_ms"}]}; slot and ns as decimal strings, ms and index as JSON integers; NONE gives
 * manifest_cid null and tracks []. New reference, or NULL on out of memory or if s is not
 * finalized. */
json_t *sb_sched_json(const sb_prog_timing *tm, const sb_sched *s);

/* A __int128 as a JSON decimal string (new reference; NULL on out of memory). */
json_t *sb_sched_jdec(__int128 v);

#endif /* SB_NODE_SCHEDULE_H */
