/* kvstore.c - example ABCI application on the public abci.h alone (protocol.md §2).
 *
 *   abci-kvstore --addr tcp://127.0.0.1:26658 --db /path/state.file [--workers N]
 *
 * --workers N (N > 0) shows the library's parallel parts: the stateless half of CheckTx (is
 * the tx well formed?) runs as check_tx_stage on N worker threads, and FinalizeBlock's
 * per-tx work (parse, result, event) as abci_parallel_map; state changes stay on the loop
 * thread in block order. Default 0: no threads. (Parsing key=value costs less than handing
 * it to a thread; the parallel parts pay off for real work such as signature checks.)
 *
 * Transactions are `key=value` (key non-empty, no '=' in the key; the value may be empty).
 * CheckTx rejects anything else with code 1; FinalizeBlock gives such a tx code 1 and applies
 * the others in block order. Query: data = key, answers value with code 0, or code 1 if absent.
 *
 * App hash = SHA-256 over the sorted state: for each pair in key order,
 * u32be(len key) || key || u32be(len value) || value. Deterministic by construction.
 *
 * Crash contract: FinalizeBlock works on a copy of the committed state; Commit makes it the
 * committed state and writes it to --db (temp file, fsync, rename, fsync dir). Info reports
 * the height and app hash of the last Commit, so after kill -9 anywhere CometBFT's handshake
 * replays the missing blocks and reaches the same hash.
 *
 * File format: "ABCIKV01" | u64be height | 32-byte app hash | u32be count |
 * count * (u32be klen | key | u32be vlen | value) | SHA-256 of everything before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "abci/abci.h"

#define KV_MAGIC "ABCIKV01"
#define KV_MAX_FILE_BYTES ((size_t)1 << 30)

typedef struct {
    uint8_t *k, *v; /* owned */
    size_t kl, vl;
} kv_pair;

typedef struct {
    kv_pair *a;
    size_t n, cap;
} kv_map;

typedef struct {
    const char *db_path;
    kv_map committed;     /* state as of the last Commit */
    int64_t height;       /* last committed height */
    uint8_t app_hash[32]; /* app hash of `committed` */
    int have_working;     /* FinalizeBlock ran since the last Commit */
    kv_map working;       /* committed + the last finalized block */
    int64_t working_height;
    uint8_t working_hash[32];
    size_t workers; /* --workers: 0 = no pool (every callback on the loop) */
} kv_app;

/* ---- sorted map --------------------------------------------------------------------------- */

static int kv_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* index of key, or of the insertion point with *found = 0 */
static size_t kv_search(const kv_map *m, const uint8_t *k, size_t kl, int *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = kv_cmp(m->a[mid].k, m->a[mid].kl, k, kl);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

static int kv_set(kv_map *m, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    int found;
    size_t i = kv_search(m, k, kl, &found);
    uint8_t *nv = dup_bytes(v, vl);
    if (!nv)
        return -ENOMEM;
    if (found) {
        free(m->a[i].v);
        m->a[i].v = nv;
        m->a[i].vl = vl;
        return 0;
    }
    uint8_t *nk = dup_bytes(k, kl);
    if (!nk)
        goto oom;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        kv_pair *a = realloc(m->a, cap * sizeof(*a));
        if (!a)
            goto oom;
        m->a = a;
        m->cap = cap;
    }
    memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof(*m->a));
    m->a[i] = (kv_pair){ .k = nk, .kl = kl, .v = nv, .vl = vl };
    m->n++;
    return 0;
oom:
    free(nv);
    free(nk);
    return -ENOMEM;
}

static void kv_free(kv_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->a[i].k);
        free(m->a[i].v);
    }
    free(m->a);
    *m = (kv_map){ 0 };
}

static int kv_clone(kv_map *dst, const kv_map *src)
{
    *dst = (kv_map){ 0 };
    if (src->n == 0)
        return 0;
    dst->a = calloc(src->n, sizeof(*dst->a));
    if (!dst->a)
        return -ENOMEM;
    dst->cap = src->n;
    for (size_t i = 0; i < src->n; i++) {
        dst->a[i].k = dup_bytes(src->a[i].k, src->a[i].kl);
        dst->a[i].v = dup_bytes(src->a[i].v, src->a[i].vl);
        dst->a[i].kl = src->a[i].kl;
        dst->a[i].vl = src->a[i].vl;
        dst->n = i + 1;
        if (!dst->a[i].k || !dst->a[i].v) {
            kv_free(dst);
            return -ENOMEM;
        }
    }
    return 0;
}

