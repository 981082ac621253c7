/* year-bench.c - a simulated year of sleetbubbled (STYLE "measure the node at its age"): is every cost flat
 * in the node's age?
 *
 *   year-bench --kubo URL --cids FILE [--slots N] [--keep-slots K] [--home DIR]
 *   year-bench --make-tracks DIR [--pool N]
 *
 * The real ABCI callbacks (sb_app_abci(): InitChain, CheckTx, FinalizeBlock, Commit - the
 * functions the ABCI server calls) over a real SQLite store in a temp home
 * (<home>/data/sleetbubble.db), in process, no CometBFT; the real pin worker (sb_pin_start,
 * <home>/data/pins.db) against the Kubo at URL. Every slot (30 minutes, default 17,520 = a
 * year) 20 curators each propose a 10-track playlist and 100 validators each vote, in three
 * blocks: one of proposals at close - 20 min, one of votes at close - 10 min, one at the close
 * that finalizes the slot (block time jumps between them; protocol.md §3 allows it). Every tx goes
 * through CheckTx first (at the committed state, as CometBFT's mempool sends it). Tracks are a
 * fixed pool of small blocks already in Kubo (FILE: one CID per line; --make-tracks writes the
 * pool's files, deterministic bytes, for `ipfs add`). Keys, playlists and votes come from a
 * fixed seed: two runs build the same chain.
 *
 * Timed (CLOCK_MONOTONIC; this is a benchmark, not consensus code): FinalizeBlock+Commit per
 * block, CheckTx per tx, one retention pass per slot without its Kubo calls
 * (sb_pin_expire_pass, right after the close block's Commit), and after the year the restart
 * sleetbubbled's main.c does: store open, app (meta, params), ABCI listen, pin worker start,
 * first Info answered over a real TCP connection. Tx construction (signing) is outside every
 * timed interval. Prints the last month (1,440 slots, or a quarter of a shorter run) against
 * the first as ratios with PASS/FAIL against the goals, database sizes, peak RSS.
 * Exit 0 whatever the figures (a benchmark); 1 when the simulation itself breaks (a tx
 * refused, a callback failing). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "abci/ctx.h"
#include "abci/frame.h"
#include "app-internal.h"
#include "config.h"
#include "db.h"
#include "ed25519.h"
#include "log.h"
#include "pin.h"
#include "sb_buf.h"
#include "slot.h"
#include "tx.h"

#define YEAR_SLOTS 17520
#define MONTH_SLOTS 1440
#define N_CURATORS 20
#define N_VALIDATORS 100
#define N_TRACKS 10
#define KEEP_SLOTS 2000
#define SLOT_SECONDS 1800
#define LEAD_SECONDS 300
#define TRACK_MS 170000u /* 10 x 170 s fits a 1,800 s slot (protocol.md §4 playlist rules) */
#define POOL_DEFAULT 256
#define POOL_MAX 4096
#define TRACK_BYTES 2048
#define CHAIN_ID "year-bench"
#define GENESIS_S 1795392000LL /* 2026-11-23T00:00:00Z; T0 = genesis time */
#define NS 1000000000LL

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "year-bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* splitmix64: the bench's only randomness, from a fixed seed. */
static uint64_t rng_state = 0x5eed2026cafef00dull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void seed_for(const char *who, unsigned i, uint8_t seed[32])
{
    /* Deterministic distinct seeds: "who" + index, padded; Ed25519 hashes the seed anyway. */
    memset(seed, 0, 32);
    snprintf((char *)seed, 32, "year-bench %s %u", who, i);
}

/* ---- samples ------------------------------------------------------------------------------ */

/* This thread's CPU time, ns: shown beside wall time, so that a ratio moved by the other
 * processes of a shared machine can be told from one moved by the node's own work. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

/* SQLite work done by this thread, from the statement profiler (db.h): VM steps and
 * full-scan steps of every statement the bench thread runs (the app's callbacks, the
 * retention pass). Deterministic for a given chain, so unlike times it does not move with
 * the machine. The worker's threads are not counted. */
static __thread int64_t sql_vm, sql_full;
static __thread int sql_count;

static void on_sql(void *arg, const char *sql, int64_t full, int64_t vm)
{
    (void)arg;
    (void)sql;
    if (!sql_count)
        return;
    sql_vm += vm;
    sql_full += full;
}

/* A measured interval: wall (CLOCK_MONOTONIC), this thread's CPU time, its SQLite work. */
typedef struct stamp {
    int64_t wall, cpu, vm, full;
} stamp;

static stamp stamp_now(void) { return (stamp){ now_ns(), cpu_ns(), sql_vm, sql_full }; }

enum { WALL = 0, CPU = 1, VM = 2, RD = 3, WR = 4, NK = 5 };

typedef struct samples {
    uint32_t *v[NK]; /* [WALL], [CPU]: units of 0.1 us; [VM]: SQLite VM steps; [RD], [WR]:
                      * bytes this thread read / wrote through syscalls (blocks only); per
                      * event */
    size_t n, cap;
    int64_t full; /* SQLite full-scan steps over all events */
} samples;

static uint32_t tenths_us(int64_t ns)
{
    int64_t t = ns / 100;
    return t < 0 ? 0 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static uint32_t sat32(int64_t v) { return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v; }

static void push5(samples *s, uint32_t wall, uint32_t cpu, uint32_t vm, uint32_t rd, uint32_t wr)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4096;
        for (int k = 0; k < NK; k++)
            if (!(s->v[k] = realloc(s->v[k], s->cap * sizeof(uint32_t))))
                die("out of memory");
    }
    s->v[WALL][s->n] = wall;
    s->v[CPU][s->n] = cpu;
    s->v[VM][s->n] = vm;
    s->v[RD][s->n] = rd;
    s->v[WR][s->n++] = wr;
}

static void push3(samples *s, uint32_t wall, uint32_t cpu, uint32_t vm)
{
    push5(s, wall, cpu, vm, 0, 0);
}

/* Event i of s again into d (merging series). */
static void copy_one(samples *d, const samples *s, size_t i)
{
    push5(d, s->v[WALL][i], s->v[CPU][i], s->v[VM][i], s->v[RD][i], s->v[WR][i]);
}

