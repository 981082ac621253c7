/* test_tx.c — judging transactions (protocol.md §4, §4.1): every result code, the order of the
 * checks, canonical encoding, signature rules, playlist and track rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ed25519.h"
#include "sb_code.h"
#include "slot.h"
#include "tx.h"

#define SEC 1000000000LL
#define T0 (1000000000LL * SEC)
#define NOW (T0 + 1 * SEC) /* current slot 0; slot 0 closed, slot 1 open until T0 + 12 s */
#define CID1 "bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se"
#define CHAIN "sb-test"

static uint8_t cur_a[32], cur_b[32], stranger[32], val1[32], val2[32], vk2[32];
static uint8_t pub_a[32], pub_stranger[32], pub_v1[32], pub_v2[32];
static sb_params P;

/* ---- fake view ---- */
typedef struct fake {
    int exists, proposed, voted, fail;
    uint32_t count;
} fake;
static int f_exists(void *a, uint64_t s, const uint8_t id[32])
{
    fake *f = a;
    return f->fail ? -5 : f->exists;
}
static int f_proposed(void *a, uint64_t s, const uint8_t c[32])
{
    fake *f = a;
    return f->fail ? -5 : f->proposed;
}
static int f_voted(void *a, uint64_t s, const uint8_t v[32])
{
    fake *f = a;
    return f->fail ? -5 : f->voted;
}
static int f_count(void *a, uint64_t s, uint32_t *n)
{
    fake *f = a;
    *n = f->count;
    return f->fail ? -5 : 0;
}

static int judge_at(const sb_buf *tx, fake *f, int64_t now)
{
    sb_tx_view v = { f, f_exists, f_proposed, f_voted, f_count };
    char log[256];
    sb_tx t;
    int rc = sb_tx_check(&P, f ? &v : NULL, tx->data, tx->len, now, &t, log, sizeof log);
    if (rc != SB_OK)
        assert_true(strlen(log) > 0);
    sb_tx_free(&t);
    return rc;
}

static int judge(const sb_buf *tx, fake *f) { return judge_at(tx, f, NOW); }

