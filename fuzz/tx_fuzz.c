/* tx_fuzz.c - a tx through sb_tx_check (protocol.md §4, §4.1) against a fixed state, plus the CID
 * parser (src/core).
 *
 * Byte mutations of a signed tx stop at ENCODING, CHAIN_ID or SIGNATURE, so the mutator is
 * structure-aware (random bytes rarely get past the decoder): it decodes the Tx and its body, changes fields (chain id,
 * slot around the open window, signer among the test keys, tracks added/removed/changed, CIDs,
 * durations at their limits, strings with bad UTF-8 or over their byte limits, the voted
 * proposal id), re-packs the body and re-signs it with the test key of the signer (the SPEC
 * vector seeds), so every later check (SLOT_CLOSED .. PROPOSAL_LIMIT) sees fresh inputs. One
 * mutation in eight is a raw byte mutation (ENCODING and SIGNATURE paths) and one in eight
 * mutates the body bytes and re-signs (body-level ENCODING with a valid signature). The
 * corpus stays real txs, so a crash replays without the mutator.
 *
 * The fixed state: the vector genesis (chain "sleetbubble-vectors", slots of 20 s, close lead
 * 8 s, horizon 48, at most 4 proposals per slot, curators A and B), validators V1 (30), V2
 * (10) and V3 (5, whose votes are signed by a delegated vote key), judged at block 1's time;
 * two accepted proposals, curator B already proposed in slot 2, V2 already voted in slot 2,
 * slot 3 full.
 *
 * Invariants (abort): codes in 0..11; a tx that reached the state (OK or a stateful code)
 * passes every check without it (view NULL); decode and check agree on ENCODING; a decodable
 * tx re-packs to its bytes; the log is empty iff OK and never holds a control character; an
 * accepted tx really is signed by the right key, by a genesis curator / a validator, with a
 * playlist within the limits. CIDs: a parsed CID prints back to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "ed25519.h"
#include "fuzz_common.h"
#include "params.h"
#include "sb_code.h"
#include "slot.h"
#include "tx.h"

#define CHAIN "sleetbubble-vectors"
#define GENESIS_NS 1795392000250000000LL
#define NOW_NS 1795392001250000000LL /* block 1 of the vectors: slot 0, slots 1.. open */

enum { K_V1, K_V2, K_V3, K_VK3, K_A, K_B, K_STRANGER, NKEYS };
static const uint8_t k_seed_byte[NKEYS] = { 0x11, 0x22, 0x33, 0xd4, 0xa1, 0xb2, 0xc3 };
static uint8_t g_seed[NKEYS][32], g_pub[NKEYS][32];

static sb_params P;
static uint8_t g_known_id[2][32];             /* accepted proposals: curator A, slots 1 and 2 */
static size_t g_codes[SB_PROPOSAL_LIMIT + 1]; /* replay summary: codes seen */

static int pub_index(const uint8_t pub[32])
{
    for (int i = 0; i < NKEYS; i++)
        if (memcmp(pub, g_pub[i], 32) == 0)
            return i;
    return -1;
}

/* ---- the fixed state ------------------------------------------------------------------- */

