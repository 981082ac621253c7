/* sb-txgen.c - craft Sleetbubble txs for integration tests, valid or deliberately broken, on
 * top of src/core (the same builders the CLI uses). Test tool: not installed.
 *   sb-txgen pubkey SEED                                   -> pubkey hex
 *   sb-txgen proposal CHAIN SLOT SEED CID DURATION_MS [NOTE] -> "TXHEX PROPOSAL_ID"
 *   sb-txgen playlist CHAIN SLOT SEED CID...               -> "TXHEX PROPOSAL_ID", 1 s per track
 *   sb-txgen vote CHAIN SLOT PROPOSAL_ID VALIDATOR_PUB SEED -> TXHEX
 *   sb-txgen badsig TXHEX                                  -> TXHEX with one signature bit flipped
 *   sb-txgen noncanonical TXHEX                            -> TXHEX with a non-minimal kind varint
 *   sb-txgen cid CID                                       -> the CID parsed and re-encoded (§4)
 *   sb-txgen dagjson-cid FILE                              -> CIDv1 dag-json of FILE's bytes (§6)
 * Hex is lowercase; exit 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "ed25519.h"
#include "sb_buf.h"
#include "tx.h"

static int die(const char *msg)
{
    fprintf(stderr, "sb-txgen: %s\n", msg);
    return 2;
}

static int unhex32(const char *s, uint8_t out[32])
{
    return strlen(s) == 64 ? sb_unhex(s, out, 32) : -1;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static uint8_t *unhex_any(const char *s, size_t *n)
{
    size_t len = strlen(s);
    if (len % 2)
        return NULL;
    uint8_t *p = malloc(len / 2 + 1);
    if (p && len && sb_unhex(s, p, len / 2) < 0) {
        free(p);
        return NULL;
    }
    *n = len / 2;
    return p;
}

int main(int argc, char **argv)
{
    uint8_t seed[32], pub[32], id[32];
    sb_buf b;
    sb_buf_init(&b, 1u << 20);
    if (argc < 2)
        return die("usage: see the comment at the top of tests/tools/sb-txgen.c");
    const char *cmd = argv[1];
    if (strcmp(cmd, "pubkey") == 0 && argc == 3) {
        if (unhex32(argv[2], seed) < 0 || sb_ed25519_pubkey(seed, pub) < 0)
            return die("bad seed");
        print_hex(pub, 32);
    } else if (strcmp(cmd, "proposal") == 0 && (argc == 7 || argc == 8)) {
        char *end;
        unsigned long long slot = strtoull(argv[3], &end, 10);
        if (*end || unhex32(argv[4], seed) < 0)
            return die("bad slot or seed");
        unsigned long d = strtoul(argv[6], &end, 10);
        if (*end)
            return die("bad duration");
        sb_track_in t = { argv[5], (uint32_t)d, "Track", "Artist" };
        if (sb_tx_build_proposal(argv[2], slot, seed, &t, 1, argc == 8 ? argv[7] : "", &b, id) < 0)
            return die("build failed");
        print_hex(b.data, b.len);
        printf(" ");
        print_hex(id, 32);
    } else if (strcmp(cmd, "playlist") == 0 && argc >= 6 && argc - 5 <= 64) {
        char *end;
        sb_track_in t[64];
        unsigned long long slot = strtoull(argv[3], &end, 10);
        if (*end || unhex32(argv[4], seed) < 0)
            return die("bad slot or seed");
        for (int i = 5; i < argc; i++)
            t[i - 5] = (sb_track_in){ argv[i], 1000, "Track", "Artist" };
        if (sb_tx_build_proposal(argv[2], slot, seed, t, (size_t)(argc - 5), "", &b, id) < 0)
            return die("build failed");
        print_hex(b.data, b.len);
        printf(" ");
        print_hex(id, 32);
    } else if (strcmp(cmd, "vote") == 0 && argc == 7) {
        char *end;
        unsigned long long slot = strtoull(argv[3], &end, 10);
        if (*end || unhex32(argv[4], id) < 0 || unhex32(argv[5], pub) < 0 ||
            unhex32(argv[6], seed) < 0)
            return die("bad slot, proposal id, pubkey or seed");
        if (sb_tx_build_vote(argv[2], slot, id, pub, seed, &b) < 0)
            return die("build failed");
        print_hex(b.data, b.len);
    } else if ((strcmp(cmd, "badsig") == 0 || strcmp(cmd, "noncanonical") == 0) && argc == 3) {
        size_t n;
        uint8_t *p = unhex_any(argv[2], &n);
        if (!p || n < 70 || p[0] != 0x08)
            return die("bad tx hex");
        if (cmd[0] == 'b') {
            p[n - 10] ^= 0x01; /* inside the trailing 64-byte signature field */
            print_hex(p, n);
        } else { /* kind as a 2-byte varint: 0x81 0x00 instead of 0x01 */
            printf("08%02x00", p[1] | 0x80);
            print_hex(p + 2, n - 2);
        }
        free(p);
    } else if (strcmp(cmd, "cid") == 0 && argc == 3) {
        uint8_t bin[SB_CID_BIN_MAX];
        size_t n;
        char out[SB_CID_STR_MAX];
        if (sb_cid_parse(argv[2], strlen(argv[2]), bin, &n) < 0 ||
            sb_cid_to_string(bin, n, out, sizeof(out)) < 0)
            return die("not a track CID (protocol.md §4)");
        printf("%s", out);
    } else if (strcmp(cmd, "dagjson-cid") == 0 && argc == 3) {
        FILE *f = fopen(argv[2], "rb");
        uint8_t buf[1 << 16], bin[37];
        char out[SB_CID_STR_MAX];
        if (!f)
            return die("cannot open file");
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        sb_cid_dagjson(buf, n, bin);
        if (sb_cid_to_string(bin, sizeof(bin), out, sizeof(out)) < 0)
            return die("cannot encode");
        printf("%s", out);
    } else {
        return die("usage: see the comment at the top of tests/tools/sb-txgen.c");
    }
    printf("\n");
    sb_buf_free(&b);
    return 0;
}
