/* conn.c - one ABCI connection: frames in, callbacks, responses out, in order (protocol.md §2).
 *
 * Input: bufferevent input evbuffer. Each complete frame is unpacked, dispatched to the app
 * callback (or the library default) and the packed Response is appended to `pending`. Pending
 * output moves to the socket at Flush, or once it exceeds ABCI_PUSH_THRESHOLD_BYTES. Reading
 * never stops while responses are queued (tendermint PR #9030); instead the queued output is
 * capped by opts.max_output_bytes and the connection is closed past it.
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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "abci-internal.h"
#include "abci/frame.h"

/* bytes libevent may read from the socket per read callback */
#define CONN_MAX_SINGLE_READ ((ev_ssize_t)256 << 10)

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* ---- lifetime ----------------------------------------------------------------------------- */

static void conn_ref(abci_conn *c)
{
    c->refs++;
}

static void conn_unref(abci_conn *c)
{
    if (--c->refs > 0 || !c->closing)
        return;
    abci_server *srv = c->srv;
    bufferevent_free(c->bev);
    evbuffer_free(c->pending);
    abci_ctx_reset(&c->ctx);
    free(c);
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
        abci_log(srv, level, "closing connection %lu (%s) after %llu requests: %s", c->id,
                 c->peer, (unsigned long long)c->nreq, why);
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
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    conn_ref(c);
    conn_unref(c); /* frees now unless a handler is running */
}

/* ---- output ------------------------------------------------------------------------------- */

static void conn_push(abci_conn *c)
{
    if (evbuffer_get_length(c->pending) > 0)
        evbuffer_add_buffer(bufferevent_get_output(c->bev), c->pending);
}

static size_t conn_queued(abci_conn *c)
{
    return evbuffer_get_length(c->pending) + evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Append one framed response to pending. Returns 0, or -1 after closing the connection. */
static int conn_write_response(abci_conn *c, const Tendermint__Abci__Response *resp,
                               const char *method)
{
    size_t body = tendermint__abci__response__get_packed_size(resp);
    size_t hdr = abci_varint_size(body);
    size_t total = hdr + body;
    size_t queued = conn_queued(c);
    size_t cap = c->srv->opts.max_output_bytes;
    if (total > cap || queued > cap - total) {
        abci_conn_close(c, ABCI_LOG_WARN,
                        "output queue full: %zu bytes queued + %zu byte %s response > cap %zu "
                        "(peer not reading)",
                        queued, total, method, cap);
        return -1;
    }
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(c->pending, (ev_ssize_t)total, &v, 1) != 1 || v.iov_len < total) {
        abci_conn_close(c, ABCI_LOG_ERROR, "out of memory queueing a %zu byte %s response",
                        total, method);
        return -1;
    }
    uint8_t *p = v.iov_base;
    abci_varint_encode(body, p);
    tendermint__abci__response__pack(resp, p + hdr);
    v.iov_len = total;
    evbuffer_commit_space(c->pending, &v, 1);
    return 0;
}

/* ---- default handlers (abci.h: safe answers when a callback is NULL) ----------------------- */

#define DEF(name, Req, Res)                                                                  \
    static int def_##name(void *app, abci_ctx *ctx, const Tendermint__Abci__##Req *req,      \
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
 * dereference req->time etc., and put the NULLs back before the request is freed. */
struct fill {
    void **slot;
    struct fill *next;
};

static const Tendermint__Abci__Timestamp k_ts0 = TENDERMINT__ABCI__TIMESTAMP__INIT;
static const Tendermint__Abci__CommitInfo k_ci0 = TENDERMINT__ABCI__COMMIT_INFO__INIT;
static const Tendermint__Abci__ExtendedCommitInfo k_eci0 =
    TENDERMINT__ABCI__EXTENDED_COMMIT_INFO__INIT;
