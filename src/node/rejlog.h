/* rejlog.h - rate-limited summary of rejected CheckTx (docs/design.md "Log volume"; STYLE "log volume is
 * bounded by us, not by peers"). Node-local logging, not consensus: the caller passes a
 * monotonic clock in milliseconds, so tests inject time instead of sleeping.
 *
 * Each rejected tx is logged at debug by the app; at info there is at most one summary line
 * per SB_REJLOG_PERIOD_MS, with counts per code name:
 *   checktx: rejected 1234 tx(s) in the last 10 s: SIGNATURE=1200 ENCODING=34
 * A window opens at the first rejection after the previous summary; the summary is due once
 * the window is SB_REJLOG_PERIOD_MS old, at the next sb_rejlog_note or sb_rejlog_tick. A
 * quiet period (no rejection) produces no line. Memory is fixed: no allocation, counts
 * saturate at UINT64_MAX. Not thread-safe (the ABCI loop thread owns it). */
#ifndef SB_NODE_REJLOG_H
#define SB_NODE_REJLOG_H

#include <stddef.h>
#include <stdint.h>

/* Shortest time between two summaries, and the length of a window, in milliseconds. */
#define SB_REJLOG_PERIOD_MS 10000
/* Codes 0..SB_REJLOG_CODES-1 are counted each under their own name; any other code under
 * "OTHER". */
#define SB_REJLOG_CODES 16
/* A summary always fits in this many bytes (NUL included). */
#define SB_REJLOG_LINE_MAX 512

typedef struct sb_rejlog {
    uint64_t counts[SB_REJLOG_CODES + 1]; /* last slot: codes outside [0, SB_REJLOG_CODES) */
    uint64_t total;                       /* rejections in the open window; 0 = no window */
    uint64_t start_ms;                    /* time of the window's first rejection */
} sb_rejlog;

/* Empty state (also what a zeroed struct is). */
void sb_rejlog_init(sb_rejlog *r);

/* Count one rejected tx with result `code` at now_ms (monotonic ms). Returns 1 when a summary
 * is due (this rejection included): the summary, NUL-terminated, is written to out[0..outlen)
 * (cut to fit; SB_REJLOG_LINE_MAX always suffices) and a new window starts empty. Returns 0
 * otherwise (out untouched). */
int sb_rejlog_note(sb_rejlog *r, int code, uint64_t now_ms, char *out, size_t outlen);

/* Like sb_rejlog_note without a new rejection: returns 1 and fills out when the open window
 * is at least SB_REJLOG_PERIOD_MS old, so a burst followed by silence is still reported.
 * Call it periodically (the app does at every Commit). */
int sb_rejlog_tick(sb_rejlog *r, uint64_t now_ms, char *out, size_t outlen);

#endif /* SB_NODE_REJLOG_H */
