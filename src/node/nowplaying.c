/* nowplaying.c - the now-playing feed and page (protocol.md §14) rendered from the programme
 * function's result. Pure: the caller passes the time and the slots. */
#include "nowplaying.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sb_buf.h"
#include "tally.h"

#define PAGE_MAX (256 * 1024) /* titles are bounded by §4; the page is a few kB */

static const char *state_name(int state)
{
    switch (state) {
    case SB_PROG_ON_AIR: return "on_air";
    case SB_PROG_BEFORE_EPOCH: return "before_epoch";
    case SB_PROG_NOT_FINALIZED: return "not_finalized";
    case SB_PROG_OFF_AIR: return "off_air";
    default: return "off_air";
    }
}

/* The track a play names, from whichever slot holds it; NULL if none. */
static const sb_sched_track *track_of(const sb_np_input *in, const sb_prog_play *p)
{
    if (p->state != SB_PROG_ON_AIR)
        return NULL;
    const sb_sched *s = NULL;
    if (in->cur && in->cur->slot == p->slot)
        s = in->cur;
    else if (in->nxt && in->nxt->slot == p->slot)
        s = in->nxt;
    if (!s || p->index >= s->n)
        return NULL;
    return &s->tracks[p->index];
}

static int put(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

static json_t *str_or_null(const char *s) { return s && s[0] ? json_string(s) : json_null(); }

/* The now_playing / playing_next object, or JSON null. */
static json_t *play_json(const sb_np_input *in, const sb_prog_play *p)
{
    const sb_sched_track *t = track_of(in, p);
    if (!t)
        return json_null();
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        bad |= put(o, "cid", json_string(t->cid));
        bad |= put(o, "title", json_string(t->title));
        bad |= put(o, "artist", json_string(t->artist));
        bad |= put(o, "duration_ms", json_integer((json_int_t)p->duration_ms));
        bad |= put(o, "elapsed_ms", json_integer((json_int_t)p->elapsed_ms));
        bad |= put(o, "remaining_ms", json_integer((json_int_t)p->remaining_ms));
        bad |= put(o, "started_at_ns", sb_sched_jdec(p->started_at_ns));
        bad |= put(o, "ends_at_ns", sb_sched_jdec(p->ends_at_ns));
        bad |= put(o, "index", json_integer((json_int_t)p->index));
        bad |= put(o, "slot", sb_sched_jdec((__int128)p->slot));
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *feed_obj(const sb_np_station *st, const sb_np_input *in)
{
    json_t *o = json_object(), *station = json_object();
    int bad = !o || !station;
    if (bad)
        goto done;
    bad |= put(station, "name", json_string(st->name ? st->name : ""));
    bad |= put(o, "station", station);
    station = NULL;
    bad |= put(o, "server_time_ns", sb_sched_jdec((__int128)in->t_ns));
    bad |= put(o, "stream_url", str_or_null(st->stream_url));
    bad |= put(o, "stream_url_mp3", str_or_null(st->stream_url_mp3));
    bad |= put(o, "gateway_url", str_or_null(st->gateway_url));
    if (!in->initialised || !in->np) {
        bad |= put(o, "slot", json_null());
        bad |= put(o, "outcome", json_null());
        bad |= put(o, "on_air", json_false());
        bad |= put(o, "state", json_string("not_initialised"));
        bad |= put(o, "now_playing", json_null());
        bad |= put(o, "playing_next", json_null());
        goto done;
    }
    const sb_prog_now *np = in->np;
    int finalized = np->now.state == SB_PROG_ON_AIR || np->now.state == SB_PROG_OFF_AIR;
    bad |= put(o, "slot", sb_sched_jdec((__int128)np->now.slot));
    bad |=
        put(o, "outcome", finalized ? json_string(sb_outcome_name(np->now.outcome)) : json_null());
    bad |= put(o, "on_air", json_boolean(np->now.state == SB_PROG_ON_AIR));
    bad |= put(o, "state", json_string(state_name(np->now.state)));
    bad |= put(o, "now_playing", play_json(in, &np->now));
    bad |= put(o, "playing_next", play_json(in, &np->next));
done:
    json_decref(station);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *sb_np_feed_json(const sb_np_station *st, const sb_np_input *in)
{
    json_t *o = feed_obj(st, in);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* Append s HTML-escaped (text and attribute values). */
static void put_html(sb_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_buf_puts(b, "&amp;"); break;
        case '<': sb_buf_puts(b, "&lt;"); break;
        case '>': sb_buf_puts(b, "&gt;"); break;
        case '"': sb_buf_puts(b, "&quot;"); break;
        case '\'': sb_buf_puts(b, "&#39;"); break;
        default: sb_buf_putc(b, (uint8_t)*s);
        }
    }
}

static const char *state_words(const sb_np_input *in)
{
    if (!in->initialised || !in->np)
        return "Off air (chain not initialised yet)";
    switch (in->np->now.state) {
    case SB_PROG_ON_AIR: return "On air";
    case SB_PROG_BEFORE_EPOCH: return "Off air (the station has not started yet)";
    case SB_PROG_NOT_FINALIZED: return "Off air (this slot is not finalized yet)";
    default: return "Off air";
    }
}

static void put_mmss(sb_buf *b, uint64_t ms)
{
    char t[48];
    uint64_t s = ms / 1000;
    snprintf(t, sizeof(t), "%" PRIu64 ":%02u", s / 60, (unsigned)(s % 60));
    sb_buf_puts(b, t);
}

/* The page's script: polls the feed, animates from the feed's elapsed_ms plus the time since
 * the answer arrived (so a skewed browser clock does not matter). */
static const char SCRIPT[] =
    "(function(){var d=null,at=0;function $(i){return document.getElementById(i);}\n"
    "function fmt(ms){ms=Math.max(0,Math.floor(ms/1000));var m=Math.floor(ms/60),s=ms%60;"
    "return m+':'+(s<10?'0':'')+s;}\n"
    "var words={on_air:'On air',off_air:'Off air',before_epoch:'Off air (the station has not "
    "started yet)',not_finalized:'Off air (this slot is not finalized yet)',not_initialised:"
    "'Off air (chain not initialised yet)'};\n"
    "function name(t){return t.title||t.cid;}\n"
    "function show(){if(!d)return;var n=d.now_playing,p=d.playing_next,w=words[d.state]||"
    "'Off air';\n"
    "$('state').textContent=w;$('state').setAttribute('data-state',d.state);\n"
    "$('title').textContent=n?name(n):w;$('artist').textContent=n?n.artist:'';\n"
    "$('slot').textContent=d.slot===null?'-':d.slot;\n"
    "$('next').textContent=p?name(p)+(p.artist?' \\u2014 '+p.artist:''):'off air';\n"
    "var el=0,du=0;if(n){du=n.duration_ms;el=Math.min(du,n.elapsed_ms+(Date.now()-at));}\n"
    "$('elapsed').textContent=fmt(el);$('remaining').textContent='-'+fmt(du-el);\n"
    "$('fill').style.width=(du?100*el/du:0)+'%';\n"
    "document.title=(n?name(n)+' \\u2014 ':'')+d.station.name;}\n"
    "function poll(){fetch('nowplaying.json',{cache:'no-store'}).then(function(r){"
    "return r.json();}).then(function(j){d=j;at=Date.now();$('live').textContent='live';"
    "$('live').setAttribute('data-live','1');show();}).catch(function(){"
    "$('live').textContent='feed unreachable, retrying';});}\n"
    "poll();setInterval(poll,2000);setInterval(show,250);})();\n";

char *sb_np_page_html(const sb_np_station *st, const sb_np_input *in)
{
    sb_buf b;
    const sb_prog_now *np = in->initialised ? in->np : NULL;
    const sb_sched_track *now = np ? track_of(in, &np->now) : NULL;
    const sb_sched_track *next = np ? track_of(in, &np->next) : NULL;
    const char *words = state_words(in);
    const char *station = st->name ? st->name : "";
    const char *title = now ? (now->title[0] ? now->title : now->cid) : words;
    sb_buf_init(&b, PAGE_MAX);
    sb_buf_puts(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                    "<title>");
    if (now) {
        put_html(&b, title);
        sb_buf_puts(&b, " \xe2\x80\x94 ");
    }
    put_html(&b, station);
    sb_buf_puts(&b,
                "</title><style>body{font-family:sans-serif;max-width:40em;margin:2em auto;"
                "padding:0 1em;background:#10151c;color:#e8eef5}#bar{height:.5em;"
                "background:#2a3440;border-radius:.25em;overflow:hidden}#fill{height:100%;"
                "background:#7fc8ff}small{color:#9ab}</style></head>\n<body><h1 id=\"station\">");
    put_html(&b, station);
    sb_buf_puts(&b, "</h1>\n<p id=\"state\" data-state=\"");
    sb_buf_puts(&b, np ? state_name(np->now.state) : "not_initialised");
    sb_buf_puts(&b, "\">");
    put_html(&b, words);
    sb_buf_puts(&b, "</p>\n<h2 id=\"title\">");
    put_html(&b, title);
    sb_buf_puts(&b, "</h2><p id=\"artist\">");
    if (now)
        put_html(&b, now->artist);
    char pct[32];
    snprintf(pct, sizeof(pct), "%u",
             now && np->now.duration_ms
                 ? (unsigned)((unsigned __int128)np->now.elapsed_ms * 100 / np->now.duration_ms)
                 : 0u);
    sb_buf_puts(&b, "</p>\n<div id=\"bar\"><div id=\"fill\" style=\"width:");
    sb_buf_puts(&b, pct);
    sb_buf_puts(&b, "%\"></div></div>\n<p><span id=\"elapsed\">");
    put_mmss(&b, now ? np->now.elapsed_ms : 0);
    sb_buf_puts(&b, "</span> / <span id=\"remaining\">-");
    put_mmss(&b, now ? np->now.remaining_ms : 0);
    sb_buf_puts(&b, "</span></p>\n<p>Next: <span id=\"next\">");
    if (next) {
        put_html(&b, next->title[0] ? next->title : next->cid);
        if (next->artist[0]) {
            sb_buf_puts(&b, " \xe2\x80\x94 ");
            put_html(&b, next->artist);
        }
    } else {
        sb_buf_puts(&b, "off air");
    }
    sb_buf_puts(&b, "</span></p>\n");
    if (st->stream_url_mp3 && st->stream_url_mp3[0]) {
        sb_buf_puts(&b, "<audio id=\"player\" controls preload=\"none\" src=\"");
        put_html(&b, st->stream_url_mp3);
        sb_buf_puts(&b, "\"></audio>\n");
    }
    char slot[48];
    if (!np || sb_prog_i128_dec((__int128)np->now.slot, slot, sizeof(slot)) < 0)
        snprintf(slot, sizeof(slot), "-");
    sb_buf_puts(&b, "<p><small>Slot <span id=\"slot\">");
    sb_buf_puts(&b, slot);
    sb_buf_puts(&b, "</span> \xc2\xb7 <span id=\"live\" data-live=\"0\">as served</span>"
                    "</small></p>\n<script>");
    sb_buf_puts(&b, SCRIPT);
    sb_buf_puts(&b, "</script></body></html>\n");
    return sb_buf_steal_str(&b);
}
