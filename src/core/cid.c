/* cid.c — track CIDs (protocol.md §4) and the dag-json manifest CID (protocol.md §6).
 * base58btc and RFC 4648 base32 (lowercase, unpadded) written for exactly these sizes. */
#include "cid.h"

#include <string.h>

#include "sb_hash.h"

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

#define CIDV0_LEN 34
#define CIDV0_STR_LEN 46
#define CIDV1_TRACK_LEN 36

/* base58btc of bin[0..n) (n <= SB_CID_BIN_MAX) into out[outlen]; 0 / -1. */
static int b58_encode(const uint8_t *bin, size_t n, char *out, size_t outlen)
{
    uint8_t digits[SB_CID_BIN_MAX * 2]; /* base-58 digits, most significant first */
    size_t nd = 0, zeros = 0;
    if (n > SB_CID_BIN_MAX)
        return -1;
    while (zeros < n && bin[zeros] == 0)
        zeros++;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = bin[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (unsigned)digits[sizeof digits - 1 - j] << 8;
            digits[sizeof digits - 1 - j] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            if (nd >= sizeof digits)
                return -1;
            digits[sizeof digits - 1 - nd] = (uint8_t)(carry % 58);
            nd++;
            carry /= 58;
        }
    }
    if (zeros + nd + 1 > outlen)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < zeros; i++)
        out[k++] = '1';
    for (size_t i = 0; i < nd; i++)
        out[k++] = b58_alphabet[digits[sizeof digits - nd + i]];
    out[k] = '\0';
    return 0;
}

/* Decode base58btc s[0..n) into exactly want bytes of out; -1 if the value needs more or
 * fewer bytes or a character is not in the alphabet. */
static int b58_decode(const char *s, size_t n, uint8_t *out, size_t want)
{
    uint8_t acc[SB_CID_BIN_MAX]; /* big-endian accumulator of want bytes */
    if (want > sizeof acc)
        return -1;
    memset(acc, 0, want);
    for (size_t i = 0; i < n; i++) {
        const char *d = memchr(b58_alphabet, s[i], 58);
        if (!d || s[i] == '\0')
            return -1;
        unsigned carry = (unsigned)(d - b58_alphabet);
        for (size_t j = want; j-- > 0;) {
            carry += (unsigned)acc[j] * 58;
            acc[j] = (uint8_t)carry;
            carry >>= 8;
        }
        if (carry)
            return -1; /* overflow: more than want bytes */
    }
    memcpy(out, acc, want);
    return 0;
}

/* 'b' + base32 lower of bin[0..n) into out[outlen]; 0 / -1. */
static int b32_encode(const uint8_t *bin, size_t n, char *out, size_t outlen)
{
    size_t chars = (n * 8 + 4) / 5;
    if (chars + 2 > outlen)
        return -1;
    size_t k = 0;
    out[k++] = 'b';
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | bin[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = b32_alphabet[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[k++] = b32_alphabet[(acc << (5 - bits)) & 31];
    out[k] = '\0';
    return 0;
}

/* Decode lowercase base32 s[0..n) into out (room for cap bytes); *outn = whole bytes. */
static int b32_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outn)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *d = s[i] ? memchr(b32_alphabet, s[i], 32) : NULL;
        if (!d)
            return -1;
        acc = (acc << 5) | (uint32_t)(d - b32_alphabet);
        bits += 5;
        if (bits >= 8) {
            if (k >= cap)
                return -1;
            out[k++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
        acc &= (1u << bits) - 1; /* keep only the pending bits */
    }
    *outn = k;
    return 0;
}

int sb_cid_parse(const char *s, size_t n, uint8_t *bin, size_t *binlen)
{
    uint8_t tmp[SB_CID_BIN_MAX];
    char back[SB_CID_STR_MAX];
    size_t len = 0;
    if (!s || n < 2 || n >= SB_CID_STR_MAX)
        return -1;
    if (n == CIDV0_STR_LEN && s[0] == 'Q' && s[1] == 'm') {
        if (b58_decode(s, n, tmp, CIDV0_LEN) < 0)
            return -1;
        if (tmp[0] != 0x12 || tmp[1] != 0x20)
            return -1;
        len = CIDV0_LEN;
        if (b58_encode(tmp, len, back, sizeof back) < 0)
            return -1;
    } else if (s[0] == 'b') {
        if (b32_decode(s + 1, n - 1, tmp, sizeof tmp, &len) < 0)
            return -1;
        if (len != CIDV1_TRACK_LEN)
            return -1;
        if (tmp[0] != 0x01 || (tmp[1] != 0x55 && tmp[1] != 0x70) || tmp[2] != 0x12 ||
            tmp[3] != 0x20)
            return -1;
        if (b32_encode(tmp, len, back, sizeof back) < 0)
            return -1;
    } else {
        return -1;
    }
    if (strlen(back) != n || memcmp(back, s, n) != 0)
        return -1;
    memcpy(bin, tmp, len);
    *binlen = len;
    return 0;
}

int sb_cid_to_string(const uint8_t *bin, size_t n, char *out, size_t outlen)
{
    if (!bin || !out || n == 0 || n > SB_CID_BIN_MAX)
        return -1;
    if (n == CIDV0_LEN && bin[0] == 0x12 && bin[1] == 0x20)
        return b58_encode(bin, n, out, outlen);
    if (bin[0] == 0x01)
        return b32_encode(bin, n, out, outlen);
    return -1;
}

int sb_cid_parse_manifest(const char *s, uint8_t bin[37])
{
    static const uint8_t prefix[5] = { 0x01, 0xa9, 0x02, 0x12, 0x20 };
    uint8_t tmp[SB_CID_BIN_MAX];
    char back[SB_CID_STR_MAX];
    size_t len = 0, n = s ? strlen(s) : 0;
    if (n < 2 || n >= SB_CID_STR_MAX || s[0] != 'b')
        return -1;
    if (b32_decode(s + 1, n - 1, tmp, sizeof tmp, &len) < 0 || len != 37)
        return -1;
    if (memcmp(tmp, prefix, sizeof prefix) != 0)
        return -1;
    if (b32_encode(tmp, len, back, sizeof back) < 0 || strcmp(back, s) != 0)
        return -1;
    memcpy(bin, tmp, 37);
    return 0;
}

void sb_cid_dagjson(const uint8_t *data, size_t n, uint8_t bin[37])
{
    static const uint8_t prefix[5] = { 0x01, 0xa9, 0x02, 0x12, 0x20 };
    memcpy(bin, prefix, sizeof prefix);
    sb_sha256v(bin + 5, 1, (const void *)data, n);
}
