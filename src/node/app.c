/* app.c - ABCI callbacks of sleetbubbled: CheckTx, PrepareProposal, ProcessProposal,
 * FinalizeBlock (rules, tally, manifest, app hash), Commit (durability), InitChain, Info,
 * Query (protocol.md §2-§9). Runs on the ABCI loop thread only. */
#include "app-internal.h"
#include "pin_store.h"
#include "query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#ifdef SB_FAULT_HOOKS
#include <signal.h> /* raise(SIGKILL): fault injection, test builds only */
#endif

#include "apphash.h"
#include "cid.h"
#include "log.h"
#include "manifest.h"
#include "metrics.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "slot.h"
#include "tally.h"
#include "tx.h"

#define NS_PER_S 1000000000LL

/* ---- the view a tx is judged against ------------------------------------------------- */

typedef struct view_ctx {
    sb_app *app;
    int staged;           /* read the staged block (FinalizeBlock) or committed state */
    sb_overlay *ov;       /* extra facts (mempool view, kept txs) or NULL */
    int ov_has_proposals; /* overlay proposals count as accepted for votes (PrepareProposal) */
} view_ctx;

static int v_proposal_exists(void *arg, uint64_t slot, const uint8_t id[32])
{
    view_ctx *v = arg;
    if (v->ov && v->ov_has_proposals && sb_overlay_has(v->ov, SB_OV_PROPOSAL, slot, id))
        return 1;
    return sb_store_proposal_exists(v->app->store, v->staged, slot, id);
}

static int v_curator_proposed(void *arg, uint64_t slot, const uint8_t curator[32])
{
    view_ctx *v = arg;
    if (v->ov && sb_overlay_has(v->ov, SB_OV_CURATOR, slot, curator))
        return 1;
    return sb_store_curator_proposed(v->app->store, v->staged, slot, curator);
}

static int v_validator_voted(void *arg, uint64_t slot, const uint8_t validator[32])
{
    view_ctx *v = arg;
    if (v->ov && sb_overlay_has(v->ov, SB_OV_VOTER, slot, validator))
        return 1;
    return sb_store_validator_voted(v->app->store, v->staged, slot, validator);
}

static int v_proposal_count(void *arg, uint64_t slot, uint32_t *count)
{
    view_ctx *v = arg;
    if (sb_store_proposal_count(v->app->store, v->staged, slot, count) < 0)
        return -1;
    if (v->ov)
        *count += sb_overlay_count(v->ov, SB_OV_PROPOSAL, slot);
    return 0;
}

static sb_tx_view make_view(view_ctx *c)
{
    sb_tx_view v = { c, v_proposal_exists, v_curator_proposed, v_validator_voted,
                     v_proposal_count };
    return v;
}

/* Remember an accepted tx in an overlay. */
static int overlay_note(sb_overlay *ov, const sb_tx *tx)
{
    if (tx->kind == 1)
        return sb_overlay_add(ov, SB_OV_PROPOSAL, tx->slot, tx->id) ||
               sb_overlay_add(ov, SB_OV_CURATOR, tx->slot, tx->signer);
    return sb_overlay_add(ov, SB_OV_VOTER, tx->slot, tx->signer);
}

/* A protobuf Timestamp as int64 nanoseconds (protocol.md §3), saturating outside int64's range
 * (year 1677..2262): CometBFT never sends such times, and saturation keeps the arithmetic
 * defined and the same on every node. */
