/* tally.c — slot winner (protocol.md §5). 128-bit arithmetic, no floating point; the result does
 * not depend on the order of the candidates. */
#include "tally.h"

#include <stdlib.h>
#include <string.h>

#include "sb_hash.h"

const char *sb_outcome_name(int outcome)
{
    switch (outcome) {
    case SB_OUTCOME_SUPERMAJORITY: return "SUPERMAJORITY";
    case SB_OUTCOME_FALLBACK: return "FALLBACK";
    case SB_OUTCOME_REPEAT: return "REPEAT";
    case SB_OUTCOME_NONE: return "NONE";
    default: return "UNKNOWN";
    }
}

int sb_outcome_from_name(const char *name)
{
    for (int o = SB_OUTCOME_SUPERMAJORITY; o <= SB_OUTCOME_NONE; o++)
        if (name && strcmp(name, sb_outcome_name(o)) == 0)
            return o;
    return 0;
}

int sb_outcome_has_winner(int outcome)
{
    return outcome == SB_OUTCOME_SUPERMAJORITY || outcome == SB_OUTCOME_FALLBACK ||
           outcome == SB_OUTCOME_REPEAT;
}

struct sb_tally_key {
    uint8_t id[32];
    size_t at; /* index in the caller's order */
};

/* Total order (id, then position): the sorted array is the same whatever qsort does. */
static int key_cmp(const void *a, const void *b)
{
    const struct sb_tally_key *x = a, *y = b;
    int c = memcmp(x->id, y->id, 32);
    if (c)
        return c;
    return x->at < y->at ? -1 : x->at > y->at;
}

int sb_tally_votes_init(sb_tally_votes *tv, const sb_params *p, const uint8_t *ids, size_t n)
{
    memset(tv, 0, sizeof *tv);
    tv->params = p;
    tv->c = calloc(n ? n : 1, sizeof *tv->c);
    tv->sum = calloc(n ? n : 1, sizeof *tv->sum);
    tv->by_id = calloc(n ? n : 1, sizeof *tv->by_id);
    if (!tv->c || !tv->sum || !tv->by_id) {
        sb_tally_votes_free(tv);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(tv->c[i].id, ids + 32 * i, 32);
        memcpy(tv->by_id[i].id, ids + 32 * i, 32);
        tv->by_id[i].at = i;
    }
    tv->n = n;
    if (n > 1)
        qsort(tv->by_id, n, sizeof *tv->by_id, key_cmp);
    return 0;
}

size_t sb_tally_votes_add(sb_tally_votes *tv, const uint8_t validator[32],
                          const uint8_t proposal_id[32])
{
    size_t lo = 0, hi = tv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(tv->by_id[mid].id, proposal_id, 32);
        if (c == 0) {
            size_t at = tv->by_id[mid].at;
            /* a vote of a non-validator is never accepted; counted as nothing if one were */
            const sb_validator *v = sb_params_validator(tv->params, validator);
            if (v)
                tv->sum[at] += (unsigned __int128)v->power;
            return at;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return tv->n;
}

int sb_tally_votes_finish(sb_tally_votes *tv)
{
    for (size_t i = 0; i < tv->n; i++) {
        if (tv->sum[i] > UINT64_MAX)
            return -1;
        tv->c[i].power_for = (uint64_t)tv->sum[i];
    }
    return 0;
}

void sb_tally_votes_free(sb_tally_votes *tv)
{
    free(tv->c);
    free(tv->sum);
    free(tv->by_id);
    memset(tv, 0, sizeof *tv);
}

void sb_tally_tiebreak(const uint8_t prev_app_hash[32], uint64_t slot, const uint8_t id[32],
                       uint8_t out[32])
{
    static const char dom[] = "sleetbubble/v1/tiebreak"; /* + its NUL */
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(slot >> (56 - 8 * i));
    sb_sha256v(out, 4, (const void *)dom, sizeof dom, (const void *)prev_app_hash, (size_t)32,
               (const void *)be, sizeof be, (const void *)id, (size_t)32);
}

int sb_tally(uint64_t slot, const sb_tally_candidate *c, size_t n, uint64_t total, int curated,
             const uint8_t prev_app_hash[32], const sb_slot_record *prev, int64_t height,
             sb_slot_record *out)
{
    if (n > 0 && !c)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (c[i].power_for > total)
            return -1;
    memset(out, 0, sizeof *out);
    out->slot = slot;
    out->total = total;
    out->height = height;

    /* SUPERMAJORITY: 3·power_for > 2·total; at most one candidate can pass (two would need
   * more than 4/3 of total). The lowest id wins if the caller's input is inconsistent. */
    const sb_tally_candidate *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned __int128)c[i].power_for * 3 > (unsigned __int128)total * 2) {
            if (!best || memcmp(c[i].id, best->id, 32) < 0)
                best = &c[i];
        }
    }
    if (best) {
        out->outcome = SB_OUTCOME_SUPERMAJORITY;
        memcpy(out->proposal_id, best->id, 32);
        out->power_for = best->power_for;
        return 0;
    }

    /* FALLBACK: candidates with votes, or every proposal when none has votes and curated. */
    int any_votes = 0;
    for (size_t i = 0; i < n; i++)
        any_votes |= c[i].power_for > 0;
    uint8_t best_tb[32], tb[32];
    for (size_t i = 0; i < n; i++) {
        if (any_votes ? c[i].power_for == 0 : !curated)
            continue;
        sb_tally_tiebreak(prev_app_hash, slot, c[i].id, tb);
        if (!best || c[i].power_for > best->power_for ||
            (c[i].power_for == best->power_for && memcmp(tb, best_tb, 32) < 0)) {
            best = &c[i];
            memcpy(best_tb, tb, 32);
        }
    }
    if (best) {
        out->outcome = SB_OUTCOME_FALLBACK;
        memcpy(out->proposal_id, best->id, 32);
        out->power_for = best->power_for;
        return 0;
    }

    /* REPEAT of slot s-1's winner, or NONE. */
    if (prev && sb_outcome_has_winner(prev->outcome)) {
        if (prev->manifest_cid_len > SB_CID_BIN_MAX)
            return -1;
        out->outcome = SB_OUTCOME_REPEAT;
        memcpy(out->proposal_id, prev->proposal_id, 32);
        memcpy(out->manifest_cid, prev->manifest_cid, prev->manifest_cid_len);
        out->manifest_cid_len = prev->manifest_cid_len;
        return 0;
    }
    out->outcome = SB_OUTCOME_NONE;
    return 0;
}