static void put_u32(uint8_t b[4], uint32_t x)
{
    b[0] = (uint8_t)(x >> 24);
    b[1] = (uint8_t)(x >> 16);
    b[2] = (uint8_t)(x >> 8);
    b[3] = (uint8_t)x;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL))
        abort(); /* libcrypto cannot hash: no safe way to go on */
}

/* Returns 0, or -ENOMEM if libcrypto cannot allocate a digest context. */
static int kv_hash(const kv_map *m, uint8_t out[32])
{
    EVP_MD_CTX *sh = EVP_MD_CTX_new();
    uint8_t b[4];
    int ok = sh && EVP_DigestInit_ex(sh, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < m->n; i++) {
        put_u32(b, (uint32_t)m->a[i].kl);
        ok = EVP_DigestUpdate(sh, b, 4) && EVP_DigestUpdate(sh, m->a[i].k, m->a[i].kl);
        put_u32(b, (uint32_t)m->a[i].vl);
        ok = ok && EVP_DigestUpdate(sh, b, 4) && EVP_DigestUpdate(sh, m->a[i].v, m->a[i].vl);
    }
    unsigned int len = 32;
    ok = ok && EVP_DigestFinal_ex(sh, out, &len);
    EVP_MD_CTX_free(sh);
    return ok ? 0 : -ENOMEM;
}

/* ---- transactions ------------------------------------------------------------------------- */

/* Split `key=value`. Returns 0, or -1 if malformed (no '=', or empty key). */
static int parse_tx(const ProtobufCBinaryData *tx, size_t *klen)
{
    const uint8_t *eq = tx->len ? memchr(tx->data, '=', tx->len) : NULL;
    if (!eq || eq == tx->data)
        return -1;
    *klen = (size_t)(eq - tx->data);
    return 0;
}

/* ---- persistence -------------------------------------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len, cap;
} wbuf;

static int wb_put(wbuf *w, const void *p, size_t n)
{
    if (w->cap - w->len < n) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < n)
            cap *= 2;
        uint8_t *q = realloc(w->p, cap);
        if (!q)
            return -ENOMEM;
        w->p = q;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int save_state(const kv_app *app)
{
    wbuf w = { 0 };
    uint8_t b[8], sum[32];
    char tmp[4096], dir[4096];
    int fd = -1, rc = 0;

    rc |= wb_put(&w, KV_MAGIC, 8);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)app->height >> (56 - 8 * i));
    rc |= wb_put(&w, b, 8);
    rc |= wb_put(&w, app->app_hash, 32);
    put_u32(b, (uint32_t)app->committed.n);
    rc |= wb_put(&w, b, 4);
    for (size_t i = 0; i < app->committed.n; i++) {
        const kv_pair *p = &app->committed.a[i];
        put_u32(b, (uint32_t)p->kl);
        rc |= wb_put(&w, b, 4);
        rc |= wb_put(&w, p->k, p->kl);
        put_u32(b, (uint32_t)p->vl);
        rc |= wb_put(&w, b, 4);
        rc |= wb_put(&w, p->v, p->vl);
    }
    if (rc)
        goto done;
    sha256(w.p, w.len, sum);
    if ((rc = wb_put(&w, sum, 32)))
        goto done;

    int n = snprintf(tmp, sizeof tmp, "%s.tmp", app->db_path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        rc = -ENAMETOOLONG;
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto done;
    }
    if ((rc = write_all(fd, w.p, w.len)))
        goto done;
    if (fsync(fd) != 0) {
        rc = -errno;
        goto done;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, app->db_path) != 0) {
        rc = -errno;
        goto done;
    }
    /* make the rename durable */
    snprintf(dir, sizeof dir, "%s", app->db_path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
done:
    if (fd >= 0)
        close(fd);
    free(w.p);
    return rc;
}

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
} rd;

static int rd_take(rd *r, size_t n, const uint8_t **p)
{
    if (r->len - r->pos < n)
        return -1;
    *p = r->buf + r->pos;
    r->pos += n;
    return 0;
}

static int rd_u32(rd *r, uint32_t *x)
{
    const uint8_t *p;
    if (rd_take(r, 4, &p))
        return -1;
    *x = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return 0;
}

/* Read all of the open file FD (PATH for messages) into a malloc'd *BUF of *LEN bytes, size
 * checked against the file format's bounds. Returns 0, or -1 with a message. */
