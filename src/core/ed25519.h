/* ed25519.h — Ed25519 (RFC 8032 pure) on OpenSSL EVP, with the point checks of protocol.md §4:
 * non-canonical encodings (y >= p, or x = 0 with the sign bit set) and the 8 small-order
 * points are rejected for public keys A and signature points R before OpenSSL is called.
 * All keys are 32 raw bytes, signatures 64 raw bytes, seeds the 32-byte RFC 8032 secret. */
#ifndef SB_ED25519_H
#define SB_ED25519_H

#include <stddef.h>
#include <stdint.h>

/* 1 iff p is a canonical point encoding (y < p; not x = 0 with the sign bit set) and not
 * one of the 8 small-order points; 0 otherwise. Does not check that the point is on the
 * curve (OpenSSL does that at verify). protocol.md §4, §9. */
int sb_ed25519_point_ok(const uint8_t p[32]);

/* Verify sig over msg[0..len) with pub. 1 valid; 0 invalid, including pub or sig's R
 * failing sb_ed25519_point_ok, s >= l, or any OpenSSL failure. Deterministic. */
int sb_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64]);

/* Public key of a 32-byte seed. 0 / -1. */
int sb_ed25519_pubkey(const uint8_t seed[32], uint8_t pub[32]);

/* Sign msg[0..len) with the key of seed (deterministic per RFC 8032). 0 / -1. */
int sb_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64]);

#endif
