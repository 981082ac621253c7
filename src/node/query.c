/* query.c - abci_query paths for explorers and the CLI (protocol.md §8). Reads committed state only;
 * values are UTF-8 JSON; 64-bit integers as decimal strings; ids and keys lowercase hex. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pin_store.h"
#include "query.h"
#include "cid.h"
#include "log.h"
#include "sb_buf.h"
#include "sb_code.h"
#include "schedule.h"
#include "slot.h"
#include "tally.h"
#include "tx.h"

static json_t *jhex(const uint8_t *p, size_t n)
{
    char buf[129];
    if (n > 64)
        return json_null();
    sb_hex(p, n, buf);
    return json_string(buf);
}

static json_t *ju64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    return json_string(buf);
}

static json_t *ji64(int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return json_string(buf);
}

static json_t *ji128(__int128 v)
{
    char buf[48], *p = buf + sizeof(buf) - 1;
    int neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (neg)
        *--p = '-';
    return json_string(p);
}

/* Parse a decimal slot number: digits only, no sign, fits uint64. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static json_t *cid_json(const uint8_t *bin, size_t n)
{
    char s[SB_CID_STR_MAX];
    if (!n || sb_cid_to_string(bin, n, s, sizeof(s)) < 0)
        return json_null();
    return json_string(s);
}

static json_t *record_json(const sb_slot_record *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "slot", ju64(r->slot));
    json_object_set_new(o, "outcome", json_string(sb_outcome_name(r->outcome)));
    json_object_set_new(o, "winner",
                        r->outcome == SB_OUTCOME_NONE ? json_null() : jhex(r->proposal_id, 32));
    json_object_set_new(o, "power_for", ju64(r->power_for));
    json_object_set_new(o, "total_power", ju64(r->total));
    json_object_set_new(o, "manifest_cid", cid_json(r->manifest_cid, r->manifest_cid_len));
    json_object_set_new(o, "height", ji64(r->height));
    return o;
}

static json_t *tracks_json(const Sleetbubble__V1__ProposalBody *b)
{
    json_t *a = json_array();
    for (size_t i = 0; b->playlist && i < b->playlist->n_tracks; i++) {
        const Sleetbubble__V1__Track *t = b->playlist->tracks[i];
        json_t *o = json_object();
        json_object_set_new(o, "cid", json_string(t->cid ? t->cid : ""));
        json_object_set_new(o, "duration_ms", json_integer(t->duration_ms));
        json_object_set_new(o, "title", json_string(t->title ? t->title : ""));
        json_object_set_new(o, "artist", json_string(t->artist ? t->artist : ""));
        json_array_append_new(a, o);
    }
    return a;
}

typedef struct qres {
    int code;
    char log[256];
    json_t *value; /* owned */
} qres;