static int st_proposal_exists(void *a, uint64_t slot, const uint8_t id[32])
{
    return (slot == 1 && memcmp(id, g_known_id[0], 32) == 0) ||
           (slot == 2 && memcmp(id, g_known_id[1], 32) == 0);
}
static int st_curator_proposed(void *a, uint64_t slot, const uint8_t k[32])
{
    return (slot == 1 && memcmp(k, g_pub[K_A], 32) == 0) ||
           (slot == 2 && (memcmp(k, g_pub[K_A], 32) == 0 || memcmp(k, g_pub[K_B], 32) == 0));
}
static int st_validator_voted(void *a, uint64_t slot, const uint8_t k[32])
{
    return slot == 2 && memcmp(k, g_pub[K_V2], 32) == 0;
}
static int st_proposal_count(void *a, uint64_t slot, uint32_t *n)
{
    *n = slot == 1 ? 1 : slot == 2 ? 2 : slot == 3 ? 4 : 0;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 0; i < NKEYS; i++) {
        memset(g_seed[i], k_seed_byte[i], 32);
        FUZZ_CHECK(sb_ed25519_pubkey(g_seed[i], g_pub[i]) == 0, "test key");
    }
    sb_validator v[3] = { { .power = 30 }, { .power = 10 }, { .power = 5 } };
    memcpy(v[0].pubkey, g_pub[K_V1], 32);
    memcpy(v[1].pubkey, g_pub[K_V2], 32);
    memcpy(v[2].pubkey, g_pub[K_V3], 32);
    char as[1024], a[65], b[65], v3[65], vk3[65], err[256];
    sb_hex(g_pub[K_A], 32, a);
    sb_hex(g_pub[K_B], 32, b);
    sb_hex(g_pub[K_V3], 32, v3);
    sb_hex(g_pub[K_VK3], 32, vk3);
    snprintf(as, sizeof(as),
             "{\"slot_seconds\":20,\"close_lead_seconds\":8,\"horizon_slots\":48,"
             "\"max_proposals_per_slot\":4,\"curators\":[\"%s\",\"%s\"],"
             "\"vote_keys\":{\"%s\":\"%s\"}}",
             a, b, v3, vk3);
    if (sb_params_from_genesis(as, strlen(as), CHAIN, GENESIS_NS, v, 3, &P, err, sizeof(err))) {
        fprintf(stderr, "tx_fuzz genesis: %s\n", err);
        abort();
    }
    static const sb_track_in t = { "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswty",
                                   1000, "Track", "Artist" };
    for (int i = 0; i < 2; i++) {
        sb_buf out;
        sb_buf_init(&out, 1 << 16);
        FUZZ_CHECK(sb_tx_build_proposal(CHAIN, (uint64_t)i + 1, g_seed[K_A], &t, 1, NULL, &out,
                                        g_known_id[i]) == 0,
                   "build a state proposal");
        sb_buf_free(&out);
    }
    return 0;
}

/* ---- the target ------------------------------------------------------------------------ */

