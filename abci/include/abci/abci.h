/* abci.h - app-agnostic ABCI 2.0 socket server (protocol.md §2).
 *
 * The library owns listeners, connections, varint framing, protobuf decode/encode and the
 * libevent loop. An application registers one callback per ABCI method (abci_app_t) and a
 * user pointer. Callbacks run on the loop thread, one at a time, in the order requests arrive
 * on each connection, so the application needs no locks for consensus state.
 *
 * Messages are the protobuf-c types generated from proto/tendermint/abci/types.proto (our own
 * file, field numbers from CometBFT v0.38 `proto/tendermint/abci/types.proto`; it also decodes
 * the v1.0 CheckTx `type` (field 3) and ValidatorUpdate forms).
 *
 * Memory: a callback fills the response it is handed (already initialised with the right
 * *__init). Any memory it points the response at must either outlive the response (static or
 * app-owned) or come from abci_ctx_alloc()/abci_ctx_strdup()/abci_ctx_memdup(), which is freed
 * by the library once the response is encoded. The request and everything it points to is
 * owned by the library and valid only during the callback.
 *
 * Requests: sub-messages CometBFT always sends (time, decided/proposed_last_commit,
 * local_last_commit, each vote's validator, each misbehavior's validator and time,
 * InitChain's consensus_params and each validator's pub_key) are never NULL in a callback: an
 * absent one reads as an empty message. Strings are never NULL (protobuf-c).
 *
 * Threads (protocol.md §2): every abci_app_t callback runs on the loop thread. Two optional
 * parallel parts use a worker pool (opts.workers threads, started on first use; an app that
 * uses neither runs no thread and behaves exactly as without them):
 *  - check_tx_stage, a stateless CheckTx stage run on a worker. Its result reaches check_tx
 *    (loop thread) through abci_ctx_stage_result(); responses keep request order per
 *    connection and Flush still answers after every earlier response. Reading never stops:
 *    past opts.stage_queue_max stages waiting for a worker, the loop thread runs the stage
 *    itself. Workers run parallel-map work before queued stages.
 *  - abci_parallel_map(), a blocking map over [0, n) for ProcessProposal/FinalizeBlock
 *    callbacks (any loop-thread callback), run by the workers and the loop thread together.
 *
 * Statuses: a callback that returns 0 but leaves ProcessProposal/VerifyVoteExtension `status`
 * or OfferSnapshot/ApplySnapshotChunk `result` at 0 (UNKNOWN, which makes CometBFT panic) is
 * treated as a failed callback: the connection is closed with an error log line.
 */
#ifndef ABCI_ABCI_H
#define ABCI_ABCI_H

#include <stddef.h>
#include <stdint.h>

#include "tendermint/abci/types.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-request context: an arena for response memory plus the peer name. Opaque. */
typedef struct abci_ctx abci_ctx;

/* Allocate `n` bytes (n may be 0) freed after the response is encoded. Returns NULL only on
 * out-of-memory; the memory is zeroed. */
void *abci_ctx_alloc(abci_ctx *ctx, size_t n);
/* Copy a NUL-terminated string / `n` bytes into the arena. NULL on out-of-memory. */
char *abci_ctx_strdup(abci_ctx *ctx, const char *s);
void *abci_ctx_memdup(abci_ctx *ctx, const void *p, size_t n);
/* The arena functions are not thread-safe: one thread uses a ctx at a time (the loop thread in
 * a callback, the worker in check_tx_stage). In an abci_parallel_map function, allocate
 * nothing from ctx: allocate before the map on the loop thread. */
