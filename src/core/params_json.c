/* params_json.c — the JSON side of chain parameters: key readers shared with the genesis
 * parser, and the canonical params JSON the store keeps (sb_params_to_json /
 * sb_params_from_json). jansson only parses and prints; every output is ordered explicitly
 * (sorted arrays, JSON_SORT_KEYS), never by hash-table iteration. */
#include "params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ed25519.h"
#include "params-internal.h"

/* Integer key of obj within [lo, hi]; absent leaves *out. 0 / -1. */
int sb_params_get_uint(json_t *obj, const char *prefix, const char *key, uint64_t lo, uint64_t hi,
                       uint64_t *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v))
        return sb_params_fail(err, errlen, "%s%s: must be an integer", prefix, key);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < lo || (uint64_t)x > hi)
        return sb_params_fail(err, errlen,
                              "%s%s: %" JSON_INTEGER_FORMAT " outside [%" PRIu64 ", %" PRIu64 "]",
                              prefix, key, x, lo, hi);
    *out = (uint64_t)x;
    return 0;
}

/* Curators array into out. */
int sb_params_get_curators(json_t *arr, const char *name, sb_params *out, char *err, size_t errlen)
{
    if (!json_is_array(arr))
        return sb_params_fail(err, errlen, "%s: must be an array", name);
    size_t n = json_array_size(arr);
    if (n) {
        out->curators = calloc(n, 32);
        if (!out->curators)
            return sb_params_fail(err, errlen, "%s: out of memory", name);
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || sb_unhex(s, out->curators[i], 32) < 0)
            return sb_params_fail(err, errlen, "%s[%zu]: must be a 64-digit hex pubkey", name, i);
        for (size_t j = 0; j < i; j++)
            if (memcmp(out->curators[j], out->curators[i], 32) == 0)
                return sb_params_fail(err, errlen, "%s[%zu]: listed twice", name, i);
        if (!sb_ed25519_point_ok(out->curators[i]))
            return sb_params_fail(err, errlen,
                                  "%s[%zu]: not a valid ed25519 point (protocol.md §4)", name, i);
        out->n_curators = i + 1;
    }
    return 0;
}

/* vote_keys object applied to out->validators (unsorted is fine: lookup is linear here). */
int sb_params_get_vote_keys(json_t *obj, const char *name, sb_params *out, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj))
        return sb_params_fail(err, errlen, "%s: must be an object", name);
    json_object_foreach(obj, k, v)
    {
        uint8_t vpub[32], key[32];
        const char *s = json_string_value(v);
        if (sb_unhex(k, vpub, 32) < 0)
            return sb_params_fail(err, errlen, "%s: key \"%.80s\" must be a 64-digit hex pubkey",
                                  name, k);
        if (!s || sb_unhex(s, key, 32) < 0)
            return sb_params_fail(err, errlen, "%s.%s: must be a 64-digit hex pubkey", name, k);
        sb_validator *val = NULL;
        for (size_t i = 0; i < out->n_validators; i++)
            if (memcmp(out->validators[i].pubkey, vpub, 32) == 0)
                val = &out->validators[i];
        if (!val)
            return sb_params_fail(err, errlen, "%s.%s: not a validator", name, k);
        if (val->has_vote_key)
            return sb_params_fail(err, errlen, "%s.%s: listed twice", name, k);
        if (!sb_ed25519_point_ok(key))
            return sb_params_fail(err, errlen, "%s.%s: not a valid ed25519 point (protocol.md §4)",
                                  name, k);
        for (size_t i = 0; i < out->n_validators; i++) {
            if (memcmp(out->validators[i].pubkey, key, 32) == 0)
                return sb_params_fail(err, errlen, "%s.%s: vote key equals a consensus key", name,
                                      k);
            if (out->validators[i].has_vote_key &&
                memcmp(out->validators[i].vote_key, key, 32) == 0)
                return sb_params_fail(err, errlen, "%s.%s: vote key used twice", name, k);
        }
        val->has_vote_key = 1;
        memcpy(val->vote_key, key, 32);
    }
    return 0;
}

/* The first (bytewise smallest) key of obj not in known[], or NULL. */
const char *sb_params_unknown_key(json_t *obj, const char *const *known, size_t nknown)
{
    const char *k, *first = NULL;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t i;
        for (i = 0; i < nknown; i++)
            if (strcmp(k, known[i]) == 0)
                break;
        if (i == nknown && (!first || strcmp(k, first) < 0))
            first = k;
    }
    return first;
}

