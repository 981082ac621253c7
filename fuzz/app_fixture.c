/* app_fixture.c - see app_fixture.h. */
#include "app_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abci/ctx.h"
#include "ed25519.h"
#include "fuzz_common.h"
#include "log.h"
#include "sb_buf.h"
#include "tx.h"

static uint8_t seed_of(uint8_t b, uint8_t out[32])
{
    memset(out, b, 32);
    return b;
}

/* An empty store with its schema, made once per process by sb_store_open and copied for
 * each fresh store (creating the schema costs most of a short input's time). */
static char g_template[300];
static uint8_t *g_tpl;
static size_t g_tpl_len;

static void drop_template(void) { free(g_tpl); }

static void make_template(const char *base)
{
    char dir[256], err[256];
    sb_store *st;
    snprintf(dir, sizeof(dir), "%s/sb-fuzz-template.XXXXXX", base);
    FUZZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(g_template, sizeof(g_template), "%s/sleetbubble.db", dir);
    if (sb_store_open(g_template, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz store template: %s\n", err);
        abort();
    }
    sb_store_close(st); /* the last close checkpoints the WAL into the file */
    FILE *in = fopen(g_template, "rb");
    FUZZ_CHECK(in != NULL, "open the template");
    g_tpl = malloc(1 << 20);
    FUZZ_CHECK(g_tpl != NULL, "out of memory");
    g_tpl_len = fread(g_tpl, 1, 1 << 20, in);
    FUZZ_CHECK(g_tpl_len > 0 && g_tpl_len < (1 << 20) && feof(in), "read the template");
    fclose(in);
    char p[320];
    static const char *const suffix[] = { "", "-wal", "-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", g_template, suffix[i]);
        unlink(p);
    }
    FUZZ_CHECK(rmdir(dir) == 0, "remove the template directory");
    atexit(drop_template);
}

void fx_app_open(fx_app *f)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    char err[256];
    if (!base || !*base)
        base = "/tmp";
    if (!g_tpl)
        make_template(base);
    snprintf(f->dir, sizeof(f->dir), "%s/sb-fuzz.XXXXXX", base);
    FUZZ_CHECK(mkdtemp(f->dir) != NULL, "mkdtemp");
    snprintf(f->db, sizeof(f->db), "%s/sleetbubble.db", f->dir);
    snprintf(f->pins, sizeof(f->pins), "%s/pins.db", f->dir);
    int fd = open(f->db, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0 && write(fd, g_tpl, g_tpl_len) == (ssize_t)g_tpl_len && close(fd) == 0,
               "copy the store template");
    if (sb_store_open(f->db, &f->store, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz store: %s\n", err);
        abort();
    }
    sb_app_opts o = { .pin_enabled = 1, .pin_db_path = f->pins };
    f->app = sb_app_new(f->store, &o, err, sizeof(err));
    if (!f->app) {
        fprintf(stderr, "fuzz app: %s\n", err);
        abort();
    }
}

void fx_app_restart(fx_app *f)
{
    char err[256];
    sb_app_free(f->app);
    sb_store_close(f->store);
    if (sb_store_open(f->db, &f->store, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz store reopen: %s\n", err);
        abort();
    }
    sb_app_opts o = { .pin_enabled = 1, .pin_db_path = f->pins };
    f->app = sb_app_new(f->store, &o, err, sizeof(err));
    if (!f->app) {
        fprintf(stderr, "fuzz app restart: %s\n", err);
        abort();
    }
}

void fx_app_close(fx_app *f)
{
    static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
    char p[320];
    sb_app_free(f->app);
    sb_store_close(f->store);
    f->app = NULL;
    f->store = NULL;
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", f->db, suffix[i]);
        unlink(p);
        snprintf(p, sizeof(p), "%s%s", f->pins, suffix[i]);
        unlink(p);
    }
    FUZZ_CHECK(rmdir(f->dir) == 0, "remove the store directory (a file left behind?)");
}

