/* conn.c - one ABCI connection: frames in, callbacks, responses out, in order (protocol.md §2).
 *
 * Input: one recv() into the connection's input buffer, then every complete frame in it is
 * unpacked (into the connection's arena, through a protobuf-c allocator over it), dispatched
 * to the app callback (or the library default) and its Response packed straight into the
 * output buffer. Output is released for writing at Flush, or once the held responses exceed
 * ABCI_PUSH_THRESHOLD_BYTES, and everything released by one batch of input leaves in one
 * send() after the batch (an EV_WRITE event is added only when the socket would block).
 * Buffers and arena are reused, so the steady state allocates nothing per request.
 *
 * Reading never stops while responses are queued (CometBFT's socket client blocks on a full
 * send buffer while holding its lock, protocol.md §2); instead the queued output is capped by
 * opts.max_output_bytes and the connection is closed past it.
 *
 * Lifetime: a handler holds a reference (refs) while it runs; abci_conn_close() only marks the
 * connection (closing) and unlinks it, and the memory goes when the last reference drops, so
 * an app callback that frees the whole server cannot pull the connection from under itself.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "abci-internal.h"
#include "abci/frame.h"

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

/* ---- lifetime ----------------------------------------------------------------------------- */

static void conn_ref(abci_conn *c) { c->refs++; }

static void conn_free(abci_conn *c)
{
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    if (c->fd >= 0)
        evutil_closesocket(c->fd);
    free(c->in.p);
    free(c->out.p);
    abci_ctx_reset(&c->ctx);
    while (c->qhead) { /* none is in the pool: each of those holds a reference */
        abci_job *j = c->qhead;
        c->qhead = j->next;
        abci_job_put(c->srv, j);
    }
    free(c);
}

static void conn_unref(abci_conn *c)
{
    if (--c->refs > 0 || !c->closing)
        return;
    abci_server *srv = c->srv;
    conn_free(c);
    srv->nzombies--;
    if (srv->freeing && srv->nconns == 0 && srv->nzombies == 0)
        abci_server_destroy(srv);
}

void abci_conn_close(abci_conn *c, int level, const char *fmt, ...)
{
    if (c->closing)
        return;
    abci_server *srv = c->srv;
    if (fmt) {
        char why[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        abci_log(srv, level, "closing connection %lu (%s) after %llu requests: %s", c->id, c->peer,
                 (unsigned long long)c->nreq, why);
    }
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    srv->nconns--;
    srv->nzombies++;
    event_del(c->rev);
    event_del(c->wev);
    conn_ref(c);
    conn_unref(c); /* frees now unless a handler is running */
}

/* ---- output ------------------------------------------------------------------------------- */

static size_t conn_queued(const abci_conn *c) { return c->out.len - c->out.off; }

/* Send the released bytes out.p[off, mark) now, as far as the socket takes them; if it would
 * block, wait for EV_WRITE. Returns 0, or -1 after closing the connection. */
static int conn_write(abci_conn *c)
{
    abci_buf *o = &c->out;
    while (o->off < c->mark) {
        ssize_t n = send(c->fd, o->p + o->off, c->mark - o->off, MSG_NOSIGNAL);
        if (n > 0) {
            o->off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->writing && event_add(c->wev, NULL) == 0)
                c->writing = 1;
            return 0;
        }
        abci_conn_close(c, ABCI_LOG_WARN,
                        "socket error while writing: %s (%zu input bytes pending)",
                        n < 0 ? strerror(errno) : "wrote nothing", c->in.len - c->in.off);
        return -1;
    }
    if (c->writing) {
        event_del(c->wev);
        c->writing = 0;
    }
    if (o->off == o->len) { /* everything written: start over, give back a grown buffer */
        o->off = o->len = c->mark = 0;
        if (o->cap > ABCI_READ_BUFFER_BYTES) {
            free(o->p);
            o->p = NULL;
            o->cap = 0;
        }
    } else if (o->off > o->cap / 2) { /* held responses remain: move them to the front */
        memmove(o->p, o->p + o->off, o->len - o->off);
        c->mark -= o->off;
        o->len -= o->off;
        o->off = 0;
    }
    return 0;
}

/* Room for `total` more bytes at the end of the output buffer, counted as queued (out.len
 * moves past them): returns where to write them, or NULL after closing the connection
 * (output cap, out of memory). */