static int has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* What an accepted tx must be, checked without sb_tx_check's code paths where possible. */
static void check_accepted(const sb_tx *t)
{
    sb_buf msg;
    sb_buf_init(&msg, (size_t)P.max_tx_size + 64);
    FUZZ_CHECK(sb_tx_sign_message(t->kind, t->tx->body.data, t->tx->body.len, &msg) == 0,
               "sign message");
    int who = pub_index(t->signer);
    if (t->kind == SB_TX_KIND_PROPOSAL) {
        FUZZ_CHECK(who == K_A || who == K_B, "accepted proposal from a non-curator");
        FUZZ_CHECK(sb_ed25519_verify(g_pub[who], msg.data, msg.len, t->tx->signature.data),
                   "accepted proposal not signed by its curator");
        const Sleetbubble__V1__ProposalBody *pb = t->proposal;
        FUZZ_CHECK(pb->playlist && pb->playlist->n_tracks >= 1 &&
                       pb->playlist->n_tracks <= P.max_tracks,
                   "accepted playlist size");
        uint64_t sum = 0;
        for (size_t i = 0; i < pb->playlist->n_tracks; i++) {
            uint32_t d = pb->playlist->tracks[i]->duration_ms;
            FUZZ_CHECK(d >= 1 && d <= SB_TRACK_DURATION_MAX_MS, "accepted track duration");
            sum += d;
        }
        FUZZ_CHECK(sum <= P.slot_seconds * 1000, "accepted playlist longer than the slot");
        FUZZ_CHECK(strlen(pb->note) <= SB_NOTE_MAX_BYTES, "accepted note length");
    } else {
        FUZZ_CHECK(who == K_V1 || who == K_V2 || who == K_V3, "accepted vote of a non-validator");
        int key = who == K_V3 ? K_VK3 : who;
        FUZZ_CHECK(sb_ed25519_verify(g_pub[key], msg.data, msg.len, t->tx->signature.data),
                   "accepted vote not signed by the validator's vote key");
        FUZZ_CHECK(st_proposal_exists(NULL, t->slot, t->id), "accepted vote for an unknown id");
    }
    FUZZ_CHECK(sb_slot_is_open(&P, t->slot, NOW_NS), "accepted tx for a closed slot");
    sb_buf_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sb_tx_view view = { NULL, st_proposal_exists, st_curator_proposed, st_validator_voted,
                        st_proposal_count };
    sb_tx t;
    char log[512], log0[512] = "";
    int rc = sb_tx_check(&P, &view, data, size, NOW_NS, &t, log, sizeof(log));
    FUZZ_CHECK(rc >= SB_OK && rc <= SB_PROPOSAL_LIMIT, "code out of range");
    FUZZ_CHECK((rc == SB_OK) == (log[0] == '\0'), "log empty iff OK");
    FUZZ_CHECK(!has_control(log), "control character in a tx log");
    int stateful = rc == SB_UNKNOWN_PROPOSAL || rc == SB_DUPLICATE || rc == SB_PROPOSAL_LIMIT;
    if (rc == SB_OK || stateful) { /* the state was asked: without it, every check passes */
        sb_tx t0;
        int rc0 = sb_tx_check(&P, NULL, data, size, NOW_NS, &t0, log0, sizeof(log0));
        sb_tx_free(&t0);
        FUZZ_CHECK(rc0 == SB_OK && log0[0] == '\0', "stateless check disagrees");
    }
    g_codes[rc]++;
    if (rc == SB_OK)
        check_accepted(&t);
    sb_tx_free(&t);

    int d = sb_tx_decode(data, size, P.max_tx_size, &t, NULL, 0);
    FUZZ_CHECK((rc == SB_ENCODING) == (d == SB_ENCODING), "decode and check disagree");
    if (d == SB_OK) {
        size_t n = sleetbubble__v1__tx__get_packed_size(t.tx);
        uint8_t *b = malloc(n ? n : 1);
        FUZZ_CHECK(b != NULL, "out of memory");
        sleetbubble__v1__tx__pack(t.tx, b);
        FUZZ_CHECK(n == size && memcmp(b, data, n) == 0, "decoded tx does not re-pack");
        free(b);
    }
    sb_tx_free(&t);

    uint8_t bin[SB_CID_BIN_MAX];
    size_t bl;
    char back[SB_CID_STR_MAX];
    if (sb_cid_parse((const char *)data, size, bin, &bl) == 0) {
        FUZZ_CHECK(sb_cid_to_string(bin, bl, back, sizeof(back)) == 0, "CID prints");
        FUZZ_CHECK(strlen(back) == size && memcmp(back, data, size) == 0, "CID round trip");
    }
    return 0;
}

/* ---- the structure-aware mutator --------------------------------------------------------- */

static uint64_t g_rng;
static uint64_t rnd(uint64_t n)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return n ? g_rng % n : 0;
}

#define MAX_TRACKS 40
#define STR_CAP 1200

typedef struct track_m {
    char cid[STR_CAP], title[STR_CAP], artist[STR_CAP];
    uint32_t duration_ms;
} track_m;

/* A tx body as plain fields (strings without NULs: the raw-body mutation covers those). */
typedef struct body_m {
    int kind;
    char chain[STR_CAP];
    uint64_t slot;
    uint8_t key[32];
    size_t n_tracks;
    int has_playlist;
    track_m tr[MAX_TRACKS];
    char note[STR_CAP];
    uint8_t proposal_id[32];
} body_m;

static void copy_str(char *dst, const char *src) { snprintf(dst, STR_CAP, "%s", src ? src : ""); }