static int setup(void **state)
{
    memset(cur_a, 0xa1, 32);
    memset(cur_b, 0xb2, 32);
    memset(stranger, 0xc3, 32);
    memset(val1, 0x11, 32);
    memset(val2, 0x22, 32);
    memset(vk2, 0xd4, 32);
    uint8_t pub_b[32], pub_vk2[32];
    sb_ed25519_pubkey(cur_a, pub_a);
    sb_ed25519_pubkey(cur_b, pub_b);
    sb_ed25519_pubkey(stranger, pub_stranger);
    sb_ed25519_pubkey(val1, pub_v1);
    sb_ed25519_pubkey(val2, pub_v2);
    sb_ed25519_pubkey(vk2, pub_vk2);
    char ha[65], hb[65], hv2[65], hk[65], json[512], err[256];
    sb_hex(pub_a, 32, ha);
    sb_hex(pub_b, 32, hb);
    sb_hex(pub_v2, 32, hv2);
    sb_hex(pub_vk2, 32, hk);
    snprintf(
        json, sizeof json,
        "{\"slot_seconds\":20,\"close_lead_seconds\":8,\"horizon_slots\":4,\"max_tracks\":8,"
        "\"max_proposals_per_slot\":2,\"curators\":[\"%s\",\"%s\"],\"vote_keys\":{\"%s\":\"%s\"}}",
        ha, hb, hv2, hk);
    sb_validator v[2];
    memset(v, 0, sizeof v);
    memcpy(v[0].pubkey, pub_v1, 32);
    v[0].power = 30;
    memcpy(v[1].pubkey, pub_v2, 32);
    v[1].power = 10;
    if (sb_params_from_genesis(json, strlen(json), CHAIN, T0, v, 2, &P, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    sb_params_free(&P);
    return 0;
}

static sb_track_in trk(const char *cid, uint32_t ms)
{
    sb_track_in t = { cid, ms, "Title", "Artist" };
    return t;
}

static void prop(sb_buf *b, const char *chain, const uint8_t seed[32], uint64_t slot,
                 const sb_track_in *t, size_t n, const char *note, uint8_t id[32])
{
    sb_buf_init(b, 1u << 24);
    assert_int_equal(sb_tx_build_proposal(chain, slot, seed, t, n, note, b, id), 0);
}

static void good_prop(sb_buf *b, uint64_t slot)
{
    sb_track_in t[2] = { trk(CID1, 1000),
                         trk("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", 2000) };
    prop(b, CHAIN, cur_a, slot, t, 2, "hello", NULL);
}

static void vote(sb_buf *b, const char *chain, uint64_t slot, const uint8_t vpub[32],
                 const uint8_t seed[32])
{
    uint8_t id[32];
    memset(id, 0x77, 32);
    sb_buf_init(b, 1u << 20);
    assert_int_equal(sb_tx_build_vote(chain, slot, id, vpub, seed, b), 0);
}

/* ---- raw protobuf writer for hand-made (non-canonical) encodings ---- */
static void pv(sb_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        sb_buf_putc(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    sb_buf_putc(b, (uint8_t)v);
}
static void ptag(sb_buf *b, unsigned field, unsigned wt) { pv(b, field << 3 | wt); }
static void pld(sb_buf *b, unsigned field, const void *d, size_t n)
{
    ptag(b, field, 2);
    pv(b, n);
    sb_buf_append(b, d, n);
}
static void puint(sb_buf *b, unsigned field, uint64_t v)
{
    ptag(b, field, 0);
    pv(b, v);
}

/* Canonical raw track / playlist / body pieces. */
static void raw_track(sb_buf *t, const char *cid, uint32_t ms, const char *title)
{
    sb_buf_init(t, 4096);
    pld(t, 1, cid, strlen(cid));
    puint(t, 2, ms);
    if (title[0])
        pld(t, 3, title, strlen(title));
    pld(t, 4, "Artist", 6);
}
static void raw_playlist(sb_buf *pl, const sb_buf *track)
{
    sb_buf_init(pl, 4096);
    pld(pl, 1, track->data, track->len);
}

/* Wrap body in a canonical Tx signed by seed. */
static void raw_tx(sb_buf *out, int kind, const sb_buf *body, const uint8_t seed[32])
{
    sb_buf msg;
    uint8_t sig[64];
    sb_buf_init(&msg, 1u << 20);
    assert_int_equal(sb_tx_sign_message(kind, body->data, body->len, &msg), 0);
    assert_int_equal(sb_ed25519_sign(seed, msg.data, msg.len, sig), 0);
    sb_buf_free(&msg);
    sb_buf_init(out, 1u << 20);
    puint(out, 1, (uint64_t)kind);
    pld(out, 2, body->data, body->len);
    pld(out, 3, sig, 64);
}

/* A proposal body, canonical unless a mutation is asked for. */
enum {
    M_NONE,
    M_NONMIN_SLOT,
    M_DUP_CHAIN,
    M_UNKNOWN_BODY,
    M_UNKNOWN_TRACK,
    M_UNKNOWN_PLAYLIST,
    M_ORDER,
    M_NUL_NOTE,
    M_ZERO_SLOT_EXPLICIT,
    M_EMPTY_PLAYLIST,
    M_KEY33,
    M_NEG_ENUM
};
static void raw_body(sb_buf *b, int m)
{
    sb_buf t, pl;
    raw_track(&t, CID1, 1000, "Title");
    if (m == M_UNKNOWN_TRACK)
        puint(&t, 9, 1);
    raw_playlist(&pl, &t);
    if (m == M_UNKNOWN_PLAYLIST)
        puint(&pl, 7, 0);
    sb_buf_init(b, 1u << 20);
    pld(b, 1, CHAIN, strlen(CHAIN));
    if (m == M_NONMIN_SLOT) {
        ptag(b, 2, 0);
        sb_buf_putc(b, 0x81);
        sb_buf_putc(b, 0x00);
    } else if (m == M_ZERO_SLOT_EXPLICIT) {
        puint(b, 2, 0);
    } else {
        puint(b, 2, 1);
    }
    uint8_t key[33];
    memcpy(key, pub_a, 32);
    key[32] = 0;
    pld(b, 3, key, m == M_KEY33 ? 33 : 32);
    if (m == M_ORDER)
        pld(b, 5, "n", 1);
    if (m == M_EMPTY_PLAYLIST)
        pld(b, 4, "", 0);
    else
        pld(b, 4, pl.data, pl.len);
    if (m == M_NUL_NOTE)
        pld(b, 5, "a\0b", 3);
    else if (m != M_ORDER)
        pld(b, 5, "n", 1);
    if (m == M_DUP_CHAIN)
        pld(b, 1, CHAIN, strlen(CHAIN));
    if (m == M_UNKNOWN_BODY)
        puint(b, 15, 3);
    sb_buf_free(&t);
    sb_buf_free(&pl);
}

static void built_proposal_is_accepted_and_decoded(void **state)
{
    sb_buf b;
    uint8_t id[32];
    sb_track_in t[2] = { trk(CID1, 1000), trk(CID1, 2500) };
    prop(&b, CHAIN, cur_a, 1, t, 2, "note", id);
    fake f = { 0 };
    sb_tx_view v = { &f, f_exists, f_proposed, f_voted, f_count };
    sb_tx tx;
    char log[128] = "x";
    assert_int_equal(sb_tx_check(&P, &v, b.data, b.len, NOW, &tx, log, sizeof log), SB_OK);
    assert_string_equal(log, "");
    assert_int_equal(tx.kind, SB_TX_KIND_PROPOSAL);
    assert_int_equal(tx.slot, 1);
    assert_memory_equal(tx.id, id, 32);
    assert_memory_equal(tx.signer, pub_a, 32);
    assert_int_equal(tx.total_duration_ms, 3500);
    assert_int_equal(tx.proposal->playlist->n_tracks, 2);
    uint8_t id2[32];
    sb_proposal_id(tx.tx->body.data, tx.tx->body.len, id2);
    assert_memory_equal(id, id2, 32);
    sb_tx_free(&tx);
    sb_tx_free(&tx);
    sb_buf_free(&b);
}

static void raw_canonical_body_matches_protobuf_c(void **state)
{
    sb_buf raw, built, tx;
    raw_body(&raw, M_NONE);
    sb_track_in t = { CID1, 1000, "Title", "Artist" };
    prop(&built, CHAIN, cur_a, 1, &t, 1, "n", NULL);
    sb_tx d;
    assert_int_equal(sb_tx_decode(built.data, built.len, 65536, &d, NULL, 0), SB_OK);
    assert_int_equal(d.tx->body.len, raw.len);
    assert_memory_equal(d.tx->body.data, raw.data, raw.len);
    raw_tx(&tx, 1, &raw, cur_a);
    assert_int_equal(tx.len, built.len);
    assert_memory_equal(tx.data, built.data, tx.len);
    assert_int_equal(judge(&tx, NULL), SB_OK);
    sb_tx_free(&d);
    sb_buf_free(&raw);
    sb_buf_free(&built);
    sb_buf_free(&tx);
}

static void non_canonical_bodies_are_rejected_with_encoding(void **state)
{
    int ms[] = { M_NONMIN_SLOT,   M_DUP_CHAIN,          M_UNKNOWN_BODY,
                 M_UNKNOWN_TRACK, M_UNKNOWN_PLAYLIST,   M_ORDER,
                 M_NUL_NOTE,      M_ZERO_SLOT_EXPLICIT, M_KEY33 };
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        sb_buf body, tx;
        raw_body(&body, ms[i]);
        raw_tx(&tx, 1, &body, cur_a);
        int rc = judge(&tx, NULL);
        if (rc != SB_ENCODING)
            fail_msg("mutation %d: code %d", ms[i], rc);
        sb_buf_free(&body);
        sb_buf_free(&tx);
    }
}

static void present_empty_playlist_is_canonical_and_then_invalid(void **state)
{
    sb_buf body, tx;
    raw_body(&body, M_EMPTY_PLAYLIST);
    raw_tx(&tx, 1, &body, cur_a);
    assert_int_equal(judge(&tx, NULL), SB_PLAYLIST_INVALID);
    sb_buf_free(&body);
    sb_buf_free(&tx);
}

static void non_canonical_tx_envelopes_are_rejected_with_encoding(void **state)
{
    sb_buf body, good;
    raw_body(&body, M_NONE);
    raw_tx(&good, 1, &body, cur_a);
    assert_int_equal(judge(&good, NULL), SB_OK);
    sb_tx d;
    assert_int_equal(sb_tx_decode(good.data, good.len, 65536, &d, NULL, 0), SB_OK);
    const uint8_t *sig = d.tx->signature.data;
    for (int m = 0; m < 9; m++) {
        sb_buf t;
        sb_buf_init(&t, 1u << 20);
        if (m == 0) { /* kind as a non-minimal varint */
            ptag(&t, 1, 0);
            sb_buf_putc(&t, 0x81);
            sb_buf_putc(&t, 0x00);
        } else if (m == 3) {
            /* body before kind */
        } else if (m == 6) {
            puint(&t, 1, 0); /* explicit kind 0 */
        } else if (m == 7) {
            puint(&t, 1, 3); /* unknown kind */
        } else {
            puint(&t, 1, 1);
        }
        pld(&t, 2, body.data, body.len);
        if (m == 3)
            puint(&t, 1, 1);
        if (m == 4)
            pld(&t, 3, sig, 63);
        else if (m == 8)
            pld(&t, 3, sig, 64), pld(&t, 3, sig, 64); /* duplicated field */
        else
            pld(&t, 3, sig, 64);
        if (m == 1)
            puint(&t, 4, 0); /* unknown field */
        if (m == 2)
            pld(&t, 100, "x", 1); /* unknown field, big number */
        if (m == 5)
            sb_buf_putc(&t, 0x08); /* truncated trailing tag */
        int rc = judge(&t, NULL);
        if (rc != SB_ENCODING)
            fail_msg("envelope mutation %d: code %d", m, rc);
        sb_buf_free(&t);
    }
    /* the "0a00" tx of the SPEC vectors: field 1 with the wrong wire type */
    sb_buf z;
    sb_buf_init(&z, 16);
    sb_buf_append(&z, "\x0a\x00", 2);
    assert_int_equal(judge(&z, NULL), SB_ENCODING);
    sb_buf_reset(&z);
    assert_int_equal(judge(&z, NULL), SB_ENCODING); /* empty tx: kind 0 */
    sb_buf_free(&z);
    sb_tx_free(&d);
    sb_buf_free(&body);
    sb_buf_free(&good);
}

static void tx_larger_than_max_tx_size_is_rejected_with_encoding(void **state)
{
    sb_buf b;
    char note[1024];
    memset(note, 'n', sizeof note - 1);
    note[sizeof note - 1] = '\0';
    sb_track_in t[8];
    for (int i = 0; i < 8; i++)
        t[i] = trk(CID1, 1000);
    prop(&b, CHAIN, cur_a, 1, t, 8, note, NULL);
    assert_int_equal(judge(&b, NULL), SB_OK);
    uint32_t save = P.max_tx_size;
    P.max_tx_size = (uint32_t)b.len - 1;
    assert_int_equal(judge(&b, NULL), SB_ENCODING);
    P.max_tx_size = (uint32_t)b.len;
    assert_int_equal(judge(&b, NULL), SB_OK);
    P.max_tx_size = save;
    sb_buf_free(&b);
}

static void wrong_length_byte_fields_are_rejected_with_encoding(void **state)
{
    /* vote with a 31-byte proposal_id and with an empty validator_pubkey */
    for (int m = 0; m < 2; m++) {
        sb_buf body, tx;
        uint8_t id[32] = { 7 };
        sb_buf_init(&body, 1024);
        pld(&body, 1, CHAIN, strlen(CHAIN));
        puint(&body, 2, 1);
        pld(&body, 3, id, m == 0 ? 31 : 32);
        if (m == 0)
            pld(&body, 4, pub_v1, 32);
        raw_tx(&tx, 2, &body, val1);
        assert_int_equal(judge(&tx, NULL), SB_ENCODING);
        sb_buf_free(&body);
        sb_buf_free(&tx);
    }
}

static void wrong_chain_is_rejected_with_chain_id(void **state)
{
    sb_buf b;
    sb_track_in t = trk(CID1, 1000);
    prop(&b, "other-chain", cur_a, 1, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, NULL), SB_CHAIN_ID);
    sb_buf_free(&b);
    vote(&b, "", 1, pub_v1, val1);
    assert_int_equal(judge(&b, NULL), SB_CHAIN_ID);
    sb_buf_free(&b);
}

static void bad_signature_is_rejected_with_signature(void **state)
{
    sb_buf b;
    good_prop(&b, 1);
    b.data[b.len - 1] ^= 0x01;
    assert_int_equal(judge(&b, NULL), SB_SIGNATURE);
    sb_buf_free(&b);
    /* a proposal naming curator A but signed by curator B */
    sb_buf body, tx;
    raw_body(&body, M_NONE);
    raw_tx(&tx, 1, &body, cur_b);
    assert_int_equal(judge(&tx, NULL), SB_SIGNATURE);
    /* the same body signed as a vote (wrong domain) */
    sb_buf msg;
    uint8_t sig[64];
    sb_buf_init(&msg, 1u << 20);
    sb_tx_sign_message(2, body.data, body.len, &msg);
    sb_ed25519_sign(cur_a, msg.data, msg.len, sig);
    memcpy(tx.data + tx.len - 64, sig, 64);
    assert_int_equal(judge(&tx, NULL), SB_SIGNATURE);
    sb_buf_free(&msg);
    sb_buf_free(&body);
    sb_buf_free(&tx);
}

/* A = identity and S = 0 "verifies" every message under cofactorless OpenSSL; a curator
 * field holding the identity point must still get SIGNATURE. */
static void small_order_curator_key_is_rejected_with_signature(void **state)
{
    sb_buf t, pl, body, tx;
    uint8_t ident[32] = { 1 }, sig[64] = { 1 };
    raw_track(&t, CID1, 1000, "Title");
    raw_playlist(&pl, &t);
    sb_buf_init(&body, 4096);
    pld(&body, 1, CHAIN, strlen(CHAIN));
    puint(&body, 2, 1);
    pld(&body, 3, ident, 32);
    pld(&body, 4, pl.data, pl.len);
    sb_buf_init(&tx, 4096);
    puint(&tx, 1, 1);
    pld(&tx, 2, body.data, body.len);
    pld(&tx, 3, sig, 64);
    assert_int_equal(judge(&tx, NULL), SB_SIGNATURE);
    sb_buf_free(&t);
    sb_buf_free(&pl);
    sb_buf_free(&body);
    sb_buf_free(&tx);
}

static void vote_uses_the_genesis_vote_key_when_there_is_one(void **state)
{
    sb_buf b;
    fake f = { .exists = 1 };
    /* validator 2 has vote key vk2: its consensus key's signature is refused */
    vote(&b, CHAIN, 1, pub_v2, val2);
    assert_int_equal(judge(&b, &f), SB_SIGNATURE);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_v2, vk2);
    assert_int_equal(judge(&b, &f), SB_OK);
    sb_buf_free(&b);
    /* validator 1 has none: its consensus key signs */
    vote(&b, CHAIN, 1, pub_v1, val1);
    assert_int_equal(judge(&b, &f), SB_OK);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_v1, vk2);
    assert_int_equal(judge(&b, &f), SB_SIGNATURE);
    sb_buf_free(&b);
}

