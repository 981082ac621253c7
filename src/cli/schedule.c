/* schedule.c — `sleetbubble schedule --library DIR --key NAME [--slots N] [--no-repeat-slots K]
 * [--dry-run]`: the curator's schedule (protocol.md §15 "Curator schedule"). Indexes the
 * library (sched.h), adds new files to Kubo, and proposes a packed, rotated playlist for each
 * of the next N open slots this curator has no proposal for. The playlist is judged by the
 * core's own rules (sb_tx_check) before it is sent. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chain.h"
#include "cli.h"
#include "keys.h"
#include "kubo_client.h"
#include "params.h"
#include "rpc.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "sched.h"
#include "slot.h"
#include "tracks.h"
#include "tx.h"

#define SCHED_DEFAULT_SLOTS 4u
#define SCHED_DEFAULT_NO_REPEAT 4u
#define SCHED_MAX_SLOTS 1024u
#define SCHED_MAX_DEPTH 32
#define SCHED_ADD_TIMEOUT_S 600L
#define SCHED_INDEX_MAX_BYTES (256u * 1024u * 1024u)

/* Everything one run learns, for the summary. */
typedef struct sched_run {
    json_t *proposed, *already, *rejected, *no_playlist, *skipped;
    size_t files, tracks, added;
    int unreachable;
} sched_run;

/* ---- the library ---- */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_push(path_list *l, char *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv, l->cap = nc;
    }
    l->v[l->n++] = s;
    return 0;
}

