/* ctx.c - per-request arena for request and response memory (abci.h: abci_ctx_*).
 *
 * The server decodes each Request into its connection's arena (a protobuf-c allocator over
 * it) and the callback allocates response memory there too; once the response is encoded the
 * arena is rewound, keeping up to ABCI_CTX_KEEP_BYTES of chunks, so a steady stream of
 * requests allocates nothing (no malloc per request on the hot path).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abci-internal.h"
#include "abci/ctx.h"

#define CHUNK_DEFAULT_BYTES ((size_t)16 << 10)
#define CHUNK_SMALL_BYTES ((size_t)4 << 10)

struct abci_ctx_chunk {
    struct abci_ctx_chunk *next;
    size_t cap;  /* bytes in data[] */
    size_t used; /* bytes handed out (aligned) */
    max_align_t data[];
};

void abci_ctx_init(struct abci_ctx *ctx, const char *peer)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->peer = peer;
    ctx->chunk_bytes = CHUNK_DEFAULT_BYTES;
    ctx->keep_bytes = ABCI_CTX_KEEP_BYTES;
}

void abci_ctx_init_small(struct abci_ctx *ctx)
{
    abci_ctx_init(ctx, NULL);
    ctx->chunk_bytes = ctx->keep_bytes = CHUNK_SMALL_BYTES;
}

void abci_ctx_swap_chunks(struct abci_ctx *a, struct abci_ctx *b)
{
    struct abci_ctx_chunk *h = a->head, *c = a->cur;
    a->head = b->head;
    a->cur = b->cur;
    b->head = h;
    b->cur = c;
}

abci_ctx *abci_ctx_new(const char *peer)
{
    abci_ctx *ctx = malloc(sizeof *ctx);
    if (ctx)
        abci_ctx_init(ctx, peer);
    return ctx;
}

void abci_ctx_free(abci_ctx *ctx)
{
    if (!ctx)
        return;
    abci_ctx_reset(ctx);
    free(ctx);
}

void abci_ctx_reset(struct abci_ctx *ctx)
{
    struct abci_ctx_chunk *ch = ctx->head;
    while (ch) {
        struct abci_ctx_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    ctx->head = ctx->cur = NULL;
    ctx->stage_result = NULL;
}

void abci_ctx_rewind(struct abci_ctx *ctx)
{
    size_t kept = 0;
    struct abci_ctx_chunk **link = &ctx->head;
    while (*link) {
        struct abci_ctx_chunk *ch = *link;
        if (kept + ch->cap <= ctx->keep_bytes) {
            kept += ch->cap;
            ch->used = 0;
            link = &ch->next;
        } else { /* a large request's chunk: give it back rather than hold it forever */
            *link = ch->next;
            free(ch);
        }
    }
    ctx->cur = ctx->head;
    ctx->stage_result = NULL;
}

/* n bytes, aligned, NOT zeroed; NULL on out-of-memory or an absurd size. */
static void *ctx_take(struct abci_ctx *ctx, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + align - 1) / align * align;
    if (need == 0)
        need = align;
    struct abci_ctx_chunk *ch = ctx->cur;
    /* retained chunks after cur are empty: move on while the current one is too full */
    while (ch && ch->cap - ch->used < need && ch->next)
        ch = ch->next;
    if (!ch || ch->cap - ch->used < need) {
        size_t dflt = ctx->chunk_bytes ? ctx->chunk_bytes : CHUNK_DEFAULT_BYTES;
        size_t cap = need > dflt ? need : dflt;
        struct abci_ctx_chunk *nc = malloc(sizeof(*nc) + cap);
        if (!nc)
            return NULL;
        nc->cap = cap;
        nc->used = 0;
        nc->next = NULL;
        if (ch)
            ch->next = nc; /* ch is the last chunk here */
        else
            ctx->head = nc;
        ch = nc;
    }
    ctx->cur = ch;
    unsigned char *p = (unsigned char *)ch->data + ch->used;
    ch->used += need;
    return p;
}

void *abci_ctx_alloc(abci_ctx *ctx, size_t n)
{
    void *p = ctx_take(ctx, n);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

static void *pb_alloc(void *data, size_t n) { return ctx_take(data, n); }

static void pb_free(void *data, void *p)
{
    /* arena memory goes at abci_ctx_rewind/abci_ctx_reset */
}

void abci_ctx_pb_allocator(struct abci_ctx *ctx, ProtobufCAllocator *a)
{
    a->alloc = pb_alloc;
    a->free = pb_free;
    a->allocator_data = ctx;
}

void *abci_ctx_memdup(abci_ctx *ctx, const void *p, size_t n)
{
    void *q = ctx_take(ctx, n);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

char *abci_ctx_strdup(abci_ctx *ctx, const char *s)
{
    size_t n = strlen(s);
    return abci_ctx_memdup(ctx, s, n + 1);
}

char *abci_ctx_printf(abci_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = ctx_take(ctx, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    int m = vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return m == n ? s : NULL;
}

void *abci_ctx_stage_result(const abci_ctx *ctx) { return ctx->stage_result; }

const char *abci_ctx_peer(const abci_ctx *ctx) { return ctx->peer ? ctx->peer : ""; }

abci_check_tx_kind abci_check_tx_kind_of(const Tendermint__Abci__RequestCheckTx *req)
{
    /* v1.0 field 3: UNKNOWN=0, RECHECK=1, CHECK=2; v0.38 field 2: NEW=0, RECHECK=1. A v1.0
     * node never sets field 2 and a v0.38 node never sets field 3. */
    if (req->type_v1 == 1)
        return ABCI_CHECK_TX_RECHECK;
    if (req->type_v1 == 2)
        return ABCI_CHECK_TX_NEW;
    if (req->type == TENDERMINT__ABCI__CHECK_TX_TYPE__RECHECK)
        return ABCI_CHECK_TX_RECHECK;
    return ABCI_CHECK_TX_NEW;
}
