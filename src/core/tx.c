/* tx.c — decoding, canonical-bytes check and judging of transactions (protocol.md §4, §4.1). */
#include "tx.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "ed25519.h"
#include "sb_code.h"
#include "sb_hash.h"
#include "sb_string.h"
#include "slot.h"

#define SIG_PREFIX "sleetbubble/v1/"

__attribute__((format(printf, 3, 4))) static void setlog(char *log, size_t loglen, const char *fmt,
                                                         ...)
{
    if (!log || !loglen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(log, loglen, fmt, ap);
    va_end(ap);
}

void sb_tx_free(sb_tx *t)
{
    if (!t)
        return;
    if (t->proposal)
        sleetbubble__v1__proposal_body__free_unpacked(t->proposal, NULL);
    if (t->vote)
        sleetbubble__v1__vote_body__free_unpacked(t->vote, NULL);
    if (t->tx)
        sleetbubble__v1__tx__free_unpacked(t->tx, NULL);
    memset(t, 0, sizeof *t);
}

void sb_proposal_id(const uint8_t *body, size_t len, uint8_t id[32])
{
    static const char dom[] = "sleetbubble/v1/proposal"; /* + its NUL */
    sb_sha256v(id, 2, (const void *)dom, sizeof dom, (const void *)body, len);
}

static const char *kind_name(int kind)
{
    return kind == SB_TX_KIND_PROPOSAL ? "proposal" : kind == SB_TX_KIND_VOTE ? "vote" : NULL;
}

int sb_tx_sign_message(int kind, const uint8_t *body, size_t len, sb_buf *out)
{
    const char *k = kind_name(kind);
    if (!k)
        return -1;
    sb_buf_puts(out, SIG_PREFIX);
    sb_buf_puts(out, k);
    sb_buf_putc(out, 0);
    sb_buf_append(out, body, len);
    return out->oom ? -1 : 0;
}

/* 1 iff packing m gives exactly bytes[0..len). -1 out of memory. */
static int repacks_to(const ProtobufCMessage *m, const uint8_t *bytes, size_t len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n != len)
        return 0;
    if (n == 0)
        return 1;
    uint8_t *b = malloc(n);
    if (!b)
        return -1;
    size_t w = protobuf_c_message_pack(m, b);
    int same = w == len && memcmp(b, bytes, len) == 0;
    free(b);
    return same;
}

/* The ENCODING rules of protocol.md §4 for a proposal body body[0..blen) into out (which owns
 * the unpacked body from here on). SB_OK, SB_ENCODING (log set) or -1 out of memory. */
static int decode_proposal(const uint8_t *body, size_t blen, sb_tx *out, char *log, size_t loglen)
{
    Sleetbubble__V1__ProposalBody *pb = sleetbubble__v1__proposal_body__unpack(NULL, blen, body);
    out->proposal = pb;
    if (!pb) {
        setlog(log, loglen, "proposal: body is not a decodable ProposalBody");
        return SB_ENCODING;
    }
    if (pb->base.n_unknown_fields || (pb->playlist && pb->playlist->base.n_unknown_fields)) {
        setlog(log, loglen, "proposal: unknown field");
        return SB_ENCODING;
    }
    if (pb->playlist) {
        for (size_t i = 0; i < pb->playlist->n_tracks; i++) {
            if (pb->playlist->tracks[i]->base.n_unknown_fields) {
                setlog(log, loglen, "proposal: track %zu: unknown field", i);
                return SB_ENCODING;
            }
        }
    }
    if (pb->curator_pubkey.len != 32) {
        setlog(log, loglen, "proposal.curator_pubkey: %zu bytes, want 32", pb->curator_pubkey.len);
        return SB_ENCODING;
    }
    int r = repacks_to(&pb->base, body, blen);
    if (r < 0)
        return -1;
    if (!r) {
        setlog(log, loglen, "proposal: body is not the canonical encoding");
        return SB_ENCODING;
    }
    out->kind = SB_TX_KIND_PROPOSAL;
    out->slot = pb->slot;
    memcpy(out->signer, pb->curator_pubkey.data, 32);
    sb_proposal_id(body, blen, out->id);
    if (pb->playlist)
        for (size_t i = 0; i < pb->playlist->n_tracks; i++)
            out->total_duration_ms += pb->playlist->tracks[i]->duration_ms;
    return SB_OK;
}

