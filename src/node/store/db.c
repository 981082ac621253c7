/* db.c - SQLite connection set-up shared by the consensus store and the pin store. */
#include "db.h"

#include <stdio.h>

#include "log.h"

static sb_db_profile_fn prof_fn;
static void *prof_arg;

void sb_db_set_profiler(sb_db_profile_fn fn, void *arg)
{
    prof_fn = fn;
    prof_arg = arg;
}

static int on_trace(unsigned type, void *ctx, void *p, void *x)
{
    (void)ctx;
    (void)x;
    if (type != SQLITE_TRACE_PROFILE || !prof_fn)
        return 0;
    sqlite3_stmt *s = p;
    /* The counters are per statement and cumulative across runs: read and reset them, so
     * each call reports one run. */
    int64_t full = sqlite3_stmt_status(s, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
    int64_t vm = sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 1);
    const char *sql = sqlite3_sql(s);
    prof_fn(prof_arg, sql ? sql : "?", full, vm);
    return 0;
}

int sb_db_open(const char *path, int writable, int busy_ms, sqlite3 **out, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int flags = writable ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
    *out = NULL;
    if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, busy_ms);
    if (prof_fn)
        sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, on_trace, NULL);
    *out = db;
    return 0;
}

sqlite3_stmt *sb_db_prep(sqlite3 *db, const char *mod, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        sb_log(SB_LOG_ERROR, mod, "database: %s: %s", sql, sqlite3_errmsg(db));
        sqlite3_finalize(s);
        return NULL;
    }
    return s;
}

int sb_db_exec(sqlite3 *db, const char *mod, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sb_log(SB_LOG_ERROR, mod, "database: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

void sb_db_rollback(sqlite3 *db)
{
    if (db && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}
