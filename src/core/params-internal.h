/* params-internal.h — helpers shared by the params units (params.c, params_genesis.c,
 * params_json.c); not part of the public API. Every helper that fails writes a NUL-terminated
 * message naming the key into err[errlen] (err may be NULL) and returns -1. */
#ifndef SB_PARAMS_INTERNAL_H
#define SB_PARAMS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "params.h"

#define SB_CHAIN_ID_MAX 50 /* CometBFT's MaxChainIDLen */

/* Format a message into err[errlen] (if err) and return -1. */
__attribute__((format(printf, 3, 4))) int sb_params_fail(char *err, size_t errlen, const char *fmt,
                                                         ...);

/* Sort curators and validators of a filled *out and check them (protocol.md §9): no
 * duplicates, valid ed25519 points (protocol.md §4), powers > 0 summing within int64, vote
 * keys distinct from each other and from consensus keys. 0 / -1. */
int sb_params_check_sets(sb_params *out, char *err, size_t errlen);

/* chain_id: 1..SB_CHAIN_ID_MAX bytes of protocol.md §4 strings. 0 / -1. */
int sb_params_check_chain_id(const char *chain_id, char *err, size_t errlen);

/* Integer key of obj within [lo, hi] into *out; an absent key leaves *out. Messages name
 * prefix key. 0 / -1. */
int sb_params_get_uint(json_t *obj, const char *prefix, const char *key, uint64_t lo, uint64_t hi,
                       uint64_t *out, char *err, size_t errlen);

/* The curators array arr (hex pubkeys, distinct, valid points) into out->curators
 * (allocated here, owned by out). Messages name `name`. 0 / -1. */
int sb_params_get_curators(json_t *arr, const char *name, sb_params *out, char *err, size_t errlen);

/* The vote_keys object {validator hex: vote key hex} applied to out->validators (which may be
 * unsorted). Messages name `name`. 0 / -1. */
int sb_params_get_vote_keys(json_t *obj, const char *name, sb_params *out, char *err,
                            size_t errlen);

/* The first (bytewise smallest) key of obj not in known[0..nknown), or NULL. Borrowed from
 * obj. Order-independent (no hash-table order leaks into the message). */
const char *sb_params_unknown_key(json_t *obj, const char *const *known, size_t nknown);

#endif
