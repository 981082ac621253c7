/* store.c - Sleetbubble state in SQLite, WAL, one staged transaction per block (protocol.md §7). */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"

/* Prepared statements kept across calls (sqlite3_prepare costs more than most of the
 * statements it prepares: a block of 10,000 votes runs ~40,000 of them). Keyed by connection and
 * SQL text; a statement in use is never handed out twice (a nested use prepares its own). */
#define STMT_CACHE 32

typedef struct stmt_slot {
    sqlite3 *db;
    sqlite3_stmt *s;
    int busy;
} stmt_slot;

struct sb_store {
    sqlite3 *w; /* writer: staged block transaction */
    sqlite3 *r; /* reader: committed state only */
    int in_block;
    char *path;
    stmt_slot cache[STMT_CACHE];
};

/* The consensus schema, declared here only: schema_head + the winner outcome list
 * (winner_outcomes) + schema_tail. */
static const char *const schema_head =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), height INTEGER NOT NULL, app_hash BLOB,"
    "  last_time_ns INTEGER NOT NULL, next_slot INTEGER NOT NULL,"
    "  initial_height INTEGER NOT NULL, params TEXT);"
    "CREATE TABLE IF NOT EXISTS proposals ("
    "  id BLOB PRIMARY KEY, slot INTEGER NOT NULL, curator BLOB NOT NULL,"
    "  height INTEGER NOT NULL, idx INTEGER NOT NULL, tx BLOB NOT NULL, body BLOB NOT NULL,"
    "  n_tracks INTEGER NOT NULL, total_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX IF NOT EXISTS proposals_by_curator ON proposals(slot, curator);"
    "CREATE TABLE IF NOT EXISTS votes ("
    "  slot INTEGER NOT NULL, validator BLOB NOT NULL, proposal_id BLOB NOT NULL,"
    "  height INTEGER NOT NULL, idx INTEGER NOT NULL, tx BLOB NOT NULL,"
    "  PRIMARY KEY (slot, validator));"
    "CREATE TABLE IF NOT EXISTS slots ("
    "  slot INTEGER PRIMARY KEY, outcome INTEGER NOT NULL, proposal_id BLOB,"
    "  power_for INTEGER NOT NULL, total INTEGER NOT NULL, manifest_cid BLOB,"
    "  manifest BLOB, height INTEGER NOT NULL);"
    /* The pin worker resolves a REPEAT's manifest bytes by CID (protocol.md §10), and finds the
     * newest kept winners, without scanning history. */
    "CREATE INDEX IF NOT EXISTS slots_by_manifest ON slots(manifest_cid) "
    "  WHERE manifest IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS slots_with_winner ON slots(slot) WHERE outcome IN ";
static const char *const schema_tail =
    ";"
    /* v1 kept pin jobs here; they now live in the worker's own file (data/pins.db), which
     * back-fills from `slots` and reconciles with Kubo, so nothing is lost by dropping it. */
    "DROP TABLE IF EXISTS pin_jobs;";

/* "(1, 2, 3)": the outcomes with a winner (sb_outcome_has_winner) as an SQL list, into
 * list[0..64). A query that should use the slots_with_winner index spells it exactly so. */
#define OUTCOME_LIST_MAX 64
static const char *winner_outcomes(char list[OUTCOME_LIST_MAX])
{
    size_t n = 0;
    list[0] = '\0';
    for (int o = SB_OUTCOME_SUPERMAJORITY; o <= SB_OUTCOME_NONE && n < OUTCOME_LIST_MAX; o++)
        if (sb_outcome_has_winner(o))
            n += (size_t)snprintf(list + n, OUTCOME_LIST_MAX - n, "%s%d", n ? ", " : "(", o);
    if (n < OUTCOME_LIST_MAX)
        snprintf(list + n, OUTCOME_LIST_MAX - n, ")");
    return list;
}

