/* server.c - listeners (tcp://HOST:PORT, unix:///path) and the default logger (protocol.md §2). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "abci-internal.h"
#include "abci/frame.h"

struct abci_listener {
    abci_server *srv;              /* borrowed */
    struct evconnlistener *lev;    /* owned; closes the socket */
    struct event *retry;           /* owned; re-enables accepting after EMFILE and friends */
    char *unix_path;               /* owned; socket file we created (unlinked on close) */
    char addr[ABCI_PEER_MAX + 16]; /* bound address, "tcp://127.0.0.1:26658" */
    struct abci_listener *next;
};

/* ---- logging ------------------------------------------------------------------------------ */

static const char *level_name(int level)
{
    switch (level) {
    case ABCI_LOG_DEBUG: return "debug";
    case ABCI_LOG_INFO: return "info";
    case ABCI_LOG_WARN: return "warn";
    default: return "error";
    }
}

/* Default sink: logfmt line on stderr, msg quoted with " and \ escaped. */
static void default_log(void *arg, int level, const char *msg)
{
    char q[1100];
    size_t o = 0;
    for (const char *p = msg; *p && o + 3 < sizeof q; p++) {
        if (*p == '"' || *p == '\\')
            q[o++] = '\\';
        q[o++] = (*p == '\n') ? ' ' : *p;
    }
    q[o] = '\0';
    fprintf(stderr, "level=%s module=abci msg=\"%s\"\n", level_name(level), q);
}

void abci_vlog(abci_server *srv, int level, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (srv->opts.log)
        srv->opts.log(srv->opts.log_arg, level, msg);
    else
        default_log(NULL, level, msg);
}

void abci_log(abci_server *srv, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    abci_vlog(srv, level, fmt, ap);
    va_end(ap);
}

/* ---- server ------------------------------------------------------------------------------- */

abci_server *abci_server_new(struct event_base *base, const abci_app_t *app, void *app_arg,
                             const abci_server_opts *opts)
{
    abci_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    if (app)
        srv->app = *app;
    srv->app_arg = app_arg;
    if (opts)
        srv->opts = *opts;
    if (srv->opts.max_frame_bytes == 0)
        srv->opts.max_frame_bytes = ABCI_DEFAULT_MAX_FRAME_BYTES;
    if (srv->opts.max_output_bytes == 0)
        srv->opts.max_output_bytes = ABCI_DEFAULT_MAX_OUTPUT_BYTES;
    if (srv->opts.max_connections == 0)
        srv->opts.max_connections = ABCI_DEFAULT_MAX_CONNECTIONS;
    if (srv->opts.stage_queue_max == 0)
        srv->opts.stage_queue_max = ABCI_DEFAULT_STAGE_QUEUE_MAX;
    return srv;
}

/* Free jobs kept for reuse beyond what is in use: enough for a full stage queue. */
abci_job *abci_job_get(abci_server *srv)
{
    abci_job *j = srv->free_jobs;
    if (j) {
        srv->free_jobs = j->next;
        srv->nfree_jobs--;
        j->next = NULL;
        return j;
    }
    j = calloc(1, sizeof *j);
    if (j)
        abci_ctx_init_small(&j->ctx);
    return j;
}

void abci_job_put(abci_server *srv, abci_job *j)
{
    abci_ctx_rewind(&j->ctx);
    j->req = NULL;
    j->conn = NULL;
    if (srv->freeing || srv->nfree_jobs >= srv->opts.stage_queue_max + 64) {
        abci_ctx_reset(&j->ctx);
        free(j);
        return;
    }
    j->next = srv->free_jobs;
    srv->free_jobs = j;
    srv->nfree_jobs++;
}

static void listener_free(struct abci_listener *l)
{
    if (l->retry)
        event_free(l->retry);
    evconnlistener_free(l->lev);
    if (l->unix_path) {
        unlink(l->unix_path);
        free(l->unix_path);
    }
    free(l);
}

void abci_server_stop_listening(abci_server *srv)
{
    while (srv->listeners) {
        struct abci_listener *l = srv->listeners;
        srv->listeners = l->next;
        abci_log(srv, ABCI_LOG_INFO, "stopped listening on %s", l->addr);
        listener_free(l);
    }
}

size_t abci_server_connections(const abci_server *srv) { return srv->nconns; }

void abci_server_destroy(abci_server *srv)
{
    abci_pool_free(srv);
    while (srv->free_jobs) {
        abci_job *j = srv->free_jobs;
        srv->free_jobs = j->next;
        abci_ctx_reset(&j->ctx);
        free(j);
    }
    free(srv);
}

void abci_server_free(abci_server *srv)
{
    if (!srv || srv->freeing)
        return;
    abci_server_stop_listening(srv);
    while (srv->conns)
        abci_conn_close(srv->conns, ABCI_LOG_INFO, "server shutting down");
    /* join the workers; the connections' references held by pool jobs go with it */
    abci_pool_stop(srv);
    srv->freeing = 1;
    /* a connection whose handler is running (the caller may be an app callback) is freed
     * when that handler returns; the last one frees the server */
    if (srv->nzombies == 0)
        abci_server_destroy(srv);
}

int abci_server_serve_fd(abci_server *srv, int fd, const char *name)
{
    return abci_conn_start(srv, fd, NULL, 0, name ? name : "?");
}

/* ---- listeners ---------------------------------------------------------------------------- */

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct abci_listener *l = arg;
    abci_conn_start(l->srv, fd, sa, salen, l->unix_path);
}

static void accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct abci_listener *l = arg;
    evconnlistener_enable(l->lev);
}

