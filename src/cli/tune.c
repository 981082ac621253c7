/* tune.c — `tune`: the winner of a slot as an extended M3U of gateway URLs (protocol.md §12). */
#include "tune.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "cid.h"
#include "cli.h"
#include "programme.h"
#include "rpc.h"
#include "sb_code.h"
#include "tally.h"

#define M3U_MAX (64u * 1024u * 1024u)

/* Append s with CR/LF replaced by spaces (an M3U entry is one line). */
static void put_line_safe(sb_buf *b, const char *s)
{
    for (; *s; s++)
        sb_buf_putc(b, (*s == '\r' || *s == '\n') ? ' ' : (uint8_t)*s);
}

int cli_tune_m3u(json_t *winner, const char *gateway, sb_buf *out, char *err, size_t errlen)
{
    json_t *tracks = json_object_get(winner, "tracks");
    size_t n = json_array_size(tracks);
    size_t gl = strlen(gateway);
    char line[128];
    while (gl && gateway[gl - 1] == '/')
        gl--;
    if (!json_is_array(tracks) || n == 0) {
        snprintf(err, errlen, "the winner has no tracks");
        return -1;
    }
    sb_buf_puts(out, "#EXTM3U\n");
    const char *slot = json_string_value(json_object_get(winner, "slot"));
    const char *outcome = json_string_value(json_object_get(winner, "outcome"));
    if (slot) {
        sb_buf_puts(out, "#PLAYLIST:Sleetbubble slot ");
        put_line_safe(out, slot);
        if (outcome) {
            sb_buf_puts(out, " (");
            put_line_safe(out, outcome);
            sb_buf_puts(out, ")");
        }
        sb_buf_putc(out, '\n');
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tracks, i);
        const char *cid = json_string_value(json_object_get(t, "cid"));
        const char *title = json_string_value(json_object_get(t, "title"));
        const char *artist = json_string_value(json_object_get(t, "artist"));
        json_t *d = json_object_get(t, "duration_ms");
        uint8_t bin[SB_CID_BIN_MAX];
        size_t binlen;
        if (!cid || sb_cid_parse(cid, strlen(cid), bin, &binlen) < 0) {
            snprintf(err, errlen, "tracks[%zu].cid: missing or not a CID", i);
            return -1;
        }
        if (!json_is_integer(d) || json_integer_value(d) < 0) {
            snprintf(err, errlen, "tracks[%zu].duration_ms: missing or negative", i);
            return -1;
        }
        uint64_t secs = ((uint64_t)json_integer_value(d) + 500u) / 1000u;
        if (secs < 1)
            secs = 1;
        snprintf(line, sizeof line, "#EXTINF:%" PRIu64 ",", secs);
        sb_buf_puts(out, line);
        if (artist && *artist) {
            put_line_safe(out, artist);
            sb_buf_puts(out, " - ");
        }
        put_line_safe(out, title && *title ? title : cid);
        sb_buf_putc(out, '\n');
        sb_buf_append(out, gateway, gl);
        sb_buf_puts(out, "/ipfs/");
        sb_buf_puts(out, cid);
        sb_buf_putc(out, '\n');
    }
    if (out->oom) {
        snprintf(err, errlen, "playlist too large");
        return -1;
    }
    return 0;
}

/* ---- tune --now (protocol.md §14) ---------------------------------------------------------- */

/* A decimal string or a non-negative JSON integer as int64 / uint64. 0 / -1. */
static int j_i64(json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = x;
    return 0;
}

static int j_u64(json_t *v, uint64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    return s ? cli_parse_u64(s, out) : -1;
}

static int timing_of(json_t *params, sb_prog_timing *tm, char *err, size_t errlen)
{
    uint64_t L;
    if (j_i64(json_object_get(params, "epoch_ns"), &tm->t0_ns) < 0 ||
        j_u64(json_object_get(params, "slot_seconds"), &L) < 0 || L == 0 || L > 1000000000u) {
        snprintf(err, errlen, "/params: epoch_ns or slot_seconds missing or malformed");
        return -1;
    }
    tm->slot_ns = L * 1000000000u;
    return 0;
}