static void log_db(sqlite3 *db, const char *what)
{
    sb_log(SB_LOG_ERROR, "store", "%s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sb_log(SB_LOG_ERROR, "store", "%s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Busy timeout of the store's connections, ms. The consensus file has one writer (this
 * store) and its readers never block it in WAL mode, so it only matters for a checkpoint. */
#define STORE_BUSY_MS 5000

int sb_store_open(const char *path, sb_store **out, char *err, size_t errlen)
{
    sb_store *st = calloc(1, sizeof(*st));
    if (!st || !(st->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(st);
        return -1;
    }
    if (sb_db_open(path, 1, STORE_BUSY_MS, &st->w, err, errlen) < 0)
        goto err;
    char schema[4096], outcomes[OUTCOME_LIST_MAX];
    if ((size_t)snprintf(schema, sizeof(schema), "%s%s%s", schema_head, winner_outcomes(outcomes),
                         schema_tail) >= sizeof(schema)) {
        snprintf(err, errlen, "%s: schema longer than %zu bytes", path, sizeof(schema));
        goto err;
    }
    if (exec(st->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;") <
            0 ||
        exec(st->w, schema) < 0) {
        snprintf(err, errlen, "%s: cannot set up schema: %s", path, sqlite3_errmsg(st->w));
        goto err;
    }
    if (sb_db_open(path, 0, STORE_BUSY_MS, &st->r, err, errlen) < 0)
        goto err;
    *out = st;
    return 0;
err:
    sb_store_close(st);
    return -1;
}

void sb_store_close(sb_store *st)
{
    if (!st)
        return;
    if (st->in_block)
        sb_store_rollback(st);
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(st->cache[i].s);
    sqlite3_close(st->r);
    sqlite3_close(st->w);
    free(st->path);
    free(st);
}

/* Busy timeout of a read-only view, ms: it waits only while a checkpoint restarts the log. */
#define VIEW_BUSY_MS 10000

int sb_store_open_readonly(const char *path, sb_store **out, char *err, size_t errlen)
{
    sb_store *st = calloc(1, sizeof(*st));
    *out = NULL;
    if (!st || !(st->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(st);
        return -1;
    }
    if (sb_db_open(path, 0, VIEW_BUSY_MS, &st->r, err, errlen) < 0) {
        sb_store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

int sb_store_in_block(const sb_store *st) { return st->in_block; }

void sb_meta_free(sb_meta *m)
{
    free(m->params_json);
    memset(m, 0, sizeof(*m));
}

/* A prepared statement for `sql` on `db` (st->w or st->r): an idle one from st's cache, reset
 * and unbound, or a new one (kept in the cache when a slot is free). Logs and returns NULL on
 * error. Give it back with done(). */
static sqlite3_stmt *prep(sb_store *st, sqlite3 *db, const char *sql)
{
    stmt_slot *room = NULL;
    int nested = 0;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        stmt_slot *e = &st->cache[i];
        if (!e->s) {
            room = room ? room : e;
        } else if (e->db == db && strcmp(sqlite3_sql(e->s), sql) == 0) {
            if (!e->busy) {
                e->busy = 1;
                return e->s;
            }
            nested = 1;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, nested || !room ? 0 : SQLITE_PREPARE_PERSISTENT, &s,
                           NULL) != SQLITE_OK) {
        log_db(db, sql);
        sqlite3_finalize(s);
        return NULL;
    }
    if (room && !nested)
        *room = (stmt_slot){ db, s, 1 };
    return s;
}

/* Give back a statement from prep(): a cached one is reset for the next call (which ends its
 * read), any other finalized. */
static void done(sb_store *st, sqlite3_stmt *s)
{
    for (size_t i = 0; i < STMT_CACHE; i++) {
        if (st->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            st->cache[i].busy = 0;
            return;
        }
    }
    done(st, s);
}

static sqlite3 *conn(sb_store *st, int staged) { return staged ? st->w : st->r; }

int sb_store_load_meta(sb_store *st, sb_meta *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *s = prep(st, st->r,
                           "SELECT height, app_hash, last_time_ns, next_slot, "
                           "initial_height, params FROM meta WHERE id = 1");
    if (!s)
        return -1;
    int rc = sqlite3_step(s), ret = 0;
    if (rc == SQLITE_ROW) {
        out->height = sqlite3_column_int64(s, 0);
        if (sqlite3_column_bytes(s, 1) == 32) {
            memcpy(out->app_hash, sqlite3_column_blob(s, 1), 32);
            out->has_app_hash = 1;
        }
        out->last_time_ns = sqlite3_column_int64(s, 2);
        out->next_slot = (uint64_t)sqlite3_column_int64(s, 3);
        out->initial_height = sqlite3_column_int64(s, 4);
        const unsigned char *p = sqlite3_column_text(s, 5);
        if (p && !(out->params_json = strdup((const char *)p)))
            ret = -1;
    } else if (rc != SQLITE_DONE) {
        log_db(st->r, "load meta");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_snapshot_begin(sb_store *st) { return exec(st->r, "BEGIN"); }

void sb_store_snapshot_end(sb_store *st) { sb_db_rollback(st->r); }

int sb_store_begin(sb_store *st)
{
    if (st->in_block)
        return 0;
    if (exec(st->w, "BEGIN IMMEDIATE") < 0)
        return -1;
    st->in_block = 1;
    return 0;
}

void sb_store_rollback(sb_store *st)
{
    if (!st->in_block)
        return;
    exec(st->w, "ROLLBACK");
    st->in_block = 0;
}

int sb_store_commit(sb_store *st)
{
    if (!st->in_block)
        return 0;
    if (exec(st->w, "COMMIT") < 0)
        return -1;
    st->in_block = 0;
    return 0;
}

int sb_store_wipe(sb_store *st)
{
    return exec(st->w, "DELETE FROM meta; DELETE FROM proposals; DELETE FROM votes;"
                       "DELETE FROM slots;");
}

/* Step a write statement on st->w to completion and give it back. */
static int step_done(sb_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        log_db(st->w, what);
    done(st, s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int sb_store_put_meta(sb_store *st, const sb_meta *m)
{
    sqlite3_stmt *s = prep(st, st->w,
                           "INSERT OR REPLACE INTO meta (id, height, app_hash, "
                           "last_time_ns, next_slot, initial_height, params) "
                           "VALUES (1, ?, ?, ?, ?, ?, ?)");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, m->height);
    if (m->has_app_hash)
        sqlite3_bind_blob(s, 2, m->app_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, m->last_time_ns);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)m->next_slot);
    sqlite3_bind_int64(s, 5, m->initial_height);
    if (m->params_json)
        sqlite3_bind_text(s, 6, m->params_json, -1, SQLITE_TRANSIENT);
    return step_done(st, s, "put meta");
}

int sb_store_set_head(sb_store *st, int64_t height, const uint8_t app_hash[32], int64_t time_ns,
                      uint64_t next_slot)
{
    sqlite3_stmt *s = prep(st, st->w,
                           "UPDATE meta SET height = ?, app_hash = ?, last_time_ns = ?, "
                           "next_slot = ? WHERE id = 1");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, height);
    sqlite3_bind_blob(s, 2, app_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, time_ns);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)next_slot);
    if (step_done(st, s, "set head") < 0)
        return -1;
    if (sqlite3_changes(st->w) != 1) {
        sb_log(SB_LOG_ERROR, "store", "set head: no meta row (InitChain missing)");
        return -1;
    }
    return 0;
}

int sb_store_add_proposal(sb_store *st, const uint8_t id[32], uint64_t slot,
                          const uint8_t curator[32], int64_t height, uint32_t index,
                          const uint8_t *tx, size_t txlen, const uint8_t *body, size_t bodylen,
                          uint32_t n_tracks, uint64_t total_ms)
{
    sqlite3_stmt *s = prep(st, st->w,
                           "INSERT INTO proposals (id, slot, curator, height, idx, tx, "
                           "body, n_tracks, total_ms) VALUES (?,?,?,?,?,?,?,?,?)");
    if (!s)
        return -1;
    sqlite3_bind_blob(s, 1, id, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)slot);
    sqlite3_bind_blob(s, 3, curator, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, height);
    sqlite3_bind_int64(s, 5, index);
    sqlite3_bind_blob(s, 6, tx, (int)txlen, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 7, body, (int)bodylen, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 8, n_tracks);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)total_ms);
    return step_done(st, s, "add proposal");
}