static void vote_by_a_non_validator_gets_not_validator_only_if_self_signed(void **state)
{
    sb_buf b;
    vote(&b, CHAIN, 1, pub_stranger, stranger);
    assert_int_equal(judge(&b, NULL), SB_NOT_VALIDATOR);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_stranger, val1);
    assert_int_equal(judge(&b, NULL), SB_SIGNATURE);
    sb_buf_free(&b);
}

static void proposal_by_a_non_curator_is_rejected_with_curator_not_allowed(void **state)
{
    sb_buf b;
    sb_track_in t = trk(CID1, 1000);
    prop(&b, CHAIN, stranger, 1, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, NULL), SB_CURATOR_NOT_ALLOWED);
    /* with open curation and no list anyone may propose */
    uint8_t(*save)[32] = P.curators;
    size_t n = P.n_curators;
    P.curators = NULL;
    P.n_curators = 0;
    P.open_curation = 1;
    assert_int_equal(judge(&b, NULL), SB_OK);
    P.curators = save;
    P.n_curators = n;
    /* open curation with a list still enforces the list */
    assert_int_equal(judge(&b, NULL), SB_CURATOR_NOT_ALLOWED);
    P.open_curation = 0;
    sb_buf_free(&b);
}

static void proposal_or_vote_after_close_is_rejected_with_slot_closed(void **state)
{
    sb_buf b, v;
    fake f = { .exists = 1 };
    good_prop(&b, 1);
    vote(&v, CHAIN, 1, pub_v1, val1);
    int64_t close1 = (int64_t)sb_slot_close(&P, 1);
    assert_int_equal(close1, T0 + 12 * SEC);
    assert_int_equal(judge_at(&b, &f, close1 - 1), SB_OK);
    assert_int_equal(judge_at(&b, &f, close1), SB_SLOT_CLOSED);
    assert_int_equal(judge_at(&v, &f, close1 - 1), SB_OK);
    assert_int_equal(judge_at(&v, &f, close1), SB_SLOT_CLOSED);
    sb_buf_free(&b);
    sb_buf_free(&v);
    /* slot 0 closes lead seconds before the epoch */
    good_prop(&b, 0);
    assert_int_equal(judge_at(&b, &f, T0 - 8 * SEC - 1), SB_OK);
    assert_int_equal(judge(&b, &f), SB_SLOT_CLOSED);
    sb_buf_free(&b);
}