int cli_tune_slot_at(json_t *params, int64_t t_ns, uint64_t *slot, char *err, size_t errlen)
{
    sb_prog_timing tm;
    if (timing_of(params, &tm, err, errlen) < 0)
        return -1;
    *slot = sb_prog_slot_for(&tm, t_ns);
    return 0;
}

/* A /schedule value (NULL = not finalized) as the programme's input; durations into d[]
 * (malloc'd, caller frees). 0 / -1 with err. */
static int sched_of(json_t *v, uint64_t want, sb_prog_slot *ps, uint64_t **d, char *err,
                    size_t errlen)
{
    memset(ps, 0, sizeof *ps);
    *d = NULL;
    ps->slot = want;
    if (!v)
        return 0;
    uint64_t slot;
    json_t *tracks = json_object_get(v, "tracks");
    int outcome = sb_outcome_from_name(json_string_value(json_object_get(v, "outcome")));
    if (j_u64(json_object_get(v, "slot"), &slot) < 0 || slot != want || !outcome ||
        !json_is_array(tracks)) {
        snprintf(err, errlen, "/schedule/%" PRIu64 ": unexpected reply", want);
        return -1;
    }
    size_t n = json_array_size(tracks);
    *d = calloc(n ? n : 1, sizeof **d);
    if (!*d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (j_u64(json_object_get(json_array_get(tracks, i), "duration_ms"), &(*d)[i]) < 0) {
            snprintf(err, errlen, "/schedule/%" PRIu64 ": tracks[%zu].duration_ms malformed", want,
                     i);
            return -1;
        }
    }
    ps->finalized = 1;
    ps->outcome = outcome;
    ps->duration_ms = *d;
    ps->n = n;
    return 0;
}

static json_t *jdec(__int128 v)
{
    char b[48];
    return sb_prog_i128_dec(v, b, sizeof b) == 0 ? json_string(b) : NULL;
}

static const char *state_name(int st)
{
    switch (st) {
    case SB_PROG_ON_AIR: return "on_air";
    case SB_PROG_BEFORE_EPOCH: return "before_epoch";
    case SB_PROG_NOT_FINALIZED: return "not_finalized";
    default: return "off_air";
    }
}

/* The play p as JSON with the track's strings from the schedule that holds it, or null. */
static json_t *play_json(const sb_prog_play *p, json_t *cur, json_t *nxt, const char *gateway)
{
    if (p->state != SB_PROG_ON_AIR)
        return json_null();
    json_t *sched = NULL;
    uint64_t s;
    if (cur && j_u64(json_object_get(cur, "slot"), &s) == 0 && s == p->slot)
        sched = cur;
    else if (nxt && j_u64(json_object_get(nxt, "slot"), &s) == 0 && s == p->slot)
        sched = nxt;
    json_t *t = json_array_get(json_object_get(sched, "tracks"), p->index);
    if (!t)
        return json_null();
    const char *cid = json_string_value(json_object_get(t, "cid"));
    const char *title = json_string_value(json_object_get(t, "title"));
    const char *artist = json_string_value(json_object_get(t, "artist"));
    char url[1024];
    size_t gl = strlen(gateway);
    while (gl && gateway[gl - 1] == '/')
        gl--;
    snprintf(url, sizeof url, "%.*s/ipfs/%s", (int)gl, gateway, cid ? cid : "");
    return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:I,s:o,s:s}", "cid", cid ? cid : "",
                     "title", title ? title : "", "artist", artist ? artist : "", "duration_ms",
                     (json_int_t)p->duration_ms, "elapsed_ms", (json_int_t)p->elapsed_ms,
                     "remaining_ms", (json_int_t)p->remaining_ms, "started_at_ns",
                     jdec(p->started_at_ns), "ends_at_ns", jdec(p->ends_at_ns), "index",
                     (json_int_t)p->index, "slot", jdec((__int128)p->slot), "url", url);
}

