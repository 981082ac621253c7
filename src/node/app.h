/* app.h - the Sleetbubble ABCI application: ABCI callbacks -> src/core rules -> store
 * (protocol.md §2-§9). Runs on the ABCI loop thread only. */
#ifndef SB_NODE_APP_H
#define SB_NODE_APP_H

#include <stdint.h>

#include <abci/abci.h>

#include "params.h"
#include "store.h"

typedef struct sb_app sb_app;

/* Called after every successful Commit with the committed height (wakes the pin worker). */
typedef void (*sb_app_commit_fn)(void *arg, int64_t height);

typedef struct sb_app_opts {
    int pin_enabled;            /* this node pins winners (protocol.md §10; /pins says so) */
    const char *pin_db_path;    /* the pin worker's database (data/pins.db), read by /pins;
                                   borrowed, must outlive the app; NULL = none */
    size_t sig_cache_entries;   /* signature cache size ([node] sig_cache_entries,
                                   sigcache.h); 0 = no cache */
    sb_app_commit_fn on_commit; /* may be NULL */
    void *on_commit_arg;
#ifdef SB_FAULT_HOOKS
    /* Fault injection for crash tests (0 = off), built only with the CMake option
     * SLEETBUBBLE_FAULT_HOOKS: when the Commit of this height arrives, the process kills
     * itself with SIGKILL before making the block durable - a deterministic "crash between
     * FinalizeBlock and Commit" (protocol.md §2 crash contract). Set by sleetbubbled from
     * $SLEETBUBBLE_FAIL_BEFORE_COMMIT, as CometBFT's own crash tests do with FAIL_TEST_INDEX. */
    int64_t fail_before_commit;
#endif
} sb_app_opts;

/* Create the app over an open store (borrowed; must outlive the app). Loads the committed
 * meta and params. Returns NULL with a message in err on failure. */
sb_app *sb_app_new(sb_store *store, const sb_app_opts *opts, char *err, size_t errlen);
void sb_app_free(sb_app *app);

/* The ABCI callback table; pass the sb_app as app_arg to abci_server_new. */
const abci_app_t *sb_app_abci(void);

/* Last committed height (0 before the first Commit). */
int64_t sb_app_height(const sb_app *app);
/* Committed params, or NULL before InitChain. */
const sb_params *sb_app_params(const sb_app *app);
/* Narrow read accessors (queries, metrics): */
/* The store the app writes (borrowed from sb_app_new's caller). */
sb_store *sb_app_store(const sb_app *app);
/* Time of the last committed block, ns (the genesis time before the first block). */
int64_t sb_app_block_time(const sb_app *app);
/* The lowest slot not finalized in the committed state (protocol.md §3). */
uint64_t sb_app_next_slot(const sb_app *app);
/* 1 if this node pins winners (protocol.md §10). */
int sb_app_pin_enabled(const sb_app *app);
/* A read-only view of the pin worker's database (sb_app_opts.pin_db_path) for /pins,
 * opened on first use and owned by the app; NULL while there is none (not configured, not
 * created yet, or it cannot be opened: logged). */
struct sb_pinstore *sb_app_pins_view(sb_app *app);
/* 1 when the last Commit succeeded (for /healthz). */
int sb_app_healthy(void *app);

#endif /* SB_NODE_APP_H */
