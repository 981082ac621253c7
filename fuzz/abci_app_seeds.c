/* abci_app_seeds.c - writes the seed corpus of abci_app_fuzz (ABCI request streams for the
 * fixture chain, app_fixture.h), the proposal-id seed of query_fuzz, and the votes of
 * tx_fuzz's fixed state that pass every check (tx_fuzz.c builds the same state). Not a test;
 * run it when a fixture changes, review the diff, commit:
 *   build/fuzz/abci_app_seeds fuzz/abci_app_corpus fuzz/query_corpus fuzz/tx_corpus */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abci/frame.h"
#include "app_fixture.h"
#include "ed25519.h"
#include "fuzz_common.h"
#include "sb_buf.h"
#include "tx.h"

static uint8_t g_buf[1 << 16];
static size_t g_len;

static void add(const Tendermint__Abci__Request *r)
{
    size_t n = abci_frame_pack(&r->base, g_buf + g_len, sizeof(g_buf) - g_len);
    FUZZ_CHECK(n > 0, "seed too big");
    g_len += n;
}

static void save(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    FUZZ_CHECK(f && fwrite(g_buf, 1, g_len, f) == g_len && fclose(f) == 0, p);
    g_len = 0;
}

/* One request of each kind the session uses. */
static void info(void)
{
    Tendermint__Abci__RequestInfo x = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    x.version = "0.38.26";
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    r.info = &x;
    add(&r);
}

static void flush(void)
{
    Tendermint__Abci__RequestFlush x = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    r.flush = &x;
    add(&r);
}

static void init_chain(int v1_form, const char *app_state)
{
    Tendermint__Abci__RequestInitChain x;
    fx_init_chain(&x, v1_form);
    if (app_state) {
        x.app_state_bytes.data = (uint8_t *)app_state;
        x.app_state_bytes.len = strlen(app_state);
    }
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INIT_CHAIN;
    r.init_chain = &x;
    add(&r);
}

static void finalize(int64_t h, int64_t t_s, const ProtobufCBinaryData *txs, size_t n)
{
    Tendermint__Abci__RequestFinalizeBlock x;
    Tendermint__Abci__Timestamp ts;
    fx_finalize(&x, &ts, h, FX_GENESIS_NS + t_s * FX_S, txs, n);
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    r.finalize_block = &x;
    add(&r);
}

static void commit(void)
{
    Tendermint__Abci__RequestCommit x = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_COMMIT;
    r.commit = &x;
    add(&r);
}

static void check_tx(const ProtobufCBinaryData *tx, int type_v038, int type_v1)
{
    Tendermint__Abci__RequestCheckTx x = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    x.tx = *tx;
    x.type = (Tendermint__Abci__CheckTxType)type_v038;
    x.type_v1 = type_v1;
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
    r.check_tx = &x;
    add(&r);
}

static void query(const char *path, int64_t height)
{
    Tendermint__Abci__RequestQuery x = TENDERMINT__ABCI__REQUEST_QUERY__INIT;
    x.path = (char *)path;
    x.height = height;
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_QUERY;
    r.query = &x;
    add(&r);
}

static void prepare_process(int64_t h, int64_t t_s, const ProtobufCBinaryData *txs, size_t n)
{
    Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    ts.seconds = (FX_GENESIS_NS + t_s * FX_S) / FX_S;
    ts.nanos = (int32_t)((FX_GENESIS_NS + t_s * FX_S) % FX_S);
    Tendermint__Abci__RequestPrepareProposal p = TENDERMINT__ABCI__REQUEST_PREPARE_PROPOSAL__INIT;
    p.max_tx_bytes = 1 << 20;
    p.n_txs = n;
    p.txs = (ProtobufCBinaryData *)txs;
    p.height = h;
    p.time = &ts;
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PREPARE_PROPOSAL;
    r.prepare_proposal = &p;
    add(&r);
    Tendermint__Abci__RequestProcessProposal q = TENDERMINT__ABCI__REQUEST_PROCESS_PROPOSAL__INIT;
    q.n_txs = n;
    q.txs = (ProtobufCBinaryData *)txs;
    q.height = h;
    q.time = &ts;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_PROCESS_PROPOSAL;
    r.process_proposal = &q;
    add(&r);
}

/* tx_fuzz's state: curator A proposed for slots 1 and 2 (this track, no note); votes for
 * them by V3 (signed by its delegated vote key d4..) and by V1 are accepted. */
