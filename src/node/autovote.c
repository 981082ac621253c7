/* autovote.c — the vote agent thread (protocol.md §15). See autovote.h.
 *
 * One loop, once a second: /status (catching_up: wait) → parameters and key check (once) →
 * the first slot still open at the last block time → WAIT: check the availability of newly
 * committed proposals; DECIDE (block time inside [close - lead, close)): find h*, decide with
 * sb_agent_decide, journal, broadcast; afterwards rebroadcast the journalled bytes until the
 * vote is committed or the slot closes. Per-slot state is reset when the target slot moves,
 * so nothing grows with history. */
#include "autovote.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "agent.h"
#include "ed25519.h"
#include "kubo.h"
#include "log.h"
#include "metrics.h"
#include "params.h"
#include "rpc.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "sb_time.h"
#include "tx.h"
#include "vjournal.h"

#define MOD "vote"
/* Poll period of the loop, ms. */
#define POLL_MS 1000
/* RPC call limit, s (a CometBFT RPC call is local and quick). */
#define RPC_TIMEOUT_S 10
/* Rebroadcast a journalled vote every this many polls until it is committed. */
#define REBROADCAST_POLLS 3
/* Largest key file read, bytes. */
#define KEY_FILE_MAX 65536

typedef enum { AV_UNKNOWN = 0, AV_OK, AV_NO } avail_state;

typedef struct avail_ent {
    uint8_t id[32];
    avail_state st;
} avail_ent;

struct sb_autovote {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop; /* under mu */
    atomic_int cancel;
    sb_config cfg; /* copy */
    char journal[4200];
    int lockfd; /* the journal's lock, held for the agent's lifetime (vjournal.h) */
    char auth[1024];
    uint8_t seed[32], keypub[32];
    char keyhex[65];
    sb_rpcc rpc;
    sb_kubo *kubo;
    /* chain facts, once */
    int have_params, fatal;
    sb_params p;
    uint8_t valpub[32];
    char valhex[65];
    int warned_interval;
    /* quiet logging: one line per state change */
    int said_catching_up, said_no_init, said_rpc_down;
    /* per target slot */
    int have_slot;
    uint64_t slot;
    int decided;    /* this slot needs no further decision */
    int journalled; /* jrec holds our vote for this slot, not yet seen committed */
    unsigned polls_since_send;
    sb_vjournal_rec jrec;
    avail_ent *avail;
    size_t n_avail, cap_avail;
};

/* ---- key ------------------------------------------------------------------------------- */

int sb_autovote_load_key(const char *path, uint8_t seed[32], uint8_t pub[32], char *err,
                         size_t errlen)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t n = 0;
    json_t *o = NULL;
    json_error_t je;
    uint8_t *raw = NULL, chk[32];
    size_t rawlen = 0;
    int rc = -1;

    if (!(f = fopen(path, "re"))) {
        snprintf(err, errlen, "[vote] key_file %s: cannot open: %s", path, strerror(errno));
        goto done;
    }
    if (!(text = malloc(KEY_FILE_MAX + 1)))
        goto done;
    n = fread(text, 1, KEY_FILE_MAX + 1, f);
    if (n > KEY_FILE_MAX) {
        snprintf(err, errlen, "[vote] key_file %s: larger than %d bytes", path, KEY_FILE_MAX);
        goto done;
    }
    text[n] = '\0';
    if (!(o = json_loads(text, 0, &je)) || !json_is_object(o)) {
        snprintf(err, errlen, "[vote] key_file %s: not a JSON object", path);
        goto done;
    }
    if (json_object_get(o, "priv_key")) { /* CometBFT priv_validator_key.json */
        const char *v = json_string_value(json_object_get(json_object_get(o, "priv_key"), "value"));
        const char *t = json_string_value(json_object_get(json_object_get(o, "priv_key"), "type"));
        if (t && strcmp(t, "tendermint/PrivKeyEd25519") != 0) {
            snprintf(err, errlen, "[vote] key_file %s: priv_key.type %s is not Ed25519", path, t);
            goto done;
        }
        if (!v || !(raw = sb_b64_decode(v, &rawlen)) || rawlen != 64) {
            snprintf(err, errlen, "[vote] key_file %s: priv_key.value is not 64 bytes of base64",
                     path);
            goto done;
        }
        memcpy(seed, raw, 32);
        if (sb_ed25519_pubkey(seed, pub) != 0 || memcmp(pub, raw + 32, 32) != 0) {
            snprintf(err, errlen,
                     "[vote] key_file %s: priv_key.value's public half does not match "
                     "its seed",
                     path);
            goto done;
        }
    } else {
        const char *sh = json_string_value(json_object_get(o, "seed"));
        const char *ph = json_string_value(json_object_get(o, "pubkey"));
        if (!sh || sb_unhex(sh, seed, 32) != 0) {
            snprintf(err, errlen,
                     "[vote] key_file %s: \"seed\" is not 64 hex digits (expected a "
                     "`sleetbubble keys new` file or priv_validator_key.json)",
                     path);
            goto done;
        }
        if (sb_ed25519_pubkey(seed, pub) != 0 || !ph || sb_unhex(ph, chk, 32) != 0 ||
            memcmp(chk, pub, 32) != 0) {
            snprintf(err, errlen, "[vote] key_file %s: \"pubkey\" is not the seed's public key",
                     path);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0 && err[0] == '\0')
        snprintf(err, errlen, "[vote] key_file %s: out of memory", path);
    if (raw) {
        OPENSSL_cleanse(raw, rawlen);
        free(raw);
    }
    if (text) {
        OPENSSL_cleanse(text, n <= KEY_FILE_MAX ? n : KEY_FILE_MAX);
        free(text);
    }
    json_decref(o);
    if (f)
        fclose(f);
    return rc;
}