int sb_store_add_vote(sb_store *st, uint64_t slot, const uint8_t validator[32],
                      const uint8_t proposal_id[32], int64_t height, uint32_t index,
                      const uint8_t *tx, size_t txlen)
{
    sqlite3_stmt *s = prep(st, st->w,
                           "INSERT INTO votes (slot, validator, proposal_id, height, "
                           "idx, tx) VALUES (?,?,?,?,?,?)");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    sqlite3_bind_blob(s, 2, validator, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 3, proposal_id, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, height);
    sqlite3_bind_int64(s, 5, index);
    sqlite3_bind_blob(s, 6, tx, (int)txlen, SQLITE_TRANSIENT);
    return step_done(st, s, "add vote");
}

int sb_store_add_slot(sb_store *st, const sb_slot_record *r, const uint8_t *manifest,
                      size_t manifest_len)
{
    sqlite3_stmt *s = prep(st, st->w,
                           "INSERT OR REPLACE INTO slots (slot, outcome, proposal_id, "
                           "power_for, total, manifest_cid, manifest, height) "
                           "VALUES (?,?,?,?,?,?,?,?)");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)r->slot);
    sqlite3_bind_int(s, 2, r->outcome);
    if (r->outcome != SB_OUTCOME_NONE)
        sqlite3_bind_blob(s, 3, r->proposal_id, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)r->power_for);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)r->total);
    if (r->manifest_cid_len)
        sqlite3_bind_blob(s, 6, r->manifest_cid, (int)r->manifest_cid_len, SQLITE_TRANSIENT);
    if (manifest)
        sqlite3_bind_blob(s, 7, manifest, (int)manifest_len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 8, r->height);
    return step_done(st, s, "add slot");
}

