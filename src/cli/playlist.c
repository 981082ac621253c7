/* playlist.c — playlist file parse and render (see playlist.h). */
#include "playlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tx.h"

void cli_playlist_free(cli_playlist *p)
{
    for (size_t i = 0; p->tracks && i < p->n; i++) {
        free(p->tracks[i].cid);
        free(p->tracks[i].title);
        free(p->tracks[i].artist);
    }
    free(p->tracks);
    memset(p, 0, sizeof *p);
}

int cli_playlist_add(cli_playlist *p, const char *cid, uint32_t duration_ms, const char *title,
                     const char *artist)
{
    if (p->n >= CLI_PLAYLIST_MAX_TRACKS)
        return -1;
    cli_track *t = realloc(p->tracks, (p->n + 1) * sizeof *t);
    if (!t)
        return -1;
    p->tracks = t;
    t = &p->tracks[p->n];
    t->cid = strdup(cid);
    t->title = strdup(title ? title : "");
    t->artist = strdup(artist ? artist : "");
    t->duration_ms = duration_ms;
    p->n++; /* counted first so cli_playlist_free releases a half-built entry */
    return t->cid && t->title && t->artist ? 0 : -1;
}

/* An optional string field of track i (the §4 rules are sb_track_check's); *out and *len
 * borrowed from the JSON, "" and 0 when absent. */
static int str_field(json_t *t, size_t i, const char *key, const char **out, size_t *len, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(t, key);
    *out = "";
    *len = 0;
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "tracks[%zu].%s: expected a string", i, key);
        return -1;
    }
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

int cli_playlist_from_json(json_t *root, cli_playlist *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "expected a JSON object {\"tracks\":[…]}");
        return -1;
    }
    json_t *tr = json_object_get(root, "tracks");
    if (!tr) {
        snprintf(err, errlen, "tracks: missing");
        return -1;
    }
    if (!json_is_array(tr)) {
        snprintf(err, errlen, "tracks: expected an array");
        return -1;
    }
    size_t n = json_array_size(tr);
    if (n == 0) {
        snprintf(err, errlen, "tracks: empty (a playlist needs at least one track)");
        return -1;
    }
    if (n > CLI_PLAYLIST_MAX_TRACKS) {
        snprintf(err, errlen, "tracks: %zu tracks, more than %u", n, CLI_PLAYLIST_MAX_TRACKS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tr, i);
        const char *key, *title, *artist;
        json_t *v;
        if (!json_is_object(t)) {
            snprintf(err, errlen, "tracks[%zu]: expected an object", i);
            goto fail;
        }
        json_object_foreach(t, key, v)
        {
            if (strcmp(key, "cid") && strcmp(key, "duration_ms") && strcmp(key, "title") &&
                strcmp(key, "artist")) {
                snprintf(err, errlen,
                         "tracks[%zu].%.64s: unknown key (known: cid, duration_ms, title, "
                         "artist)",
                         i, key);
                goto fail;
            }
        }
        json_t *cid = json_object_get(t, "cid");
        if (!cid) {
            snprintf(err, errlen, "tracks[%zu].cid: missing", i);
            goto fail;
        }
        if (!json_is_string(cid)) {
            snprintf(err, errlen, "tracks[%zu].cid: value is not a string", i);
            goto fail;
        }
        json_t *d = json_object_get(t, "duration_ms");
        if (!d) {
            snprintf(err, errlen, "tracks[%zu].duration_ms: missing", i);
            goto fail;
        }
        if (!json_is_integer(d)) {
            snprintf(err, errlen, "tracks[%zu].duration_ms: expected an integer (milliseconds)", i);
            goto fail;
        }
        json_int_t dv = json_integer_value(d);
        size_t title_len, artist_len;
        if (str_field(t, i, "title", &title, &title_len, err, errlen) < 0 ||
            str_field(t, i, "artist", &artist, &artist_len, err, errlen) < 0)
            goto fail;
        char why[400];
        if (!sb_track_check(json_string_value(cid), json_string_length(cid), (int64_t)dv, title,
                            title_len, artist, artist_len, why, sizeof why)) {
            snprintf(err, errlen, "tracks[%zu].%s", i, why);
            goto fail;
        }
        if (cli_playlist_add(out, json_string_value(cid), (uint32_t)dv, title, artist) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    cli_playlist_free(out);
    return -1;
}

int cli_playlist_parse(const char *text, size_t len, cli_playlist *out, char *err, size_t errlen)
{
    json_error_t je;
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
        return -1;
    }
    int rc = cli_playlist_from_json(root, out, err, errlen);
    json_decref(root);
    return rc;
}

int cli_playlist_load(const char *path, cli_playlist *out, char *err, size_t errlen)
{
    char *text = NULL, why[400];
    size_t len;
    memset(out, 0, sizeof *out);
    if (cli_read_file(path, CLI_PLAYLIST_MAX_BYTES, &text, &len, err, errlen) < 0)
        return -1;
    int rc = cli_playlist_parse(text, len, out, why, sizeof why);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, why);
    return rc;
}

json_t *cli_playlist_to_json(const cli_playlist *p)
{
    json_t *arr = json_array(), *root = json_object();
    if (!arr || !root || json_object_set(root, "tracks", arr) < 0)
        goto fail;
    for (size_t i = 0; i < p->n; i++) {
        const cli_track *t = &p->tracks[i];
        json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "cid", t->cid, "duration_ms",
                              (json_int_t)t->duration_ms, "title", t->title, "artist", t->artist);
        if (!o || json_array_append_new(arr, o) < 0)
            goto fail;
    }
    json_decref(arr);
    return root;
fail:
    json_decref(arr);
    json_decref(root);
    return NULL;
}