/* Mutate a string in place with libFuzzer's mutator, or set it to a sample. */
static void mutate_str(char *s, const char *const *samples, size_t nsamples)
{
    uint64_t c = rnd(6);
    if (c == 0 && nsamples) {
        copy_str(s, samples[rnd(nsamples)]);
    } else if (c == 1) { /* one byte over a limit, or a long run */
        size_t n = (size_t)(rnd(3) == 0 ? 257 : rnd(3) == 0 ? 1025 : 1 + rnd(64));
        memset(s, 'a' + (int)rnd(26), n);
        s[n] = '\0';
    } else if (c == 2) { /* a bad or edge UTF-8 sequence */
        static const char *const bad[] = { "\xc0\x80", "\xed\xa0\x80", "\xe2\x80\xa8",
                                           "\x7f",     "\x01",         "\xf4\x90\x80\x80",
                                           "\xff",     "\xe2\x82",     "\xf0\x9f\x8e\xb5",
                                           "\xc3\xa9" };
        size_t l = strlen(s);
        const char *b = bad[rnd(sizeof(bad) / sizeof(bad[0]))];
        if (l + strlen(b) < STR_CAP - 1)
            memcpy(s + l, b, strlen(b) + 1);
    } else {
        size_t l = strlen(s);
        size_t n = LLVMFuzzerMutate((uint8_t *)s, l, STR_CAP - 1);
        s[n] = '\0'; /* a NUL inserted by the mutator cuts the string */
    }
}

static const char *const k_cids[] = {
    "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswty",
    "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
    "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswt",
    "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd0",
    "",
};

static uint64_t pick_slot(void)
{
    uint64_t cur = sb_slot_current(&P, NOW_NS);
    switch (rnd(10)) {
    case 0: return cur;
    case 1: return cur + 1;
    case 2: return cur + 2;
    case 3: return cur + 3;
    case 4: return cur + P.horizon_slots;
    case 5: return cur + P.horizon_slots + 1;
    case 6: return UINT64_MAX - rnd(3);
    case 7: return (uint64_t)1 << rnd(64);
    case 8: return rnd(2) ? 1 : 2;
    default: return rnd(100);
    }
}

static void mutate_proposal(body_m *m)
{
    for (uint64_t k = 1 + rnd(3); k > 0; k--) {
        switch (rnd(9)) {
        case 0: {
            static const char *const chains[] = { CHAIN, "other", "sleetbubble-vectors\x01" };
            mutate_str(m->chain, chains, 3);
            break;
        }
        case 1: m->slot = pick_slot(); break;
        case 2: {
            static const int who[] = { K_A, K_B, K_STRANGER, K_V1 };
            memcpy(m->key, g_pub[who[rnd(4)]], 32);
            break;
        }
        case 3: /* add a track (a copy of one, or a fresh valid one) */
            if (m->n_tracks < MAX_TRACKS) {
                track_m *t = &m->tr[m->n_tracks];
                if (m->n_tracks && rnd(2))
                    *t = m->tr[rnd(m->n_tracks)];
                else {
                    copy_str(t->cid, k_cids[rnd(3)]);
                    t->duration_ms = 1 + (uint32_t)rnd(5000);
                    copy_str(t->title, "T");
                    copy_str(t->artist, "A");
                }
                m->n_tracks++;
                m->has_playlist = 1;
            }
            break;
        case 4: /* remove a track, or all of them, or the playlist itself */
            if (rnd(4) == 0)
                m->n_tracks = 0, m->has_playlist = (int)rnd(2);
            else if (m->n_tracks) {
                size_t i = (size_t)rnd(m->n_tracks);
                memmove(&m->tr[i], &m->tr[i + 1], (m->n_tracks - i - 1) * sizeof(m->tr[0]));
                m->n_tracks--;
            }
            break;
        case 5:
            if (m->n_tracks) {
                static const uint32_t d[] = { 0,     1,     3600000, 3600001,
                                              20000, 19999, 20001,   UINT32_MAX };
                m->tr[rnd(m->n_tracks)].duration_ms =
                    rnd(2) ? d[rnd(8)] : (uint32_t)rnd(UINT32_MAX);
            }
            break;
        case 6:
            if (m->n_tracks)
                mutate_str(m->tr[rnd(m->n_tracks)].cid, k_cids, 6);
            break;
        case 7:
            if (m->n_tracks) {
                track_m *t = &m->tr[rnd(m->n_tracks)];
                mutate_str(rnd(2) ? t->title : t->artist, NULL, 0);
            }
            break;
        default: mutate_str(m->note, NULL, 0); break;
        }
    }
}

