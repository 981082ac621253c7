/* web.c - now-playing page and feed (protocol.md §14) on a thread of their own: own event base,
 * own read-only database connection, wall clock (CLOCK_REALTIME) read here and passed to the pure
 * programme function. */
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd.h"
#include "log.h"
#include "nowplaying.h"
#include "params.h"
#include "programme.h"
#include "schedule.h"
#include "store.h"

struct sb_web {
    pthread_t th;
    int thread_started;
    int wake[2]; /* sb_web_stop writes one byte to wake[1]; the thread breaks its loop */
    struct event_base *base;
    struct evhttp *http;
    struct event *stop_ev;
    sb_store *db; /* read-only, used by the server thread only */
    int have_timing;
    sb_prog_timing tm; /* from the committed params, fixed by genesis */
    uint16_t port;
    char name[128], ogg[512], mp3[512], gateway[512];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* T0 and L from the committed params (once: genesis fixes them). 1 known, 0 not yet, -1. */
static int load_timing(sb_web *w)
{
    sb_meta m;
    sb_params p;
    char err[256];
    int rc = -1;
    memset(&p, 0, sizeof(p));
    if (w->have_timing)
        return 1;
    if (sb_store_load_meta(w->db, &m) < 0)
        return -1;
    if (!m.params_json) {
        rc = 0;
        goto done;
    }
    if (sb_params_from_json(m.params_json, &p, err, sizeof(err)) < 0) {
        sb_log(SB_LOG_ERROR, "web", "committed params: %s", err);
        goto done;
    }
    w->tm.t0_ns = p.epoch_ns;
    w->tm.slot_ns = p.slot_seconds * 1000000000ull;
    w->have_timing = 1;
    rc = 1;
done:
    sb_params_free(&p);
    sb_meta_free(&m);
    return rc;
}

/* Render the feed (page 0) or the page (page 1) at t from one committed snapshot. */
static char *render(sb_web *w, int64_t t, int page)
{
    char *out = NULL;
    sb_sched cur, nxt;
    sb_prog_now np;
    sb_np_input in = { t, 0, NULL, NULL, NULL };
    sb_np_station st = { w->name, w->ogg, w->mp3, w->gateway };
    memset(&cur, 0, sizeof(cur));
    memset(&nxt, 0, sizeof(nxt));
    if (sb_store_snapshot_begin(w->db) < 0)
        return NULL;
    int known = load_timing(w);
    if (known < 0)
        goto done;
    if (known == 1) {
        uint64_t s = sb_prog_slot_for(&w->tm, t);
        sb_prog_slot pc, pn;
        if (sb_sched_load(w->db, s, &cur) < 0 || sb_sched_load(w->db, s + 1, &nxt) < 0)
            goto done;
        sb_sched_prog_slot(&cur, &pc);
        sb_sched_prog_slot(&nxt, &pn);
        if (sb_prog_at(&w->tm, t, &pc, &pn, &np) < 0)
            goto done;
        in.initialised = 1;
        in.np = &np;
        in.cur = &cur;
        in.nxt = &nxt;
    }
    out = page ? sb_np_page_html(&st, &in) : sb_np_feed_json(&st, &in);
done:
    sb_store_snapshot_end(w->db);
    sb_sched_free(&cur);
    sb_sched_free(&nxt);
    return out;
}

static void handle(struct evhttp_request *req, void *arg)
{
    sb_web *w = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    int page;
    if (path && (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0))
        page = 1;
    else if (path && strcmp(path, "/nowplaying.json") == 0)
        page = 0;
    else {
        sb_httpd_reply_text(req, HTTP_NOTFOUND, "Not Found",
                            "not found; try / or /nowplaying.json\n");
        return;
    }
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(oh, "Allow", "GET, HEAD");
        sb_httpd_reply_text(req, 405, "Method Not Allowed", "method not allowed\n");
        return;
    }
    char *body = render(w, now_ns(), page);
    struct evbuffer *buf = body ? sb_httpd_body_take(body, strlen(body)) : NULL;
    if (!buf) {
        sb_log(SB_LOG_WARN, "web", "%s: could not render (database or memory)", path);
        sb_httpd_reply_text(req, HTTP_INTERNAL, "Internal Server Error", "internal error\n");
        return;
    }
    evhttp_add_header(oh, "Cache-Control", "no-store");
    if (page) {
        evhttp_add_header(oh, "Content-Type", "text/html; charset=utf-8");
    } else {
        evhttp_add_header(oh, "Content-Type", "application/json");
        evhttp_add_header(oh, "Access-Control-Allow-Origin", "*");
    }
    evhttp_send_reply(req, HTTP_OK, "OK", buf);
    evbuffer_free(buf);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((sb_web *)arg)->base);
}