void fx_quiet_logs(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    FUZZ_CHECK(fd >= 0, "open /dev/null");
    sb_log_set_fd(fd);
    sb_log_setup(SB_LOG_ERROR, 0);
}

/* ---- the chain ------------------------------------------------------------------------ */

static ProtobufCBinaryData g_txs[FX_NTX];
static char g_id_a[65];
static uint8_t g_pub_v[2][32];

static void build_txs(void)
{
    if (g_txs[0].data)
        return;
    static const sb_track_in tracks[2] = {
        { "bafkreiczbspyimghinmapx4lvgshny7rffoun3zbb5xpvyqehjgaqwswty", 4000, "Track 0",
          "Test Artist" },
        { "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", 5000, "Track 1", "Test Artist" }
    };
    uint8_t sa[32], sb[32], sv1[32], sv2[32], sx[32], id_a[32], id_b[32];
    seed_of(0xa1, sa);
    seed_of(0xb2, sb);
    seed_of(0x11, sv1);
    seed_of(0x22, sv2);
    seed_of(0xc3, sx);
    FUZZ_CHECK(sb_ed25519_pubkey(sv1, g_pub_v[0]) == 0 && sb_ed25519_pubkey(sv2, g_pub_v[1]) == 0,
               "validator keys");
    sb_buf b[FX_NTX];
    for (int i = 0; i < FX_NTX; i++)
        sb_buf_init(&b[i], 1 << 16);
    FUZZ_CHECK(sb_tx_build_proposal(FX_CHAIN, 1, sa, tracks, 2, "fuzz", &b[0], id_a) == 0 &&
                   sb_tx_build_proposal(FX_CHAIN, 1, sb, tracks + 1, 1, NULL, &b[1], id_b) == 0 &&
                   sb_tx_build_vote(FX_CHAIN, 1, id_a, g_pub_v[0], sv1, &b[2]) == 0 &&
                   sb_tx_build_vote(FX_CHAIN, 1, id_a, g_pub_v[1], sv2, &b[3]) == 0 &&
                   sb_tx_build_proposal(FX_CHAIN, 2, sx, tracks, 1, NULL, &b[4], NULL) == 0,
               "build the chain's txs");
    for (int i = 0; i < FX_NTX; i++) {
        g_txs[i].len = b[i].len;
        g_txs[i].data = b[i].data; /* kept for the process's life */
    }
    sb_hex(id_a, 32, g_id_a);
}

const ProtobufCBinaryData *fx_txs(void)
{
    build_txs();
    return g_txs;
}

const char *fx_proposal_a_hex(void)
{
    build_txs();
    return g_id_a;
}

void fx_init_chain(Tendermint__Abci__RequestInitChain *r, int v1_form)
{
    static Tendermint__Abci__Timestamp ts = TENDERMINT__ABCI__TIMESTAMP__INIT;
    static Tendermint__Abci__PublicKey pk[2];
    static Tendermint__Abci__ValidatorUpdate vu[2];
    static Tendermint__Abci__ValidatorUpdate *vp[2];
    static char app_state[512];
    build_txs();
    uint8_t sa[32], sb[32], pa[32], pb[32];
    char ha[65], hb[65];
    seed_of(0xa1, sa);
    seed_of(0xb2, sb);
    FUZZ_CHECK(sb_ed25519_pubkey(sa, pa) == 0 && sb_ed25519_pubkey(sb, pb) == 0, "curators");
    sb_hex(pa, 32, ha);
    sb_hex(pb, 32, hb);
    snprintf(app_state, sizeof(app_state),
             "{\"slot_seconds\":20,\"close_lead_seconds\":8,\"horizon_slots\":48,"
             "\"max_proposals_per_slot\":4,\"curators\":[\"%s\",\"%s\"]}",
             ha, hb);
    ts.seconds = FX_GENESIS_NS / FX_S;
    ts.nanos = (int32_t)(FX_GENESIS_NS % FX_S);
    for (int i = 0; i < 2; i++) {
        tendermint__abci__public_key__init(&pk[i]);
        tendermint__abci__validator_update__init(&vu[i]);
        if (v1_form) {
            vu[i].pub_key_bytes.data = g_pub_v[i];
            vu[i].pub_key_bytes.len = 32;
            vu[i].pub_key_type = "ed25519";
        } else {
            pk[i].ed25519.data = g_pub_v[i];
            pk[i].ed25519.len = 32;
            vu[i].pub_key = &pk[i];
        }
        vu[i].power = i ? 10 : 30;
        vp[i] = &vu[i];
    }
    tendermint__abci__request_init_chain__init(r);
    r->time = &ts;
    r->chain_id = FX_CHAIN;
    r->n_validators = 2;
    r->validators = vp;
    r->app_state_bytes.data = (uint8_t *)app_state;
    r->app_state_bytes.len = strlen(app_state);
    r->initial_height = 1;
}