/* This thread's rchar / wchar (bytes through read/write syscalls, /proc/thread-self/io):
 * SQLite pages read past its own cache, and WAL frames and checkpoints written. Read
 * outside the timed intervals. fd < 0: zeros. */
static ssize_t thread_io(int fd, int64_t *rd, int64_t *wr)
{
    char b[512];
    *rd = *wr = 0;
    ssize_t n = fd >= 0 ? pread(fd, b, sizeof(b) - 1, 0) : -1;
    if (n <= 0)
        return 0;
    b[n] = '\0';
    const char *r = strstr(b, "rchar:"), *w = strstr(b, "wchar:");
    if (r)
        *rd = strtoll(r + 6, NULL, 10);
    if (w)
        *wr = strtoll(w + 6, NULL, 10);
    return n; /* counted in rchar from the next read on: the caller subtracts it */
}

/* Record the interval from a to b. */
static void push(samples *s, stamp a, stamp b)
{
    push3(s, tenths_us(b.wall - a.wall), tenths_us(b.cpu - a.cpu), sat32(b.vm - a.vm));
    s->full += b.full - a.full;
}

static void samples_free(samples *s)
{
    for (int k = 0; k < NK; k++)
        free(s->v[k]);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Percentile p (0..100) of s->v[k][from..to): ms for WALL and CPU, steps for VM. Nearest
 * rank. */
static double pct_k(const samples *s, int k, size_t from, size_t to, int p)
{
    if (to <= from)
        return 0;
    size_t n = to - from;
    uint32_t *c = malloc(n * sizeof(*c));
    if (!c)
        die("out of memory");
    memcpy(c, s->v[k] + from, n * sizeof(*c));
    qsort(c, n, sizeof(*c), cmp_u32);
    size_t i = (n * (size_t)p + 99) / 100;
    double r = (double)c[i ? i - 1 : 0] / (k == WALL || k == CPU ? 1e4 : 1);
    free(c);
    return r;
}

static double pct_ms(const samples *s, size_t from, size_t to, int p)
{
    return pct_k(s, WALL, from, to, p);
}

/* Percentile p of column k over the events i in [from, to) with sel[i] == want (units as
 * pct_k); *n: how many there were (0 gives 0). */
static double pct_sel_k(const samples *s, int k, size_t from, size_t to, int p, const uint8_t *sel,
                        int want, size_t *n)
{
    samples t = { 0 };
    for (size_t i = from; i < to; i++)
        if (sel[i] == want)
            copy_one(&t, s, i);
    *n = t.n;
    double r = pct_k(&t, k, 0, t.n, p);
    samples_free(&t);
    return r;
}

static double pct_sel(const samples *s, size_t from, size_t to, int p, const uint8_t *sel, int want,
                      size_t *n)
{
    return pct_sel_k(s, WALL, from, to, p, sel, want, n);
}

/* ---- tracks pool ---------------------------------------------------------------------------- */

static int make_tracks(const char *dir, unsigned pool)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        die("mkdir %s: %s", dir, strerror(errno));
    for (unsigned i = 0; i < pool; i++) {
        char path[4200];
        snprintf(path, sizeof(path), "%s/track-%04u", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f)
            die("%s: %s", path, strerror(errno));
        for (unsigned j = 0; j < TRACK_BYTES / 8; j++) {
            uint64_t w = rnd();
            fwrite(&w, 8, 1, f);
        }
        if (fclose(f) != 0)
            die("%s: write failed", path);
    }
    return 0;
}

static char **load_cids(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("%s: %s", path, strerror(errno));
    char **v = calloc(POOL_MAX, sizeof(*v)), line[256];
    if (!v)
        die("out of memory");
    *n = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (*n == POOL_MAX)
            die("%s: more than %d CIDs", path, POOL_MAX);
        if (!(v[(*n)++] = strdup(line)))
            die("out of memory");
    }
    fclose(f);
    if (*n < N_TRACKS)
        die("%s: %zu CIDs, need at least %d", path, *n, N_TRACKS);
    return v;
}

/* ---- the chain --------------------------------------------------------------------------- */

typedef struct chain {
    sb_app *app;
    const abci_app_t *T;
    abci_ctx *ctx; /* owned */
    int64_t height;
    uint8_t cseed[N_CURATORS][32], cpub[N_CURATORS][32];
    uint8_t vseed[N_VALIDATORS][32], vpub[N_VALIDATORS][32];
    char **cids;
    size_t ncids;
    samples fc[3]; /* FinalizeBlock+Commit per block: [0] proposals, [1] votes, [2] close */
    samples ck[2]; /* CheckTx per tx: [0] proposals, [1] votes */
    samples ret;   /* retention pass per slot */
    /* Controls: the same work every slot, touching nothing the node keeps, so a ratio that
     * moves with them moved with the machine (other processes, disk), not with history. */
    samples ctl_cpu; /* sb_tx_check of one fixed vote, no state (pure CPU: decode, Ed25519) */
    samples ctl_io;  /* pwrite 16 KiB + fdatasync to a file beside the databases */
    sb_buf ctl_tx;
    int ctl_fd;
    uint8_t *ret_worked; /* per slot: 1 if that pass expired something */
    size_t ret_expired_passes, ret_expired_slots, ret_doomed;
    int io_fd; /* /proc/thread-self/io of the bench thread, or -1 */
    size_t outcome[5];
} chain;

static void init_chain(chain *c, int64_t t0)
{
    char app_state[4096];
    size_t off = (size_t)snprintf(app_state, sizeof(app_state),
                                  "{\"slot_seconds\":%d,\"close_lead_seconds\":%d,\"curators\":[",
                                  SLOT_SECONDS, LEAD_SECONDS);
    for (int i = 0; i < N_CURATORS; i++) {
        char hex[65];
        sb_hex(c->cpub[i], 32, hex);
        off += (size_t)snprintf(app_state + off, sizeof(app_state) - off, "%s\"%s\"", i ? "," : "",
                                hex);
    }
    snprintf(app_state + off, sizeof(app_state) - off, "]}");

    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t0 / NS;
    Tendermint__Abci__PublicKey pk[N_VALIDATORS];
    Tendermint__Abci__ValidatorUpdate vu[N_VALIDATORS], *vp[N_VALIDATORS];
    for (int i = 0; i < N_VALIDATORS; i++) {
        tendermint__abci__public_key__init(&pk[i]);
        pk[i].ed25519.data = c->vpub[i];
        pk[i].ed25519.len = 32;
        tendermint__abci__validator_update__init(&vu[i]);
        vu[i].pub_key = &pk[i];
        vu[i].power = 10;
        vp[i] = &vu[i];
    }
    Tendermint__Abci__RequestInitChain ic = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__ResponseInitChain icr = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
    ic.chain_id = CHAIN_ID;
    ic.time = &ts;
    ic.validators = vp;
    ic.n_validators = N_VALIDATORS;
    ic.app_state_bytes.data = (uint8_t *)app_state;
    ic.app_state_bytes.len = strlen(app_state);
    ic.initial_height = 1;
    if (c->T->init_chain(c->app, c->ctx, &ic, &icr) != 0)
        die("InitChain failed");
    abci_ctx_reset(c->ctx);
}