static void q_err(qres *q, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void q_err(qres *q, int code, const char *fmt, ...)
{
    va_list ap;
    q->code = code;
    va_start(ap, fmt);
    vsnprintf(q->log, sizeof(q->log), fmt, ap);
    va_end(ap);
}

/* Load and decode a committed proposal body. Returns 1 found, 0 not, -1 error. */
static int load_body(sb_app *app, const uint8_t id[32], Sleetbubble__V1__ProposalBody **out)
{
    uint8_t *body;
    size_t len;
    int f = sb_store_proposal_body(sb_app_store(app), 0, id, &body, &len);
    if (f != 1)
        return f;
    *out = sleetbubble__v1__proposal_body__unpack(NULL, len, body);
    free(body);
    return *out ? 1 : -1;
}

static int q_params(sb_app *app, qres *q)
{
    char *s = sb_params_to_json(sb_app_params(app));
    if (!s)
        return -1;
    q->value = json_loads(s, 0, NULL);
    free(s);
    return q->value ? 0 : -1;
}

static int q_slot_current(sb_app *app, qres *q)
{
    int64_t t = sb_app_block_time(app);
    const sb_params *p = sb_app_params(app);
    uint64_t s = sb_slot_current(p, t);
    json_t *o = json_object();
    json_object_set_new(o, "slot", ju64(s));
    json_object_set_new(o, "start_ns", ji128(sb_slot_start(p, s)));
    json_object_set_new(o, "close_ns", ji128(sb_slot_close(p, s)));
    json_object_set_new(o, "next_slot", ju64(s + 1));
    json_object_set_new(o, "next_close_ns", ji128(sb_slot_close(p, s + 1)));
    json_object_set_new(o, "block_time_ns", ji64(t));
    json_object_set_new(o, "next_to_finalize", ju64(sb_app_next_slot(app)));
    q->value = o;
    return 0;
}

/* Votes of a slot attached to its proposals (the JSON array built by q_slot): voters in
 * validator order, power_for counted by the core's tally (protocol.md §5). */
typedef struct slot_votes {
    json_t *props; /* array of proposal objects, in the tally's candidate order */
    sb_tally_votes tv;
} slot_votes;

static int attach_vote(void *arg, const uint8_t validator[32], const uint8_t proposal_id[32])
{
    slot_votes *sv = arg;
    size_t i = sb_tally_votes_add(&sv->tv, validator, proposal_id);
    if (i < sv->tv.n)
        json_array_append_new(json_object_get(json_array_get(sv->props, i), "voters"),
                              jhex(validator, 32));
    return 0;
}

/* sb_store_each_proposal callback: one proposal object, and its id for the tally. */
typedef struct slot_props {
    json_t *props;
    uint8_t *ids; /* 32 bytes per proposal, in props order */
    size_t n, cap;
} slot_props;

static int add_proposal(void *arg, const sb_proposal_row *row)
{
    slot_props *sp = arg;
    if (sp->n == sp->cap) {
        size_t ncap = sp->cap ? sp->cap * 2 : 8;
        uint8_t *ids = realloc(sp->ids, ncap * 32);
        if (!ids)
            return -1;
        sp->ids = ids;
        sp->cap = ncap;
    }
    memcpy(sp->ids + 32 * sp->n++, row->id, 32);
    json_t *p = json_object();
    json_object_set_new(p, "id", jhex(row->id, 32));
    json_object_set_new(p, "curator", jhex(row->curator, 32));
    json_object_set_new(p, "tracks", json_integer(row->n_tracks));
    json_object_set_new(p, "duration_ms", ju64(row->total_ms));
    json_object_set_new(p, "height", ji64(row->height));
    json_object_set_new(p, "voters", json_array());
    return json_array_append_new(sp->props, p);
}

static int q_slot(sb_app *app, qres *q, uint64_t s)
{
    int ret = -1;
    json_t *o = json_object(), *props = json_array();
    slot_props sp = { props, NULL, 0, 0 };
    slot_votes sv = { props, { 0 } };
    json_object_set_new(o, "slot", ju64(s));
    json_object_set_new(o, "close_ns", ji128(sb_slot_close(sb_app_params(app), s)));
    json_object_set_new(o, "proposals", props);
    if (sb_store_each_proposal(sb_app_store(app), 0, s, add_proposal, &sp) < 0 ||
        sb_tally_votes_init(&sv.tv, sb_app_params(app), sp.ids, sp.n) < 0 ||
        sb_store_each_vote(sb_app_store(app), 0, s, attach_vote, &sv) < 0 ||
        sb_tally_votes_finish(&sv.tv) < 0)
        goto done;
    for (size_t i = 0; i < sv.tv.n; i++)
        json_object_set_new(json_array_get(props, i), "power_for", ju64(sv.tv.c[i].power_for));
    sb_slot_record r;
    int f = sb_store_get_slot(sb_app_store(app), 0, s, &r);
    if (f < 0)
        goto done;
    json_object_set_new(o, "finalized", json_boolean(f == 1));
    json_object_set_new(o, "result", f == 1 ? record_json(&r) : json_null());
    q->value = o;
    o = NULL;
    ret = 0;
done:
    sb_tally_votes_free(&sv.tv);
    free(sp.ids);
    json_decref(o);
    return ret;
}

static int q_winner(sb_app *app, qres *q, uint64_t s)
{
    sb_slot_record r;
    Sleetbubble__V1__ProposalBody *b = NULL;
    int f = sb_store_get_slot(sb_app_store(app), 0, s, &r);
    if (f < 0)
        return -1;
    if (f == 0) {
        q_err(q, SB_NOT_FOUND, "slot %" PRIu64 " is not finalized yet", s);
        return 0;
    }
    json_t *o = record_json(&r);
    if (r.outcome != SB_OUTCOME_NONE) {
        f = load_body(app, r.proposal_id, &b);
        if (f < 0) {
            json_decref(o);
            return -1;
        }
    }
    json_object_set_new(o, "curator",
                        b ? jhex(b->curator_pubkey.data, b->curator_pubkey.len) : json_null());
    json_object_set_new(o, "proposal_slot", b ? ju64(b->slot) : json_null());
    json_object_set_new(o, "note", b ? json_string(b->note ? b->note : "") : json_null());
    json_object_set_new(o, "tracks", b ? tracks_json(b) : json_array());
    if (b)
        sleetbubble__v1__proposal_body__free_unpacked(b, NULL);
    q->value = o;
    return 0;
}

/* The slot's programme (protocol.md §14): start, end and every track's offset within one pass.
 * NONE: tracks []. Not finalized yet: NOT_FOUND. */
static int q_schedule(sb_app *app, qres *q, uint64_t s)
{
    const sb_params *p = sb_app_params(app);
    sb_prog_timing tm = { p->epoch_ns, p->slot_seconds * 1000000000ull };
    sb_sched sc;
    if (sb_sched_load(sb_app_store(app), s, &sc) < 0)
        return -1;
    if (!sc.finalized) {
        q_err(q, SB_NOT_FOUND, "slot %" PRIu64 " is not finalized yet", s);
        sb_sched_free(&sc);
        return 0;
    }
    q->value = sb_sched_json(&tm, &sc);
    sb_sched_free(&sc);
    return q->value ? 0 : -1;
}

static int q_proposal(sb_app *app, qres *q, const char *hex)
{
    uint8_t id[32];
    Sleetbubble__V1__ProposalBody *b = NULL;
    if (strlen(hex) != 64 || sb_unhex(hex, id, 32) < 0) {
        q_err(q, SB_NOT_FOUND, "proposal id %s is not 64 hex digits", hex);
        return 0;
    }
    int f = load_body(app, id, &b);
    if (f < 0)
        return -1;
    if (f == 0) {
        q_err(q, SB_NOT_FOUND, "no proposal %s", hex);
        return 0;
    }
    int64_t height = 0;
    if (sb_store_proposal_height(sb_app_store(app), 0, id, &height) < 0) {
        sleetbubble__v1__proposal_body__free_unpacked(b, NULL);
        return -1;
    }
    json_t *o = json_object();
    uint64_t total = 0;
    for (size_t i = 0; b->playlist && i < b->playlist->n_tracks; i++)
        total += b->playlist->tracks[i]->duration_ms;
    json_object_set_new(o, "id", jhex(id, 32));
    json_object_set_new(o, "chain_id", json_string(b->chain_id ? b->chain_id : ""));
    json_object_set_new(o, "slot", ju64(b->slot));
    json_object_set_new(o, "curator", jhex(b->curator_pubkey.data, b->curator_pubkey.len));
    json_object_set_new(o, "note", json_string(b->note ? b->note : ""));
    json_object_set_new(o, "duration_ms", ju64(total));
    json_object_set_new(o, "height", ji64(height));
    json_object_set_new(o, "tracks", tracks_json(b));
    sleetbubble__v1__proposal_body__free_unpacked(b, NULL);
    q->value = o;
    return 0;
}

static int q_validators(sb_app *app, qres *q)
{
    json_t *a = json_array();
    const sb_params *p = sb_app_params(app);
    for (size_t i = 0; i < p->n_validators; i++) {
        const sb_validator *v = &p->validators[i];
        json_t *o = json_object();
        json_object_set_new(o, "pubkey", jhex(v->pubkey, 32));
        json_object_set_new(o, "power", ji64(v->power));
        json_object_set_new(o, "vote_key",
                            v->has_vote_key ? jhex(v->vote_key, 32) : jhex(v->pubkey, 32));
        json_object_set_new(o, "vote_key_delegated", json_boolean(v->has_vote_key));
        json_array_append_new(a, o);
    }
    json_t *o = json_object();
    json_object_set_new(o, "validators", a);
    json_object_set_new(o, "total_power", ju64(sb_params_total_power(p)));
    q->value = o;
    return 0;
}

/* Node-local pin status of slot s's winner (protocol.md §8, §10): the manifest and every track. */
static int q_pins(sb_app *app, qres *q, uint64_t s)
{
    sb_slot_record r;
    Sleetbubble__V1__ProposalBody *b = NULL;
    int f = sb_store_get_slot(sb_app_store(app), 0, s, &r);
    if (f < 0)
        return -1;
    if (f == 0 || r.outcome == SB_OUTCOME_NONE) {
        q_err(q, SB_NOT_FOUND, "%s", f == 0 ? "slot not finalized yet" : "slot has no winner");
        return 0;
    }
    if (load_body(app, r.proposal_id, &b) != 1)
        return -1;
    json_t *o = json_object(), *a = json_array();
    json_object_set_new(o, "slot", ju64(s));
    json_object_set_new(o, "node_local", json_true());
    json_object_set_new(o, "note",
                        json_string("pin status of this node only; not consensus state"));
    json_object_set_new(o, "pinning_enabled", json_boolean(sb_app_pin_enabled(app)));
    json_object_set_new(o, "cids", a);
    int ret = -1, all = 1;
    struct sb_pinstore *view = sb_app_pins_view(app);
    size_t ntr = b->playlist ? b->playlist->n_tracks : 0;
    for (size_t i = 0; i <= ntr; i++) {
        char mc[SB_CID_STR_MAX];
        const char *cid;
        if (i == 0) {
            if (sb_cid_to_string(r.manifest_cid, r.manifest_cid_len, mc, sizeof(mc)) < 0)
                goto done;
            cid = mc;
        } else {
            cid = b->playlist->tracks[i - 1]->cid;
        }
        json_t *e = json_object();
        json_object_set_new(e, "cid", json_string(cid));
        json_object_set_new(e, "kind", json_string(i == 0 ? "manifest" : "track"));
        sb_pin_job_info ji;
        int found = view ? sb_pinstore_job(view, cid, &ji) : 0;
        if (found == 1) {
            all &= strcmp(ji.state, "pinned") == 0;
            json_object_set_new(e, "state", json_string(ji.state));
            json_object_set_new(e, "attempts", json_integer(ji.attempts));
            json_object_set_new(e, "last_error",
                                ji.last_error[0] ? json_string(ji.last_error) : json_null());
            json_object_set_new(e, "pinned_at_ms",
                                ji.pinned_at_null ? json_null() : ji64(ji.pinned_at_ms));
            json_object_set_new(e, "bytes", ji64(ji.bytes));
            json_object_set_new(e, "next_try_ms", ji64(ji.next_try_ms));
        } else {
            all = 0;
            json_object_set_new(e, "state", json_string("not_queued"));
        }
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "all_pinned", json_boolean(all));
    q->value = o;
    o = NULL;
    ret = 0;
done:
    json_decref(o);
    sleetbubble__v1__proposal_body__free_unpacked(b, NULL);
    return ret;
}

int sb_query(sb_app *app, abci_ctx *ctx, const Tendermint__Abci__RequestQuery *req,
             Tendermint__Abci__ResponseQuery *res)
{
    qres q = { 0 };
    const char *path = req->path ? req->path : "";
    uint64_t n = 0;
    int rc = 0;

    res->height = sb_app_height(app);
    if (req->height != 0 && req->height != sb_app_height(app)) {
        res->code = SB_HEIGHT_UNAVAILABLE;
        res->codespace = SB_CODESPACE;
        res->log = abci_ctx_printf(ctx,
                                   "HEIGHT_UNAVAILABLE: only the latest height %" PRId64
                                   " (or 0) is served, not %" PRId64,
                                   sb_app_height(app), req->height);
        return 0;
    }
    if (!sb_app_params(app) && path[0] == '/' &&
        (strcmp(path, "/params") == 0 || strcmp(path, "/validators") == 0 ||
         strncmp(path, "/slot/", 6) == 0 || strncmp(path, "/winner/", 8) == 0 ||
         strncmp(path, "/proposal/", 10) == 0 || strncmp(path, "/pins/", 6) == 0 ||
         strncmp(path, "/schedule/", 10) == 0)) {
        q_err(&q, SB_NOT_FOUND, "%s", "chain not initialised yet (no InitChain)");
    } else if (!sb_app_params(app)) {
        q_err(&q, SB_UNKNOWN_PATH, "unknown path \"%s\"", path);
    } else if (strcmp(path, "/params") == 0) {
        rc = q_params(app, &q);
    } else if (strcmp(path, "/slot/current") == 0) {
        rc = q_slot_current(app, &q);
    } else if (strncmp(path, "/slot/", 6) == 0 && parse_u64(path + 6, &n) == 0) {
        rc = q_slot(app, &q, n);
    } else if (strncmp(path, "/winner/", 8) == 0 && parse_u64(path + 8, &n) == 0) {
        rc = q_winner(app, &q, n);
    } else if (strncmp(path, "/schedule/", 10) == 0 && parse_u64(path + 10, &n) == 0) {
        rc = q_schedule(app, &q, n);
    } else if (strncmp(path, "/proposal/", 10) == 0) {
        rc = q_proposal(app, &q, path + 10);
    } else if (strcmp(path, "/validators") == 0) {
        rc = q_validators(app, &q);
    } else if (strncmp(path, "/pins/", 6) == 0 && parse_u64(path + 6, &n) == 0) {
        rc = q_pins(app, &q, n);
    } else {
        q_err(&q, SB_UNKNOWN_PATH,
              "unknown path \"%s\"; known: /params /slot/current /slot/<n> /winner/<n> "
              "/proposal/<hex id> /validators /pins/<n> /schedule/<n>",
              path);
    }
    if (rc < 0) {
        json_decref(q.value);
        sb_log(SB_LOG_ERROR, "query", "%s: internal error", path);
        return -1;
    }
    res->code = (uint32_t)q.code;
    if (q.code) {
        res->codespace = SB_CODESPACE;
        res->log = abci_ctx_printf(ctx, "%s: %s", sb_code_name(q.code), q.log);
    }
    if (q.value) {
        char *s = json_dumps(q.value, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(q.value);
        if (!s)
            return -1;
        res->value.len = strlen(s);
        res->value.data = abci_ctx_memdup(ctx, s, res->value.len);
        free(s);
        if (!res->value.data)
            return -1;
    }
    return 0;
}
