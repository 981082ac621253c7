/* abci-internal.h - shared internals of the ABCI server (not installed, not for apps). */
#ifndef ABCI_INTERNAL_H
#define ABCI_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <protobuf-c/protobuf-c.h>

#include "abci/abci.h"
#include "abci/ctx.h" /* abci_ctx_reset */

#define ABCI_DEFAULT_MAX_OUTPUT_BYTES ((size_t)256 << 20)
/* Un-flushed responses are pushed to the socket once this many bytes are buffered. */
#define ABCI_PUSH_THRESHOLD_BYTES ((size_t)64 << 10)
/* Input buffer per connection: one read fills at most this much (a larger frame grows the
 * buffer to exactly its size, and it shrinks back once that frame is handled). */
#define ABCI_READ_BUFFER_BYTES ((size_t)256 << 10)
/* Arena chunks kept across requests (the rest are freed at rewind). */
#define ABCI_CTX_KEEP_BYTES ((size_t)256 << 10)
#define ABCI_PEER_MAX 160

/* ---- arena (ctx.c) ------------------------------------------------------------------------ */
struct abci_ctx_chunk;
struct abci_ctx {
    struct abci_ctx_chunk *head; /* oldest chunk first; owned */
    struct abci_ctx_chunk *cur;  /* allocations come from here (later chunks are empty) */
    size_t chunk_bytes;          /* size of a new chunk (a larger allocation gets its own) */
    size_t keep_bytes;           /* chunks kept at rewind */
    const char *peer;            /* borrowed from the connection */
    abci_server *srv;            /* set only while a loop-thread callback runs (parallel map) */
    void *stage_result;          /* what check_tx_stage left for check_tx */
};
/* Empty arena for `peer`: 16 KiB chunks, keeps ABCI_CTX_KEEP_BYTES at rewind. */
void abci_ctx_init(struct abci_ctx *ctx, const char *peer);
/* Same with small chunks (a queued request's arena). */
void abci_ctx_init_small(struct abci_ctx *ctx);
/* Exchange the memory of two arenas (sizes, peer and the rest stay). */
void abci_ctx_swap_chunks(struct abci_ctx *a, struct abci_ctx *b);
/* Forget every allocation but keep up to keep_bytes of chunks for the next request. */
void abci_ctx_rewind(struct abci_ctx *ctx);
/* A protobuf-c allocator over the arena (free is a no-op; memory goes at rewind/reset). */
void abci_ctx_pb_allocator(struct abci_ctx *ctx, ProtobufCAllocator *a);

/* A byte buffer: live bytes p[off..len), capacity cap. */
typedef struct abci_buf {
    uint8_t *p;
    size_t off, len, cap;
} abci_buf;

/* ---- queued requests (conn.c, pool.c) ---------------------------------------------------- */
/* A request waiting on its connection for its turn (and, for CheckTx, for check_tx_stage). */
typedef struct abci_job abci_job;
struct abci_job {
    abci_job *next;                 /* connection queue (loop thread) */
    abci_job *qnext;                /* pool queue / done lists (under the pool mutex) */
    struct abci_conn *conn;         /* borrowed; the pool holds a reference while it has the job */
    struct abci_ctx ctx;            /* the decoded request and stage memory */
    Tendermint__Abci__Request *req; /* in ctx */
    size_t frame_len;
    int stage_rc;       /* check_tx_stage's return */
    unsigned ready : 1; /* may be answered (loop thread's view) */
};
/* A job from the server's free list (or a new one); NULL on out-of-memory. Loop thread. */
abci_job *abci_job_get(abci_server *srv);
/* Rewind its arena and keep it for reuse (or free it). Loop thread. */
void abci_job_put(abci_server *srv, abci_job *j);

