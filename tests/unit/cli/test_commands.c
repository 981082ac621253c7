/* test_commands.c — the CLI's commands end to end against a fake CometBFT + Kubo
 * (fake_node.c): what propose and vote sign and broadcast (checked with sb_core's decoder
 * and verifier), `--slot next`, chain rejections (exit 1 with the SPEC code name), the vote
 * hint and Kubo pre-check, query/tune/status output, tracks add. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "cli.h"
#include "ed25519.h"
#include "fake_node.h"
#include "keys.h"
#include "playlist.h"
#include "rpc.h"
#include "sb_buf.h"
#include "tx.h"

#define PB "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
#define RAW "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
#define PID "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
/* 2024-01-01T00:00:00.5Z, the fake status' latest block time */
#define BT 1704067200500000000LL

static fake_node F;
static char dir[] = "/tmp/sb-cli-cmd.XXXXXX";
static char node_opt[64], ipfs_opt[64], home_opt[128], home[100], pl_path[200], pv_path[200];
static uint8_t pv_seed[32], pv_pub[32];

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir) || fake_node_start(&F) < 0)
        return -1;
    snprintf(node_opt, sizeof node_opt, "--node=http://127.0.0.1:%d", F.port);
    snprintf(ipfs_opt, sizeof ipfs_opt, "--ipfs=http://127.0.0.1:%d/", F.port);
    snprintf(home, sizeof home, "%s/home", dir);
    snprintf(home_opt, sizeof home_opt, "--home=%s", home);
    snprintf(pl_path, sizeof pl_path, "%s/pl.json", dir);
    put(pl_path, "{\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":183000,\"title\":\"Frozen\","
                 "\"artist\":\"Bubble\"},{\"cid\":\"" RAW "\",\"duration_ms\":2500}]}");
    /* a priv_validator_key.json as CometBFT writes it */
    uint8_t priv[64];
    for (int i = 0; i < 32; i++)
        pv_seed[i] = (uint8_t)(200 - i);
    sb_ed25519_pubkey(pv_seed, pv_pub);
    memcpy(priv, pv_seed, 32);
    memcpy(priv + 32, pv_pub, 32);
    char *p64 = sb_b64_encode(pv_pub, 32), *k64 = sb_b64_encode(priv, 64), text[1024];
    snprintf(text, sizeof text,
             "{\"address\":\"AB\",\"pub_key\":{\"type\":\"tendermint/PubKeyEd25519\",\"value\":"
             "\"%s\"},\"priv_key\":{\"type\":\"tendermint/PrivKeyEd25519\",\"value\":\"%s\"}}",
             p64, k64);
    free(p64);
    free(k64);
    snprintf(pv_path, sizeof pv_path, "%s/priv_validator_key.json", dir);
    put(pv_path, text);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_node_stop(&F);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* /slot/current with the current slot 5 and the given closes relative to the block time. */
static char slot_now[512];
static const char *slot_current(long long close_rel_s, long long next_close_rel_s)
{
    snprintf(slot_now, sizeof slot_now,
             "{\"slot\":\"5\",\"start_ns\":\"%lld\",\"close_ns\":\"%lld\",\"next_slot\":\"6\","
             "\"next_close_ns\":\"%lld\",\"block_time_ns\":\"%lld\",\"next_to_finalize\":\"5\"}",
             BT - 100000000000LL, BT + close_rel_s * 1000000000LL,
             BT + next_close_rel_s * 1000000000LL, BT);
    return slot_now;
}

static int reset(void **state)
{
    (void)state;
    fake_node keep = { .port = F.port };
    F = keep;
    F.chain_id = "test-chain";
    F.routes[F.nroutes++] = (fake_route){ "/slot/current", 0, "", slot_current(-600, 300) };
    return 0;
}

static void route(const char *path, int code, const char *log, const char *value)
{
    F.routes[F.nroutes++] = (fake_route){ path, code, log, value };
}

/* Run cli_main with the arguments (NULL-terminated), capturing stdout and stderr into
 * malloc'd strings (out/err may be NULL). */