static void slot_beyond_the_horizon_is_rejected_with_slot_too_far(void **state)
{
    sb_buf b;
    good_prop(&b, 4); /* current 0 + H 4 */
    assert_int_equal(judge(&b, NULL), SB_OK);
    sb_buf_free(&b);
    good_prop(&b, 5);
    assert_int_equal(judge(&b, NULL), SB_SLOT_TOO_FAR);
    sb_buf_free(&b);
    good_prop(&b, UINT64_MAX);
    assert_int_equal(judge(&b, NULL), SB_SLOT_TOO_FAR);
    sb_buf_free(&b);
}

static int prop_code(const sb_track_in *t, size_t n, const char *note)
{
    sb_buf b;
    prop(&b, CHAIN, cur_a, 1, t, n, note, NULL);
    int rc = judge(&b, NULL);
    sb_buf_free(&b);
    return rc;
}

static void playlist_rules_give_playlist_invalid(void **state)
{
    sb_track_in t[9];
    for (int i = 0; i < 9; i++)
        t[i] = trk(CID1, 1000);
    assert_int_equal(prop_code(t, 0, NULL), SB_PLAYLIST_INVALID); /* no tracks */
    assert_int_equal(prop_code(t, 8, NULL), SB_OK);
    assert_int_equal(prop_code(t, 9, NULL), SB_PLAYLIST_INVALID); /* > max_tracks */
    t[0].duration_ms = 0;
    assert_int_equal(prop_code(t, 1, NULL), SB_PLAYLIST_INVALID);
    /* sum of durations <= L·1000 = 20000 ms */
    t[0].duration_ms = 13000;
    t[1].duration_ms = 7000;
    assert_int_equal(prop_code(t, 2, NULL), SB_OK);
    t[1].duration_ms = 7001;
    assert_int_equal(prop_code(t, 2, NULL), SB_PLAYLIST_INVALID);
    /* one track over an hour (with a long slot so the sum rule is not what fails) */
    uint64_t save = P.slot_seconds, save_lead = P.close_lead_seconds;
    P.slot_seconds = 10000;
    P.close_lead_seconds = 9000;
    t[0].duration_ms = 3600000;
    assert_int_equal(prop_code(t, 1, NULL), SB_OK);
    t[0].duration_ms = 3600001;
    assert_int_equal(prop_code(t, 1, NULL), SB_PLAYLIST_INVALID);
    P.slot_seconds = save;
    P.close_lead_seconds = save_lead;
    t[0] = trk("bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7sf", 1000);
    assert_int_equal(prop_code(t, 1, NULL), SB_PLAYLIST_INVALID); /* bad CID */
    t[0] = trk("", 1000);
    assert_int_equal(prop_code(t, 1, NULL), SB_PLAYLIST_INVALID);
}