static uint8_t *conn_reserve(abci_conn *c, size_t total, const char *method)
{
    size_t queued = conn_queued(c);
    size_t cap = c->srv->opts.max_output_bytes;
    abci_buf *o = &c->out;
    if (total > cap || queued > cap - total) {
        abci_conn_close(c, ABCI_LOG_WARN,
                        "output queue full: %zu bytes queued + %zu byte %s response > cap %zu "
                        "(peer not reading)",
                        queued, total, method, cap);
        return NULL;
    }
    if (o->cap - o->len < total) {
        if (o->off > 0) { /* compact first */
            memmove(o->p, o->p + o->off, o->len - o->off);
            c->mark -= o->off;
            o->len -= o->off;
            o->off = 0;
        }
        if (o->cap - o->len < total) {
            size_t ncap = o->cap ? o->cap : (size_t)64 << 10;
            while (ncap - o->len < total)
                ncap *= 2;
            uint8_t *np = realloc(o->p, ncap);
            if (!np) {
                abci_conn_close(c, ABCI_LOG_ERROR, "out of memory queueing a %zu byte %s response",
                                total, method);
                return NULL;
            }
            o->p = np;
            o->cap = ncap;
        }
    }
    uint8_t *p = o->p + o->len;
    o->len += total;
    return p;
}

/* Append one framed response to the output buffer. Returns 0, or -1 after closing the
 * connection. */
static int conn_write_response(abci_conn *c, const Tendermint__Abci__Response *resp,
                               const char *method)
{
    size_t body = tendermint__abci__response__get_packed_size(resp);
    size_t hdr = abci_varint_size(body);
    uint8_t *p = conn_reserve(c, hdr + body, method);
    if (!p)
        return -1;
    abci_varint_encode(body, p);
    tendermint__abci__response__pack(resp, p + hdr);
    return 0;
}

/* After a response is queued: Flush releases everything for the send after this batch; a
 * large held batch goes now. Returns 0, or -1 once the connection is closing. */
static int conn_after_response(abci_conn *c, int flush)
{
    if (flush) {
        c->mark = c->out.len;
    } else if (c->out.len - c->mark >= ABCI_PUSH_THRESHOLD_BYTES) {
        c->mark = c->out.len;
        return conn_write(c);
    }
    return 0;
}

/* The library's own answers to Echo and Flush in their canonical (minimal, CometBFT's)
 * encodings, without protobuf decode/encode: Request.flush (field 2) = 12 00 answers
 * Response.flush (field 3) = 1a 00; Request.echo (field 1) = 0a L [0a M message] answers
 * Response.echo (field 2) = the same bytes with 12 first (protobuf-c does not check UTF-8
 * either, so the answer is byte for byte what the general path packs). Any other encoding
 * takes the general path. Returns 1 if answered, 0 if not this case, -1 once closing. */
static int conn_fast_path(abci_conn *c, const uint8_t *body, size_t len)
{
    int flush;
    if (len == 2 && body[0] == 0x12 && body[1] == 0x00)
        flush = 1;
    else if (len >= 2 && len < 0x80 && body[0] == 0x0a && body[1] == len - 2 &&
             (len == 2 || (len >= 5 && body[2] == 0x0a && body[3] == len - 4)))
        flush = 0;
    else
        return 0;
    uint8_t *p = conn_reserve(c, 1 + len, flush ? "flush" : "echo");
    if (!p)
        return -1;
    c->nreq++;
    p[0] = (uint8_t)len;
    memcpy(p + 1, body, len);
    p[1] = flush ? 0x1a : 0x12;
    return conn_after_response(c, flush) ? -1 : 1;
}

/* ---- default handlers (abci.h: safe answers when a callback is NULL) ----------------------- */

#define DEF(name, Req, Res)                                                             \
    static int def_##name(void *app, abci_ctx *ctx, const Tendermint__Abci__##Req *req, \
                          Tendermint__Abci__##Res *res)