/* CheckTx every tx (timed one by one); each must be accepted. */
static void check_all(chain *c, sb_buf *txs, size_t n, samples *s)
{
    for (size_t i = 0; i < n; i++) {
        Tendermint__Abci__RequestCheckTx rq = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
        Tendermint__Abci__ResponseCheckTx rs = TENDERMINT__ABCI__RESPONSE_CHECK_TX__INIT;
        rq.tx.data = txs[i].data;
        rq.tx.len = txs[i].len;
        stamp a = stamp_now();
        int rc = c->T->check_tx(c->app, c->ctx, &rq, &rs);
        stamp b = stamp_now();
        if (rc != 0 || rs.code != 0)
            die("CheckTx at height %" PRId64 ": rc %d code %u %s", c->height, rc, rs.code,
                rs.log ? rs.log : "");
        push(s, a, b);
        abci_ctx_reset(c->ctx);
    }
}

/* FinalizeBlock + Commit of the next height at time t with txs[0..n) (timed together). Every
 * tx must get code 0; *nslots: slots finalized (outcomes counted). */
static void block(chain *c, int64_t t, sb_buf *txs, size_t n, samples *s, size_t *nslots)
{
    ProtobufCBinaryData d[N_VALIDATORS];
    for (size_t i = 0; i < n; i++) {
        d[i].data = txs[i].data;
        d[i].len = txs[i].len;
    }
    Tendermint__Abci__Timestamp bt = TENDERMINT__ABCI__TIMESTAMP__INIT;
    bt.seconds = t / NS;
    bt.nanos = (int32_t)(t % NS);
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__ResponseFinalizeBlock fbr = TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__RequestCommit cm = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__ResponseCommit cmr = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
    fb.height = ++c->height;
    fb.time = &bt;
    fb.txs = d;
    fb.n_txs = n;
    int64_t rd0, wr0, rd1, wr1;
    ssize_t self = thread_io(c->io_fd, &rd0, &wr0);
    stamp a = stamp_now();
    if (c->T->finalize_block(c->app, c->ctx, &fb, &fbr) != 0)
        die("FinalizeBlock %" PRId64 " failed", c->height);
    stamp b = stamp_now();
    /* The checks below run between FinalizeBlock and Commit but are not timed. */
    for (size_t i = 0; i < fbr.n_tx_results; i++)
        if (fbr.tx_results[i]->code != 0)
            die("block %" PRId64 " tx %zu: code %u %s", c->height, i, fbr.tx_results[i]->code,
                fbr.tx_results[i]->log ? fbr.tx_results[i]->log : "");
    *nslots = 0;
    for (size_t i = 0; i < fbr.n_events; i++) {
        const Tendermint__Abci__Event *e = fbr.events[i];
        if (strcmp(e->type, "sleetbubble.slot_finalized") != 0)
            continue;
        (*nslots)++;
        for (size_t k = 0; k < e->n_attributes; k++)
            if (!strcmp(e->attributes[k]->key, "outcome")) {
                static const char *names[] = { "", "SUPERMAJORITY", "FALLBACK", "REPEAT", "NONE" };
                for (int o = 1; o < 5; o++)
                    if (!strcmp(e->attributes[k]->value, names[o]))
                        c->outcome[o]++;
            }
    }
    abci_ctx_reset(c->ctx);
    stamp b2 = stamp_now();
    if (c->T->commit(c->app, c->ctx, &cm, &cmr) != 0)
        die("Commit %" PRId64 " failed", c->height);
    stamp e2 = stamp_now();
    thread_io(c->io_fd, &rd1, &wr1);
    push5(s, tenths_us((b.wall - a.wall) + (e2.wall - b2.wall)),
          tenths_us((b.cpu - a.cpu) + (e2.cpu - b2.cpu)), sat32((b.vm - a.vm) + (e2.vm - b2.vm)),
          sat32(rd1 - rd0 - self), sat32(wr1 - wr0));
    s->full += (b.full - a.full) + (e2.full - b2.full);
    abci_ctx_reset(c->ctx);
}