/* ---- small helpers --------------------------------------------------------------------- */

static int should_stop(sb_autovote *a)
{
    int s;
    pthread_mutex_lock(&a->mu);
    s = a->stop;
    pthread_mutex_unlock(&a->mu);
    return s;
}

/* Sleep ms or until stopped. */
static void nap(sb_autovote *a, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&a->mu);
    while (!a->stop && pthread_cond_timedwait(&a->cv, &a->mu, &ts) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&a->mu);
}

/* abci_query path: 0 with *q (code may be non-zero), -1 after logging an RPC failure. */
static int query(sb_autovote *a, const char *path, sb_rpcc_result *q)
{
    char err[1024];
    memset(q, 0, sizeof *q);
    if (sb_rpcc_query(&a->rpc, path, q, err, sizeof err) != 0) {
        sb_log(SB_LOG_WARN, MOD, "abci_query %s: %s", path, err);
        return -1;
    }
    return 0;
}

/* Time (ns) and hash of block h (hash may be NULL). 0, or -1 after logging. */
static int block_at(sb_autovote *a, int64_t h, int64_t *t_ns, uint8_t hash[32])
{
    char err[1024], hs[24];
    json_t *params, *res = NULL;
    int rc = -1;
    snprintf(hs, sizeof hs, "%" PRId64, h);
    params = json_pack("{s:s}", "height", hs);
    if (!params)
        return -1;
    if (sb_rpcc_call(&a->rpc, "block", params, &res, err, sizeof err) != 0) {
        sb_log(SB_LOG_WARN, MOD, "block %" PRId64 ": %s", h, err);
        goto done;
    }
    const char *ts = json_string_value(
        json_object_get(json_object_get(json_object_get(res, "block"), "header"), "time"));
    const char *bh = json_string_value(json_object_get(json_object_get(res, "block_id"), "hash"));
    if (!ts || sb_parse_rfc3339_ns(ts, t_ns) != 0 || (hash && (!bh || sb_unhex(bh, hash, 32)))) {
        sb_log(SB_LOG_WARN, MOD, "block %" PRId64 ": reply has no usable time or hash", h);
        goto done;
    }
    rc = 0;
done:
    json_decref(params);
    json_decref(res);
    return rc;
}

static void hexid(const uint8_t id[32], char out[65]) { sb_hex(id, 32, out); }

/* ---- chain parameters and the key check (once) ------------------------------------------ */