DEF(info, RequestInfo, ResponseInfo) { return 0; }
DEF(init_chain, RequestInitChain, ResponseInitChain) { return 0; }
DEF(query, RequestQuery, ResponseQuery)
{
    res->code = 1;
    res->log = (char *)"no query handler";
    return 0;
}
DEF(check_tx, RequestCheckTx, ResponseCheckTx) { return 0; }
DEF(prepare_proposal, RequestPrepareProposal, ResponsePrepareProposal)
{
    /* keep the mempool's txs, in order, while they fit max_tx_bytes as CometBFT measures
     * them (types.Txs.Validate: protobuf size of Data{txs}, i.e. tag + length + bytes each) */
    int64_t total = 0;
    size_t n = 0;
    for (; n < req->n_txs; n++) {
        int64_t sz = 1 + (int64_t)abci_varint_size(req->txs[n].len) + (int64_t)req->txs[n].len;
        if (sz > req->max_tx_bytes - total)
            break;
        total += sz;
    }
    res->n_txs = n;
    res->txs = req->txs; /* borrowed from the request, which outlives the packing */
    return 0;
}
DEF(process_proposal, RequestProcessProposal, ResponseProcessProposal)
{
    res->status = TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT;
    return 0;
}
DEF(finalize_block, RequestFinalizeBlock, ResponseFinalizeBlock)
{
    if (req->n_txs == 0)
        return 0;
    Tendermint__Abci__ExecTxResult *r = abci_ctx_alloc(ctx, req->n_txs * sizeof(*r));
    Tendermint__Abci__ExecTxResult **v = abci_ctx_alloc(ctx, req->n_txs * sizeof(*v));
    if (!r || !v)
        return -ENOMEM;
    for (size_t i = 0; i < req->n_txs; i++) {
        tendermint__abci__exec_tx_result__init(&r[i]);
        v[i] = &r[i];
    }
    res->n_tx_results = req->n_txs;
    res->tx_results = v;
    return 0;
}
DEF(extend_vote, RequestExtendVote, ResponseExtendVote) { return 0; }
DEF(verify_vote_extension, RequestVerifyVoteExtension, ResponseVerifyVoteExtension)
{
    res->status = req->vote_extension.len == 0
                      ? TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__ACCEPT
                      : TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__VERIFY_STATUS__REJECT;
    return 0;
}
DEF(commit, RequestCommit, ResponseCommit) { return 0; }
DEF(list_snapshots, RequestListSnapshots, ResponseListSnapshots) { return 0; }
DEF(offer_snapshot, RequestOfferSnapshot, ResponseOfferSnapshot)
{
    res->result = TENDERMINT__ABCI__RESPONSE_OFFER_SNAPSHOT__RESULT__REJECT;
    return 0;
}
DEF(load_snapshot_chunk, RequestLoadSnapshotChunk, ResponseLoadSnapshotChunk) { return 0; }
DEF(apply_snapshot_chunk, RequestApplySnapshotChunk, ResponseApplySnapshotChunk)
{
    res->result = TENDERMINT__ABCI__RESPONSE_APPLY_SNAPSHOT_CHUNK__RESULT__ABORT;
    return 0;
}

/* ---- request normalisation ---------------------------------------------------------------- */

/* Sub-messages CometBFT always sends (gogoproto non-nullable) may still be absent on the wire
 * (e.g. a zero value from another client). We point them at static empty messages so apps can
 * dereference req->time etc.; the request lives in the arena, so nothing frees them. */
static const Tendermint__Abci__Timestamp k_ts0 = TENDERMINT__ABCI__TIMESTAMP__INIT;
static const Tendermint__Abci__CommitInfo k_ci0 = TENDERMINT__ABCI__COMMIT_INFO__INIT;
static const Tendermint__Abci__ExtendedCommitInfo k_eci0 =
    TENDERMINT__ABCI__EXTENDED_COMMIT_INFO__INIT;
static const Tendermint__Abci__Validator k_val0 = TENDERMINT__ABCI__VALIDATOR__INIT;
static const Tendermint__Abci__PublicKey k_pk0 = TENDERMINT__ABCI__PUBLIC_KEY__INIT;
static const Tendermint__Abci__ConsensusParams k_cp0 = TENDERMINT__ABCI__CONSENSUS_PARAMS__INIT;

#define FILL(field, dflt)             \
    do {                              \
        if (!(field))                 \
            (field) = (void *)(dflt); \
    } while (0)

static void fill_commit(Tendermint__Abci__CommitInfo **ci)
{
    FILL(*ci, &k_ci0);
    for (size_t i = 0; i < (*ci)->n_votes; i++)
        if ((*ci)->votes[i])
            FILL((*ci)->votes[i]->validator, &k_val0);
}

static void fill_misbehavior(size_t n, Tendermint__Abci__Misbehavior **m)
{
    for (size_t i = 0; i < n; i++) {
        if (!m[i])
            continue;
        FILL(m[i]->validator, &k_val0);
        FILL(m[i]->time, &k_ts0);
    }
}

