/* sched.c — index JSON, rotation and packing of `sleetbubble schedule` (see sched.h). */
#include "sched.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "params.h"

static void prop_free(sched_prop *p)
{
    for (size_t j = 0; p->cids && j < p->ncids; j++)
        free(p->cids[j]);
    free(p->cids);
    free(p->tx_b64);
    memset(p, 0, sizeof *p);
}

void sched_index_free(sched_index *x)
{
    for (size_t i = 0; x->files && i < x->nfiles; i++) {
        free(x->files[i].path);
        free(x->files[i].skip);
    }
    for (size_t i = 0; x->props && i < x->nprops; i++)
        prop_free(&x->props[i]);
    free(x->files);
    free(x->props);
    free(x->library);
    free(x->kubo_peer);
    memset(x, 0, sizeof *x);
}

/* ---- JSON helpers: 64-bit integers as decimal strings ---- */

static json_t *ju64(uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, v);
    return json_string(s);
}

static json_t *ji64(int64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRId64, v);
    return json_string(s);
}

static int get_u64(json_t *o, const char *key, uint64_t *out)
{
    return cli_parse_u64(json_string_value(json_object_get(o, key)), out);
}

static int get_i64(json_t *o, const char *key, int64_t *out)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Copy the string field key of o into out[outlen] ("" if absent); -1 if not a string or too
 * long. */
