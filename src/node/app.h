/* app.h - the Sleetbubble ABCI application: ABCI callbacks -> src/core rules -> store
 * (SPEC §2-§9). Runs on the ABCI loop thread only. */
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
    int pin_enabled;            /* this node pins winners (SPEC §10; /pins says so) */
    const char *pin_db_path;    /* the pin worker's database (data/pins.db), read by /pins;
                                   borrowed, must outlive the app; NULL = none */
    sb_app_commit_fn on_commit; /* may be NULL */
    void *on_commit_arg;
#ifdef SB_FAULT_HOOKS
    /* Fault injection for crash tests (0 = off), built only with the CMake option
     * SLEETBUBBLE_FAULT_HOOKS: when the Commit of this height arrives, the process kills
     * itself with SIGKILL before making the block durable - a deterministic "crash between
     * FinalizeBlock and Commit" (SPEC §2 crash contract). Set by sleetbubbled from
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
/* 1 when the last Commit succeeded (for /healthz). */
int sb_app_healthy(void *app);

#endif /* SB_NODE_APP_H */
