/* metrics.c — see metrics.h (protocol.md §11). Node-local effects: one mutex-guarded registry plus an
 * evhttp endpoint. */
#include "metrics.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"
#include "httpd.h"

/* Largest rendered exposition, bytes (7 families x 64 series stay far below). */
#define RENDER_MAX (4u * 1024 * 1024)
/* Longest /healthz note, bytes. */
#define NOTE_MAX 200

typedef struct series {
    char label[SB_METRICS_LABEL_MAX + 1];
    uint64_t count; /* counters */
    int64_t gauge;  /* gauges */
} series;

typedef enum { FAM_GAUGE, FAM_COUNTER, FAM_HISTOGRAM } fam_type;

typedef struct family_def {
    const char *name;
    const char *help;
    fam_type type;
    const char *label; /* label name; NULL = unlabelled */
} family_def;

static const family_def fam_defs[SB_METRIC_COUNT] = {
    [SB_METRIC_HEIGHT] = { "sleetbubble_height", "Last committed block height.", FAM_GAUGE, NULL },
    [SB_METRIC_CHECKTX_TOTAL] = { "sleetbubble_checktx_total",
                                  "CheckTx results by SPEC result code name.", FAM_COUNTER,
                                  "code" },
    [SB_METRIC_SLOT_FINALIZED_TOTAL] = { "sleetbubble_slot_finalized_total",
                                         "Slots finalized, by outcome.", FAM_COUNTER, "outcome" },
    [SB_METRIC_PIN_JOBS] = { "sleetbubble_pin_jobs", "Pin jobs by state.", FAM_GAUGE, "state" },
    [SB_METRIC_PIN_LATENCY_SECONDS] = { "sleetbubble_pin_latency_seconds",
                                        "Time from queueing a pin job to its completion, seconds.",
                                        FAM_HISTOGRAM, NULL },
    [SB_METRIC_PIN_FAILURES_TOTAL] = { "sleetbubble_pin_failures_total",
                                       "Failed pin attempts, by reason.", FAM_COUNTER, "reason" },
    [SB_METRIC_ABCI_REQUESTS_TOTAL] = { "sleetbubble_abci_requests_total",
                                        "ABCI requests handled, by method.", FAM_COUNTER,
                                        "method" },
    [SB_METRIC_AUTOVOTE_TOTAL] = { "sleetbubble_autovote_total",
                                   "Vote agent decisions by result (protocol.md §15).", FAM_COUNTER,
                                   "result" },
    [SB_METRIC_AUTOVOTE_LAST_SLOT] = { "sleetbubble_autovote_last_slot",
                                       "Last slot the vote agent voted for.", FAM_GAUGE, NULL },
};

/* Histogram upper bounds in milliseconds (le, inclusive); +Inf is implicit. */
static const uint64_t bucket_ms[] = { 100,   500,    1000,   2500,   5000,    10000,  30000,
                                      60000, 120000, 300000, 600000, 1800000, 3600000 };
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])

static const char *const pin_states[] = { "failed", "pinned", "pinning", "queued" };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
/* Everything below is guarded by mu. */
static int inited;
static series fam_series[SB_METRIC_COUNT][SB_METRICS_MAX_SERIES];
static size_t fam_n[SB_METRIC_COUNT];
static int64_t unlabelled[SB_METRIC_COUNT]; /* value of each unlabelled gauge */
static uint64_t hist_buckets[NBUCKETS];     /* per-bucket (non-cumulative) counts */
static uint64_t hist_count, hist_sum_ms;
static char health_note[NOTE_MAX + 1];

/* Copy label into out: NULL -> "unknown", cut at SB_METRICS_LABEL_MAX, bytes outside
 * printable ASCII -> '_' (so the exposition stays valid UTF-8). */
static void clean_label(const char *label, char *out)
{
    size_t i;
    if (label == NULL)
        label = "unknown";
    for (i = 0; i < SB_METRICS_LABEL_MAX && label[i] != '\0'; i++) {
        unsigned char c = (unsigned char)label[i];
        out[i] = (c < 0x20 || c >= 0x7f) ? '_' : (char)c;
    }
    out[i] = '\0';
}

