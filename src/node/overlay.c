/* overlay.c - sorted (kind, slot, key) set for the mempool view (protocol.md §4). */
#include "overlay.h"

#include <stdlib.h>
#include <string.h>

static int cmp(const sb_overlay_key *a, uint8_t kind, uint64_t slot, const uint8_t *key)
{
    if (a->kind != kind)
        return a->kind < kind ? -1 : 1;
    if (a->slot != slot)
        return a->slot < slot ? -1 : 1;
    return key ? memcmp(a->key, key, 32) : 0;
}

/* First index whose entry is >= (kind, slot, key); key NULL compares as the smallest key. */
static size_t lower_bound(const sb_overlay *o, uint8_t kind, uint64_t slot, const uint8_t *key)
{
    size_t lo = 0, hi = o->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(&o->v[mid], kind, slot, key);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int sb_overlay_has(const sb_overlay *o, uint8_t kind, uint64_t slot, const uint8_t key[32])
{
    size_t i = lower_bound(o, kind, slot, key);
    return i < o->n && cmp(&o->v[i], kind, slot, key) == 0;
}

int sb_overlay_add(sb_overlay *o, uint8_t kind, uint64_t slot, const uint8_t key[32])
{
    size_t i = lower_bound(o, kind, slot, key);
    if (i < o->n && cmp(&o->v[i], kind, slot, key) == 0)
        return 0;
    if (o->n == o->cap) {
        size_t ncap = o->cap ? o->cap * 2 : 64;
        sb_overlay_key *p = realloc(o->v, ncap * sizeof(*p));
        if (!p)
            return -1;
        o->v = p;
        o->cap = ncap;
    }
    memmove(&o->v[i + 1], &o->v[i], (o->n - i) * sizeof(*o->v));
    o->v[i].kind = kind;
    o->v[i].slot = slot;
    memcpy(o->v[i].key, key, 32);
    o->n++;
    return 0;
}

uint32_t sb_overlay_count(const sb_overlay *o, uint8_t kind, uint64_t slot)
{
    uint32_t n = 0;
    for (size_t i = lower_bound(o, kind, slot, NULL);
         i < o->n && o->v[i].kind == kind && o->v[i].slot == slot; i++)
        n++;
    return n;
}

void sb_overlay_clear(sb_overlay *o) { o->n = 0; }

void sb_overlay_free(sb_overlay *o)
{
    free(o->v);
    memset(o, 0, sizeof(*o));
}
