/* slot.c — slot arithmetic (protocol.md §3), all in 128-bit integers. */
#include "slot.h"

#define NS_PER_S 1000000000

static __int128 l_ns(const sb_params *p) { return (__int128)p->slot_seconds * NS_PER_S; }

__int128 sb_slot_start(const sb_params *p, uint64_t s)
{
    return (__int128)p->epoch_ns + (__int128)s * l_ns(p);
}

__int128 sb_slot_close(const sb_params *p, uint64_t s)
{
    return sb_slot_start(p, s) - (__int128)p->close_lead_seconds * NS_PER_S;
}

uint64_t sb_slot_current(const sb_params *p, int64_t t_ns)
{
    __int128 l = l_ns(p);
    if (t_ns < p->epoch_ns || l <= 0)
        return 0;
    __int128 q = ((__int128)t_ns - p->epoch_ns) / l;
    return q > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

int sb_slot_is_open(const sb_params *p, uint64_t s, int64_t t_ns)
{
    return (__int128)t_ns < sb_slot_close(p, s);
}

uint64_t sb_slot_first_open(const sb_params *p, int64_t t_ns)
{
    uint64_t s = sb_slot_current(p, t_ns);
    /* at most two steps: close(current + 2) = start(current + 2) - lead > start(current + 1) > t */
    for (int i = 0; i < 2 && !sb_slot_is_open(p, s, t_ns) && s < UINT64_MAX; i++)
        s++;
    return s;
}

int sb_slot_within_horizon(const sb_params *p, uint64_t s, int64_t t_ns)
{
    return (__int128)s <= (__int128)sb_slot_current(p, t_ns) + (__int128)p->horizon_slots;
}
