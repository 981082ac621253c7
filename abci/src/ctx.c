/* ctx.c - per-request arena for response memory (abci.h: abci_ctx_*). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abci-internal.h"

#define CHUNK_DEFAULT_BYTES ((size_t)4096)

struct abci_ctx_chunk {
    struct abci_ctx_chunk *next;
    size_t cap;  /* bytes in data[] */
    size_t used; /* bytes handed out (aligned) */
    max_align_t data[];
};

void abci_ctx_init(struct abci_ctx *ctx, const char *peer)
{
    ctx->head = NULL;
    ctx->peer = peer;
}

void abci_ctx_reset(struct abci_ctx *ctx)
{
    struct abci_ctx_chunk *ch = ctx->head;
    while (ch) {
        struct abci_ctx_chunk *next = ch->next;
        free(ch);
        ch = next;
    }
    ctx->head = NULL;
}

void *abci_ctx_alloc(abci_ctx *ctx, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + align - 1) / align * align;
    if (need == 0)
        need = align;
    struct abci_ctx_chunk *ch = ctx->head;
    if (!ch || ch->cap - ch->used < need) {
        size_t cap = need > CHUNK_DEFAULT_BYTES ? need : CHUNK_DEFAULT_BYTES;
        ch = malloc(sizeof(*ch) + cap);
        if (!ch)
            return NULL;
        ch->cap = cap;
        ch->used = 0;
        ch->next = ctx->head;
        ctx->head = ch;
    }
    unsigned char *p = (unsigned char *)ch->data + ch->used;
    ch->used += need;
    memset(p, 0, need);
    return p;
}

void *abci_ctx_memdup(abci_ctx *ctx, const void *p, size_t n)
{
    void *q = abci_ctx_alloc(ctx, n);
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
    char *s = abci_ctx_alloc(ctx, (size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    int m = vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return m == n ? s : NULL;
}

const char *abci_ctx_peer(const abci_ctx *ctx)
{
    return ctx->peer ? ctx->peer : "";
}

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
