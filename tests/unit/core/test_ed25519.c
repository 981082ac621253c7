/* test_ed25519.c — RFC 8032 vectors and the point checks of protocol.md §4 (small-order and
 * non-canonical encodings, the edge cases studied in "Taming the many EdDSAs"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "ed25519.h"
#include "sb_buf.h"

static void h(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(sb_unhex(hex, out, n), 0);
}

/* RFC 8032 §7.1 TEST 1, 2, 3: secret key, public key, message, signature. */
static const char *const rfc[3][4] = {
    { "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf"
      "9b46bd25bf5f0595bbe24655141438e7a100b" },
    { "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f"
      "11d8c387b2eaeb4302aeeb00d291612bb0c00" },
    { "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984"
      "dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void rfc8032_vectors_1_to_3_sign_and_verify(void **state)
{
    for (int i = 0; i < 3; i++) {
        uint8_t seed[32], pub[32], want_pub[32], sig[64], want_sig[64], msg[2];
        size_t mlen = strlen(rfc[i][2]) / 2;
        h(rfc[i][0], seed, 32);
        h(rfc[i][1], want_pub, 32);
        h(rfc[i][3], want_sig, 64);
        if (mlen)
            h(rfc[i][2], msg, mlen);
        assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
        assert_memory_equal(pub, want_pub, 32);
        assert_int_equal(sb_ed25519_sign(seed, msg, mlen, sig), 0);
        assert_memory_equal(sig, want_sig, 64);
        assert_int_equal(sb_ed25519_verify(pub, msg, mlen, sig), 1);
        assert_int_equal(sb_ed25519_point_ok(pub), 1);
        /* a changed message or signature fails */
        uint8_t m2[3] = { 0x01, 0x02, 0x03 };
        assert_int_equal(sb_ed25519_verify(pub, m2, 3, sig), 0);
        sig[40] ^= 1;
        assert_int_equal(sb_ed25519_verify(pub, msg, mlen, sig), 0);
    }
}

/* Little-endian encodings of the order-8 y coordinate and p. */
#define Y8_HEX "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
#define NEG_Y8_HEX "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"

static BIGNUM *le_bn(const uint8_t le[32])
{
    uint8_t be[32];
    for (int i = 0; i < 32; i++)
        be[i] = le[31 - i];
    be[0] &= 0x7f;
    return BN_bin2bn(be, 32, NULL);
}

/* y8 and p - y8 solve d·y^4 + 2·y^2 - 1 = 0 (mod p): the points with those y doubled give
 * y = 0 (order 4), so they have order 8. Checked here with BIGNUM rather than trusted. */
static void order8_y_values_really_solve_the_doubling_equation(void **state)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_new(), *d = BN_new(), *t = BN_new(), *u = BN_new();
    assert_non_null(ctx);
    BN_set_bit(p, 255);
    BN_sub_word(p, 19);
    /* d = -121665 / 121666 mod p */
    BN_set_word(t, 121666);
    BN_mod_inverse(u, t, p, ctx);
    BN_set_word(t, 121665);
    BN_mod_mul(d, t, u, p, ctx);
    BN_sub(d, p, d);
    const char *ys[2] = { Y8_HEX, NEG_Y8_HEX };
    for (int i = 0; i < 2; i++) {
        uint8_t le[32];
        h(ys[i], le, 32);
        BIGNUM *y = le_bn(le), *y2 = BN_new(), *acc = BN_new();
        BN_mod_sqr(y2, y, p, ctx);
        BN_mod_sqr(acc, y2, p, ctx);     /* y^4 */
        BN_mod_mul(acc, acc, d, p, ctx); /* d y^4 */
        BN_mod_add(acc, acc, y2, p, ctx);
        BN_mod_add(acc, acc, y2, p, ctx);
        BN_sub_word(acc, 1);
        BN_nnmod(acc, acc, p, ctx);
        assert_true(BN_is_zero(acc));
        BN_free(y);
        BN_free(y2);
        BN_free(acc);
    }
    BN_free(p);
    BN_free(d);
    BN_free(t);
    BN_free(u);
    BN_CTX_free(ctx);
}

static void all_eight_small_order_points_are_rejected(void **state)
{
    uint8_t pt[32];
    /* identity (0, 1) */
    memset(pt, 0, 32);
    pt[0] = 1;
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
    /* (0, -1), order 2: y = p - 1 */
    memset(pt, 0xff, 32);
    pt[0] = 0xec;
    pt[31] = 0x7f;
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
    /* (±sqrt(-1), 0), order 4: both signs */
    memset(pt, 0, 32);
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
    pt[31] = 0x80;
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
    /* order 8: ±y8, both signs of x */
    const char *ys[2] = { Y8_HEX, NEG_Y8_HEX };
    for (int i = 0; i < 2; i++) {
        h(ys[i], pt, 32);
        assert_int_equal(sb_ed25519_point_ok(pt), 0);
        pt[31] |= 0x80;
        assert_int_equal(sb_ed25519_point_ok(pt), 0);
    }
}

static void x_zero_with_sign_bit_set_is_rejected(void **state)
{
    uint8_t pt[32] = { 0x01 };
    pt[31] = 0x80; /* -0 for the identity */
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
    memset(pt, 0xff, 32);
    pt[0] = 0xec; /* y = p - 1 with the sign bit */
    assert_int_equal(sb_ed25519_point_ok(pt), 0);
}

static void non_canonical_y_at_or_above_p_is_rejected(void **state)
{
    /* y = p + k for k = 0..18 (all 255-bit values >= p), with and without the sign bit */
    for (int k = 0; k <= 18; k++) {
        uint8_t pt[32];
        memset(pt, 0xff, 32);
        pt[0] = (uint8_t)(0xed + k);
        pt[31] = 0x7f;
        assert_int_equal(sb_ed25519_point_ok(pt), 0);
        pt[31] = 0xff;
        assert_int_equal(sb_ed25519_point_ok(pt), 0);
    }
    /* y = p - 2 (canonical, largest non-small-order candidate) passes the encoding check */
    uint8_t ok[32];
    memset(ok, 0xff, 32);
    ok[0] = 0xeb;
    ok[31] = 0x7f;
    assert_int_equal(sb_ed25519_point_ok(ok), 1);
}

/* OpenSSL verifies cofactorless [S]B = R + [k]A: with A = R = identity and S = 0 that holds
 * for every message — the "one signature for every message" of protocol.md §4. We must reject it. */
static void identity_key_with_zero_signature_is_rejected_for_every_message(void **state)
{
    uint8_t a[32] = { 0x01 }, sig[64] = { 0x01 };
    const uint8_t m1[] = "hello", m2[] = "another message";
    assert_int_equal(sb_ed25519_verify(a, m1, sizeof m1, sig), 0);
    assert_int_equal(sb_ed25519_verify(a, m2, sizeof m2, sig), 0);
    /* and the same with an order-8 A (sign bit set) and an order-8 R, S = 0 */
    uint8_t a8[32], sig8[64] = { 0 };
    h(NEG_Y8_HEX, a8, 32);
    a8[31] |= 0x80;
    h(NEG_Y8_HEX, sig8, 32);
    assert_int_equal(sb_ed25519_verify(a8, m1, sizeof m1, sig8), 0);
}

/* A valid signature whose R is replaced by a small-order point fails. (OpenSSL rejects this one
 * too: small_order_r_alone_is_rejected below is the case only our check catches.) */
static void small_order_r_is_rejected_with_a_valid_key(void **state)
{
    uint8_t seed[32], pub[32], sig[64];
    const uint8_t m[] = "msg";
    memset(seed, 7, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    assert_int_equal(sb_ed25519_sign(seed, m, sizeof m, sig), 0);
    assert_int_equal(sb_ed25519_verify(pub, m, sizeof m, sig), 1);
    memset(sig, 0, 32);
    sig[0] = 1;
    assert_int_equal(sb_ed25519_verify(pub, m, sizeof m, sig), 0);
}

/* ---- each pre-check on its own: signatures that OpenSSL itself accepts ----
 * OpenSSL verifies cofactorless ([S]B = R + [k]A, k = SHA-512(R || A || M) mod l) and has no
 * small-order or canonical-encoding rule of its own for these, so each signature below is
 * checked to pass raw OpenSSL first: only the one pre-check it targets can reject it. */

/* little-endian bytes <-> BIGNUM */
static BIGNUM *le2bn(const uint8_t *le, size_t n)
{
    uint8_t be[64];
    assert_true(n <= sizeof be);
    for (size_t i = 0; i < n; i++)
        be[i] = le[n - 1 - i];
    BIGNUM *b = BN_bin2bn(be, (int)n, NULL);
    assert_non_null(b);
    return b;
}
static void bn2le32(const BIGNUM *b, uint8_t le[32])
{
    uint8_t be[32];
    assert_int_equal(BN_bn2binpad(b, be, 32), 32);
    for (int i = 0; i < 32; i++)
        le[i] = be[31 - i];
}
static BIGNUM *order_l(void)
{
    static const uint8_t l_le[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                                      0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                                      0,    0,    0,    0,    0,    0,    0,    0,
                                      0,    0,    0,    0,    0,    0,    0,    0x10 };
    return le2bn(l_le, 32);
}
/* The RFC 8032 secret scalar of seed (clamped first half of SHA-512(seed)), mod l. */
static BIGNUM *secret_scalar(const uint8_t seed[32], BN_CTX *ctx)
{
    uint8_t hh[64];
    unsigned n = 0;
    assert_int_equal(EVP_Digest(seed, 32, hh, &n, EVP_sha512(), NULL), 1);
    hh[0] &= 248;
    hh[31] &= 127;
    hh[31] |= 64;
    BIGNUM *a = le2bn(hh, 32), *l = order_l();
    assert_int_equal(BN_nnmod(a, a, l, ctx), 1);
    BN_free(l);
    return a;
}
/* k = SHA-512(R || A || M) mod l */
static BIGNUM *challenge(const uint8_t r[32], const uint8_t a[32], const uint8_t *m, size_t mlen,
                         BN_CTX *ctx)
{
    uint8_t hh[64];
    unsigned n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_non_null(md);
    assert_int_equal(EVP_DigestInit_ex(md, EVP_sha512(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(md, r, 32), 1);
    assert_int_equal(EVP_DigestUpdate(md, a, 32), 1);
    assert_int_equal(EVP_DigestUpdate(md, m, mlen), 1);
    assert_int_equal(EVP_DigestFinal_ex(md, hh, &n), 1);
    EVP_MD_CTX_free(md);
    BIGNUM *k = le2bn(hh, 64), *l = order_l();
    assert_int_equal(BN_nnmod(k, k, l, ctx), 1);
    BN_free(l);
    return k;
}
/* Plain OpenSSL Ed25519 verification, without our pre-checks. */
static int openssl_verify(const uint8_t pub[32], const uint8_t *m, size_t mlen,
                          const uint8_t sig[64])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (!key)
        return 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, 64, m, mlen) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return ok;
}

/* R = identity with a genuine key A = [a]B: S = k·a mod l gives [S]B = [k]A = R + [k]A, so the
 * equation holds and OpenSSL accepts. Only the small-order check on R rejects it. */
static void small_order_r_alone_is_rejected(void **state)
{
    BN_CTX *ctx = BN_CTX_new();
    uint8_t seed[32], pub[32], sig[64] = { 0x01 };
    const uint8_t m[] = "R is the identity";
    memset(seed, 0x5a, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    assert_int_equal(sb_ed25519_point_ok(pub), 1);
    BIGNUM *a = secret_scalar(seed, ctx), *k = challenge(sig, pub, m, sizeof m, ctx), *s = BN_new(),
           *l = order_l();
    assert_int_equal(BN_mod_mul(s, k, a, l, ctx), 1);
    bn2le32(s, sig + 32);
    assert_int_equal(openssl_verify(pub, m, sizeof m, sig), 1);
    assert_int_equal(sb_ed25519_point_ok(sig), 0);
    assert_int_equal(sb_ed25519_verify(pub, m, sizeof m, sig), 0);
    BN_free(a);
    BN_free(k);
    BN_free(s);
    BN_free(l);
    BN_CTX_free(ctx);
}

/* A small-order (or a non-canonical encoding of one) with a genuine R = [r]B and S = r:
 * [S]B = R = R + [k]A for every message. Only the check on A rejects it. */
static void check_key_alone(const uint8_t a_enc[32], int want_point_ok)
{
    BN_CTX *ctx = BN_CTX_new();
    uint8_t seed[32], sig[64];
    const uint8_t m[] = "A is small order";
    memset(seed, 0x6b, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, sig), 0); /* R = [r]B */
    assert_int_equal(sb_ed25519_point_ok(sig), 1);
    BIGNUM *r = secret_scalar(seed, ctx);
    bn2le32(r, sig + 32);
    assert_int_equal(openssl_verify(a_enc, m, sizeof m, sig), 1);
    assert_int_equal(sb_ed25519_point_ok(a_enc), want_point_ok);
    assert_int_equal(sb_ed25519_verify(a_enc, m, sizeof m, sig), 0);
    BN_free(r);
    BN_CTX_free(ctx);
}

static void small_order_a_alone_is_rejected(void **state)
{
    uint8_t a[32] = { 0x01 }; /* identity */
    check_key_alone(a, 0);
}

/* y = p + 1 is a non-canonical encoding of y = 1: the identity again, which OpenSSL decodes
 * without complaint. The small-order list holds canonical y only, so only the y >= p check
 * rejects it. */
static void non_canonical_a_alone_is_rejected(void **state)
{
    uint8_t a[32];
    memset(a, 0xff, 32);
    a[0] = 0xee;
    a[31] = 0x7f;
    check_key_alone(a, 0);
    a[31] = 0xff; /* and with the sign bit */
    check_key_alone(a, 0);
}

/* x = 0 written with the sign bit: the identity as 01 00 .. 80, which OpenSSL accepts as a key.
 * x = 0 only for y = ±1, both small order, so this rests on the small-order compare ignoring
 * the sign bit (there is no separate x = 0 rule to remove). */
static void x_zero_with_sign_bit_a_alone_is_rejected(void **state)
{
    uint8_t a[32] = { 0x01 };
    a[31] = 0x80;
    check_key_alone(a, 0);
}

/* S + l (same scalar mod l) is malleable; RFC 8032 requires S < l and so do we. */
static void signature_scalar_not_below_l_is_rejected(void **state)
{
    static const uint8_t l[32] = { 0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                   0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                   0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10 };
    uint8_t seed[32], pub[32], sig[64];
    const uint8_t m[] = "malleable?";
    memset(seed, 9, 32);
    assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
    assert_int_equal(sb_ed25519_sign(seed, m, sizeof m, sig), 0);
    unsigned carry = 0;
    for (int i = 0; i < 32; i++) {
        carry += sig[32 + i] + l[i];
        sig[32 + i] = (uint8_t)carry;
        carry >>= 8;
    }
    assert_int_equal(carry, 0); /* S + l < 2^256 since S < l < 2^253 */
    assert_int_equal(sb_ed25519_verify(pub, m, sizeof m, sig), 0);
}

static void derived_public_keys_pass_the_point_check(void **state)
{
    for (int i = 1; i < 64; i++) {
        uint8_t seed[32], pub[32];
        memset(seed, i, 32);
        assert_int_equal(sb_ed25519_pubkey(seed, pub), 0);
        assert_int_equal(sb_ed25519_point_ok(pub), 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc8032_vectors_1_to_3_sign_and_verify),
        cmocka_unit_test(order8_y_values_really_solve_the_doubling_equation),
        cmocka_unit_test(all_eight_small_order_points_are_rejected),
        cmocka_unit_test(x_zero_with_sign_bit_set_is_rejected),
        cmocka_unit_test(non_canonical_y_at_or_above_p_is_rejected),
        cmocka_unit_test(identity_key_with_zero_signature_is_rejected_for_every_message),
        cmocka_unit_test(small_order_r_is_rejected_with_a_valid_key),
        cmocka_unit_test(signature_scalar_not_below_l_is_rejected),
        cmocka_unit_test(small_order_r_alone_is_rejected),
        cmocka_unit_test(small_order_a_alone_is_rejected),
        cmocka_unit_test(non_canonical_a_alone_is_rejected),
        cmocka_unit_test(x_zero_with_sign_bit_a_alone_is_rejected),
        cmocka_unit_test(derived_public_keys_pass_the_point_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
