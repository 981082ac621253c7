/* programme.c — the programme of a slot and what plays at t (protocol.md §14). 128-bit integer
 * arithmetic only; tracks are anchored to the slot's start, never to a previous track's end. */
#include "programme.h"

#include <string.h>

#include "tally.h"

#define NS_PER_MS 1000000

uint64_t sb_prog_slot_for(const sb_prog_timing *tm, int64_t t_ns)
{
    if (tm->slot_ns == 0 || t_ns < tm->t0_ns)
        return 0;
    __int128 q = ((__int128)t_ns - tm->t0_ns) / (__int128)tm->slot_ns;
    return q > (__int128)UINT64_MAX ? UINT64_MAX : (uint64_t)q;
}

__int128 sb_prog_slot_start(const sb_prog_timing *tm, uint64_t s)
{
    return (__int128)tm->t0_ns + (__int128)s * (__int128)tm->slot_ns;
}

__int128 sb_prog_slot_end(const sb_prog_timing *tm, uint64_t s)
{
    return sb_prog_slot_start(tm, s) + (__int128)tm->slot_ns;
}

/* Σ d_i in ms (u128: no sum of uint64 can overflow it for any n a size_t can count). */
static unsigned __int128 total_ms(const sb_prog_slot *r)
{
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < r->n; i++)
        sum += r->duration_ms[i];
    return sum;
}

/* 1 iff r is a finalized slot that plays tracks. */
static int plays(const sb_prog_slot *r)
{
    return r && r->finalized && sb_outcome_has_winner(r->outcome) && total_ms(r) > 0;
}

static __int128 min128(__int128 a, __int128 b) { return a < b ? a : b; }

/* Off-air state of slot s described by r (NULL: unknown). */
static void off_air(uint64_t s, const sb_prog_slot *r, sb_prog_play *p)
{
    memset(p, 0, sizeof *p);
    p->slot = s;
    if (!r || !r->finalized) {
        p->state = SB_PROG_NOT_FINALIZED;
        return;
    }
    p->state = SB_PROG_OFF_AIR;
    p->outcome = r->outcome;
}

/* Track i of pass k of slot s (r plays), anchored at `start`, cut at the slot's end. */
static void track_at(const sb_prog_timing *tm, uint64_t s, const sb_prog_slot *r, size_t i,
                     uint64_t k, __int128 start, sb_prog_play *p)
{
    memset(p, 0, sizeof *p);
    p->state = SB_PROG_ON_AIR;
    p->slot = s;
    p->outcome = r->outcome;
    p->index = i;
    p->pass = k;
    p->duration_ms = r->duration_ms[i];
    p->remaining_ms = p->duration_ms;
    p->started_at_ns = start;
    p->ends_at_ns = min128(start + (__int128)p->duration_ms * NS_PER_MS, sb_prog_slot_end(tm, s));
}

/* The first thing of slot s (r describes it, NULL = unknown): its track 0 at S_s, or off air. */
static void first_of(const sb_prog_timing *tm, uint64_t s, const sb_prog_slot *r, sb_prog_play *p)
{
    if (!plays(r)) {
        off_air(s, r, p);
        return;
    }
    track_at(tm, s, r, 0, 0, sb_prog_slot_start(tm, s), p);
}

int sb_prog_at(const sb_prog_timing *tm, int64_t t_ns, const sb_prog_slot *cur,
               const sb_prog_slot *nxt, sb_prog_now *out)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!tm || tm->slot_ns == 0 || !cur)
        goto done;
    uint64_t s = sb_prog_slot_for(tm, t_ns);
    if (cur->slot != s)
        goto done;
    if (cur->finalized && cur->n > 0 && !cur->duration_ms)
        goto done;
    if (t_ns < tm->t0_ns) {
        /* Before the epoch: off air; next is slot 0's first track at T0. */
        out->now.state = SB_PROG_BEFORE_EPOCH;
        first_of(tm, 0, cur, &out->next);
        rc = 0;
        goto done;
    }
    /* The slot after s (none past 2^64 - 1: it stays unknown). */
    const sb_prog_slot *after = NULL;
    if (nxt && s < UINT64_MAX) {
        if (nxt->slot != s + 1)
            goto done;
        if (nxt->finalized && nxt->n > 0 && !nxt->duration_ms)
            goto done;
        after = nxt;
    }
    if (!plays(cur)) {
        off_air(s, cur, &out->now);
        if (s < UINT64_MAX)
            first_of(tm, s + 1, after, &out->next);
        rc = 0;
        goto done;
    }
    __int128 S = sb_prog_slot_start(tm, s);
    unsigned __int128 total = total_ms(cur);
    unsigned __int128 period = total * NS_PER_MS;
    unsigned __int128 since = (unsigned __int128)((__int128)t_ns - S); /* 0 <= since < L_ns */
    unsigned __int128 k = since / period, offset = since % period;
    unsigned __int128 acc = 0; /* Σ_{j<i} d_j in ms */
    size_t i = 0;
    while (i + 1 < cur->n && offset >= (acc + cur->duration_ms[i]) * NS_PER_MS)
        acc += cur->duration_ms[i++];
    __int128 start = S + (__int128)((k * total + acc) * NS_PER_MS);
    track_at(tm, s, cur, i, (uint64_t)k, start, &out->now);
    out->now.elapsed_ms = (uint64_t)((offset - acc * NS_PER_MS) / NS_PER_MS);
    out->now.remaining_ms = out->now.duration_ms - out->now.elapsed_ms;
    /* Next: the following track of the loop if it starts before S_{s+1}, else slot s+1. */
    __int128 anchored_end = start + (__int128)out->now.duration_ms * NS_PER_MS;
    if (anchored_end < sb_prog_slot_end(tm, s)) {
        size_t ni = i + 1 < cur->n ? i + 1 : 0;
        uint64_t nk = ni == 0 ? (uint64_t)k + 1 : (uint64_t)k;
        track_at(tm, s, cur, ni, nk, anchored_end, &out->next);
    } else if (s < UINT64_MAX) {
        first_of(tm, s + 1, after, &out->next);
    }
    rc = 0;
done:
    if (rc != 0 && out)
        memset(out, 0, sizeof *out);
    return rc;
}

int sb_prog_i128_dec(__int128 v, char *buf, size_t cap)
{
    char tmp[48];
    size_t n = 0;
    int neg = v < 0;
    /* Negate digit by digit so INT128_MIN needs no special case. */
    do {
        int d = (int)(v % 10);
        tmp[n++] = (char)('0' + (d < 0 ? -d : d));
        v /= 10;
    } while (v != 0);
    if (neg)
        tmp[n++] = '-';
    if (!buf || cap < n + 1)
        return -1;
    for (size_t j = 0; j < n; j++)
        buf[j] = tmp[n - 1 - j];
    buf[n] = '\0';
    return 0;
}