static int get_str(json_t *o, const char *key, char *out, size_t outlen)
{
    json_t *v = json_object_get(o, key);
    out[0] = '\0';
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) >= outlen)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int file_from_json(json_t *o, sched_file *f, char *err, size_t errlen, size_t i)
{
    const char *path = json_string_value(json_object_get(o, "path"));
    const char *skip = json_string_value(json_object_get(o, "skip"));
    json_t *d = json_object_get(o, "duration_ms");
    memset(f, 0, sizeof *f);
    if (!path || !*path) {
        snprintf(err, errlen, "files[%zu].path: missing", i);
        return -1;
    }
    if (get_str(o, "sha256", f->sha256, sizeof f->sha256) < 0 || !is_hex64(f->sha256) ||
        get_u64(o, "size", &f->size) < 0 || get_i64(o, "mtime_ns", &f->mtime_ns) < 0 ||
        get_i64(o, "ctime_ns", &f->ctime_ns) < 0 || get_u64(o, "ino", &f->ino) < 0) {
        snprintf(err, errlen, "files[%zu]: sha256/size/mtime_ns/ctime_ns/ino missing or bad", i);
        return -1;
    }
    if (!skip) {
        if (!json_is_integer(d) || json_integer_value(d) < 1 ||
            json_integer_value(d) > (json_int_t)UINT32_MAX) {
            snprintf(err, errlen, "files[%zu].duration_ms: missing or bad", i);
            return -1;
        }
        f->duration_ms = (uint32_t)json_integer_value(d);
        if (get_str(o, "title", f->title, sizeof f->title) < 0 ||
            get_str(o, "artist", f->artist, sizeof f->artist) < 0 ||
            get_str(o, "cid", f->cid, sizeof f->cid) < 0) {
            snprintf(err, errlen, "files[%zu]: title/artist/cid bad", i);
            return -1;
        }
        if (json_object_get(o, "last_slot")) {
            if (get_u64(o, "last_slot", &f->last_slot) < 0) {
                snprintf(err, errlen, "files[%zu].last_slot: bad", i);
                return -1;
            }
            f->has_last = 1;
        }
    }
    if (!(f->path = strdup(path)) || (skip && !(f->skip = strdup(skip)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int sched_index_from_json(json_t *root, sched_index *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != SCHED_INDEX_VERSION) {
        snprintf(err, errlen, "version: not %d", SCHED_INDEX_VERSION);
        return -1;
    }
    const char *lib = json_string_value(json_object_get(root, "library"));
    const char *peer = json_string_value(json_object_get(root, "kubo_peer"));
    json_t *files = json_object_get(root, "files"), *props = json_object_get(root, "proposals");
    if (!lib || !json_is_array(files) || !json_is_array(props)) {
        snprintf(err, errlen, "library/files/proposals missing");
        return -1;
    }
    size_t nf = json_array_size(files), np = json_array_size(props);
    if (nf > SCHED_MAX_FILES || np > SCHED_MAX_PROPOSALS) {
        snprintf(err, errlen, "files/proposals: too many entries");
        return -1;
    }
    if (!(out->library = strdup(lib)) || !(out->kubo_peer = strdup(peer ? peer : "")) ||
        (nf && !(out->files = calloc(nf, sizeof *out->files))) ||
        (np && !(out->props = calloc(np, sizeof *out->props)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nf; i++) {
        int rc = file_from_json(json_array_get(files, i), &out->files[i], err, errlen, i);
        out->nfiles = i + 1; /* counted so free releases a half-built entry */
        if (rc < 0)
            goto fail;
    }
    for (size_t i = 0; i < np; i++) {
        json_t *o = json_array_get(props, i), *cids = json_object_get(o, "cids");
        sched_prop *p = &out->props[i];
        out->nprops = i + 1;
        const char *tx = json_string_value(json_object_get(o, "tx"));
        if (get_u64(o, "slot", &p->slot) < 0 ||
            get_str(o, "proposal_id", p->proposal_id, sizeof p->proposal_id) < 0 ||
            !is_hex64(p->proposal_id) || !json_is_array(cids) ||
            json_array_size(cids) > SB_MAX_TRACKS_LIMIT || (i && p->slot <= p[-1].slot)) {
            snprintf(err, errlen, "proposals[%zu]: bad or out of slot order", i);
            goto fail;
        }
        size_t nc = json_array_size(cids);
        if ((nc && !(p->cids = calloc(nc, sizeof *p->cids))) || (tx && !(p->tx_b64 = strdup(tx)))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        for (size_t j = 0; j < nc; j++) {
            const char *c = json_string_value(json_array_get(cids, j));
            if (!c || !(p->cids[j] = strdup(c))) {
                snprintf(err, errlen, "proposals[%zu].cids[%zu]: bad", i, j);
                p->ncids = j;
                goto fail;
            }
            p->ncids = j + 1;
        }
    }
    return 0;
fail:
    sched_index_free(out);
    return -1;
}

json_t *sched_index_to_json(const sched_index *x)
{
    json_t *root = json_object(), *files = json_array(), *props = json_array();
    if (!root || !files || !props)
        goto fail;
    if (json_object_set_new(root, "version", json_integer(SCHED_INDEX_VERSION)) < 0 ||
        json_object_set_new(root, "library", json_string(x->library ? x->library : "")) < 0 ||
        json_object_set_new(root, "kubo_peer", json_string(x->kubo_peer ? x->kubo_peer : "")) < 0 ||
        json_object_set(root, "files", files) < 0 || json_object_set(root, "proposals", props) < 0)
        goto fail;
    for (size_t i = 0; i < x->nfiles; i++) {
        const sched_file *f = &x->files[i];
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "path", f->path, "sha256",
                              f->sha256, "size", ju64(f->size), "mtime_ns", ji64(f->mtime_ns),
                              "ctime_ns", ji64(f->ctime_ns), "ino", ju64(f->ino));
        if (!o || json_array_append_new(files, o) < 0)
            goto fail;
        if (f->skip) {
            if (json_object_set_new(o, "skip", json_string(f->skip)) < 0)
                goto fail;
            continue;
        }
        if (json_object_set_new(o, "duration_ms", json_integer(f->duration_ms)) < 0 ||
            json_object_set_new(o, "title", json_string(f->title)) < 0 ||
            json_object_set_new(o, "artist", json_string(f->artist)) < 0 ||
            json_object_set_new(o, "cid", json_string(f->cid)) < 0 ||
            (f->has_last && json_object_set_new(o, "last_slot", ju64(f->last_slot)) < 0))
            goto fail;
    }
    for (size_t i = 0; i < x->nprops; i++) {
        const sched_prop *p = &x->props[i];
        json_t *cids = json_array();
        json_t *o = json_pack("{s:o, s:s, s:o}", "slot", ju64(p->slot), "proposal_id",
                              p->proposal_id, "cids", cids);
        if (!o || json_array_append_new(props, o) < 0)
            goto fail;
        for (size_t j = 0; j < p->ncids; j++)
            if (json_array_append_new(cids, json_string(p->cids[j])) < 0)
                goto fail;
        if (p->tx_b64 && json_object_set_new(o, "tx", json_string(p->tx_b64)) < 0)
            goto fail;
    }
    json_decref(files);
    json_decref(props);
    return root;
fail:
    json_decref(files);
    json_decref(props);
    json_decref(root);
    return NULL;
}

sched_prop *sched_index_prop(sched_index *x, uint64_t slot)
{
    for (size_t i = 0; i < x->nprops; i++)
        if (x->props[i].slot == slot)
            return &x->props[i];
    return NULL;
}

int sched_index_put_prop(sched_index *x, uint64_t slot, const char *proposal_id, char *const *cids,
                         size_t ncids, const char *tx_b64)
{
    sched_prop np = { .slot = slot, .ncids = 0 };
    snprintf(np.proposal_id, sizeof np.proposal_id, "%s", proposal_id);
    if ((ncids && !(np.cids = calloc(ncids, sizeof *np.cids))) ||
        (tx_b64 && !(np.tx_b64 = strdup(tx_b64))))
        goto fail;
    for (size_t j = 0; j < ncids; j++) {
        if (!(np.cids[j] = strdup(cids[j])))
            goto fail;
        np.ncids = j + 1;
    }
    sched_prop *old = sched_index_prop(x, slot);
    if (old) {
        prop_free(old);
        *old = np;
        return 0;
    }
    if (x->nprops >= SCHED_MAX_PROPOSALS)
        sched_index_trim(x, UINT64_MAX, SCHED_MAX_PROPOSALS - 1);
    sched_prop *grown = realloc(x->props, (x->nprops + 1) * sizeof *grown);
    if (!grown)
        goto fail;
    x->props = grown;
    size_t at = x->nprops;
    while (at > 0 && x->props[at - 1].slot > slot)
        at--;
    memmove(&x->props[at + 1], &x->props[at], (x->nprops - at) * sizeof *x->props);
    x->props[at] = np;
    x->nprops++;
    return 0;
fail:
    prop_free(&np);
    return -1;
}

void sched_index_trim(sched_index *x, uint64_t first_open, size_t keep)
{
    size_t below = 0;
    while (below < x->nprops && x->props[below].slot < first_open)
        below++;
    size_t drop = below > keep ? below - keep : 0;
    for (size_t i = 0; i < drop; i++)
        prop_free(&x->props[i]);
    memmove(x->props, x->props + drop, (x->nprops - drop) * sizeof *x->props);
    x->nprops -= drop;
    for (size_t i = 0; i + drop < below; i++) {
        free(x->props[i].tx_b64);
        x->props[i].tx_b64 = NULL;
    }
}

void sched_forbidden(const sched_index *x, uint64_t slot, size_t k, uint8_t *forbidden)
{
    memset(forbidden, 0, x->nfiles);
    size_t end = 0; /* props[0..end) have slot < `slot` */
    while (end < x->nprops && x->props[end].slot < slot)
        end++;
    size_t start = end > k ? end - k : 0;
    for (size_t p = start; p < end; p++)
        for (size_t j = 0; j < x->props[p].ncids; j++)
            for (size_t i = 0; i < x->nfiles; i++)
                if (!x->files[i].skip && strcmp(x->files[i].cid, x->props[p].cids[j]) == 0)
                    forbidden[i] = 1;
}

static const sched_index *sort_x; /* qsort has no user pointer in C11 */

static int rot_cmp(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const sched_file *fa = &sort_x->files[ia], *fb = &sort_x->files[ib];
    if (fa->has_last != fb->has_last)
        return fa->has_last ? 1 : -1;
    if (fa->has_last && fa->last_slot != fb->last_slot)
        return fa->last_slot < fb->last_slot ? -1 : 1;
    return ia < ib ? -1 : ia > ib;
}

void sched_rotation_sort(const sched_index *x, size_t *cand, size_t n)
{
    sort_x = x;
    qsort(cand, n, sizeof *cand, rot_cmp);
    sort_x = NULL;
}

#define SCHED_PACK_ROUNDS 64
#define SCHED_PACK_EXACT 48                       /* candidates packed exactly (subset sum) */
#define SCHED_PACK_DP_BYTES (64u * 1024u * 1024u) /* memory bound of that step */

/* Exact step: among dur[0..m) choose the subset with the largest total <= cap (subset sum over
 * bitsets, row i = the totals reachable with the first i candidates). Backtracking from the
 * last candidate leaves a later one out whenever the total is reachable without it, so ties
 * keep the earlier candidates (rotation order). Sets chosen[], returns the total; -1 if the
 * rows would pass the memory bound or on out of memory (the caller falls back to first fit). */
static int64_t pack_exact(const uint32_t *dur, size_t m, uint64_t cap, uint8_t *chosen)
{
    uint64_t words = cap / 64 + 1;
    if (m == 0 || words > SCHED_PACK_DP_BYTES / 8 / (m + 1))
        return -1;
    uint64_t *rows = calloc((size_t)((m + 1) * words), sizeof *rows);
    if (!rows)
        return -1;
    rows[0] = 1; /* total 0 */
    for (size_t i = 1; i <= m; i++) {
        const uint64_t *prev = rows + (i - 1) * words;
        uint64_t *row = rows + i * words, d = dur[i - 1], q = d / 64, r = d % 64;
        for (uint64_t j = 0; j < words; j++) {
            uint64_t v = prev[j];
            if (d && d <= cap && j >= q) {
                v |= prev[j - q] << r;
                if (r && j >= q + 1)
                    v |= prev[j - q - 1] >> (64 - r);
            }
            row[j] = v;
        }
        uint64_t top = cap % 64; /* clear totals above cap */
        if (top < 63)
            row[words - 1] &= (UINT64_C(2) << top) - 1;
    }
    const uint64_t *last = rows + m * words;
    uint64_t best = cap;
    while (!((last[best / 64] >> (best % 64)) & 1))
        best--; /* bit 0 is always set */
    uint64_t t = best;
    for (size_t i = m; i >= 1; i--) {
        const uint64_t *prev = rows + (i - 1) * words;
        if ((prev[t / 64] >> (t % 64)) & 1)
            continue; /* reachable without candidate i-1 */
        chosen[i - 1] = 1;
        t -= dur[i - 1];
    }
    free(rows);
    return (int64_t)best;
}

size_t sched_pack(const uint32_t *dur, size_t n, uint64_t cap_ms, size_t max_tracks, size_t *out,
                  uint64_t *total)
{
    uint8_t *chosen = calloc(n ? n : 1, 1);
    size_t *in = calloc(n ? n : 1, sizeof *in); /* the chosen positions, for the swaps */
    uint64_t sum = 0;
    size_t cnt = 0, k = 0;
    *total = 0;
    if (!chosen || !in)
        goto done;
    size_t m = n < SCHED_PACK_EXACT ? n : SCHED_PACK_EXACT;
    if (m > max_tracks)
        m = max_tracks;
    int64_t exact = pack_exact(dur, m, cap_ms, chosen); /* 1. the first m exactly */
    if (exact >= 0) {
        sum = (uint64_t)exact;
        for (size_t i = 0; i < m; i++)
            cnt += chosen[i];
    } else {
        memset(chosen, 0, n);
    }
    for (size_t i = 0; i < n; i++) { /* 2. first fit of the rest in rotation order */
        if (chosen[i])
            continue;
        if (cnt < max_tracks && dur[i] > 0 && sum + dur[i] <= cap_ms) {
            chosen[i] = 1;
            sum += dur[i];
            cnt++;
        }
    }
    for (int round = 0; round < SCHED_PACK_ROUNDS && sum < cap_ms; round++) { /* 3. improve */
        uint64_t gap = cap_ms - sum, best = 0;
        size_t add = SIZE_MAX, rm = SIZE_MAX, nin = 0;
        for (size_t c = 0; c < n; c++)
            if (chosen[c])
                in[nin++] = c;
        for (size_t u = 0; u < n; u++) {
            if (chosen[u] || dur[u] == 0)
                continue;
            if (cnt < max_tracks && dur[u] <= gap && dur[u] > best) {
                best = dur[u], add = u, rm = SIZE_MAX;
                continue; /* adding u beats any swap for u */
            }
            for (size_t j = 0; j < nin; j++) {
                size_t c = in[j];
                if (dur[c] >= dur[u])
                    continue;
                uint64_t gain = (uint64_t)dur[u] - dur[c];
                if (gain <= gap && gain > best)
                    best = gain, add = u, rm = c;
            }
        }
        if (best == 0)
            break;
        chosen[add] = 1;
        sum += dur[add];
        if (rm != SIZE_MAX) {
            chosen[rm] = 0;
            sum -= dur[rm];
        } else {
            cnt++;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (chosen[i])
            out[k++] = i;
    *total = sum;
done:
    free(in);
    free(chosen);
    return k;
}

int sched_index_del_prop(sched_index *x, uint64_t slot)
{
    for (size_t i = 0; i < x->nprops; i++) {
        if (x->props[i].slot != slot)
            continue;
        prop_free(&x->props[i]);
        memmove(&x->props[i], &x->props[i + 1], (x->nprops - i - 1) * sizeof *x->props);
        x->nprops--;
        return 1;
    }
    return 0;
}