/* One slot: proposals, votes, close. */
static void run_slot(chain *c, sb_pin *pin, uint64_t slot, const sb_params *p)
{
    static sb_buf props[N_CURATORS], votes[N_VALIDATORS];
    uint8_t ids[N_CURATORS][32];
    int64_t close = (int64_t)sb_slot_close(p, slot);

    /* Build (untimed): each curator a playlist of 10 distinct pool tracks. */
    for (int i = 0; i < N_CURATORS; i++) {
        sb_track_in tr[N_TRACKS];
        size_t pick[N_TRACKS];
        char titles[N_TRACKS][32], note[64];
        for (int k = 0; k < N_TRACKS; k++) {
            size_t x;
            int dup;
            do {
                x = (size_t)(rnd() % c->ncids);
                dup = 0;
                for (int j = 0; j < k; j++)
                    dup |= pick[j] == x;
            } while (dup);
            pick[k] = x;
            snprintf(titles[k], sizeof(titles[k]), "track %zu", x);
            tr[k] = (sb_track_in){ c->cids[x], TRACK_MS, titles[k], "year-bench" };
        }
        snprintf(note, sizeof(note), "slot %" PRIu64 " by curator %d", slot, i);
        sb_buf_free(&props[i]);
        sb_buf_init(&props[i], 1 << 16);
        if (sb_tx_build_proposal(CHAIN_ID, slot, c->cseed[i], tr, N_TRACKS, note, &props[i],
                                 ids[i]) < 0)
            die("building a proposal failed");
    }
    size_t ns;
    check_all(c, props, N_CURATORS, &c->ck[0]);
    block(c, close - 1200 * NS, props, N_CURATORS, &c->fc[0], &ns);

    /* Votes (untimed build): 3 slots in 4 have a favourite that 3/4 of the power backs
     * (SUPERMAJORITY), the others spread at random (FALLBACK). */
    int fav = (int)(rnd() % N_CURATORS), strong = rnd() % 4 != 0;
    for (int v = 0; v < N_VALIDATORS; v++) {
        int choice = strong && v % 4 != 3 ? fav : (int)(rnd() % N_CURATORS);
        sb_buf_free(&votes[v]);
        sb_buf_init(&votes[v], 1 << 12);
        if (sb_tx_build_vote(CHAIN_ID, slot, ids[choice], c->vpub[v], c->vseed[v], &votes[v]) < 0)
            die("building a vote failed");
    }
    check_all(c, votes, N_VALIDATORS, &c->ck[1]);
    block(c, close - 600 * NS, votes, N_VALIDATORS, &c->fc[1], &ns);

    block(c, close, NULL, 0, &c->fc[2], &ns);
    if (ns != 1)
        die("block at the close of slot %" PRIu64 " finalized %zu slots, want 1", slot, ns);

    /* One retention pass, database half only, as the housekeeper runs it. */
    size_t expired = 0, doomed = 0;
    int64_t rd0, wr0, rd1, wr1;
    ssize_t self = thread_io(c->io_fd, &rd0, &wr0);
    stamp a = stamp_now();
    if (sb_pin_expire_pass(pin, &expired, &doomed) < 0)
        die("retention pass failed after slot %" PRIu64, slot);
    stamp b = stamp_now();
    thread_io(c->io_fd, &rd1, &wr1);
    push5(&c->ret, tenths_us(b.wall - a.wall), tenths_us(b.cpu - a.cpu), sat32(b.vm - a.vm),
          sat32(rd1 - rd0 - self), sat32(wr1 - wr0));
    c->ret.full += b.full - a.full;
    if (b.wall - a.wall >= 50 * 1000000LL) { /* rare; with the wall-clock time, to line up
                                               * with strace -tt or Kubo's log */
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        fprintf(stderr,
                "year-bench: slow retention pass after slot %" PRIu64 " ending at "
                "%lld.%06ld: %.1f ms, thread CPU %.2f ms, %zu expired\n",
                slot, (long long)rt.tv_sec, rt.tv_nsec / 1000, (double)(b.wall - a.wall) / 1e6,
                (double)(b.cpu - a.cpu) / 1e6, expired);
    }
    c->ret_worked[slot - 1] = expired > 0;
    if (expired)
        c->ret_expired_passes++;
    c->ret_expired_slots += expired;
    c->ret_doomed += doomed;

    /* Controls. */
    for (int i = 0; i < 5; i++) {
        sb_tx tx = { 0 };
        stamp x = stamp_now();
        int code =
            sb_tx_check(p, NULL, c->ctl_tx.data, c->ctl_tx.len, p->epoch_ns + NS, &tx, NULL, 0);
        push(&c->ctl_cpu, x, stamp_now());
        sb_tx_free(&tx);
        if (code != 0)
            die("control tx: code %d", code);
    }
    static uint8_t page[16384];
    page[slot % sizeof(page)]++;
    a = stamp_now();
    if (pwrite(c->ctl_fd, page, sizeof(page), 0) != (ssize_t)sizeof(page) ||
        fdatasync(c->ctl_fd) != 0)
        die("control file: %s", strerror(errno));
    push(&c->ctl_io, a, stamp_now());
}

/* ---- pins.db figures (read-only) --------------------------------------------------------- */

typedef struct pin_counts {
    int64_t state[SB_PIN_NSTATES], winners, high_water;
} pin_counts;

static int read_pins(const char *path, pin_counts *pc)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    memset(pc, 0, sizeof(*pc));
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_prepare_v2(db, "SELECT state, n FROM job_counts", -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            int st = sb_pin_state_parse((const char *)sqlite3_column_text(s, 0));
            if (st >= 0)
                pc->state[st] = sqlite3_column_int64(s, 1);
        }
        sqlite3_finalize(s);
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM winners), "
                           "(SELECT high_water FROM progress)",
                           -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW) {
            pc->winners = sqlite3_column_int64(s, 0);
            pc->high_water = sqlite3_column_int64(s, 1);
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return 0;
}

static double file_mb(const char *path)
{
    struct stat st;
    char wal[4300];
    double b = stat(path, &st) == 0 ? (double)st.st_size : 0;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &st) == 0)
        b += (double)st.st_size;
    return b / (1024.0 * 1024.0);
}

/* ---- restart: what sleetbubbled's cmd_start does, up to the first Info over TCP ----------- */

typedef struct restart_t {
    double open_ms, app_ms, listen_ms, pin_ms, info_ms, total_ms;
    int64_t height;
} restart_t;