static void string_rules_give_playlist_invalid(void **state)
{
    char s256[257], s257[258], n1024[1025], n1025[1026];
    memset(s256, 'a', 256);
    s256[256] = 0;
    memset(s257, 'a', 257);
    s257[257] = 0;
    memset(n1024, 'n', 1024);
    n1024[1024] = 0;
    memset(n1025, 'n', 1025);
    n1025[1025] = 0;
    sb_track_in t = trk(CID1, 1000);
    t.title = s256;
    t.artist = s256;
    assert_int_equal(prop_code(&t, 1, n1024), SB_OK);
    t.title = s257;
    assert_int_equal(prop_code(&t, 1, NULL), SB_PLAYLIST_INVALID);
    t.title = "ok";
    t.artist = s257;
    assert_int_equal(prop_code(&t, 1, NULL), SB_PLAYLIST_INVALID);
    t.artist = "ok";
    assert_int_equal(prop_code(&t, 1, n1025), SB_PLAYLIST_INVALID);
    const char *bad[] = { "tab\there",
                          "nl\n",
                          "del\x7f",
                          "\xc0\x80",
                          "\xc1\xbf",
                          "\xed\xa0\x80",
                          "\xf4\x90\x80\x80",
                          "\xf5\x80\x80\x80",
                          "\x80",
                          "\xe2\x82",
                          "ls\xe2\x80\xa8",
                          "ps\xe2\x80\xa9",
                          "\xe0\x9f\xbf",
                          "\xf0\x8f\xbf\xbf",
                          "\xff" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t.title = bad[i];
        if (prop_code(&t, 1, NULL) != SB_PLAYLIST_INVALID)
            fail_msg("title %zu accepted", i);
        t.title = "ok";
        if (prop_code(&t, 1, bad[i]) != SB_PLAYLIST_INVALID)
            fail_msg("note %zu accepted", i);
    }
    const char *good[] = { "Bj\xc3\xb6rk",     "\xe2\x82\xac", "\xf0\x9f\x8e\xb5", "\xef\xbf\xbf",
                           "\xf4\x8f\xbf\xbf", "\xc2\x85",     "\xe2\x80\xa7",     "",
                           "\"quoted\\" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        t.title = good[i];
        if (prop_code(&t, 1, good[i]) != SB_OK)
            fail_msg("good string %zu refused", i);
    }
}