static void fill_request(Tendermint__Abci__Request *req)
{
    switch (req->value_case) {
    case TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN: {
        Tendermint__Abci__RequestInitChain *r = req->init_chain;
        FILL(r->time, &k_ts0);
        FILL(r->consensus_params, &k_cp0);
        for (size_t i = 0; i < r->n_validators; i++)
            if (r->validators[i])
                FILL(r->validators[i]->pub_key, &k_pk0);
        return;
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL: {
        Tendermint__Abci__RequestPrepareProposal *r = req->prepare_proposal;
        FILL(r->time, &k_ts0);
        FILL(r->local_last_commit, &k_eci0);
        for (size_t i = 0; i < r->local_last_commit->n_votes; i++)
            if (r->local_last_commit->votes[i])
                FILL(r->local_last_commit->votes[i]->validator, &k_val0);
        fill_misbehavior(r->n_misbehavior, r->misbehavior);
        return;
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL: {
        Tendermint__Abci__RequestProcessProposal *r = req->process_proposal;
        FILL(r->time, &k_ts0);
        fill_commit(&r->proposed_last_commit);
        fill_misbehavior(r->n_misbehavior, r->misbehavior);
        return;
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_EXTEND_VOTE: {
        Tendermint__Abci__RequestExtendVote *r = req->extend_vote;
        FILL(r->time, &k_ts0);
        fill_commit(&r->proposed_last_commit);
        fill_misbehavior(r->n_misbehavior, r->misbehavior);
        return;
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK: {
        Tendermint__Abci__RequestFinalizeBlock *r = req->finalize_block;
        FILL(r->time, &k_ts0);
        fill_commit(&r->decided_last_commit);
        fill_misbehavior(r->n_misbehavior, r->misbehavior);
        return;
    }
    default: return;
    }
}
#undef FILL

/* ---- dispatch ----------------------------------------------------------------------------- */

union response_any {
    Tendermint__Abci__ResponseEcho echo;
    Tendermint__Abci__ResponseFlush flush;
    Tendermint__Abci__ResponseInfo info;
    Tendermint__Abci__ResponseInitChain init_chain;
    Tendermint__Abci__ResponseQuery query;
    Tendermint__Abci__ResponseCheckTx check_tx;
    Tendermint__Abci__ResponseCommit commit;
    Tendermint__Abci__ResponseListSnapshots list_snapshots;
    Tendermint__Abci__ResponseOfferSnapshot offer_snapshot;
    Tendermint__Abci__ResponseLoadSnapshotChunk load_snapshot_chunk;
    Tendermint__Abci__ResponseApplySnapshotChunk apply_snapshot_chunk;
    Tendermint__Abci__ResponsePrepareProposal prepare_proposal;
    Tendermint__Abci__ResponseProcessProposal process_proposal;
    Tendermint__Abci__ResponseExtendVote extend_vote;
    Tendermint__Abci__ResponseVerifyVoteExtension verify_vote_extension;
    Tendermint__Abci__ResponseFinalizeBlock finalize_block;
};

/* One callback call: pick app callback or default, init the response, set the oneof. */
#define CALL(CASE, name, ResT, RES_INIT)                                                      \
    case TENDERMINT__ABCI__REQUEST__VALUE_##CASE: {                                           \
        ResT *res = &u.name;                                                                  \
        *res = (ResT)RES_INIT;                                                                \
        method = #name;                                                                       \
        rc = (srv->app.name ? srv->app.name : def_##name)(srv->app_arg, ctx, req->name, res); \
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_##CASE;                           \
        resp.name = res;                                                                      \
        break;                                                                                \
    }

/* After the callback of `method` returned rc: close on a failed callback or an UNKNOWN status
 * (CometBFT would panic on it: report the app bug here instead), else pack resp into the output
 * buffer and apply Flush. Returns 0, or -1 once the connection is closing. */
static int conn_finish(abci_conn *c, Tendermint__Abci__Response *resp, const char *method, int rc,
                       int flush, size_t len)
{
    if (c->closing) /* the callback freed the server */
        return -1;
    if (rc != 0) {
        abci_conn_close(c, ABCI_LOG_ERROR,
                        "application %s callback failed with %d (frame length %zu)", method, rc,
                        len);
        return -1;
    }
    if ((resp->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_PROCESS_PROPOSAL &&
         resp->process_proposal->status == 0) ||
        (resp->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_VERIFY_VOTE_EXTENSION &&
         resp->verify_vote_extension->status == 0) ||
        (resp->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_OFFER_SNAPSHOT &&
         resp->offer_snapshot->result == 0) ||
        (resp->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_APPLY_SNAPSHOT_CHUNK &&
         resp->apply_snapshot_chunk->result == 0)) {
        abci_conn_close(c, ABCI_LOG_ERROR,
                        "application %s callback left the status UNKNOWN (frame length %zu)",
                        method, len);
        return -1;
    }
    if (conn_write_response(c, resp, method) || conn_after_response(c, flush))
        return -1;
    return 0;
}

/* Answer one decoded request whose turn has come: callback, checks, response packed into the
 * output buffer. ctx holds the request; it is rewound here. Returns 0, or -1 once the
 * connection is closing. */
static int conn_dispatch(abci_conn *c, abci_ctx *ctx, Tendermint__Abci__Request *req, size_t len)
{
    abci_server *srv = c->srv;
    Tendermint__Abci__Response resp = TENDERMINT__ABCI__RESPONSE__INIT;
    union response_any u;
    const char *method = "?";
    int flush = 0, rc = 0, ret = -1;

    ctx->srv = srv; /* abci_parallel_map may use the pool during this callback */
    switch (req->value_case) {
    case TENDERMINT__ABCI__REQUEST__VALUE_ECHO:
        u.echo = (Tendermint__Abci__ResponseEcho)TENDERMINT__ABCI__RESPONSE_ECHO__INIT;
        u.echo.message = req->echo->message; /* borrowed until packed */
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_ECHO;
        resp.echo = &u.echo;
        method = "echo";
        break;
    case TENDERMINT__ABCI__REQUEST__VALUE_FLUSH:
        u.flush = (Tendermint__Abci__ResponseFlush)TENDERMINT__ABCI__RESPONSE_FLUSH__INIT;
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH;
        resp.flush = &u.flush;
        method = "flush";
        flush = 1;
        break;
        CALL(INFO, info, Tendermint__Abci__ResponseInfo, TENDERMINT__ABCI__RESPONSE_INFO__INIT)
        CALL(INIT_CHAIN, init_chain, Tendermint__Abci__ResponseInitChain,
             TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT)
        CALL(QUERY, query, Tendermint__Abci__ResponseQuery, TENDERMINT__ABCI__RESPONSE_QUERY__INIT)
        CALL(CHECK_TX, check_tx, Tendermint__Abci__ResponseCheckTx,
             TENDERMINT__ABCI__RESPONSE_CHECK_TX__INIT)
        CALL(COMMIT, commit, Tendermint__Abci__ResponseCommit,
             TENDERMINT__ABCI__RESPONSE_COMMIT__INIT)
        CALL(LIST_SNAPSHOTS, list_snapshots, Tendermint__Abci__ResponseListSnapshots,
             TENDERMINT__ABCI__RESPONSE_LIST_SNAPSHOTS__INIT)
        CALL(OFFER_SNAPSHOT, offer_snapshot, Tendermint__Abci__ResponseOfferSnapshot,
             TENDERMINT__ABCI__RESPONSE_OFFER_SNAPSHOT__INIT)
        CALL(LOAD_SNAPSHOT_CHUNK, load_snapshot_chunk, Tendermint__Abci__ResponseLoadSnapshotChunk,
             TENDERMINT__ABCI__RESPONSE_LOAD_SNAPSHOT_CHUNK__INIT)
        CALL(APPLY_SNAPSHOT_CHUNK, apply_snapshot_chunk,
             Tendermint__Abci__ResponseApplySnapshotChunk,
             TENDERMINT__ABCI__RESPONSE_APPLY_SNAPSHOT_CHUNK__INIT)
        CALL(PREPARE_PROPOSAL, prepare_proposal, Tendermint__Abci__ResponsePrepareProposal,
             TENDERMINT__ABCI__RESPONSE_PREPARE_PROPOSAL__INIT)
        CALL(PROCESS_PROPOSAL, process_proposal, Tendermint__Abci__ResponseProcessProposal,
             TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__INIT)
        CALL(EXTEND_VOTE, extend_vote, Tendermint__Abci__ResponseExtendVote,
             TENDERMINT__ABCI__RESPONSE_EXTEND_VOTE__INIT)
        CALL(VERIFY_VOTE_EXTENSION, verify_vote_extension,
             Tendermint__Abci__ResponseVerifyVoteExtension,
             TENDERMINT__ABCI__RESPONSE_VERIFY_VOTE_EXTENSION__INIT)
        CALL(FINALIZE_BLOCK, finalize_block, Tendermint__Abci__ResponseFinalizeBlock,
             TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT)
    case TENDERMINT__ABCI__REQUEST__VALUE__NOT_SET:
    default:
        abci_conn_close(c, ABCI_LOG_WARN,
                        "Request has no known method (oneof case %d, frame length %zu)",
                        (int)req->value_case, len);
        goto done;
    }

    ctx->srv = NULL;
    ret = conn_finish(c, &resp, method, rc, flush, len);
done:
    ctx->srv = NULL;
    abci_ctx_rewind(ctx); /* the request lives in the arena: no free_unpacked */
    return ret;
}
#undef CALL

/* Answer, in order, every queued request at the head of c's queue whose stage has finished.
 * Returns 0, or -1 once the connection is closing. */
static int conn_drain(abci_conn *c)
{
    abci_job *j;
    while (!c->closing && (j = c->qhead) != NULL && j->ready) {
        c->qhead = j->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->nqueued--;
        j->next = NULL;
        if (j->stage_rc)
            abci_conn_close(c, ABCI_LOG_ERROR,
                            "application check_tx_stage callback failed with %d (frame length "
                            "%zu)",
                            j->stage_rc, j->frame_len);
        else
            conn_dispatch(c, &j->ctx, j->req, j->frame_len);
        abci_job_put(c->srv, j);
    }
    return c->closing ? -1 : 0;
}

/* Queue a decoded request behind the ones still waiting on c, running the CheckTx stage on
 * the pool (or here, past opts.stage_queue_max waiting stages). j is the job whose arena
 * holds req, or NULL if req is in the connection's arena (its chunks then move to a job).
 * Returns 0, or -1 once the connection is closing. */
static int conn_enqueue(abci_conn *c, abci_job *j, Tendermint__Abci__Request *req, size_t len)
{
    abci_server *srv = c->srv;
    if (!j) { /* decoded in the connection's arena: move it to a job */
        j = abci_job_get(srv);
        if (!j) {
            abci_conn_close(c, ABCI_LOG_ERROR,
                            "out of memory queueing a request (frame length %zu)", len);
            abci_ctx_rewind(&c->ctx);
            return -1;
        }
        abci_ctx_swap_chunks(&j->ctx, &c->ctx);
    }
    j->ctx.peer = c->peer;
    j->req = req;
    j->frame_len = len;
    j->conn = c;
    j->stage_rc = 0;
    j->ready = 0;
    j->next = NULL;
    if (c->qtail)
        c->qtail->next = j;
    else
        c->qhead = j;
    c->qtail = j;
    c->nqueued++;
    if (req->value_case == TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX && srv->app.check_tx_stage) {
        conn_ref(c); /* the pool's, dropped in abci_conn_stage_done */
        if (abci_pool_submit(srv, j) == 0)
            return 0;
        c->refs--; /* not the last: the read handler holds one */
        j->stage_rc =
            srv->app.check_tx_stage(srv->app_arg, &j->ctx, req->check_tx, &j->ctx.stage_result);
    }
    j->ready = 1;
    return conn_drain(c);
}

/* Handle one frame body. Returns 0, or -1 once the connection is closing. */
static int conn_handle(abci_conn *c, const uint8_t *body, size_t len)
{
    static const uint8_t empty[1];
    abci_server *srv = c->srv;
    if (!c->qhead) { /* nothing waits ahead of it */
        int fast = conn_fast_path(c, body, len);
        if (fast)
            return fast < 0 ? -1 : 0;
    }
    /* a request that will wait in the queue is decoded straight into a job's arena (first
     * byte 0x42: Request.check_tx, field 8), so no arena memory changes hands */
    abci_job *j = NULL;
    struct abci_ctx *dctx = &c->ctx;
    if (c->qhead || (srv->app.check_tx_stage && len > 0 && body[0] == 0x42)) {
        j = abci_job_get(srv);
        if (!j) {
            abci_conn_close(c, ABCI_LOG_ERROR,
                            "out of memory queueing a request (frame length %zu)", len);
            return -1;
        }
        dctx = &j->ctx;
    }
    ProtobufCAllocator pa;
    abci_ctx_pb_allocator(dctx, &pa);
    Tendermint__Abci__Request *req =
        tendermint__abci__request__unpack(&pa, len, len ? body : empty);
    if (!req) {
        abci_conn_close(c, ABCI_LOG_WARN, "undecodable protobuf Request (frame length %zu)", len);
        if (j)
            abci_job_put(srv, j);
        else
            abci_ctx_rewind(&c->ctx);
        return -1;
    }
    c->nreq++;
    fill_request(req);
    if (j || c->qhead ||
        (req->value_case == TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX && srv->app.check_tx_stage))
        return conn_enqueue(c, j, req, len);
    return conn_dispatch(c, &c->ctx, req, len);
}

int abci_conn_stage_done(abci_job *j)
{
    abci_conn *c = j->conn;
    abci_server *srv = c->srv;
    j->ready = 1;
    if (!c->closing && !srv->freeing && conn_drain(c) == 0) {
        if (c->draining && !c->qhead)
            c->mark = c->out.len; /* peer sent EOF: everything goes */
        if (c->mark > c->out.off && conn_write(c) == 0 && c->draining && !c->qhead &&
            conn_queued(c) == 0)
            abci_conn_close(c, ABCI_LOG_INFO, "peer closed the connection");
    }
    int stopping = srv->freeing;
    conn_unref(c);
    return stopping;
}

/* Handle every complete frame in the input buffer; make room for a partial one. */
static void conn_process(abci_conn *c)
{
    abci_buf *in = &c->in;
    size_t max = c->srv->opts.max_frame_bytes;

    while (!c->closing && !c->draining) {
        size_t avail = in->len - in->off;
        if (avail == 0)
            break;
        abci_reader r = { in->p + in->off, avail, 0 };
        uint64_t blen = 0;
        abci_frame_status st = abci_frame_header(&r, max, &blen);
        if (st == ABCI_FRAME_NEED_MORE)
            break;
        if (st == ABCI_FRAME_BAD_VARINT) {
            abci_conn_close(c, ABCI_LOG_WARN,
                            "bad varint length prefix (more than 10 bytes or over 64 bits; "
                            "%zu bytes buffered)",
                            avail);
            return;
        }
        if (st == ABCI_FRAME_TOO_LONG) {
            abci_conn_close(c, ABCI_LOG_WARN,
                            "frame too long: declared length %llu bytes > max_frame_bytes %zu",
                            (unsigned long long)blen, max);
            return;
        }
        if (avail - r.pos < blen) {
            /* body not all here yet: make room for exactly this frame (its length passed
             * the limit above), nothing more */
            size_t need = r.pos + (size_t)blen;
            if (in->cap - in->off < need) {
                memmove(in->p, in->p + in->off, avail);
                in->len = avail;
                in->off = 0;
            }
            if (in->cap < need) {
                uint8_t *np = realloc(in->p, need);
                if (!np) {
                    abci_conn_close(c, ABCI_LOG_ERROR, "out of memory (frame length %llu)",
                                    (unsigned long long)blen);
                    return;
                }
                in->p = np;
                in->cap = need;
            }
            break;
        }
        const uint8_t *body = in->p + in->off + r.pos;
        in->off += r.pos + (size_t)blen; /* the body stays valid: nothing moves it */
        if (conn_handle(c, body, (size_t)blen))
            return;
    }
    if (in->off == in->len) {
        in->off = in->len = 0;
        if (in->cap > ABCI_READ_BUFFER_BYTES) { /* a large frame was handled: shrink back */
            uint8_t *np = realloc(in->p, ABCI_READ_BUFFER_BYTES);
            if (np) {
                in->p = np;
                in->cap = ABCI_READ_BUFFER_BYTES;
            }
        }
    }
}

/* ---- libevent callbacks ------------------------------------------------------------------- */

/* Peer sent EOF: an incomplete frame is an error; otherwise write what is queued, then close. */
static void conn_eof(abci_conn *c)
{
    size_t have = c->in.len - c->in.off;
    if (have > 0) {
        abci_reader r = { c->in.p + c->in.off, have, 0 };
        uint64_t blen = 0;
        if (abci_frame_header(&r, SIZE_MAX, &blen) == ABCI_FRAME_OK)
            abci_conn_close(c, ABCI_LOG_WARN,
                            "peer closed mid-frame: %zu of %llu body bytes received", have - r.pos,
                            (unsigned long long)blen);
        else
            abci_conn_close(c, ABCI_LOG_WARN,
                            "peer closed mid-frame: %zu bytes of an incomplete length prefix",
                            have);
        return;
    }
    if (c->qhead) { /* requests still wait for their stage: answer them, then close */
        c->draining = 1;
        event_del(c->rev);
        return;
    }
    c->mark = c->out.len; /* held responses go too */
    if (conn_write(c))
        return;
    if (conn_queued(c) == 0) {
        abci_conn_close(c, ABCI_LOG_INFO, "peer closed the connection");
        return;
    }
    c->draining = 1;
    event_del(c->rev);
}

static void conn_read(abci_conn *c)
{
    abci_buf *in = &c->in;
    if (!in->p) {
        in->p = malloc(ABCI_READ_BUFFER_BYTES);
        if (!in->p) {
            abci_conn_close(c, ABCI_LOG_ERROR, "out of memory for the input buffer");
            return;
        }
        in->cap = ABCI_READ_BUFFER_BYTES;
    }
    if (in->off > 0 && in->cap - in->len < in->cap / 4) { /* keep a partial frame, at the front */
        memmove(in->p, in->p + in->off, in->len - in->off);
        in->len -= in->off;
        in->off = 0;
    }
    ssize_t n;
    do
        n = recv(c->fd, in->p + in->len, in->cap - in->len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        abci_conn_close(c, ABCI_LOG_WARN,
                        "socket error while reading: %s (%zu input bytes pending)", strerror(errno),
                        in->len - in->off);
        return;
    }
    if (n == 0) {
        conn_eof(c);
        return;
    }
    in->len += (size_t)n;
    conn_process(c);
    abci_pool_flush(c->srv); /* this batch's CheckTx stages, to the workers at once */
    if (!c->closing && c->mark > c->out.off)
        conn_write(c); /* everything this batch released, in one send */
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    abci_conn *c = arg;
    conn_ref(c);
    conn_read(c);
    conn_unref(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    abci_conn *c = arg;
    conn_ref(c);
    if (!conn_write(c) && c->draining && !c->qhead && conn_queued(c) == 0)
        abci_conn_close(c, ABCI_LOG_INFO, "peer closed its side; all responses written");
    conn_unref(c);
}
/* ---- accept ------------------------------------------------------------------------------- */

static void peer_name(char *out, size_t outlen, const struct sockaddr *sa, int salen,
                      const char *unix_path)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET && salen >= (int)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(out, outlen, "tcp %s:%u", host, (unsigned)ntohs(in->sin_port));
    } else if (sa && sa->sa_family == AF_INET6 && salen >= (int)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(out, outlen, "tcp [%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, outlen, "unix %s", unix_path ? unix_path : "?");
    }
}

int abci_conn_start(abci_server *srv, int fd, const struct sockaddr *sa, int salen,
                    const char *unix_path)
{
    if (srv->nconns >= srv->opts.max_connections) {
        char peer[ABCI_PEER_MAX];
        peer_name(peer, sizeof peer, sa, salen, unix_path);
        abci_log(srv, ABCI_LOG_WARN, "refused connection from %s: max_connections %zu reached",
                 peer, srv->opts.max_connections);
        evutil_closesocket(fd);
        return -1;
    }
    abci_conn *c = calloc(1, sizeof(*c));
    if (c)
        c->fd = -1;
    if (!c) {
        abci_log(srv, ABCI_LOG_ERROR, "out of memory accepting a connection");
        evutil_closesocket(fd);
        return -1;
    }
    c->srv = srv;
    c->id = ++srv->next_conn_id;
    peer_name(c->peer, sizeof c->peer, sa, salen, unix_path);
    abci_ctx_init(&c->ctx, c->peer);

    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            abci_log(srv, ABCI_LOG_WARN, "connection %lu (%s): TCP_NODELAY: %s", c->id, c->peer,
                     strerror(errno));
    }
    evutil_make_socket_nonblocking(fd);
    c->fd = fd;
    c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
    if (!c->rev || !c->wev || event_add(c->rev, NULL) != 0) {
        abci_log(srv, ABCI_LOG_ERROR, "out of memory accepting %s", c->peer);
        conn_free(c);
        return -1;
    }

    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    abci_log(srv, ABCI_LOG_INFO, "accepted connection %lu from %s", c->id, c->peer);
    return 0;
}

int abci_server_conn_info(const abci_server *srv, size_t i, abci_conn_info *out)
{
    const abci_conn *c = srv->conns;
    while (c && i > 0) {
        c = c->next;
        i--;
    }
    if (!c)
        return -1;
    out->id = c->id;
    out->requests = c->nreq;
    out->input_bytes = c->in.len - c->in.off;
    out->held_bytes = c->out.len - c->mark;
    out->unwritten_bytes = c->mark - c->out.off;
    return 0;
}