static int connect_to(const char *addr)
{
    /* addr: "tcp://127.0.0.1:PORT" as abci_server_listen_addr gives it */
    const char *colon = strrchr(addr, ':');
    if (strncmp(addr, "tcp://", 6) != 0 || !colon)
        return -1;
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void restart(const sb_config *cfg, const char *db, const char *pins, restart_t *r)
{
    char err[1024], addr[128];
    sb_store *store = NULL;
    int64_t t0 = now_ns();
    if (sb_store_open(db, &store, err, sizeof(err)) < 0)
        die("restart: %s", err);
    int64_t t1 = now_ns();
    sb_app_opts ao = { .pin_enabled = 1, .pin_db_path = pins };
    sb_app *app = sb_app_new(store, &ao, err, sizeof(err));
    if (!app)
        die("restart: %s", err);
    int64_t t2 = now_ns();
    struct event_base *base = event_base_new();
    abci_server_opts so = { .log = sb_log_abci_sink };
    abci_server *srv = base ? abci_server_new(base, sb_app_abci(), app, &so) : NULL;
    if (!srv || abci_server_listen(srv, "tcp://127.0.0.1:0", err, sizeof(err)) < 0 ||
        abci_server_listen_addr(srv, 0, addr, sizeof(addr)) < 0)
        die("restart: abci listen: %s", srv ? err : "out of memory");
    int64_t t3 = now_ns();
    sb_pin *pin = sb_pin_start(cfg, db, pins, err, sizeof(err));
    if (!pin)
        die("restart: pin worker: %s", err);
    int64_t t4 = now_ns();

    /* CometBFT's first move: connect and ask Info (then Flush). */
    int fd = connect_to(addr);
    if (fd < 0)
        die("restart: connect %s: %s", addr, strerror(errno));
    Tendermint__Abci__RequestInfo info = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    info.version = "0.38";
    Tendermint__Abci__Request rq = TENDERMINT__ABCI__REQUEST__INIT;
    rq.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    rq.info = &info;
    Tendermint__Abci__RequestFlush fl = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    Tendermint__Abci__Request rf = TENDERMINT__ABCI__REQUEST__INIT;
    rf.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    rf.flush = &fl;
    uint8_t out[256], in[4096];
    size_t n1 = abci_frame_pack(&rq.base, out, sizeof(out));
    size_t n2 = n1 ? abci_frame_pack(&rf.base, out + n1, sizeof(out) - n1) : 0;
    if (!n2 || write(fd, out, n1 + n2) != (ssize_t)(n1 + n2))
        die("restart: cannot send Info");
    size_t have = 0;
    int64_t height = -1, deadline = now_ns() + 30 * NS;
    while (height < 0) {
        if (now_ns() > deadline)
            die("restart: no Info answer within 30 s");
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, 1) <= 0)
            continue;
        ssize_t k = read(fd, in + have, sizeof(in) - have);
        if (k <= 0)
            die("restart: connection closed before Info answered");
        have += (size_t)k;
        abci_reader rd = { in, have, 0 };
        const uint8_t *body;
        uint64_t blen;
        if (abci_frame_next(&rd, sizeof(in), &body, &blen) != ABCI_FRAME_OK)
            continue;
        Tendermint__Abci__Response *res = tendermint__abci__response__unpack(NULL, blen, body);
        if (!res || res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_INFO)
            die("restart: first answer is not Info");
        height = res->info->last_block_height;
        tendermint__abci__response__free_unpacked(res, NULL);
    }
    int64_t t5 = now_ns();
    close(fd);
    r->open_ms = (double)(t1 - t0) / 1e6;
    r->app_ms = (double)(t2 - t1) / 1e6;
    r->listen_ms = (double)(t3 - t2) / 1e6;
    r->pin_ms = (double)(t4 - t3) / 1e6;
    r->info_ms = (double)(t5 - t4) / 1e6;
    r->total_ms = (double)(t5 - t0) / 1e6;
    r->height = height;
    event_base_loop(base, EVLOOP_NONBLOCK); /* let the server see the close */
    abci_server_free(srv);
    sb_pin_stop(pin);
    sb_app_free(app);
    sb_store_close(store);
    event_base_free(base);
}

/* After every Commit, as sleetbubbled does: wake the worker. */
static void wake(void *arg, int64_t height) { sb_pin_notify(arg, height); }

/* ---- report ------------------------------------------------------------------------------ */

static const char *verdict(int ok) { return ok ? "PASS" : "FAIL"; }

/* Ratio line for samples s with per-slot counts: the window of w slots from slot a0 against
 * the last w slots, per_slot events per slot. Returns 1 if ratio <= 1.2. */
static int ratio_line(const char *what, const samples *s, size_t per_slot, size_t slots, size_t w,
                      int p, double extra_max_ms, size_t a0)
{
    size_t n = slots * per_slot, f0 = a0 * per_slot, f1 = (a0 + w) * per_slot;
    double a = pct_ms(s, f0, f1, p), b = pct_ms(s, n - w * per_slot, n, p);
    double ca = pct_k(s, CPU, f0, f1, p), cb = pct_k(s, CPU, n - w * per_slot, n, p);
    double va = pct_k(s, VM, f0, f1, p), vb = pct_k(s, VM, n - w * per_slot, n, p);
    double r = a > 0 ? b / a : 0;
    int ok = r <= 1.2 && (extra_max_ms <= 0 || b < extra_max_ms);
    printf("  %-25s first %8.3f ms  last %8.3f ms  ratio %5.2f  (goal <= 1.2%s)  %s\n"
           "  %-25s [thread CPU %.3f -> %.3f ms, ratio %.2f; SQLite VM steps %.0f -> %.0f, "
           "ratio %.2f]\n",
           what, a, b, r, extra_max_ms > 0 ? ", < 100 ms" : "", verdict(ok), "", ca, cb,
           ca > 0 ? cb / ca : 0, va, vb, va > 0 ? vb / va : 0);
    return ok;
}

/* Merge the three block kinds of each slot into one series in block order. */
static samples merge_blocks(const chain *c)
{
    samples m = { 0 };
    for (size_t i = 0; i < c->fc[0].n; i++)
        for (int k = 0; k < 3; k++)
            copy_one(&m, &c->fc[k], i);
    m.full = c->fc[0].full + c->fc[1].full + c->fc[2].full;
    return m;
}

static samples merge_checks(const chain *c, size_t slots)
{
    samples m = { 0 };
    for (size_t i = 0; i < slots; i++) {
        for (size_t k = 0; k < N_CURATORS; k++)
            copy_one(&m, &c->ck[0], i * N_CURATORS + k);
        for (size_t k = 0; k < N_VALIDATORS; k++)
            copy_one(&m, &c->ck[1], i * N_VALIDATORS + k);
    }
    m.full = c->ck[0].full + c->ck[1].full;
    return m;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: year-bench --kubo URL --cids FILE [--slots N] [--keep-slots K] "
               "[--home DIR]\n"
               "       year-bench --make-tracks DIR [--pool N]\n");
}

static unsigned long parse_num(const char *s, const char *what, unsigned long lo, unsigned long hi)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || v < lo || v > hi)
        die("%s %s: want an integer in [%lu, %lu]", what, s, lo, hi);
    return v;
}

