/* app_harness.c - see app_harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "app_harness.h"

void app_harness_open(app_harness *h)
{
    char err[256];
    assert_int_equal(sb_store_open(h->db, &h->store, err, sizeof(err)), 0);
    sb_app_opts o = { .pin_enabled = 1,
                      .pin_db_path = h->pins,
                      .sig_cache_entries = h->sig_cache_entries };
    h->app = sb_app_new(h->store, &o, err, sizeof(err));
    assert_non_null(h->app);
}

void app_harness_close(app_harness *h)
{
    sb_app_free(h->app);
    sb_store_close(h->store);
    h->app = NULL;
    h->store = NULL;
}

int app_harness_init(app_harness *h, const char *prefix)
{
    snprintf(h->dir, sizeof(h->dir), "/tmp/%s.XXXXXX", prefix);
    if (!mkdtemp(h->dir))
        return -1;
    snprintf(h->db, sizeof(h->db), "%s/sleetbubble.db", h->dir);
    snprintf(h->pins, sizeof(h->pins), "%s/pins.db", h->dir);
    h->ctx = abci_ctx_new("test");
    if (!h->ctx)
        return -1;
    app_harness_open(h);
    return 0;
}

int app_harness_destroy(app_harness *h)
{
    char cmd[400];
    app_harness_close(h);
    abci_ctx_free(h->ctx);
    h->ctx = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
    return system(cmd) == 0 ? 0 : -1;
}