static void ten_thousand_tracks_are_rejected_without_crashing(void **state)
{
    uint32_t save = P.max_tx_size;
    P.max_tx_size = 16u << 20;
    sb_track_in *t = calloc(10000, sizeof *t);
    assert_non_null(t);
    for (int i = 0; i < 10000; i++)
        t[i] = trk(CID1, 1);
    assert_int_equal(prop_code(t, 10000, NULL), SB_PLAYLIST_INVALID);
    free(t);
    P.max_tx_size = save;
}

static void vote_for_an_unknown_proposal_is_rejected_with_unknown_proposal(void **state)
{
    sb_buf b;
    fake f = { .exists = 0 };
    vote(&b, CHAIN, 1, pub_v1, val1);
    assert_int_equal(judge(&b, &f), SB_UNKNOWN_PROPOSAL);
    f.exists = 1;
    assert_int_equal(judge(&b, &f), SB_OK);
    sb_buf_free(&b);
}

static void second_proposal_or_vote_is_rejected_with_duplicate(void **state)
{
    sb_buf b;
    fake f = { .exists = 1, .proposed = 1, .voted = 1 };
    good_prop(&b, 1);
    assert_int_equal(judge(&b, &f), SB_DUPLICATE);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_v1, val1);
    assert_int_equal(judge(&b, &f), SB_DUPLICATE);
    sb_buf_free(&b);
}