static int64_t ts_ns(const Tendermint__Abci__Timestamp *t)
{
    if (!t)
        return 0;
    __int128 v = (__int128)t->seconds * NS_PER_S + t->nanos;
    if (v > INT64_MAX)
        return INT64_MAX;
    if (v < INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}

/* The tx hash CometBFT shows a curator (broadcast_tx_* "hash", tx_search): SHA-256 of the tx
 * bytes in upper-case hex, so a rejection in our log can be matched to the broadcast. */
static void tx_hash(const uint8_t *tx, size_t len, char out[65])
{
    static const char digits[] = "0123456789ABCDEF";
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256(tx, len, h);
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = '\0';
}

/* Monotonic milliseconds for the rejected-CheckTx summary only: node-local logging, never
 * consensus (protocol.md §3 keeps the wall clock out of state). */
static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Log the rejected-CheckTx summary when one is due (at most one line per 10 s). */
static void rejected_summary(sb_app *app, int code, int rejected)
{
    char line[SB_REJLOG_LINE_MAX];
    uint64_t now = mono_ms();
    int due = rejected ? sb_rejlog_note(&app->rejected, code, now, line, sizeof(line))
                       : sb_rejlog_tick(&app->rejected, now, line, sizeof(line));
    if (due)
        sb_log(SB_LOG_INFO, "checktx", "%s", line);
}

/* ---- signatures (sigcache.h) --------------------------------------------------------- */

/* Publish a copy of app->params for the CheckTx stage's worker threads (never modified once
 * published; the previous copy is kept until sb_app_free). 0 / -1 out of memory. */
static int publish_stage_params(sb_app *app)
{
    char err[256];
    char *json = sb_params_to_json(&app->params);
    sb_params *copy = calloc(1, sizeof(*copy));
    sb_params **old = realloc(app->old_stage_params, (app->n_old_stage_params + 1) * sizeof(*old));
    if (old)
        app->old_stage_params = old;
    if (!json || !copy || !old || sb_params_from_json(json, copy, err, sizeof(err)) < 0) {
        free(json);
        free(copy);
        return -1;
    }
    free(json);
    sb_params *prev = atomic_exchange_explicit(&app->stage_params, copy, memory_order_acq_rel);
    if (prev)
        app->old_stage_params[app->n_old_stage_params++] = prev;
    return 0;
}

static void free_stage_params(sb_app *app)
{
    sb_params *p = atomic_load_explicit(&app->stage_params, memory_order_acquire);
    if (p) {
        sb_params_free(p);
        free(p);
    }
    for (size_t i = 0; i < app->n_old_stage_params; i++) {
        sb_params_free(app->old_stage_params[i]);
        free(app->old_stage_params[i]);
    }
    free(app->old_stage_params);
}

/* The CheckTx stage (worker thread, protocol.md §2): signature facts of the tx, never a
 * verdict. Reads only the request, the published params copy and the thread-safe cache. */
static int on_check_tx_stage(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                             void **result)
{
    sb_app *app = arg;
    const sb_params *p = atomic_load_explicit(&app->stage_params, memory_order_acquire);
    sb_sig_facts *f = p ? abci_ctx_alloc(ctx, sizeof(*f)) : NULL;
    *result = NULL;
    if (f && sb_sig_facts_compute(p, app->sigcache, req->tx.data, req->tx.len, f) == 0)
        *result = f;
    return 0; /* no facts: check_tx verifies on the loop thread */
}

typedef struct block_facts_arg {
    sb_app *app;
    const ProtobufCBinaryData *txs;
    sb_sig_facts *facts;
} block_facts_arg;

static int block_facts_one(void *arg, size_t i)
{
    block_facts_arg *a = arg;
    /* out of memory leaves facts[i] zeroed: the ordered check then verifies itself */
    sb_sig_facts_compute(&a->app->params, a->app->sigcache, a->txs[i].data, a->txs[i].len,
                         &a->facts[i]);
    return 0;
}

/* Signature facts of txs[0..n) for PrepareProposal, ProcessProposal and FinalizeBlock: cache
 * hits, and misses verified on all cores (abci_parallel_map; params are not modified while the
 * loop thread waits in the map). From the arena; NULL on out of memory (the ordered check
 * then verifies on the loop thread). */
static sb_sig_facts *block_facts(sb_app *app, abci_ctx *ctx, const ProtobufCBinaryData *txs,
                                 size_t n)
{
    sb_sig_facts *f = abci_ctx_alloc(ctx, (n ? n : 1) * sizeof(*f));
    if (!f)
        return NULL;
    block_facts_arg a = { app, txs, f };
    abci_parallel_map(ctx, n, block_facts_one, &a);
    return f;
}

/* ---- lifecycle --------------------------------------------------------------------- */

static int load_committed(sb_app *app, char *err, size_t errlen)
{
    sb_meta m;
    if (sb_store_load_meta(app->store, &m) < 0) {
        snprintf(err, errlen, "cannot read the state's meta row");
        return -1;
    }
    if (m.params_json) {
        if (sb_params_from_json(m.params_json, &app->params, err, errlen) < 0) {
            sb_meta_free(&m);
            return -1;
        }
        app->have_params = 1;
    }
    free(m.params_json);
    m.params_json = NULL;
    app->committed = m;
    memcpy(app->base_hash, m.app_hash, 32);
    app->have_base = m.has_app_hash;
    return 0;
}

sb_app *sb_app_new(sb_store *store, const sb_app_opts *opts, char *err, size_t errlen)
{
    sb_app *app = calloc(1, sizeof(*app));
    if (!app) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    app->store = store;
    if (opts)
        app->opts = *opts;
    int oom = 0;
    if (errlen)
        err[0] = '\0';
    atomic_init(&app->stage_params, NULL);
    app->sigcache = sb_sigcache_new(app->opts.sig_cache_entries, &oom);
    if (oom || load_committed(app, err, errlen) < 0 ||
        (app->have_params && publish_stage_params(app) < 0)) {
        if (errlen && !err[0])
            snprintf(err, errlen, "out of memory");
        sb_app_free(app);
        return NULL;
    }
    app->healthy = 1;
    sb_metrics_set_height(app->committed.height);
    return app;
}

void sb_app_free(sb_app *app)
{
    if (!app)
        return;
    if (app->have_params)
        sb_params_free(&app->params);
    sb_overlay_free(&app->mempool);
    sb_pinstore_close(app->pins_view);
    sb_sigcache_free(app->sigcache);
    free_stage_params(app);
    free(app);
}

int64_t sb_app_height(const sb_app *app) { return app->committed.height; }
const sb_params *sb_app_params(const sb_app *app) { return app->have_params ? &app->params : NULL; }
sb_store *sb_app_store(const sb_app *app) { return app->store; }
int64_t sb_app_block_time(const sb_app *app) { return app->committed.last_time_ns; }
uint64_t sb_app_next_slot(const sb_app *app) { return app->committed.next_slot; }
int sb_app_pin_enabled(const sb_app *app) { return app->opts.pin_enabled; }

struct sb_pinstore *sb_app_pins_view(sb_app *app)
{
    if (!app->pins_view && app->opts.pin_db_path && access(app->opts.pin_db_path, F_OK) == 0) {
        char err[256];
        if (sb_pinstore_open(app->opts.pin_db_path, NULL, &app->pins_view, err, sizeof(err)) < 0)
            sb_log(SB_LOG_WARN, "query", "/pins: %s", err);
    }
    return app->pins_view;
}

int sb_app_healthy(void *arg)
{
    sb_app *app = arg;
    return app->healthy;
}

/* ---- Info / InitChain ---------------------------------------------------------------- */

static int on_info(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestInfo *req,
                   Tendermint__Abci__ResponseInfo *res)
{
    sb_app *app = arg;
    sb_metrics_abci_request("info");
    res->data = "sleetbubble";
    res->version = SLEETBUBBLE_VERSION;
    res->app_version = 1;
    res->last_block_height = app->committed.height;
    if (app->committed.height > 0) {
        res->last_block_app_hash.data = app->committed.app_hash;
        res->last_block_app_hash.len = 32;
    }
    sb_log(SB_LOG_INFO, "app", "info: height=%" PRId64 " (CometBFT %s)", app->committed.height,
           req->version ? req->version : "?");
    return 0;
}

/* Validators of InitChain in both wire forms (v0.38 pub_key message, v1.0 bytes + type). */
static int read_validators(const Tendermint__Abci__RequestInitChain *req, sb_validator **out,
                           char *err, size_t errlen)
{
    sb_validator *v = calloc(req->n_validators ? req->n_validators : 1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < req->n_validators; i++) {
        const Tendermint__Abci__ValidatorUpdate *u = req->validators[i];
        const ProtobufCBinaryData *key = NULL;
        if (u->pub_key && u->pub_key->ed25519.len)
            key = &u->pub_key->ed25519;
        else if (u->pub_key_type && strcmp(u->pub_key_type, "ed25519") == 0)
            key = &u->pub_key_bytes;
        if (!key || key->len != 32) {
            snprintf(err, errlen, "validators[%zu]: key is not ed25519 (protocol.md §9)", i);
            free(v);
            return -1;
        }
        if (u->power <= 0) {
            snprintf(err, errlen, "validators[%zu]: power %" PRId64 " must be positive", i,
                     u->power);
            free(v);
            return -1;
        }
        memcpy(v[i].pubkey, key->data, 32);
        v[i].power = u->power;
    }
    *out = v;
    return 0;
}

static int on_init_chain(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestInitChain *req,
                         Tendermint__Abci__ResponseInitChain *res)
{
    sb_app *app = arg;
    char err[512];
    sb_validator *vals = NULL;
    sb_params p;
    sb_metrics_abci_request("init_chain");

    if (app->committed.height > 0) {
        sb_log(SB_LOG_ERROR, "app", "init_chain: state already at height %" PRId64,
               app->committed.height);
        return -1;
    }
    if (read_validators(req, &vals, err, sizeof(err)) < 0)
        goto bad_genesis;
    const char *chain_id = req->chain_id ? req->chain_id : "";
    int64_t gtime = ts_ns(req->time);
    if (sb_params_from_genesis((const char *)req->app_state_bytes.data, req->app_state_bytes.len,
                               chain_id, gtime, vals, req->n_validators, &p, err, sizeof(err)) < 0)
        goto bad_genesis;
    free(vals);
    vals = NULL;

    sb_meta m = { 0 };
    sb_apphash_genesis(&p, m.app_hash);
    m.has_app_hash = 1;
    m.height = 0;
    m.last_time_ns = gtime;
    m.next_slot = 0;
    m.initial_height = req->initial_height > 0 ? req->initial_height : 1;
    m.params_json = sb_params_to_json(&p);
    /* A repeated InitChain at height 0 overwrites the previous one (protocol.md §7). */
    sb_store_rollback(app->store);
    if (!m.params_json || sb_store_begin(app->store) < 0 || sb_store_wipe(app->store) < 0 ||
        sb_store_put_meta(app->store, &m) < 0) {
        free(m.params_json);
        sb_params_free(&p);
        sb_store_rollback(app->store);
        return -1;
    }
    free(m.params_json);
    m.params_json = NULL;

    if (app->have_params)
        sb_params_free(&app->params);
    app->params = p;
    app->have_params = 1;
    if (publish_stage_params(app) < 0)
        return -1;
    app->committed.last_time_ns = gtime; /* CheckTx time until the first Commit */
    memcpy(app->base_hash, m.app_hash, 32);
    app->have_base = 1;
    app->pending = 1;
    app->staged = m;
    sb_overlay_clear(&app->mempool);

    res->app_hash.data = abci_ctx_memdup(ctx, m.app_hash, 32);
    res->app_hash.len = 32;
    char hex[65];
    sb_hex(m.app_hash, 32, hex);
    sb_log(SB_LOG_INFO, "app",
           "init_chain: chain_id=%s validators=%zu curators=%zu open_curation=%d H_0=%s", chain_id,
           app->params.n_validators, app->params.n_curators, app->params.open_curation, hex);
    return 0;

bad_genesis:
    free(vals);
    sb_log(SB_LOG_ERROR, "app", "init_chain: genesis rejected: %s", err);
    return -1;
}

/* ---- CheckTx / PrepareProposal / ProcessProposal ------------------------------------- */

static int on_check_tx(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                       Tendermint__Abci__ResponseCheckTx *res)
{
    sb_app *app = arg;
    char log[512] = "";
    sb_tx tx = { 0 };
    int recheck = abci_check_tx_kind_of(req) == ABCI_CHECK_TX_RECHECK;
    sb_metrics_abci_request("check_tx");

    if (!app->have_params) {
        res->code = SB_ENCODING;
        res->codespace = SB_CODESPACE;
        res->log = "chain not initialised yet (no InitChain)";
        return 0;
    }
    view_ctx vc = { app, 0, &app->mempool, 0 };
    sb_tx_view view = make_view(&vc);
    sb_sig_oracle so = { app->sigcache, abci_ctx_stage_result(ctx) };
    int code = sb_tx_check_v(&app->params, &view, sb_sig_oracle_verify, &so, req->tx.data,
                             req->tx.len, app->committed.last_time_ns, &tx, log, sizeof(log));
    if (code < 0) {
        sb_tx_free(&tx);
        return -1;
    }
    if (code == SB_OK && overlay_note(&app->mempool, &tx) < 0) {
        sb_tx_free(&tx);
        return -1;
    }
    sb_tx_free(&tx);
    res->code = (uint32_t)code;
    sb_metrics_checktx(sb_code_name(code));
    if (code != SB_OK) {
        res->codespace = SB_CODESPACE;
        res->log = abci_ctx_printf(ctx, "%s: %s", sb_code_name(code), log);
        /* one line per tx at debug only: a peer flooding bad txs must not grow the log
         * faster than the summary below (log volume is bounded by us, not by peers) */
        if (sb_log_enabled(SB_LOG_DEBUG)) {
            char h[65];
            tx_hash(req->tx.data, req->tx.len, h);
            sb_log(SB_LOG_DEBUG, "checktx", "%srejected tx %s code=%d %s: %s",
                   recheck ? "recheck " : "", h, code, sb_code_name(code), log);
        }
        rejected_summary(app, code, 1);
    }
    return 0;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static int on_prepare_proposal(void *arg, abci_ctx *ctx,
                               const Tendermint__Abci__RequestPrepareProposal *req,
                               Tendermint__Abci__ResponsePrepareProposal *res)
{
    sb_app *app = arg;
    sb_overlay kept = { 0 };
    int64_t t = ts_ns(req->time);
    int64_t budget = req->max_tx_bytes, used = 0;
    sb_metrics_abci_request("prepare_proposal");

    res->txs = abci_ctx_alloc(ctx, (req->n_txs ? req->n_txs : 1) * sizeof(*res->txs));
    if (!res->txs)
        return -1;
    res->n_txs = 0;
    if (!app->have_params)
        return 0;
    view_ctx vc = { app, 0, &kept, 1 };
    sb_tx_view view = make_view(&vc);
    sb_sig_facts *facts = block_facts(app, ctx, req->txs, req->n_txs);
    for (size_t i = 0; i < req->n_txs; i++) {
        const ProtobufCBinaryData *d = &req->txs[i];
        int64_t sz = (int64_t)(1 + varint_len(d->len) + d->len);
        if (used + sz > budget)
            continue;
        sb_tx tx = { 0 };
        sb_sig_oracle so = { app->sigcache, facts ? &facts[i] : NULL };
        int code = sb_tx_check_v(&app->params, &view, sb_sig_oracle_verify, &so, d->data, d->len, t,
                                 &tx, NULL, 0);
        if (code < 0 || (code == SB_OK && overlay_note(&kept, &tx) < 0)) {
            sb_tx_free(&tx);
            sb_overlay_free(&kept);
            return -1;
        }
        sb_tx_free(&tx);
        if (code != SB_OK)
            continue;
        res->txs[res->n_txs].data = abci_ctx_memdup(ctx, d->data, d->len);
        if (d->len && !res->txs[res->n_txs].data) {
            sb_overlay_free(&kept);
            return -1;
        }
        res->txs[res->n_txs++].len = d->len;
        used += sz;
    }
    sb_overlay_free(&kept);
    if (res->n_txs != req->n_txs)
        sb_log(SB_LOG_DEBUG, "app", "prepare_proposal: height %" PRId64 " kept %zu of %zu txs",
               req->height, res->n_txs, req->n_txs);
    return 0;
}

static int on_process_proposal(void *arg, abci_ctx *ctx,
                               const Tendermint__Abci__RequestProcessProposal *req,
                               Tendermint__Abci__ResponseProcessProposal *res)
{
    sb_app *app = arg;
    int64_t t = ts_ns(req->time);
    sb_metrics_abci_request("process_proposal");
    res->status = TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT;
    if (!app->have_params)
        return 0;
    sb_sig_facts *facts = block_facts(app, ctx, req->txs, req->n_txs);
    for (size_t i = 0; i < req->n_txs; i++) {
        char log[256] = "";
        sb_sig_oracle so = { app->sigcache, facts ? &facts[i] : NULL };
        int code = sb_tx_check_v(&app->params, NULL, sb_sig_oracle_verify, &so, req->txs[i].data,
                                 req->txs[i].len, t, NULL, log, sizeof(log));
        if (code < 0)
            return -1;
        if (code == SB_ENCODING || code == SB_SIGNATURE) {
            sb_log(SB_LOG_WARN, "app", "process_proposal: REJECT block %" PRId64 ": tx %zu %s: %s",
                   req->height, i, sb_code_name(code), log);
            res->status = TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__REJECT;
            return 0;
        }
    }
    return 0;
}

/* ---- FinalizeBlock ----------------------------------------------------------------- */

static Tendermint__Abci__Event *new_event(abci_ctx *ctx, const char *type, size_t nattr)
{
    Tendermint__Abci__Event *e = abci_ctx_alloc(ctx, sizeof(*e));
    if (!e)
        return NULL;
    tendermint__abci__event__init(e);
    e->type = (char *)type;
    e->attributes = abci_ctx_alloc(ctx, nattr * sizeof(*e->attributes));
    if (!e->attributes)
        return NULL;
    for (size_t i = 0; i < nattr; i++) {
        e->attributes[i] = abci_ctx_alloc(ctx, sizeof(**e->attributes));
        if (!e->attributes[i])
            return NULL;
        tendermint__abci__event_attribute__init(e->attributes[i]);
    }
    e->n_attributes = nattr;
    return e;
}

/* Set attribute i (indexed, protocol.md §8); value copied into the arena. */
static int set_attr(abci_ctx *ctx, Tendermint__Abci__Event *e, size_t i, const char *key,
                    const char *value)
{
    e->attributes[i]->key = (char *)key;
    e->attributes[i]->value = abci_ctx_strdup(ctx, value);
    e->attributes[i]->index = 1;
    return e->attributes[i]->value ? 0 : -1;
}

static Tendermint__Abci__Event *tx_event(abci_ctx *ctx, const sb_tx *tx)
{
    char slot[24], id[65], who[65];
    snprintf(slot, sizeof(slot), "%" PRIu64, tx->slot);
    sb_hex(tx->id, 32, id);
    sb_hex(tx->signer, 32, who);
    Tendermint__Abci__Event *e =
        new_event(ctx, tx->kind == 1 ? "sleetbubble.proposal" : "sleetbubble.vote", 3);
    if (!e || set_attr(ctx, e, 0, "slot", slot) || set_attr(ctx, e, 1, "proposal_id", id) ||
        set_attr(ctx, e, 2, tx->kind == 1 ? "curator" : "validator", who))
        return NULL;
    return e;
}

static Tendermint__Abci__Event *slot_event(abci_ctx *ctx, const sb_slot_record *r)
{
    char slot[24], pf[24], tot[24], id[65] = "", cid[SB_CID_STR_MAX] = "";
    snprintf(slot, sizeof(slot), "%" PRIu64, r->slot);
    snprintf(pf, sizeof(pf), "%" PRIu64, r->power_for);
    snprintf(tot, sizeof(tot), "%" PRIu64, r->total);
    if (r->outcome != SB_OUTCOME_NONE)
        sb_hex(r->proposal_id, 32, id);
    if (r->manifest_cid_len &&
        sb_cid_to_string(r->manifest_cid, r->manifest_cid_len, cid, sizeof(cid)) < 0)
        return NULL;
    Tendermint__Abci__Event *e = new_event(ctx, "sleetbubble.slot_finalized", 6);
    if (!e || set_attr(ctx, e, 0, "slot", slot) ||
        set_attr(ctx, e, 1, "outcome", sb_outcome_name(r->outcome)) ||
        set_attr(ctx, e, 2, "winner", id) || set_attr(ctx, e, 3, "power_for", pf) ||
        set_attr(ctx, e, 4, "total_power", tot) || set_attr(ctx, e, 5, "manifest_cid", cid))
        return NULL;
    return e;
}

/* sb_store_each_vote callback: one vote into the core's count. */
static int count_vote(void *arg, const uint8_t validator[32], const uint8_t proposal_id[32])
{
    sb_tally_votes_add(arg, validator, proposal_id);
    return 0;
}

/* Finalize slot s in block h (protocol.md §5, §6); adds the record to the app hash and an event. */
static int finalize_slot(sb_app *app, abci_ctx *ctx, uint64_t s, int64_t h, sb_apphash_ctx *hc,
                         Tendermint__Abci__Event **ev)
{
    uint8_t *ids = NULL, *body = NULL;
    size_t n = 0, blen = 0;
    sb_tally_votes tv = { 0 };
    Sleetbubble__V1__ProposalBody *pb = NULL;
    sb_buf manifest;
    sb_slot_record prev, rec;
    int ret = -1, have_prev = 0;
    sb_buf_init(&manifest, 0); /* sized from the winner's body below */

    if (sb_store_proposal_ids(app->store, 1, s, &ids, &n) < 0)
        goto done;
    if (sb_tally_votes_init(&tv, &app->params, ids, n) < 0 ||
        sb_store_each_vote(app->store, 1, s, count_vote, &tv) < 0 || sb_tally_votes_finish(&tv) < 0)
        goto done;
    if (s > 0) {
        int f = sb_store_get_slot(app->store, 1, s - 1, &prev);
        if (f < 0)
            goto done;
        have_prev = f == 1 && prev.outcome != SB_OUTCOME_NONE;
    }
    if (sb_tally(s, tv.c, n, sb_params_total_power(&app->params), !app->params.open_curation,
                 app->base_hash, have_prev ? &prev : NULL, h, &rec) < 0)
        goto done;

    if (rec.outcome == SB_OUTCOME_SUPERMAJORITY || rec.outcome == SB_OUTCOME_FALLBACK) {
        if (sb_store_proposal_body(app->store, 1, rec.proposal_id, &body, &blen) != 1)
            goto done;
        /* The manifest is a function of the body (<= max_tx_size): each track is >= 52 body
         * bytes and <= 2x its strings + 69 manifest bytes, so 4x the body plus room for the
         * header is always enough. A fixed cap would fail FinalizeBlock - a chain halt - for
         * a valid winner under a genesis with large max_tracks / max_tx_size. */
        sb_buf_init(&manifest, 4 * blen + 65536);
        pb = sleetbubble__v1__proposal_body__unpack(NULL, blen, body);
        if (!pb || sb_manifest_build(pb, rec.proposal_id, &manifest) < 0)
            goto done;
        sb_cid_dagjson(manifest.data, manifest.len, rec.manifest_cid);
        rec.manifest_cid_len = 37;
    }
    if (sb_store_add_slot(app->store, &rec, manifest.len ? manifest.data : NULL, manifest.len) <
            0 ||
        sb_apphash_add_slot(hc, &rec) < 0)
        goto done;
    if (!(*ev = slot_event(ctx, &rec)))
        goto done;
    sb_metrics_slot_finalized(sb_outcome_name(rec.outcome));
    {
        char id[65] = "-";
        if (rec.outcome != SB_OUTCOME_NONE)
            sb_hex(rec.proposal_id, 32, id);
        sb_log(SB_LOG_INFO, "app",
               "slot %" PRIu64 " finalized at height %" PRId64 ": %s winner=%s power_for=%" PRIu64
               "/%" PRIu64,
               s, h, sb_outcome_name(rec.outcome), id, rec.power_for, rec.total);
    }
    ret = 0;
done:
    if (pb)
        sleetbubble__v1__proposal_body__free_unpacked(pb, NULL);
    sb_buf_free(&manifest);
    free(body);
    sb_tally_votes_free(&tv);
    free(ids);
    return ret;
}

/* Apply one tx of the block: judge it, stage it, hash it. Fills r and *ev (NULL if none). */
static int apply_tx(sb_app *app, abci_ctx *ctx, const ProtobufCBinaryData *d, uint32_t index,
                    int64_t h, int64_t t, sb_apphash_ctx *hc, const sb_sig_facts *facts,
                    Tendermint__Abci__ExecTxResult *r)
{
    char log[512] = "";
    sb_tx tx = { 0 };
    int ret = -1;
    view_ctx vc = { app, 1, NULL, 0 };
    sb_tx_view view = make_view(&vc);
    sb_sig_oracle so = { app->sigcache, facts };
    int code = sb_tx_check_v(&app->params, &view, sb_sig_oracle_verify, &so, d->data, d->len, t,
                             &tx, log, sizeof(log));
    if (code < 0)
        goto done;
    r->code = (uint32_t)code;
    if (code != SB_OK) {
        r->codespace = SB_CODESPACE;
        r->log = abci_ctx_printf(ctx, "%s: %s", sb_code_name(code), log);
        ret = 0;
        goto done;
    }
    if (tx.kind == 1) {
        size_t ntr = tx.proposal->playlist ? tx.proposal->playlist->n_tracks : 0;
        if (sb_store_add_proposal(app->store, tx.id, tx.slot, tx.signer, h, index, d->data, d->len,
                                  tx.tx->body.data, tx.tx->body.len, (uint32_t)ntr,
                                  tx.total_duration_ms) < 0)
            goto done;
    } else if (sb_store_add_vote(app->store, tx.slot, tx.signer, tx.id, h, index, d->data, d->len) <
               0) {
        goto done;
    }
    if (sb_apphash_add_tx(hc, d->data, d->len) < 0)
        goto done;
    Tendermint__Abci__Event *e = tx_event(ctx, &tx);
    if (!e || !(r->events = abci_ctx_alloc(ctx, sizeof(*r->events))))
        goto done;
    r->events[0] = e;
    r->n_events = 1;
    ret = 0;
done:
    sb_tx_free(&tx);
    return ret;
}

/* The one height FinalizeBlock may carry (protocol.md §2, §7): the last committed height + 1, or
 * the genesis initial_height (staged by InitChain until the first Commit) when nothing is
 * committed. A staged-but-uncommitted block does not move it: CometBFT may send that height
 * again, and a restarted process has nothing staged anyway. */
static int64_t expected_height(const sb_app *app)
{
    if (app->committed.height > 0)
        return app->committed.height + 1;
    int64_t ih = app->pending ? app->staged.initial_height : app->committed.initial_height;
    return ih > 0 ? ih : 1;
}

/* 1 (with one error line) when FinalizeBlock at height h must be refused, state untouched:
 * the connection then closes and CometBFT halts, the right answer to a skipped or already
 * committed block (applying it would fork the state). */
static int finalize_refused(const sb_app *app, int64_t h)
{
    if (!app->have_params || !app->have_base) {
        sb_log(SB_LOG_ERROR, "app", "finalize_block %" PRId64 " before InitChain", h);
        return 1;
    }
    int64_t want = expected_height(app);
    if (h != want) {
        sb_log(SB_LOG_ERROR, "app",
               "finalize_block refused: expected height %" PRId64 ", got %" PRId64
               " (last committed %" PRId64 ")",
               want, h, app->committed.height);
        return 1;
    }
    return 0;
}

static int on_finalize_block(void *arg, abci_ctx *ctx,
                             const Tendermint__Abci__RequestFinalizeBlock *req,
                             Tendermint__Abci__ResponseFinalizeBlock *res)
{
    sb_app *app = arg;
    sb_apphash_ctx hc = { 0 };
    int64_t h = req->height, t = ts_ns(req->time);
    size_t nslots = 0, cap = 4;
    sb_metrics_abci_request("finalize_block");

    if (finalize_refused(app, h))
        return -1;
    if (app->pending && app->staged.height != 0) {
        /* A FinalizeBlock without the Commit of the previous one: start over from the
         * committed state (CometBFT replays after a crash; protocol.md §2 crash contract). */
        sb_store_rollback(app->store);
        app->pending = 0;
    }
    if (sb_store_begin(app->store) < 0 || sb_apphash_begin(&hc) < 0)
        return -1;

    res->tx_results = abci_ctx_alloc(ctx, (req->n_txs ? req->n_txs : 1) * sizeof(*res->tx_results));
    sb_sig_facts *facts = block_facts(app, ctx, req->txs, req->n_txs);
    if (!res->tx_results)
        goto err;
    for (size_t i = 0; i < req->n_txs; i++) {
        Tendermint__Abci__ExecTxResult *r = abci_ctx_alloc(ctx, sizeof(*r));
        if (!r)
            goto err;
        tendermint__abci__exec_tx_result__init(r);
        res->tx_results[i] = r;
        if (apply_tx(app, ctx, &req->txs[i], (uint32_t)i, h, t, &hc, facts ? &facts[i] : NULL, r) <
            0)
            goto err;
    }
    res->n_tx_results = req->n_txs;

    /* Finalize every due slot in increasing order (protocol.md §3). */
    uint64_t s = app->pending ? app->staged.next_slot : app->committed.next_slot;
    res->events = abci_ctx_alloc(ctx, cap * sizeof(*res->events));
    if (!res->events)
        goto err;
    while (s < UINT64_MAX && sb_slot_close(&app->params, s) <= (__int128)t) {
        if (nslots == cap) {
            Tendermint__Abci__Event **ne = abci_ctx_alloc(ctx, 2 * cap * sizeof(*ne));
            if (!ne)
                goto err;
            memcpy(ne, res->events, cap * sizeof(*ne));
            res->events = ne;
            cap *= 2;
        }
        if (finalize_slot(app, ctx, s, h, &hc, &res->events[nslots]) < 0)
            goto err;
        nslots++;
        s++;
    }
    res->n_events = nslots;

    sb_meta m = { 0 };
    if (sb_apphash_finish(&hc, app->base_hash, (uint64_t)h, m.app_hash) < 0)
        goto err_nohash;
    m.has_app_hash = 1;
    m.height = h;
    m.last_time_ns = t;
    m.next_slot = s;
    m.initial_height = app->pending ? app->staged.initial_height : app->committed.initial_height;
    if (sb_store_set_head(app->store, m.height, m.app_hash, m.last_time_ns, m.next_slot) < 0)
        goto err_nohash;
    app->staged = m;
    app->pending = 1;
    res->app_hash.data = abci_ctx_memdup(ctx, m.app_hash, 32);
    res->app_hash.len = 32;
    return 0;

err:
    sb_apphash_abort(&hc);
err_nohash:
    sb_log(SB_LOG_ERROR, "app", "finalize_block %" PRId64 " failed; rolling back", h);
    sb_store_rollback(app->store);
    app->pending = 0;
    return -1;
}

static int on_commit(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCommit *req,
                     Tendermint__Abci__ResponseCommit *res)
{
    sb_app *app = arg;
    sb_metrics_abci_request("commit");
    res->retain_height = 0; /* keep every block (protocol.md §7) */
    if (!app->pending)
        return 0;
#ifdef SB_FAULT_HOOKS
    if (app->opts.fail_before_commit && app->opts.fail_before_commit == app->staged.height) {
        sb_log(SB_LOG_WARN, "app", "fault injection: SIGKILL before Commit of height %" PRId64,
               app->staged.height);
        raise(SIGKILL);
    }
#endif
    if (sb_store_commit(app->store) < 0) {
        app->healthy = 0;
        sb_log(SB_LOG_ERROR, "app", "commit of height %" PRId64 " failed", app->staged.height);
        return -1;
    }
    app->pending = 0;
    app->committed.height = app->staged.height;
    memcpy(app->committed.app_hash, app->staged.app_hash, 32);
    app->committed.has_app_hash = 1;
    app->committed.last_time_ns = app->staged.last_time_ns;
    app->committed.next_slot = app->staged.next_slot;
    app->committed.initial_height = app->staged.initial_height;
    memcpy(app->base_hash, app->staged.app_hash, 32);
    app->healthy = 1;
    sb_overlay_clear(&app->mempool); /* rebuilt by the RECHECKs that follow (protocol.md §4) */
    rejected_summary(app, 0, 0);     /* a burst followed by silence is still reported */
    sb_metrics_set_height(app->committed.height);
    if (app->opts.on_commit)
        app->opts.on_commit(app->opts.on_commit_arg, app->committed.height);
    return 0;
}

static int on_query(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestQuery *req,
                    Tendermint__Abci__ResponseQuery *res)
{
    sb_metrics_abci_request("query");
    return sb_query(arg, ctx, req, res);
}

static const abci_app_t sb_abci_table = {
    .info = on_info,
    .init_chain = on_init_chain,
    .query = on_query,
    .check_tx = on_check_tx,
    .check_tx_stage = on_check_tx_stage,
    .prepare_proposal = on_prepare_proposal,
    .process_proposal = on_process_proposal,
    .finalize_block = on_finalize_block,
    .commit = on_commit,
};

const abci_app_t *sb_app_abci(void) { return &sb_abci_table; }