/* printf into the arena; NULL on out-of-memory or encoding error. */
char *abci_ctx_printf(abci_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "tcp 127.0.0.1:51234" or "unix /path.sock"; valid during the callback. */
const char *abci_ctx_peer(const abci_ctx *ctx);

/* The pointer check_tx_stage stored in *result for this request (NULL if the app has no
 * stage, or the stage stored NULL). Valid in check_tx; memory the stage took from its ctx
 * (abci_ctx_alloc) lives until this request's response is encoded. */
void *abci_ctx_stage_result(const abci_ctx *ctx);

/* Parallel map for a loop-thread callback (ProcessProposal, FinalizeBlock): calls fn(arg, i)
 * once for every i in [0, n), on the worker pool and the calling thread, and returns when all
 * calls have returned. fn runs concurrently with itself and with check_tx_stage: it may read
 * the request and immutable app state and write only its own slot i of caller-owned arrays
 * (the caller reads them after the map: results are the same as a serial loop's, in any
 * thread count). Returns 0, or the return of the lowest i whose fn returned non-zero (every
 * i runs regardless). With ctx NULL, a ctx not in a loop-thread callback, n < 2, no pool,
 * or inside another map, the calls run serially on the calling thread. */
typedef int (*abci_map_fn)(void *arg, size_t i);
int abci_parallel_map(abci_ctx *ctx, size_t n, abci_map_fn fn, void *arg);

/* CheckTx kind normalised over v0.38 (field 2: NEW=0, RECHECK=1) and v1.0 (field 3:
 * UNKNOWN=0, RECHECK=1, CHECK=2). */
typedef enum { ABCI_CHECK_TX_NEW = 0, ABCI_CHECK_TX_RECHECK = 1 } abci_check_tx_kind;
abci_check_tx_kind abci_check_tx_kind_of(const Tendermint__Abci__RequestCheckTx *req);

/* Callback result: 0 = response filled; any other value closes the connection (CometBFT then
 * halts - the right answer to an application bug). Recoverable conditions (bad tx, unknown
 * query path) MUST be reported as a non-zero `code` in the response, never as an error. */
#define ABCI_CB(name, Req, Res)                                               \
    int (*name)(void *app, abci_ctx *ctx, const Tendermint__Abci__##Req *req, \
                Tendermint__Abci__##Res *res)

/* The application's table. Any callback may be NULL: the library then answers with a safe
 * default (Info: empty; InitChain: echo nothing; Query: code 1; CheckTx: code 0;
 * PrepareProposal: keep the leading txs whose protobuf size (tag + length + bytes, as
 * CometBFT's Txs.Validate counts) fits max_tx_bytes; ProcessProposal: ACCEPT; FinalizeBlock: one
 * code-0 result per tx; ExtendVote: empty extension; VerifyVoteExtension: ACCEPT iff empty;
 * Commit: retain_height 0; ListSnapshots: empty; OfferSnapshot: REJECT; LoadSnapshotChunk:
 * empty; ApplySnapshotChunk: ABORT). Echo and Flush are answered by the library. */
typedef struct abci_app {
    ABCI_CB(info, RequestInfo, ResponseInfo);
    ABCI_CB(init_chain, RequestInitChain, ResponseInitChain);
    ABCI_CB(query, RequestQuery, ResponseQuery);
    ABCI_CB(check_tx, RequestCheckTx, ResponseCheckTx);
    ABCI_CB(prepare_proposal, RequestPrepareProposal, ResponsePrepareProposal);
    ABCI_CB(process_proposal, RequestProcessProposal, ResponseProcessProposal);
    ABCI_CB(finalize_block, RequestFinalizeBlock, ResponseFinalizeBlock);
    ABCI_CB(extend_vote, RequestExtendVote, ResponseExtendVote);
    ABCI_CB(verify_vote_extension, RequestVerifyVoteExtension, ResponseVerifyVoteExtension);
    ABCI_CB(commit, RequestCommit, ResponseCommit);
    ABCI_CB(list_snapshots, RequestListSnapshots, ResponseListSnapshots);
    ABCI_CB(offer_snapshot, RequestOfferSnapshot, ResponseOfferSnapshot);
    ABCI_CB(load_snapshot_chunk, RequestLoadSnapshotChunk, ResponseLoadSnapshotChunk);
    ABCI_CB(apply_snapshot_chunk, RequestApplySnapshotChunk, ResponseApplySnapshotChunk);
    /* Optional stateless CheckTx stage, run on a worker thread before check_tx: it may read
     * req and immutable app state only (it runs concurrently with itself and with every
     * loop-thread callback), may allocate from ctx (the request's own arena, used by this
     * thread alone until check_tx), and stores whatever check_tx needs in *result (read
     * there with abci_ctx_stage_result). Non-zero = failed callback (connection closed).
     * NULL = CheckTx runs on the loop thread only, as without a pool. */
    int (*check_tx_stage)(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                          void **result);
} abci_app_t;

/* Log levels passed to abci_log_fn. */
enum { ABCI_LOG_DEBUG = 0, ABCI_LOG_INFO = 1, ABCI_LOG_WARN = 2, ABCI_LOG_ERROR = 3 };

/* Log sink: level ABCI_LOG_*; msg has no trailing newline. Called on the loop thread.
 * Default (NULL): "level=… module=abci msg=…" lines on stderr. */
typedef void (*abci_log_fn)(void *log_arg, int level, const char *msg);

/* Default abci_server_opts.max_connections (protocol.md §2): CometBFT opens 4. */
#define ABCI_DEFAULT_MAX_CONNECTIONS 16
/* Default abci_server_opts.stage_queue_max: CheckTx stages waiting for a worker. */
#define ABCI_DEFAULT_STAGE_QUEUE_MAX 1024

typedef struct abci_server_opts {
    size_t max_frame_bytes;  /* largest accepted frame body; 0 = 64 MiB (protocol.md §2) */
    size_t max_output_bytes; /* queued output cap per connection before it is closed; 0 = 256 MiB */
    size_t max_connections;  /* connections served at once; one accepted beyond it is closed
                               * at once with one log line naming the peer and the limit;
                               * 0 = ABCI_DEFAULT_MAX_CONNECTIONS (protocol.md §2) */
    size_t workers;          /* worker threads for check_tx_stage and abci_parallel_map,
                               * started on first use; 0 = the number of online CPUs */
    size_t stage_queue_max;  /* CheckTx stages waiting for a worker beyond which the loop
                               * thread runs the stage itself (reading never stops);
                               * 0 = ABCI_DEFAULT_STAGE_QUEUE_MAX */
    abci_log_fn log;         /* NULL = default stderr logger */
    void *log_arg;
} abci_server_opts;

/* The server is single-threaded: call abci_server_* only from the thread that runs `base`
 * (or before the loop starts / after it stopped). */
typedef struct abci_server abci_server;
struct event_base;

/* Create a server on `base` (caller keeps ownership of base, which must outlive the server).
 * app and app_arg are borrowed. opts may be NULL. Returns NULL on out-of-memory. */
abci_server *abci_server_new(struct event_base *base, const abci_app_t *app, void *app_arg,
                             const abci_server_opts *opts);

/* Listen on "tcp://HOST:PORT" or "unix:///path.sock" (an existing socket file is replaced).
 * May be called more than once. Returns 0, or -1 with a message in err (errlen bytes). */
int abci_server_listen(abci_server *srv, const char *addr, char *err, size_t errlen);

/* Serve an already connected stream socket (e.g. one end of a socketpair) as if it had
 * been accepted: the server takes ownership of fd (closed with the connection, or at once on
 * failure) and names the peer "unix NAME" in logs. The max_connections limit applies.
 * Returns 0, or -1 (fd closed, one log line). */
int abci_server_serve_fd(abci_server *srv, int fd, const char *name);

/* Stop accepting new connections (existing ones keep being served). */
void abci_server_stop_listening(abci_server *srv);

/* Number of open connections. */
size_t abci_server_connections(const abci_server *srv);

/* What the server holds for one open connection (protocol.md §2), for metrics and tests. */
typedef struct abci_conn_info {
    unsigned long id;       /* connection number, as in the log lines */
    uint64_t requests;      /* requests handled so far */
    size_t input_bytes;     /* bytes read from the socket that are not yet a complete frame */
    size_t held_bytes;      /* packed responses held back until Flush */
    size_t unwritten_bytes; /* responses released for writing that the socket has not taken */
} abci_conn_info;

/* Fill *out for the i-th open connection (0 = the newest). Returns 0, or -1 if there are
 * not that many connections. Loop thread only, like every abci_server_* call. */
int abci_server_conn_info(const abci_server *srv, size_t i, abci_conn_info *out);

/* The i-th listening address (0 = first listened on) as bound, e.g. "tcp://127.0.0.1:40123"
 * after listening on port 0, or "unix:///path.sock". Writes NUL-terminated text into out
 * (outlen bytes). Returns 0, or -1 if there is no such listener or out is too small. */
int abci_server_listen_addr(const abci_server *srv, size_t i, char *out, size_t outlen);

/* Close every connection and listener and free the server. NULL is a no-op. */
void abci_server_free(abci_server *srv);

#ifdef __cplusplus
}
#endif
#endif /* ABCI_ABCI_H */
