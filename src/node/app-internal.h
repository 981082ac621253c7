/* app-internal.h - sb_app's state: app.c's (and its white-box tests'); query.c reads it
 * through the accessors of app.h. */
#ifndef SB_NODE_APP_INTERNAL_H
#define SB_NODE_APP_INTERNAL_H

#include <stdatomic.h>

#include "app.h"
#include "overlay.h"
#include "rejlog.h"
#include "sigcache.h"

struct sb_app {
    sb_store *store;
    sb_app_opts opts;

    sb_params params; /* fixed at InitChain (protocol.md §5) */
    int have_params;
    sb_meta committed;     /* last Commit (Info, CheckTx time, Query height); params_json unused */
    uint8_t base_hash[32]; /* H_{h-1} for the next block: committed app hash, or H_0 */
    int have_base;
    int healthy;

    /* The block staged by FinalizeBlock, made durable by Commit. */
    int pending;
    sb_meta staged;

    sb_overlay mempool; /* this node's mempool view (protocol.md §4), cleared at Commit */
    sb_rejlog rejected; /* rejected CheckTx summary at info (node-local logging) */
    struct sb_pinstore *pins_view; /* read-only view of data/pins.db for /pins, opened lazily */

    /* Signatures (sigcache.h): the node-local cache, and the params the CheckTx stage reads
     * on worker threads - a copy published once per InitChain/load and never modified; older
     * copies stay allocated until sb_app_free, since a stage may still be reading one. */
    sb_sigcache *sigcache; /* NULL = off */
    _Atomic(sb_params *) stage_params;
    sb_params **old_stage_params;
    size_t n_old_stage_params;
};

#endif