static void full_slot_is_rejected_with_proposal_limit(void **state)
{
    sb_buf b;
    fake f = { .count = 1 };
    good_prop(&b, 1);
    assert_int_equal(judge(&b, &f), SB_OK);
    f.count = 2;
    assert_int_equal(judge(&b, &f), SB_PROPOSAL_LIMIT);
    sb_buf_free(&b);
}

static void first_failure_in_spec_order_wins(void **state)
{
    sb_buf b;
    sb_track_in t = trk(CID1, 0); /* invalid playlist in every case below */
    fake f = { .exists = 0, .proposed = 1, .voted = 1, .count = 99 };
    /* wrong chain + bad signature -> CHAIN_ID */
    prop(&b, "x", cur_a, 1, &t, 1, NULL, NULL);
    b.data[b.len - 1] ^= 1;
    assert_int_equal(judge(&b, &f), SB_CHAIN_ID);
    sb_buf_free(&b);
    /* bad signature + non-curator -> SIGNATURE */
    prop(&b, CHAIN, stranger, 0, &t, 1, NULL, NULL);
    b.data[b.len - 1] ^= 1;
    assert_int_equal(judge(&b, &f), SB_SIGNATURE);
    sb_buf_free(&b);
    /* non-curator + closed slot -> CURATOR_NOT_ALLOWED */
    prop(&b, CHAIN, stranger, 0, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, &f), SB_CURATOR_NOT_ALLOWED);
    sb_buf_free(&b);
    /* closed slot + invalid playlist + duplicate -> SLOT_CLOSED */
    prop(&b, CHAIN, cur_a, 0, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, &f), SB_SLOT_CLOSED);
    sb_buf_free(&b);
    /* too far + invalid playlist -> SLOT_TOO_FAR */
    prop(&b, CHAIN, cur_a, 50, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, &f), SB_SLOT_TOO_FAR);
    sb_buf_free(&b);
    /* invalid playlist + duplicate + limit -> PLAYLIST_INVALID */
    prop(&b, CHAIN, cur_a, 1, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, &f), SB_PLAYLIST_INVALID);
    sb_buf_free(&b);
    /* duplicate + limit -> DUPLICATE */
    t.duration_ms = 1000;
    prop(&b, CHAIN, cur_a, 1, &t, 1, NULL, NULL);
    assert_int_equal(judge(&b, &f), SB_DUPLICATE);
    sb_buf_free(&b);
    /* vote: non-validator + closed -> NOT_VALIDATOR; unknown proposal + duplicate -> UNKNOWN */
    vote(&b, CHAIN, 0, pub_stranger, stranger);
    assert_int_equal(judge(&b, &f), SB_NOT_VALIDATOR);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_v1, val1);
    assert_int_equal(judge(&b, &f), SB_UNKNOWN_PROPOSAL);
    sb_buf_free(&b);
    /* vote: closed + unknown proposal -> SLOT_CLOSED */
    vote(&b, CHAIN, 0, pub_v1, val1);
    assert_int_equal(judge(&b, &f), SB_SLOT_CLOSED);
    sb_buf_free(&b);
}

static void view_errors_are_propagated_as_negative(void **state)
{
    sb_buf b;
    fake f = { .fail = 1 };
    good_prop(&b, 1);
    assert_true(judge(&b, &f) < 0);
    sb_buf_free(&b);
    vote(&b, CHAIN, 1, pub_v1, val1);
    assert_true(judge(&b, &f) < 0);
    sb_buf_free(&b);
}

static void decoded_tx_is_returned_even_when_a_later_check_fails(void **state)
{
    sb_buf b;
    sb_tx t;
    vote(&b, CHAIN, 3, pub_v1, val1);
    assert_int_equal(sb_tx_check(&P, NULL, b.data, b.len, T0 + 100 * SEC, &t, NULL, 0),
                     SB_SLOT_CLOSED);
    assert_int_equal(t.kind, SB_TX_KIND_VOTE);
    assert_int_equal(t.slot, 3);
    assert_memory_equal(t.signer, pub_v1, 32);
    uint8_t id[32];
    memset(id, 0x77, 32);
    assert_memory_equal(t.id, id, 32);
    sb_tx_free(&t);
    assert_int_equal(sb_tx_check(&P, NULL, (const uint8_t *)"\xff", 1, NOW, &t, NULL, 0),
                     SB_ENCODING);
    assert_null(t.tx);
    sb_tx_free(&t);
    sb_buf_free(&b);
}

