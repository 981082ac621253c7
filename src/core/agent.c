/* agent.c — see agent.h (protocol.md §15). Pure: no I/O, no clock, no float. */
#include "agent.h"

#include <string.h>

#include "sb_hash.h"
#include "slot.h"

static const char agent_domain[] = "sleetbubble/v1/agent"; /* + its NUL, protocol.md §15 */

int sb_agent_target_slot(const sb_params *p, int64_t t_ns, uint64_t *slot, int64_t *close_ns)
{
    __int128 L = (__int128)p->slot_seconds * 1000000000;
    __int128 lead = (__int128)p->close_lead_seconds * 1000000000;
    __int128 x = (__int128)t_ns + lead - p->epoch_ns, s, c;
    if (L <= 0)
        return -1;
    /* close(s) > t  <=>  s*L > t + lead - T0  <=>  s > floor(x / L) (x >= 0); s = 0 if x < 0 */
    s = x < 0 ? 0 : x / L + 1;
    if (s > (__int128)UINT64_MAX)
        return -1;
    c = sb_slot_close(p, (uint64_t)s);
    if (c > INT64_MAX || c < INT64_MIN)
        return -1;
    *slot = (uint64_t)s;
    *close_ns = (int64_t)c;
    return 0;
}

int64_t sb_agent_threshold_ns(int64_t close_ns, uint64_t lead_seconds)
{
    __int128 t = (__int128)close_ns - (__int128)lead_seconds * 1000000000;
    return t < INT64_MIN ? INT64_MIN : (int64_t)t;
}

sb_agent_phase sb_agent_phase_at(int64_t close_ns, uint64_t lead_seconds, int64_t t_ns)
{
    if (t_ns >= close_ns)
        return SB_AGENT_CLOSED;
    if (t_ns >= sb_agent_threshold_ns(close_ns, lead_seconds))
        return SB_AGENT_DECIDE;
    return SB_AGENT_WAIT;
}

int sb_agent_is_hstar(int64_t thr_ns, int64_t t_ns, int has_prev, int64_t prev_t_ns)
{
    return t_ns >= thr_ns && (!has_prev || prev_t_ns < thr_ns);
}

void sb_agent_rank_hash(const uint8_t hstar_hash[32], const uint8_t proposal_id[32],
                        uint8_t out[32])
{
    sb_sha256v(out, 3, agent_domain, sizeof agent_domain, hstar_hash, (size_t)32, proposal_id,
               (size_t)32);
}

/* Position of curator in the priority list, or SIZE_MAX when it is not listed. */
static size_t curator_rank(const sb_agent_in *in, const uint8_t curator[32])
{
    for (size_t i = 0; i < in->n_curators; i++)
        if (memcmp(in->curators[i], curator, 32) == 0)
            return i;
    return SIZE_MAX;
}

static int is_candidate(const sb_agent_in *in, size_t i)
{
    return in->cands[i].height <= in->hstar_height && in->cands[i].available;
}

/* Among candidates with power_for == power, the one with the lowest rank hash. */
static size_t lowest_hash(const sb_agent_in *in, uint64_t power)
{
    size_t best = SIZE_MAX;
    uint8_t best_h[32], h[32];
    for (size_t i = 0; i < in->n; i++) {
        if (!is_candidate(in, i) || in->cands[i].power_for != power)
            continue;
        sb_agent_rank_hash(in->hstar_hash, in->cands[i].id, h);
        if (best == SIZE_MAX || memcmp(h, best_h, 32) < 0) {
            best = i;
            memcpy(best_h, h, 32);
        }
    }
    return best;
}

/* The candidate whose curator comes first in the `curators` list (only those with exactly
 * `power` power_for when match_power), or SIZE_MAX when none of them is listed. */
static size_t best_ranked(const sb_agent_in *in, int match_power, uint64_t power)
{
    size_t best = SIZE_MAX, best_rank = SIZE_MAX;
    for (size_t i = 0; i < in->n; i++) {
        size_t r;
        if (!is_candidate(in, i) || (match_power && in->cands[i].power_for != power))
            continue;
        r = curator_rank(in, in->cands[i].curator);
        if (r < best_rank) {
            best_rank = r;
            best = i;
        }
    }
    return best;
}

static void follow(const sb_agent_in *in, sb_agent_out *out)
{
    uint64_t top = 0;
    size_t n_top = 0, first = SIZE_MAX, best;
    for (size_t i = 0; i < in->n; i++) {
        if (!is_candidate(in, i))
            continue;
        if (first == SIZE_MAX || in->cands[i].power_for > top) {
            top = in->cands[i].power_for;
            n_top = 1;
            first = i;
        } else if (in->cands[i].power_for == top) {
            n_top++;
        }
    }
    if (top == 0) {
        out->choice = lowest_hash(in, 0);
        out->reason = SB_AGENT_R_HASH;
        return;
    }
    if (n_top == 1) {
        out->choice = first;
        out->reason = SB_AGENT_R_POWER;
        return;
    }
    best = best_ranked(in, 1, top);
    if (best != SIZE_MAX) {
        out->choice = best;
        out->reason = SB_AGENT_R_POWER_CURATORS;
        return;
    }
    out->choice = lowest_hash(in, top);
    out->reason = SB_AGENT_R_POWER_HASH;
}

void sb_agent_decide(const sb_agent_in *in, sb_agent_out *out)
{
    out->choice = SIZE_MAX;
    out->n_committed = 0;
    out->n_available = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (in->cands[i].height > in->hstar_height)
            continue;
        out->n_committed++;
        if (in->cands[i].available)
            out->n_available++;
    }
    if (out->n_available == 0) {
        out->reason = out->n_committed ? SB_AGENT_R_UNAVAILABLE : SB_AGENT_R_NO_CANDIDATE;
        return;
    }
    if (in->policy == SB_AGENT_PRIORITY) {
        size_t best = best_ranked(in, 0, 0);
        if (best != SIZE_MAX) {
            out->choice = best;
            out->reason = SB_AGENT_R_PRIORITY;
            return;
        }
    }
    follow(in, out);
}

sb_agent_key_role sb_agent_key_check(const sb_params *p, const uint8_t key[32],
                                     const sb_validator **val)
{
    const sb_validator *own = NULL, *deleg = NULL;
    sb_agent_key_role r = SB_AGENT_KEY_UNKNOWN;
    for (size_t i = 0; i < p->n_validators; i++) {
        const sb_validator *v = &p->validators[i];
        if (!deleg && v->has_vote_key && memcmp(v->vote_key, key, 32) == 0)
            deleg = v;
        if (memcmp(v->pubkey, key, 32) == 0)
            own = v;
    }
    if (deleg)
        r = SB_AGENT_KEY_DELEGATE;
    else if (own)
        r = own->has_vote_key ? SB_AGENT_KEY_DELEGATED_AWAY : SB_AGENT_KEY_CONSENSUS;
    if (val)
        *val = deleg ? deleg : own;
    return r;
}

const char *sb_agent_reason_name(sb_agent_reason r)
{
    switch (r) {
    case SB_AGENT_R_NO_CANDIDATE: return "no_candidate";
    case SB_AGENT_R_UNAVAILABLE: return "unavailable";
    case SB_AGENT_R_POWER: return "most_power";
    case SB_AGENT_R_POWER_CURATORS: return "tie_curators";
    case SB_AGENT_R_POWER_HASH: return "tie_hash";
    case SB_AGENT_R_HASH: return "no_votes_hash";
    case SB_AGENT_R_PRIORITY: return "priority";
    }
    return "unknown";
}