/* Find or insert (sorted) the series for label in family id; mu held. Never NULL: when the
 * family is full, new labels go to "other" (one slot is kept for it). */
static series *find_series(sb_metric_id id, const char *label)
{
    series *s = fam_series[id];
    size_t n = fam_n[id], lo, hi;
    char clean[SB_METRICS_LABEL_MAX + 1];

    clean_label(label, clean);
    for (;;) {
        lo = 0;
        hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(s[mid].label, clean);
            if (c == 0)
                return &s[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (n < SB_METRICS_MAX_SERIES - 1 || strcmp(clean, "other") == 0)
            break;
        memcpy(clean, "other", 6);
    }
    memmove(&s[lo + 1], &s[lo], (n - lo) * sizeof s[0]);
    memset(&s[lo], 0, sizeof s[lo]);
    memcpy(s[lo].label, clean, strlen(clean) + 1);
    fam_n[id] = n + 1;
    return &s[lo];
}

/* mu held. */
static void reset_locked(void)
{
    size_t i;
    memset(fam_series, 0, sizeof fam_series);
    memset(fam_n, 0, sizeof fam_n);
    memset(unlabelled, 0, sizeof unlabelled);
    memset(hist_buckets, 0, sizeof hist_buckets);
    hist_count = 0;
    hist_sum_ms = 0;
    health_note[0] = '\0';
    for (i = 0; i < sizeof pin_states / sizeof pin_states[0]; i++)
        (void)find_series(SB_METRIC_PIN_JOBS, pin_states[i]);
    inited = 1;
}

static void lock(void)
{
    pthread_mutex_lock(&mu);
    if (!inited)
        reset_locked();
}

static void unlock(void) { pthread_mutex_unlock(&mu); }

void sb_metrics_reset(void)
{
    pthread_mutex_lock(&mu);
    reset_locked();
    pthread_mutex_unlock(&mu);
}

void sb_metrics_counter_add(sb_metric_id id, const char *label, uint64_t n)
{
    if ((unsigned)id >= SB_METRIC_COUNT || fam_defs[id].type != FAM_COUNTER)
        return;
    lock();
    find_series(id, label)->count += n;
    unlock();
}

void sb_metrics_counter_inc(sb_metric_id id, const char *label)
{
    sb_metrics_counter_add(id, label, 1);
}

void sb_metrics_gauge_set(sb_metric_id id, const char *label, int64_t v)
{
    if ((unsigned)id >= SB_METRIC_COUNT || fam_defs[id].type != FAM_GAUGE)
        return;
    lock();
    if (fam_defs[id].label == NULL)
        unlabelled[id] = v;
    else
        find_series(id, label)->gauge = v;
    unlock();
}

void sb_metrics_set_height(int64_t h) { sb_metrics_gauge_set(SB_METRIC_HEIGHT, NULL, h); }
void sb_metrics_checktx(const char *code_name)
{
    sb_metrics_counter_add(SB_METRIC_CHECKTX_TOTAL, code_name, 1);
}
void sb_metrics_slot_finalized(const char *outcome)
{
    sb_metrics_counter_add(SB_METRIC_SLOT_FINALIZED_TOTAL, outcome, 1);
}
void sb_metrics_pin_jobs(const char *state, int64_t n)
{
    sb_metrics_gauge_set(SB_METRIC_PIN_JOBS, state, n);
}
void sb_metrics_pin_failure(const char *reason)
{
    sb_metrics_counter_add(SB_METRIC_PIN_FAILURES_TOTAL, reason, 1);
}
void sb_metrics_autovote(const char *result)
{
    sb_metrics_counter_add(SB_METRIC_AUTOVOTE_TOTAL, result, 1);
}
void sb_metrics_autovote_last_slot(uint64_t slot)
{
    sb_metrics_gauge_set(SB_METRIC_AUTOVOTE_LAST_SLOT, NULL,
                         slot > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)slot);
}
void sb_metrics_abci_request(const char *method)
{
    sb_metrics_counter_add(SB_METRIC_ABCI_REQUESTS_TOTAL, method, 1);
}