/* 1 ready, 0 not yet (logged once), -1 fatal (logged; the agent stops). */
static int load_params(sb_autovote *a)
{
    sb_rpcc_result q;
    char err[512], *text = NULL;
    int rc = 0;
    if (a->have_params)
        return 1;
    if (query(a, "/params", &q) != 0)
        return 0;
    if (q.code == SB_NOT_FOUND) {
        if (!a->said_no_init++)
            sb_log(SB_LOG_INFO, MOD, "chain not initialised yet (no InitChain): waiting");
        goto done;
    }
    if (q.code != 0 || !q.value || !(text = json_dumps(q.value, JSON_COMPACT)) ||
        sb_params_from_json(text, &a->p, err, sizeof err) != 0) {
        sb_log(SB_LOG_WARN, MOD, "/params: unusable answer (code %d)", q.code);
        goto done;
    }
    /* Which validator does this key vote for? protocol.md §4 votes, §15. */
    const sb_validator *val = NULL;
    sb_agent_key_role role = sb_agent_key_check(&a->p, a->keypub, &val);
    if (role == SB_AGENT_KEY_DELEGATED_AWAY) {
        char vk[65];
        hexid(val->vote_key, vk);
        sb_log(
            SB_LOG_ERROR, MOD,
            "[vote] key_file %s holds the consensus key %s of a validator "
            "that delegates its votes to %s (genesis vote_keys): its votes would fail SIGNATURE; "
            "agent stopped, the node keeps running (set key_file to the vote key)",
            a->cfg.vote.key_file, a->keyhex, vk);
        rc = -1;
        goto done;
    }
    if (role == SB_AGENT_KEY_UNKNOWN) {
        sb_log(SB_LOG_ERROR, MOD,
               "[vote] key_file %s: key %s is neither a delegated vote key nor "
               "a validator's key of this chain: agent stopped, the node keeps running",
               a->cfg.vote.key_file, a->keyhex);
        rc = -1;
        goto done;
    }
    memcpy(a->valpub, val->pubkey, 32);
    if (a->cfg.vote.lead_seconds >= a->p.close_lead_seconds) {
        sb_log(SB_LOG_ERROR, MOD,
               "[vote] lead_seconds = %" PRIu32 " must be below the chain's "
               "close_lead_seconds (%" PRIu64 "): agent stopped, the node keeps running",
               a->cfg.vote.lead_seconds, a->p.close_lead_seconds);
        rc = -1;
        goto done;
    }
    hexid(a->valpub, a->valhex);
    a->have_params = 1;
    sb_log(SB_LOG_INFO, MOD,
           "voting for validator %s with %s key %s; policy %s, lead %" PRIu32
           " s, require_available %s%s",
           a->valhex, role == SB_AGENT_KEY_DELEGATE ? "delegated vote" : "consensus", a->keyhex,
           a->cfg.vote.policy ? "priority" : "follow", a->cfg.vote.lead_seconds,
           a->cfg.vote.require_available ? "true" : "false",
           a->cfg.vote.dry_run ? ", dry run" : "");
    rc = 1;
done:
    free(text);
    sb_rpcc_query_free(&q);
    if (rc <= 0 && !a->have_params)
        sb_params_free(&a->p);
    return rc;
}

/* Warn once when lead_seconds < 5 block intervals (protocol.md §15 SHOULD). */
static void check_interval(sb_autovote *a, int64_t h, int64_t t)
{
    int64_t t0;
    if (a->warned_interval || h < 2 || block_at(a, h - 1, &t0, NULL) != 0)
        return;
    a->warned_interval = 1;
    if (t > t0 && (__int128)a->cfg.vote.lead_seconds * 1000000000 < (__int128)(t - t0) * 5)
        sb_log(SB_LOG_WARN, MOD,
               "[vote] lead_seconds = %" PRIu32 " is under 5 block intervals "
               "(last interval %" PRId64 " ms): h* may come too late to vote",
               a->cfg.vote.lead_seconds, (t - t0) / 1000000);
}

/* ---- availability (protocol.md §15 require_available) ----------------------------------- */

static avail_ent *avail_find(sb_autovote *a, const uint8_t id[32])
{
    for (size_t i = 0; i < a->n_avail; i++)
        if (memcmp(a->avail[i].id, id, 32) == 0)
            return &a->avail[i];
    if (a->n_avail == a->cap_avail) {
        size_t cap = a->cap_avail ? a->cap_avail * 2 : 16;
        avail_ent *n = realloc(a->avail, cap * sizeof *n);
        if (!n)
            return NULL;
        a->avail = n;
        a->cap_avail = cap;
    }
    memset(&a->avail[a->n_avail], 0, sizeof a->avail[0]);
    memcpy(a->avail[a->n_avail].id, id, 32);
    return &a->avail[a->n_avail++];
}