static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = '\0';
    fclose(f);
    return s;
}

static int run(char **out, char **err, const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    va_list ap;
    argv[argc++] = (char *)"sleetbubble";
    va_start(ap, first);
    for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *fo = tmpfile(), *fe = tmpfile();
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fileno(fo), 1);
    dup2(fileno(fe), 2);
    int rc = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    char *o = slurp(fo), *e = slurp(fe);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}
#define X NULL

/* Decode the last broadcast tx and check its signature with key pub. */
static void last_tx(sb_tx *t, int kind, const uint8_t signer_key[32])
{
    char log[256];
    assert_true(F.last_tx_len > 0);
    assert_int_equal(sb_tx_decode(F.last_tx, F.last_tx_len, 65536, t, log, sizeof log), 0);
    assert_int_equal(t->kind, kind);
    sb_buf m;
    sb_buf_init(&m, 1 << 20);
    const ProtobufCBinaryData *body = &t->tx->body;
    assert_int_equal(sb_tx_sign_message(kind, body->data, body->len, &m), 0);
    assert_int_equal(t->tx->signature.len, 64);
    assert_int_equal(sb_ed25519_verify(signer_key, m.data, m.len, t->tx->signature.data), 1);
    sb_buf_free(&m);
}

static void key_pub(const char *name, uint8_t pub[32])
{
    uint8_t seed[32];
    char err[256];
    if (cli_keys_load(home, name, seed, pub, err, sizeof err) < 0)
        assert_int_equal(cli_keys_new(home, name, pub, err, sizeof err), 0);
}

static void propose_next_signs_the_playlist_for_the_next_slot_and_prints_its_id(void **s)
{
    (void)s;
    uint8_t pub[32];
    char *out;
    sb_tx t;
    key_pub("cur", pub);
    assert_int_equal(run(&out, NULL, node_opt, home_opt, "propose", "--slot", "next", "--playlist",
                         pl_path, "--key", "cur", "--note", "hello", X),
                     0);
    last_tx(&t, SB_TX_KIND_PROPOSAL, pub);
    assert_int_equal(t.slot, 6);
    assert_memory_equal(t.signer, pub, 32);
    char idhex[65];
    sb_hex(t.id, 32, idhex);
    assert_int_equal(strlen(out), 65);
    assert_memory_equal(out, idhex, 64);
    Sleetbubble__V1__ProposalBody *b = t.proposal;
    assert_string_equal(b->chain_id, "test-chain");
    assert_string_equal(b->note, "hello");
    assert_int_equal(b->playlist->n_tracks, 2);
    assert_string_equal(b->playlist->tracks[0]->cid, PB);
    assert_int_equal(b->playlist->tracks[0]->duration_ms, 183000);
    assert_string_equal(b->playlist->tracks[0]->title, "Frozen");
    assert_string_equal(b->playlist->tracks[0]->artist, "Bubble");
    assert_string_equal(b->playlist->tracks[1]->cid, RAW);
    sb_tx_free(&t);
    free(out);
}

