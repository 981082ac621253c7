/* ed25519.c — Ed25519 over OpenSSL EVP with the point checks of protocol.md §4.
 *
 * Encodings are 32 bytes little-endian: y in bits 0..254, the sign of x in bit 255.
 * Rejected before OpenSSL sees them (OpenSSL 3 accepts small-order public keys):
 *  - non-canonical y: y >= p = 2^255 - 19 (the 19 values p .. 2^255-1);
 *  - x = 0 written with the sign bit set (y = 1 or y = p-1 with bit 255 set);
 *  - the 8 small-order points. Their y coordinates are exactly 1 (identity), p-1 (order 2),
 *    0 (order 4, x = ±sqrt(-1)) and ±y8 (order 8), where y8 solves d·y^4 + 2·y^2 - 1 = 0
 *    (the condition for 2P to have y = 0); both signs of x are small order for each y. */
#include "ed25519.h"

#include <string.h>

#include <openssl/evp.h>

/* Canonical little-endian y values of the small-order points (sign bit clear). */
static const uint8_t small_order_y[5][32] = {
    /* 0: order 4 */
    { 0 },
    /* 1: identity */
    { 0x01 },
    /* p-1: order 2 */
    { 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
    /* y8: order 8 */
    { 0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
      0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
      0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05 },
    /* p-y8: order 8 */
    { 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
      0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
      0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a },
};

/* 1 iff the 255-bit y of p is >= 2^255 - 19. */
static int y_noncanonical(const uint8_t p[32])
{
    if ((p[31] & 0x7f) != 0x7f)
        return 0;
    for (int i = 30; i >= 1; i--)
        if (p[i] != 0xff)
            return 0;
    return p[0] >= 0xed;
}

int sb_ed25519_point_ok(const uint8_t p[32])
{
    uint8_t y[32];
    if (y_noncanonical(p))
        return 0;
    memcpy(y, p, 32);
    y[31] &= 0x7f;
    for (size_t i = 0; i < 5; i++) {
        if (memcmp(y, small_order_y[i], 32) == 0)
            return 0;
    }
    /* x = 0 happens only for y = ±1: rejected above whatever the sign bit says. */
    return 1;
}

int sb_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    int ok = 0;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    if (!sb_ed25519_point_ok(pub) || !sb_ed25519_point_ok(sig))
        return 0;
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (!key)
        goto done;
    md = EVP_MD_CTX_new();
    if (!md)
        goto done;
    if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1)
        goto done;
    ok = EVP_DigestVerify(md, sig, 64, msg ? msg : (const uint8_t *)"", len) == 1;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return ok;
}

int sb_ed25519_pubkey(const uint8_t seed[32], uint8_t pub[32])
{
    int rc = -1;
    size_t n = 32;
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!key)
        goto done;
    if (EVP_PKEY_get_raw_public_key(key, pub, &n) != 1 || n != 32)
        goto done;
    rc = 0;
done:
    EVP_PKEY_free(key);
    return rc;
}

int sb_ed25519_sign(const uint8_t seed[32], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    int rc = -1;
    size_t n = 64;
    EVP_MD_CTX *md = NULL;
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!key)
        goto done;
    md = EVP_MD_CTX_new();
    if (!md)
        goto done;
    if (EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1)
        goto done;
    if (EVP_DigestSign(md, sig, &n, msg ? msg : (const uint8_t *)"", len) != 1 || n != 64)
        goto done;
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return rc;
}