/* Check every track of proposal id with dag/stat; AV_OK or AV_NO (logged). */
static avail_state check_proposal(sb_autovote *a, const uint8_t id[32])
{
    char path[128], idh[65];
    sb_rpcc_result q;
    avail_state st = AV_NO;
    hexid(id, idh);
    snprintf(path, sizeof path, "/proposal/%s", idh);
    if (query(a, path, &q) != 0)
        return AV_UNKNOWN;
    json_t *tracks = json_object_get(q.value, "tracks");
    if (q.code != 0 || !json_is_array(tracks)) {
        sb_log(SB_LOG_WARN, MOD, "%s: code %d, no tracks", path, q.code);
        st = AV_UNKNOWN;
        goto done;
    }
    for (size_t i = 0; i < json_array_size(tracks); i++) {
        const char *cid = json_string_value(json_object_get(json_array_get(tracks, i), "cid"));
        uint64_t size = 0;
        sb_kubo_err ke = { 0 };
        if (!cid)
            goto done;
        int r = sb_kubo_dag_stat(a->kubo, cid, &size, &ke);
        if (r != SB_KUBO_OK) {
            sb_log(SB_LOG_WARN, MOD, "proposal %.16s: track %zu %s unavailable: %s (%s)", idh, i,
                   cid, ke.msg, sb_kubo_reason(r));
            goto done;
        }
        if (size > a->cfg.pin.max_track_bytes) {
            sb_log(SB_LOG_WARN, MOD,
                   "proposal %.16s: track %zu %s is %" PRIu64 " bytes, over [pin] "
                   "max_track_bytes %" PRIu64 ": unavailable",
                   idh, i, cid, size, a->cfg.pin.max_track_bytes);
            goto done;
        }
    }
    st = AV_OK;
    sb_log(SB_LOG_DEBUG, MOD, "proposal %.16s: all %zu tracks available", idh,
           json_array_size(tracks));
done:
    sb_rpcc_query_free(&q);
    return st;
}

/* Availability of id, checking it now if it was never checked (or recheck = 1 and it failed). */
static int is_available(sb_autovote *a, const uint8_t id[32], int recheck)
{
    avail_ent *e;
    if (!a->cfg.vote.require_available)
        return 1;
    if (!(e = avail_find(a, id)))
        return 0;
    if (e->st == AV_UNKNOWN || (recheck && e->st == AV_NO)) {
        avail_state s = check_proposal(a, id);
        if (s != AV_UNKNOWN || e->st == AV_UNKNOWN)
            e->st = s;
    }
    return e->st == AV_OK;
}

/* ---- per slot ---------------------------------------------------------------------------- */

static void slot_reset(sb_autovote *a, uint64_t s)
{
    a->have_slot = 1;
    a->slot = s;
    a->decided = 0;
    a->journalled = 0;
    a->polls_since_send = 0;
    a->n_avail = 0;
    sb_vjournal_rec_free(&a->jrec);
}

/* /slot/<s> into *q (code 0 with a value). 0 / -1 (logged). */
static int slot_query(sb_autovote *a, uint64_t s, sb_rpcc_result *q)
{
    char path[64];
    snprintf(path, sizeof path, "/slot/%" PRIu64, s);
    if (query(a, path, q) != 0)
        return -1;
    if (q->code != 0 || !json_is_array(json_object_get(q->value, "proposals"))) {
        sb_log(SB_LOG_WARN, MOD, "%s: code %d", path, q->code);
        sb_rpcc_query_free(q);
        return -1;
    }
    return 0;
}

/* 1 iff our validator is among a proposal's voters in the /slot value; *pid gets that proposal. */
static int our_vote(sb_autovote *a, json_t *slotv, uint8_t pid[32])
{
    json_t *props = json_object_get(slotv, "proposals"), *pr, *vt;
    size_t i, j;
    json_array_foreach(props, i, pr)
    {
        json_array_foreach(json_object_get(pr, "voters"), j, vt)
        {
            const char *v = json_string_value(vt);
            if (v && strcmp(v, a->valhex) == 0) {
                const char *id = json_string_value(json_object_get(pr, "id"));
                if (pid && (!id || sb_unhex(id, pid, 32) != 0))
                    memset(pid, 0, 32);
                return 1;
            }
        }
    }
    return 0;
}

