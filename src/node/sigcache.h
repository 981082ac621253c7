/* sigcache.h - node-local signature cache and the signature facts of the CheckTx stage
 * (protocol.md §4 signatures, §4.1).
 *
 * The cache remembers results of Ed25519 verifications that were actually done
 * (sb_ed25519_verify, point checks included), keyed by SHA-256(pub ‖ msg ‖ sig): pub and sig
 * have fixed sizes (32, 64 bytes), so the key names exactly one verification. A hit only says
 * "this exact verification returned true/false before"; the verification is a pure function
 * of its inputs, so codes, verdicts and app hashes are the same with the cache on, off or cold.
 * Nothing of it enters consensus state. Bounded: a fixed number of entries, 16-way sets,
 * round-robin replacement within a set. Thread-safe (striped mutexes): stage workers and
 * parallel-map workers fill it while the loop thread reads it.
 *
 * Facts: what the CheckTx stage and the block paths' parallel map compute for one tx off the
 * loop thread - whether it decodes canonically and the result of verifying its signature
 * against the key the SIGNATURE stage will ask for. Facts are never verdicts: codes and their
 * order come only from sb_tx_check_v on the loop thread, whose verifier (sb_sig_oracle_verify)
 * consults the facts, then the cache, and verifies what neither holds.
 */
#ifndef SB_NODE_SIGCACHE_H
#define SB_NODE_SIGCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"

typedef struct sb_sigcache sb_sigcache;

/* A cache of about `entries` results (rounded up to a power of two, at least 16). entries 0 =
 * no cache: returns NULL, and every function below treats a NULL cache as always empty.
 * Returns NULL also on out-of-memory (*oom set to 1 then, if oom is not NULL). */
sb_sigcache *sb_sigcache_new(size_t entries, int *oom);
void sb_sigcache_free(sb_sigcache *c);
/* Entries the cache holds at most (0 for NULL). */
size_t sb_sigcache_capacity(const sb_sigcache *c);
/* Forget every entry (a cold cache). */
void sb_sigcache_clear(sb_sigcache *c);

/* key = SHA-256(pub[32] ‖ msg[0..len) ‖ sig[64]). */
void sb_sigcache_key(uint8_t key[32], const uint8_t pub[32], const uint8_t *msg, size_t len,
                     const uint8_t sig[64]);
/* The remembered result of the verification named by key: 1 valid, 0 invalid, -1 unknown. */
int sb_sigcache_get(sb_sigcache *c, const uint8_t key[32]);
/* Remember the result (ok 1/0) of a verification just done. */
void sb_sigcache_put(sb_sigcache *c, const uint8_t key[32], int ok);
/* sb_ed25519_verify(pub, msg, len, sig), answered from the cache when it holds key (the
 * caller computed it with sb_sigcache_key) and remembered otherwise. 1 / 0. */
int sb_sigcache_verify(sb_sigcache *c, const uint8_t key[32], const uint8_t pub[32],
                       const uint8_t *msg, size_t len, const uint8_t sig[64]);

/* Counters since start (all threads; for tests, metrics and benchmarks, never consensus). */
typedef struct sb_sigcache_stats {
    uint64_t hits, misses; /* lookups of c answered / not answered (c non-NULL only) */
    uint64_t verifies;     /* Ed25519 verifications done through this file, any cache */
} sb_sigcache_stats;
void sb_sigcache_stats_get(const sb_sigcache *c, sb_sigcache_stats *out);

/* Facts about one tx (see the top of this file). */
typedef struct sb_sig_facts {
    int decoded;     /* 1: the tx passed the ENCODING stage of protocol.md §4 */
    int verified;    /* 1: key and ok below hold the SIGNATURE stage's verification */
    uint8_t key[32]; /* sb_sigcache_key of that verification */
    int ok;          /* its result, 1 valid / 0 invalid */
} sb_sig_facts;

/* Fill *f for tx bytes[0..len) under params p (read only), verifying through cache c (may be
 * NULL). Safe on any thread while p is not modified. 0, or -1 out of memory (f zeroed: no
 * facts, the loop thread then does the work itself). */
int sb_sig_facts_compute(const sb_params *p, sb_sigcache *c, const uint8_t *bytes, size_t len,
                         sb_sig_facts *f);

/* The verifier sb_tx_check_v uses on the loop thread (arg: sb_sig_oracle *): the facts if they
 * name this verification, else the cache, else a verification (remembered in the cache). */
typedef struct sb_sig_oracle {
    sb_sigcache *cache;        /* may be NULL */
    const sb_sig_facts *facts; /* may be NULL */
} sb_sig_oracle;
int sb_sig_oracle_verify(void *arg, const uint8_t pub[32], const uint8_t *msg, size_t len,
                         const uint8_t sig[64]);

#endif
