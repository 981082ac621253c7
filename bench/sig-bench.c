/* sig-bench.c - signature work of the real app (protocol.md §4, §4.1) behind the real ABCI
 * server, in one process: the server runs on its own thread over one end of a socketpair
 * (abci_server_serve_fd) with a worker pool of --workers threads; this thread is the client.
 *
 *   sig-bench checktx --workers N [--n TXS]
 *       distinct signed txs through CheckTx at window 256 (256 requests + Flush, then their
 *       responses): half with a bad signature (SIGNATURE), half validly signed by keys that are
 *       not curators (CURATOR_NOT_ALLOWED). Prints "checktx_per_s=..." .
 *   sig-bench block [--validators N]
 *       a genesis of N validators (default 10,000) and one curator; a proposal block, then a
 *       block of one valid vote per validator: ProcessProposal with the signature cache cold
 *       and warm, and FinalizeBlock+Commit cold (no CheckTx before) and warm (every vote sent
 *       through CheckTx first). Prints milliseconds (worker pool = the online CPUs).
 *
 * Timings use CLOCK_MONOTONIC (a tool, never consensus code); scripts/bench prints them as
 * ratios against `openssl speed ed25519` measured in the same run. */
#include <event2/event.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "abci/abci.h"
#include "abci/frame.h"
#include "app-internal.h"
#include "ed25519.h"
#include "sb_code.h"
#include "tx.h"

#define WINDOW 256
#define G_NS 1795392000000000000LL /* genesis time, 2026-11-23T00:00:00Z */