/* Broadcast the journalled tx; counts the result when `count`. */
static void send_journalled(sb_autovote *a, int count)
{
    char err[1024], idh[65];
    sb_rpcc_tx_result br;
    hexid(a->jrec.proposal_id, idh);
    a->polls_since_send = 0;
    if (sb_rpcc_broadcast(&a->rpc, a->jrec.tx, a->jrec.txlen, &br, err, sizeof err) != 0) {
        sb_log(count ? SB_LOG_WARN : SB_LOG_DEBUG, MOD,
               "slot %" PRIu64 ": broadcast of the vote "
               "for %s: %s (will retry)",
               a->slot, idh, err);
        if (count)
            sb_metrics_autovote("rpc_error");
        return;
    }
    if (br.code == 0) {
        if (count) {
            sb_metrics_autovote("voted");
            sb_metrics_autovote_last_slot(a->slot);
        }
        sb_log(SB_LOG_INFO, MOD, "slot %" PRIu64 ": vote for %s accepted by CheckTx (tx %s)%s",
               a->slot, idh, br.hash, count ? "" : " (rebroadcast)");
        return;
    }
    if (br.code == SB_DUPLICATE) { /* already in the chain or our mempool: it will commit */
        if (count)
            sb_metrics_autovote("already_voted");
        sb_log(SB_LOG_INFO, MOD, "slot %" PRIu64 ": vote for %s: DUPLICATE (%s)", a->slot, idh,
               br.log);
        return;
    }
    if (count)
        sb_metrics_autovote("rejected");
    sb_log(SB_LOG_WARN, MOD, "slot %" PRIu64 ": vote for %s rejected: %s (code %d): %s", a->slot,
           idh, sb_code_name(br.code), br.code, br.log);
    if (br.code == SB_SLOT_CLOSED)
        a->journalled = 0;
}

/* Find h*: the first block with time >= thr, walking back from the latest block h (whose time
 * t is >= thr). Bounded by the blocks since the threshold. 0 / -1. */
static int find_hstar(sb_autovote *a, int64_t h, int64_t t, int64_t thr, int64_t *hs,
                      uint8_t hash[32])
{
    int64_t cur = h, cur_t = t, prev_t, tt;
    for (;;) {
        int has_prev = cur > 1;
        if (has_prev && (should_stop(a) || block_at(a, cur - 1, &prev_t, NULL) != 0))
            return -1;
        if (sb_agent_is_hstar(thr, cur_t, has_prev, has_prev ? prev_t : 0))
            break;
        if (!has_prev || cur_t < thr)
            return -1; /* cannot happen: h's time is >= thr */
        cur--;
        cur_t = prev_t;
    }
    *hs = cur;
    return block_at(a, cur, &tt, hash);
}

/* Adopt a decision already journalled for this slot (a restart) and send its bytes again
 * (protocol.md §15).
 * 1 adopted, 0 none for this slot, -1 the journal cannot be read (logged). */
static int adopt_journalled(sb_autovote *a)
{
    char err[1024], idh[65];
    sb_vjournal_rec jr = { 0 };
    int rc = sb_vjournal_read(a->journal, &jr, err, sizeof err);
    if (rc < 0) {
        sb_log(SB_LOG_ERROR, MOD, "journal: %s", err);
        rc = -1;
        goto done;
    }
    if (rc == 0 && err[0])
        sb_log(SB_LOG_WARN, MOD, "journal ignored: %s", err);
    if (rc == 1 && jr.slot == a->slot) {
        hexid(jr.proposal_id, idh);
        sb_log(SB_LOG_INFO, MOD,
               "slot %" PRIu64 ": decision found in the journal (proposal %s): "
               "sending the same bytes until committed",
               a->slot, idh);
        a->jrec = jr;
        memset(&jr, 0, sizeof jr);
        a->decided = a->journalled = 1;
        send_journalled(a, 1);
        goto done;
    }
    rc = 0;
done:
    sb_vjournal_rec_free(&jr);
    return rc;
}

/* The proposals of the /slot value `slotv` as agent candidates; availability is checked only
 * for those committed by h* (protocol.md §15). *out is the caller's to free, set even on
 * error. 0 / -1 (a malformed proposal is logged and counted). */
static int slot_cands(sb_autovote *a, json_t *slotv, int64_t hstar, sb_agent_cand **out,
                      size_t *nout)
{
    json_t *props = json_object_get(slotv, "proposals"), *pr;
    sb_agent_cand *cands;
    size_t i, n = 0;
    if (!(cands = *out = calloc(json_array_size(props) + 1, sizeof *cands)))
        return -1;
    json_array_foreach(props, i, pr)
    {
        const char *id = json_string_value(json_object_get(pr, "id"));
        const char *cur = json_string_value(json_object_get(pr, "curator"));
        const char *pw = json_string_value(json_object_get(pr, "power_for"));
        int64_t ph = 0, pf = 0;
        sb_agent_cand *c = &cands[n];
        if (!id || !cur || sb_unhex(id, c->id, 32) || sb_unhex(cur, c->curator, 32) ||
            sb_json_i64(json_object_get(pr, "height"), &ph) || !pw ||
            sb_json_i64(json_object_get(pr, "power_for"), &pf) || pf < 0) {
            sb_log(SB_LOG_WARN, MOD, "/slot/%" PRIu64 ": malformed proposal %zu", a->slot, i);
            sb_metrics_autovote("rpc_error");
            return -1;
        }
        c->height = ph;
        c->power_for = (uint64_t)pf;
        c->available = ph <= hstar ? is_available(a, c->id, 1) : 0;
        n++;
    }
    *nout = n;
    return 0;
}