int cli_tune_now(json_t *params, json_t *cur, json_t *nxt, int64_t t_ns, const char *gateway,
                 json_t **out, char *err, size_t errlen)
{
    int rc = -1;
    sb_prog_timing tm;
    sb_prog_slot pc, pn;
    sb_prog_now np;
    uint64_t *dc = NULL, *dn = NULL;
    *out = NULL;
    if (timing_of(params, &tm, err, errlen) < 0)
        goto done;
    uint64_t s = sb_prog_slot_for(&tm, t_ns);
    if (sched_of(cur, s, &pc, &dc, err, errlen) < 0 ||
        sched_of(nxt, s + 1, &pn, &dn, err, errlen) < 0)
        goto done;
    if (sb_prog_at(&tm, t_ns, &pc, &pn, &np) < 0) {
        snprintf(err, errlen, "programme: inconsistent input");
        goto done;
    }
    int finalized = np.now.state == SB_PROG_ON_AIR || np.now.state == SB_PROG_OFF_AIR;
    *out = json_pack("{s:o,s:s,s:b,s:o,s:o,s:o,s:o}", "slot", jdec((__int128)np.now.slot), "state",
                     state_name(np.now.state), "on_air", np.now.state == SB_PROG_ON_AIR, "outcome",
                     finalized ? json_string(sb_outcome_name(np.now.outcome)) : json_null(),
                     "now_playing", play_json(&np.now, cur, nxt, gateway), "playing_next",
                     play_json(&np.next, cur, nxt, gateway), "time_ns", jdec((__int128)t_ns));
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    rc = 0;
done:
    free(dc);
    free(dn);
    return rc;
}

/* /schedule/<slot>: 0 with *v (new reference) when finalized, 0 with *v NULL when NOT_FOUND,
 * else an exit status (printed). */
static int get_schedule(cli_ctx *c, const sb_rpcc *r, uint64_t slot, json_t **v)
{
    char path[64], err[1024];
    sb_rpcc_result q = { 0 };
    *v = NULL;
    snprintf(path, sizeof path, "/schedule/%" PRIu64, slot);
    int rc = sb_rpcc_query(r, path, &q, err, sizeof err);
    if (rc) {
        cli_errf("%s", err);
        return rc;
    }
    if (q.code == SB_NOT_FOUND) {
        sb_rpcc_query_free(&q);
        return CLI_EXIT_OK;
    }
    if (q.code || !q.value) {
        rc = q.code ? cli_print_rejection(c, q.code, q.codespace, q.log) : CLI_EXIT_UNREACHABLE;
        if (!q.code)
            cli_errf("abci_query %s: the node sent no value", path);
        sb_rpcc_query_free(&q);
        return rc;
    }
    *v = json_incref(q.value);
    sb_rpcc_query_free(&q);
    return CLI_EXIT_OK;
}

static void fmt_ms(uint64_t ms, char *out, size_t n)
{
    uint64_t s = ms / 1000;
    snprintf(out, n, "%" PRIu64 ":%02u", s / 60, (unsigned)(s % 60));
}

static void print_play(const char *label, json_t *p)
{
    char el[32], du[32], left[32];
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *artist = json_string_value(json_object_get(p, "artist"));
    const char *cid = json_string_value(json_object_get(p, "cid"));
    fmt_ms((uint64_t)json_integer_value(json_object_get(p, "elapsed_ms")), el, sizeof el);
    fmt_ms((uint64_t)json_integer_value(json_object_get(p, "duration_ms")), du, sizeof du);
    fmt_ms((uint64_t)json_integer_value(json_object_get(p, "remaining_ms")), left, sizeof left);
    printf("%-5s %s%s%s\n", label, artist && *artist ? artist : "", artist && *artist ? " - " : "",
           title && *title ? title : cid);
    printf("      %s / %s (%s left)  slot %s track %" PRId64 "\n", el, du, left,
           json_string_value(json_object_get(p, "slot")),
           (int64_t)json_integer_value(json_object_get(p, "index")) + 1);
    printf("      cid %s\n      %s\n", cid, json_string_value(json_object_get(p, "url")));
}

