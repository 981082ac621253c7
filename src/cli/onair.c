/* onair.c — `sleetbubble onair` (protocol.md §14): follow the programme and drive Liquidsoap.
 *
 * The chain gives the schedule (/params for T0 and the slot length, /schedule/<n> per slot);
 * sb_prog_at (src/core/programme.c) says what plays at the node's clock; cli_onair_decide turns
 * that and Liquidsoap's answer to `sb.now` into one action; the loop does it over the server
 * socket of scripts/onair/sleetbubble.liq. Nothing is kept on disk: after a restart of this
 * process, of Liquidsoap or of Icecast the loop sees what is on air and rejoins the programme
 * at the right offset. Each poll costs the same whatever the chain's age (three cached slots). */
#include "onair.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cid.h"
#include "cli.h"
#include "rpc.h"
#include "tally.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
/* SWITCH is returned this long before the instant, the caller sleeps the rest. */
#define SWITCH_WINDOW_NS (1 * NS_PER_S)
/* A join that would leave less than this of the track is not attempted. */
#define MIN_JOIN_LEFT_NS (1 * NS_PER_S)

/* ---- pure parts (onair.h) ---- */

int cli_onair_key(const sb_prog_play *p, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%" PRIu64 ":%zu:%" PRIu64, p->slot, p->index, p->pass);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Append s to out[*len..cap) as the inside of a Liquidsoap string literal. 0 / -1 (full). */
static int put_quoted(char *out, size_t cap, size_t *len, const char *s)
{
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (*len + 3 > cap)
            return -1;
        if (ch == '"' || ch == '\\')
            out[(*len)++] = '\\';
        out[(*len)++] = (char)(ch < 0x20 || ch == 0x7f ? ' ' : ch);
    }
    out[*len] = '\0';
    return 0;
}

static int put_raw(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        return -1;
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 0;
}

int cli_onair_uri(const cli_onair_track *t, const char *gateway, char *out, size_t cap)
{
    char cue[96];
    size_t len = 0, gl = strlen(gateway);
    int ret = -1;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    while (gl && gateway[gl - 1] == '/')
        gl--;
    if (put_raw(out, cap, &len, "annotate:sb_key=\"") || put_quoted(out, cap, &len, t->key))
        goto done;
    if (t->title && *t->title &&
        (put_raw(out, cap, &len, "\",title=\"") || put_quoted(out, cap, &len, t->title)))
        goto done;
    if (t->artist && *t->artist &&
        (put_raw(out, cap, &len, "\",artist=\"") || put_quoted(out, cap, &len, t->artist)))
        goto done;
    snprintf(
        cue, sizeof cue,
        "\",liq_cue_in=\"%" PRIu64 ".%03u\",liq_cue_out=\"%" PRIu64 ".%03u\":", t->cue_in_ms / 1000,
        (unsigned)(t->cue_in_ms % 1000), t->cue_out_ms / 1000, (unsigned)(t->cue_out_ms % 1000));
    if (put_raw(out, cap, &len, cue))
        goto done;
    if (len + gl + 1 > cap)
        goto done;
    memcpy(out + len, gateway, gl);
    len += gl;
    out[len] = '\0';
    if (put_raw(out, cap, &len, "/ipfs/") || put_quoted(out, cap, &len, t->cid))
        goto done;
    ret = 0;
done:
    if (ret)
        out[0] = '\0';
    return ret;
}

static int64_t clamp_i64(__int128 v)
{
    if (v > INT64_MAX)
        return INT64_MAX;
    if (v < INT64_MIN)
        return INT64_MIN;
    return (int64_t)v;
}

/* cue_out of an on-air entry: its length within the file, cut at the slot's end. */
static uint64_t cut_ms(const sb_prog_play *p)
{
    __int128 d = (p->ends_at_ns - p->started_at_ns) / NS_PER_MS;
    return d < 0 ? 0 : (uint64_t)d;
}