static int set_new(json_t *o, const char *k, json_t *v)
{
    return v ? json_object_set_new(o, k, v) : -1;
}

char *sb_params_to_json(const sb_params *p)
{
    char hex[65], hex2[65], num[32];
    char *s = NULL;
    int bad = 0;
    json_t *o = json_object(), *cur = json_array(), *vk = json_object(), *vals = json_array();
    if (!o || !cur || !vk || !vals) {
        json_decref(cur);
        json_decref(vk);
        json_decref(vals);
        goto done;
    }
    bad |= set_new(o, "curators", cur);
    bad |= set_new(o, "vote_keys", vk);
    bad |= set_new(o, "validators", vals);
    bad |= set_new(o, "chain_id", json_string(p->chain_id ? p->chain_id : ""));
    bad |= set_new(o, "slot_seconds", json_integer((json_int_t)p->slot_seconds));
    bad |= set_new(o, "close_lead_seconds", json_integer((json_int_t)p->close_lead_seconds));
    bad |= set_new(o, "horizon_slots", json_integer((json_int_t)p->horizon_slots));
    snprintf(num, sizeof num, "%" PRId64, p->epoch_ns);
    bad |= set_new(o, "epoch_ns", json_string(num));
    bad |= set_new(o, "max_tracks", json_integer(p->max_tracks));
    bad |= set_new(o, "max_proposals_per_slot", json_integer(p->max_proposals_per_slot));
    bad |= set_new(o, "max_tx_size", json_integer(p->max_tx_size));
    bad |= set_new(o, "open_curation", json_boolean(p->open_curation));
    for (size_t i = 0; i < p->n_curators; i++) {
        sb_hex(p->curators[i], 32, hex);
        bad |= json_array_append_new(cur, json_string(hex));
    }
    for (size_t i = 0; i < p->n_validators; i++) {
        const sb_validator *v = &p->validators[i];
        json_t *e = json_object();
        sb_hex(v->pubkey, 32, hex);
        snprintf(num, sizeof num, "%" PRId64, v->power);
        if (!e) {
            bad = 1;
            break;
        }
        bad |= set_new(e, "pub_key", json_string(hex));
        bad |= set_new(e, "power", json_string(num));
        bad |= json_array_append_new(vals, e);
        if (v->has_vote_key) {
            sb_hex(v->vote_key, 32, hex2);
            bad |= set_new(vk, hex, json_string(hex2));
        }
    }
    if (!bad)
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
done:
    json_decref(o);
    return s;
}

static const char PJ[] = "params.";

/* json as an object holding exactly the keys of sb_params_to_json into *root (caller
 * decrefs). 0 / -1. */
static int load_params(const char *json, json_t **root, char *err, size_t errlen)
{
    static const char *const known[] = { "chain_id",
                                         "slot_seconds",
                                         "close_lead_seconds",
                                         "horizon_slots",
                                         "epoch_ns",
                                         "max_tracks",
                                         "max_proposals_per_slot",
                                         "max_tx_size",
                                         "open_curation",
                                         "curators",
                                         "vote_keys",
                                         "validators" };
    const size_t nknown = sizeof known / sizeof known[0];
    json_error_t jerr;
    *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &jerr);
    if (!*root || !json_is_object(*root))
        return sb_params_fail(err, errlen, "params: not a JSON object");
    const char *bad = sb_params_unknown_key(*root, known, nknown);
    if (bad)
        return sb_params_fail(err, errlen, "params.%.80s: unknown key", bad);
    for (size_t i = 0; i < nknown; i++)
        if (!json_object_get(*root, known[i]))
            return sb_params_fail(err, errlen, "params.%s: missing", known[i]);
    return 0;
}

/* "epoch_ns": a decimal string within int64 into out->epoch_ns. 0 / -1. */
static int json_epoch_ns(json_t *root, sb_params *out, char *err, size_t errlen)
{
    const char *ep = json_string_value(json_object_get(root, "epoch_ns"));
    char *end = NULL;
    if (!ep || !*ep)
        return sb_params_fail(err, errlen, "params.epoch_ns: must be a decimal string");
    errno = 0;
    long long e = strtoll(ep, &end, 10);
    if (errno || *end || (ep[0] != '-' && (ep[0] < '0' || ep[0] > '9')))
        return sb_params_fail(err, errlen,
                              "params.epoch_ns: must be a decimal string within int64");
    out->epoch_ns = e;
    return 0;
}

/* The numeric keys (the epoch included) into out, in the order their errors are reported.
 * 0 / -1. */