static void propose_next_inside_the_close_lead_takes_the_slot_after(void **s)
{
    (void)s;
    uint8_t pub[32];
    sb_tx t;
    key_pub("cur", pub);
    F.routes[0].value = slot_current(-910, -10); /* next slot closed 10 s ago */
    assert_int_equal(run(NULL, NULL, node_opt, home_opt, "propose", "--slot", "next", "--playlist",
                         pl_path, "--key", "cur", X),
                     0);
    last_tx(&t, SB_TX_KIND_PROPOSAL, pub);
    assert_int_equal(t.slot, 7);
    sb_tx_free(&t);
    /* before the epoch (the node then reports slot 0, starting 100 s ahead, lead 40 s): slot 0
   * is still open */
    snprintf(slot_now, sizeof slot_now,
             "{\"slot\":\"0\",\"start_ns\":\"%lld\",\"close_ns\":\"%lld\",\"next_slot\":\"1\","
             "\"next_close_ns\":\"%lld\",\"block_time_ns\":\"%lld\",\"next_to_finalize\":\"0\"}",
             BT + 100000000000LL, BT + 60000000000LL, BT + 960000000000LL, BT);
    F.routes[0].value = slot_now;
    assert_int_equal(run(NULL, NULL, node_opt, home_opt, "propose", "--slot", "next", "--playlist",
                         pl_path, "--key", "cur", X),
                     0);
    last_tx(&t, SB_TX_KIND_PROPOSAL, pub);
    assert_int_equal(t.slot, 0);
    sb_tx_free(&t);
    /* an explicit slot is used as given */
    assert_int_equal(run(NULL, NULL, node_opt, home_opt, "propose", "--slot", "123", "--playlist",
                         pl_path, "--key", "cur", X),
                     0);
    last_tx(&t, SB_TX_KIND_PROPOSAL, pub);
    assert_int_equal(t.slot, 123);
    sb_tx_free(&t);
}

static void propose_reads_the_playlist_from_stdin_with_a_dash(void **s)
{
    (void)s;
    uint8_t pub[32];
    sb_tx t;
    key_pub("cur", pub);
    int in = open(pl_path, O_RDONLY), saved = dup(0);
    assert_true(in >= 0);
    dup2(in, 0);
    close(in);
    int rc = run(NULL, NULL, node_opt, home_opt, "propose", "--slot", "9", "--playlist", "-",
                 "--key", "cur", X);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    assert_int_equal(rc, 0);
    last_tx(&t, SB_TX_KIND_PROPOSAL, pub);
    assert_int_equal(t.proposal->playlist->n_tracks, 2);
    sb_tx_free(&t);
}

static void propose_rejected_by_checktx_exits_1_with_the_code_name(void **s)
{
    (void)s;
    char *out, *err;
    F.bc_code = 4;
    F.bc_log = "SLOT_CLOSED: slot 6 closed";
    assert_int_equal(run(&out, &err, node_opt, home_opt, "propose", "--slot", "6", "--playlist",
                         pl_path, "--key", "cur", X),
                     1);
    assert_non_null(strstr(err, "SLOT_CLOSED (code 4): SLOT_CLOSED: slot 6 closed"));
    assert_string_equal(out, "");
    free(out);
    free(err);
    assert_int_equal(run(&out, NULL, node_opt, home_opt, "--output", "json", "propose", "--slot",
                         "6", "--playlist", pl_path, "--key", "cur", X),
                     1);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "code_name")), "SLOT_CLOSED");
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 4);
    json_decref(j);
    free(out);
}

static void node_refusing_the_tx_exits_1_and_garbage_exits_3(void **s)
{
    (void)s;
    char *err;
    F.bc_rpc_error = "tx already exists in cache";
    assert_int_equal(run(NULL, &err, node_opt, home_opt, "propose", "--slot", "6", "--playlist",
                         pl_path, "--key", "cur", X),
                     1);
    assert_non_null(strstr(err, "tx already exists in cache"));
    free(err);
    F.raw_reply = "<html>not a node</html>";
    assert_int_equal(run(NULL, &err, node_opt, "query", "params", X), 3);
    assert_non_null(strstr(err, "no JSON-RPC reply"));
    free(err);
}

static const char *proposal_json =
    "{\"id\":\"" PID "\",\"slot\":\"6\",\"chain_id\":\"test-chain\",\"tracks\":["
    "{\"cid\":\"" PB "\",\"duration_ms\":183000,\"title\":\"a\",\"artist\":\"b\"}]}";