static void die(const char *what)
{
    fprintf(stderr, "sig-bench: %s\n", what);
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- one node: store + app + server on a thread, and the client end ---------------------- */

typedef struct node {
    char dir[64];
    sb_store *store;
    sb_app *app;
    struct event_base *base;
    abci_server *srv;
    pthread_t thread;
    int fd;
    uint8_t *in;
    size_t inlen, incap;
} node;

static void *loop_main(void *arg)
{
    node *n = arg;
    event_base_loop(n->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void node_start(node *n, size_t workers, size_t cache_entries)
{
    char path[128], err[256];
    int sv[2];
    memset(n, 0, sizeof(*n));
    snprintf(n->dir, sizeof(n->dir), "/tmp/sb-sig-bench.XXXXXX");
    if (!mkdtemp(n->dir))
        die("mkdtemp");
    snprintf(path, sizeof(path), "%s/state.db", n->dir);
    if (sb_store_open(path, &n->store, err, sizeof(err)) < 0)
        die(err);
    sb_app_opts o = { .sig_cache_entries = cache_entries };
    if (!(n->app = sb_app_new(n->store, &o, err, sizeof(err))))
        die(err);
    abci_server_opts so = { .workers = workers, .max_frame_bytes = (size_t)256 << 20 };
    if (!(n->base = event_base_new()) ||
        !(n->srv = abci_server_new(n->base, sb_app_abci(), n->app, &so)))
        die("server");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
        abci_server_serve_fd(n->srv, sv[0], "bench") < 0)
        die("socketpair");
    n->fd = sv[1];
    if (pthread_create(&n->thread, NULL, loop_main, n) != 0)
        die("pthread_create");
}

static void node_stop(node *n)
{
    char cmd[128];
    close(n->fd);
    event_base_loopbreak(n->base);
    pthread_join(n->thread, NULL);
    abci_server_free(n->srv);
    event_base_free(n->base);
    sb_app_free(n->app);
    sb_store_close(n->store);
    free(n->in);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", n->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "sig-bench: could not remove %s\n", n->dir);
}

static void send_req(node *n, const Tendermint__Abci__Request *r)
{
    size_t len;
    uint8_t *f = abci_frame_encode(&r->base, &len);
    if (!f)
        die("encode");
    for (size_t off = 0; off < len;) {
        ssize_t w = write(n->fd, f + off, len - off);
        if (w <= 0)
            die("write");
        off += (size_t)w;
    }
    free(f);
}

static void send_flush(node *n)
{
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestFlush fl = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    r.flush = &fl;
    send_req(n, &r);
}

/* Next response (caller frees with tendermint__abci__response__free_unpacked). */
static Tendermint__Abci__Response *recv_resp(node *n)
{
    for (;;) {
        abci_reader rd = { n->in, n->inlen, 0 };
        const uint8_t *body;
        uint64_t blen;
        abci_frame_status st = abci_frame_next(&rd, (size_t)256 << 20, &body, &blen);
        if (st == ABCI_FRAME_OK) {
            Tendermint__Abci__Response *r = tendermint__abci__response__unpack(NULL, blen, body);
            if (!r || r->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION)
                die("bad response");
            memmove(n->in, n->in + rd.pos, n->inlen - rd.pos);
            n->inlen -= rd.pos;
            return r;
        }
        if (st != ABCI_FRAME_NEED_MORE)
            die("bad frame");
        if (n->incap - n->inlen < 65536) {
            n->incap = n->incap * 2 + 65536;
            if (!(n->in = realloc(n->in, n->incap)))
                die("out of memory");
        }
        ssize_t got = read(n->fd, n->in + n->inlen, n->incap - n->inlen);
        if (got <= 0)
            die("server closed the connection");
        n->inlen += (size_t)got;
    }
}

/* Send one request and a Flush; return the response (the Flush's is read and dropped). */
static Tendermint__Abci__Response *call(node *n, const Tendermint__Abci__Request *r)
{
    send_req(n, r);
    send_flush(n);
    Tendermint__Abci__Response *res = recv_resp(n);
    tendermint__abci__response__free_unpacked(recv_resp(n), NULL);
    return res;
}

/* ---- chain setup ------------------------------------------------------------------------- */

static void seed_of(uint32_t i, uint8_t tag, uint8_t seed[32])
{
    memset(seed, 0x5a, 32);
    memcpy(seed, &i, sizeof i);
    seed[4] = tag;
}

static Tendermint__Abci__Timestamp ts_of(int64_t t)
{
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t / 1000000000;
    ts.nanos = (int32_t)(t % 1000000000);
    return ts;
}

/* InitChain: nval validators (seeds seed_of(i, 'v')), one curator (seed_of(0, 'c')); the
 * epoch one minute after genesis, so slot 0 is open until G + 50 s. */
static void init_chain(node *n, uint32_t nval)
{
    Tendermint__Abci__ValidatorUpdate *vu = calloc(nval, sizeof(*vu));
    Tendermint__Abci__ValidatorUpdate **vp = calloc(nval, sizeof(*vp));
    Tendermint__Abci__PublicKey *pk = calloc(nval, sizeof(*pk));
    uint8_t(*keys)[32] = calloc(nval, 32), seed[32], cur[32];
    char as[256], hex[65];
    if (!vu || !vp || !pk || !keys)
        die("out of memory");
    for (uint32_t i = 0; i < nval; i++) {
        seed_of(i, 'v', seed);
        if (sb_ed25519_pubkey(seed, keys[i]) < 0)
            die("pubkey");
        tendermint__abci__validator_update__init(&vu[i]);
        tendermint__abci__public_key__init(&pk[i]);
        pk[i].ed25519.data = keys[i];
        pk[i].ed25519.len = 32;
        vu[i].pub_key = &pk[i];
        vu[i].power = 1;
        vp[i] = &vu[i];
    }
    seed_of(0, 'c', seed);
    sb_ed25519_pubkey(seed, cur);
    sb_hex(cur, 32, hex);
    snprintf(as, sizeof(as),
             "{\"slot_seconds\":60,\"close_lead_seconds\":10,\"horizon_slots\":3,"
             "\"epoch\":\"2026-11-23T00:01:00Z\",\"curators\":[\"%s\"]}",
             hex);
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestInitChain ic = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__Timestamp ts = ts_of(G_NS);
    ic.chain_id = "sig-bench";
    ic.time = &ts;
    ic.validators = vp;
    ic.n_validators = nval;
    ic.app_state_bytes.data = (uint8_t *)as;
    ic.app_state_bytes.len = strlen(as);
    ic.initial_height = 1;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN;
    r.init_chain = &ic;
    tendermint__abci__response__free_unpacked(call(n, &r), NULL);
    free(vu);
    free(vp);
    free(pk);
    free(keys);
}

/* A proposal for slot 0 with note "n<i>" signed by seed (bad: its signature corrupted). */
static void make_proposal(const uint8_t seed[32], uint32_t i, int bad, ProtobufCBinaryData *out,
                          uint8_t id[32])
{
    sb_track_in t = { "bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se", 3000, "T",
                      "A" };
    char note[32];
    sb_buf b;
    snprintf(note, sizeof(note), "n%" PRIu32, i);
    sb_buf_init(&b, 1 << 20);
    if (sb_tx_build_proposal("sig-bench", 0, seed, &t, 1, note, &b, id) < 0)
        die("build proposal");
    if (bad)
        b.data[b.len - 64] ^= 1; /* R of the signature: the last 64 bytes */
    out->data = b.data;
    out->len = b.len;
}

static void checktx_window(node *n, ProtobufCBinaryData *txs, size_t k, uint32_t *codes)
{
    for (size_t i = 0; i < k; i++) {
        Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
        Tendermint__Abci__RequestCheckTx ct = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
        ct.tx = txs[i];
        r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
        r.check_tx = &ct;
        send_req(n, &r);
    }
    send_flush(n);
    for (size_t i = 0; i <= k; i++) {
        Tendermint__Abci__Response *res = recv_resp(n);
        if (i < k) {
            if (res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX)
                die("not a CheckTx response");
            codes[i] = res->check_tx->code;
        }
        tendermint__abci__response__free_unpacked(res, NULL);
    }
}

/* CheckTx of txs[0..n) at window WINDOW; codes into codes. Returns ms. */
static double checktx_all(node *n, ProtobufCBinaryData *txs, size_t count, uint32_t *codes)
{
    double t0 = now_ms();
    for (size_t i = 0; i < count; i += WINDOW)
        checktx_window(n, txs + i, count - i < WINDOW ? count - i : WINDOW, codes + i);
    return now_ms() - t0;
}

static int bench_checktx(size_t workers, size_t count)
{
    node n;
    uint8_t seed[32], id[32];
    ProtobufCBinaryData *txs = calloc(count, sizeof(*txs));
    uint32_t *codes = calloc(count, sizeof(*codes));
    if (!txs || !codes)
        die("out of memory");
    for (uint32_t i = 0; i < count; i++) {
        seed_of(i % 2 ? i : 0, i % 2 ? 's' : 'c', seed); /* odd: a stranger's good signature */
        make_proposal(seed, i, i % 2 == 0, &txs[i], id);
    }
    node_start(&n, workers, 65536);
    init_chain(&n, 1);
    double ms = checktx_all(&n, txs, count, codes);
    for (size_t i = 0; i < count; i++)
        if (codes[i] != (i % 2 ? SB_CURATOR_NOT_ALLOWED : SB_SIGNATURE))
            die("unexpected CheckTx code");
    printf("checktx txs=%zu workers=%zu ms=%.1f checktx_per_s=%.0f\n", count, workers, ms,
           (double)count * 1000.0 / ms);
    node_stop(&n);
    for (size_t i = 0; i < count; i++)
        free(txs[i].data);
    free(txs);
    free(codes);
    return 0;
}

/* ---- block ------------------------------------------------------------------------------- */

static double finalize_commit(node *n, ProtobufCBinaryData *txs, size_t count, int64_t height,
                              int64_t t, uint32_t want_code)
{
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    Tendermint__Abci__RequestCommit cm = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__Timestamp ts = ts_of(t);
    fb.txs = txs;
    fb.n_txs = count;
    fb.height = height;
    fb.time = &ts;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    r.finalize_block = &fb;
    double t0 = now_ms();
    Tendermint__Abci__Response *res = call(n, &r);
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    r.commit = &cm;
    tendermint__abci__response__free_unpacked(call(n, &r), NULL);
    double ms = now_ms() - t0;
    if (res->finalize_block->n_tx_results != count)
        die("FinalizeBlock: wrong number of results");
    for (size_t i = 0; i < count; i++)
        if (res->finalize_block->tx_results[i]->code != want_code)
            die("FinalizeBlock: unexpected code");
    tendermint__abci__response__free_unpacked(res, NULL);
    return ms;
}

static double process(node *n, ProtobufCBinaryData *txs, size_t count, int64_t t)
{
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestProcessProposal pp = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    Tendermint__Abci__Timestamp ts = ts_of(t);
    pp.txs = txs;
    pp.n_txs = count;
    pp.height = 2;
    pp.time = &ts;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL;
    r.process_proposal = &pp;
    double t0 = now_ms();
    Tendermint__Abci__Response *res = call(n, &r);
    double ms = now_ms() - t0;
    if (res->process_proposal->status !=
        TENDERMINT__ABCI__RESPONSE_PROCESS_PROPOSAL__PROPOSAL_STATUS__ACCEPT)
        die("ProcessProposal rejected the block");
    tendermint__abci__response__free_unpacked(res, NULL);
    return ms;
}

/* InitChain with nval validators and block 1 holding the curator's proposal; its id in id. */
static void chain_to_votes(node *n, uint32_t nval, uint8_t id[32])
{
    uint8_t seed[32];
    ProtobufCBinaryData prop;
    init_chain(n, nval);
    seed_of(0, 'c', seed);
    make_proposal(seed, 0, 0, &prop, id);
    finalize_commit(n, &prop, 1, 1, G_NS + 1000000000LL, SB_OK);
    free(prop.data);
}

static uint64_t verifies(void)
{
    sb_sigcache_stats st;
    sb_sigcache_stats_get(NULL, &st);
    return st.verifies;
}

static int bench_block(uint32_t nval)
{
    node a, b;
    uint8_t id[32], seed[32], pub[32];
    ProtobufCBinaryData *votes = calloc(nval, sizeof(*votes));
    uint32_t *codes = calloc(nval, sizeof(*codes));
    int64_t t2 = G_NS + 2000000000LL;
    if (!votes || !codes)
        die("out of memory");
    node_start(&a, 0, 65536);
    node_start(&b, 0, 65536);
    chain_to_votes(&a, nval, id);
    chain_to_votes(&b, nval, id);
    for (uint32_t i = 0; i < nval; i++) {
        sb_buf v;
        seed_of(i, 'v', seed);
        sb_ed25519_pubkey(seed, pub);
        sb_buf_init(&v, 4096);
        if (sb_tx_build_vote("sig-bench", 0, id, pub, seed, &v) < 0)
            die("build vote");
        votes[i].data = v.data;
        votes[i].len = v.len;
    }
    sb_sigcache_clear(a.app->sigcache);
    uint64_t v0 = verifies();
    double pp_cold = process(&a, votes, nval, t2);
    uint64_t v1 = verifies();
    double pp_warm = process(&a, votes, nval, t2);
    uint64_t v2 = verifies();
    sb_sigcache_clear(a.app->sigcache);
    double fb_cold = finalize_commit(&a, votes, nval, 2, t2, SB_OK);
    double ct = checktx_all(&b, votes, nval, codes);
    for (uint32_t i = 0; i < nval; i++)
        if (codes[i] != SB_OK)
            die("CheckTx of a vote was not OK");
    uint64_t v3 = verifies();
    double fb_warm = finalize_commit(&b, votes, nval, 2, t2, SB_OK);
    uint64_t v4 = verifies();
    printf("block votes=%" PRIu32 " cpus=%ld process_cold_ms=%.1f process_warm_ms=%.1f "
           "finalize_commit_cold_ms=%.1f finalize_commit_warm_ms=%.1f checktx_ms=%.1f "
           "verified_process_cold=%" PRIu64 " verified_process_warm=%" PRIu64
           " verified_finalize_warm=%" PRIu64 "\n",
           nval, sysconf(_SC_NPROCESSORS_ONLN), pp_cold, pp_warm, fb_cold, fb_warm, ct, v1 - v0,
           v2 - v1, v4 - v3);
    node_stop(&a);
    node_stop(&b);
    for (uint32_t i = 0; i < nval; i++)
        free(votes[i].data);
    free(votes);
    free(codes);
    return 0;
}

static size_t opt_num(int argc, char **argv, const char *name, size_t dflt)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return (size_t)strtoull(argv[i + 1], NULL, 10);
    return dflt;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    if (argc >= 2 && strcmp(argv[1], "checktx") == 0)
        return bench_checktx(opt_num(argc, argv, "--workers", 1), opt_num(argc, argv, "--n", 4096));
    if (argc >= 2 && strcmp(argv[1], "block") == 0)
        return bench_block((uint32_t)opt_num(argc, argv, "--validators", 10000));
    fprintf(stderr, "usage: sig-bench checktx --workers N [--n TXS] | block [--validators N]\n");
    return 2;
}
