/* vote.c — `vote --slot N --proposal HEX (--validator-key PATH | --vote-key NAME
 * --validator HEX)`: check the proposal's tracks with Kubo, sign with sb_tx_build_vote,
 * broadcast_tx_sync (protocol.md §4 votes, §12).
 *
 * Before signing (advisory; the chain is the judge):
 *  - /proposal/<id>: the proposal's slot must equal --slot (or gives --slot when omitted);
 *  - /validators: warns when the validator is not in the set or the key is not its vote key;
 *  - Kubo dag/stat of every track (unless --skip-check): a track Kubo cannot provide, or one
 *    over CLI_VOTE_MAX_TRACK_BYTES (the pinning default, protocol.md §10), refuses the vote (exit 2);
 *    Kubo unreachable only warns. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chain.h"
#include "cid.h"
#include "cli.h"
#include "keys.h"
#include "kubo_client.h"
#include "rpc.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "tx.h"

/* protocol.md §10 pin.max_track_bytes default: a track the validators' nodes would refuse to pin. */
#define CLI_VOTE_MAX_TRACK_BYTES (1024ull * 1024ull * 1024ull)
/* dag/stat of one track gives up after this (an online Kubo hangs on missing content). */
#define CLI_VOTE_STAT_TIMEOUT_S 30L

/* Check each track of the proposal (JSON borrowed) with Kubo. Returns an exit status. */
static int check_tracks(cli_ctx *c, json_t *prop)
{
    char err[1024];
    json_t *tracks = json_object_get(prop, "tracks");
    long to = c->timeout_s > 0 && c->timeout_s < CLI_VOTE_STAT_TIMEOUT_S ? c->timeout_s
                                                                         : CLI_VOTE_STAT_TIMEOUT_S;
    uint64_t total = 0;
    for (size_t i = 0; i < json_array_size(tracks); i++) {
        const char *cid = json_string_value(json_object_get(json_array_get(tracks, i), "cid"));
        uint8_t bin[SB_CID_BIN_MAX];
        size_t binlen;
        uint64_t size = 0;
        if (!cid || sb_cid_parse(cid, strlen(cid), bin, &binlen) < 0) {
            cli_errf("proposal track %zu has no valid CID", i);
            return CLI_EXIT_UNREACHABLE;
        }
        int rc = sb_kuboc_dag_size(c->ipfs, cid, to, &size, err, sizeof err);
        if (rc == CLI_EXIT_UNREACHABLE) {
            cli_warnf("%s; voting without checking the tracks", err);
            return CLI_EXIT_OK;
        }
        if (rc) {
            cli_errf("track %zu (%s) is not retrievable by Kubo: %s; refusing to vote "
                     "(--skip-check votes anyway)",
                     i, cid, err);
            return CLI_EXIT_USAGE;
        }
        if (size > CLI_VOTE_MAX_TRACK_BYTES) {
            cli_errf("track %zu (%s) is %" PRIu64 " bytes, over the %llu-byte pinning limit; "
                     "refusing to vote (--skip-check votes anyway)",
                     i, cid, size, CLI_VOTE_MAX_TRACK_BYTES);
            return CLI_EXIT_USAGE;
        }
        total += size;
        fprintf(stderr, "track %zu %s: %" PRIu64 " bytes, ok\n", i, cid, size);
    }
    fprintf(stderr, "all %zu tracks retrievable, %" PRIu64 " bytes in total\n",
            json_array_size(tracks), total);
    return CLI_EXIT_OK;
}

/* Warn when pub is not a validator or key_pub is not its vote key (/validators). */
static void check_validator(cli_ctx *c, const sb_rpcc *r, const char *valhex, const char *keyhex)
{
    char err[1024];
    sb_rpcc_result q;
    if (sb_rpcc_query(r, "/validators", &q, err, sizeof err))
        return; /* advisory only */
    if (q.code || !q.value) {
        sb_rpcc_query_free(&q);
        return;
    }
    json_t *vals = json_object_get(q.value, "validators"), *v;
    size_t i;
    int found = 0;
    json_array_foreach(vals, i, v)
    {
        const char *pk = json_string_value(json_object_get(v, "pubkey"));
        const char *vk = json_string_value(json_object_get(v, "vote_key"));
        if (!pk || strcmp(pk, valhex) != 0)
            continue;
        found = 1;
        if (vk && strcmp(vk, keyhex) != 0)
            cli_warnf("validator %s votes with key %s, but the key given is %s: the chain will "
                      "answer SIGNATURE",
                      valhex, vk, keyhex);
    }
    if (!found)
        cli_warnf("%s is not in the validator set (/validators): the chain will answer "
                  "NOT_VALIDATOR",
                  valhex);
    sb_rpcc_query_free(&q);
}

/* The signing key from --validator-key (priv_validator_key.json: the consensus key votes) or
 * --vote-key NAME with --validator HEX. Fills seed (caller cleanses), keypub (the signing
 * key) and valpub (the validator). Returns an exit status. */
