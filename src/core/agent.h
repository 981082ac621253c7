/* agent.h — the vote agent's pure rules (protocol.md §15): which slot it works on, when it
 * decides (h*), and which proposal it votes for. No I/O, no clock, no float: the node thread
 * (src/node/agent.c) fetches the facts over CometBFT RPC and passes them in. */
#ifndef SB_AGENT_H
#define SB_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"

/* Policies of [vote] policy (protocol.md §15). */
typedef enum { SB_AGENT_FOLLOW = 0, SB_AGENT_PRIORITY = 1 } sb_agent_policy;

/* Where block time t stands for slot s (protocol.md §15 "When"). */
typedef enum {
    SB_AGENT_WAIT = 0,   /* t < close(s) - lead: collect proposals, check availability */
    SB_AGENT_DECIDE = 1, /* close(s) - lead <= t < close(s): decide and vote now */
    SB_AGENT_CLOSED = 2  /* t >= close(s): never vote */
} sb_agent_phase;

/* The first slot still open at block time t (the smallest s with close(s) > t, protocol.md
 * §3) into *slot, its close (ns) into *close_ns. 0, or -1 when no such slot fits uint64 or
 * its close does not fit int64 (an absurd epoch). */
int sb_agent_target_slot(const sb_params *p, int64_t t_ns, uint64_t *slot, int64_t *close_ns);

/* close_ns - lead_seconds*1e9, the block time from which the agent decides (h*'s threshold),
 * computed in 128 bits and saturated to int64. */
int64_t sb_agent_threshold_ns(int64_t close_ns, uint64_t lead_seconds);

/* Phase of block time t for a slot closing at close_ns with the agent's lead (seconds). */
sb_agent_phase sb_agent_phase_at(int64_t close_ns, uint64_t lead_seconds, int64_t t_ns);

/* 1 iff the block of time t_ns is h* for threshold thr_ns: t >= thr and its predecessor's time
 * prev_t_ns < thr (has_prev = 0 for the chain's first block, which then is h* when t >= thr).
 * protocol.md §15: h* is the first committed block whose time is >= close(s) - lead. */
int sb_agent_is_hstar(int64_t thr_ns, int64_t t_ns, int has_prev, int64_t prev_t_ns);

/* SHA-256("sleetbubble/v1/agent\0" || hstar_hash || proposal_id) into out (protocol.md §15). */
void sb_agent_rank_hash(const uint8_t hstar_hash[32], const uint8_t proposal_id[32],
                        uint8_t out[32]);

/* One proposal of the slot, as the node sees it at decision time. */
typedef struct sb_agent_cand {
    uint8_t id[32];      /* proposal_id */
    uint8_t curator[32]; /* curator pubkey */
    uint64_t power_for;  /* committed power of the votes naming it */
    int64_t height;      /* height of the block that included it */
    int available;       /* 1: passed the availability check (or require_available is off) */
} sb_agent_cand;

/* Inputs of one decision. All arrays borrowed. */
typedef struct sb_agent_in {
    const sb_agent_cand *cands; /* the slot's proposals, any order */
    size_t n;
    int64_t hstar_height;   /* proposals with height > this are ignored */
    uint8_t hstar_hash[32]; /* block hash of h* */
    sb_agent_policy policy;
    const uint8_t (*curators)[32]; /* [vote] curators, in priority order */
    size_t n_curators;
} sb_agent_in;

/* Why a choice was made (or none). */
typedef enum {
    SB_AGENT_R_NO_CANDIDATE = 0, /* no proposal committed by h* */
    SB_AGENT_R_UNAVAILABLE,      /* proposals by h*, but none passed the availability check */
    SB_AGENT_R_POWER,            /* follow: the single candidate with the most power_for */
    SB_AGENT_R_POWER_CURATORS,   /* follow: tie at the top broken by the curators list */
    SB_AGENT_R_POWER_HASH,       /* follow: tie at the top, no listed curator: lowest rank hash */
    SB_AGENT_R_HASH,             /* follow: no candidate has votes: lowest rank hash */
    SB_AGENT_R_PRIORITY          /* priority: the first listed curator's candidate */
} sb_agent_reason;

/* Result of one decision. choice indexes in->cands, or SIZE_MAX when there is none. */
typedef struct sb_agent_out {
    size_t choice;
    sb_agent_reason reason;
    size_t n_committed; /* proposals with height <= h* */
    size_t n_available; /* of those, available */
} sb_agent_out;

/* Decide per protocol.md §15 "What": candidates are the proposals with height <= h* that are
 * available; follow picks the most power_for (a tie between equal non-zero powers goes to the
 * curator listed first in in->curators; if none of the tied is listed, to the lowest rank
 * hash); no votes at all: the lowest rank hash. priority: the candidate of the first listed
 * curator that has one, else follow. Deterministic; never fails (out always filled). */
void sb_agent_decide(const sb_agent_in *in, sb_agent_out *out);

/* What the agent's key is to the chain (protocol.md §4 vote_keys, §15 key_file). */
typedef enum {
    SB_AGENT_KEY_DELEGATE = 0,   /* a validator's delegated vote key: votes for that validator */
    SB_AGENT_KEY_CONSENSUS,      /* a validator's own key, the validator has no delegate */
    SB_AGENT_KEY_DELEGATED_AWAY, /* a validator's own key, but it delegates: refused (its votes
                                * would fail SIGNATURE) */
    SB_AGENT_KEY_UNKNOWN         /* neither: refused */
} sb_agent_key_role;

/* Role of the 32-byte Ed25519 key `key` in p's validators. *val (may be NULL) gets the validator
 * concerned (borrowed from p), or NULL for SB_AGENT_KEY_UNKNOWN. A delegation wins over an own
 * key (a key that is both one validator's delegate and another's consensus key votes for the
 * delegating validator). Deterministic; never fails. */
sb_agent_key_role sb_agent_key_check(const sb_params *p, const uint8_t key[32],
                                     const sb_validator **val);

/* Stable lowercase name of a reason for logs: "no_candidate", "unavailable", "most_power",
 * "tie_curators", "tie_hash", "no_votes_hash", "priority". */
const char *sb_agent_reason_name(sb_agent_reason r);

#endif
