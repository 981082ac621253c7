/* query.h - abci_query paths for explorers and the CLI (protocol.md §8). */
#ifndef SB_NODE_QUERY_H
#define SB_NODE_QUERY_H

#include "app.h"

/* Answer abci_query (protocol.md §8) from the committed state, read through app.h's accessors and
 * the store. Never fails for bad input: codes 12-14 in res. Returns -1 only on
 * out-of-memory or a store error (logged). */
int sb_query(sb_app *app, abci_ctx *ctx, const Tendermint__Abci__RequestQuery *req,
             Tendermint__Abci__ResponseQuery *res);

#endif /* SB_NODE_QUERY_H */