static void mutate_vote(body_m *m)
{
    for (uint64_t k = 1 + rnd(3); k > 0; k--) {
        switch (rnd(4)) {
        case 0: {
            static const char *const chains[] = { CHAIN, "other" };
            mutate_str(m->chain, chains, 2);
            break;
        }
        case 1: m->slot = pick_slot(); break;
        case 2: {
            static const int who[] = { K_V1, K_V2, K_V3, K_VK3, K_STRANGER, K_A };
            memcpy(m->key, g_pub[who[rnd(6)]], 32);
            break;
        }
        default:
            if (rnd(4))
                memcpy(m->proposal_id, g_known_id[rnd(2)], 32);
            else
                m->proposal_id[rnd(32)] ^= (uint8_t)(1u << rnd(8));
            break;
        }
    }
}

/* Read a decoded body into the model. 0, or -1 when there is no body to work on. */
static int load_model(const Sleetbubble__V1__Tx *tx, body_m *m)
{
    memset(m, 0, sizeof(*m));
    m->kind = tx->kind;
    if (tx->kind == SB_TX_KIND_PROPOSAL) {
        Sleetbubble__V1__ProposalBody *pb =
            sleetbubble__v1__proposal_body__unpack(NULL, tx->body.len, tx->body.data);
        if (!pb)
            return -1;
        copy_str(m->chain, pb->chain_id);
        m->slot = pb->slot;
        if (pb->curator_pubkey.len == 32)
            memcpy(m->key, pb->curator_pubkey.data, 32);
        m->has_playlist = pb->playlist != NULL;
        for (size_t i = 0; pb->playlist && i < pb->playlist->n_tracks && i < MAX_TRACKS; i++) {
            const Sleetbubble__V1__Track *t = pb->playlist->tracks[i];
            copy_str(m->tr[i].cid, t->cid);
            copy_str(m->tr[i].title, t->title);
            copy_str(m->tr[i].artist, t->artist);
            m->tr[i].duration_ms = t->duration_ms;
            m->n_tracks = i + 1;
        }
        copy_str(m->note, pb->note);
        sleetbubble__v1__proposal_body__free_unpacked(pb, NULL);
        return 0;
    }
    if (tx->kind == SB_TX_KIND_VOTE) {
        Sleetbubble__V1__VoteBody *vb =
            sleetbubble__v1__vote_body__unpack(NULL, tx->body.len, tx->body.data);
        if (!vb)
            return -1;
        copy_str(m->chain, vb->chain_id);
        m->slot = vb->slot;
        if (vb->proposal_id.len == 32)
            memcpy(m->proposal_id, vb->proposal_id.data, 32);
        if (vb->validator_pubkey.len == 32)
            memcpy(m->key, vb->validator_pubkey.data, 32);
        sleetbubble__v1__vote_body__free_unpacked(vb, NULL);
        return 0;
    }
    return -1;
}

/* Pack the model's body into out (malloc'd). Returns its length. */
static size_t pack_model(const body_m *m, uint8_t **out)
{
    size_t n;
    if (m->kind == SB_TX_KIND_PROPOSAL) {
        static Sleetbubble__V1__Track tr[MAX_TRACKS];
        static Sleetbubble__V1__Track *trp[MAX_TRACKS];
        Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
        Sleetbubble__V1__ProposalBody pb = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
        for (size_t i = 0; i < m->n_tracks; i++) {
            sleetbubble__v1__track__init(&tr[i]);
            tr[i].cid = (char *)m->tr[i].cid;
            tr[i].duration_ms = m->tr[i].duration_ms;
            tr[i].title = (char *)m->tr[i].title;
            tr[i].artist = (char *)m->tr[i].artist;
            trp[i] = &tr[i];
        }
        pl.n_tracks = m->n_tracks;
        pl.tracks = trp;
        pb.chain_id = (char *)m->chain;
        pb.slot = m->slot;
        pb.curator_pubkey.data = (uint8_t *)m->key;
        pb.curator_pubkey.len = 32;
        pb.playlist = m->has_playlist ? &pl : NULL;
        pb.note = (char *)m->note;
        n = sleetbubble__v1__proposal_body__get_packed_size(&pb);
        *out = malloc(n ? n : 1);
        FUZZ_CHECK(*out != NULL, "out of memory");
        sleetbubble__v1__proposal_body__pack(&pb, *out);
    } else {
        Sleetbubble__V1__VoteBody vb = SLEETBUBBLE__V1__VOTE_BODY__INIT;
        vb.chain_id = (char *)m->chain;
        vb.slot = m->slot;
        vb.proposal_id.data = (uint8_t *)m->proposal_id;
        vb.proposal_id.len = 32;
        vb.validator_pubkey.data = (uint8_t *)m->key;
        vb.validator_pubkey.len = 32;
        n = sleetbubble__v1__vote_body__get_packed_size(&vb);
        *out = malloc(n ? n : 1);
        FUZZ_CHECK(*out != NULL, "out of memory");
        sleetbubble__v1__vote_body__pack(&vb, *out);
    }
    return n;
}