static void list_free(path_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Every regular file under root/rel (rel "" = root), relative paths, in sorted order: each
 * directory's entries sorted bytewise, directories entered where they sort. Symlinks to files
 * count; symlinked directories are not entered (no loops). 0, or -1 with err. */
static int walk(const char *root, const char *rel, int depth, path_list *out, char *err,
                size_t errlen)
{
    char dir[PATH_MAX], full[PATH_MAX], relp[PATH_MAX];
    path_list names = { 0 };
    DIR *d = NULL;
    int ret = -1;
    if (snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s/%s: path too long", root, rel);
        goto done;
    }
    if (!(d = opendir(dir))) {
        snprintf(err, errlen, "%.900s: %s", dir, strerror(errno));
        goto done;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s = strdup(e->d_name);
        if (!s || list_push(&names, s) < 0) {
            free(s);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    qsort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n; i++) {
        struct stat st, lst;
        if (snprintf(full, sizeof full, "%s/%s", dir, names.v[i]) >= (int)sizeof full ||
            snprintf(relp, sizeof relp, "%s%s%s", rel, *rel ? "/" : "", names.v[i]) >=
                (int)sizeof relp) {
            snprintf(err, errlen, "%.900s/%.60s: path too long", dir, names.v[i]);
            goto done;
        }
        if (lstat(full, &lst) < 0)
            continue; /* vanished meanwhile */
        if (S_ISDIR(lst.st_mode)) {
            if (depth >= SCHED_MAX_DEPTH) {
                snprintf(err, errlen, "%.900s: directories nested deeper than %d", full,
                         SCHED_MAX_DEPTH);
                goto done;
            }
            if (walk(root, relp, depth + 1, out, err, errlen) < 0)
                goto done;
            continue;
        }
        if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (out->n >= SCHED_MAX_FILES) {
            snprintf(err, errlen, "%s: more than %u files", root, SCHED_MAX_FILES);
            goto done;
        }
        char *s = strdup(relp);
        if (!s || list_push(out, s) < 0) {
            free(s);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    ret = 0;
done:
    if (d)
        closedir(d);
    list_free(&names);
    return ret;
}

/* SHA-256 of the file's bytes as lowercase hex. 0 / -1 with err. */
static int file_sha256(const char *path, char hex[65], char *err, size_t errlen)
{
    unsigned char buf[65536], md[32];
    unsigned int mdlen = 0;
    int ret = -1;
    FILE *f = fopen(path, "rb");
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!f || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "%s: %s", path, f ? "cannot hash" : strerror(errno));
        goto done;
    }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (EVP_DigestUpdate(ctx, buf, n) != 1)
            goto done;
    if (ferror(f) || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
        snprintf(err, errlen, "%s: read error", path);
        goto done;
    }
    sb_hex(md, 32, hex);
    ret = 0;
done:
    EVP_MD_CTX_free(ctx);
    if (f)
        fclose(f);
    return ret;
}

static int64_t ts_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* The indexed file at `path` whose stat identity (size, mtime, ctime, inode) equals f's: its
 * hash still holds. NULL if none. */
static const sched_file *index_same_file(const sched_index *x, const char *path,
                                         const sched_file *f)
{
    for (size_t j = 0; j < x->nfiles; j++) {
        const sched_file *o = &x->files[j];
        if (strcmp(o->path, path) == 0 && o->size == f->size && o->mtime_ns == f->mtime_ns &&
            o->ctime_ns == f->ctime_ns && o->ino == f->ino)
            return o;
    }
    return NULL;
}

/* Give f what the index knew of the same bytes (old): skip reason, probe, CID, rotation.
 * 0 / -1 out of memory. */
static int inherit(sched_file *f, const sched_file *old)
{
    if (old->skip && !(f->skip = strdup(old->skip)))
        return -1;
    f->duration_ms = old->duration_ms;
    memcpy(f->title, old->title, sizeof f->title);
    memcpy(f->artist, old->artist, sizeof f->artist);
    memcpy(f->cid, old->cid, sizeof f->cid);
    f->has_last = old->has_last;
    f->last_slot = old->last_slot;
    return 0;
}

int sched_index_scan(sched_index *x, const char *root, char *err, size_t errlen)
{
    path_list paths = { 0 };
    sched_file *nf = NULL;
    size_t n = 0;
    int ret = -1;
    if (walk(root, "", 0, &paths, err, errlen) < 0)
        goto done;
    if (paths.n && !(nf = calloc(paths.n, sizeof *nf))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < paths.n; i++) {
        char full[PATH_MAX], why[1024];
        struct stat st;
        if (snprintf(full, sizeof full, "%s/%s", root, paths.v[i]) >= (int)sizeof full ||
            stat(full, &st) < 0)
            continue;
        sched_file *f = &nf[n];
        memset(f, 0, sizeof *f);
        f->size = (uint64_t)st.st_size;
        f->mtime_ns = ts_ns(st.st_mtim);
        f->ctime_ns = ts_ns(st.st_ctim);
        f->ino = (uint64_t)st.st_ino;
        const sched_file *old = index_same_file(x, paths.v[i], f);
        if (old) {
            memcpy(f->sha256, old->sha256, sizeof f->sha256);
        } else if (file_sha256(full, f->sha256, why, sizeof why) < 0) {
            cli_warnf("%s: skipped (%s)", full, why);
            continue;
        }
        for (size_t j = 0; j < x->nfiles && !old; j++)
            if (strcmp(x->files[j].sha256, f->sha256) == 0)
                old = &x->files[j];
        if (!(f->path = strdup(paths.v[i]))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        n++;
        if (old) {
            if (inherit(f, old) < 0) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            continue;
        }
        cli_audio au;
        if (cli_audio_probe(full, &au, why, sizeof why) < 0) {
            /* cli_audio_probe names the path; keep only the reason */
            const char *r = strncmp(why, full, strlen(full)) == 0 ? why + strlen(full) : why;
            while (*r == ':' || *r == ' ')
                r++;
            if (!(f->skip = strdup(r))) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            continue;
        }
        f->duration_ms = au.duration_ms;
        memcpy(f->title, au.title, sizeof f->title);
        memcpy(f->artist, au.artist, sizeof f->artist);
    }
    for (size_t j = 0; j < x->nfiles; j++) {
        free(x->files[j].path);
        free(x->files[j].skip);
    }
    free(x->files);
    x->files = nf, x->nfiles = n;
    nf = NULL;
    ret = 0;
done:
    for (size_t j = 0; nf && j < n; j++) {
        free(nf[j].path);
        free(nf[j].skip);
    }
    free(nf);
    list_free(&paths);
    return ret;
}

/* ---- the index file ---- */

static int index_path(const cli_ctx *c, const char *ext, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/schedule/%s.%s", c->home, c->key, ext);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Load HOME/schedule/NAME.json; a missing file gives an empty index, a damaged one a warning
 * and an empty index (only rotation memory is lost: CIDs are recomputed). */
static int index_load(const cli_ctx *c, sched_index *x)
{
    char path[4200], err[512];
    char *text = NULL;
    size_t len;
    memset(x, 0, sizeof *x);
    if (index_path(c, "json", path, sizeof path) < 0)
        return -1;
    if (access(path, F_OK) == 0) {
        if (cli_read_file(path, SCHED_INDEX_MAX_BYTES, &text, &len, err, sizeof err) == 0) {
            json_t *root = json_loadb(text, len, 0, NULL);
            if (!root || sched_index_from_json(root, x, err, sizeof err) < 0)
                cli_warnf("%s: unreadable index (%s); starting a new one", path,
                          root ? err : "not JSON");
            json_decref(root);
        } else {
            cli_warnf("%s; starting a new index", err);
        }
    }
    free(text);
    if (!x->library)
        x->library = strdup("");
    if (!x->kubo_peer)
        x->kubo_peer = strdup("");
    return x->library && x->kubo_peer ? 0 : -1;
}

/* Write the index atomically (tmp + fsync + rename, cli_write_file). 0 / -1 (printed). */
static int index_save(const cli_ctx *c, const sched_index *x)
{
    char path[4200], err[512];
    json_t *j = sched_index_to_json(x);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    int ret = -1;
    if (!text) {
        cli_errf("out of memory");
    } else if (index_path(c, "json", path, sizeof path) < 0) {
        cli_errf("cannot save the schedule index: %s/schedule/%s.json: path too long", c->home,
                 c->key);
    } else if (cli_write_file(path, text, strlen(text), err, sizeof err) == 0) {
        ret = 0;
    } else { /* what was added stays in Kubo; the next run indexes those files again */
        cli_errf("cannot save the schedule index %s: %s (files added to Kubo stay there; the next "
                 "run indexes them again)",
                 path, err);
    }
    free(text);
    json_decref(j);
    return ret;
}

/* mkdir HOME and HOME/schedule (0700) and take HOME/schedule/NAME.lock (flock, blocking):
 * two runs for one key never interleave. Returns the fd (kept until exit) or -1. */
static int index_lock(const cli_ctx *c)
{
    char path[4200];
    if (snprintf(path, sizeof path, "%s", c->home) >= (int)sizeof path)
        return -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        goto fail;
    if (snprintf(path, sizeof path, "%s/schedule", c->home) >= (int)sizeof path)
        return -1;
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        goto fail;
    if (index_path(c, "lock", path, sizeof path) < 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(fd);
            goto fail;
        }
    }
    return fd;
fail:
    cli_errf("%s: %s", path, strerror(errno));
    return -1;
}

/* ---- the chain ---- */

/* /params into p (sb_params_from_json: the core's own parser). Exit status. */
static int chain_params(cli_ctx *c, const sb_rpcc *r, sb_params *p)
{
    sb_rpcc_result q;
    char err[512];
    int rc = cli_query_value(c, r, "/params", &q);
    if (rc)
        return rc;
    char *text = json_dumps(q.value, JSON_COMPACT);
    if (!text || sb_params_from_json(text, p, err, sizeof err) < 0) {
        cli_errf("/params: %s", text ? err : "out of memory");
        rc = CLI_EXIT_UNREACHABLE;
    }
    free(text);
    sb_rpcc_query_free(&q);
    return rc;
}

/* This curator's proposal in /slot/<s>: its id into id_hex, 1 found / 0 none; or -exit. */
static int chain_own_proposal(cli_ctx *c, const sb_rpcc *r, uint64_t s, const char *pubhex,
                              char id_hex[65])
{
    char path[64];
    sb_rpcc_result q;
    snprintf(path, sizeof path, "/slot/%" PRIu64, s);
    int rc = cli_query_value(c, r, path, &q);
    if (rc)
        return -rc;
    json_t *props = json_object_get(q.value, "proposals"), *p;
    size_t i;
    int found = 0;
    json_array_foreach(props, i, p)
    {
        const char *cur = json_string_value(json_object_get(p, "curator"));
        const char *id = json_string_value(json_object_get(p, "id"));
        if (cur && id && strcmp(cur, pubhex) == 0 && strlen(id) == 64) {
            memcpy(id_hex, id, 65);
            found = 1;
            break;
        }
    }
    sb_rpcc_query_free(&q);
    return found;
}

/* Remember a proposal found on chain (made by an earlier run whose index write was lost, or
 * by hand with this key): its CIDs from /proposal/<id> join the rotation. Exit status. */
static int learn_proposal(cli_ctx *c, const sb_rpcc *r, sched_index *x, uint64_t s,
                          const char *id_hex)
{
    char path[96];
    sb_rpcc_result q;
    snprintf(path, sizeof path, "/proposal/%s", id_hex);
    int rc = cli_query_value(c, r, path, &q);
    if (rc)
        return rc;
    json_t *tracks = json_object_get(q.value, "tracks"), *t;
    size_t n = json_array_size(tracks), i;
    char **cids = calloc(n ? n : 1, sizeof *cids);
    size_t k = 0;
    if (!cids)
        goto oom;
    json_array_foreach(tracks, i, t)
    {
        const char *cid = json_string_value(json_object_get(t, "cid"));
        if (cid)
            cids[k++] = (char *)cid; /* borrowed from q.value; put_prop copies */
    }
    if (sched_index_put_prop(x, s, id_hex, cids, k, NULL) < 0)
        goto oom;
    for (size_t f = 0; f < x->nfiles; f++)
        for (size_t j = 0; j < k; j++)
            if (!x->files[f].skip && strcmp(x->files[f].cid, cids[j]) == 0 &&
                (!x->files[f].has_last || x->files[f].last_slot < s))
                x->files[f].has_last = 1, x->files[f].last_slot = s;
    free(cids);
    sb_rpcc_query_free(&q);
    return CLI_EXIT_OK;
oom:
    free(cids);
    sb_rpcc_query_free(&q);
    cli_errf("out of memory");
    return CLI_EXIT_USAGE;
}

/* ---- one slot ---- */

static json_t *jslot(uint64_t s)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, s);
    return json_string(b);
}

static void note_rejected(sched_run *run, uint64_t s, int code, const char *log)
{
    json_array_append_new(run->rejected,
                          json_pack("{s:o, s:i, s:s, s:s}", "slot", jslot(s), "code", code,
                                    "code_name", sb_code_name(code), "log", log ? log : ""));
    fprintf(stderr, "sleetbubble: slot %" PRIu64 ": rejected: %s (code %d): %s\n", s,
            sb_code_name(code), code, log ? log : "");
}

/* CometBFT's JSON-RPC refusal of a tx already in its mempool cache. */
static int in_cache(const char *err) { return strstr(err, "already exists in cache") != NULL; }

/* One slot's plan: propose_slot's scratch, freed by plan_free. */
typedef struct sched_plan {
    uint8_t *forbidden;  /* per indexed file: in this curator's last k proposals */
    size_t *cand, *pick; /* cand: file indexes in rotation order; pick: indexes into cand */
    uint32_t *dur;       /* ms, per candidate */
    size_t ncand, npick;
    uint64_t total;  /* ms, the picked tracks */
    sb_track_in *tr; /* the picked tracks (borrowing the index's strings) */
    char **cids;     /* the picked tracks' CIDs (borrowed) */
    struct {
        int has;
        uint64_t slot;
    } * prev;       /* the picked files' rotation before this slot */
    sb_buf tx;      /* the signed proposal */
    char idhex[65]; /* its proposal id */
} sched_plan;

static void plan_free(sched_plan *pl)
{
    sb_buf_free(&pl->tx);
    free(pl->prev);
    free(pl->cids);
    free(pl->tr);
    free(pl->dur);
    free(pl->pick);
    free(pl->cand);
    free(pl->forbidden);
}

/* The candidates for slot s in rotation order (protocol.md §15 "Curator schedule"): files with
 * a CID that fit the slot (cap_ms) and are not in this curator's last k proposals, one per
 * distinct CID. Fills pl->cand, pl->ncand and pl->dur. */
static void plan_candidates(sched_index *x, uint64_t s, size_t k, uint64_t cap_ms, sched_plan *pl)
{
    sched_forbidden(x, s, k, pl->forbidden);
    for (size_t i = 0; i < x->nfiles; i++) {
        const sched_file *f = &x->files[i];
        if (f->skip || !f->cid[0] || f->duration_ms > cap_ms || pl->forbidden[i])
            continue;
        int dup = 0; /* the same bytes under two names are one track */
        for (size_t j = 0; j < pl->ncand && !dup; j++)
            dup = strcmp(x->files[pl->cand[j]].cid, f->cid) == 0;
        if (!dup)
            pl->cand[pl->ncand++] = i;
    }
    sched_rotation_sort(x, pl->cand, pl->ncand);
    for (size_t i = 0; i < pl->ncand; i++)
        pl->dur[i] = x->files[pl->cand[i]].duration_ms;
}

/* The picked tracks (pl->tr, pl->cids) and room for their previous rotation (pl->prev).
 * 0 / -1 out of memory. */
static int plan_tracks(const sched_index *x, sched_plan *pl)
{
    if (!(pl->tr = calloc(pl->npick, sizeof *pl->tr)) ||
        !(pl->cids = calloc(pl->npick, sizeof *pl->cids)) ||
        !(pl->prev = calloc(pl->npick, sizeof *pl->prev)))
        return -1;
    for (size_t i = 0; i < pl->npick; i++) {
        const sched_file *f = &x->files[pl->cand[pl->pick[i]]];
        pl->tr[i] = (sb_track_in){
            .cid = f->cid, .duration_ms = f->duration_ms, .title = f->title, .artist = f->artist
        };
        pl->cids[i] = (char *)f->cid;
    }
    return 0;
}

/* Sign the proposal for slot s into pl->tx and pl->idhex. The tx must fit max_tx_size: drop
 * tracks from the end until it does (one track always stays). 0 / -1 out of memory. */
static int plan_sign(const sb_params *p, uint64_t s, const uint8_t seed[32], sched_plan *pl)
{
    uint8_t id[32];
    for (;;) {
        sb_buf_reset(&pl->tx);
        if (sb_tx_build_proposal(p->chain_id, s, seed, pl->tr, pl->npick, "", &pl->tx, id) < 0)
            return -1;
        if (pl->tx.len <= p->max_tx_size || pl->npick == 1)
            break;
        pl->total -= pl->tr[--pl->npick].duration_ms;
    }
    sb_hex(id, 32, pl->idhex);
    return 0;
}

/* The summary entry of the planned proposal (NULL when out of memory). */
static json_t *plan_entry(const cli_ctx *c, uint64_t s, uint64_t cap_ms, const sched_plan *pl)
{
    json_t *entry =
        json_pack("{s:o, s:s, s:I, s:I, s:I, s:b}", "slot", jslot(s), "proposal_id", pl->idhex,
                  "tracks", (json_int_t)pl->npick, "duration_ms", (json_int_t)pl->total, "slot_ms",
                  (json_int_t)cap_ms, "dry_run", c->dry_run);
    json_t *tl = json_array();
    for (size_t i = 0; entry && tl && i < pl->npick; i++)
        json_array_append_new(tl, json_pack("{s:s, s:I, s:s}", "cid", pl->tr[i].cid, "duration_ms",
                                            (json_int_t)pl->tr[i].duration_ms, "title",
                                            pl->tr[i].title));
    json_object_set_new(entry, "playlist", tl ? tl : json_null());
    return entry;
}

/* Mark the picked files as played in slot s, remembering their previous rotation. */
static void plan_rotate(sched_index *x, uint64_t s, sched_plan *pl)
{
    for (size_t i = 0; i < pl->npick; i++) {
        sched_file *f = &x->files[pl->cand[pl->pick[i]]];
        pl->prev[i].has = f->has_last, pl->prev[i].slot = f->last_slot;
        f->has_last = 1, f->last_slot = s;
    }
}

/* Undo plan_rotate. */
static void plan_unrotate(sched_index *x, const sched_plan *pl)
{
    for (size_t i = 0; i < pl->npick; i++) {
        sched_file *f = &x->files[pl->cand[pl->pick[i]]];
        f->has_last = pl->prev[i].has, f->last_slot = pl->prev[i].slot;
    }
}

/* Journal, then broadcast the planned proposal for slot s; takes entry (its summary entry).
 * Journal first: the index records the signed tx before it is sent, so a crash after the
 * broadcast is found on chain next time, and one before it is resent with the same bytes.
 * Exit status of a fatal problem (printed), else 0 (the outcome is recorded in run). */
static int plan_send(cli_ctx *c, const sb_rpcc *r, sched_index *x, uint64_t s, sched_plan *pl,
                     json_t *entry, sched_run *run)
{
    char err[1024], *b64 = NULL;
    sb_rpcc_tx_result br;
    int rc = CLI_EXIT_USAGE;
    if (!(b64 = sb_b64_encode(pl->tx.data, pl->tx.len)) ||
        sched_index_put_prop(x, s, pl->idhex, pl->cids, pl->npick, b64) < 0) {
        cli_errf("out of memory");
        goto done;
    }
    plan_rotate(x, s, pl);
    if (index_save(c, x) < 0)
        goto done;
    rc = sb_rpcc_broadcast(r, pl->tx.data, pl->tx.len, &br, err, sizeof err);
    if (rc == CLI_EXIT_REJECTED && in_cache(err)) {
        rc = CLI_EXIT_OK, br.code = 0;
    } else if (rc) {
        cli_errf("%s", err); /* kept in the index: the next run resends the same bytes */
        goto done;
    }
    if (br.code) {
        note_rejected(run, s, br.code, br.log);
        sched_index_del_prop(x, s); /* nothing of it reached the chain: undo the rotation */
        plan_unrotate(x, pl);
        rc = index_save(c, x) < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
        goto done;
    }
    json_object_set_new(entry, "tx_hash", json_string(br.hash));
    json_array_append_new(run->proposed, entry);
    entry = NULL;
    rc = CLI_EXIT_OK;
done:
    json_decref(entry);
    free(b64);
    return rc;
}

/* Plan, sign, self-check and send the proposal for slot s. Exit status of a fatal problem
 * (unreachable), else 0 (the outcome is recorded in run). */
static int propose_slot(cli_ctx *c, const sb_rpcc *r, const sb_params *p, int64_t now_ns,
                        sched_index *x, uint64_t s, size_t k, const uint8_t seed[32],
                        sched_run *run)
{
    uint64_t cap_ms = p->slot_seconds * 1000;
    size_t nf = x->nfiles ? x->nfiles : 1;
    sched_plan pl = { .forbidden = calloc(nf, 1),
                      .cand = calloc(nf, sizeof *pl.cand),
                      .pick = calloc(nf, sizeof *pl.pick),
                      .dur = calloc(nf, sizeof *pl.dur) };
    char err[1024], log[512];
    int rc = CLI_EXIT_USAGE;
    sb_buf_init(&pl.tx, SB_MAX_TX_SIZE_LIMIT);
    if (!pl.forbidden || !pl.cand || !pl.pick || !pl.dur)
        goto oom;
    plan_candidates(x, s, k, cap_ms, &pl);
    pl.npick = sched_pack(pl.dur, pl.ncand, cap_ms, p->max_tracks, pl.pick, &pl.total);
    if (pl.npick == 0) {
        snprintf(err, sizeof err,
                 "no track to propose: %zu eligible of %zu indexed (the others are "
                 "in this curator's last %zu proposals, or do not fit the slot)",
                 pl.ncand, run->tracks, k);
        json_array_append_new(run->no_playlist,
                              json_pack("{s:o, s:s}", "slot", jslot(s), "reason", err));
        cli_warnf("slot %" PRIu64 ": %s", s, err);
        rc = CLI_EXIT_OK;
        goto done;
    }
    if (plan_tracks(x, &pl) < 0 || plan_sign(p, s, seed, &pl) < 0)
        goto oom;
    /* judge it with the core's rules at the last block's time, as CheckTx will */
    int code = sb_tx_check(p, NULL, pl.tx.data, pl.tx.len, now_ns, NULL, log, sizeof log);
    if (code < 0)
        goto oom;
    if (code != SB_OK) {
        note_rejected(run, s, code, log);
        rc = CLI_EXIT_OK;
        goto done;
    }
    json_t *entry = plan_entry(c, s, cap_ms, &pl);
    if (c->dry_run) {
        json_array_append_new(run->proposed, entry);
        rc = CLI_EXIT_OK;
        goto done;
    }
    rc = plan_send(c, r, x, s, &pl, entry, run);
    goto done;
oom:
    cli_errf("out of memory");
    rc = CLI_EXIT_USAGE;
done:
    plan_free(&pl);
    return rc;
}

/* Slot s: already proposed on chain, pending in our index (resend the same bytes), or new. */
static int do_slot(cli_ctx *c, const sb_rpcc *r, const sb_params *p, int64_t now_ns, sched_index *x,
                   uint64_t s, size_t k, const uint8_t seed[32], const char *pubhex, sched_run *run)
{
    char id_hex[65], err[1024];
    int f = chain_own_proposal(c, r, s, pubhex, id_hex);
    if (f < 0)
        return -f;
    sched_prop *mine = sched_index_prop(x, s);
    if (f == 1) {
        if (!mine || strcmp(mine->proposal_id, id_hex) != 0) {
            int rc = learn_proposal(c, r, x, s, id_hex);
            if (rc)
                return rc;
        } else {
            free(mine->tx_b64); /* committed: nothing to resend */
            mine->tx_b64 = NULL;
        }
        json_array_append_new(run->already, json_pack("{s:o, s:s, s:b}", "slot", jslot(s),
                                                      "proposal_id", id_hex, "pending", 0));
        return CLI_EXIT_OK;
    }
    if (mine && mine->tx_b64) {
        size_t len;
        uint8_t *tx = sb_b64_decode(mine->tx_b64, &len);
        sb_rpcc_tx_result br = { 0 };
        int rc = CLI_EXIT_OK;
        if (!tx) {
            sched_index_del_prop(x, s); /* damaged record: plan the slot afresh */
            return propose_slot(c, r, p, now_ns, x, s, k, seed, run);
        }
        if (!c->dry_run) {
            rc = sb_rpcc_broadcast(r, tx, len, &br, err, sizeof err);
            if (rc == CLI_EXIT_REJECTED && in_cache(err))
                rc = CLI_EXIT_OK, br.code = 0;
        }
        free(tx);
        if (rc) {
            cli_errf("%s", err);
            return rc;
        }
        if (br.code == SB_DUPLICATE || br.code == SB_OK) { /* in the mempool: wait for a block */
            json_array_append_new(run->already,
                                  json_pack("{s:o, s:s, s:b}", "slot", jslot(s), "proposal_id",
                                            mine->proposal_id, "pending", 1));
            return CLI_EXIT_OK;
        }
        note_rejected(run, s, br.code, br.log);
        sched_index_del_prop(x, s);
        return CLI_EXIT_OK;
    }
    if (mine)
        sched_index_del_prop(x, s); /* recorded without tx, but not on chain: stale */
    return propose_slot(c, r, p, now_ns, x, s, k, seed, run);
}

/* ---- the command ---- */

static int parse_count(const char *opt, const char *v, uint64_t def, uint64_t lo, uint64_t hi,
                       uint64_t *out)
{
    if (!v) {
        *out = def;
        return 0;
    }
    if (cli_parse_u64(v, out) < 0 || *out < lo || *out > hi) {
        cli_errf("--%s: \"%s\" is not a number in [%" PRIu64 ", %" PRIu64 "]", opt, v, lo, hi);
        return -1;
    }
    return 0;
}

static void print_summary(const cli_ctx *c, sched_run *run, const char *pubhex, uint64_t first,
                          size_t nslots)
{
    size_t np = json_array_size(run->proposed), na = json_array_size(run->already),
           nr = json_array_size(run->rejected), nn = json_array_size(run->no_playlist),
           ns = json_array_size(run->skipped);
    if (c->json) {
        json_t *o =
            json_pack("{s:s, s:b, s:o, s:I, s:O, s:O, s:O, s:O, s:O, s:{s:I, s:I, s:I}}", "curator",
                      pubhex, "dry_run", c->dry_run, "first_slot", jslot(first), "slots",
                      (json_int_t)nslots, "proposed", run->proposed, "already", run->already,
                      "rejected", run->rejected, "no_playlist", run->no_playlist, "skipped",
                      run->skipped, "library", "files", (json_int_t)run->files, "tracks",
                      (json_int_t)run->tracks, "added", (json_int_t)run->added);
        cli_print_json(c, o);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(run->proposed, i, e)
    {
        printf("%s slot %s: %s (%" JSON_INTEGER_FORMAT " tracks, %" JSON_INTEGER_FORMAT
               " of %" JSON_INTEGER_FORMAT " ms)\n",
               c->dry_run ? "would propose" : "proposed",
               json_string_value(json_object_get(e, "slot")),
               json_string_value(json_object_get(e, "proposal_id")),
               json_integer_value(json_object_get(e, "tracks")),
               json_integer_value(json_object_get(e, "duration_ms")),
               json_integer_value(json_object_get(e, "slot_ms")));
    }
    json_array_foreach(run->already, i, e)
    {
        printf("already proposed slot %s: %s%s\n", json_string_value(json_object_get(e, "slot")),
               json_string_value(json_object_get(e, "proposal_id")),
               json_is_true(json_object_get(e, "pending")) ? " (in the mempool, not in a block yet)"
                                                           : "");
    }
    json_array_foreach(run->rejected, i, e)
    {
        printf("rejected slot %s: %s (code %" JSON_INTEGER_FORMAT "): %s\n",
               json_string_value(json_object_get(e, "slot")),
               json_string_value(json_object_get(e, "code_name")),
               json_integer_value(json_object_get(e, "code")),
               json_string_value(json_object_get(e, "log")));
    }
    json_array_foreach(run->no_playlist, i, e)
    {
        printf("no playlist for slot %s: %s\n", json_string_value(json_object_get(e, "slot")),
               json_string_value(json_object_get(e, "reason")));
    }
    json_array_foreach(run->skipped, i, e)
    {
        printf("skipped %s: %s\n", json_string_value(json_object_get(e, "file")),
               json_string_value(json_object_get(e, "reason")));
    }
    printf("summary: slots %" PRIu64 "..%" PRIu64 ": %s %zu, already %zu, rejected %zu, "
           "no playlist %zu; library: %zu files, %zu tracks, %zu added to Kubo, %zu skipped\n",
           first, first + (nslots ? nslots - 1 : 0), c->dry_run ? "would propose" : "proposed", np,
           na, nr, nn, run->files, run->tracks, run->added, ns);
}

/* The command line of `schedule`: --slots into *nslots, --no-repeat-slots into *k, the
 * library's real path into lib (PATH_MAX). 0 / -1 (printed). */
static int sched_args(const cli_ctx *c, uint64_t *nslots, uint64_t *k, char *lib)
{
    if (c->nargs || !c->library || !c->key) {
        cli_errf("usage: sleetbubble schedule --library DIR --key NAME [--slots N] "
                 "[--no-repeat-slots K] [--dry-run]%s%s",
                 !c->library ? " (missing --library)" : "", !c->key ? " (missing --key)" : "");
        return -1;
    }
    if (parse_count("slots", c->sched_slots, SCHED_DEFAULT_SLOTS, 1, SCHED_MAX_SLOTS, nslots) < 0 ||
        parse_count("no-repeat-slots", c->no_repeat, SCHED_DEFAULT_NO_REPEAT, 0,
                    SCHED_MAX_NO_REPEAT, k) < 0)
        return -1;
    if (!realpath(c->library, lib)) {
        cli_errf("--library %s: %s", c->library, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(lib, &st) < 0 || !S_ISDIR(st.st_mode)) {
        cli_errf("--library %s: not a directory", c->library);
        return -1;
    }
    return 0;
}

/* Another Kubo node (its CIDs may be elsewhere) or library than the index knew: record them
 * and forget every CID so everything is added again. 0 / -1 out of memory (printed). */
static int index_follow(sched_index *x, const char *peer, const char *lib)
{
    if (strcmp(x->kubo_peer, peer) == 0 && strcmp(x->library, lib) == 0)
        return 0;
    free(x->kubo_peer);
    free(x->library);
    x->kubo_peer = strdup(peer);
    x->library = strdup(lib);
    if (!x->kubo_peer || !x->library) {
        cli_errf("out of memory");
        return -1;
    }
    for (size_t i = 0; i < x->nfiles; i++)
        x->files[i].cid[0] = '\0';
    return 0;
}

/* Add to Kubo every playable indexed file without a CID (library root lib, slot length cap_ms);
 * unplayable or too long files are warned about and listed in run->skipped. *rc gets the
 * status of each add. 0 / -1 when an add failed (printed; what was added so far is saved
 * unless dry run). */
static int library_add(const cli_ctx *c, sched_index *x, const char *lib, uint64_t cap_ms,
                       sched_run *run, int *rc)
{
    char err[1024];
    for (size_t i = 0; i < x->nfiles; i++) {
        sched_file *f = &x->files[i];
        char full[PATH_MAX * 2], why[160];
        snprintf(full, sizeof full, "%s/%s", lib, f->path);
        if (f->skip || f->duration_ms > cap_ms) {
            if (f->skip)
                snprintf(why, sizeof why, "%s", f->skip);
            else
                snprintf(why, sizeof why, "%" PRIu32 " ms, longer than the slot (%" PRIu64 " ms)",
                         f->duration_ms, cap_ms);
            cli_warnf("%s: skipped: %s", full, why);
            json_array_append_new(run->skipped,
                                  json_pack("{s:s, s:s}", "file", full, "reason", why));
            continue;
        }
        run->tracks++;
        if (f->cid[0])
            continue;
        *rc = sb_kuboc_add_ex(c->ipfs, full, c->dry_run, SCHED_ADD_TIMEOUT_S, f->cid, err,
                              sizeof err);
        if (*rc) {
            cli_errf("%s", err);
            f->cid[0] = '\0';
            if (!c->dry_run)
                index_save(c, x); /* keep what was added so far */
            return -1;
        }
        run->added++;
    }
    return 0;
}

/* The run's result lists (print_summary). 0, or -1 out of memory (printed). */
static int run_init(sched_run *run)
{
    if (!(run->proposed = json_array()) || !(run->already = json_array()) ||
        !(run->rejected = json_array()) || !(run->no_playlist = json_array()) ||
        !(run->skipped = json_array())) {
        cli_errf("out of memory");
        return -1;
    }
    return 0;
}

static void run_free(sched_run *run)
{
    json_decref(run->proposed);
    json_decref(run->already);
    json_decref(run->rejected);
    json_decref(run->no_playlist);
    json_decref(run->skipped);
}

/* The library (protocol.md §15): follow this Kubo node's peer id, index LIB, add to Kubo what it
 * does not have yet (tracks up to cap_ms), save the index. 0, or an exit status (printed). */
static int sync_library(cli_ctx *c, sched_index *x, const char *lib, uint64_t cap_ms,
                        sched_run *run)
{
    char err[1024], peer[256];
    int rc;
    if ((rc = sb_kuboc_id(c->ipfs, c->timeout_s, peer, sizeof peer, err, sizeof err))) {
        cli_errf("%s", err);
        return rc;
    }
    if (index_follow(x, peer, lib) < 0)
        return CLI_EXIT_USAGE;
    if (sched_index_scan(x, lib, err, sizeof err) < 0) {
        cli_errf("%s", err);
        return CLI_EXIT_USAGE;
    }
    run->files = x->nfiles;
    if (library_add(c, x, lib, cap_ms, run, &rc) < 0)
        return rc;
    /* library_add left the last add's status (0): a failed save is an error */
    if (!c->dry_run && index_save(c, x) < 0)
        return CLI_EXIT_USAGE;
    return 0;
}

int cli_cmd_schedule(cli_ctx *c)
{
    char err[1024], pubhex[65], lib[PATH_MAX];
    uint8_t seed[32], pub[32];
    sb_params p = { 0 };
    sched_index x = { 0 };
    sched_run run = { 0 };
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    cli_slot_now now;
    uint64_t nslots, k, first = 0;
    size_t done_slots = 0;
    int have_seed = 0, lock_fd = -1, rc = CLI_EXIT_USAGE;

    if (sched_args(c, &nslots, &k, lib) < 0)
        goto done;
    if (cli_keys_load(c->home, c->key, seed, pub, err, sizeof err) < 0) {
        cli_errf("%s", err);
        goto done;
    }
    have_seed = 1;
    sb_hex(pub, 32, pubhex);
    if (run_init(&run) < 0)
        goto done;
    if ((lock_fd = index_lock(c)) < 0 || index_load(c, &x) < 0)
        goto done;

    /* the chain: parameters (the core's parser) and the last block's time */
    if ((rc = chain_params(c, &r, &p)) || (rc = cli_slot_now_get(c, &r, &now)))
        goto done;
    rc = CLI_EXIT_USAGE;
    uint64_t cap_ms = p.slot_seconds * 1000;

    if ((rc = sync_library(c, &x, lib, cap_ms, &run)))
        goto done;

    /* the next N open slots within the horizon (protocol.md §3, the core's slot functions) */
    int64_t t = now.block_time_ns;
    first = sb_slot_current(&p, t);
    while (!sb_slot_is_open(&p, first, t) && first < UINT64_MAX)
        first++; /* at most twice */
    rc = CLI_EXIT_OK;
    for (uint64_t s = first; done_slots < nslots && sb_slot_within_horizon(&p, s, t); s++) {
        rc = do_slot(c, &r, &p, t, &x, s, (size_t)k, seed, pubhex, &run);
        done_slots++;
        if (rc)
            break;
    }
    if (done_slots < nslots && !rc)
        cli_warnf("only %zu slot%s within the horizon (%" PRIu64 " slots)", done_slots,
                  done_slots == 1 ? "" : "s", p.horizon_slots);
    sched_index_trim(&x, first, (size_t)k);
    if (!c->dry_run && index_save(c, &x) < 0 && !rc)
        rc = CLI_EXIT_USAGE;
    print_summary(c, &run, pubhex, first, done_slots);
    if (!rc && json_array_size(run.rejected))
        rc = CLI_EXIT_REJECTED;
done:
    if (have_seed)
        OPENSSL_cleanse(seed, sizeof seed);
    if (lock_fd >= 0)
        close(lock_fd);
    run_free(&run);
    sched_index_free(&x);
    sb_params_free(&p);
    return rc;
}
