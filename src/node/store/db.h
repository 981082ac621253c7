/* db.h - opening SQLite connections the same way everywhere in the node, and a statement
 * profiler for the tests that prove no hot statement grows with history (protocol.md §7, §10).
 *
 * The node has two database files, each with exactly one writer (STYLE "Lifetime rules"):
 *   data/sleetbubble.db  consensus state; written by the ABCI thread only (store.c)
 *   data/pins.db         the pin worker's progress; written by the worker only (pin_store.c)
 * Every other connection is read-only.
 */
#ifndef SB_NODE_DB_H
#define SB_NODE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

/* Open `path`: writable (created if missing) when `writable`, else SQLITE_OPEN_READONLY;
 * NOMUTEX (each connection is used by one thread at a time, or under its owner's mutex);
 * busy_timeout busy_ms. Installs the profiler below when one is set. On error returns -1
 * with "path: reason" in err[0..errlen) and *out = NULL. */
int sb_db_open(const char *path, int writable, int busy_ms, sqlite3 **out, char *err,
               size_t errlen);

/* Prepare `sql` on db; logs (module `mod`) and returns NULL on error. */
sqlite3_stmt *sb_db_prep(sqlite3 *db, const char *mod, const char *sql);

/* Run `sql` (no rows); logs and returns -1 on error. */
int sb_db_exec(sqlite3 *db, const char *mod, const char *sql);

/* ROLLBACK if a transaction is open on db (no-op otherwise). */
void sb_db_rollback(sqlite3 *db);

/* ---- profiler (tests and benchmarks only) --------------------------------------------- */

/* Called when a statement finishes (reset or finalized after running) on any connection
 * opened by sb_db_open while the hook was set: its SQL text (expanded with the bound
 * values removed: the statement as written), the full-scan steps and the VM steps of that
 * run (sqlite3_stmt_status FULLSCAN_STEP and VM_STEP). Runs on the thread that ran the
 * statement. */
typedef void (*sb_db_profile_fn)(void *arg, const char *sql, int64_t fullscan_steps,
                                 int64_t vm_steps);
/* Set (or clear with NULL) the process-wide hook. Set it before opening the connections to
 * profile; not thread-safe against concurrent sb_db_open. */
void sb_db_set_profiler(sb_db_profile_fn fn, void *arg);

#endif /* SB_NODE_DB_H */
