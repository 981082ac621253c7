/* app_harness.h - the sleetbubbled app over a real SQLite store in a temp dir, driven through
 * its ABCI callbacks in-process (unit tests of src/node). Every function asserts (cmocka). */
#ifndef SB_TEST_APP_HARNESS_H
#define SB_TEST_APP_HARNESS_H

#include "abci/ctx.h" /* abci_ctx_new/reset/free: drive callbacks in-process */
#include "app-internal.h"

typedef struct app_harness {
    char dir[256];  /* temp dir, removed by app_harness_destroy */
    char db[300];   /* dir/sleetbubble.db */
    char pins[300]; /* dir/pins.db: the pin worker's file, read by /pins */
    sb_store *store;
    sb_app *app;              /* pin_enabled = 1 */
    abci_ctx *ctx;            /* response arena (owned); reset between calls */
    size_t sig_cache_entries; /* sb_app_opts.sig_cache_entries at open (0 = no cache) */
} app_harness;

/* Make the temp dir (prefix names the test) and open the store and the app. 0 / -1. */
int app_harness_init(app_harness *h, const char *prefix);
/* Open / close the store and the app (a close then open is a process restart). */
void app_harness_open(app_harness *h);
void app_harness_close(app_harness *h);
/* Close, free the arena and remove the temp dir. 0 / -1. */
int app_harness_destroy(app_harness *h);

#endif