/* The same for a vote body. SB_OK, SB_ENCODING (log set) or -1 out of memory. */
static int decode_vote(const uint8_t *body, size_t blen, sb_tx *out, char *log, size_t loglen)
{
    Sleetbubble__V1__VoteBody *vb = sleetbubble__v1__vote_body__unpack(NULL, blen, body);
    out->vote = vb;
    if (!vb) {
        setlog(log, loglen, "vote: body is not a decodable VoteBody");
        return SB_ENCODING;
    }
    if (vb->base.n_unknown_fields) {
        setlog(log, loglen, "vote: unknown field");
        return SB_ENCODING;
    }
    if (vb->proposal_id.len != 32) {
        setlog(log, loglen, "vote.proposal_id: %zu bytes, want 32", vb->proposal_id.len);
        return SB_ENCODING;
    }
    if (vb->validator_pubkey.len != 32) {
        setlog(log, loglen, "vote.validator_pubkey: %zu bytes, want 32", vb->validator_pubkey.len);
        return SB_ENCODING;
    }
    int r = repacks_to(&vb->base, body, blen);
    if (r < 0)
        return -1;
    if (!r) {
        setlog(log, loglen, "vote: body is not the canonical encoding");
        return SB_ENCODING;
    }
    out->kind = SB_TX_KIND_VOTE;
    out->slot = vb->slot;
    memcpy(out->id, vb->proposal_id.data, 32);
    memcpy(out->signer, vb->validator_pubkey.data, 32);
    return SB_OK;
}

int sb_tx_decode(const uint8_t *bytes, size_t len, uint32_t max_tx_size, sb_tx *out, char *log,
                 size_t loglen)
{
    int r;
    memset(out, 0, sizeof *out);
    setlog(log, loglen, "%s", "");
    if (len > max_tx_size) {
        setlog(log, loglen, "tx: size %zu exceeds max_tx_size %" PRIu32, len, max_tx_size);
        return SB_ENCODING;
    }
    out->tx = sleetbubble__v1__tx__unpack(NULL, len, bytes);
    if (!out->tx) {
        setlog(log, loglen, "tx: not a decodable Tx message");
        goto encoding;
    }
    Sleetbubble__V1__Tx *tx = out->tx;
    if (tx->base.n_unknown_fields) {
        setlog(log, loglen, "tx: unknown field");
        goto encoding;
    }
    if (tx->kind != SB_TX_KIND_PROPOSAL && tx->kind != SB_TX_KIND_VOTE) {
        setlog(log, loglen, "tx.kind: %d is not 1 (proposal) or 2 (vote)", (int)tx->kind);
        goto encoding;
    }
    if (tx->signature.len != 64) {
        setlog(log, loglen, "tx.signature: %zu bytes, want 64", tx->signature.len);
        goto encoding;
    }
    r = repacks_to(&tx->base, bytes, len);
    if (r < 0)
        goto oom;
    if (!r) {
        setlog(log, loglen, "tx: not the canonical encoding");
        goto encoding;
    }
    r = tx->kind == SB_TX_KIND_PROPOSAL
            ? decode_proposal(tx->body.data, tx->body.len, out, log, loglen)
            : decode_vote(tx->body.data, tx->body.len, out, log, loglen);
    if (r < 0)
        goto oom;
    if (r != SB_OK)
        goto encoding;
    return SB_OK;
encoding:
    sb_tx_free(out);
    return SB_ENCODING;
oom:
    sb_tx_free(out);
    setlog(log, loglen, "out of memory");
    return -1;
}