static void vote_with_priv_validator_key_signs_with_the_consensus_key(void **s)
{
    (void)s;
    sb_tx t;
    uint8_t pid[32];
    char *out;
    route("/proposal/" PID, 0, "", proposal_json);
    F.kubo_body = "{\"Size\":4242,\"NumBlocks\":2}";
    assert_int_equal(run(&out, NULL, node_opt, ipfs_opt, "vote", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     0);
    last_tx(&t, SB_TX_KIND_VOTE, pv_pub);
    assert_int_equal(t.slot, 6); /* from the committed proposal */
    assert_memory_equal(t.signer, pv_pub, 32);
    sb_unhex(PID, pid, 32);
    assert_memory_equal(t.id, pid, 32);
    assert_string_equal(t.vote->chain_id, "test-chain");
    sb_tx_free(&t);
    assert_int_equal(F.n_kubo, 1);
    assert_non_null(strstr(F.last_kubo_url, "/api/v0/dag/stat?arg=" PB));
    assert_non_null(strstr(out, "ABCDEF0123456789")); /* the tx hash */
    free(out);
}

static void vote_with_a_vote_key_names_the_validator_and_signs_with_the_vote_key(void **s)
{
    (void)s;
    uint8_t vk[32], val[32];
    char valhex[65];
    sb_tx t;
    key_pub("vk", vk);
    for (int i = 0; i < 32; i++)
        val[i] = (uint8_t)(i + 1);
    sb_ed25519_pubkey(val, val); /* some valid point */
    sb_hex(val, 32, valhex);
    route("/proposal/" PID, 0, "", proposal_json);
    F.kubo_body = "{\"TotalSize\":10,\"DagStats\":[{\"Size\":10}]}";
    assert_int_equal(run(NULL, NULL, node_opt, ipfs_opt, home_opt, "vote", "--slot", "6",
                         "--proposal", PID, "--vote-key", "vk", "--validator", valhex, X),
                     0);
    last_tx(&t, SB_TX_KIND_VOTE, vk);
    assert_memory_equal(t.signer, val, 32);
    sb_tx_free(&t);
}

static void vote_for_an_uncommitted_proposal_prints_the_retry_hint(void **s)
{
    (void)s;
    char *err;
    route("/proposal/" PID, 14, "NOT_FOUND: no proposal", NULL);
    F.bc_code = 8;
    F.bc_log = "UNKNOWN_PROPOSAL: no accepted proposal";
    assert_int_equal(run(NULL, &err, node_opt, ipfs_opt, "vote", "--slot", "6", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     1);
    assert_non_null(strstr(err, "UNKNOWN_PROPOSAL (code 8)"));
    assert_non_null(strstr(err, "the proposal must be committed first; retry after the next "
                                "block"));
    assert_int_equal(F.n_broadcasts, 1);
    free(err);
    /* without --slot the slot is unknown: exit 1 before signing */
    assert_int_equal(run(NULL, NULL, node_opt, ipfs_opt, "vote", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     1);
    assert_int_equal(F.n_broadcasts, 1);
}

static void vote_is_refused_when_kubo_cannot_get_a_track_or_it_is_too_big(void **s)
{
    (void)s;
    char *err;
    route("/proposal/" PID, 0, "", proposal_json);
    F.kubo_status = 500;
    F.kubo_body = "{\"Message\":\"block was not found locally (offline)\",\"Code\":0}";
    assert_int_equal(run(NULL, &err, node_opt, ipfs_opt, "vote", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     2);
    assert_non_null(strstr(err, "block was not found locally"));
    assert_non_null(strstr(err, "--skip-check"));
    assert_int_equal(F.n_broadcasts, 0);
    free(err);
    F.kubo_status = 200;
    F.kubo_body = "{\"Size\":2147483648}";
    assert_int_equal(run(NULL, NULL, node_opt, ipfs_opt, "vote", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     2);
    assert_int_equal(F.n_broadcasts, 0);
    /* --skip-check votes anyway */
    assert_int_equal(run(NULL, NULL, node_opt, ipfs_opt, "vote", "--proposal", PID,
                         "--validator-key", pv_path, "--skip-check", X),
                     0);
    assert_int_equal(F.n_broadcasts, 1);
}

static void vote_is_refused_when_kubo_does_not_answer_dag_stat_in_time(void **s)
{
    (void)s;
    char *err;
    route("/proposal/" PID, 0, "", proposal_json);
    F.kubo_body = "{\"Size\":10}";
    F.kubo_delay_ms = 1500; /* an online Kubo searching for content nobody has */
    assert_int_equal(run(NULL, &err, node_opt, ipfs_opt, "--timeout", "1", "vote", "--proposal",
                         PID, "--validator-key", pv_path, X),
                     2);
    assert_non_null(strstr(err, "did not answer within 1 s"));
    assert_int_equal(F.n_broadcasts, 0);
    free(err);
}

static void vote_with_kubo_unreachable_warns_and_votes(void **s)
{
    (void)s;
    char *err;
    route("/proposal/" PID, 0, "", proposal_json);
    assert_int_equal(run(NULL, &err, node_opt, "--ipfs=http://127.0.0.1:1", "vote", "--proposal",
                         PID, "--validator-key", pv_path, X),
                     0);
    assert_non_null(strstr(err, "warning: cannot reach Kubo RPC at http://127.0.0.1:1"));
    assert_int_equal(F.n_broadcasts, 1);
    free(err);
}

/* A password in --ipfs never reaches a message. */
static void kubo_password_is_masked_in_messages(void **s)
{
    (void)s;
    char *err;
    route("/proposal/" PID, 0, "", proposal_json);
    assert_int_equal(run(NULL, &err, node_opt, "--ipfs=http://curator:s3cret@127.0.0.1:1", "vote",
                         "--proposal", PID, "--validator-key", pv_path, X),
                     0);
    assert_non_null(strstr(err, "cannot reach Kubo RPC at http://curator:***@127.0.0.1:1"));
    assert_null(strstr(err, "s3cret"));
    free(err);
}

static void vote_slot_must_match_the_proposals_slot(void **s)
{
    (void)s;
    route("/proposal/" PID, 0, "", proposal_json);
    assert_int_equal(run(NULL, NULL, node_opt, ipfs_opt, "vote", "--slot", "9", "--proposal", PID,
                         "--validator-key", pv_path, X),
                     2);
    assert_int_equal(F.n_broadcasts, 0);
}

static void query_prints_the_value_and_not_found_exits_1(void **s)
{
    (void)s;
    char *out, *err;
    route("/params", 0, "", "{\"slot_seconds\":900,\"chain_id\":\"test-chain\"}");
    route("/winner/3", 14, "NOT_FOUND: slot 3 is not finalized yet", NULL);
    assert_int_equal(run(&out, NULL, node_opt, "query", "params", X), 0);
    assert_string_equal(out, "{\n  \"chain_id\": \"test-chain\",\n  \"slot_seconds\": 900\n}\n");
    free(out);
    assert_int_equal(run(&out, NULL, node_opt, "--output=json", "query", "params", X), 0);
    assert_string_equal(out, "{\"chain_id\":\"test-chain\",\"slot_seconds\":900}\n");
    free(out);
    assert_int_equal(run(&out, &err, node_opt, "query", "winner", "3", X), 1);
    assert_non_null(strstr(err, "NOT_FOUND (code 14): NOT_FOUND: slot 3 is not finalized yet"));
    free(out);
    free(err);
    assert_int_equal(run(NULL, NULL, node_opt, "query", "validators", X), 1); /* 13 here */
}

static const char *winner5 =
    "{\"slot\":\"5\",\"outcome\":\"FALLBACK\",\"winner\":\"" PID "\",\"power_for\":\"10\","
    "\"total_power\":\"40\",\"manifest_cid\":\"baguqeeraexample\",\"height\":\"40\","
    "\"tracks\":[{\"cid\":\"" PB "\",\"duration_ms\":183000,\"title\":\"Frozen\","
    "\"artist\":\"Bubble\"}]}";

static void tune_writes_the_current_winner_as_m3u(void **s)
{
    (void)s;
    char *out, m3u[256];
    route("/winner/5", 0, "", winner5);
    route("/winner/2", 0, "",
          "{\"slot\":\"2\",\"outcome\":\"NONE\",\"winner\":null,\"tracks\":[]}");
    const char *want = "#EXTM3U\n#PLAYLIST:Sleetbubble slot 5 (FALLBACK)\n"
                       "#EXTINF:183,Bubble - Frozen\nhttp://gw.test:8080/ipfs/" PB "\n";
    assert_int_equal(run(&out, NULL, node_opt, "--gateway", "http://gw.test:8080/", "tune", X), 0);
    assert_string_equal(out, want);
    free(out);
    snprintf(m3u, sizeof m3u, "%s/slot5.m3u", dir);
    assert_int_equal(run(NULL, NULL, node_opt, "--gateway", "http://gw.test:8080", "tune", "--slot",
                         "5", "-o", m3u, X),
                     0);
    char *text = NULL, e[128];
    size_t len;
    assert_int_equal(cli_read_file(m3u, 4096, &text, &len, e, sizeof e), 0);
    assert_string_equal(text, want);
    free(text);
    assert_int_equal(run(NULL, NULL, node_opt, "tune", "--slot", "2", X), 1);  /* NONE */
    assert_int_equal(run(NULL, NULL, node_opt, "tune", "--slot", "77", X), 1); /* unknown */
}

/* tune --now against the fake node, on this machine's clock: T0 = 0 and L = 10^9 s put every
 * date of this century in slot 1, which loops one 1-hour track, so the title is the same
 * whenever the test runs (the timing rules are checked at fixed times in test_tune.c). */
static void tune_now_reads_params_and_schedule_and_names_the_track(void **s)
{
    (void)s;
    char *out, *err;
    route("/params", 0, "", "{\"epoch_ns\":\"0\",\"slot_seconds\":1000000000}");
    route("/schedule/1", 0, "",
          "{\"slot\":\"1\",\"start_ns\":\"1000000000000000000\",\"end_ns\":\"2000000000000000000\","
          "\"outcome\":\"FALLBACK\",\"manifest_cid\":\"baguqeeraexample\",\"total_ms\":3600000,"
          "\"tracks\":[{\"index\":0,\"cid\":\"" PB "\",\"title\":\"Frozen\",\"artist\":\"Bubble\","
          "\"duration_ms\":3600000,\"offset_ms\":0}]}");
    route("/schedule/2", 14, "NOT_FOUND: slot 2 is not finalized yet", NULL);
    assert_int_equal(
        run(&out, &err, node_opt, "--gateway", "http://gw.test:8080/", "tune", "--now", X), 0);
    assert_non_null(strstr(out, "slot 1: on air\n"));
    assert_non_null(strstr(out, "now   Bubble - Frozen\n"));
    assert_non_null(strstr(out, "      http://gw.test:8080/ipfs/" PB "\n"));
    assert_non_null(strstr(out, "next  Bubble - Frozen\n")); /* the loop's next pass */
    free(out);
    free(err);
    assert_int_equal(run(&out, NULL, node_opt, "--output", "json", "tune", "--now", X), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    json_t *np = json_object_get(j, "now_playing");
    assert_string_equal(json_string_value(json_object_get(np, "title")), "Frozen");
    assert_string_equal(json_string_value(json_object_get(np, "cid")), PB);
    assert_true(json_integer_value(json_object_get(np, "elapsed_ms")) +
                    json_integer_value(json_object_get(np, "remaining_ms")) ==
                3600000);
    json_decref(j);
    free(out);
    /* --now takes neither --slot nor -o */
    assert_int_equal(run(NULL, NULL, node_opt, "tune", "--now", "--slot", "1", X), 2);
}

static void status_shows_height_slots_time_to_close_and_last_winner(void **s)
{
    (void)s;
    char *out;
    route("/winner/4", 0, "", winner5);
    assert_int_equal(run(&out, NULL, node_opt, "status", X), 0);
    assert_non_null(strstr(out, "height       42"));
    assert_non_null(strstr(out, "slot         5 (started 1m40s"));
    assert_non_null(strstr(out, "open slot    6 closes in 5m00s"));
    assert_non_null(strstr(out, "last winner  slot 4: FALLBACK " PID " (power 10/40), 1 tracks"));
    free(out);
    assert_int_equal(run(&out, NULL, node_opt, "--output=json", "status", X), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "open_slot")), "6");
    assert_string_equal(json_string_value(json_object_get(j, "time_to_close_ns")), "300000000000");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "last_winner"), "outcome")),
        "FALLBACK");
    json_decref(j);
    free(out);
}

