/* sb_hash-internal.h — SHA-256 over several byte ranges (internal to src/core). */
#ifndef SB_HASH_INTERNAL_H
#define SB_HASH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of the concatenation of nparts ranges: variadic (const void *p, size_t len) pairs.
 * Aborts the process only if OpenSSL cannot allocate a digest context (never returns
 * a wrong hash). */
void sb_sha256v(uint8_t out[32], size_t nparts, ...);

#endif
