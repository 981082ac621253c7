/* status.c — `query …` (one abci_query path, its JSON value printed) and `status` (height,
 * current slot, time to close, last winner), protocol.md §8, §12. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "cli.h"
#include "rpc.h"
#include "sb_buf.h"
#include "sb_code.h"

static int query_usage(void)
{
    cli_errf("usage: sleetbubble query params | slot N|current | winner N | proposal ID | "
             "validators | pins N");
    return -1;
}

int cli_query_path(char **args, size_t nargs, char *path, size_t pathlen)
{
    uint64_t n;
    if (nargs == 1 && strcmp(args[0], "params") == 0) {
        snprintf(path, pathlen, "/params");
    } else if (nargs == 1 && strcmp(args[0], "validators") == 0) {
        snprintf(path, pathlen, "/validators");
    } else if (nargs == 2 && strcmp(args[0], "slot") == 0 && strcmp(args[1], "current") == 0) {
        snprintf(path, pathlen, "/slot/current");
    } else if (nargs == 2 && (strcmp(args[0], "slot") == 0 || strcmp(args[0], "winner") == 0 ||
                              strcmp(args[0], "pins") == 0)) {
        if (cli_parse_u64(args[1], &n) < 0) {
            cli_errf("query %s: \"%s\" is not a slot number", args[0], args[1]);
            return -1;
        }
        snprintf(path, pathlen, "/%s/%" PRIu64, args[0], n);
    } else if (nargs == 2 && strcmp(args[0], "proposal") == 0) {
        uint8_t id[32];
        char hex[65];
        if (strlen(args[1]) != 64 || sb_unhex(args[1], id, 32) < 0) {
            cli_errf("query proposal: \"%s\" is not a proposal id (64 hex digits)", args[1]);
            return -1;
        }
        sb_hex(id, 32, hex);
        snprintf(path, pathlen, "/proposal/%s", hex);
    } else {
        return query_usage();
    }
    return 0;
}

int cli_cmd_query(cli_ctx *c)
{
    char path[128];
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    sb_rpcc_result q;
    if (cli_query_path(c->args, c->nargs, path, sizeof path) < 0)
        return CLI_EXIT_USAGE;
    int rc = cli_query_value(c, &r, path, &q);
    if (rc)
        return rc;
    cli_print_json(c, json_incref(q.value));
    sb_rpcc_query_free(&q);
    return CLI_EXIT_OK;
}

static void fmt_time(int64_t ns, char *out, size_t outlen)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&s, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, outlen, "%" PRId64 " ns", ns);
}

int cli_cmd_status(cli_ctx *c)
{
    char err[1024], chain_id[256], path[64], btime[64], left[32], ago[32], sl[24];
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    cli_slot_now now;
    sb_rpcc_result w = { 0 };
    int64_t height, close_ns;
    int rc;
    if (c->nargs) {
        cli_errf("usage: sleetbubble status");
        return CLI_EXIT_USAGE;
    }
    if ((rc = sb_rpcc_status(&r, chain_id, sizeof chain_id, &height, NULL, err, sizeof err))) {
        cli_errf("%s", err);
        return rc;
    }
    if ((rc = cli_slot_now_get(c, &r, &now)))
        return rc;
    uint64_t open = cli_slot_first_open(&now, &close_ns);
    int have_last = now.next_to_finalize > 0;
    uint64_t last = have_last ? now.next_to_finalize - 1 : 0;
    if (have_last) {
        snprintf(path, sizeof path, "/winner/%" PRIu64, last);
        if ((rc = sb_rpcc_query(&r, path, &w, err, sizeof err))) {
            cli_errf("%s", err);
            return rc;
        }
        if (w.code || !w.value)
            have_last = 0;
    }
    fmt_time(now.block_time_ns, btime, sizeof btime);
    cli_fmt_duration(close_ns - now.block_time_ns, left, sizeof left);
    cli_fmt_duration(now.block_time_ns - now.start_ns, ago, sizeof ago);
    if (c->json) {
        json_t *o = json_object();
        snprintf(sl, sizeof sl, "%" PRId64, height);
        json_object_set_new(o, "chain_id", json_string(chain_id));
        json_object_set_new(o, "height", json_string(sl));
        snprintf(sl, sizeof sl, "%" PRIu64, now.slot);
        json_object_set_new(o, "current_slot", json_string(sl));
        snprintf(sl, sizeof sl, "%" PRIu64, open);
        json_object_set_new(o, "open_slot", json_string(sl));
        snprintf(sl, sizeof sl, "%" PRId64, close_ns);
        json_object_set_new(o, "open_slot_close_ns", json_string(sl));
        snprintf(sl, sizeof sl, "%" PRId64, close_ns - now.block_time_ns);
        json_object_set_new(o, "time_to_close_ns", json_string(sl));
        snprintf(sl, sizeof sl, "%" PRId64, now.block_time_ns);
        json_object_set_new(o, "block_time_ns", json_string(sl));
        json_object_set_new(o, "last_winner", have_last ? json_incref(w.value) : json_null());
        cli_print_json(c, o);
    } else {
        printf("chain        %s\n", chain_id);
        printf("height       %" PRId64 " (block time %s)\n", height, btime);
        printf("slot         %" PRIu64 " (started %s before the last block)\n", now.slot, ago);
        printf("open slot    %" PRIu64 " closes in %s (proposals and votes until then)\n", open,
               left);
        if (have_last) {
            const char *oc = json_string_value(json_object_get(w.value, "outcome"));
            const char *wi = json_string_value(json_object_get(w.value, "winner"));
            const char *pf = json_string_value(json_object_get(w.value, "power_for"));
            const char *tp = json_string_value(json_object_get(w.value, "total_power"));
            const char *mc = json_string_value(json_object_get(w.value, "manifest_cid"));
            printf("last winner  slot %" PRIu64 ": %s", last, oc ? oc : "?");
            if (wi)
                printf(" %s (power %s/%s), %zu tracks, manifest %s", wi, pf ? pf : "?",
                       tp ? tp : "?", json_array_size(json_object_get(w.value, "tracks")),
                       mc ? mc : "-");
            printf("\n");
        } else {
            printf("last winner  none finalized yet\n");
        }
    }
    sb_rpcc_query_free(&w);
    return CLI_EXIT_OK;
}