/* Run the agent's rule over the candidates at h* (hash hhash) and log the outcome; counts a
 * "no vote" outcome. The chosen index, or SIZE_MAX for no vote (protocol.md §15). */
static size_t choose(sb_autovote *a, const sb_agent_cand *cands, size_t n, int64_t hstar,
                     const uint8_t hhash[32])
{
    char idh[65];
    sb_agent_in in = { .cands = cands,
                       .n = n,
                       .hstar_height = hstar,
                       .policy = a->cfg.vote.policy ? SB_AGENT_PRIORITY : SB_AGENT_FOLLOW,
                       .curators = (const uint8_t(*)[32])a->cfg.vote.curators,
                       .n_curators = a->cfg.vote.n_curators };
    memcpy(in.hstar_hash, hhash, 32);
    sb_agent_out out;
    sb_agent_decide(&in, &out);
    if (out.choice == SIZE_MAX) {
        const char *res = out.reason == SB_AGENT_R_UNAVAILABLE ? "unavailable" : "no_candidate";
        sb_log(SB_LOG_INFO, MOD,
               "slot %" PRIu64 ": proposals %zu, committed by h*=%" PRId64
               " %zu, available %zu: no vote (%s)",
               a->slot, n, hstar, out.n_committed, out.n_available, res);
        sb_metrics_autovote(res);
        return SIZE_MAX;
    }
    hexid(cands[out.choice].id, idh);
    sb_log(SB_LOG_INFO, MOD,
           "slot %" PRIu64 ": proposals %zu, committed by h*=%" PRId64
           " %zu, available %zu: choice %s (%s, power_for %" PRIu64 ")%s",
           a->slot, n, hstar, out.n_committed, out.n_available, idh,
           sb_agent_reason_name(out.reason), cands[out.choice].power_for,
           a->cfg.vote.dry_run ? "; dry run, not voting" : "");
    return out.choice;
}

/* Build our vote for proposal `id`, write it to the journal, then broadcast it; the journal
 * comes first so a restart sends the same bytes (protocol.md §15).
 * Failures are logged; the slot then stays undecided and is retried. */
static void cast_vote(sb_autovote *a, const uint8_t id[32])
{
    char err2[512];
    sb_buf tx;
    sb_buf_init(&tx, SB_MAX_TX_SIZE_LIMIT);
    if (sb_tx_build_vote(a->p.chain_id, a->slot, id, a->valpub, a->seed, &tx) != 0) {
        sb_log(SB_LOG_ERROR, MOD, "slot %" PRIu64 ": cannot build the vote", a->slot);
        goto done;
    }
    sb_vjournal_rec w = { .slot = a->slot, .tx = tx.data, .txlen = tx.len };
    memcpy(w.proposal_id, id, 32);
    if (sb_vjournal_write(a->journal, &w, err2, sizeof err2) != 0) {
        sb_log(SB_LOG_ERROR, MOD, "slot %" PRIu64 ": journal: %s: not voting", a->slot, err2);
        goto done;
    }
#ifdef SB_FAULT_HOOKS
    { /* Test builds: die between the journal write and the broadcast (protocol.md §15). */
        const char *f = getenv("SLEETBUBBLE_AGENT_FAIL_AFTER_JOURNAL");
        if (f && *f && strcmp(f, "0") != 0) {
            sb_log(SB_LOG_WARN, MOD,
                   "fault injection: SIGKILL after the journal write of slot %" PRIu64, a->slot);
            raise(SIGKILL);
        }
    }
#endif
    if (!(a->jrec.tx = malloc(tx.len)))
        goto done;
    memcpy(a->jrec.tx, tx.data, tx.len);
    a->jrec.txlen = tx.len;
    a->jrec.slot = a->slot;
    memcpy(a->jrec.proposal_id, w.proposal_id, 32);
    a->decided = a->journalled = 1;
    send_journalled(a, 1);
done:
    sb_buf_free(&tx);
}

