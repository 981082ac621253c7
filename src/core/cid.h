/* cid.h — content identifiers: track CIDs (protocol.md §4) and the manifest CID (protocol.md §6). */
#ifndef SB_CID_H
#define SB_CID_H

#include <stddef.h>
#include <stdint.h>

/* Largest binary CID we handle (v1: 1 + 2 + 1 + 1 + 32 = 37 bytes) and largest string
 * (incl. NUL; a 37-byte v1 is 1 + 60 base32 characters). */
#define SB_CID_BIN_MAX 40
#define SB_CID_STR_MAX 72

/* Parse a track CID string s[0..n) (need not be NUL-terminated) per protocol.md §4:
 *  - CIDv0: 46 base58btc characters decoding to 0x12 0x20 || 32 bytes ("Qm...");
 *  - CIDv1: 'b' + RFC 4648 base32 lowercase, no padding, of 0x01 || codec || 0x12 0x20 ||
 *    32 bytes with codec raw (0x55) or dag-pb (0x70), nothing after;
 *  and re-encoding the bytes must give s exactly (no non-zero trailing bits, no uppercase).
 * bin must hold SB_CID_BIN_MAX bytes; *binlen gets 34 (v0) or 36 (v1). 0 / -1. */
int sb_cid_parse(const char *s, size_t n, uint8_t *bin, size_t *binlen);

/* String form of a binary CID: a v0 (34 bytes, 0x12 0x20 ...) in base58btc, anything
 * starting 0x01 as 'b' + base32 lower. Writes a NUL-terminated string into out[outlen]
 * (SB_CID_STR_MAX always suffices for n <= SB_CID_BIN_MAX). 0, or -1 on bad input or a
 * too-small out. */
int sb_cid_to_string(const uint8_t *bin, size_t n, char *out, size_t outlen);

/* CIDv1, codec dag-json (0x0129), sha2-256 of data[0..n): 01 a9 02 12 20 || digest,
 * 37 bytes into bin (the manifest_cid of protocol.md §6; string form starts "baguqeera"). */
void sb_cid_dagjson(const uint8_t *data, size_t n, uint8_t bin[37]);

/* Parse a manifest CID string (NUL-terminated): 'b' + base32 lower of exactly the 37 bytes
 * sb_cid_dagjson makes (01 a9 02 12 20 || digest), re-encoding to the same string (protocol.md §6).
 * Writes bin; 0, or -1 for anything else. */
int sb_cid_parse_manifest(const char *s, uint8_t bin[37]);

#endif
