/* chain.c — shared chain queries for the commands (see chain.h). */
#include "chain.h"
#include "rpc.h"
#include "slot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_query_value(cli_ctx *c, const sb_rpcc *r, const char *path, sb_rpcc_result *q)
{
    char err[1024];
    int rc = sb_rpcc_query(r, path, q, err, sizeof err);
    if (rc) {
        cli_errf("%s", err);
        return rc;
    }
    if (q->code) {
        rc = cli_print_rejection(c, q->code, q->codespace, q->log);
        sb_rpcc_query_free(q);
        return rc;
    }
    if (!q->value) {
        cli_errf("abci_query %s: the node sent no value", path);
        sb_rpcc_query_free(q);
        return CLI_EXIT_UNREACHABLE;
    }
    return CLI_EXIT_OK;
}

static int get_u64(json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    return s ? cli_parse_u64(s, out) : -1;
}

int cli_slot_now_parse(json_t *v, cli_slot_now *o)
{
    memset(o, 0, sizeof *o);
    if (get_u64(json_object_get(v, "slot"), &o->slot) < 0 ||
        sb_json_i64(json_object_get(v, "start_ns"), &o->start_ns) < 0 ||
        sb_json_i64(json_object_get(v, "close_ns"), &o->close_ns) < 0 ||
        get_u64(json_object_get(v, "next_slot"), &o->next_slot) < 0 ||
        sb_json_i64(json_object_get(v, "next_close_ns"), &o->next_close_ns) < 0 ||
        sb_json_i64(json_object_get(v, "block_time_ns"), &o->block_time_ns) < 0)
        return -1;
    /* newer field; absent means "unknown": treat as the current slot */
    if (get_u64(json_object_get(v, "next_to_finalize"), &o->next_to_finalize) < 0)
        o->next_to_finalize = o->slot;
    return 0;
}

int cli_slot_now_get(cli_ctx *c, const sb_rpcc *r, cli_slot_now *out)
{
    sb_rpcc_result q;
    int rc = cli_query_value(c, r, "/slot/current", &q);
    if (rc)
        return rc;
    if (cli_slot_now_parse(q.value, out) < 0) {
        cli_errf("/slot/current: unexpected reply (is the node a sleetbubbled of this version?)");
        rc = CLI_EXIT_UNREACHABLE;
    }
    sb_rpcc_query_free(&q);
    return rc;
}

/* The slot clock of the chain recovered from /slot/current (protocol.md §3): L = the
 * distance between two closes, lead = start - close, T0 = start - slot * L. Only the fields
 * slot.h reads are set. */
static void slot_params(const cli_slot_now *n, sb_params *p)
{
    __int128 l_ns = (__int128)n->next_close_ns - n->close_ns;
    memset(p, 0, sizeof *p);
    p->slot_seconds = l_ns > 0 ? (uint64_t)(l_ns / 1000000000) : 0;
    p->close_lead_seconds = (uint64_t)(((__int128)n->start_ns - n->close_ns) / 1000000000);
    p->epoch_ns = (int64_t)((__int128)n->start_ns - (__int128)n->slot * l_ns);
}

uint64_t cli_slot_first_open(const cli_slot_now *n, int64_t *close_ns)
{
    sb_params p;
    slot_params(n, &p);
    uint64_t s = sb_slot_first_open(&p, n->block_time_ns);
    if (close_ns)
        *close_ns = (int64_t)sb_slot_close(&p, s);
    return s;
}

void cli_fmt_duration(int64_t ns, char *out, size_t outlen)
{
    const char *sign = ns < 0 ? "-" : "";
    uint64_t s = ns < 0 ? (uint64_t)(-(ns / 1000000000)) : (uint64_t)(ns / 1000000000);
    if (s >= 86400)
        snprintf(out, outlen, "%s%llud%02lluh", sign, (unsigned long long)(s / 86400),
                 (unsigned long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, outlen, "%s%lluh%02llum", sign, (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(out, outlen, "%s%llum%02llus", sign, (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(out, outlen, "%s%llus", sign, (unsigned long long)s);
}
