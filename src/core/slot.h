/* slot.h — slot arithmetic (protocol.md §3). Times are ns since the Unix epoch; every product is
 * computed in __int128 so no input can overflow (slot_seconds <= 10^9 by sb_params). */
#ifndef SB_SLOT_H
#define SB_SLOT_H

#include <stdint.h>

#include "params.h"

/* Start of slot s: T0 + s*L_ns. */
__int128 sb_slot_start(const sb_params *p, uint64_t s);

/* Close of slot s: T0 + s*L_ns - lead_ns (protocol.md §3). */
__int128 sb_slot_close(const sb_params *p, uint64_t s);

/* Slot containing t: floor((t - T0) / L_ns) for t >= T0, 0 for t < T0; saturates at
 * UINT64_MAX. */
uint64_t sb_slot_current(const sb_params *p, int64_t t_ns);

/* 1 iff a proposal/vote for slot s is still open at t (t < close(s)). */
int sb_slot_is_open(const sb_params *p, uint64_t s, int64_t t_ns);

/* The first slot still open at t: the smallest s with t < close(s) (protocol.md §3). Since
 * 0 <= lead < L it is current(t), current(t) + 1 or current(t) + 2; saturates at UINT64_MAX.
 * What `propose --slot next` uses and `status` shows. */
uint64_t sb_slot_first_open(const sb_params *p, int64_t t_ns);

/* 1 iff s <= current(t) + H (computed without overflow). */
int sb_slot_within_horizon(const sb_params *p, uint64_t s, int64_t t_ns);

#endif