static const Tendermint__Abci__Validator k_val0 = TENDERMINT__ABCI__VALIDATOR__INIT;
static const Tendermint__Abci__PublicKey k_pk0 = TENDERMINT__ABCI__PUBLIC_KEY__INIT;
static const Tendermint__Abci__ConsensusParams k_cp0 = TENDERMINT__ABCI__CONSENSUS_PARAMS__INIT;

static int fill_slot(abci_ctx *ctx, struct fill **list, void **slot, const void *dflt)
{
    if (*slot)
        return 0;
    struct fill *f = abci_ctx_alloc(ctx, sizeof(*f));
    if (!f)
        return -1;
    f->slot = slot;
    f->next = *list;
    *list = f;
    *slot = (void *)dflt;
    return 0;
}

#define FILL(field, dflt) \
    do { if (fill_slot(ctx, list, (void **)&(field), (dflt))) return -1; } while (0)

static int fill_commit(abci_ctx *ctx, struct fill **list, Tendermint__Abci__CommitInfo **ci)
{
    FILL(*ci, &k_ci0);
    for (size_t i = 0; i < (*ci)->n_votes; i++)
        if ((*ci)->votes[i])
            FILL((*ci)->votes[i]->validator, &k_val0);
    return 0;
}

static int fill_misbehavior(abci_ctx *ctx, struct fill **list, size_t n,
                            Tendermint__Abci__Misbehavior **m)
{
    for (size_t i = 0; i < n; i++) {
        if (!m[i])
            continue;
        FILL(m[i]->validator, &k_val0);
        FILL(m[i]->time, &k_ts0);
    }
    return 0;
}