/* 1 iff key failed and is not to be tried again yet; *retry gets the retry time. */
static int is_failed(const cli_onair_view *v, const char *key, int64_t *retry)
{
    for (size_t i = 0; i < 2; i++)
        if (v->failed[i] && strcmp(v->failed[i], key) == 0 && v->t_ns < v->retry_ns[i]) {
            *retry = v->retry_ns[i];
            return 1;
        }
    return 0;
}

/* The "next" part of the decision: prepare it within lead, switch to it at its start. */
static void decide_next(const cli_onair_view *v, const char *nkey, cli_onair_decision *d)
{
    const sb_prog_play *nx = &v->prog->next;
    int64_t start = clamp_i64(nx->started_at_ns);
    if (nx->state != SB_PROG_ON_AIR)
        return;
    if (strcmp(v->prepared, nkey) != 0) {
        int64_t retry = 0;
        int failed = is_failed(v, nkey, &retry);
        if (!failed && start - v->t_ns <= v->lead_ns) {
            d->act = CLI_ONAIR_PREPARE;
            d->cue_in_ms = 0;
            d->cue_out_ms = cut_ms(nx);
            return;
        }
        int64_t w = failed ? retry : start - v->lead_ns;
        if (w < d->wake_ns)
            d->wake_ns = w;
        return;
    }
    if (start - v->t_ns <= SWITCH_WINDOW_NS) {
        d->act = CLI_ONAIR_SWITCH;
        d->play_ns = start;
        return;
    }
    if (start - SWITCH_WINDOW_NS < d->wake_ns)
        d->wake_ns = start - SWITCH_WINDOW_NS;
}

int cli_onair_decide(const cli_onair_view *v, cli_onair_decision *d)
{
    char key[64] = "", nkey[64] = "";
    if (!v || !d || !v->prog || !v->liq_now || !v->prepared || v->join_margin_ns <= 0 ||
        v->lead_ns <= 0)
        return -1;
    memset(d, 0, sizeof *d);
    d->act = CLI_ONAIR_WAIT;
    d->wake_ns = v->t_ns + NS_PER_S;
    const sb_prog_play *now = &v->prog->now, *nx = &v->prog->next;
    if (now->state == SB_PROG_ON_AIR && cli_onair_key(now, key, sizeof key))
        return -1;
    if (nx->state == SB_PROG_ON_AIR && cli_onair_key(nx, nkey, sizeof nkey))
        return -1;

    if (now->state == SB_PROG_ON_AIR) {
        int64_t ends = clamp_i64(now->ends_at_ns);
        if (ends < d->wake_ns)
            d->wake_ns = ends;
        if (strcmp(v->liq_now, key) != 0) {
            int64_t retry = 0;
            int failed = is_failed(v, key, &retry);
            int64_t play = v->t_ns + v->join_margin_ns;
            if (failed || play + MIN_JOIN_LEFT_NS > ends) {
                if (strcmp(v->liq_now, "silence") != 0) {
                    d->act = CLI_ONAIR_SILENCE;
                    return 0;
                }
                if (failed && retry < d->wake_ns)
                    d->wake_ns = retry;
            } else {
                d->act = CLI_ONAIR_JOIN;
                d->play_ns = play;
                d->cue_in_ms = (uint64_t)((play - clamp_i64(now->started_at_ns)) / NS_PER_MS);
                d->cue_out_ms = cut_ms(now);
                return 0;
            }
        }
    } else if (strcmp(v->liq_now, "off") != 0) {
        d->act = CLI_ONAIR_STOP;
        return 0;
    }
    decide_next(v, nkey, d);
    return 0;
}

/* ---- Liquidsoap server socket ---- */

typedef struct liq_conn {
    const char *path;
    int fd;
} liq_conn;