void sb_metrics_pin_latency_ms(uint64_t ms)
{
    size_t i;
    lock();
    for (i = 0; i < NBUCKETS; i++) {
        if (ms <= bucket_ms[i]) {
            hist_buckets[i]++;
            break;
        }
    }
    hist_count++;
    hist_sum_ms += ms;
    unlock();
}

void sb_metrics_set_health_note(const char *note)
{
    lock();
    snprintf(health_note, sizeof health_note, "%s", note ? note : "");
    unlock();
}

/* ---- rendering --------------------------------------------------------------------------- */

/* Growable text buffer with a hard cap; after a failure oom is set and appends stop. */
typedef struct mbuf {
    char *p;
    size_t len, cap;
    int oom;
} mbuf;

static void mbuf_printf(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mbuf_printf(mbuf *b, const char *fmt, ...)
{
    va_list ap;
    int r;
    if (b->oom)
        return;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        r = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (r < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && (size_t)r < room) {
            b->len += (size_t)r;
            return;
        }
        size_t need = b->len + (size_t)r + 1, ncap = b->cap ? b->cap : 4096;
        while (ncap < need)
            ncap *= 2;
        if (need > RENDER_MAX) {
            b->oom = 1;
            return;
        }
        if (ncap > RENDER_MAX)
            ncap = RENDER_MAX;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

/* ms as decimal seconds without trailing zeros: 100 -> "0.1", 2500 -> "2.5", 60000 -> "60". */
static void ms_to_seconds(uint64_t ms, char *out, size_t n)
{
    unsigned long long whole = ms / 1000, frac = ms % 1000;
    if (frac == 0) {
        snprintf(out, n, "%llu", whole);
    } else if (frac % 100 == 0) {
        snprintf(out, n, "%llu.%llu", whole, frac / 100);
    } else if (frac % 10 == 0) {
        snprintf(out, n, "%llu.%02llu", whole, frac / 10);
    } else {
        snprintf(out, n, "%llu.%03llu", whole, frac);
    }
}

/* Label value escaped per the exposition format (\\ and \"; labels hold no other specials
 * after clean_label). */
static void put_label_value(mbuf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            mbuf_printf(b, "\\%c", *v);
        else
            mbuf_printf(b, "%c", *v);
    }
}

static void render_locked(mbuf *b)
{
    static const char *const type_names[] = { "gauge", "counter", "histogram" };
    size_t id, i;
    for (id = 0; id < SB_METRIC_COUNT; id++) {
        const family_def *f = &fam_defs[id];
        mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                    type_names[f->type]);
        if (f->type == FAM_HISTOGRAM) {
            uint64_t cum = 0;
            char le[32];
            for (i = 0; i < NBUCKETS; i++) {
                cum += hist_buckets[i];
                ms_to_seconds(bucket_ms[i], le, sizeof le);
                mbuf_printf(b, "%s_bucket{le=\"%s\"} %llu\n", f->name, le, (unsigned long long)cum);
            }
            mbuf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", f->name,
                        (unsigned long long)hist_count);
            mbuf_printf(b, "%s_sum %llu.%03llu\n", f->name,
                        (unsigned long long)(hist_sum_ms / 1000),
                        (unsigned long long)(hist_sum_ms % 1000));
            mbuf_printf(b, "%s_count %llu\n", f->name, (unsigned long long)hist_count);
            continue;
        }
        if (f->label == NULL) {
            mbuf_printf(b, "%s %lld\n", f->name, (long long)unlabelled[id]);
            continue;
        }
        for (i = 0; i < fam_n[id]; i++) {
            const series *s = &fam_series[id][i];
            mbuf_printf(b, "%s{%s=\"", f->name, f->label);
            put_label_value(b, s->label);
            if (f->type == FAM_COUNTER)
                mbuf_printf(b, "\"} %llu\n", (unsigned long long)s->count);
            else
                mbuf_printf(b, "\"} %lld\n", (long long)s->gauge);
        }
    }
}