/* A §4 string field of at most SB_TITLE_MAX_BYTES / SB_NOTE_MAX_BYTES bytes. */
static int field_ok(const char *name, const char *v, size_t n, size_t max, char *why, size_t whylen)
{
    if (n > max) {
        setlog(why, whylen, "%s: %zu bytes, more than %zu", name, n, max);
        return 0;
    }
    if (!sb_string_ok(v, n)) {
        setlog(why, whylen,
               "%s: contains a control character, U+2028/U+2029 or invalid UTF-8 "
               "(protocol.md §4 strings)",
               name);
        return 0;
    }
    return 1;
}

int sb_track_check(const char *cid, size_t cid_len, int64_t duration_ms, const char *title,
                   size_t title_len, const char *artist, size_t artist_len, char *why,
                   size_t whylen)
{
    uint8_t bin[SB_CID_BIN_MAX];
    size_t binlen;
    if (sb_cid_parse(cid, cid_len, bin, &binlen) < 0) {
        int show = sb_string_ok(cid, cid_len);
        setlog(why, whylen,
               "cid: \"%.*s\" is not a CIDv0 (Qm…) or a base32 CIDv1 (b…) of raw or "
               "dag-pb content (sha2-256)",
               show ? (int)(cid_len < 80 ? cid_len : 80) : 1, show ? cid : "?");
        return 0;
    }
    if (duration_ms < 1 || duration_ms > (int64_t)SB_TRACK_DURATION_MAX_MS) {
        setlog(why, whylen, "duration_ms: %" PRId64 " outside [1, %u]", duration_ms,
               SB_TRACK_DURATION_MAX_MS);
        return 0;
    }
    return field_ok("title", title ? title : "", title ? title_len : 0, SB_TITLE_MAX_BYTES, why,
                    whylen) &&
           field_ok("artist", artist ? artist : "", artist ? artist_len : 0, SB_TITLE_MAX_BYTES,
                    why, whylen);
}

int sb_note_check(const char *note, size_t len, char *why, size_t whylen)
{
    return field_ok("note", note ? note : "", note ? len : 0, SB_NOTE_MAX_BYTES, why, whylen);
}

/* PLAYLIST_INVALID checks of protocol.md §4 for a decoded proposal; 1 ok, 0 invalid (log set). */
static int playlist_ok(const sb_params *p, const Sleetbubble__V1__ProposalBody *pb, char *log,
                       size_t loglen)
{
    char why[400];
    size_t n = pb->playlist ? pb->playlist->n_tracks : 0;
    if (n < 1 || n > p->max_tracks) {
        setlog(log, loglen, "playlist: %zu tracks outside [1, %" PRIu32 "]", n, p->max_tracks);
        return 0;
    }
    uint64_t sum = 0, max_sum = p->slot_seconds * 1000;
    for (size_t i = 0; i < n; i++) {
        const Sleetbubble__V1__Track *t = pb->playlist->tracks[i];
        const char *cid = t->cid ? t->cid : "", *title = t->title ? t->title : "",
                   *artist = t->artist ? t->artist : "";
        if (!sb_track_check(cid, strlen(cid), t->duration_ms, title, strlen(title), artist,
                            strlen(artist), why, sizeof why)) {
            setlog(log, loglen, "playlist: track %zu %s", i, why);
            return 0;
        }
        sum += t->duration_ms;
    }
    if (sum > max_sum) {
        setlog(log, loglen, "playlist: total duration %" PRIu64 " ms exceeds slot %" PRIu64 " ms",
               sum, max_sum);
        return 0;
    }
    const char *note = pb->note ? pb->note : "";
    if (!sb_note_check(note, strlen(note), why, sizeof why)) {
        setlog(log, loglen, "proposal: %s", why);
        return 0;
    }
    return 1;
}

