/* app_fixture.h - the sleetbubbled app over a fresh real SQLite store, and the requests of a
 * small chain, for the app-level fuzz targets (abci_app_fuzz, query_fuzz) and their seed
 * generator (abci_app_seeds). Every failure abort()s.
 *
 * The chain is the SPEC vector genesis: chain "sleetbubble-vectors", genesis time
 * FX_GENESIS_NS, slots of 20 s with an 8 s close lead, curators A (seed a1..) and B (b2..),
 * validators V1 (11.., power 30) and V2 (22.., power 10). */
#ifndef SB_FUZZ_APP_FIXTURE_H
#define SB_FUZZ_APP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "abci/abci.h"
#include "app.h"
#include "store.h"

#define FX_CHAIN "sleetbubble-vectors"
#define FX_GENESIS_NS 1795392000250000000LL
#define FX_S 1000000000LL

/* A store and an app in a fresh directory under /dev/shm (else $TMPDIR or /tmp). */
typedef struct fx_app {
    char dir[256];
    char db[300];
    char pins[300]; /* never created: /pins answers "not_queued" */
    sb_store *store;
    sb_app *app;
} fx_app;

/* Create the directory and open store and app. */
void fx_app_open(fx_app *f);
/* Close app and store (a process exit), then open them again (a restart). */
void fx_app_restart(fx_app *f);
/* Close everything and remove the directory. */
void fx_app_close(fx_app *f);

/* Route the node's log (sb_log) to /dev/null, errors only: the fuzzers run millions of
 * requests. */
void fx_quiet_logs(void);

/* The chain's txs, built and signed once (borrowed, static):
 * [0] proposal by A for slot 1, [1] proposal by B for slot 1, [2] vote of V1 and [3] vote of
 * V2 for A's proposal, [4] a proposal by the stranger key (CURATOR_NOT_ALLOWED). */
#define FX_NTX 5
const ProtobufCBinaryData *fx_txs(void);
/* The id of A's slot-1 proposal (lowercase hex, 64 digits + NUL). */
const char *fx_proposal_a_hex(void);

/* Requests, filled into caller storage (all pointers borrowed from static data or the
 * arguments). v1_form: validators as v1.0's pub_key_bytes + pub_key_type. */
void fx_init_chain(Tendermint__Abci__RequestInitChain *r, int v1_form);
void fx_finalize(Tendermint__Abci__RequestFinalizeBlock *r, Tendermint__Abci__Timestamp *ts,
                 int64_t height, int64_t time_ns, const ProtobufCBinaryData *txs, size_t n);

/* Drive the app's callbacks in-process through InitChain and three committed blocks: A and B
 * propose for slot 1 (height 1, genesis + 1 s), V1 and V2 vote for A (height 2, + 3 s), and a
 * block at + 53 s finalizes slots 0..3 (A's playlist wins slot 1). */
void fx_build_chain(fx_app *f);

#endif