int sb_metrics_render(char **out, size_t *len)
{
    mbuf b = { NULL, 0, 0, 0 };
    lock();
    render_locked(&b);
    unlock();
    if (b.oom || b.p == NULL) {
        free(b.p);
        *out = NULL;
        *len = 0;
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

/* ---- HTTP -------------------------------------------------------------------------------- */

struct sb_metrics_server {
    struct evhttp *http;
    uint16_t port;
    sb_metrics_health_fn healthy;
    void *arg;
};

static void handle_request(struct evhttp_request *req, void *arg)
{
    sb_metrics_server *s = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);

    if (path == NULL || (strcmp(path, "/metrics") != 0 && strcmp(path, "/healthz") != 0)) {
        sb_httpd_reply_text(req, HTTP_NOTFOUND, "Not Found",
                            "not found; try /metrics or /healthz\n");
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(oh, "Allow", "GET, HEAD");
        sb_httpd_reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
        return;
    }
    evhttp_add_header(oh, "Cache-Control", "no-store");
    if (strcmp(path, "/healthz") == 0) {
        char body[NOTE_MAX + 32];
        if (s->healthy == NULL || s->healthy(s->arg) == 1) {
            sb_httpd_reply_text(req, HTTP_OK, "OK", "ok\n");
            return;
        }
        lock();
        snprintf(body, sizeof body, "unhealthy: %s\n",
                 health_note[0] ? health_note : "health check failed");
        unlock();
        sb_httpd_reply_text(req, 503, "Service Unavailable", body);
        return;
    }

    char *text;
    size_t len;
    struct evbuffer *buf;
    if (sb_metrics_render(&text, &len) != 0) {
        sb_httpd_reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    if (!(buf = sb_httpd_body_take(text, len))) {
        sb_httpd_reply_text(req, HTTP_INTERNAL, "Internal Server Error", "out of memory\n");
        return;
    }
    evhttp_add_header(oh, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, HTTP_OK, "OK", buf);
    evbuffer_free(buf);
}

sb_metrics_server *sb_metrics_server_start(struct event_base *base, const char *laddr,
                                           sb_metrics_health_fn healthy, void *arg, char *err,
                                           size_t errlen)
{
    sb_metrics_server *s = NULL;
    char host[256], why[128];
    uint16_t port;
    int fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (laddr == NULL ||
        sb_config_split_hostport(laddr, host, sizeof host, &port, why, sizeof why) != 0) {
        snprintf(err, errlen, "metrics: bad address \"%s\" ([metrics] laddr): %s",
                 laddr ? laddr : "", laddr ? why : "missing");
        return NULL;
    }
    fd = sb_httpd_listen("metrics", laddr, host, port, err, errlen);
    if (fd < 0)
        return NULL;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "metrics: getsockname on %s: %s", laddr, strerror(errno));
        goto fail;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "metrics: out of memory");
        goto fail;
    }
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    s->healthy = healthy;
    s->arg = arg;
    s->http = evhttp_new(base);
    if (s->http == NULL) {
        snprintf(err, errlen, "metrics: evhttp_new failed");
        goto fail;
    }
    evhttp_set_timeout(s->http, 30);
    evhttp_set_max_headers_size(s->http, 8192);
    evhttp_set_max_body_size(s->http, 1024);
    evhttp_set_gencb(s->http, handle_request, s);
    if (evhttp_accept_socket_with_handle(s->http, fd) == NULL) {
        snprintf(err, errlen, "metrics: cannot serve on %s ([metrics] laddr)", laddr);
        goto fail;
    }
    return s; /* fd now owned by the evhttp listener */

fail:
    if (s && s->http)
        evhttp_free(s->http);
    free(s);
    if (fd >= 0)
        close(fd);
    return NULL;
}

uint16_t sb_metrics_server_port(const sb_metrics_server *s) { return s ? s->port : 0; }

void sb_metrics_server_free(sb_metrics_server *s)
{
    if (s == NULL)
        return;
    evhttp_free(s->http);
    free(s);
}