/* CHAIN_ID of protocol.md §4: the body's chain_id is this chain's. SB_OK or SB_CHAIN_ID. */
static int check_chain(const sb_params *p, const sb_tx *t, char *log, size_t loglen)
{
    int is_prop = t->kind == SB_TX_KIND_PROPOSAL;
    const char *chain = is_prop ? t->proposal->chain_id : t->vote->chain_id;
    if (chain && strcmp(chain, p->chain_id) == 0)
        return SB_OK;
    setlog(log, loglen, "%s.chain_id: \"%.60s\" is not this chain (\"%s\")",
           is_prop ? "proposal" : "vote", chain && sb_string_ok(chain, strlen(chain)) ? chain : "?",
           p->chain_id);
    return SB_CHAIN_ID;
}

int sb_tx_sig_key(const sb_params *p, const sb_tx *t, uint8_t key[32])
{
    if (t->kind == SB_TX_KIND_VOTE) {
        const sb_validator *v = sb_params_validator(p, t->signer);
        if (v && v->has_vote_key) {
            memcpy(key, v->vote_key, 32);
            return 1;
        }
    }
    memcpy(key, t->signer, 32);
    return 0;
}

/* SIGNATURE, then CURATOR_NOT_ALLOWED / NOT_VALIDATOR (protocol.md §4). SB_OK, one of those
 * codes (log set), or < 0 (out of memory, or the verifier's error). */
static int check_signer(const sb_params *p, const sb_tx *t, sb_verify_fn verify, void *varg,
                        char *log, size_t loglen)
{
    sb_buf msg;
    int rc = SB_OK;
    char hex[65];
    uint8_t key[32];
    sb_buf_init(&msg, (size_t)p->max_tx_size + 64);
    if (sb_tx_sign_message(t->kind, t->tx->body.data, t->tx->body.len, &msg) < 0) {
        rc = -1;
        goto done;
    }
    int delegated = sb_tx_sig_key(p, t, key);
    int ok = verify ? verify(varg, key, msg.data, msg.len, t->tx->signature.data)
                    : sb_ed25519_verify(key, msg.data, msg.len, t->tx->signature.data);
    if (ok < 0) {
        rc = ok;
    } else if (!ok) {
        setlog(log, loglen, "signature: invalid for %s",
               t->kind == SB_TX_KIND_PROPOSAL ? "curator_pubkey"
               : delegated                    ? "the validator's genesis vote key"
                                              : "validator_pubkey");
        rc = SB_SIGNATURE;
    } else if (t->kind == SB_TX_KIND_PROPOSAL) {
        if (p->n_curators > 0 && !sb_params_is_curator(p, t->signer)) {
            sb_hex(t->signer, 32, hex);
            setlog(log, loglen, "proposal.curator_pubkey: %s is not in the genesis curators", hex);
            rc = SB_CURATOR_NOT_ALLOWED;
        }
    } else if (!sb_params_validator(p, t->signer)) {
        sb_hex(t->signer, 32, hex);
        setlog(log, loglen, "vote.validator_pubkey: %s is not a validator", hex);
        rc = SB_NOT_VALIDATOR;
    }
done:
    sb_buf_free(&msg);
    return rc;
}

/* SLOT_CLOSED, SLOT_TOO_FAR (protocol.md §3, §4) at now_ns. SB_OK or the code (log set). */
static int check_slot(const sb_params *p, const sb_tx *t, int64_t now_ns, char *log, size_t loglen)
{
    if (!sb_slot_is_open(p, t->slot, now_ns)) {
        setlog(log, loglen, "slot: %" PRIu64 " closed (now >= close)", t->slot);
        return SB_SLOT_CLOSED;
    }
    if (!sb_slot_within_horizon(p, t->slot, now_ns)) {
        setlog(log, loglen, "slot: %" PRIu64 " beyond current %" PRIu64 " + horizon %" PRIu64,
               t->slot, sb_slot_current(p, now_ns), p->horizon_slots);
        return SB_SLOT_TOO_FAR;
    }
    return SB_OK;
}