static void write_tx_seeds(const char *dir)
{
    static const sb_track_in t = { "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswty",
                                   1000, "Track", "Artist" };
    uint8_t sa[32], sv1[32], sv3[32], svk3[32], pv1[32], pv3[32], id[2][32];
    memset(sa, 0xa1, 32);
    memset(sv1, 0x11, 32);
    memset(sv3, 0x33, 32);
    memset(svk3, 0xd4, 32);
    FUZZ_CHECK(sb_ed25519_pubkey(sv1, pv1) == 0 && sb_ed25519_pubkey(sv3, pv3) == 0, "keys");
    for (int i = 0; i < 2; i++) {
        sb_buf b;
        sb_buf_init(&b, 1 << 16);
        FUZZ_CHECK(sb_tx_build_proposal(FX_CHAIN, (uint64_t)i + 1, sa, &t, 1, NULL, &b, id[i]) == 0,
                   "state proposal");
        sb_buf_free(&b);
    }
    const struct {
        const char *name;
        int slot;
        const uint8_t *pub, *seed;
    } v[2] = { { "vote-v3-delegated.bin", 1, pv3, svk3 }, { "vote-v1-slot2.bin", 2, pv1, sv1 } };
    for (int i = 0; i < 2; i++) {
        sb_buf b;
        sb_buf_init(&b, 1 << 16);
        FUZZ_CHECK(sb_tx_build_vote(FX_CHAIN, (uint64_t)v[i].slot, id[v[i].slot - 1], v[i].pub,
                                    v[i].seed, &b) == 0,
                   "vote seed");
        FUZZ_CHECK(b.len < sizeof(g_buf), "vote size");
        memcpy(g_buf, b.data, b.len);
        g_len = b.len;
        sb_buf_free(&b);
        save(dir, v[i].name);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ABCI_APP_CORPUS QUERY_CORPUS TX_CORPUS\n", argv[0]);
        return 2;
    }
    const char *d = argv[1];
    const ProtobufCBinaryData *tx = fx_txs();
    char path[128];

    /* the whole fixture chain, with the queries and mempool traffic between blocks */
    info();
    init_chain(0, NULL);
    flush();
    check_tx(&tx[0], 0, 0);
    check_tx(&tx[4], 0, 2);
    prepare_process(1, 1, tx, 2);
    finalize(1, 1, tx, 2);
    commit();
    check_tx(&tx[2], 0, 0);
    check_tx(&tx[2], 1, 0); /* RECHECK */
    query("/slot/1", 0);
    finalize(2, 3, tx + 2, 2);
    commit();
    finalize(3, 53, NULL, 0);
    commit();
    query("/winner/1", 0);
    snprintf(path, sizeof(path), "/proposal/%s", fx_proposal_a_hex());
    query(path, 0);
    query("/pins/1", 3);
    query("/slot/current", 1);
    info();
    flush();
    save(d, "session");

    info();
    init_chain(1, NULL); /* v1.0 validator form */
    flush();
    save(d, "init_chain_v1");

    check_tx(&tx[0], 0, 0);
    query("/params", 0);
    prepare_process(1, 1, tx, 5);
    flush();
    save(d, "before_init_chain");

    init_chain(0, NULL);
    finalize(5, 1, tx, 1); /* wrong height: refused, connection closed */
    flush();
    save(d, "refused_finalize_wrong_height");

    init_chain(0, NULL);
    finalize(1, 1, tx, 1);
    finalize(1, 1, tx, 2); /* again without Commit: starts over */
    commit();
    init_chain(0, NULL); /* after height 1: refused */
    save(d, "refused_replay_then_init_again");

    init_chain(0, "{\"slot_seconds\":0}");
    flush();
    save(d, "refused_bad_genesis");

    init_chain(0, NULL);
    prepare_process(1, 1, tx, 5);
    finalize(1, 1, tx, 5);
    commit();
    finalize(2, 1900, NULL, 0); /* a stall: ~95 slots finalized in one block */
    commit();
    query("/slot/90", 0);
    save(d, "stall_and_stranger");

    FILE *f;
    snprintf(path, sizeof(path), "%s/proposal_a", argv[2]);
    f = fopen(path, "w");
    FUZZ_CHECK(f && fprintf(f, "/proposal/%s", fx_proposal_a_hex()) > 0 && fclose(f) == 0,
               "query seed");
    write_tx_seeds(argv[3]);
    return 0;
}