/* Decide slot s (closing at close_ns) at the latest block h (time t). */
static void decide(sb_autovote *a, int64_t h, int64_t t, int64_t close_ns)
{
    char idh[65];
    sb_rpcc_result q = { 0 };
    sb_agent_cand *cands = NULL;
    int64_t hstar = 0;
    uint8_t hhash[32], voted_for[32];
    size_t n = 0, choice;

    if (adopt_journalled(a) != 0)
        goto done;
    if (slot_query(a, a->slot, &q) != 0) {
        sb_metrics_autovote("rpc_error");
        goto done;
    }
    if (our_vote(a, q.value, voted_for)) {
        hexid(voted_for, idh);
        sb_log(SB_LOG_INFO, MOD,
               "slot %" PRIu64 ": validator %s already voted (for %s): nothing "
               "to do",
               a->slot, a->valhex, idh);
        sb_metrics_autovote("already_voted");
        a->decided = 1;
        goto done;
    }
    if (find_hstar(a, h, t, sb_agent_threshold_ns(close_ns, a->cfg.vote.lead_seconds), &hstar,
                   hhash) != 0) {
        sb_metrics_autovote("rpc_error");
        goto done;
    }
    if (slot_cands(a, q.value, hstar, &cands, &n) != 0)
        goto done;
    choice = choose(a, cands, n, hstar, hhash);
    if (choice == SIZE_MAX || a->cfg.vote.dry_run) {
        a->decided = 1;
        goto done;
    }
    cast_vote(a, cands[choice].id);
done:
    free(cands);
    sb_rpcc_query_free(&q);
}

/* After the decision: is the vote committed? If not, send the same bytes again. */
static void follow_up(sb_autovote *a)
{
    sb_rpcc_result q;
    if (!a->journalled || ++a->polls_since_send < REBROADCAST_POLLS)
        return;
    if (slot_query(a, a->slot, &q) != 0)
        return;
    if (our_vote(a, q.value, NULL)) {
        sb_log(SB_LOG_INFO, MOD, "slot %" PRIu64 ": our vote is committed", a->slot);
        a->journalled = 0;
    } else {
        send_journalled(a, 0);
    }
    sb_rpcc_query_free(&q);
}

/* WAIT phase: check the availability of proposals committed so far (protocol.md §15). */
static void precheck(sb_autovote *a)
{
    sb_rpcc_result q;
    json_t *pr;
    size_t i;
    if (!a->cfg.vote.require_available || slot_query(a, a->slot, &q) != 0)
        return;
    json_array_foreach(json_object_get(q.value, "proposals"), i, pr)
    {
        uint8_t id[32];
        const char *s = json_string_value(json_object_get(pr, "id"));
        if (should_stop(a))
            break;
        if (s && sb_unhex(s, id, 32) == 0)
            (void)is_available(a, id, 0);
    }
    sb_rpcc_query_free(&q);
}

static void tick(sb_autovote *a)
{
    char err[1024];
    json_t *res = NULL;
    int64_t h = 0, t = 0, close_ns;
    uint64_t s;
    if (sb_rpcc_call(&a->rpc, "status", NULL, &res, err, sizeof err) != 0) {
        if (!a->said_rpc_down++)
            sb_log(SB_LOG_WARN, MOD, "CometBFT RPC: %s (retrying)", err);
        return;
    }
    if (a->said_rpc_down)
        sb_log(SB_LOG_INFO, MOD, "CometBFT RPC reachable again");
    a->said_rpc_down = 0;
    json_t *si = json_object_get(res, "sync_info");
    const char *ts = json_string_value(json_object_get(si, "latest_block_time"));
    if (json_is_true(json_object_get(si, "catching_up"))) {
        if (!a->said_catching_up++)
            sb_log(SB_LOG_INFO, MOD, "CometBFT is catching up: waiting");
        goto done;
    }
    a->said_catching_up = 0;
    if (sb_json_i64(json_object_get(si, "latest_block_height"), &h) != 0 || h < 1 || !ts ||
        sb_parse_rfc3339_ns(ts, &t) != 0)
        goto done; /* no block yet */
    int lp = load_params(a);
    if (lp < 0)
        a->fatal = 1;
    if (lp <= 0)
        goto done;
    check_interval(a, h, t);
    if (sb_agent_target_slot(&a->p, t, &s, &close_ns) != 0)
        goto done;
    if (!a->have_slot || s != a->slot)
        slot_reset(a, s);
    switch (sb_agent_phase_at(close_ns, a->cfg.vote.lead_seconds, t)) {
    case SB_AGENT_WAIT: precheck(a); break;
    case SB_AGENT_DECIDE:
        if (!a->decided)
            decide(a, h, t, close_ns);
        else
            follow_up(a);
        break;
    case SB_AGENT_CLOSED: /* not reached: the target slot is open at t */ break;
    }
done:
    json_decref(res);
}