static int vote_key(cli_ctx *c, uint8_t seed[32], uint8_t keypub[32], uint8_t valpub[32])
{
    char err[1024];
    if (c->validator_key) {
        if (cli_keys_load_priv_validator(c->validator_key, seed, valpub, err, sizeof err) < 0) {
            cli_errf("--validator-key %s", err);
            return CLI_EXIT_USAGE;
        }
        memcpy(keypub, valpub, 32);
        return CLI_EXIT_OK;
    }
    if (strlen(c->validator) != 64 || sb_unhex(c->validator, valpub, 32) < 0) {
        cli_errf("--validator: expected the validator's consensus pubkey, 64 hex digits");
        return CLI_EXIT_USAGE;
    }
    if (cli_keys_load(c->home, c->vote_key, seed, keypub, err, sizeof err) < 0) {
        cli_errf("%s", err);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* The proposal as committed (/proposal/<idhex>): its slot must match --slot (*slot, when
 * given) or becomes *slot; its tracks are checked with Kubo unless --skip-check. A proposal
 * not committed yet needs --slot. Returns an exit status. */
static int vote_proposal(cli_ctx *c, const sb_rpcc *r, const char *idhex, uint64_t *slot)
{
    char err[1024], path[128];
    sb_rpcc_result q = { 0 };
    int rc;
    snprintf(path, sizeof path, "/proposal/%s", idhex);
    if ((rc = sb_rpcc_query(r, path, &q, err, sizeof err))) {
        cli_errf("%s", err);
        goto done;
    }
    if (q.code == SB_OK && q.value) {
        uint64_t ps;
        const char *s = json_string_value(json_object_get(q.value, "slot"));
        if (!s || cli_parse_u64(s, &ps) < 0) {
            cli_errf("%s: reply has no slot", path);
            rc = CLI_EXIT_UNREACHABLE;
            goto done;
        }
        if (c->slot && ps != *slot) {
            cli_errf("proposal %s is for slot %" PRIu64 ", not --slot %" PRIu64, idhex, ps, *slot);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        *slot = ps;
        if (!c->skip_check)
            rc = check_tracks(c, q.value);
    } else if (q.code == SB_NOT_FOUND) {
        if (!c->slot) {
            cli_errf("proposal %s is not committed (yet), so its slot is unknown: give --slot, or "
                     "retry after the next block",
                     idhex);
            rc = CLI_EXIT_REJECTED;
            goto done;
        }
        cli_warnf("proposal %s is not committed (yet); the chain will answer UNKNOWN_PROPOSAL "
                  "until it is",
                  idhex);
    } else {
        rc = cli_print_rejection(c, q.code, q.codespace, q.log);
    }
done:
    sb_rpcc_query_free(&q);
    return rc;
}

/* Print the accepted vote: the tx hash on stdout (or a JSON object with --json), a summary on
 * stderr. */
static void vote_print(cli_ctx *c, const sb_rpcc_tx_result *br, const char *idhex,
                       const char *valhex, const char *chain_id, uint64_t slot)
{
    if (c->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "proposal_id", idhex, "validator", valhex,
                              "tx_hash", br->hash, "chain_id", chain_id);
        char sl[24];
        snprintf(sl, sizeof sl, "%" PRIu64, slot);
        json_object_set_new(o, "slot", json_string(sl));
        cli_print_json(c, o);
    } else {
        printf("%s\n", br->hash);
    }
    fprintf(stderr,
            "vote for proposal %s in slot %" PRIu64 " by validator %s accepted by "
            "CheckTx\n",
            idhex, slot, valhex);
}

int cli_cmd_vote(cli_ctx *c)
{
    char err[1024], chain_id[256], valhex[65], keyhex[65], idhex[65];
    uint8_t seed[32], keypub[32], valpub[32], pid[32];
    sb_buf tx;
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    sb_rpcc_tx_result br;
    uint64_t slot = 0;
    int rc = CLI_EXIT_USAGE;
    sb_buf_init(&tx, SB_MAX_TX_SIZE_LIMIT);

    int by_pv = c->validator_key != NULL, by_vk = c->vote_key || c->validator;
    if (c->nargs || !c->proposal || by_pv == by_vk || (by_vk && !(c->vote_key && c->validator))) {
        cli_errf("usage: sleetbubble vote --slot N --proposal HEX "
                 "(--validator-key PATH/priv_validator_key.json | --vote-key NAME --validator "
                 "PUBKEY_HEX) [--skip-check]");
        goto done;
    }
    if (c->slot && cli_parse_u64(c->slot, &slot) < 0) {
        cli_errf("--slot: \"%s\" is not a slot number", c->slot);
        goto done;
    }
    if (strlen(c->proposal) != 64 || sb_unhex(c->proposal, pid, 32) < 0) {
        cli_errf("--proposal: expected the proposal id, 64 hex digits");
        goto done;
    }
    if ((rc = vote_key(c, seed, keypub, valpub)))
        goto done;
    sb_hex(valpub, 32, valhex);
    sb_hex(keypub, 32, keyhex);
    sb_hex(pid, 32, idhex);
    if ((rc = sb_rpcc_status(&r, chain_id, sizeof chain_id, NULL, NULL, err, sizeof err))) {
        cli_errf("%s", err);
        goto done;
    }
    if ((rc = vote_proposal(c, &r, idhex, &slot)))
        goto done;
    check_validator(c, &r, valhex, keyhex);
    rc = CLI_EXIT_USAGE;
    if (sb_tx_build_vote(chain_id, slot, pid, valpub, seed, &tx) < 0) {
        cli_errf("cannot build the vote");
        goto done;
    }
    if ((rc = sb_rpcc_broadcast(&r, tx.data, tx.len, &br, err, sizeof err))) {
        cli_errf("%s", err);
        goto done;
    }
    if (br.code) {
        rc = cli_print_rejection(c, br.code, br.codespace, br.log);
        if (br.code == SB_UNKNOWN_PROPOSAL)
            fprintf(stderr, "hint: the proposal must be committed first; retry after the next "
                            "block\n");
        goto done;
    }
    vote_print(c, &br, idhex, valhex, chain_id, slot);
    rc = CLI_EXIT_OK;
done:
    OPENSSL_cleanse(seed, sizeof seed); /* whether or not a key was loaded */
    sb_buf_free(&tx);
    return rc;
}