static void *run(void *arg)
{
    sb_web *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

sb_web *sb_web_start(const sb_config *cfg, const char *db_path, char *err, size_t errlen)
{
    sb_web *w = calloc(1, sizeof(*w));
    char host[256], why[128];
    uint16_t port;
    int fd = -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (!w) {
        snprintf(err, errlen, "web: out of memory");
        return NULL;
    }
    w->wake[0] = w->wake[1] = -1;
    snprintf(w->name, sizeof(w->name), "%s", cfg->web.station_name);
    snprintf(w->ogg, sizeof(w->ogg), "%s", cfg->web.stream_url);
    snprintf(w->mp3, sizeof(w->mp3), "%s", cfg->web.stream_url_mp3);
    snprintf(w->gateway, sizeof(w->gateway), "%s", cfg->ipfs.gateway_url);
    if (sb_config_split_hostport(cfg->web.laddr, host, sizeof(host), &port, why, sizeof(why))) {
        snprintf(err, errlen, "web: bad address \"%s\" ([web] laddr): %s", cfg->web.laddr, why);
        goto fail;
    }
    if (sb_store_open_readonly(db_path, &w->db, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "web: %s", why);
        goto fail;
    }
    if ((fd = sb_httpd_listen("web", cfg->web.laddr, host, port, err, errlen)) < 0)
        goto fail;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "web: getsockname on %s: %s", cfg->web.laddr, strerror(errno));
        goto fail;
    }
    w->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    if (pipe(w->wake) < 0 || fcntl(w->wake[0], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(w->wake[1], F_SETFD, FD_CLOEXEC) < 0 || fcntl(w->wake[0], F_SETFL, O_NONBLOCK) < 0 ||
        !(w->base = event_base_new()) || !(w->http = evhttp_new(w->base)) ||
        !(w->stop_ev = event_new(w->base, w->wake[0], EV_READ, on_stop, w)) ||
        event_add(w->stop_ev, NULL) < 0) {
        snprintf(err, errlen, "web: cannot set up the event loop");
        goto fail;
    }
    evhttp_set_timeout(w->http, 30);
    evhttp_set_max_headers_size(w->http, 8192);
    evhttp_set_max_body_size(w->http, 1024);
    evhttp_set_gencb(w->http, handle, w);
    if (!evhttp_accept_socket_with_handle(w->http, fd)) {
        snprintf(err, errlen, "web: cannot serve on %s ([web] laddr)", cfg->web.laddr);
        goto fail;
    }
    fd = -1; /* owned by the evhttp listener */
    if (pthread_create(&w->th, NULL, run, w) != 0) {
        snprintf(err, errlen, "web: cannot start the server thread");
        goto fail;
    }
    w->thread_started = 1;
    return w;
fail:
    if (fd >= 0)
        close(fd);
    sb_web_stop(w);
    return NULL;
}

uint16_t sb_web_port(const sb_web *w) { return w ? w->port : 0; }

void sb_web_stop(sb_web *w)
{
    if (!w)
        return;
    if (w->thread_started) {
        ssize_t r;
        do
            r = write(w->wake[1], "x", 1);
        while (r < 0 && errno == EINTR);
        pthread_join(w->th, NULL);
    }
    if (w->stop_ev)
        event_free(w->stop_ev);
    if (w->http)
        evhttp_free(w->http);
    if (w->base)
        event_base_free(w->base);
    if (w->wake[0] >= 0)
        close(w->wake[0]);
    if (w->wake[1] >= 0)
        close(w->wake[1]);
    sb_store_close(w->db);
    free(w);
}