static int read_state_file(int fd, const char *path, uint8_t **buf, size_t *len, char *err,
                           size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 8 + 8 + 32 + 4 + 32 ||
        (size_t)st.st_size > KV_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: size %lld not in [84, %zu]", path, (long long)st.st_size,
                 KV_MAX_FILE_BYTES);
        return -1;
    }
    *len = (size_t)st.st_size;
    *buf = malloc(*len);
    if (!*buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t got = 0; got < *len;) {
        ssize_t r = read(fd, *buf + got, *len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "read %s: %s", path, r ? strerror(errno) : "short");
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Decode a checksummed state file of LEN bytes into APP (height, app hash, committed map)
 * and check the app hash against the entries. Returns 0, or -1 with a message. */
static int parse_state(kv_app *app, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
    uint8_t sum[32];
    sha256(buf, len - 32, sum);
    if (memcmp(sum, buf + len - 32, 32) != 0 || memcmp(buf, KV_MAGIC, 8) != 0) {
        snprintf(err, errlen, "%s: bad magic or checksum", app->db_path);
        return -1;
    }
    rd r = { buf, len - 32, 8 };
    const uint8_t *p;
    uint32_t count;
    rd_take(&r, 8, &p);
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | p[i];
    rd_take(&r, 32, &p);
    memcpy(app->app_hash, p, 32);
    app->height = (int64_t)h;
    if (rd_u32(&r, &count))
        goto corrupt;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t kl, vl;
        const uint8_t *k, *v;
        if (rd_u32(&r, &kl) || rd_take(&r, kl, &k) || rd_u32(&r, &vl) || rd_take(&r, vl, &v))
            goto corrupt;
        if (kv_set(&app->committed, k, kl, v, vl)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (r.pos != r.len)
        goto corrupt;
    uint8_t check[32];
    if (kv_hash(&app->committed, check)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (memcmp(check, app->app_hash, 32) != 0) {
        snprintf(err, errlen, "%s: stored app hash does not match the stored state", app->db_path);
        return -1;
    }
    return 0;
corrupt:
    snprintf(err, errlen, "%s: truncated or malformed entries", app->db_path);
    return -1;
}

/* Load --db if present. Returns 0 (missing file = fresh state) or -1 with a message. */
static int load_state(kv_app *app, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int fd = open(app->db_path, O_RDONLY | O_CLOEXEC), rc = -1;
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "open %s: %s", app->db_path, strerror(errno));
        return -1;
    }
    if (read_state_file(fd, app->db_path, &buf, &len, err, errlen) == 0)
        rc = parse_state(app, buf, len, err, errlen);
    if (rc != 0)
        kv_free(&app->committed);
    free(buf);
    close(fd);
    return rc;
}

/* ---- ABCI callbacks ----------------------------------------------------------------------- */

static int on_info(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestInfo *req,
                   Tendermint__Abci__ResponseInfo *res)
{
    kv_app *app = arg;
    res->data = (char *)"abci-kvstore";
    res->version = (char *)"1.0.0";
    res->app_version = 1;
    res->last_block_height = app->height;
    if (app->height > 0) {
        res->last_block_app_hash.data = app->app_hash;
        res->last_block_app_hash.len = 32;
    }
    return 0;
}

static int on_init_chain(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestInitChain *req,
                         Tendermint__Abci__ResponseInitChain *res)
{
    /* genesis state is empty: app hash stays empty, validators come from genesis.json */
    return 0;
}

static int on_check_tx(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                       Tendermint__Abci__ResponseCheckTx *res)
{
    /* with --workers the stage has looked at the tx already (stage_check_tx) */
    const int *staged = abci_ctx_stage_result(ctx);
    size_t kl;
    if (staged ? *staged : parse_tx(&req->tx, &kl) != 0) {
        res->code = 1;
        res->log = (char *)"malformed tx: want key=value with a non-empty key";
    }
    return 0;
}

static int on_query(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestQuery *req,
                    Tendermint__Abci__ResponseQuery *res)
{
    kv_app *app = arg;
    int found;
    size_t i = kv_search(&app->committed, req->data.data, req->data.len, &found);
    res->key = req->data; /* borrowed: the request outlives the packing */
    res->height = app->height;
    if (!found) {
        res->code = 1;
        res->log = (char *)"does not exist";
        return 0;
    }
    res->value.data = app->committed.a[i].v;
    res->value.len = app->committed.a[i].vl;
    res->log = (char *)"exists";
    return 0;
}

/* ---- parallel parts (used with --workers N; abci.h "Threads") ------------------------------ */

/* CheckTx stage, on a worker: the stateless check (the tx's shape). Its verdict goes to
 * on_check_tx through the request's arena. A real app would verify signatures here. */
static int stage_check_tx(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                          void **result)
{
    int *malformed = abci_ctx_alloc(ctx, sizeof *malformed);
    if (!malformed)
        return -ENOMEM;
    size_t kl;
    *malformed = parse_tx(&req->tx, &kl) != 0;
    *result = malformed;
    return 0;
}

/* FinalizeBlock's per-tx work that needs no state: parse, result, event. Everything it
 * writes is slot i of arrays allocated before the map (the arena is not thread-safe). */
typedef struct {
    const Tendermint__Abci__RequestFinalizeBlock *req;
    Tendermint__Abci__ExecTxResult *r;
    Tendermint__Abci__Event *ev;
    Tendermint__Abci__Event **evv;
    Tendermint__Abci__EventAttribute *at;
    Tendermint__Abci__EventAttribute **atv;
    char *text; /* key and value copies, NUL-terminated, tx i's at off[i] */
    const size_t *off;
    size_t *klen; /* SIZE_MAX = malformed */
} fb_work;

static int fb_tx(void *arg, size_t i)
{
    fb_work *w = arg;
    const ProtobufCBinaryData *tx = &w->req->txs[i];
    Tendermint__Abci__ExecTxResult *r = &w->r[i];
    size_t kl;
    tendermint__abci__exec_tx_result__init(r);
    if (parse_tx(tx, &kl)) {
        r->code = 1;
        r->log = (char *)"malformed tx: want key=value with a non-empty key";
        w->klen[i] = SIZE_MAX;
        return 0;
    }
    w->klen[i] = kl;
    size_t vl = tx->len - kl - 1;
    char *k = w->text + w->off[i], *v = k + kl + 1;
    memcpy(k, tx->data, kl);
    k[kl] = '\0';
    memcpy(v, tx->data + kl + 1, vl);
    v[vl] = '\0';
    /* event kv{key, value} so `tx_search "kv.key='k'"` works */
    Tendermint__Abci__EventAttribute *at = &w->at[2 * i];
    tendermint__abci__event__init(&w->ev[i]);
    tendermint__abci__event_attribute__init(&at[0]);
    tendermint__abci__event_attribute__init(&at[1]);
    at[0].key = (char *)"key";
    at[0].value = k;
    at[0].index = 1;
    at[1].key = (char *)"value";
    at[1].value = v;
    w->atv[2 * i] = &at[0];
    w->atv[2 * i + 1] = &at[1];
    w->ev[i].type = (char *)"kv";
    w->ev[i].n_attributes = 2;
    w->ev[i].attributes = &w->atv[2 * i];
    w->evv[i] = &w->ev[i];
    r->n_events = 1;
    r->events = &w->evv[i];
    return 0;
}

/* ---- ABCI callbacks (continued) ----------------------------------------------------------- */

static int on_finalize_block(void *arg, abci_ctx *ctx,
                             const Tendermint__Abci__RequestFinalizeBlock *req,
                             Tendermint__Abci__ResponseFinalizeBlock *res)
{
    kv_app *app = arg;
    size_t n = req->n_txs;
    if (app->have_working)
        kv_free(&app->working); /* a re-run of an uncommitted block starts from committed */
    app->have_working = 0;
    if (kv_clone(&app->working, &app->committed))
        return -ENOMEM;

    /* everything the per-tx work writes, allocated here on the loop thread */
    fb_work w = { .req = req };
    size_t *off = abci_ctx_alloc(ctx, n * sizeof(*off)), text = 0;
    for (size_t i = 0; off && i < n; i++) {
        off[i] = text;
        text += req->txs[i].len + 2; /* key NUL value NUL (the '=' makes room for one) */
    }
    w.off = off;
    w.text = abci_ctx_alloc(ctx, text);
    w.klen = abci_ctx_alloc(ctx, n * sizeof(*w.klen));
    w.r = abci_ctx_alloc(ctx, n * sizeof(*w.r));
    w.ev = abci_ctx_alloc(ctx, n * sizeof(*w.ev));
    w.evv = abci_ctx_alloc(ctx, n * sizeof(*w.evv));
    w.at = abci_ctx_alloc(ctx, 2 * n * sizeof(*w.at));
    w.atv = abci_ctx_alloc(ctx, 2 * n * sizeof(*w.atv));
    Tendermint__Abci__ExecTxResult **rv = abci_ctx_alloc(ctx, n * sizeof(*rv));
    if (!off || !w.text || !w.klen || !w.r || !w.ev || !w.evv || !w.at || !w.atv || !rv)
        return -ENOMEM;
    /* stateless per-tx work: on the worker pool with --workers, else a plain loop (the
     * same results either way: each call writes only its own slot) */
    int rc = app->workers ? abci_parallel_map(ctx, n, fb_tx, &w) : 0;
    for (size_t i = 0; !app->workers && i < n; i++)
        rc = rc ? rc : fb_tx(&w, i);
    if (rc)
        return rc;
    /* state changes in block order, on this thread */
    for (size_t i = 0; i < n; i++) {
        const ProtobufCBinaryData *tx = &req->txs[i];
        size_t kl = w.klen[i];
        rv[i] = &w.r[i];
        if (kl != SIZE_MAX &&
            kv_set(&app->working, tx->data, kl, tx->data + kl + 1, tx->len - kl - 1))
            return -ENOMEM;
    }
    if (kv_hash(&app->working, app->working_hash))
        return -ENOMEM;
    app->working_height = req->height;
    app->have_working = 1;
    res->n_tx_results = n;
    res->tx_results = rv;
    res->app_hash.data = app->working_hash;
    res->app_hash.len = 32;
    return 0;
}

static int on_commit(void *arg, abci_ctx *ctx, const Tendermint__Abci__RequestCommit *req,
                     Tendermint__Abci__ResponseCommit *res)
{
    kv_app *app = arg;
    if (!app->have_working)
        return 0; /* nothing finalized since the last Commit */
    kv_map old = app->committed;
    app->committed = app->working;
    app->working = (kv_map){ 0 };
    app->have_working = 0;
    app->height = app->working_height;
    memcpy(app->app_hash, app->working_hash, 32);
    kv_free(&old);
    int rc = save_state(app);
    if (rc) {
        fprintf(stderr, "level=error module=kvstore msg=\"save %s: %s\"\n", app->db_path,
                strerror(-rc));
        return rc; /* closes the connection: CometBFT halts rather than diverge */
    }
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopexit(arg, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: abci-kvstore [--addr tcp://127.0.0.1:26658|unix:///path.sock] "
               "--db /path/state.file [--workers N]\n");
}

int main(int argc, char **argv)
{
    const char *addr = "tcp://127.0.0.1:26658";
    kv_app app = { 0 };
    static const struct option opts[] = {
        { "addr", required_argument, NULL, 'a' },
        { "db", required_argument, NULL, 'd' },
        { "workers", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "a:d:w:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (o) {
        case 'a': addr = optarg; break;
        case 'd': app.db_path = optarg; break;
        case 'w':
            errno = 0;
            app.workers = strtoul(optarg, &end, 10);
            if (errno || !end || *end || optarg[0] == '-' || app.workers > 1024) {
                fprintf(stderr, "abci-kvstore: --workers %s: want 0 ... 1024\n", optarg);
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!app.db_path || optind != argc) {
        usage(stderr);
        return 2;
    }
    char err[512];
    if (load_state(&app, err, sizeof err)) {
        fprintf(stderr, "level=error module=kvstore msg=\"%s\"\n", err);
        return 1;
    }
    fprintf(stderr, "level=info module=kvstore msg=\"loaded height %" PRId64 " with %zu keys\"\n",
            app.height, app.committed.n);

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    const abci_app_t cbs = {
        .info = on_info,
        .init_chain = on_init_chain,
        .query = on_query,
        .check_tx = on_check_tx,
        .finalize_block = on_finalize_block,
        .commit = on_commit,
        .check_tx_stage = app.workers ? stage_check_tx : NULL,
    };
    const abci_server_opts sopts = { .workers = app.workers };
    abci_server *srv = base ? abci_server_new(base, &cbs, &app, &sopts) : NULL;
    if (!srv) {
        fprintf(stderr, "level=error module=kvstore msg=\"out of memory\"\n");
        return 1;
    }
    if (abci_server_listen(srv, addr, err, sizeof err)) {
        fprintf(stderr, "level=error module=kvstore msg=\"%s\"\n", err);
        abci_server_free(srv);
        event_base_free(base);
        return 1;
    }
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    if (sigint)
        event_add(sigint, NULL);
    if (sigterm)
        event_add(sigterm, NULL);
    event_base_dispatch(base);

    abci_server_free(srv);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    event_base_free(base);
    kv_free(&app.committed);
    kv_free(&app.working);
    return 0;
}