void fx_finalize(Tendermint__Abci__RequestFinalizeBlock *r, Tendermint__Abci__Timestamp *ts,
                 int64_t height, int64_t time_ns, const ProtobufCBinaryData *txs, size_t n)
{
    tendermint__abci__timestamp__init(ts);
    ts->seconds = time_ns / FX_S;
    ts->nanos = (int32_t)(time_ns % FX_S);
    tendermint__abci__request_finalize_block__init(r);
    r->height = height;
    r->time = ts;
    r->n_txs = n;
    r->txs = (ProtobufCBinaryData *)txs;
}

void fx_build_chain(fx_app *f)
{
    const abci_app_t *cb = sb_app_abci();
    abci_ctx *ctx = abci_ctx_new("fixture");
    FUZZ_CHECK(ctx != NULL, "out of memory");
    const ProtobufCBinaryData *tx = fx_txs();

    Tendermint__Abci__RequestInitChain ic;
    Tendermint__Abci__ResponseInitChain icr = TENDERMINT__ABCI__RESPONSE_INIT_CHAIN__INIT;
    fx_init_chain(&ic, 0);
    FUZZ_CHECK(cb->init_chain(f->app, ctx, &ic, &icr) == 0, "fixture InitChain");
    abci_ctx_reset(ctx);

    static const int64_t t[3] = { 1, 3, 53 };
    const ProtobufCBinaryData *blk[3] = { tx, tx + 2, NULL };
    for (int h = 1; h <= 3; h++) {
        Tendermint__Abci__RequestFinalizeBlock fb;
        Tendermint__Abci__Timestamp ts;
        Tendermint__Abci__ResponseFinalizeBlock fbr =
            TENDERMINT__ABCI__RESPONSE_FINALIZE_BLOCK__INIT;
        fx_finalize(&fb, &ts, h, FX_GENESIS_NS + t[h - 1] * FX_S, blk[h - 1], blk[h - 1] ? 2 : 0);
        FUZZ_CHECK(cb->finalize_block(f->app, ctx, &fb, &fbr) == 0, "fixture FinalizeBlock");
        for (size_t i = 0; i < fbr.n_tx_results; i++)
            FUZZ_CHECK(fbr.tx_results[i]->code == 0, "fixture tx rejected");
        abci_ctx_reset(ctx);
        Tendermint__Abci__RequestCommit c = TENDERMINT__ABCI__REQUEST_COMMIT__INIT;
        Tendermint__Abci__ResponseCommit cr = TENDERMINT__ABCI__RESPONSE_COMMIT__INIT;
        FUZZ_CHECK(cb->commit(f->app, ctx, &c, &cr) == 0, "fixture Commit");
        abci_ctx_reset(ctx);
    }
    FUZZ_CHECK(sb_app_height(f->app) == 3, "fixture height");
    abci_ctx_free(ctx);
}