static void tracks_add_uploads_each_file_and_writes_the_playlist(void **s)
{
    (void)s;
    char wav[256], out[256], e[256];
    snprintf(wav, sizeof wav, "%s/tone.wav", dir);
    snprintf(out, sizeof out, "%s/added.json", dir);
    SF_INFO info = { .samplerate = 44100,
                     .channels = 1,
                     .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
    SNDFILE *sf = sf_open(wav, SFM_WRITE, &info);
    assert_non_null(sf);
    sf_set_string(sf, SF_STR_TITLE, "Tone");
    sf_set_string(sf, SF_STR_ARTIST, "Generator");
    static short zeros[110250];
    assert_int_equal(sf_writef_short(sf, zeros, 110250), 110250);
    sf_close(sf);
    F.add_hash = RAW;
    assert_int_equal(run(NULL, NULL, ipfs_opt, "tracks", "add", wav, "-o", out, X), 0);
    assert_non_null(strstr(F.last_kubo_url, "/api/v0/add?cid-version=1&raw-leaves=true&pin=true"));
    assert_true(F.last_upload_len > 220500); /* the whole file went up */
    cli_playlist p;
    assert_int_equal(cli_playlist_load(out, &p, e, sizeof e), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.tracks[0].cid, RAW);
    assert_int_equal(p.tracks[0].duration_ms, 2500);
    assert_string_equal(p.tracks[0].title, "Tone");
    assert_string_equal(p.tracks[0].artist, "Generator");
    cli_playlist_free(&p);
    /* Kubo failing the add: exit 3, nothing written */
    unlink(out);
    F.kubo_status = 500;
    assert_int_equal(run(NULL, NULL, ipfs_opt, "tracks", "add", wav, "-o", out, X), 3);
    assert_int_equal(access(out, F_OK), -1);
    /* Kubo answering a CID we cannot use: exit 3 */
    F.kubo_status = 200;
    F.add_hash = "QmNotReallyACid";
    assert_int_equal(run(NULL, NULL, ipfs_opt, "tracks", "add", wav, "-o", out, X), 3);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup(name, reset)
    const struct CMUnitTest tests[] = {
        T(propose_next_signs_the_playlist_for_the_next_slot_and_prints_its_id),
        T(propose_next_inside_the_close_lead_takes_the_slot_after),
        T(propose_reads_the_playlist_from_stdin_with_a_dash),
        T(propose_rejected_by_checktx_exits_1_with_the_code_name),
        T(node_refusing_the_tx_exits_1_and_garbage_exits_3),
        T(vote_with_priv_validator_key_signs_with_the_consensus_key),
        T(vote_with_a_vote_key_names_the_validator_and_signs_with_the_vote_key),
        T(vote_for_an_uncommitted_proposal_prints_the_retry_hint),
        T(vote_is_refused_when_kubo_cannot_get_a_track_or_it_is_too_big),
        T(vote_is_refused_when_kubo_does_not_answer_dag_stat_in_time),
        T(vote_with_kubo_unreachable_warns_and_votes),
        T(kubo_password_is_masked_in_messages),
        T(vote_slot_must_match_the_proposals_slot),
        T(query_prints_the_value_and_not_found_exits_1),
        T(tune_writes_the_current_winner_as_m3u),
        T(tune_now_reads_params_and_schedule_and_names_the_track),
        T(status_shows_height_slots_time_to_close_and_last_winner),
        T(tracks_add_uploads_each_file_and_writes_the_playlist),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