/* Sign body for the key it names: the test key's seed (V3 votes: its delegated vote key,
 * sometimes its own consensus key, which must fail), or garbage for an unknown key. */
static void sign_body(int kind, const uint8_t key[32], const uint8_t *body, size_t n,
                      uint8_t sig[64])
{
    int who = pub_index(key);
    if (kind == SB_TX_KIND_VOTE && who == K_V3 && rnd(8))
        who = K_VK3;
    if (who < 0 || rnd(32) == 0) {
        for (int i = 0; i < 64; i++)
            sig[i] = (uint8_t)rnd(256);
        return;
    }
    sb_buf msg;
    sb_buf_init(&msg, n + 64);
    FUZZ_CHECK(sb_tx_sign_message(kind, body, n, &msg) == 0, "sign message");
    FUZZ_CHECK(sb_ed25519_sign(g_seed[who], msg.data, msg.len, sig) == 0, "sign");
    sb_buf_free(&msg);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    g_rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 1 | 1);
    rnd(1);
    Sleetbubble__V1__Tx *tx = rnd(8) ? sleetbubble__v1__tx__unpack(NULL, size, data) : NULL;
    static body_m m;
    if (!tx || load_model(tx, &m) < 0) {
        if (tx)
            sleetbubble__v1__tx__free_unpacked(tx, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    uint8_t *body = NULL;
    size_t n;
    if (rnd(8) == 0) { /* raw body bytes, then a valid signature over them */
        body = malloc(tx->body.len + 64);
        FUZZ_CHECK(body != NULL, "out of memory");
        if (tx->body.len) /* an empty body decodes too (all fields default) */
            memcpy(body, tx->body.data, tx->body.len);
        n = LLVMFuzzerMutate(body, tx->body.len, tx->body.len + 64);
    } else {
        if (m.kind == SB_TX_KIND_PROPOSAL)
            mutate_proposal(&m);
        else
            mutate_vote(&m);
        n = pack_model(&m, &body);
    }
    uint8_t sig[64];
    sign_body(m.kind, m.key, body, n, sig);
    Sleetbubble__V1__Tx out = SLEETBUBBLE__V1__TX__INIT;
    out.kind = (Sleetbubble__V1__Kind)m.kind;
    out.body.data = body;
    out.body.len = n;
    out.signature.data = sig;
    out.signature.len = 64;
    size_t total = sleetbubble__v1__tx__get_packed_size(&out);
    sleetbubble__v1__tx__free_unpacked(tx, NULL);
    if (total > max_size) {
        free(body);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    sleetbubble__v1__tx__pack(&out, data);
    free(body);
    return total;
}

const char *fuzz_replay_summary(void)
{
    static char s[512];
    size_t n = (size_t)snprintf(s, sizeof(s), "; codes seen:");
    for (int c = 0; c <= SB_PROPOSAL_LIMIT && n < sizeof(s); c++)
        n += (size_t)snprintf(s + n, sizeof(s) - n, " %s %zu", sb_code_name(c), g_codes[c]);
    return s;
}
