/* tracks.c — `tracks add`: libsndfile duration and tags, tag cleaning, Kubo add, playlist
 * file (protocol.md §4 strings, §12). */
#include "tracks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "cli.h"
#include "kubo_client.h"
#include "playlist.h"
#include "tx.h"

/* Upper bound on one upload to Kubo (loopback; an hour-long FLAC is ~600 MB). */
#define CLI_ADD_TIMEOUT_S 600L

/* Length (1-4) of the valid RFC 3629 sequence at s[0..n) and its code point, or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

size_t cli_tag_clean(const char *in, size_t n, char *out, size_t outlen)
{
    const uint8_t *s = (const uint8_t *)in;
    size_t max = outlen ? outlen - 1 : 0, o = 0, i = 0;
    if (max > SB_TITLE_MAX_BYTES)
        max = SB_TITLE_MAX_BYTES;
    if (!outlen)
        return 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_seq(s + i, n - i, &cp);
        if (!len) { /* invalid byte: drop it and resynchronise on the next one */
            i++;
            continue;
        }
        int bad = cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029;
        int lead_space = cp == ' ' && o == 0;
        if (!bad && !lead_space) {
            if (o + len > max)
                break; /* cut on a character boundary */
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

int cli_duration_ms(int64_t frames, int samplerate, uint32_t *out)
{
    if (samplerate <= 0 || frames < 0)
        return -1;
    /* frames < 2^63 and * 1000 fits in 128 bits */
    unsigned __int128 ms = (unsigned __int128)frames * 1000u / (unsigned)samplerate;
    if (ms < 1 || ms > SB_TRACK_DURATION_MAX_MS)
        return -1;
    *out = (uint32_t)ms;
    return 0;
}

int cli_audio_probe(const char *path, cli_audio *out, char *err, size_t errlen)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    memset(out, 0, sizeof *out);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        snprintf(err, errlen, "%s: not a readable audio file: %s", path, sf_strerror(NULL));
        return -1;
    }
    int ret = -1;
    if (cli_duration_ms((int64_t)info.frames, info.samplerate, &out->duration_ms) < 0) {
        unsigned long long ms =
            info.samplerate > 0 && info.frames >= 0
                ? (unsigned long long)info.frames * 1000ull / (unsigned long long)info.samplerate
                : 0;
        snprintf(err, errlen, "%s: duration %llu ms (%lld frames at %d Hz) outside [1, %u] ms",
                 path, ms, (long long)info.frames, info.samplerate, SB_TRACK_DURATION_MAX_MS);
        goto done;
    }
    const char *t = sf_get_string(sf, SF_STR_TITLE);
    const char *a = sf_get_string(sf, SF_STR_ARTIST);
    if (t)
        cli_tag_clean(t, strlen(t), out->title, sizeof out->title);
    if (a)
        cli_tag_clean(a, strlen(a), out->artist, sizeof out->artist);
    if (!out->title[0]) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t bl = dot && dot != base ? (size_t)(dot - base) : strlen(base);
        cli_tag_clean(base, bl, out->title, sizeof out->title);
    }
    ret = 0;
done:
    sf_close(sf);
    return ret;
}

static void fmt_mmss(uint32_t ms, char *out, size_t outlen)
{
    uint32_t s = ms / 1000;
    snprintf(out, outlen, "%u:%02u", s / 60, s % 60);
}

int cli_cmd_tracks(cli_ctx *c)
{
    char err[1024], cid[SB_CID_STR_MAX], mmss[32];
    cli_playlist pl = { 0 };
    cli_audio *au = NULL;
    json_t *j = NULL;
    char *text = NULL;
    int ret = CLI_EXIT_USAGE;

    if (c->nargs < 2 || strcmp(c->args[0], "add") != 0) {
        cli_errf("usage: sleetbubble tracks add FILE... [-o playlist.json]");
        return CLI_EXIT_USAGE;
    }
    size_t nf = c->nargs - 1;
    char **files = c->args + 1;
    if (!(au = calloc(nf, sizeof *au))) {
        cli_errf("out of memory");
        goto done;
    }
    /* Read every file first: a bad file fails the command before anything is uploaded. */
    for (size_t i = 0; i < nf; i++) {
        if (cli_audio_probe(files[i], &au[i], err, sizeof err) < 0) {
            cli_errf("%s", err);
            goto done;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        int rc = sb_kuboc_add(c->ipfs, files[i], CLI_ADD_TIMEOUT_S, cid, err, sizeof err);
        if (rc) {
            cli_errf("%s", err);
            ret = rc;
            goto done;
        }
        if (cli_playlist_add(&pl, cid, au[i].duration_ms, au[i].title, au[i].artist) < 0) {
            cli_errf("out of memory");
            goto done;
        }
        fmt_mmss(au[i].duration_ms, mmss, sizeof mmss);
        fprintf(stderr, "added %s -> %s (%s, \"%s\"%s%s)\n", files[i], cid, mmss, au[i].title,
                au[i].artist[0] ? " by " : "", au[i].artist);
    }
    if (!(j = cli_playlist_to_json(&pl)) ||
        !(text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
        cli_errf("out of memory");
        goto done;
    }
    size_t tl = strlen(text);
    if (c->out_file) {
        char *nl = realloc(text, tl + 2);
        if (!nl)
            goto done;
        text = nl;
        text[tl++] = '\n';
        text[tl] = '\0';
        if (cli_write_file(c->out_file, text, tl, err, sizeof err) < 0) {
            cli_errf("%s", err);
            goto done;
        }
        fprintf(stderr, "wrote %zu track%s to %s\n", pl.n, pl.n == 1 ? "" : "s", c->out_file);
    } else {
        printf("%s\n", text);
    }
    ret = CLI_EXIT_OK;
done:
    free(text);
    json_decref(j);
    cli_playlist_free(&pl);
    free(au);
    return ret;
}