static int fill_request(abci_ctx *ctx, struct fill **list, Tendermint__Abci__Request *req)
{
    switch (req->value_case) {
    case TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN: {
        Tendermint__Abci__RequestInitChain *r = req->init_chain;
        FILL(r->time, &k_ts0);
        FILL(r->consensus_params, &k_cp0);
        for (size_t i = 0; i < r->n_validators; i++)
            if (r->validators[i])
                FILL(r->validators[i]->pub_key, &k_pk0);
        return 0;
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL: {
        Tendermint__Abci__RequestPrepareProposal *r = req->prepare_proposal;
        FILL(r->time, &k_ts0);
        FILL(r->local_last_commit, &k_eci0);
        for (size_t i = 0; i < r->local_last_commit->n_votes; i++)
            if (r->local_last_commit->votes[i])
                FILL(r->local_last_commit->votes[i]->validator, &k_val0);
        return fill_misbehavior(ctx, list, r->n_misbehavior, r->misbehavior);
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL: {
        Tendermint__Abci__RequestProcessProposal *r = req->process_proposal;
        FILL(r->time, &k_ts0);
        if (fill_commit(ctx, list, &r->proposed_last_commit))
            return -1;
        return fill_misbehavior(ctx, list, r->n_misbehavior, r->misbehavior);
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_EXTEND_VOTE: {
        Tendermint__Abci__RequestExtendVote *r = req->extend_vote;
        FILL(r->time, &k_ts0);
        if (fill_commit(ctx, list, &r->proposed_last_commit))
            return -1;
        return fill_misbehavior(ctx, list, r->n_misbehavior, r->misbehavior);
    }
    case TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK: {
        Tendermint__Abci__RequestFinalizeBlock *r = req->finalize_block;
        FILL(r->time, &k_ts0);
        if (fill_commit(ctx, list, &r->decided_last_commit))
            return -1;
        return fill_misbehavior(ctx, list, r->n_misbehavior, r->misbehavior);
    }
    default:
        return 0;
    }
}
#undef FILL

static void unfill(struct fill *list)
{
    for (; list; list = list->next)
        *list->slot = NULL;
}

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
#define CALL(CASE, name, ResT, RES_INIT)                                                       \
    case TENDERMINT__ABCI__REQUEST__VALUE_##CASE: {                                          \
        ResT *res = &u.name;                                                                 \
        *res = (ResT)RES_INIT;                                                               \
        method = #name;                                                                      \
        rc = (srv->app.name ? srv->app.name : def_##name)(srv->app_arg, ctx, req->name, res); \
        resp.value_case = TENDERMINT__ABCI__RESPONSE__VALUE_##CASE;                          \
        resp.name = res;                                                                     \
        break;                                                                               \
    }

/* Handle one frame body. Returns 0, or -1 once the connection is closing. */
static int conn_handle(abci_conn *c, const uint8_t *body, size_t len)
{
    static const uint8_t empty[1];
    abci_server *srv = c->srv;
    abci_ctx *ctx = &c->ctx;
    Tendermint__Abci__Response resp = TENDERMINT__ABCI__RESPONSE__INIT;
    union response_any u;
    struct fill *fills = NULL;
    const char *method = "?";
    int flush = 0, rc = 0, ret = -1;

    Tendermint__Abci__Request *req =
        tendermint__abci__request__unpack(NULL, len, len ? body : empty);
    if (!req) {
        abci_conn_close(c, ABCI_LOG_WARN, "undecodable protobuf Request (frame length %zu)", len);
        return -1;
    }
    c->nreq++;
    if (fill_request(ctx, &fills, req)) {
        abci_conn_close(c, ABCI_LOG_ERROR, "out of memory (frame length %zu)", len);
        goto done;
    }

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

    if (c->closing) /* the callback freed the server */
        goto done;
    if (rc != 0) {
        abci_conn_close(c, ABCI_LOG_ERROR,
                        "application %s callback failed with %d (frame length %zu)", method, rc,
                        len);
        goto done;
    }
    /* a zero (UNKNOWN) status makes CometBFT panic: report the app bug here instead */
    if ((resp.value_case == TENDERMINT__ABCI__RESPONSE__VALUE_PROCESS_PROPOSAL &&
         resp.process_proposal->status == 0) ||
        (resp.value_case == TENDERMINT__ABCI__RESPONSE__VALUE_VERIFY_VOTE_EXTENSION &&
         resp.verify_vote_extension->status == 0) ||
        (resp.value_case == TENDERMINT__ABCI__RESPONSE__VALUE_OFFER_SNAPSHOT &&
         resp.offer_snapshot->result == 0) ||
        (resp.value_case == TENDERMINT__ABCI__RESPONSE__VALUE_APPLY_SNAPSHOT_CHUNK &&
         resp.apply_snapshot_chunk->result == 0)) {
        abci_conn_close(c, ABCI_LOG_ERROR,
                        "application %s callback left the status UNKNOWN (frame length %zu)",
                        method, len);
        goto done;
    }
    if (conn_write_response(c, &resp, method))
        goto done;
    if (flush || evbuffer_get_length(c->pending) >= ABCI_PUSH_THRESHOLD_BYTES)
        conn_push(c);
    ret = 0;
done:
    unfill(fills);
    tendermint__abci__request__free_unpacked(req, NULL);
    abci_ctx_reset(ctx);
    return ret;
}
#undef CALL

/* Handle every complete frame in the input buffer. */
static void conn_process(abci_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t max = c->srv->opts.max_frame_bytes;

    while (!c->closing && !c->draining) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0)
            break;
        uint8_t hdr[ABCI_VARINT_MAX_BYTES];
        size_t want = avail < sizeof hdr ? avail : sizeof hdr;
        ev_ssize_t got = evbuffer_copyout(in, hdr, want);
        if (got < 0 || (size_t)got != want) {
            abci_conn_close(c, ABCI_LOG_ERROR, "cannot read input buffer (%zu bytes)", avail);
            break;
        }
        abci_reader r = {hdr, (size_t)got, 0};
        uint64_t blen = 0;
        abci_frame_status st = abci_frame_header(&r, max, &blen);
        if (st == ABCI_FRAME_NEED_MORE)
            break;
        if (st == ABCI_FRAME_BAD_VARINT) {
            abci_conn_close(c, ABCI_LOG_WARN,
                            "bad varint length prefix (more than 10 bytes or over 64 bits; "
                            "%zu bytes buffered)",
                            avail);
            break;
        }
        if (st == ABCI_FRAME_TOO_LONG) {
            abci_conn_close(c, ABCI_LOG_WARN,
                            "frame too long: declared length %llu bytes > max_frame_bytes %zu",
                            (unsigned long long)blen, max);
            break;
        }
        if (avail - r.pos < blen)
            break; /* body not all here yet; nothing allocated for it beyond what arrived */
        evbuffer_drain(in, r.pos);
        const uint8_t *body = NULL;
        if (blen > 0) {
            body = evbuffer_pullup(in, (ev_ssize_t)blen);
            if (!body) {
                abci_conn_close(c, ABCI_LOG_ERROR, "out of memory (frame length %llu)",
                                (unsigned long long)blen);
                break;
            }
        }
        int rc = conn_handle(c, body, (size_t)blen);
        if (rc == 0)
            evbuffer_drain(in, (size_t)blen);
    }
}

/* ---- libevent callbacks ------------------------------------------------------------------- */

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    abci_conn *c = arg;
    conn_ref(c);
    conn_process(c);
    conn_unref(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    abci_conn *c = arg;
    if (c->draining && conn_queued(c) == 0)
        abci_conn_close(c, ABCI_LOG_INFO, "peer closed its side; all responses written");
}

/* Peer sent EOF: an incomplete frame is an error; otherwise write what is queued, then close. */
static void conn_eof(abci_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t have = evbuffer_get_length(in);
    if (have > 0) {
        uint8_t hdr[ABCI_VARINT_MAX_BYTES];
        size_t want = have < sizeof hdr ? have : sizeof hdr;
        abci_reader r = {hdr, 0, 0};
        ev_ssize_t got = evbuffer_copyout(in, hdr, want);
        r.len = got > 0 ? (size_t)got : 0;
        uint64_t blen = 0;
        if (abci_frame_header(&r, SIZE_MAX, &blen) == ABCI_FRAME_OK)
            abci_conn_close(c, ABCI_LOG_WARN,
                            "peer closed mid-frame: %zu of %llu body bytes received",
                            have - r.pos, (unsigned long long)blen);
        else
            abci_conn_close(c, ABCI_LOG_WARN,
                            "peer closed mid-frame: %zu bytes of an incomplete length prefix",
                            have);
        return;
    }
    conn_push(c);
    if (conn_queued(c) == 0) {
        abci_conn_close(c, ABCI_LOG_INFO, "peer closed the connection");
        return;
    }
    c->draining = 1;
    bufferevent_disable(c->bev, EV_READ);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    abci_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        conn_eof(c);
    } else if (what & BEV_EVENT_ERROR) {
        int err = EVUTIL_SOCKET_ERROR();
        abci_conn_close(c, ABCI_LOG_WARN, "socket error while %s: %s (%zu input bytes pending)",
                        (what & BEV_EVENT_READING) ? "reading" : "writing",
                        evutil_socket_error_to_string(err),
                        evbuffer_get_length(bufferevent_get_input(bev)));
    }
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
    c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->pending = evbuffer_new();
    if (!c->bev || !c->pending) {
        abci_log(srv, ABCI_LOG_ERROR, "out of memory accepting %s", c->peer);
        if (c->bev)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->pending)
            evbuffer_free(c->pending);
        free(c);
        return -1;
    }
    bufferevent_set_max_single_read(c->bev, CONN_MAX_SINGLE_READ);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);

    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    abci_log(srv, ABCI_LOG_INFO, "accepted connection %lu from %s", c->id, c->peer);
    return 0;
}