/* Run a one-row "SELECT 1 …" style existence query with (slot, key) bound. */
static int exists2(sb_store *st, int staged, const char *sql, uint64_t slot, const uint8_t k[32])
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    sqlite3_bind_blob(s, 2, k, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s), ret = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (ret < 0)
        log_db(db, sql);
    done(st, s);
    return ret;
}

int sb_store_proposal_exists(sb_store *st, int staged, uint64_t slot, const uint8_t id[32])
{
    return exists2(st, staged, "SELECT 1 FROM proposals WHERE slot = ? AND id = ?", slot, id);
}

int sb_store_curator_proposed(sb_store *st, int staged, uint64_t slot, const uint8_t curator[32])
{
    return exists2(st, staged, "SELECT 1 FROM proposals WHERE slot = ? AND curator = ?", slot,
                   curator);
}

int sb_store_validator_voted(sb_store *st, int staged, uint64_t slot, const uint8_t validator[32])
{
    return exists2(st, staged, "SELECT 1 FROM votes WHERE slot = ? AND validator = ?", slot,
                   validator);
}

int sb_store_proposal_count(sb_store *st, int staged, uint64_t slot, uint32_t *count)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, "SELECT count(*) FROM proposals WHERE slot = ?");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    int ret = -1;
    if (sqlite3_step(s) == SQLITE_ROW) {
        *count = (uint32_t)sqlite3_column_int64(s, 0);
        ret = 0;
    } else {
        log_db(db, "proposal count");
    }
    done(st, s);
    return ret;
}

