/* ctx.h - standalone request contexts: call an application's abci_app_t callbacks in-process,
 * without a server or a socket (tests, benchmarks, fuzzers; protocol.md §2).
 *
 * Inside a server the library owns each callback's abci_ctx. To drive callbacks directly,
 * make one here, pass it as the callback's ctx, and reset it once you are done with the
 * response (everything the callback took with abci_ctx_alloc() & co. goes then). A standalone
 * ctx has no server: abci_ctx_stage_result() is NULL and abci_parallel_map() runs serially,
 * so results are those a server gives. Not thread-safe: one thread uses a ctx at a time.
 */
#ifndef ABCI_CTX_H
#define ABCI_CTX_H

#include "abci/abci.h"

#ifdef __cplusplus
extern "C" {
#endif

/* New empty context. `peer` (what abci_ctx_peer() answers; NULL reads as "") is borrowed and
 * must outlive the ctx. Returns NULL on out-of-memory; free with abci_ctx_free(). */
abci_ctx *abci_ctx_new(const char *peer);

/* Free every allocation made from ctx; it can be used again afterwards. */
void abci_ctx_reset(abci_ctx *ctx);

/* Reset and free the context. NULL is a no-op. */
void abci_ctx_free(abci_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* ABCI_CTX_H */