/* The rules that need the state (protocol.md §4): UNKNOWN_PROPOSAL, DUPLICATE,
 * PROPOSAL_LIMIT, in that order. SB_OK, the code (log set), or the view's error (< 0). */
static int check_state(const sb_params *p, const sb_tx_view *view, const sb_tx *t, char *log,
                       size_t loglen)
{
    int is_prop = t->kind == SB_TX_KIND_PROPOSAL;
    char hex[65];
    if (!is_prop) {
        int e = view->proposal_exists(view->arg, t->slot, t->id);
        if (e < 0)
            return e;
        if (!e) {
            sb_hex(t->id, 32, hex);
            setlog(log, loglen, "vote.proposal_id: %s is not an accepted proposal of slot %" PRIu64,
                   hex, t->slot);
            return SB_UNKNOWN_PROPOSAL;
        }
    }
    int d = is_prop ? view->curator_proposed(view->arg, t->slot, t->signer)
                    : view->validator_voted(view->arg, t->slot, t->signer);
    if (d < 0)
        return d;
    if (d) {
        setlog(log, loglen, "%s: already %s for slot %" PRIu64, is_prop ? "curator" : "validator",
               is_prop ? "proposed" : "voted", t->slot);
        return SB_DUPLICATE;
    }
    if (is_prop) {
        uint32_t count = 0;
        int e = view->proposal_count(view->arg, t->slot, &count);
        if (e < 0)
            return e;
        if (count >= p->max_proposals_per_slot) {
            setlog(log, loglen, "slot: %" PRIu64 " already has %" PRIu32 " proposals, max %" PRIu32,
                   t->slot, count, p->max_proposals_per_slot);
            return SB_PROPOSAL_LIMIT;
        }
    }
    return SB_OK;
}

int sb_tx_check(const sb_params *p, const sb_tx_view *view, const uint8_t *bytes, size_t len,
                int64_t now_ns, sb_tx *out, char *log, size_t loglen)
{
    return sb_tx_check_v(p, view, NULL, NULL, bytes, len, now_ns, out, log, loglen);
}

int sb_tx_check_v(const sb_params *p, const sb_tx_view *view, sb_verify_fn verify, void *verify_arg,
                  const uint8_t *bytes, size_t len, int64_t now_ns, sb_tx *out, char *log,
                  size_t loglen)
{
    sb_tx local;
    sb_tx *t = out ? out : &local;
    /* the stages in the order of protocol.md §4; the first failure wins */
    int rc = sb_tx_decode(bytes, len, p->max_tx_size, t, log, loglen);
    if (rc == SB_OK)
        rc = check_chain(p, t, log, loglen);
    if (rc == SB_OK)
        rc = check_signer(p, t, verify, verify_arg, log, loglen);
    if (rc == SB_OK)
        rc = check_slot(p, t, now_ns, log, loglen);
    if (rc == SB_OK && t->kind == SB_TX_KIND_PROPOSAL && !playlist_ok(p, t->proposal, log, loglen))
        rc = SB_PLAYLIST_INVALID;
    if (rc == SB_OK && view)
        rc = check_state(p, view, t, log, loglen);
    if (rc == SB_OK)
        setlog(log, loglen, "%s", "");
    if (rc < 0)
        setlog(log, loglen, "internal error %d while judging the tx", rc);
    if (!out)
        sb_tx_free(&local);
    return rc;
}

/* Sign body and append the packed Tx to out. */
static int finish_tx(int kind, const uint8_t *body, size_t blen, const uint8_t seed[32],
                     sb_buf *out)
{
    int rc = -1;
    uint8_t sig[64];
    uint8_t *packed = NULL;
    sb_buf msg;
    sb_buf_init(&msg, SIZE_MAX);
    if (sb_tx_sign_message(kind, body, blen, &msg) < 0)
        goto done;
    if (sb_ed25519_sign(seed, msg.data, msg.len, sig) < 0)
        goto done;
    Sleetbubble__V1__Tx tx = SLEETBUBBLE__V1__TX__INIT;
    tx.kind = (Sleetbubble__V1__Kind)kind;
    tx.body.data = (uint8_t *)body;
    tx.body.len = blen;
    tx.signature.data = sig;
    tx.signature.len = 64;
    size_t n = sleetbubble__v1__tx__get_packed_size(&tx);
    packed = malloc(n ? n : 1);
    if (!packed)
        goto done;
    sleetbubble__v1__tx__pack(&tx, packed);
    if (sb_buf_append(out, packed, n) < 0)
        goto done;
    rc = 0;
done:
    free(packed);
    sb_buf_free(&msg);
    return rc;
}

