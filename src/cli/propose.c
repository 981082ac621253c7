/* propose.c — `propose --slot N|next --playlist FILE --key NAME [--note TEXT]`: build and
 * sign a proposal with sb_tx_build_proposal and broadcast_tx_sync it (protocol.md §4, §12). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "chain.h"
#include "cli.h"
#include "keys.h"
#include "playlist.h"
#include "rpc.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "tx.h"

/* Sign the playlist pl with seed as a proposal for `slot` into tx; id: the proposal id.
 * Returns an exit status (message printed). */
static int build_proposal(const char *chain_id, uint64_t slot, const uint8_t seed[32],
                          const cli_playlist *pl, const char *note, sb_buf *tx, uint8_t id[32])
{
    int rc = CLI_EXIT_USAGE;
    sb_track_in *tr = calloc(pl->n, sizeof *tr);
    if (!tr) {
        cli_errf("out of memory");
        goto done;
    }
    for (size_t i = 0; i < pl->n; i++)
        tr[i] = (sb_track_in){ .cid = pl->tracks[i].cid,
                               .duration_ms = pl->tracks[i].duration_ms,
                               .title = pl->tracks[i].title,
                               .artist = pl->tracks[i].artist };
    if (sb_tx_build_proposal(chain_id, slot, seed, tr, pl->n, note, tx, id) < 0) {
        cli_errf("cannot build the proposal (over %u bytes?)", SB_MAX_TX_SIZE_LIMIT);
        goto done;
    }
    rc = CLI_EXIT_OK;
done:
    free(tr);
    return rc;
}

/* Print the accepted proposal: its id on stdout (or a JSON object with --json), a summary
 * on stderr. */
static void propose_print(cli_ctx *c, const sb_rpcc_tx_result *br, const char *idhex,
                          const char *chain_id, uint64_t slot, size_t ntracks)
{
    if (c->json) {
        char sl[24];
        snprintf(sl, sizeof sl, "%" PRIu64, slot);
        cli_print_json(c, json_pack("{s:s, s:s, s:s, s:s}", "proposal_id", idhex, "slot", sl,
                                    "tx_hash", br->hash, "chain_id", chain_id));
    } else {
        printf("%s\n", idhex);
    }
    fprintf(stderr,
            "proposal for slot %" PRIu64 " (%zu track%s) accepted by CheckTx, tx %s; "
            "validators can vote once it is in a block\n",
            slot, ntracks, ntracks == 1 ? "" : "s", br->hash);
}

int cli_cmd_propose(cli_ctx *c)
{
    char err[1024], chain_id[256], idhex[65];
    uint8_t seed[32], pub[32], id[32];
    cli_playlist pl = { 0 };
    sb_buf tx;
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    sb_rpcc_tx_result br;
    uint64_t slot = 0;
    int have_seed = 0, rc = CLI_EXIT_USAGE;
    sb_buf_init(&tx, SB_MAX_TX_SIZE_LIMIT);

    if (c->nargs || !c->slot || !c->playlist || !c->key) {
        cli_errf("usage: sleetbubble propose --slot N|next --playlist FILE --key NAME "
                 "[--note TEXT]%s%s%s",
                 !c->slot ? " (missing --slot)" : "", !c->playlist ? " (missing --playlist)" : "",
                 !c->key ? " (missing --key)" : "");
        goto done;
    }
    int next = strcmp(c->slot, "next") == 0;
    if (!next && cli_parse_u64(c->slot, &slot) < 0) {
        cli_errf("--slot: \"%s\" is not a slot number or \"next\"", c->slot);
        goto done;
    }
    const char *note = c->note ? c->note : "";
    if (!sb_note_check(note, strlen(note), err, sizeof err)) {
        cli_errf("--%s", err);
        goto done;
    }
    if (cli_playlist_load(c->playlist, &pl, err, sizeof err) < 0) {
        cli_errf("playlist %s", err);
        goto done;
    }
    if (cli_keys_load(c->home, c->key, seed, pub, err, sizeof err) < 0) {
        cli_errf("%s", err);
        goto done;
    }
    have_seed = 1;
    if ((rc = sb_rpcc_status(&r, chain_id, sizeof chain_id, NULL, NULL, err, sizeof err))) {
        cli_errf("%s", err);
        goto done;
    }
    if (next) {
        cli_slot_now now;
        if ((rc = cli_slot_now_get(c, &r, &now)))
            goto done;
        slot = cli_slot_first_open(&now, NULL);
    }
    if ((rc = build_proposal(chain_id, slot, seed, &pl, note, &tx, id)))
        goto done;
    if ((rc = sb_rpcc_broadcast(&r, tx.data, tx.len, &br, err, sizeof err))) {
        cli_errf("%s", err);
        goto done;
    }
    sb_hex(id, 32, idhex);
    if (br.code) {
        rc = cli_print_rejection(c, br.code, br.codespace, br.log);
        goto done;
    }
    propose_print(c, &br, idhex, chain_id, slot, pl.n);
    rc = CLI_EXIT_OK;
done:
    if (have_seed)
        OPENSSL_cleanse(seed, sizeof seed);
    cli_playlist_free(&pl);
    sb_buf_free(&tx);
    return rc;
}
