/* params_genesis.c — chain parameters from genesis app_state (protocol.md §9): defaults,
 * ranges, the epoch, curation and vote keys. Pure. */
#include "params.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "params-internal.h"
#include "sb_time.h"

static const char P[] = "app_state.";

/* app_state_json[0..len) as a JSON object with only known keys into *root (caller decrefs);
 * empty input or "null" counts as {}. 0 / -1. */
static int load_app_state(const char *app_state_json, size_t len, json_t **root, char *err,
                          size_t errlen)
{
    static const char *const known[] = { "slot_seconds",  "close_lead_seconds",
                                         "horizon_slots", "epoch",
                                         "max_tracks",    "max_proposals_per_slot",
                                         "max_tx_size",   "curators",
                                         "open_curation", "vote_keys" };
    json_error_t jerr;
    size_t ws = 0;
    while (ws < len && (app_state_json[ws] == ' ' || app_state_json[ws] == '\n' ||
                        app_state_json[ws] == '\r' || app_state_json[ws] == '\t'))
        ws++;
    if (ws == len || (len - ws == 4 && memcmp(app_state_json + ws, "null", 4) == 0)) {
        *root = json_object();
    } else {
        *root = json_loadb(app_state_json, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!*root)
            return sb_params_fail(err, errlen, "app_state: invalid JSON at line %d column %d: %s",
                                  jerr.line, jerr.column, jerr.text);
    }
    if (!*root || !json_is_object(*root))
        return sb_params_fail(err, errlen, "app_state: must be a JSON object");
    const char *bad = sb_params_unknown_key(*root, known, sizeof known / sizeof known[0]);
    if (bad)
        return sb_params_fail(err, errlen, "app_state.%.80s: unknown key", bad);
    return 0;
}

/* The optional "epoch" key (protocol.md §9): RFC 3339, not earlier than genesis time minus
 * one slot. Absent leaves out->epoch_ns. 0 / -1. */
static int genesis_epoch(json_t *root, int64_t genesis_time_ns, sb_params *out, char *err,
                         size_t errlen)
{
    json_t *ep = json_object_get(root, "epoch");
    if (!ep)
        return 0;
    const char *s = json_string_value(ep);
    if (!s || sb_parse_rfc3339_ns(s, &out->epoch_ns) < 0)
        return sb_params_fail(err, errlen,
                              "app_state.epoch: must be RFC 3339 "
                              "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM) within int64 ns");
    __int128 min = (__int128)genesis_time_ns - (__int128)out->slot_seconds * 1000000000;
    if ((__int128)out->epoch_ns < min)
        return sb_params_fail(err, errlen,
                              "app_state.epoch: %s is earlier than genesis time - slot_seconds", s);
    return 0;
}

/* A uint32 key of root within [lo, hi] into *field (absent leaves it). 0 / -1. */
static int get_u32(json_t *root, const char *key, uint64_t lo, uint64_t hi, uint32_t *field,
                   char *err, size_t errlen)
{
    uint64_t v = *field;
    if (sb_params_get_uint(root, P, key, lo, hi, &v, err, errlen) < 0)
        return -1;
    *field = (uint32_t)v;
    return 0;
}

/* The numeric keys and the epoch of protocol.md §9 over the defaults in *out, in the order
 * their errors are reported. 0 / -1. */