int sb_store_each_vote(sb_store *st, int staged, uint64_t slot, sb_store_vote_fn fn, void *arg)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s =
        prep(st, db, "SELECT validator, proposal_id FROM votes WHERE slot = ? ORDER BY validator");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 0) != 32 || sqlite3_column_bytes(s, 1) != 32) {
            sb_log(SB_LOG_ERROR, "store", "votes: malformed row for slot %llu",
                   (unsigned long long)slot);
            ret = -1;
            break;
        }
        if ((ret = fn(arg, sqlite3_column_blob(s, 0), sqlite3_column_blob(s, 1))) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        log_db(db, "each vote");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_proposal_ids(sb_store *st, int staged, uint64_t slot, uint8_t **ids, size_t *n)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, "SELECT id FROM proposals WHERE slot = ? ORDER BY id");
    *ids = NULL;
    *n = 0;
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    size_t cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(s, 0) != 32)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            uint8_t *p = realloc(*ids, ncap * 32);
            if (!p) {
                ret = -1;
                break;
            }
            *ids = p;
            cap = ncap;
        }
        memcpy(*ids + *n * 32, sqlite3_column_blob(s, 0), 32);
        (*n)++;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        log_db(db, "proposal ids");
        ret = -1;
    }
    done(st, s);
    if (ret < 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return ret;
}

int sb_store_proposal_body(sb_store *st, int staged, const uint8_t id[32], uint8_t **body,
                           size_t *len)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, "SELECT body FROM proposals WHERE id = ?");
    *body = NULL;
    *len = 0;
    if (!s)
        return -1;
    sqlite3_bind_blob(s, 1, id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s), ret = 0;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s, 0);
        *body = malloc(n > 0 ? (size_t)n : 1);
        if (!*body) {
            ret = -1;
        } else {
            if (n > 0)
                memcpy(*body, sqlite3_column_blob(s, 0), (size_t)n);
            *len = (size_t)n;
            ret = 1;
        }
    } else if (rc != SQLITE_DONE) {
        log_db(db, "proposal body");
        ret = -1;
    }
    done(st, s);
    return ret;
}

/* The columns every slot record read selects, in slot_row's order. */
#define SLOT_COLS "slot, outcome, proposal_id, power_for, total, manifest_cid, height"

/* A slot record from a row of SLOT_COLS. */
static void slot_row(sqlite3_stmt *s, sb_slot_record *out)
{
    memset(out, 0, sizeof(*out));
    out->slot = (uint64_t)sqlite3_column_int64(s, 0);
    out->outcome = sqlite3_column_int(s, 1);
    if (sqlite3_column_bytes(s, 2) == 32)
        memcpy(out->proposal_id, sqlite3_column_blob(s, 2), 32);
    out->power_for = (uint64_t)sqlite3_column_int64(s, 3);
    out->total = (uint64_t)sqlite3_column_int64(s, 4);
    int n = sqlite3_column_bytes(s, 5);
    if (n > 0 && (size_t)n <= sizeof(out->manifest_cid)) {
        memcpy(out->manifest_cid, sqlite3_column_blob(s, 5), (size_t)n);
        out->manifest_cid_len = (size_t)n;
    }
    out->height = sqlite3_column_int64(s, 6);
}

