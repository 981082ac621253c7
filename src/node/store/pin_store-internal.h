/* pin_store-internal.h - what the pin job database's files share (protocol.md §10). Not a public
 * API: pin_store.h is.
 *   pin_store.c         schema, open/close, claim/finish and the other per-job statements,
 *                       the /pins query
 *   pin_store_ingest.c  committed slots -> jobs, refs and the high-water mark, in batches
 *   pin_store_house.c   start-up reconcile pages and retention (expire, doom, unpin)
 * Every public function takes the store's mutex for its statements; the helpers below expect
 * it held. */
#ifndef SB_NODE_PIN_STORE_INTERNAL_H
#define SB_NODE_PIN_STORE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "pin_store.h"
#include "store.h"

struct sb_pinstore {
    pthread_mutex_t mu;
    sqlite3 *db;     /* pins.db, the only writer */
    sb_store *state; /* consensus database, read-only; NULL for a query view */
};

/* Module name in log lines. */
#define M "pin"

static inline void sb_pinstore_lock(sb_pinstore *ps) { pthread_mutex_lock(&ps->mu); }
static inline void sb_pinstore_unlock(sb_pinstore *ps) { pthread_mutex_unlock(&ps->mu); }

/* Log "database: <what>: <sqlite error>" at error level. */
void sb_pinstore_log_db(sqlite3 *db, const char *what);

/* Step a statement that returns no rows; 0 or -1 (logged). Leaves it reset. */
int sb_pinstore_run(sqlite3 *db, sqlite3_stmt *s, const char *what);

/* A growable list of (slot, kind, CID) rows; the caller frees v and winners. */
typedef struct item {
    int64_t slot;
    int kind;
    char cid[SB_PIN_CID_MAX];
} item;

typedef struct items {
    item *v;
    size_t n, cap;
    int64_t *winners;
    size_t nw;
} items;

/* Append (slot, kind, cid) to it (cid copied). A CID a job cannot hold (empty, or
 * SB_PIN_CID_MAX bytes or more) is skipped. 0, or -1 out of memory. */
int sb_pinstore_items_add(items *it, int64_t slot, int kind, const char *cid);

#endif /* SB_NODE_PIN_STORE_INTERNAL_H */
