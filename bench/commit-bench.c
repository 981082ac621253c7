/* commit-bench.c - Commit latency of sleetbubbled's app with the pin worker running
 * (protocol.md §10 "consensus never waits on IPFS").
 *
 *   commit-bench --kubo http://127.0.0.1:5001/api/v0/ --blocks 240 --cid CID [--cid CID…]
 *
 * Drives the real ABCI callbacks (InitChain, FinalizeBlock, Commit) over a real SQLite store
 * in a temp dir, one block per simulated second, with a 10 s slot: every slot gets a
 * proposal (the given track CIDs) and a validator vote, so every slot finalizes with a winner
 * and queues pin jobs that the worker drains against Kubo meanwhile. Prints Commit p50/p99
 * and FinalizeBlock p50 in microseconds. Run it once with Kubo up and once with Kubo down
 * (scripts/bench does both and prints the ratio). Wall-clock timing is fine here: this is a
 * benchmark, not consensus code. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abci/ctx.h"
#include "app-internal.h"
#include "config.h"
#include "ed25519.h"
#include "log.h"
#include "pin.h"
#include "sb_buf.h"
#include "tx.h"

#define MAX_CIDS 16

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(int64_t *v, size_t n, int p)
{
    qsort(v, n, sizeof(*v), cmp_i64);
    size_t i = (n * (size_t)p) / 100;
    return v[i < n ? i : n - 1];
}

static void hex(const uint8_t *p, size_t n, char *out) { sb_hex(p, n, out); }

static void wake(void *arg, int64_t height) { sb_pin_notify(arg, height); }

int main(int argc, char **argv)
{
    const char *kubo = NULL, *cids[MAX_CIDS];
    size_t ncid = 0;
    long blocks = 240;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kubo") && i + 1 < argc)
            kubo = argv[++i];
        else if (!strcmp(argv[i], "--blocks") && i + 1 < argc)
            blocks = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--cid") && i + 1 < argc && ncid < MAX_CIDS)
            cids[ncid++] = argv[++i];
        else {
            fprintf(stderr, "usage: commit-bench --kubo URL [--blocks N] --cid CID...\n");
            return 2;
        }
    }
    if (!kubo || !ncid || blocks < 200) {
        fprintf(stderr, "commit-bench: need --kubo, at least one --cid and --blocks >= 200\n");
        return 2;
    }
    sb_log_setup(SB_LOG_ERROR, 0);

    char dir[] = "/tmp/sb-commit-bench.XXXXXX", db[300], err[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof(db), "%s/sleetbubble.db", dir);

    sb_config cfg;
    sb_config_defaults(&cfg);
    snprintf(cfg.ipfs.api_url, sizeof(cfg.ipfs.api_url), "%s", kubo);
    cfg.ipfs.timeout_seconds = 5;
    cfg.pin.stall_seconds = 3;

    sb_store *store;
    if (sb_store_open(db, &store, err, sizeof(err)) < 0) {
        fprintf(stderr, "commit-bench: %s\n", err);
        return 1;
    }
    /* The worker reads the store read-only and keeps its progress in its own file. */
    char pins[4200];
    snprintf(pins, sizeof(pins), "%s.pins", db);
    sb_pin *pin = sb_pin_start(&cfg, db, pins, err, sizeof(err));
    if (!pin) {
        fprintf(stderr, "commit-bench: pin worker: %s\n", err);
        return 1;
    }
    sb_app_opts ao = { .pin_enabled = 1, .on_commit = wake, .on_commit_arg = pin };
    sb_app *app = sb_app_new(store, &ao, err, sizeof(err));
    if (!app) {
        fprintf(stderr, "commit-bench: %s\n", err);
        return 1;
    }
    const abci_app_t *T = sb_app_abci();
    abci_ctx *ctx = abci_ctx_new("bench");
    if (!ctx)
        return 1;

    /* Genesis: one validator (seed 0x11…), one curator (seed 0xa1…), 10 s slots. */
    uint8_t vseed[32], cseed[32], vpub[32], cpub[32];
    memset(vseed, 0x11, 32);
    memset(cseed, 0xa1, 32);
    sb_ed25519_pubkey(vseed, vpub);
    sb_ed25519_pubkey(cseed, cpub);
    char chex[65], app_state[256];
    hex(cpub, 32, chex);
    snprintf(app_state, sizeof(app_state),
             "{\"slot_seconds\":10,\"close_lead_seconds\":2,\"curators\":[\"%s\"]}", chex);
    const int64_t t0 = 1795392000LL * 1000000000LL;
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = t0 / 1000000000LL;
    Tendermint__Abci__PublicKey pk = TENDERMINT__ABCI__PUBLIC_KEY__INIT;
    pk.ed25519.data = vpub;
    pk.ed25519.len = 32;
    Tendermint__Abci__ValidatorUpdate vu = TENDERMINT__ABCI__VALIDATOR_UPDATE__INIT, *vp = &vu;
    vu.pub_key = &pk;
    vu.power = 10;
    Tendermint__Abci__RequestInitChain ic = TENDERMINT__ABCI__REQUEST_INIT_CHAIN__INIT;
    Tendermint__Abci__ResponseInitChain icr = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
    ic.chain_id = "commit-bench";
    ic.time = &ts;
    ic.validators = &vp;
    ic.n_validators = 1;
    ic.app_state_bytes.data = (uint8_t *)app_state;
    ic.app_state_bytes.len = strlen(app_state);
    ic.initial_height = 1;
    if (T->init_chain(app, ctx, &ic, &icr) < 0)
        return 1;
    abci_ctx_reset(ctx);

    sb_track_in tracks[MAX_CIDS];
    for (size_t i = 0; i < ncid; i++)
        tracks[i] = (sb_track_in){ cids[i], 1000, "bench", "bench" };
    int64_t *commit_us = calloc((size_t)blocks, sizeof(int64_t));
    int64_t *fin_us = calloc((size_t)blocks, sizeof(int64_t));
    uint8_t pid[32] = { 0 };
    uint64_t proposed_for = UINT64_MAX;
    for (long h = 1; h <= blocks; h++) {
        int64_t t = t0 + h * 1000000000LL;
        uint64_t slot = (uint64_t)((t - t0) / 10000000000LL) + 1; /* next slot, still open */
        sb_buf txb[2];
        ProtobufCBinaryData txs[2];
        size_t ntx = 0;
        sb_buf_init(&txb[0], 1 << 16);
        sb_buf_init(&txb[1], 1 << 16);
        if (slot != proposed_for) { /* propose for the next slot */
            char note[32];
            snprintf(note, sizeof(note), "h%ld", h);
            sb_tx_build_proposal("commit-bench", slot, cseed, tracks, ncid, note, &txb[0], pid);
            txs[ntx].data = txb[0].data;
            txs[ntx++].len = txb[0].len;
            proposed_for = slot;
        } else if ((h % 10) == 3) { /* vote once the proposal is committed */
            sb_tx_build_vote("commit-bench", slot, pid, vpub, vseed, &txb[1]);
            txs[ntx].data = txb[1].data;
            txs[ntx++].len = txb[1].len;
        }
        Tendermint__Abci__Timestamp bt = TENDERMINT__ABCI__TIMESTAMP__INIT;
        bt.seconds = t / 1000000000LL;
        Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
        Tendermint__Abci__ResponseFinalizeBlock fbr =
            TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
        fb.height = h;
        fb.time = &bt;
        fb.txs = txs;
        fb.n_txs = ntx;
        int64_t a = now_us();
        if (T->finalize_block(app, ctx, &fb, &fbr) < 0)
            return 1;
        int64_t b = now_us();
        Tendermint__Abci__RequestCommit cm = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
        Tendermint__Abci__ResponseCommit cmr = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
        if (T->commit(app, ctx, &cm, &cmr) < 0)
            return 1;
        int64_t c = now_us();
        fin_us[h - 1] = b - a;
        commit_us[h - 1] = c - b;
        abci_ctx_reset(ctx);
        sb_buf_free(&txb[0]);
        sb_buf_free(&txb[1]);
        usleep(20000); /* let the worker run between blocks, as real block intervals do */
    }
    int64_t c50 = pct(commit_us, (size_t)blocks, 50), c99 = pct(commit_us, (size_t)blocks, 99);
    int64_t f50 = pct(fin_us, (size_t)blocks, 50);
    printf("blocks=%ld commit_p50_us=%" PRId64 " commit_p99_us=%" PRId64 " finalize_p50_us=%" PRId64
           "\n",
           blocks, c50, c99, f50);
    abci_ctx_free(ctx);
    sb_pin_stop(pin);
    sb_app_free(app);
    sb_store_close(store);
    free(commit_us);
    free(fin_us);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
