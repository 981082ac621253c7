/* params.c — chain parameters (protocol.md §3, §9): ownership, lookups and the set rules shared
 * by the genesis parser (params_genesis.c) and the stored JSON (params_json.c). The P
 * encoding of protocol.md §7 is in params_encode.c. Pure. */
#include "params.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ed25519.h"
#include "params-internal.h"
#include "sb_string.h"

int sb_params_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static int cmp_validator(const void *a, const void *b)
{
    return memcmp(((const sb_validator *)a)->pubkey, ((const sb_validator *)b)->pubkey, 32);
}

void sb_params_free(sb_params *p)
{
    if (!p)
        return;
    free(p->chain_id);
    free(p->curators);
    free(p->validators);
    memset(p, 0, sizeof *p);
}

const sb_validator *sb_params_validator(const sb_params *p, const uint8_t pub[32])
{
    sb_validator key;
    if (!p || !p->n_validators)
        return NULL;
    memcpy(key.pubkey, pub, 32);
    return bsearch(&key, p->validators, p->n_validators, sizeof *p->validators, cmp_validator);
}

int sb_params_is_curator(const sb_params *p, const uint8_t pub[32])
{
    if (!p || !p->n_curators)
        return 0;
    return bsearch(pub, p->curators, p->n_curators, 32, cmp32) != NULL;
}

uint64_t sb_params_total_power(const sb_params *p)
{
    uint64_t t = 0;
    for (size_t i = 0; i < p->n_validators; i++)
        t += (uint64_t)p->validators[i].power;
    return t;
}

/* Sort and check curators, vote keys and validators of a filled *out. */
int sb_params_check_sets(sb_params *out, char *err, size_t errlen)
{
    char hex[65];
    if (out->n_curators > 1)
        qsort(out->curators, out->n_curators, 32, cmp32);
    for (size_t i = 1; i < out->n_curators; i++) {
        if (memcmp(out->curators[i - 1], out->curators[i], 32) == 0) {
            sb_hex(out->curators[i], 32, hex);
            return sb_params_fail(err, errlen, "app_state.curators: %s listed twice", hex);
        }
    }
    if (out->n_validators > 1)
        qsort(out->validators, out->n_validators, sizeof *out->validators, cmp_validator);
    __int128 total = 0;
    for (size_t i = 0; i < out->n_validators; i++) {
        const sb_validator *v = &out->validators[i];
        sb_hex(v->pubkey, 32, hex);
        if (i > 0 && memcmp(out->validators[i - 1].pubkey, v->pubkey, 32) == 0)
            return sb_params_fail(err, errlen, "validators: %s listed twice", hex);
        if (!sb_ed25519_point_ok(v->pubkey))
            return sb_params_fail(
                err, errlen, "validators: %s is not a valid ed25519 point (protocol.md §4)", hex);
        if (v->power <= 0)
            return sb_params_fail(err, errlen, "validators: %s power %" PRId64 " must be > 0", hex,
                                  v->power);
        total += v->power;
        if (total > INT64_MAX)
            return sb_params_fail(err, errlen, "validators: total power exceeds %" PRId64,
                                  INT64_MAX);
    }
    for (size_t i = 0; i < out->n_validators; i++) {
        const sb_validator *v = &out->validators[i];
        if (!v->has_vote_key)
            continue;
        sb_hex(v->pubkey, 32, hex);
        if (!sb_ed25519_point_ok(v->vote_key))
            return sb_params_fail(
                err, errlen, "app_state.vote_keys.%s: not a valid ed25519 point (protocol.md §4)",
                hex);
        if (sb_params_validator(out, v->vote_key))
            return sb_params_fail(err, errlen,
                                  "app_state.vote_keys.%s: vote key equals a consensus key", hex);
        for (size_t j = 0; j < i; j++) {
            if (out->validators[j].has_vote_key &&
                memcmp(out->validators[j].vote_key, v->vote_key, 32) == 0)
                return sb_params_fail(err, errlen, "app_state.vote_keys.%s: vote key used twice",
                                      hex);
        }
    }
    for (size_t i = 0; i < out->n_curators; i++) {
        if (!sb_ed25519_point_ok(out->curators[i])) {
            sb_hex(out->curators[i], 32, hex);
            return sb_params_fail(
                err, errlen, "app_state.curators: %s is not a valid ed25519 point (protocol.md §4)",
                hex);
        }
    }
    return 0;
}

int sb_params_check_chain_id(const char *chain_id, char *err, size_t errlen)
{
    size_t n = chain_id ? strlen(chain_id) : 0;
    if (n == 0 || n > SB_CHAIN_ID_MAX || !sb_string_ok(chain_id, n))
        return sb_params_fail(err, errlen, "chain_id: must be 1..%d bytes of printable UTF-8",
                              SB_CHAIN_ID_MAX);
    return 0;
}