static void liq_close(liq_conn *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static int liq_open(liq_conn *l, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (l->fd >= 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(l->path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path %s is too long", l->path);
        return -1;
    }
    memcpy(sa.sun_path, l->path, strlen(l->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "cannot connect to Liquidsoap at %s: %s", l->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    l->fd = fd;
    return 0;
}

/* Send one command line and read the answer up to "END" into ans[cap] (first line only, CR/LF
 * stripped). timeout_ms bounds the wait for the answer. 0 / -1 (connection closed). */
static int liq_cmd(liq_conn *l, const char *cmd, int timeout_ms, char *ans, size_t cap, char *err,
                   size_t errlen)
{
    char buf[4096];
    size_t len = 0;
    if (liq_open(l, err, errlen))
        return -1;
    size_t n = strlen(cmd), off = 0;
    while (off <= n) { /* the command, then '\n' */
        const char *p = off < n ? cmd + off : "\n";
        size_t k = off < n ? n - off : 1;
        ssize_t w = send(l->fd, p, k, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "Liquidsoap at %s: send: %s", l->path, strerror(errno));
            liq_close(l);
            return -1;
        }
        off += (size_t)w;
    }
    for (;;) {
        if (len >= 5 && memcmp(buf + len - 5, "END\r\n", 5) == 0)
            break;
        struct pollfd pf = { .fd = l->fd, .events = POLLIN };
        int pr = poll(&pf, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0 || len + 1 >= sizeof buf) {
            snprintf(err, errlen, "Liquidsoap at %s: no answer to \"%.40s\" within %d ms", l->path,
                     cmd, timeout_ms);
            liq_close(l);
            return -1;
        }
        ssize_t r = recv(l->fd, buf + len, sizeof buf - 1 - len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "Liquidsoap at %s closed the connection", l->path);
            liq_close(l);
            return -1;
        }
        len += (size_t)r;
    }
    buf[len] = '\0';
    size_t line = strcspn(buf, "\r\n");
    if (line >= cap)
        line = cap - 1;
    memcpy(ans, buf, line);
    ans[line] = '\0';
    return 0;
}

/* ---- the chain: parameters and a small cache of slot schedules ---- */

typedef struct slot_entry {
    int used;
    uint64_t slot;
    int finalized;
    int outcome;
    int64_t fetched_ns;  /* when it was last asked (not finalized: asked again after 1 s) */
    json_t *tracks;      /* /schedule's tracks (owned) */
    uint64_t *durations; /* their duration_ms (owned) */
    size_t n;
} slot_entry;

#define CACHE_SLOTS 4

typedef struct onair_state {
    cli_ctx *c;
    sb_rpcc rpc;
    sb_prog_timing tm;
    int have_params;
    slot_entry cache[CACHE_SLOTS];
    liq_conn liq;
    char prepared[64];
    char failed[2][64]; /* the last two keys whose prepare failed */
    int64_t retry_ns[2];
    int64_t margin_ns;
    int64_t lead_ns;
    int64_t last_err_ns;
} onair_state;

static volatile sig_atomic_t g_stop;
static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = { .tv_sec = t / NS_PER_S, .tv_nsec = t % NS_PER_S };
    while (!g_stop && clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* One line on stderr, prefixed with the wall-clock time in ms (node-local log). */
__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
{
    va_list ap;
    int64_t t = now_ns();
    fprintf(stderr, "sleetbubble onair: t_ms=%" PRId64 " ", t / NS_PER_MS);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* An error line at most every 10 s (a down node or Liquidsoap is polled 4 times a second). */
static void log_err(onair_state *st, const char *what, const char *err)
{
    int64_t t = now_ns();
    if (t - st->last_err_ns < 10 * NS_PER_S)
        return;
    st->last_err_ns = t;
    logf_("error: %s: %s", what, err);
}

static int fetch_params(onair_state *st)
{
    char err[512];
    sb_rpcc_result q = { 0 };
    int ret = -1;
    int64_t epoch;
    if (sb_rpcc_query(&st->rpc, "/params", &q, err, sizeof err)) {
        log_err(st, "/params", err);
        goto done;
    }
    json_t *ss = json_object_get(q.value, "slot_seconds");
    if (q.code != 0 || sb_json_i64(json_object_get(q.value, "epoch_ns"), &epoch) < 0 ||
        !json_is_integer(ss) || json_integer_value(ss) <= 0) {
        log_err(st, "/params", q.log && *q.log ? q.log : "no epoch_ns or slot_seconds");
        goto done;
    }
    st->tm.t0_ns = epoch;
    st->tm.slot_ns = (uint64_t)json_integer_value(ss) * (uint64_t)NS_PER_S;
    st->have_params = 1;
    logf_("chain: epoch_ns=%" PRId64 " slot_seconds=%" PRId64, epoch,
          (int64_t)json_integer_value(ss));
    ret = 0;
done:
    sb_rpcc_query_free(&q);
    return ret;
}

static void entry_clear(slot_entry *e)
{
    json_decref(e->tracks);
    free(e->durations);
    memset(e, 0, sizeof *e);
}

/* Fill e from a /schedule/<n> value (borrowed). 0 / -1. */
static int entry_fill(slot_entry *e, json_t *v)
{
    const char *outcome = json_string_value(json_object_get(v, "outcome"));
    json_t *tracks = json_object_get(v, "tracks");
    size_t n = json_array_size(tracks);
    if (!outcome || !json_is_array(tracks))
        return -1;
    e->outcome = sb_outcome_from_name(outcome);
    if (!e->outcome)
        return -1;
    e->durations = calloc(n ? n : 1, sizeof *e->durations);
    if (!e->durations)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_object_get(json_array_get(tracks, i), "duration_ms");
        if (!json_is_integer(d) || json_integer_value(d) <= 0)
            return -1;
        e->durations[i] = (uint64_t)json_integer_value(d);
    }
    e->tracks = json_incref(tracks);
    e->n = n;
    e->finalized = 1;
    return 0;
}

/* The schedule of slot s, from the cache or the chain (a slot not finalized yet is asked again
 * after 1 s). Never NULL: an unknown slot is "not finalized". */
static slot_entry *slot_get(onair_state *st, uint64_t s, int64_t t)
{
    slot_entry *e = NULL, *victim = &st->cache[0];
    char path[48], err[512];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (st->cache[i].used && st->cache[i].slot == s)
            e = &st->cache[i];
        if (!st->cache[i].used || (victim->used && st->cache[i].slot < victim->slot))
            victim = &st->cache[i];
    }
    if (e && (e->finalized || t - e->fetched_ns < NS_PER_S))
        return e;
    if (!e) {
        e = victim;
        entry_clear(e);
        e->used = 1;
        e->slot = s;
    }
    e->fetched_ns = t;
    sb_rpcc_result q = { 0 };
    snprintf(path, sizeof path, "/schedule/%" PRIu64, s);
    if (sb_rpcc_query(&st->rpc, path, &q, err, sizeof err)) {
        log_err(st, path, err);
    } else if (q.code == 0) {
        if (entry_fill(e, q.value) < 0) {
            log_err(st, path, "malformed schedule");
            entry_clear(e);
            e->used = 1;
            e->slot = s;
            e->fetched_ns = t;
        } else {
            logf_("slot %" PRIu64 ": %s, %zu tracks", s, sb_outcome_name(e->outcome), e->n);
        }
    }
    sb_rpcc_query_free(&q);
    return e;
}

static void as_prog_slot(const slot_entry *e, sb_prog_slot *ps)
{
    ps->slot = e->slot;
    ps->finalized = e->finalized;
    ps->outcome = e->outcome;
    ps->duration_ms = e->durations;
    ps->n = e->n;
}

/* The track of an on-air entry. */
static json_t *track_of(onair_state *st, const sb_prog_play *p)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (st->cache[i].used && st->cache[i].finalized && st->cache[i].slot == p->slot)
            return json_array_get(st->cache[i].tracks, p->index);
    return NULL;
}

/* Ask Liquidsoap to prepare entry p cued at cue_in_ms .. cue_out_ms. 0 / -1 (failed: the
 * track cannot be fetched or decoded, or Liquidsoap is gone). */
static int do_prepare(onair_state *st, const sb_prog_play *p, uint64_t cue_in_ms,
                      uint64_t cue_out_ms, char *key, size_t keycap)
{
    char uri[4096], cmd[4200], ans[256], err[512];
    json_t *t = track_of(st, p);
    const char *cid = json_string_value(json_object_get(t, "cid"));
    if (cli_onair_key(p, key, keycap) || !cid)
        return -1;
    cli_onair_track tr = { .key = key,
                           .cid = cid,
                           .title = json_string_value(json_object_get(t, "title")),
                           .artist = json_string_value(json_object_get(t, "artist")),
                           .cue_in_ms = cue_in_ms,
                           .cue_out_ms = cue_out_ms };
    if (cli_onair_uri(&tr, st->c->gateway, uri, sizeof uri))
        return -1;
    snprintf(cmd, sizeof cmd, "sb.prepare %s", uri);
    int64_t t0 = now_ns();
    if (liq_cmd(&st->liq, cmd, 40000, ans, sizeof ans, err, sizeof err)) {
        log_err(st, "sb.prepare", err);
        return -1;
    }
    int64_t took = now_ns() - t0;
    /* The join margin follows the observed prepare time: twice the last one plus 300 ms,
   * within [0.5 s, 10 s]. */
    int64_t m = 2 * took + 300 * NS_PER_MS;
    st->margin_ns = m < NS_PER_S / 2 ? NS_PER_S / 2 : m > 10 * NS_PER_S ? 10 * NS_PER_S : m;
    if (strncmp(ans, "ok ", 3) != 0 || strcmp(ans + 3, key) != 0) {
        logf_("cannot play %s (%s): Liquidsoap answered \"%s\"; silence for it", key, cid, ans);
        return -1;
    }
    logf_("prepared %s cid=%s cue_in_ms=%" PRIu64 " cue_out_ms=%" PRIu64 " took_ms=%" PRId64, key,
          cid, cue_in_ms, cue_out_ms, took / NS_PER_MS);
    return 0;
}

static int simple_cmd(onair_state *st, const char *cmd, char *ans, size_t cap)
{
    char err[512];
    if (liq_cmd(&st->liq, cmd, 5000, ans, cap, err, sizeof err)) {
        log_err(st, cmd, err);
        st->prepared[0] = '\0';
        return -1;
    }
    return 0;
}

/* Play the prepared key at instant at_ns. Logs the lateness of the command. */
static void do_play(onair_state *st, const char *key, int64_t at_ns, const char *why)
{
    char cmd[128], ans[64];
    sleep_until(at_ns);
    if (g_stop)
        return;
    int64_t sent = now_ns();
    snprintf(cmd, sizeof cmd, "sb.play %s", key);
    if (simple_cmd(st, cmd, ans, sizeof ans))
        return;
    if (strcmp(ans, "ok") != 0) {
        logf_("sb.play %s: Liquidsoap answered \"%s\"", key, ans);
        st->prepared[0] = '\0';
        return;
    }
    logf_("on air %s (%s) late_ms=%" PRId64, key, why, (sent - at_ns) / NS_PER_MS);
}

/* Remember that p could not be prepared: not again for 5 s (it stays silence meanwhile), and
 * nothing else this poll (a failing gateway is not hammered). */
static void note_failure(onair_state *st, const sb_prog_play *p)
{
    char key[64];
    size_t i = 0;
    if (cli_onair_key(p, key, sizeof key))
        return;
    if (strcmp(st->failed[1], key) == 0 ||
        (strcmp(st->failed[0], key) != 0 && st->retry_ns[1] < st->retry_ns[0]))
        i = 1;
    snprintf(st->failed[i], sizeof st->failed[i], "%s", key);
    st->retry_ns[i] = now_ns() + 5 * NS_PER_S;
    sleep_until(now_ns() + NS_PER_S / 4);
}

static void step(onair_state *st)
{
    char liq_now[128], key[64];
    int64_t t = now_ns();
    if (!st->have_params && fetch_params(st)) {
        sleep_until(t + 2 * NS_PER_S);
        return;
    }
    uint64_t s = sb_prog_slot_for(&st->tm, t);
    sb_prog_slot cur, nxt;
    as_prog_slot(slot_get(st, s, t), &cur);
    int have_next = s < UINT64_MAX;
    if (have_next)
        as_prog_slot(slot_get(st, s + 1, t), &nxt);
    sb_prog_now pn;
    if (sb_prog_at(&st->tm, t, &cur, have_next ? &nxt : NULL, &pn)) {
        log_err(st, "programme", "sb_prog_at failed");
        sleep_until(t + NS_PER_S);
        return;
    }
    if (simple_cmd(st, "sb.now", liq_now, sizeof liq_now)) {
        sleep_until(t + NS_PER_S / 2);
        return;
    }
    cli_onair_view v = { .t_ns = t,
                         .prog = &pn,
                         .liq_now = liq_now,
                         .prepared = st->prepared,
                         .failed = { st->failed[0], st->failed[1] },
                         .retry_ns = { st->retry_ns[0], st->retry_ns[1] },
                         .join_margin_ns = st->margin_ns,
                         .lead_ns = st->lead_ns };
    cli_onair_decision d;
    if (cli_onair_decide(&v, &d))
        return;
    char ans[64];
    switch (d.act) {
    case CLI_ONAIR_JOIN:
        if (do_prepare(st, &pn.now, d.cue_in_ms, d.cue_out_ms, key, sizeof key)) {
            note_failure(st, &pn.now);
            return;
        }
        st->prepared[0] = '\0';
        if (now_ns() > d.play_ns)
            logf_("join of %s prepared %" PRId64 " ms after its instant", key,
                  (now_ns() - d.play_ns) / NS_PER_MS);
        do_play(st, key, d.play_ns, "join");
        return;
    case CLI_ONAIR_PREPARE:
        if (do_prepare(st, &pn.next, 0, d.cue_out_ms, key, sizeof key)) {
            note_failure(st, &pn.next);
            return;
        }
        snprintf(st->prepared, sizeof st->prepared, "%s", key);
        return;
    case CLI_ONAIR_SWITCH:
        snprintf(key, sizeof key, "%s", st->prepared);
        st->prepared[0] = '\0';
        do_play(st, key, d.play_ns, "boundary");
        return;
    case CLI_ONAIR_STOP:
        if (!simple_cmd(st, "sb.stop", ans, sizeof ans))
            logf_("off air");
        return;
    case CLI_ONAIR_SILENCE:
        if (!simple_cmd(st, "sb.silence", ans, sizeof ans))
            logf_("on air, silence");
        return;
    case CLI_ONAIR_WAIT: break;
    }
    int64_t wake = t + NS_PER_S / 4;
    if (d.wake_ns > now_ns() && d.wake_ns < wake)
        wake = d.wake_ns;
    sleep_until(wake);
}

int cli_cmd_onair(cli_ctx *c)
{
    onair_state st;
    struct sigaction sa;
    memset(&st, 0, sizeof st);
    if (c->nargs || !c->socket) {
        cli_errf("usage: sleetbubble onair --socket PATH/onair.sock [--node URL] [--gateway URL]");
        return CLI_EXIT_USAGE;
    }
    st.c = c;
    st.rpc.url = c->node;
    st.rpc.timeout_s = c->timeout_s < 10 ? c->timeout_s : 10;
    st.liq.path = c->socket;
    st.liq.fd = -1;
    st.margin_ns = NS_PER_S;
    st.lead_ns = 5 * NS_PER_S;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    logf_("following %s, tracks from %s/ipfs/, Liquidsoap at %s", c->node, c->gateway, c->socket);
    while (!g_stop)
        step(&st);
    liq_close(&st.liq);
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        entry_clear(&st.cache[i]);
    logf_("stopped");
    return CLI_EXIT_OK;
}
