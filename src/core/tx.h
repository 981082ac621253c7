/* tx.h — Sleetbubble transactions: decode, canonical-bytes check, signature, judging
 * (protocol.md §4, §4.1), and building signed txs (CLI, tests). */
#ifndef SB_TX_H
#define SB_TX_H

#include <stddef.h>
#include <stdint.h>

#include "sb_buf.h"
#include "params.h"
#include "sleetbubble/v1/tx.pb-c.h"

#define SB_TX_KIND_PROPOSAL 1
#define SB_TX_KIND_VOTE 2
/* Limits of protocol.md §4. */
#define SB_TRACK_DURATION_MAX_MS 3600000u
#define SB_TITLE_MAX_BYTES 256u
#define SB_NOTE_MAX_BYTES 1024u

/* A decoded tx. All pointers are owned (protobuf-c unpacked) and freed by sb_tx_free. */
typedef struct sb_tx {
    int kind;                                /* 1 proposal, 2 vote */
    Sleetbubble__V1__Tx *tx;                 /* owned, protobuf-c unpacked */
    Sleetbubble__V1__ProposalBody *proposal; /* owned, kind 1 */
    Sleetbubble__V1__VoteBody *vote;         /* owned, kind 2 */
    uint64_t slot;
    uint8_t id[32];             /* proposal: its proposal_id; vote: the proposal_id it names */
    uint8_t signer[32];         /* proposal: curator pubkey; vote: validator_pubkey */
    uint64_t total_duration_ms; /* proposals: sum of track durations (0 for votes) */
} sb_tx;

/* Free the owned members and zero t. Safe on a zeroed struct and twice. */
void sb_tx_free(sb_tx *t);

/* The state a tx is judged against: committed state + earlier txs of this block (+ this
 * node's mempool view in CheckTx). Each predicate returns 1 yes / 0 no / < 0 internal error
 * (sb_tx_check then returns that negative value). proposal_count returns 0 ok / < 0. */
typedef struct sb_tx_view {
    void *arg;
    int (*proposal_exists)(void *arg, uint64_t slot, const uint8_t id[32]);
    int (*curator_proposed)(void *arg, uint64_t slot, const uint8_t curator[32]);
    int (*validator_voted)(void *arg, uint64_t slot, const uint8_t validator[32]);
    int (*proposal_count)(void *arg, uint64_t slot, uint32_t *count);
} sb_tx_view;

/* Judge tx bytes[0..len) at time now_ns (ns) per protocol.md §4.1: checks in SPEC order, the first
 * failure wins. Returns the sb_code (>= 0), or < 0 on an internal / view error.
 * out (may be NULL) receives the decoded tx whenever ENCODING passed, else is zeroed; the
 * caller always calls sb_tx_free(out). view NULL skips the stateful checks (UNKNOWN_PROPOSAL,
 * DUPLICATE, PROPOSAL_LIMIT). log (may be NULL) receives a one-line reason naming the field
 * and the limit ("" for OK). Pure: no clock, no I/O. */
int sb_tx_check(const sb_params *p, const sb_tx_view *view, const uint8_t *bytes, size_t len,
                int64_t now_ns, sb_tx *out, char *log, size_t loglen);

/* A signature verification with sb_ed25519_verify's contract: 1 valid, 0 invalid, < 0
 * internal error (sb_tx_check_v then returns it). It must return what sb_ed25519_verify would
 * (it may remember earlier verifications of the same pub, msg and sig). */
typedef int (*sb_verify_fn)(void *arg, const uint8_t pub[32], const uint8_t *msg, size_t len,
                            const uint8_t sig[64]);

/* sb_tx_check with the SIGNATURE stage's verification done by verify(verify_arg, ...);
 * verify NULL = sb_ed25519_verify. Same checks, same order, same codes (protocol.md §4.1). */
int sb_tx_check_v(const sb_params *p, const sb_tx_view *view, sb_verify_fn verify, void *verify_arg,
                  const uint8_t *bytes, size_t len, int64_t now_ns, sb_tx *out, char *log,
                  size_t loglen);

/* The key the SIGNATURE stage of protocol.md §4 verifies a decoded tx against: a proposal's
 * curator_pubkey; a vote's validator's genesis vote key when it has one, else its
 * validator_pubkey. Writes it to key and returns 1 if it is the delegated vote key, else 0. */
int sb_tx_sig_key(const sb_params *p, const sb_tx *t, uint8_t key[32]);

/* Only the ENCODING stage of sb_tx_check: decode and require canonical bytes, known kind,
 * exact byte-field lengths, no unknown fields, len <= max_tx_size. SB_OK or SB_ENCODING
 * (or < 0 out of memory); *out filled on SB_OK (caller sb_tx_free's it either way). */
int sb_tx_decode(const uint8_t *bytes, size_t len, uint32_t max_tx_size, sb_tx *out, char *log,
                 size_t loglen);

/* proposal_id = SHA-256("sleetbubble/v1/proposal\0" || body[0..len)) (protocol.md §4). */
void sb_proposal_id(const uint8_t *body, size_t len, uint8_t id[32]);

/* The signed message "sleetbubble/v1/" kind_name "\0" || body into out (caller-initialised).
 * kind 1 "proposal", 2 "vote". 0 / -1. */
int sb_tx_sign_message(int kind, const uint8_t *body, size_t len, sb_buf *out);

/* The per-track rules of protocol.md §4 PLAYLIST_INVALID that need no genesis: cid[0..cid_len) a
 * CIDv0 or base32 CIDv1 of raw/dag-pb sha2-256 content; 1 <= duration_ms <= 3 600 000;
 * title and artist (NULL = "") at most 256 bytes of §4 strings. The node (sb_tx_check) and
 * the CLI (playlist files) both judge tracks with it. Returns 1 ok, or 0 with
 * "<field>: <reason>" in why[0..whylen) (field: cid, duration_ms, title, artist), e.g.
 * "duration_ms: 0 outside [1, 3600000]". */
int sb_track_check(const char *cid, size_t cid_len, int64_t duration_ms, const char *title,
                   size_t title_len, const char *artist, size_t artist_len, char *why,
                   size_t whylen);

/* The note rule of protocol.md §4: at most 1024 bytes of §4 string. 1 ok, or 0 with
 * "note: <reason>" in why. */
int sb_note_check(const char *note, size_t len, char *why, size_t whylen);

/* One track to build into a proposal; title/artist may be NULL (= ""). */
typedef struct sb_track_in {
    const char *cid;
    uint32_t duration_ms;
    const char *title;
    const char *artist;
} sb_track_in;

/* Build the canonical signed proposal tx for slot with tracks[0..n) and note (NULL = "")
 * signed by curator_seed's key. out: caller-initialised sb_buf receives the Tx bytes;
 * proposal_id (may be NULL) gets its id. Does not validate the content (sb_tx_check does).
 * 0 / -1. */
int sb_tx_build_proposal(const char *chain_id, uint64_t slot, const uint8_t curator_seed[32],
                         const sb_track_in *tracks, size_t n, const char *note, sb_buf *out,
                         uint8_t proposal_id[32]);

/* Build the canonical signed vote tx naming validator_pub for proposal_id in slot, signed
 * with vote_seed's key (the vote key, or the consensus key's seed). 0 / -1. */
int sb_tx_build_vote(const char *chain_id, uint64_t slot, const uint8_t proposal_id[32],
                     const uint8_t validator_pub[32], const uint8_t vote_seed[32], sb_buf *out);

#endif
