/* pin_house.c - the pin worker's housekeeping thread (protocol.md §10): start-up reconcile with
 * Kubo's pin listings, and retention (pin.keep_slots > 0), each in bounded batches. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubo.h"
#include "log.h"
#include "pin-internal.h"
#include "pin_store.h"

/* ==== a sorted set of strings (pin/ls answers) ============================================= */

typedef struct strset {
    char **v;
    size_t n, cap;
} strset;

static int strset_add(strset *s, const char *str)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        char **nv = realloc(s->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    if (!(s->v[s->n] = strdup(str)))
        return -1;
    s->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort; call before strset_has. */
static void strset_seal(strset *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(*s->v), cmp_str);
}

static int strset_has(const strset *s, const char *str)
{
    return s->n && bsearch(&str, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int strset_add_cb(void *arg, const char *cid) { return strset_add(arg, cid) < 0; }

/* ==== housekeeping: reconcile and retention ================================================ */

/* Start-up reconcile (protocol.md §10), in pages of PIN_RECONCILE_PAGE jobs: a pinned job whose CID
 * Kubo no longer pins goes back to queued; a queued job Kubo already pins is marked pinned.
 * The pin listings are streamed and watched for stalls, not cut by ipfs.timeout_seconds.
 * Returns 0, or -1 (Kubo or database error; try again later). */
static int reconcile(worker *w)
{
    sb_pin *p = w->p;
    strset rec = { 0 }, dir = { 0 };
    sb_pin_snap *v = calloc(PIN_RECONCILE_PAGE, sizeof(*v));
    sb_kubo_err e;
    int ret = -1, missing = 0, found = 0;
    size_t checked = 0, n = 0;
    char after[SB_PIN_CID_MAX] = "";
    if (!v)
        goto done;
    /* A job pinned after this instant cannot be in the listing: not judged missing. */
    int64_t listed_ms = sb_pin_now_ms();
    if (sb_kubo_pin_ls(w->k, "recursive", p->stall_s, strset_add_cb, &rec, &e) != SB_KUBO_OK ||
        sb_kubo_pin_ls(w->k, "direct", p->stall_s, strset_add_cb, &dir, &e) != SB_KUBO_OK) {
        sb_log(SB_LOG_WARN, "pin", "reconcile: %s (will retry)", e.msg);
        goto done;
    }
    strset_seal(&rec);
    strset_seal(&dir);
    do {
        int m = 0, f = 0;
        if (sb_pin_stopping(p) || sb_pinstore_page(p->ps, after, v, PIN_RECONCILE_PAGE, &n) < 0)
            goto done;
        for (size_t i = 0; i < n; i++)
            v[i].present = strset_has(&rec, v[i].cid) ||
                           (v[i].kind == SB_PIN_KIND_MANIFEST && strset_has(&dir, v[i].cid));
        if (sb_pinstore_reconcile(p->ps, v, n, listed_ms, sb_pin_now_ms(), &m, &f) < 0)
            goto done;
        for (size_t i = 0; i < n && m; i++)
            if (sb_pin_snap_missing(&v[i], listed_ms))
                sb_log(SB_LOG_WARN, "pin",
                       "reconcile: %s %s is no longer pinned in Kubo: "
                       "queued again",
                       v[i].kind == SB_PIN_KIND_MANIFEST ? "manifest" : "track", v[i].cid);
        missing += m;
        found += f;
        checked += n;
        if (n)
            memcpy(after, v[n - 1].cid, sizeof(after));
    } while (n == PIN_RECONCILE_PAGE);
    sb_log(SB_LOG_INFO, "pin",
           "reconcile with Kubo: %zu job(s) checked, %d re-queued (missing), "
           "%d already pinned",
           checked, missing, found);
    ret = 0;
done:
    free(v);
    strset_free(&rec);
    strset_free(&dir);
    if (missing || found)
        sb_pin_wake_all(p, 0);
    sb_pin_refresh_gauges(p, 1);
    return ret;
}

/* The database half of a retention pass: expire every slot older than the newest
 * keep_slots winners, in batches. Returns 0 or -1. */
static int retention_expire(sb_pin *p, size_t *expired, size_t *doomed)
{
    size_t e, d;
    *expired = *doomed = 0;
    do {
        if (sb_pin_stopping(p) ||
            sb_pinstore_expire(p->ps, p->keep_slots, PIN_EXPIRE_BATCH, &e, &d) < 0)
            return -1;
        *expired += e;
        *doomed += d;
    } while (e == PIN_EXPIRE_BATCH);
    return 0;
}

/* Retention (pin.keep_slots > 0): expire, then unpin the doomed CIDs in batches. Returns 0,
 * or -1 if something is left for the next sweep. */
static int retention(worker *w)
{
    sb_pin *p = w->p;
    char(*cids)[SB_PIN_CID_MAX] = calloc(PIN_UNPIN_BATCH, SB_PIN_CID_MAX);
    size_t expired, doomed, n = 0;
    int ret = -1, removed = 0, requeued = 0, left = 0;
    if (!cids || retention_expire(p, &expired, &doomed) < 0)
        goto done;
    do {
        if (sb_pin_stopping(p) || sb_pinstore_doomed(p->ps, cids, PIN_UNPIN_BATCH, &n) < 0)
            goto done;
        for (size_t i = 0; i < n && !sb_pin_stopping(p); i++) {
            sb_kubo_err e;
            int was = 0, again = 0;
            if (sb_kubo_pin_rm(w->k, cids[i], &was, &e) != SB_KUBO_OK) {
                left++;
                sb_log(SB_LOG_WARN, "pin", "retention: %s (will retry)", e.msg);
                continue;
            }
            if (sb_pinstore_unpinned(p->ps, cids[i], &again) < 0) {
                left++;
                continue;
            }
            again ? requeued++ : removed++;
            if (was && !again)
                sb_log(SB_LOG_INFO, "pin", "retention: unpinned %s (no kept slot references it)",
                       cids[i]);
        }
    } while (n == PIN_UNPIN_BATCH && !left);
    ret = left ? -1 : 0;
done:
    if (removed || requeued)
        sb_log(SB_LOG_INFO, "pin",
               "retention (keep_slots = %" PRIu64 "): %d job(s) removed, "
               "%d re-queued (referenced again)",
               p->keep_slots, removed, requeued);
    if (requeued)
        sb_pin_wake_all(p, 0);
    free(cids);
    sb_pin_refresh_gauges(p, 1);
    return ret;
}

/* Reconcile once Kubo answers. Returns 1 when done, 0 when to try again later. */
static int house_reconcile(worker *w, uint32_t *down, int *down_logged)
{
    sb_pin *p = w->p;
    sb_kubo_err e;
    if (sb_kubo_health(w->k, &e) != SB_KUBO_OK) {
        if (!*down_logged)
            sb_log(SB_LOG_WARN, "pin",
                   "Kubo not answering at %s: %s; jobs wait and retry "
                   "until it is back",
                   p->api_url_log, e.msg);
        *down_logged = 1;
        (*down)++;
        return 0;
    }
    if (*down_logged)
        sb_log(SB_LOG_INFO, "pin", "Kubo answers again at %s", p->api_url_log);
    *down = 0;
    *down_logged = 0;
    return reconcile(w) == 0;
}

void *sb_pin_house_main(void *arg)
{
    worker *w = arg;
    sb_pin *p = w->p;
    int reconciled = 0, down_logged = 0;
    uint32_t down = 0;
    int64_t next_sweep = 0, next_reconcile = 0;
    while (!sb_pin_stopping(p)) {
        uint64_t seq = sb_pin_wake_seq(p);
        if (!reconciled && sb_pin_now_ms() >= next_reconcile) {
            reconciled = house_reconcile(w, &down, &down_logged);
            if (!reconciled)
                next_reconcile =
                    sb_pin_now_ms() + (int64_t)(down ? sb_pin_backoff_ms(down, 0) : 5000);
        }
        pthread_mutex_lock(&p->wake_mu);
        int due = p->retention_due;
        p->retention_due = 0;
        pthread_mutex_unlock(&p->wake_mu);
        /* Retention runs whether or not reconcile succeeded. */
        if (p->keep_slots && (due || sb_pin_now_ms() >= next_sweep)) {
            retention(w);
            next_sweep = sb_pin_now_ms() + PIN_SWEEP_MS;
        }
        int64_t until = p->keep_slots ? next_sweep : 0;
        if (!reconciled && (until <= 0 || next_reconcile < until))
            until = next_reconcile;
        sb_pin_wait_wake(p, &seq, until, 1);
    }
    return NULL;
}

int sb_pin_expire_pass(sb_pin *p, size_t *expired, size_t *doomed)
{
    return retention_expire(p, expired, doomed);
}