int sb_tx_build_proposal(const char *chain_id, uint64_t slot, const uint8_t curator_seed[32],
                         const sb_track_in *tracks, size_t n, const char *note, sb_buf *out,
                         uint8_t proposal_id[32])
{
    int rc = -1;
    uint8_t pub[32];
    uint8_t *body = NULL;
    Sleetbubble__V1__Track *tv = NULL, **tp = NULL;
    if (sb_ed25519_pubkey(curator_seed, pub) < 0)
        return -1;
    if (n) {
        tv = calloc(n, sizeof *tv);
        tp = calloc(n, sizeof *tp);
        if (!tv || !tp)
            goto done;
    }
    for (size_t i = 0; i < n; i++) {
        Sleetbubble__V1__Track t = SLEETBUBBLE__V1__TRACK__INIT;
        t.cid = (char *)(tracks[i].cid ? tracks[i].cid : "");
        t.duration_ms = tracks[i].duration_ms;
        t.title = (char *)(tracks[i].title ? tracks[i].title : "");
        t.artist = (char *)(tracks[i].artist ? tracks[i].artist : "");
        tv[i] = t;
        tp[i] = &tv[i];
    }
    Sleetbubble__V1__Playlist pl = SLEETBUBBLE__V1__PLAYLIST__INIT;
    pl.n_tracks = n;
    pl.tracks = tp;
    Sleetbubble__V1__ProposalBody pb = SLEETBUBBLE__V1__PROPOSAL_BODY__INIT;
    pb.chain_id = (char *)(chain_id ? chain_id : "");
    pb.slot = slot;
    pb.curator_pubkey.data = pub;
    pb.curator_pubkey.len = 32;
    pb.playlist = &pl;
    pb.note = (char *)(note ? note : "");
    size_t blen = sleetbubble__v1__proposal_body__get_packed_size(&pb);
    body = malloc(blen ? blen : 1);
    if (!body)
        goto done;
    sleetbubble__v1__proposal_body__pack(&pb, body);
    if (proposal_id)
        sb_proposal_id(body, blen, proposal_id);
    rc = finish_tx(SB_TX_KIND_PROPOSAL, body, blen, curator_seed, out);
done:
    free(body);
    free(tp);
    free(tv);
    return rc;
}

int sb_tx_build_vote(const char *chain_id, uint64_t slot, const uint8_t proposal_id[32],
                     const uint8_t validator_pub[32], const uint8_t vote_seed[32], sb_buf *out)
{
    uint8_t pid[32], vpub[32];
    memcpy(pid, proposal_id, 32);
    memcpy(vpub, validator_pub, 32);
    Sleetbubble__V1__VoteBody vb = SLEETBUBBLE__V1__VOTE_BODY__INIT;
    vb.chain_id = (char *)(chain_id ? chain_id : "");
    vb.slot = slot;
    vb.proposal_id.data = pid;
    vb.proposal_id.len = 32;
    vb.validator_pubkey.data = vpub;
    vb.validator_pubkey.len = 32;
    size_t blen = sleetbubble__v1__vote_body__get_packed_size(&vb);
    uint8_t *body = malloc(blen ? blen : 1);
    if (!body)
        return -1;
    sleetbubble__v1__vote_body__pack(&vb, body);
    int rc = finish_tx(SB_TX_KIND_VOTE, body, blen, vote_seed, out);
    free(body);
    return rc;
}