/* The per-track and note rules the node and the CLI share (protocol.md §4): each names the field. */
static void track_rules_name_the_field_and_the_limit(void **state)
{
    (void)state;
    static const char pb[] = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
    char why[400] = "", big[300];
    memset(big, 'x', 257);
    big[257] = '\0';
    assert_int_equal(sb_track_check(pb, strlen(pb), 1, NULL, 0, "a", 1, why, sizeof why), 1);
    assert_int_equal(sb_track_check(pb, strlen(pb), 3600000, big, 256, NULL, 0, why, sizeof why),
                     1);
    assert_int_equal(sb_track_check("bafyNOT", 7, 5, "", 0, "", 0, why, sizeof why), 0);
    assert_non_null(strstr(why, "cid: \"bafyNOT\" is not a CIDv0"));
    assert_int_equal(sb_track_check(pb, strlen(pb), 0, "", 0, "", 0, why, sizeof why), 0);
    assert_string_equal(why, "duration_ms: 0 outside [1, 3600000]");
    assert_int_equal(sb_track_check(pb, strlen(pb), 3600001, "", 0, "", 0, why, sizeof why), 0);
    assert_string_equal(why, "duration_ms: 3600001 outside [1, 3600000]");
    assert_int_equal(sb_track_check(pb, strlen(pb), 5, big, 257, "", 0, why, sizeof why), 0);
    assert_string_equal(why, "title: 257 bytes, more than 256");
    assert_int_equal(sb_track_check(pb, strlen(pb), 5, "", 0, "a\x07", 2, why, sizeof why), 0);
    assert_non_null(strstr(why, "artist: contains a control character"));
    assert_int_equal(sb_track_check(pb, strlen(pb), 5, "a\0b", 3, "", 0, why, sizeof why), 0);
    assert_non_null(strstr(why, "title: contains a control character"));
    assert_int_equal(sb_note_check("hello", 5, why, sizeof why), 1);
    char note[1100];
    memset(note, 'n', 1025);
    assert_int_equal(sb_note_check(note, 1024, why, sizeof why), 1);
    assert_int_equal(sb_note_check(note, 1025, why, sizeof why), 0);
    assert_string_equal(why, "note: 1025 bytes, more than 1024");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(built_proposal_is_accepted_and_decoded),
        cmocka_unit_test(raw_canonical_body_matches_protobuf_c),
        cmocka_unit_test(non_canonical_bodies_are_rejected_with_encoding),
        cmocka_unit_test(present_empty_playlist_is_canonical_and_then_invalid),
        cmocka_unit_test(non_canonical_tx_envelopes_are_rejected_with_encoding),
        cmocka_unit_test(tx_larger_than_max_tx_size_is_rejected_with_encoding),
        cmocka_unit_test(wrong_length_byte_fields_are_rejected_with_encoding),
        cmocka_unit_test(wrong_chain_is_rejected_with_chain_id),
        cmocka_unit_test(bad_signature_is_rejected_with_signature),
        cmocka_unit_test(small_order_curator_key_is_rejected_with_signature),
        cmocka_unit_test(vote_uses_the_genesis_vote_key_when_there_is_one),
        cmocka_unit_test(vote_by_a_non_validator_gets_not_validator_only_if_self_signed),
        cmocka_unit_test(proposal_by_a_non_curator_is_rejected_with_curator_not_allowed),
        cmocka_unit_test(proposal_or_vote_after_close_is_rejected_with_slot_closed),
        cmocka_unit_test(slot_beyond_the_horizon_is_rejected_with_slot_too_far),
        cmocka_unit_test(playlist_rules_give_playlist_invalid),
        cmocka_unit_test(string_rules_give_playlist_invalid),
        cmocka_unit_test(ten_thousand_tracks_are_rejected_without_crashing),
        cmocka_unit_test(vote_for_an_unknown_proposal_is_rejected_with_unknown_proposal),
        cmocka_unit_test(second_proposal_or_vote_is_rejected_with_duplicate),
        cmocka_unit_test(full_slot_is_rejected_with_proposal_limit),
        cmocka_unit_test(first_failure_in_spec_order_wins),
        cmocka_unit_test(view_errors_are_propagated_as_negative),
        cmocka_unit_test(decoded_tx_is_returned_even_when_a_later_check_fails),
        cmocka_unit_test(track_rules_name_the_field_and_the_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
