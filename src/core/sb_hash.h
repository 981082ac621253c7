/* sb_hash.h — SHA-256 over several byte ranges: the one SHA-256 helper of the core, the node
 * (signature cache keys, the agent's journal) and the tools. Thread-safe. */
#ifndef SB_HASH_H
#define SB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of the concatenation of nparts ranges: variadic (const void *p, size_t len) pairs.
 * Aborts the process only if OpenSSL cannot allocate a digest context (never returns
 * a wrong hash). */
void sb_sha256v(uint8_t out[32], size_t nparts, ...);

#endif