/* ---- worker pool (pool.c) ----------------------------------------------------------------- */
typedef struct abci_pool abci_pool;
/* Queue j's check_tx_stage for a worker (starting the pool on first use); workers see it at
 * the next abci_pool_flush(). Returns 0, or -1 if the pool cannot run or already holds
 * opts.stage_queue_max stages (as of the last flush): then run it inline. */
int abci_pool_submit(abci_server *srv, abci_job *j);
/* Hand the stages submitted since the last flush to the workers (one lock, wake-ups only
 * for sleeping workers). Called after each batch of input. */
void abci_pool_flush(abci_server *srv);
/* Join the workers and hand every job still in the pool back (abci_conn_stage_done). */
void abci_pool_stop(abci_server *srv);
/* Stop and free the pool (server destruction). */
void abci_pool_free(abci_server *srv);

/* ---- connections (conn.c) ----------------------------------------------------------------- */
typedef struct abci_conn abci_conn;
struct abci_conn {
    abci_server *srv;  /* borrowed; outlives every conn (see server_destroy) */
    int fd;            /* owned; closed when the conn is freed */
    struct event *rev; /* owned; EV_READ|EV_PERSIST while reading */
    struct event *wev; /* owned; EV_WRITE|EV_PERSIST, added only while output waits */
    abci_buf in;       /* bytes read, not yet a complete frame handled */
    abci_buf out;      /* packed responses: [off, mark) released for writing,
                                 * [mark, len) held until Flush (or the push threshold) */
    size_t mark;
    struct abci_ctx ctx;      /* per-request arena, rewound after each response */
    char peer[ABCI_PEER_MAX]; /* "tcp 127.0.0.1:51234" / "unix /path.sock" */
    unsigned long id;         /* connection number, for logs */
    unsigned refs;            /* >0 while a handler runs on this conn */
    unsigned closing : 1;     /* close scheduled: freed when refs drops to 0 */
    unsigned draining : 1;    /* peer sent EOF: write out what is queued, then close */
    unsigned writing : 1;     /* wev is added */
    uint64_t nreq;            /* requests handled so far */
    abci_job *qhead, *qtail;  /* requests waiting for their turn (owned) */
    size_t nqueued;
    abci_conn *prev, *next; /* srv->conns list (open connections only) */
};

/* Take ownership of an accepted fd and start serving it; beyond opts.max_connections open
 * connections the fd is closed at once with one log line. Returns 0 or -1 (fd closed). */
int abci_conn_start(abci_server *srv, int fd, const struct sockaddr *sa, int salen,
                    const char *unix_path);
/* The loop got a job back from the pool (stage finished, or pool stopping): answer what is
 * now in order on its connection and drop the pool's reference. Returns 1 if the server is
 * shutting down (the caller must not touch the server or the pool again), else 0. */
int abci_conn_stage_done(abci_job *j);
/* Close a connection (idempotent). `level`/`fmt` describe why; fmt NULL logs nothing. */
void abci_conn_close(abci_conn *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- server (server.c) -------------------------------------------------------------------- */
struct abci_listener;
struct abci_server {
    struct event_base *base;         /* borrowed */
    abci_app_t app;                  /* copied table */
    void *app_arg;                   /* borrowed */
    abci_server_opts opts;           /* defaults filled in */
    struct abci_listener *listeners; /* owned list */
    abci_conn *conns;                /* open connections */
    size_t nconns;                   /* length of conns */
    size_t nzombies;                 /* closed conns still referenced by a running handler */
    unsigned long next_conn_id;
    abci_pool *pool;     /* owned; NULL until first used */
    abci_job *free_jobs; /* owned; recycled queue entries */
    size_t nfree_jobs;
    unsigned freeing : 1; /* abci_server_free() called; destroy when nzombies == 0 */
};

void abci_log(abci_server *srv, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void abci_vlog(abci_server *srv, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Called by conn.c when the last zombie is freed while srv->freeing. */
void abci_server_destroy(abci_server *srv);

#endif /* ABCI_INTERNAL_H */