int main(int argc, char **argv)
{
    const char *kubo = NULL, *cids_path = NULL, *tracks_dir = NULL, *home_arg = NULL;
    unsigned long slots = YEAR_SLOTS, keep = 0, pool = POOL_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--kubo"))
            kubo = v;
        else if (!strcmp(a, "--cids"))
            cids_path = v;
        else if (!strcmp(a, "--make-tracks"))
            tracks_dir = v;
        else if (!strcmp(a, "--home"))
            home_arg = v;
        else if (!strcmp(a, "--slots"))
            slots = parse_num(v, "--slots", 8, 10 * YEAR_SLOTS);
        else if (!strcmp(a, "--keep-slots"))
            keep = parse_num(v, "--keep-slots", 1, 10 * YEAR_SLOTS);
        else if (!strcmp(a, "--pool"))
            pool = parse_num(v, "--pool", N_TRACKS, POOL_MAX);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (tracks_dir)
        return make_tracks(tracks_dir, (unsigned)pool);
    if (!kubo || !cids_path) {
        usage(stderr);
        return 2;
    }
    /* keep_slots 2,000 as the issue says; a run too short to ever expire anything with it
     * keeps a quarter of its slots instead, so retention still does work. */
    if (!keep)
        keep = slots >= 2 * KEEP_SLOTS ? KEEP_SLOTS : slots / 4;
    size_t w = slots >= 4 * MONTH_SLOTS ? MONTH_SLOTS : slots / 4;
    sb_log_setup(SB_LOG_WARN, 0);
    signal(SIGPIPE, SIG_IGN);

    chain c = { 0 };
    c.cids = load_cids(cids_path, &c.ncids);
    c.io_fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
    if (!(c.ret_worked = calloc(slots, 1)))
        die("out of memory");
    char home[4096], data[4200], db[4300], pins[4300], err[1024];
    if (home_arg)
        snprintf(home, sizeof(home), "%s", home_arg);
    else {
        const char *tmp = getenv("TMPDIR");
        snprintf(home, sizeof(home), "%s/sb-year-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(home))
            die("mkdtemp: %s", strerror(errno));
    }
    snprintf(data, sizeof(data), "%s/data", home);
    if (mkdir(home, 0700) < 0 && errno != EEXIST)
        die("mkdir %s: %s", home, strerror(errno));
    if (mkdir(data, 0700) < 0 && errno != EEXIST)
        die("mkdir %s: %s", data, strerror(errno));
    snprintf(db, sizeof(db), "%s/sleetbubble.db", data);
    snprintf(pins, sizeof(pins), "%s/pins.db", data);
    if (access(db, F_OK) == 0)
        die("%s exists: want a fresh home", db);

    sb_config cfg;
    sb_config_defaults(&cfg);
    snprintf(cfg.home, sizeof(cfg.home), "%s", home);
    snprintf(cfg.ipfs.api_url, sizeof(cfg.ipfs.api_url), "%s", kubo);
    cfg.pin.enabled = 1;
    cfg.pin.keep_slots = keep;
    cfg.ipfs.timeout_seconds = 30;
    cfg.pin.stall_seconds = 10;

    for (unsigned i = 0; i < N_CURATORS; i++) {
        seed_for("curator", i, c.cseed[i]);
        sb_ed25519_pubkey(c.cseed[i], c.cpub[i]);
    }
    for (unsigned i = 0; i < N_VALIDATORS; i++) {
        seed_for("validator", i, c.vseed[i]);
        sb_ed25519_pubkey(c.vseed[i], c.vpub[i]);
    }

    /* Count SQLite work on this thread (installed before any connection opens). */
    sb_db_set_profiler(on_sql, NULL);
    sql_count = 1;
    sb_store *store;
    if (sb_store_open(db, &store, err, sizeof(err)) < 0)
        die("%s", err);
    sb_pin *pin = sb_pin_start(&cfg, db, pins, err, sizeof(err));
    if (!pin)
        die("pin worker: %s", err);
    sb_app_opts ao = { .pin_enabled = 1, .pin_db_path = pins };
    ao.on_commit = wake;
    ao.on_commit_arg = pin;
    if (!(c.app = sb_app_new(store, &ao, err, sizeof(err))))
        die("%s", err);
    c.T = sb_app_abci();
    if (!(c.ctx = abci_ctx_new("year-bench")))
        die("%s", "out of memory");

    const int64_t t0 = GENESIS_S * NS;
    init_chain(&c, t0);
    const sb_params *p = sb_app_params(c.app);

    /* The CPU control: one vote for slot 1, checked without state at T0 + 1 s (open). */
    static const uint8_t zero_id[32];
    char ctl_path[4300];
    sb_buf_init(&c.ctl_tx, 1 << 12);
    if (sb_tx_build_vote(CHAIN_ID, 1, zero_id, c.vpub[0], c.vseed[0], &c.ctl_tx) < 0)
        die("building the control tx failed");
    snprintf(ctl_path, sizeof(ctl_path), "%s/control.bin", home);
    if ((c.ctl_fd = open(ctl_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        die("%s: %s", ctl_path, strerror(errno));

    printf("year: %lu slots of %d min, 3 blocks each (%lu blocks); %d curators x %d tracks, "
           "%d validators; keep_slots %lu; pool %zu tracks in Kubo\n",
           slots, SLOT_SECONDS / 60, 3 * slots, N_CURATORS, N_TRACKS, N_VALIDATORS, keep, c.ncids);
    fflush(stdout);
    int64_t start = now_ns(), last = start;
    for (uint64_t s = 1; s <= slots; s++) {
        run_slot(&c, pin, s, p);
        if (s % 1000 == 0 || s == slots) {
            /* A time series of the last (up to) 1,000 slots, to tell growth from noise. */
            int64_t t = now_ns();
            size_t n = c.fc[0].n, k = s % 1000 ? s % 1000 : 1000, f = n - k;
            fprintf(stderr,
                    "year-bench: slot %" PRIu64 "/%lu, %.0f s; last %zu slots: %.1f "
                    "ms/slot, p50 ms: proposals block %.2f (cpu %.2f), votes block %.2f (cpu "
                    "%.2f), close block %.2f, vote CheckTx %.3f, retention %.3f; controls: cpu "
                    "%.3f, disk %.2f\n",
                    s, slots, (double)(t - start) / 1e9, k, (double)(t - last) / 1e6 / (double)k,
                    pct_ms(&c.fc[0], f, n, 50), pct_k(&c.fc[0], CPU, f, n, 50),
                    pct_ms(&c.fc[1], f, n, 50), pct_k(&c.fc[1], CPU, f, n, 50),
                    pct_ms(&c.fc[2], f, n, 50),
                    pct_ms(&c.ck[1], f * N_VALIDATORS, n * N_VALIDATORS, 50),
                    pct_ms(&c.ret, f, n, 50), pct_ms(&c.ctl_cpu, 5 * f, 5 * n, 50),
                    pct_ms(&c.ctl_io, f, n, 50));
            last = t;
        }
    }
    double sim_s = (double)(now_ns() - start) / 1e9;
    /* Peak RSS now, before the report merges series; the bench's own sample arrays are in it
     * and are subtracted below. */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double rss_mb = (double)ru.ru_maxrss / 1024.0;
    size_t own = NK * sizeof(uint32_t) *
                 (c.fc[0].n + c.fc[1].n + c.fc[2].n + c.ck[0].n + c.ck[1].n + c.ret.n +
                  c.ctl_cpu.n + c.ctl_io.n);
    double own_mb = (double)own / (1024.0 * 1024.0);
    double sqlite_mb = (double)sqlite3_memory_highwater(0) / (1024.0 * 1024.0);

    /* Let the worker catch up (bounded), then read its progress. */
    pin_counts pc;
    int64_t drain0 = now_ns();
    int caught_up = 0;
    for (int i = 0; i < 600 && !caught_up; i++) {
        caught_up = read_pins(pins, &pc) == 0 && pc.high_water >= (int64_t)slots &&
                    pc.state[SB_PIN_QUEUED] + pc.state[SB_PIN_PINNING] == 0;
        if (!caught_up)
            usleep(100000);
    }
    double drain_s = (double)(now_ns() - drain0) / 1e9;
    sb_pin_stop(pin);
    read_pins(pins, &pc);
    abci_ctx_free(c.ctx);
    c.ctx = NULL;
    sb_app_free(c.app);
    sb_store_close(store);
    double db_mb = file_mb(db), pins_mb = file_mb(pins);

    restart_t rs;
    sql_count = 0;
    sb_db_set_profiler(NULL, NULL);
    restart(&cfg, db, pins, &rs);
    if (rs.height != 3 * (int64_t)slots)
        die("restart: Info says height %" PRId64 ", want %lu", rs.height, 3 * slots);

    printf("  simulated in %.0f s; outcomes: %zu SUPERMAJORITY, %zu FALLBACK, %zu REPEAT, "
           "%zu NONE\n",
           sim_s, c.outcome[1], c.outcome[2], c.outcome[3], c.outcome[4]);
    printf("  last month against the first (%zu slots each = %zu blocks, %zu CheckTx):\n", w, 3 * w,
           w * (N_CURATORS + N_VALIDATORS));
    samples fc = merge_blocks(&c), ck = merge_checks(&c, slots);
    ratio_line("FinalizeBlock+Commit p50", &fc, 3, slots, w, 50, 0, 0);
    ratio_line("FinalizeBlock+Commit p99", &fc, 3, slots, w, 99, 0, 0);
    ratio_line("CheckTx p50", &ck, N_CURATORS + N_VALIDATORS, slots, w, 50, 0, 0);
    /* Retention like for like: until keep_slots have been kept, no pass has anything to
     * expire, so the first month is cheaper work, not a faster store. Its window starts at
     * the first pass that expired a slot (clamped so it ends before the last window). */
    size_t e0 = 0;
    while (e0 < slots && !c.ret_worked[e0])
        e0++;
    if (e0 + 2 * w > slots)
        e0 = slots >= 2 * w ? slots - 2 * w : 0;
    printf("  retention from its first expiring pass (slot %zu; before it nothing expires):\n",
           e0 + 1);
    ratio_line("retention pass p50", &c.ret, 1, slots, w, 50, 100, e0);
    printf("  retention, first month (nothing to expire yet) against the last, for the "
           "record:\n");
    ratio_line("retention pass p50 (all)", &c.ret, 1, slots, w, 50, 100, 0);
    printf("    by block p50: proposals %.3f -> %.3f ms, votes %.3f -> %.3f ms, close %.3f -> "
           "%.3f ms\n",
           pct_ms(&c.fc[0], 0, w, 50), pct_ms(&c.fc[0], slots - w, slots, 50),
           pct_ms(&c.fc[1], 0, w, 50), pct_ms(&c.fc[1], slots - w, slots, 50),
           pct_ms(&c.fc[2], 0, w, 50), pct_ms(&c.fc[2], slots - w, slots, 50));
    printf("    bytes through syscalls per block (SQLite pages read past its cache; WAL and "
           "checkpoints written): read p50 %.0f -> %.0f, p99 %.0f -> %.0f; written p50 %.0f -> "
           "%.0f, p99 %.0f -> %.0f\n",
           pct_k(&fc, RD, 0, 3 * w, 50), pct_k(&fc, RD, 3 * (slots - w), 3 * slots, 50),
           pct_k(&fc, RD, 0, 3 * w, 99), pct_k(&fc, RD, 3 * (slots - w), 3 * slots, 99),
           pct_k(&fc, WR, 0, 3 * w, 50), pct_k(&fc, WR, 3 * (slots - w), 3 * slots, 50),
           pct_k(&fc, WR, 0, 3 * w, 99), pct_k(&fc, WR, 3 * (slots - w), 3 * slots, 99));
    printf("    CheckTx p50: proposal %.3f -> %.3f ms, vote %.3f -> %.3f ms\n",
           pct_ms(&c.ck[0], 0, w * N_CURATORS, 50),
           pct_ms(&c.ck[0], (slots - w) * N_CURATORS, slots * N_CURATORS, 50),
           pct_ms(&c.ck[1], 0, w * N_VALIDATORS, 50),
           pct_ms(&c.ck[1], (slots - w) * N_VALIDATORS, slots * N_VALIDATORS, 50));
    printf("    controls (same work every slot, nothing from history): CPU (5 stateless tx "
           "checks) p50 %.3f -> %.3f ms, ratio %.2f; disk (16 KiB write + fdatasync) p50 %.3f "
           "-> %.3f ms, ratio %.2f\n",
           pct_ms(&c.ctl_cpu, 0, 5 * w, 50), pct_ms(&c.ctl_cpu, 5 * (slots - w), 5 * slots, 50),
           pct_ms(&c.ctl_cpu, 5 * (slots - w), 5 * slots, 50) / pct_ms(&c.ctl_cpu, 0, 5 * w, 50),
           pct_ms(&c.ctl_io, 0, w, 50), pct_ms(&c.ctl_io, slots - w, slots, 50),
           pct_ms(&c.ctl_io, slots - w, slots, 50) / pct_ms(&c.ctl_io, 0, w, 50));
    double rmax = pct_ms(&c.ret, 0, slots, 100);
    size_t n0, n1, n2;
    double i0 = pct_sel(&c.ret, 0, w, 50, c.ret_worked, 0, &n0);
    double i1 = pct_sel(&c.ret, slots - w, slots, 50, c.ret_worked, 0, &n1);
    double wk = pct_sel(&c.ret, 0, slots, 50, c.ret_worked, 1, &n2);
    size_t n3;
    double wkmax = pct_sel(&c.ret, 0, slots, 100, c.ret_worked, 1, &n3);
    printf("    retention passes (one after each close; the housekeeper, woken by the same "
           "ingest, expires most slots first): %zu of %lu expired a slot (%zu slots, %zu CIDs "
           "doomed)\n      with nothing to expire p50 %.3f -> %.3f ms (%zu, %zu passes), "
           "ratio %.2f; that expired p50 %.3f ms, max %.3f ms; any pass max %.3f ms "
           "(goal < 100 ms)  %s\n",
           c.ret_expired_passes, slots, c.ret_expired_slots, c.ret_doomed, i0, i1, n0, n1,
           i0 > 0 ? i1 / i0 : 0, wk, wkmax, rmax, verdict(rmax < 100));
    /* The slowest passes: did they work (CPU, SQLite steps) or wait (mutex, disk, CPU)? */
    size_t slow = 0, imax = 0;
    for (size_t i = 0; i < slots; i++) {
        slow += c.ret.v[WALL][i] >= 100 * 10000u;
        if (c.ret.v[WALL][i] > c.ret.v[WALL][imax])
            imax = i;
    }
    size_t m0, m1;
    double vw = pct_sel_k(&c.ret, VM, 0, slots, 50, c.ret_worked, 1, &m0);
    double vwmax = pct_sel_k(&c.ret, VM, 0, slots, 100, c.ret_worked, 1, &m1);
    /* Passes of 10 ms or more: how many wrote a WAL checkpoint of pins.db (>= 1 MiB through
     * write(2) on this thread), and how much CPU they used. */
    size_t s10 = 0, s10ckpt = 0;
    samples s10cpu = { 0 };
    for (size_t i = 0; i < slots; i++)
        if (c.ret.v[WALL][i] >= 10 * 10000u) {
            s10++;
            s10ckpt += c.ret.v[WR][i] >= (1u << 20);
            copy_one(&s10cpu, &c.ret, i);
        }
    printf("      passes >= 100 ms: %zu of %lu, p99 %.3f ms; the slowest (after slot %zu, "
           "%s): thread CPU %.3f ms, %" PRIu32 " SQLite VM steps, %" PRIu32 " bytes written; "
           "passes that expired: VM steps p50 %.0f, max %.0f\n",
           slow, slots, pct_ms(&c.ret, 0, slots, 99), imax + 1,
           c.ret_worked[imax] ? "expired a slot" : "nothing to expire",
           (double)c.ret.v[CPU][imax] / 1e4, c.ret.v[VM][imax], c.ret.v[WR][imax], vw, vwmax);
    printf("      passes >= 10 ms: %zu, of which %zu wrote a pins.db checkpoint (>= 1 MiB); "
           "their thread CPU p50 %.3f ms, max %.3f ms\n",
           s10, s10ckpt, pct_k(&s10cpu, CPU, 0, s10cpu.n, 50),
           pct_k(&s10cpu, CPU, 0, s10cpu.n, 100));
    samples_free(&s10cpu);
    printf("    SQLite full-scan steps on the app's thread: blocks %" PRId64 ", CheckTx %" PRId64
           ", retention %" PRId64 " (statement profiler, db.h)\n",
           fc.full, ck.full, c.ret.full);
    printf("  restart after %lu slots: open %.1f ms, app %.1f ms, listen %.1f ms, pin worker "
           "%.1f ms, first Info over ABCI %.1f ms: %.1f ms to first accept (goal < 1000 ms)  "
           "%s\n",
           slots, rs.open_ms, rs.app_ms, rs.listen_ms, rs.pin_ms, rs.info_ms, rs.total_ms,
           verdict(rs.total_ms < 1000));
    double per_year = (double)YEAR_SLOTS / (double)slots;
    printf("  databases: state %.1f MB (%.1f MB/year), data/pins.db %.1f MB (bounded by "
           "keep_slots, not by age)\n",
           db_mb, db_mb * per_year, pins_mb);
    printf("  pins at the end: %" PRId64 " pinned, %" PRId64 " queued, %" PRId64
           " pinning, %" PRId64 " failed; %" PRId64 " winners kept; high-water slot %" PRId64
           " (%s %.1f s "
           "after the last block)\n",
           pc.state[SB_PIN_PINNED], pc.state[SB_PIN_QUEUED], pc.state[SB_PIN_PINNING],
           pc.state[SB_PIN_FAILED], pc.winners, pc.high_water,
           caught_up ? "worker caught up" : "worker NOT caught up", drain_s);
    printf("  peak RSS %.1f MB at the end of the year, of which %.1f MB the bench's own samples: "
           "%.1f MB for the node (app, SQLite, pin worker, libcurl); SQLite heap high-water "
           "%.1f MB\n",
           rss_mb, own_mb, rss_mb - own_mb, sqlite_mb);

    for (int k = 0; k < 3; k++)
        samples_free(&c.fc[k]);
    samples_free(&c.ck[0]);
    samples_free(&c.ck[1]);
    samples_free(&c.ret);
    free(c.ret_worked);
    samples_free(&c.ctl_cpu);
    samples_free(&c.ctl_io);
    sb_buf_free(&c.ctl_tx);
    close(c.ctl_fd);
    if (c.io_fd >= 0)
        close(c.io_fd);
    samples_free(&fc);
    samples_free(&ck);
    for (size_t i = 0; i < c.ncids; i++)
        free(c.cids[i]);
    free(c.cids);
    return 0;
}
