/* programme.h — the programme of a slot and what plays at a time t (protocol.md §14).
 *
 * Pure: no clock, no I/O, no floating point, no allocation. Every node, the CLI and the web feed
 * call the same functions, so they all agree on the track and its anchored start to the ns.
 * Times are ns since the Unix epoch; values that can leave the int64 range (slot starts far in
 * the future) are __int128. Node-local: nothing here enters consensus or the app hash. */
#ifndef SB_PROGRAMME_H
#define SB_PROGRAMME_H

#include <stddef.h>
#include <stdint.h>

/* The chain's clock (protocol.md §3): T0 in ns and the slot length L_ns = slot_seconds·10⁹.
 * slot_ns must be > 0. */
typedef struct sb_prog_timing {
    int64_t t0_ns;
    uint64_t slot_ns;
} sb_prog_timing;

/* What the caller knows about one slot. finalized 0: the slot has no record yet (not finalized,
 * or the caller does not know) — then outcome and tracks are ignored. finalized 1: outcome is the
 * record's SB_OUTCOME_* (tally.h); for SUPERMAJORITY, FALLBACK and REPEAT duration_ms[0..n) are
 * the manifest's track durations in manifest order (for REPEAT: the repeated winner's manifest).
 * duration_ms is borrowed, never kept. */
typedef struct sb_prog_slot {
    uint64_t slot;
    int finalized;
    int outcome;
    const uint64_t *duration_ms;
    size_t n;
} sb_prog_slot;

/* State of one sb_prog_play. */
enum {
    SB_PROG_NOTHING = 0,       /* no such slot (after slot 2^64 - 1) or a zeroed struct */
    SB_PROG_ON_AIR = 1,        /* a track plays: the track fields are valid */
    SB_PROG_BEFORE_EPOCH = 2,  /* t < T0: off air */
    SB_PROG_NOT_FINALIZED = 3, /* the slot has no record (yet): off air */
    SB_PROG_OFF_AIR = 4        /* NONE (or a winner without tracks, which §4 forbids): off air */
};

/* One track of the programme (or why there is none). For SB_PROG_ON_AIR: track `index`
 * (0-based, manifest order) of slot `slot`, pass `pass` of the loop (0 = first), anchored at
 * started_at_ns = S_slot + (pass·total + Σ_{j<index} d_j)·10⁶; ends_at_ns = min(started_at_ns +
 * duration_ms·10⁶, S_{slot+1}) (cut at the slot's end). For "now": elapsed_ms = floor((t −
 * started_at_ns)/10⁶), remaining_ms = duration_ms − elapsed_ms (protocol.md §14, not shortened
 * by the cut: use ends_at_ns for that). For "next": elapsed_ms 0, remaining_ms = duration_ms.
 * For the other states only slot (and outcome when finalized, else 0) are set; the rest is 0. */
typedef struct sb_prog_play {
    int state;
    uint64_t slot;
    int outcome;
    size_t index;
    uint64_t pass;
    uint64_t duration_ms, elapsed_ms, remaining_ms;
    __int128 started_at_ns, ends_at_ns;
} sb_prog_play;

/* Now playing and next (protocol.md §14). */
typedef struct sb_prog_now {
    sb_prog_play now;
    sb_prog_play next;
} sb_prog_now;

/* The slot whose record sb_prog_at needs as `cur` at time t: current(t) = floor((t − T0)/L_ns)
 * for t ≥ T0, 0 for t < T0 (protocol.md §3; saturates at UINT64_MAX). The caller passes slot
 * sb_prog_slot_for(tm, t) as cur and the slot after it as next. */
uint64_t sb_prog_slot_for(const sb_prog_timing *tm, int64_t t_ns);

/* Start S_s = T0 + s·L_ns and end S_{s+1} of slot s in ns (protocol.md §3, §14). Never overflows. */
__int128 sb_prog_slot_start(const sb_prog_timing *tm, uint64_t s);
__int128 sb_prog_slot_end(const sb_prog_timing *tm, uint64_t s);

/* What plays at t (protocol.md §14). cur: slot sb_prog_slot_for(tm, t); nxt: the slot after it,
 * or NULL when unknown (then a "next" that falls in it is SB_PROG_NOT_FINALIZED). For t < T0,
 * now is SB_PROG_BEFORE_EPOCH (slot 0) and next is slot 0's first track at T0 from cur (= slot
 * 0); nxt is not used. When the current slot is off air, next is the next slot's first track at
 * S_{s+1} (or its off-air state). Fills *out. Returns 0, or -1 (out zeroed) if tm->slot_ns is 0,
 * cur is NULL, cur->slot or nxt->slot is not the slot expected, or n > 0 with duration_ms NULL. */
int sb_prog_at(const sb_prog_timing *tm, int64_t t_ns, const sb_prog_slot *cur,
               const sb_prog_slot *nxt, sb_prog_now *out);

/* Write v in decimal (with '-' if negative) to buf[cap] NUL-terminated. 0, or -1 if cap is too
 * small (41 always suffices). For the ns values of the /schedule query and the feed. */
int sb_prog_i128_dec(__int128 v, char *buf, size_t cap);

#endif /* SB_PROGRAMME_H */