static int genesis_numbers(json_t *root, int64_t genesis_time_ns, sb_params *out, char *err,
                           size_t errlen)
{
    out->slot_seconds = SB_DEFAULT_SLOT_SECONDS;
    out->close_lead_seconds = SB_DEFAULT_CLOSE_LEAD_SECONDS;
    out->horizon_slots = SB_DEFAULT_HORIZON_SLOTS;
    out->epoch_ns = genesis_time_ns;
    out->max_tracks = SB_DEFAULT_MAX_TRACKS;
    out->max_proposals_per_slot = SB_DEFAULT_MAX_PROPOSALS_PER_SLOT;
    out->max_tx_size = SB_DEFAULT_MAX_TX_SIZE;

    if (sb_params_get_uint(root, P, "slot_seconds", 1, SB_MAX_SLOT_SECONDS, &out->slot_seconds, err,
                           errlen) < 0)
        return -1;
    if (sb_params_get_uint(root, P, "close_lead_seconds", 0, UINT64_MAX, &out->close_lead_seconds,
                           err, errlen) < 0)
        return -1;
    if (out->close_lead_seconds == 0 || out->close_lead_seconds >= out->slot_seconds)
        return sb_params_fail(err, errlen,
                              "app_state.close_lead_seconds: %" PRIu64
                              " must be > 0 and < slot_seconds %" PRIu64,
                              out->close_lead_seconds, out->slot_seconds);
    if (sb_params_get_uint(root, P, "horizon_slots", 0, SB_MAX_HORIZON_SLOTS, &out->horizon_slots,
                           err, errlen) < 0)
        return -1;
    if (genesis_epoch(root, genesis_time_ns, out, err, errlen) < 0)
        return -1;
    if (get_u32(root, "max_tracks", 1, SB_MAX_TRACKS_LIMIT, &out->max_tracks, err, errlen) < 0 ||
        get_u32(root, "max_proposals_per_slot", 1, UINT32_MAX, &out->max_proposals_per_slot, err,
                errlen) < 0 ||
        get_u32(root, "max_tx_size", 1, SB_MAX_TX_SIZE_LIMIT, &out->max_tx_size, err, errlen) < 0)
        return -1;
    return 0;
}

/* curators and open_curation (protocol.md §9): an empty list needs open curation. 0 / -1. */
static int genesis_curation(json_t *root, sb_params *out, char *err, size_t errlen)
{
    json_t *cur = json_object_get(root, "curators");
    if (cur && sb_params_get_curators(cur, "app_state.curators", out, err, errlen) < 0)
        return -1;
    json_t *oc = json_object_get(root, "open_curation");
    if (oc) {
        if (!json_is_boolean(oc))
            return sb_params_fail(err, errlen, "app_state.open_curation: must be true or false");
        out->open_curation = json_is_true(oc);
    }
    if (out->n_curators == 0 && !out->open_curation)
        return sb_params_fail(err, errlen,
                              "app_state.curators: empty list requires \"open_curation\": true");
    return 0;
}

/* Copy InitChain's validators vals[0..n_vals) into out (unsorted; sb_params_check_sets sorts).
 * 0 / -1. */
static int copy_validators(const sb_validator *vals, size_t n_vals, sb_params *out, char *err,
                           size_t errlen)
{
    if (!n_vals)
        return 0;
    out->validators = calloc(n_vals, sizeof *out->validators);
    if (!out->validators)
        return sb_params_fail(err, errlen, "out of memory");
    for (size_t i = 0; i < n_vals; i++) {
        memcpy(out->validators[i].pubkey, vals[i].pubkey, 32);
        out->validators[i].power = vals[i].power;
    }
    out->n_validators = n_vals;
    return 0;
}

int sb_params_from_genesis(const char *app_state_json, size_t len, const char *chain_id,
                           int64_t genesis_time_ns, const sb_validator *vals, size_t n_vals,
                           sb_params *out, char *err, size_t errlen)
{
    int rc = -1;
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    if (err && errlen)
        err[0] = '\0';

    if (load_app_state(app_state_json, len, &root, err, errlen) < 0)
        goto done;
    if (sb_params_check_chain_id(chain_id, err, errlen) < 0)
        goto done;
    out->chain_id = strdup(chain_id);
    if (!out->chain_id) {
        sb_params_fail(err, errlen, "out of memory");
        goto done;
    }
    if (genesis_numbers(root, genesis_time_ns, out, err, errlen) < 0)
        goto done;
    if (genesis_curation(root, out, err, errlen) < 0)
        goto done;
    if (copy_validators(vals, n_vals, out, err, errlen) < 0)
        goto done;
    json_t *vk = json_object_get(root, "vote_keys");
    if (vk && sb_params_get_vote_keys(vk, "app_state.vote_keys", out, err, errlen) < 0)
        goto done;
    if (sb_params_check_sets(out, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    json_decref(root);
    if (rc < 0)
        sb_params_free(out);
    return rc;
}