static int json_numbers(json_t *root, sb_params *out, char *err, size_t errlen)
{
    uint64_t v = 0; /* always set by sb_params_get_uint before use; -O3 cannot see it */
    if (sb_params_get_uint(root, PJ, "slot_seconds", 1, SB_MAX_SLOT_SECONDS, &out->slot_seconds,
                           err, errlen) < 0 ||
        sb_params_get_uint(root, PJ, "close_lead_seconds", 1, out->slot_seconds - 1,
                           &out->close_lead_seconds, err, errlen) < 0 ||
        sb_params_get_uint(root, PJ, "horizon_slots", 0, SB_MAX_HORIZON_SLOTS, &out->horizon_slots,
                           err, errlen) < 0)
        return -1;
    if (json_epoch_ns(root, out, err, errlen) < 0)
        return -1;
    if (sb_params_get_uint(root, PJ, "max_tracks", 1, SB_MAX_TRACKS_LIMIT, &v, err, errlen) < 0)
        return -1;
    out->max_tracks = (uint32_t)v;
    if (sb_params_get_uint(root, PJ, "max_proposals_per_slot", 1, UINT32_MAX, &v, err, errlen) < 0)
        return -1;
    out->max_proposals_per_slot = (uint32_t)v;
    if (sb_params_get_uint(root, PJ, "max_tx_size", 1, SB_MAX_TX_SIZE_LIMIT, &v, err, errlen) < 0)
        return -1;
    out->max_tx_size = (uint32_t)v;
    return 0;
}

/* "validators": [{"pub_key": hex, "power": "N"}] into out->validators (allocated here; an
 * allocation failure returns -1 with err untouched). 0 / -1. */
static int json_validators(json_t *root, sb_params *out, char *err, size_t errlen)
{
    json_t *vals = json_object_get(root, "validators");
    if (!json_is_array(vals))
        return sb_params_fail(err, errlen, "params.validators: must be an array");
    size_t nv = json_array_size(vals);
    if (nv) {
        out->validators = calloc(nv, sizeof *out->validators);
        if (!out->validators)
            return -1;
    }
    for (size_t i = 0; i < nv; i++) {
        json_t *e = json_array_get(vals, i);
        const char *pk = json_string_value(json_object_get(e, "pub_key"));
        const char *pw = json_string_value(json_object_get(e, "power"));
        char *end = NULL;
        if (!json_is_object(e) || json_object_size(e) != 2 || !pk ||
            sb_unhex(pk, out->validators[i].pubkey, 32) < 0 || !pw || pw[0] < '0' || pw[0] > '9')
            return sb_params_fail(
                err, errlen, "params.validators[%zu]: must be {\"pub_key\": hex, \"power\": \"N\"}",
                i);
        errno = 0;
        long long pwv = strtoll(pw, &end, 10);
        if (errno || *end)
            return sb_params_fail(err, errlen, "params.validators[%zu].power: not an int64", i);
        out->validators[i].power = pwv;
        out->n_validators = i + 1;
    }
    return 0;
}

int sb_params_from_json(const char *json, sb_params *out, char *err, size_t errlen)
{
    int rc = -1;
    json_t *root = NULL;
    memset(out, 0, sizeof *out);
    if (load_params(json, &root, err, errlen) < 0)
        goto done;
    const char *cid = json_string_value(json_object_get(root, "chain_id"));
    if (sb_params_check_chain_id(cid, err, errlen) < 0)
        goto done;
    out->chain_id = strdup(cid);
    if (!out->chain_id)
        goto done;
    if (json_numbers(root, out, err, errlen) < 0)
        goto done;
    json_t *oc = json_object_get(root, "open_curation");
    if (!json_is_boolean(oc)) {
        sb_params_fail(err, errlen, "params.open_curation: must be true or false");
        goto done;
    }
    out->open_curation = json_is_true(oc);
    if (sb_params_get_curators(json_object_get(root, "curators"), "params.curators", out, err,
                               errlen) < 0)
        goto done;
    if (json_validators(root, out, err, errlen) < 0)
        goto done;
    if (sb_params_get_vote_keys(json_object_get(root, "vote_keys"), "params.vote_keys", out, err,
                                errlen) < 0)
        goto done;
    if (sb_params_check_sets(out, err, errlen) < 0)
        goto done;
    rc = 0;
done:
    if (rc < 0 && err && errlen && !err[0])
        sb_params_fail(err, errlen, "params: out of memory");
    json_decref(root);
    if (rc < 0)
        sb_params_free(out);
    return rc;
}