static void *run(void *arg)
{
    sb_autovote *a = arg;
    sb_log(SB_LOG_INFO, MOD, "agent started: CometBFT RPC %s, journal %s", a->cfg.vote.node_rpc,
           a->journal);
    while (!should_stop(a) && !a->fatal) {
        tick(a);
        nap(a, POLL_MS);
    }
    return NULL;
}

/* Load the key of a->cfg; a failure names the config file and line of [vote] key_file when
 * the config came from a file ("file:line: [vote] key_file PATH: reason"). 0 / -1 with err. */
static int start_key(sb_autovote *a, char *err, size_t errlen)
{
    char why[1024] = "";
    const sb_config *c = &a->cfg;
    if (sb_autovote_load_key(c->vote.key_file, a->seed, a->keypub, why, sizeof why) != 0) {
        if (c->file[0] && c->vote.key_file_line > 0)
            snprintf(err, errlen, "%s:%d: %s", c->file, c->vote.key_file_line, why);
        else if (c->file[0])
            snprintf(err, errlen, "%s: %s", c->file, why);
        else
            snprintf(err, errlen, "%s", why);
        return -1;
    }
    hexid(a->keypub, a->keyhex);
    return 0;
}

/* Take the journal's lock for the agent's lifetime: a second agent on the same journal (two
 * daemons sharing a home or a journal_file) is refused here (protocol.md §15 "Exactly once").
 * 0 / -1 with err. */
static int start_journal(sb_autovote *a, char *err, size_t errlen)
{
    char why[1024] = "";
    if (a->cfg.vote.journal_file[0])
        snprintf(a->journal, sizeof a->journal, "%s", a->cfg.vote.journal_file);
    else
        snprintf(a->journal, sizeof a->journal, "%s/data/vote-journal", a->cfg.home);
    a->lockfd = sb_vjournal_lock(a->journal, why, sizeof why);
    if (a->lockfd == -2)
        snprintf(err, errlen,
                 "[vote] journal %s: another vote agent holds %s.lock (one agent per "
                 "journal: stop the other sleetbubbled, or give this one its own home or "
                 "[vote] journal_file)",
                 a->journal, a->journal);
    else if (a->lockfd < 0)
        snprintf(err, errlen, "[vote] journal: %s", why);
    return a->lockfd < 0 ? -1 : 0;
}

sb_autovote *sb_autovote_start(const sb_config *cfg, char *err, size_t errlen)
{
    sb_autovote *a = calloc(1, sizeof *a);
    sb_kubo_opts ko = { 0 };
    if (!a) {
        snprintf(err, errlen, "vote agent: out of memory");
        return NULL;
    }
    err[0] = '\0';
    a->cfg = *cfg;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    atomic_init(&a->cancel, 0);
    a->lockfd = -1;
    if (start_key(a, err, errlen) != 0 || start_journal(a, err, errlen) != 0)
        goto fail;
    if (cfg->ipfs.auth_header_file[0] &&
        sb_kubo_read_auth_header(cfg->ipfs.auth_header_file, a->auth, sizeof a->auth, err,
                                 errlen) != 0)
        goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ko.api_url = cfg->ipfs.api_url;
    ko.auth_header = a->auth;
    ko.timeout_seconds = cfg->vote.available_timeout_seconds;
    ko.cancel = &a->cancel;
    if (!(a->kubo = sb_kubo_new(&ko, err, errlen)))
        goto fail;
    a->rpc.url = a->cfg.vote.node_rpc;
    a->rpc.timeout_s = RPC_TIMEOUT_S;
    if (pthread_create(&a->th, NULL, run, a) != 0) {
        snprintf(err, errlen, "vote agent: cannot start its thread");
        goto fail;
    }
    return a;
fail:
    sb_vjournal_unlock(a->lockfd);
    sb_kubo_free(a->kubo);
    OPENSSL_cleanse(a->seed, sizeof a->seed);
    OPENSSL_cleanse(a->auth, sizeof a->auth);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
    return NULL;
}

void sb_autovote_stop(sb_autovote *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    atomic_store(&a->cancel, 1);
    pthread_join(a->th, NULL);
    sb_vjournal_unlock(a->lockfd);
    sb_kubo_free(a->kubo);
    sb_params_free(&a->p);
    sb_vjournal_rec_free(&a->jrec);
    free(a->avail);
    OPENSSL_cleanse(a->seed, sizeof a->seed);
    OPENSSL_cleanse(a->auth, sizeof a->auth);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
