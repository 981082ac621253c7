/* genesis_fuzz.c - the genesis app_state parser (sb_params_from_genesis, protocol.md §9) and the
 * stored params JSON parser (sb_params_from_json, what a restarted node reloads, protocol.md §7).
 *
 * The input is the app_state JSON of a genesis with a fixed chain id, genesis time and three
 * validators (the SPEC vector keys), and is also parsed as stored params JSON.
 * Invariants (abort): a rejection leaves the output zeroed with a message naming the key; an
 * accepted genesis obeys protocol.md §9 (close lead inside the slot, limits, curators sorted and
 * unique, open curation when there are none, epoch not before genesis time - one slot, vote
 * keys unique and not consensus keys); and params survive the store round trip:
 * to_json -> from_json -> to_json gives the same bytes (a restart must not change them). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed25519.h"
#include "fuzz_common.h"
#include "params.h"

#define GENESIS_NS 1795392000250000000LL

static sb_validator g_vals[3];
static size_t g_accepted, g_stored;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t seeds[3] = { 0x11, 0x22, 0x33 };
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32];
        memset(seed, seeds[i], 32);
        FUZZ_CHECK(sb_ed25519_pubkey(seed, g_vals[i].pubkey) == 0, "test key");
        g_vals[i].power = 30 - 10 * i;
    }
    return 0;
}

static int zeroed(const sb_params *p)
{
    static const sb_params z;
    return memcmp(p, &z, sizeof(z)) == 0;
}

static int same_params(const sb_params *p, const sb_params *q)
{
    if (strcmp(p->chain_id, q->chain_id) || p->slot_seconds != q->slot_seconds ||
        p->close_lead_seconds != q->close_lead_seconds || p->horizon_slots != q->horizon_slots ||
        p->epoch_ns != q->epoch_ns || p->max_tracks != q->max_tracks ||
        p->max_proposals_per_slot != q->max_proposals_per_slot ||
        p->max_tx_size != q->max_tx_size || p->open_curation != q->open_curation ||
        p->n_curators != q->n_curators || p->n_validators != q->n_validators)
        return 0;
    if (p->n_curators && memcmp(p->curators, q->curators, 32 * p->n_curators) != 0)
        return 0;
    for (size_t i = 0; i < p->n_validators; i++) {
        const sb_validator *a = &p->validators[i], *b = &q->validators[i];
        if (memcmp(a->pubkey, b->pubkey, 32) || a->power != b->power ||
            a->has_vote_key != b->has_vote_key ||
            (a->has_vote_key && memcmp(a->vote_key, b->vote_key, 32)))
            return 0;
    }
    return 1;
}

/* Params -> JSON -> params gives the same params, and the same JSON again. */
static void round_trip(const sb_params *p)
{
    char *a = sb_params_to_json(p);
    FUZZ_CHECK(a != NULL, "params to JSON");
    sb_params q;
    char err[256];
    if (sb_params_from_json(a, &q, err, sizeof(err)) != 0) {
        fprintf(stderr, "stored params rejected: %s\n%s\n", err, a);
        abort();
    }
    FUZZ_CHECK(same_params(p, &q), "params changed through the stored JSON");
    char *b = sb_params_to_json(&q);
    FUZZ_CHECK(b != NULL && strcmp(a, b) == 0, "params JSON round trip changed the params");
    sb_params_free(&q);
    free(a);
    free(b);
}

/* genesis: the rules of protocol.md §9 that only the genesis parser enforces apply too. */
static void check_params(const sb_params *p, int genesis)
{
    FUZZ_CHECK(p->chain_id && p->chain_id[0], "chain id");
    FUZZ_CHECK(p->slot_seconds >= 1 && p->slot_seconds <= SB_MAX_SLOT_SECONDS, "slot_seconds");
    FUZZ_CHECK(p->close_lead_seconds > 0 && p->close_lead_seconds < p->slot_seconds,
               "close_lead_seconds inside the slot");
    FUZZ_CHECK(p->horizon_slots <= SB_MAX_HORIZON_SLOTS, "horizon_slots");
    FUZZ_CHECK(p->max_tracks >= 1 && p->max_tracks <= SB_MAX_TRACKS_LIMIT, "max_tracks");
    FUZZ_CHECK(p->max_proposals_per_slot >= 1, "max_proposals_per_slot");
    FUZZ_CHECK(p->max_tx_size >= 1 && p->max_tx_size <= SB_MAX_TX_SIZE_LIMIT, "max_tx_size");
    FUZZ_CHECK(!genesis || p->n_curators > 0 || p->open_curation,
               "no curators without open curation");
    for (size_t i = 0; i < p->n_curators; i++) {
        FUZZ_CHECK(sb_ed25519_point_ok(p->curators[i]), "curator key is a valid point");
        if (i)
            FUZZ_CHECK(memcmp(p->curators[i - 1], p->curators[i], 32) < 0,
                       "curators sorted and unique");
    }
    for (size_t i = 0; i < p->n_validators; i++) {
        const sb_validator *v = &p->validators[i];
        FUZZ_CHECK(v->power > 0, "validator power");
        if (i)
            FUZZ_CHECK(memcmp(p->validators[i - 1].pubkey, v->pubkey, 32) < 0,
                       "validators sorted and unique");
        if (!v->has_vote_key)
            continue;
        FUZZ_CHECK(sb_ed25519_point_ok(v->vote_key), "vote key is a valid point");
        for (size_t j = 0; j < p->n_validators; j++) {
            FUZZ_CHECK(memcmp(p->validators[j].pubkey, v->vote_key, 32) != 0,
                       "vote key equals a consensus key");
            FUZZ_CHECK(j == i || !p->validators[j].has_vote_key ||
                           memcmp(p->validators[j].vote_key, v->vote_key, 32) != 0,
                       "vote key used twice");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_params p;
    char err[512];
    memset(err, 'x', sizeof(err));
    int rc = sb_params_from_genesis((const char *)data, size, "sleetbubble-fuzz", GENESIS_NS,
                                    g_vals, 3, &p, err, sizeof(err));
    FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL, "error message not terminated");
    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "return value");
        FUZZ_CHECK(zeroed(&p), "rejected genesis left params behind");
        FUZZ_CHECK(strncmp(err, "app_state", 9) == 0 || strncmp(err, "out of memory", 13) == 0,
                   "error does not name the app_state key");
    } else {
        g_accepted++;
        FUZZ_CHECK(strcmp(p.chain_id, "sleetbubble-fuzz") == 0, "chain id copied");
        FUZZ_CHECK(p.n_validators == 3, "validators copied");
        FUZZ_CHECK((__int128)p.epoch_ns >=
                       (__int128)GENESIS_NS - (__int128)p.slot_seconds * 1000000000,
                   "epoch before genesis time - one slot");
        check_params(&p, 1);
        round_trip(&p);
        sb_params_free(&p);
    }

    /* The same bytes as stored params JSON (NUL-terminated copy: the store reads TEXT). */
    char *s = malloc(size + 1);
    FUZZ_CHECK(s != NULL, "out of memory");
    memcpy(s, data, size);
    s[size] = '\0';
    if (sb_params_from_json(s, &p, err, sizeof(err)) == 0) {
        g_stored++;
        check_params(&p, 0);
        round_trip(&p);
        sb_params_free(&p);
    } else {
        FUZZ_CHECK(zeroed(&p), "rejected params left behind");
    }
    free(s);
    return 0;
}

const char *fuzz_replay_summary(void)
{
    static char s[96];
    snprintf(s, sizeof(s), "; %zu genesis and %zu stored params accepted", g_accepted, g_stored);
    return s;
}
