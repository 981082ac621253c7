/* abci_app_fuzz.c - an ABCI byte stream into the REAL sleetbubbled callbacks (src/node/app.c:
 * InitChain, CheckTx, PrepareProposal, ProcessProposal, FinalizeBlock, Commit, Query, Info)
 * over a real connection of the ABCI server, with a fresh SQLite store per input (files in
 * /dev/shm, removed afterwards), so a crash replays from the input alone.
 *
 * Checks: abci_stream.h's (answers in order and of the right kind, all of them unless the
 * app refused a request, the close reason the model predicts, no hang), sanitizers, and a
 * restart after the connection ends: the committed height and app hash read back from the
 * store equal what the app held (Commit is durable, nothing uncommitted survives).
 * Seeds: fuzz/abci_app_corpus/, written by abci_app_seeds (a chain session, refused and
 * malformed variants). Replay: each seed also without its last byte.
 *
 * Skipped (libFuzzer: rejected from the corpus): streams with a FinalizeBlock more than
 * MAX_GAP_S (2,000) seconds after the InitChain before it. Such a block finalizes every slot
 * of the gap, (gap / slot_seconds) of them - the known limit "Catch-up after a long gap" of
 * docs/design.md - and the fuzzer would only find that slow inputs are slow. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "abci/frame.h"
#include "abci_stream.h"
#include "app-internal.h"
#include "app_fixture.h"
#include "fuzz_common.h"

#define MAX_GAP_S 2000

static struct event_base *g_base;
static size_t g_responses, g_refused, g_max_height, g_skipped;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    fx_quiet_logs();
    g_base = event_base_new();
    FUZZ_CHECK(g_base != NULL, "event base");
    return 0;
}

static void run(const uint8_t *data, size_t size, abci_stream_result *r)
{
    fx_app f;
    fx_app_open(&f);
    abci_server_opts o = { .max_frame_bytes = ABCI_STREAM_MAX_FRAME, .log = abci_stream_log };
    abci_server *srv = abci_server_new(g_base, sb_app_abci(), f.app, &o);
    FUZZ_CHECK(srv != NULL, "server");
    abci_stream_run(g_base, srv, data, size, 1, r);
    abci_server_free(srv);

    /* restart: what Commit made durable is exactly what the app reported (a stream that
     * committed nothing is restarted one time in eight: opening a store costs more than
     * most inputs) */
    int64_t h = sb_app_height(f.app);
    uint8_t hash[32];
    int has = f.app->committed.has_app_hash;
    memcpy(hash, f.app->committed.app_hash, 32);
    if (h > 0 || size % 8 == 0) {
        fx_app_restart(&f);
        FUZZ_CHECK(sb_app_height(f.app) == h, "committed height changed across a restart");
        if (h > 0)
            FUZZ_CHECK(f.app->committed.has_app_hash == has &&
                           memcmp(f.app->committed.app_hash, hash, 32) == 0,
                       "committed app hash changed across a restart");
    }
    if ((size_t)h > g_max_height)
        g_max_height = (size_t)h;
    fx_app_close(&f);
    g_responses += r->responses;
    g_refused += r->app_refused != 0;
}

static __int128 ts_ns(const Tendermint__Abci__Timestamp *t)
{
    return t ? (__int128)t->seconds * FX_S + t->nanos : 0;
}

/* 1 when a FinalizeBlock comes more than MAX_GAP_S after the InitChain before it. */
static int long_gap(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    abci_reader r = { data, size, 0 };
    const uint8_t *body;
    uint64_t blen;
    __int128 genesis = 0;
    int have_genesis = 0, gap = 0;
    while (!gap && abci_frame_next(&r, ABCI_STREAM_MAX_FRAME, &body, &blen) == ABCI_FRAME_OK) {
        Tendermint__Abci__Request *q =
            tendermint__abci__request__unpack(NULL, (size_t)blen, blen ? body : empty);
        if (!q)
            break;
        if (q->value_case == TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN) {
            genesis = ts_ns(q->init_chain->time);
            have_genesis = 1;
        } else if (q->value_case == TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK &&
                   have_genesis) {
            gap = ts_ns(q->finalize_block->time) - genesis > (__int128)MAX_GAP_S * FX_S;
        }
        tendermint__abci__request__free_unpacked(q, NULL);
    }
    return gap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    abci_stream_result r;
    if (long_gap(data, size)) {
        g_skipped++;
        return -1;
    }
    run(data, size, &r);
    return 0;
}

void fuzz_replay_check(const char *name, const uint8_t *data, size_t size)
{
    abci_stream_result whole, cut;
    run(data, size, &whole);
    run(data, size ? size - 1 : 0, &cut);
    abci_stream_check_seed(name, &whole, &cut);
}

const char *fuzz_replay_summary(void)
{
    static char s[160];
    snprintf(s, sizeof(s),
             "; %zu responses checked, %zu streams refused by the app, "
             "highest committed height %zu, %zu long-gap streams skipped",
             g_responses, g_refused, g_max_height, g_skipped);
    return s;
}