/* accept() failed (typically EMFILE/ENFILE: out of descriptors). The listening socket stays
 * readable, so pause accepting for ACCEPT_RETRY_MS instead of spinning and flooding the log. */
#define ACCEPT_RETRY_MS 100
static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    struct abci_listener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    abci_log(l->srv, ABCI_LOG_ERROR, "accept on %s failed: %s; pausing accepts for %d ms", l->addr,
             evutil_socket_error_to_string(err), ACCEPT_RETRY_MS);
    if (!l->retry)
        l->retry = evtimer_new(l->srv->base, accept_retry_cb, l);
    if (l->retry) {
        struct timeval tv = { 0, ACCEPT_RETRY_MS * 1000 };
        evconnlistener_disable(lev);
        evtimer_add(l->retry, &tv);
    }
}

static int add_listener(abci_server *srv, struct evconnlistener *lev, char *unix_path, char *err,
                        size_t errlen)
{
    struct abci_listener *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        evconnlistener_free(lev);
        if (unix_path) {
            unlink(unix_path);
            free(unix_path);
        }
        return -1;
    }
    l->srv = srv;
    l->lev = lev;
    l->unix_path = unix_path;
    evconnlistener_set_cb(lev, accept_cb, l);
    evconnlistener_set_error_cb(lev, accept_error_cb);
    if (unix_path) {
        snprintf(l->addr, sizeof l->addr, "unix://%s", unix_path);
    } else {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char host[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&ss;
                evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
                port = ntohs(in->sin_port);
                snprintf(l->addr, sizeof l->addr, "tcp://%s:%u", host, port);
            } else if (ss.ss_family == AF_INET6) {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
                evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
                port = ntohs(in6->sin6_port);
                snprintf(l->addr, sizeof l->addr, "tcp://[%s]:%u", host, port);
            }
        }
    }
    /* append, so abci_server_listen_addr(0) is the first address listened on */
    struct abci_listener **tail = &srv->listeners;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    abci_log(srv, ABCI_LOG_INFO, "listening on %s", l->addr);
    return 0;
}

static const unsigned LEV_FLAGS = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;

static int listen_tcp(abci_server *srv, const char *hostport, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || colon[1] == '\0') {
        snprintf(err, errlen, "tcp address \"%s\": want HOST:PORT", hostport);
        return -1;
    }
    size_t hl = (size_t)(colon - hostport);
    const char *h = hostport;
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [::1]:26658 */
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host) {
        snprintf(err, errlen, "tcp address \"%s\": bad host", hostport);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end = NULL;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || !end || *end != '\0' || port > 65535) {
        snprintf(err, errlen, "tcp address \"%s\": port not in [0, 65535]", hostport);
        return -1;
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host, colon + 1, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "tcp address \"%s\": %s", hostport, gai_strerror(gai));
        return -1;
    }
    struct evconnlistener *lev = NULL;
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai && !lev; ai = ai->ai_next) {
        lev = evconnlistener_new_bind(srv->base, NULL, NULL, LEV_FLAGS, -1, ai->ai_addr,
                                      (int)ai->ai_addrlen);
        if (!lev)
            last_errno = errno;
    }
    freeaddrinfo(res);
    if (!lev) {
        snprintf(err, errlen, "listen on tcp://%s: %s", hostport,
                 last_errno ? strerror(last_errno) : "failed");
        return -1;
    }
    return add_listener(srv, lev, NULL, err, errlen);
}

static int listen_unix(abci_server *srv, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof sun.sun_path) {
        snprintf(err, errlen, "unix socket path \"%s\": length %zu not in [1, %zu]", path, n,
                 sizeof sun.sun_path - 1);
        return -1;
    }
    memcpy(sun.sun_path, path, n + 1);

    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "unix socket path \"%s\" exists and is not a socket", path);
            return -1;
        }
        if (unlink(path) != 0) {
            snprintf(err, errlen, "remove stale socket \"%s\": %s", path, strerror(errno));
            return -1;
        }
    }
    char *copy = strdup(path);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct evconnlistener *lev = evconnlistener_new_bind(
        srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
        (struct sockaddr *)&sun, (int)sizeof sun);
    if (!lev) {
        snprintf(err, errlen, "listen on unix://%s: %s", path, strerror(errno));
        free(copy);
        return -1;
    }
    return add_listener(srv, lev, copy, err, errlen);
}

int abci_server_listen(abci_server *srv, const char *addr, char *err, size_t errlen)
{
    char dummy[1];
    if (!err || errlen == 0) {
        err = dummy;
        errlen = sizeof dummy;
    }
    err[0] = '\0';
    if (!addr) {
        snprintf(err, errlen, "no address");
        return -1;
    }
    if (srv->freeing) {
        snprintf(err, errlen, "server is shutting down");
        return -1;
    }
    if (strncmp(addr, "tcp://", 6) == 0)
        return listen_tcp(srv, addr + 6, err, errlen);
    if (strncmp(addr, "unix://", 7) == 0)
        return listen_unix(srv, addr + 7, err, errlen);
    snprintf(err, errlen, "address \"%s\": want tcp://HOST:PORT or unix:///path.sock", addr);
    return -1;
}

int abci_server_listen_addr(const abci_server *srv, size_t i, char *out, size_t outlen)
{
    const struct abci_listener *l = srv->listeners;
    while (l && i > 0) {
        l = l->next;
        i--;
    }
    if (!l)
        return -1;
    int n = snprintf(out, outlen, "%s", l->addr);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
