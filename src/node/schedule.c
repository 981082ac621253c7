/* schedule.c - one slot's programme from the committed state (protocol.md §14). No SQL here: the
 * record and the winning proposal come through store.h (two indexed lookups, whatever the age
 * of the chain). */
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "sleetbubble/v1/tx.pb-c.h"

void sb_sched_free(sb_sched *s)
{
    if (!s)
        return;
    free(s->tracks);
    free(s->duration_ms);
    if (s->body)
        sleetbubble__v1__proposal_body__free_unpacked(s->body, NULL);
    memset(s, 0, sizeof(*s));
}

int sb_sched_load(sb_store *st, uint64_t slot, sb_sched *out)
{
    int rc = -1;
    uint8_t *raw = NULL;
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    out->slot = slot;
    int f = sb_store_get_slot(st, 0, slot, &out->rec);
    if (f < 0)
        goto done;
    out->finalized = f == 1;
    if (!out->finalized || !sb_outcome_has_winner(out->rec.outcome)) {
        rc = 0;
        goto done;
    }
    /* The record's proposal id names the playlist: for REPEAT, the repeated winner's. */
    if (sb_store_proposal_body(st, 0, out->rec.proposal_id, &raw, &len) != 1)
        goto done;
    Sleetbubble__V1__ProposalBody *b = sleetbubble__v1__proposal_body__unpack(NULL, len, raw);
    if (!b)
        goto done;
    out->body = b;
    size_t n = b->playlist ? b->playlist->n_tracks : 0;
    out->tracks = calloc(n ? n : 1, sizeof(*out->tracks));
    out->duration_ms = calloc(n ? n : 1, sizeof(*out->duration_ms));
    if (!out->tracks || !out->duration_ms)
        goto done;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        const Sleetbubble__V1__Track *t = b->playlist->tracks[i];
        sb_sched_track *d = &out->tracks[i];
        d->cid = t->cid ? t->cid : "";
        d->title = t->title ? t->title : "";
        d->artist = t->artist ? t->artist : "";
        d->duration_ms = t->duration_ms;
        d->offset_ms = (uint64_t)out->total_ms; /* §4 bounds keep every sum far below 2^64 */
        out->duration_ms[i] = t->duration_ms;
        out->total_ms += t->duration_ms;
    }
    rc = 0;
done:
    free(raw);
    if (rc < 0)
        sb_sched_free(out);
    return rc;
}

void sb_sched_prog_slot(const sb_sched *s, sb_prog_slot *out)
{
    out->slot = s->slot;
    out->finalized = s->finalized;
    out->outcome = s->finalized ? s->rec.outcome : 0;
    out->duration_ms = s->duration_ms;
    out->n = s->n;
}

json_t *sb_sched_jdec(__int128 v)
{
    char buf[48];
    if (sb_prog_i128_dec(v, buf, sizeof(buf)) < 0)
        return NULL;
    return json_string(buf);
}

/* Add a new reference under key; 0, or -1 (v NULL or out of memory). */
static int put(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

json_t *sb_sched_json(const sb_prog_timing *tm, const sb_sched *s)
{
    json_t *o = NULL, *a = NULL;
    char cid[SB_CID_STR_MAX];
    int bad = 0;
    if (!s->finalized)
        return NULL;
    if (!(o = json_object()) || !(a = json_array()))
        goto fail;
    bad |= put(o, "slot", sb_sched_jdec((__int128)s->slot));
    bad |= put(o, "start_ns", sb_sched_jdec(sb_prog_slot_start(tm, s->slot)));
    bad |= put(o, "end_ns", sb_sched_jdec(sb_prog_slot_end(tm, s->slot)));
    bad |= put(o, "outcome", json_string(sb_outcome_name(s->rec.outcome)));
    if (s->rec.manifest_cid_len &&
        sb_cid_to_string(s->rec.manifest_cid, s->rec.manifest_cid_len, cid, sizeof(cid)) == 0)
        bad |= put(o, "manifest_cid", json_string(cid));
    else
        bad |= put(o, "manifest_cid", json_null());
    bad |= put(o, "total_ms", json_integer((json_int_t)s->total_ms));
    for (size_t i = 0; i < s->n; i++) {
        const sb_sched_track *t = &s->tracks[i];
        json_t *e = json_object();
        if (!e || json_array_append_new(a, e) < 0)
            goto fail;
        bad |= put(e, "index", json_integer((json_int_t)i));
        bad |= put(e, "cid", json_string(t->cid));
        bad |= put(e, "title", json_string(t->title));
        bad |= put(e, "artist", json_string(t->artist));
        bad |= put(e, "duration_ms", json_integer((json_int_t)t->duration_ms));
        bad |= put(e, "offset_ms", json_integer((json_int_t)t->offset_ms));
    }
    bad |= json_object_set_new(o, "tracks", a);
    a = NULL;
    if (bad)
        goto fail;
    return o;
fail:
    json_decref(a);
    json_decref(o);
    return NULL;
}