/* tune --now: the programme at this machine's clock (CLOCK_REALTIME, protocol.md §14). */
static int tune_now(cli_ctx *c, const sb_rpcc *r)
{
    char err[1024];
    sb_rpcc_result pq = { 0 };
    json_t *cur = NULL, *nxt = NULL, *out = NULL;
    uint64_t s;
    struct timespec ts;
    int rc = cli_query_value(c, r, "/params", &pq);
    if (rc)
        return rc;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (cli_tune_slot_at(pq.value, t, &s, err, sizeof err) < 0) {
        cli_errf("%s", err);
        rc = CLI_EXIT_UNREACHABLE;
        goto done;
    }
    if ((rc = get_schedule(c, r, s, &cur)) || (rc = get_schedule(c, r, s + 1, &nxt)))
        goto done;
    if (cli_tune_now(pq.value, cur, nxt, t, c->gateway, &out, err, sizeof err) < 0) {
        cli_errf("%s", err);
        rc = CLI_EXIT_UNREACHABLE;
        goto done;
    }
    if (c->json) {
        cli_print_json(c, out);
        out = NULL;
    } else {
        const char *state = json_string_value(json_object_get(out, "state"));
        json_t *now = json_object_get(out, "now_playing"),
               *next = json_object_get(out, "playing_next");
        const char *words = strcmp(state, "on_air") == 0          ? "on air"
                            : strcmp(state, "before_epoch") == 0  ? "off air (before the epoch)"
                            : strcmp(state, "not_finalized") == 0 ? "off air (not finalized yet)"
                                                                  : "off air";
        printf("slot %s: %s\n", json_string_value(json_object_get(out, "slot")), words);
        if (json_is_object(now))
            print_play("now", now);
        if (json_is_object(next))
            print_play("next", next);
        else
            printf("next  off air\n");
    }
    rc = CLI_EXIT_OK;
done:
    json_decref(out);
    json_decref(cur);
    json_decref(nxt);
    sb_rpcc_query_free(&pq);
    return rc;
}

/* Resolve --slot N|current (default current) into *slot. Returns an exit status. */
static int resolve_slot(cli_ctx *c, const sb_rpcc *r, uint64_t *slot)
{
    const char *s = c->slot ? c->slot : "current";
    if (strcmp(s, "current") != 0) {
        if (cli_parse_u64(s, slot) < 0) {
            cli_errf("--slot: \"%s\" is not a slot number or \"current\"", s);
            return CLI_EXIT_USAGE;
        }
        return CLI_EXIT_OK;
    }
    cli_slot_now now;
    int rc = cli_slot_now_get(c, r, &now);
    if (!rc)
        *slot = now.slot;
    return rc;
}

int cli_cmd_tune(cli_ctx *c)
{
    char err[1024], path[64];
    sb_rpcc r = { .url = c->node, .timeout_s = c->timeout_s };
    sb_rpcc_result q = { 0 };
    sb_buf m3u;
    uint64_t slot;
    int rc;
    sb_buf_init(&m3u, M3U_MAX);
    if (c->nargs || (c->now && (c->slot || c->out_file))) {
        cli_errf("usage: sleetbubble tune [--slot N|current] [-o FILE.m3u] | tune --now");
        return CLI_EXIT_USAGE;
    }
    if (c->now)
        return tune_now(c, &r);
    if ((rc = resolve_slot(c, &r, &slot)))
        return rc;
    snprintf(path, sizeof path, "/winner/%" PRIu64, slot);
    if ((rc = cli_query_value(c, &r, path, &q)))
        return rc;
    const char *outcome = json_string_value(json_object_get(q.value, "outcome"));
    if (outcome && strcmp(outcome, "NONE") == 0) {
        cli_errf("slot %" PRIu64 " has no winner (outcome NONE): nothing to play", slot);
        rc = CLI_EXIT_REJECTED;
        goto done;
    }
    if (cli_tune_m3u(q.value, c->gateway, &m3u, err, sizeof err) < 0) {
        cli_errf("slot %" PRIu64 ": %s", slot, err);
        rc = CLI_EXIT_UNREACHABLE;
        goto done;
    }
    if (c->out_file) {
        if (cli_write_file(c->out_file, m3u.data, m3u.len, err, sizeof err) < 0) {
            cli_errf("%s", err);
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        fprintf(stderr, "wrote slot %" PRIu64 " (%zu tracks) to %s\n", slot,
                json_array_size(json_object_get(q.value, "tracks")), c->out_file);
    } else {
        fwrite(m3u.data, 1, m3u.len, stdout);
    }
    rc = CLI_EXIT_OK;
done:
    sb_buf_free(&m3u);
    sb_rpcc_query_free(&q);
    return rc;
}