int sb_store_get_slot(sb_store *st, int staged, uint64_t slot, sb_slot_record *out)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, "SELECT " SLOT_COLS " FROM slots WHERE slot = ?");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    int rc = sqlite3_step(s), ret = 0;
    memset(out, 0, sizeof(*out));
    if (rc == SQLITE_ROW) {
        slot_row(s, out);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        log_db(db, "get slot");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_each_proposal(sb_store *st, int staged, uint64_t slot, sb_store_proposal_fn fn,
                           void *arg)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db,
                           "SELECT id, curator, n_tracks, total_ms, height FROM proposals "
                           "WHERE slot = ? ORDER BY height, idx");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)slot);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sb_proposal_row row;
        if (sqlite3_column_bytes(s, 0) != 32 || sqlite3_column_bytes(s, 1) != 32) {
            sb_log(SB_LOG_ERROR, "store", "proposals: malformed row for slot %llu",
                   (unsigned long long)slot);
            ret = -1;
            break;
        }
        memcpy(row.id, sqlite3_column_blob(s, 0), 32);
        memcpy(row.curator, sqlite3_column_blob(s, 1), 32);
        row.n_tracks = (uint32_t)sqlite3_column_int64(s, 2);
        row.total_ms = (uint64_t)sqlite3_column_int64(s, 3);
        row.height = sqlite3_column_int64(s, 4);
        if ((ret = fn(arg, &row)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        log_db(db, "each proposal");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_proposal_height(sb_store *st, int staged, const uint8_t id[32], int64_t *height)
{
    sqlite3 *db = conn(st, staged);
    sqlite3_stmt *s = prep(st, db, "SELECT height FROM proposals WHERE id = ?");
    if (!s)
        return -1;
    sqlite3_bind_blob(s, 1, id, 32, SQLITE_STATIC);
    int rc = sqlite3_step(s), ret = 0;
    if (rc == SQLITE_ROW) {
        *height = sqlite3_column_int64(s, 0);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        log_db(db, "proposal height");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_each_slot_after(sb_store *st, int64_t after, size_t max, sb_store_slot_fn fn,
                             void *arg)
{
    sqlite3_stmt *s =
        prep(st, st->r, "SELECT " SLOT_COLS " FROM slots WHERE slot > ? ORDER BY slot LIMIT ?");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, after);
    sqlite3_bind_int64(s, 2, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sb_slot_record r;
        slot_row(s, &r);
        if ((ret = fn(arg, &r)) != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        log_db(st->r, "slots after");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_winner_slots_below(sb_store *st, int64_t below, int64_t *slots, size_t max, size_t *n)
{
    char sql[256], outcomes[OUTCOME_LIST_MAX];
    *n = 0;
    /* The outcome list must be spelled as in the slots_with_winner index (schema()) for the
     * planner to use it. */
    snprintf(sql, sizeof(sql),
             "SELECT slot FROM slots WHERE outcome IN %s AND slot < ? "
             "ORDER BY slot DESC LIMIT ?",
             winner_outcomes(outcomes));
    sqlite3_stmt *s = prep(st, st->r, sql);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, below);
    sqlite3_bind_int64(s, 2, max > INT64_MAX ? INT64_MAX : (sqlite3_int64)max);
    int rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
        slots[(*n)++] = sqlite3_column_int64(s, 0);
    int ret = 0;
    if (*n < max && rc != SQLITE_DONE) {
        log_db(st->r, "winner slots");
        ret = -1;
    }
    done(st, s);
    return ret;
}

int sb_store_manifest_by_cid(sb_store *st, const uint8_t *cid, size_t cidlen, uint8_t **out,
                             size_t *len)
{
    sqlite3_stmt *s = prep(st, st->r,
                           "SELECT manifest FROM slots WHERE manifest_cid = ? "
                           "AND manifest IS NOT NULL LIMIT 1");
    *out = NULL;
    *len = 0;
    if (!s)
        return -1;
    sqlite3_bind_blob(s, 1, cid, (int)cidlen, SQLITE_STATIC);
    int rc = sqlite3_step(s), ret = 0;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s, 0);
        if (!(*out = malloc(n > 0 ? (size_t)n : 1))) {
            ret = -1;
        } else {
            if (n > 0)
                memcpy(*out, sqlite3_column_blob(s, 0), (size_t)n);
            *len = (size_t)n;
            ret = 1;
        }
    } else if (rc != SQLITE_DONE) {
        log_db(st->r, "manifest by cid");
        ret = -1;
    }
    done(st, s);
    return ret;
}
