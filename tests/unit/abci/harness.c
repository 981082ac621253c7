/* harness.c - see harness.h */
#include "harness.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "abci/frame.h"

/* ---- counting allocator (libevent and the server) ---------------------------------------------------------- */

static atomic_size_t g_max_alloc;

static void note(size_t n)
{
    size_t cur = atomic_load(&g_max_alloc);
    while (n > cur && !atomic_compare_exchange_weak(&g_max_alloc, &cur, n)) {
    }
}
static void *count_malloc(size_t n)
{
    note(n);
    return malloc(n);
}
static void *count_realloc(void *p, size_t n)
{
    note(n);
    return realloc(p, n);
}

/* The server's own buffers and arena: every malloc/realloc in this executable (abci is
 * linked statically) goes through these (-Wl,--wrap, see CMakeLists.txt). */
void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    note(n);
    return __real_malloc(n);
}
void *__wrap_realloc(void *p, size_t n)
{
    note(n);
    return __real_realloc(p, n);
}

void harness_global_init(void)
{
    event_set_mem_functions(count_malloc, count_realloc, free);
    evthread_use_pthreads();
    signal(SIGPIPE, SIG_IGN);
}

size_t harness_max_alloc(void) { return atomic_load(&g_max_alloc); }

void harness_reset_max_alloc(void) { atomic_store(&g_max_alloc, 0); }

/* ---- server on a thread ------------------------------------------------------------------- */

static void capture_log(void *arg, int level, const char *msg)
{
    harness *h = arg;
    pthread_mutex_lock(&h->mu);
    int n = snprintf(h->log + h->loglen, sizeof h->log - h->loglen, "%d %s\n", level, msg);
    if (n > 0 && (size_t)n < sizeof h->log - h->loglen)
        h->loglen += (size_t)n;
    pthread_mutex_unlock(&h->mu);
}

static void *loop_main(void *arg)
{
    harness *h = arg;
    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static int listen_on(harness *h, const char *kind, int idx, char *out, size_t outlen)
{
    char addr[256], err[256];
    if (strcmp(kind, "unix") == 0) {
        if (!h->tmpdir[0]) {
            snprintf(h->tmpdir, sizeof h->tmpdir, "/tmp/abci-test-XXXXXX");
            if (!mkdtemp(h->tmpdir))
                return -1;
        }
        snprintf(addr, sizeof addr, "unix://%s/s%d.sock", h->tmpdir, idx);
    } else {
        snprintf(addr, sizeof addr, "tcp://127.0.0.1:0");
    }
    if (abci_server_listen(h->srv, addr, err, sizeof err) != 0) {
        fprintf(stderr, "listen %s: %s\n", addr, err);
        return -1;
    }
    return abci_server_listen_addr(h->srv, (size_t)idx, out, outlen);
}

int harness_start(harness *h, const abci_app_t *app, void *app_arg, const abci_server_opts *opts,
                  const char *listen, const char *listen2)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    abci_server_opts o = { 0 };
    if (opts)
        o = *opts;
    o.log = capture_log;
    o.log_arg = h;
    h->base = event_base_new();
    if (!h->base)
        return -1;
    abci_app_t none = { 0 };
    h->srv = abci_server_new(h->base, app ? app : &none, app_arg, &o);
    if (!h->srv)
        return -1;
    if (listen_on(h, listen, 0, h->addr, sizeof h->addr))
        return -1;
    if (listen2 && listen_on(h, listen2, 1, h->addr2, sizeof h->addr2))
        return -1;
    if (pthread_create(&h->thread, NULL, loop_main, h) != 0)
        return -1;
    return 0;
}

struct run_ctx {
    void (*fn)(void *);
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
};

static void run_tramp(evutil_socket_t fd, short what, void *arg)
{
    struct run_ctx *r = arg;
    r->fn(r->arg);
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void harness_run(harness *h, void (*fn)(void *), void *arg)
{
    struct run_ctx r = { .fn = fn, .arg = arg };
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    struct timeval tv0 = { 0, 0 };
    if (event_base_once(h->base, -1, EV_TIMEOUT, run_tramp, &r, &tv0) != 0)
        abort();
    pthread_mutex_lock(&r.mu);
    while (!r.done)
        pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.cv);
}

static void free_srv(void *arg)
{
    harness *h = arg;
    abci_server_free(h->srv);
    h->srv = NULL;
}

struct count_arg {
    harness *h;
    size_t n;
};

static void count_conns(void *arg)
{
    struct count_arg *a = arg;
    a->n = a->h->srv ? abci_server_connections(a->h->srv) : 0;
}

size_t harness_connections(harness *h)
{
    struct count_arg a = { h, 0 };
    harness_run(h, count_conns, &a);
    return a.n;
}

void harness_stop(harness *h)
{
    harness_run(h, free_srv, h);
    event_base_loopbreak(h->base);
    pthread_join(h->thread, NULL);
    event_base_free(h->base);
    h->base = NULL;
    if (h->tmpdir[0])
        rmdir(h->tmpdir);
    pthread_mutex_destroy(&h->mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int harness_wait_log(harness *h, const char *needle, int ms)
{
    for (int t = 0; t <= ms; t += 10) {
        pthread_mutex_lock(&h->mu);
        int found = strstr(h->log, needle) != NULL;
        pthread_mutex_unlock(&h->mu);
        if (found)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

int harness_wait_connections(harness *h, size_t n, int ms)
{
    for (int t = 0; t <= ms; t += 10) {
        if (harness_connections(h) == n)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

char *harness_log_copy(harness *h)
{
    pthread_mutex_lock(&h->mu);
    char *s = strdup(h->log);
    pthread_mutex_unlock(&h->mu);
    return s;
}

/* ---- client ------------------------------------------------------------------------------- */

int client_connect(client *c, const char *addr)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (strncmp(addr, "unix://", 7) == 0) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        snprintf(sun.sun_path, sizeof sun.sun_path, "%s", addr + 7);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof sun) != 0)
            goto fail;
    } else if (strncmp(addr, "tcp://", 6) == 0) {
        char host[128];
        const char *colon = strrchr(addr + 6, ':');
        if (!colon)
            goto fail;
        snprintf(host, sizeof host, "%.*s", (int)(colon - (addr + 6)), addr + 6);
        struct sockaddr_in sin = { .sin_family = AF_INET };
        sin.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
        if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
            goto fail;
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sin, sizeof sin) != 0)
            goto fail;
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
        goto fail;
    }
    struct timeval tv = { 5, 0 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return 0;
fail:
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return -1;
}

void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

int client_send_raw(client *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int client_send(client *c, const Tendermint__Abci__Request *req)
{
    size_t n;
    uint8_t *f = abci_frame_encode(&req->base, &n);
    if (!f)
        return -1;
    int rc = client_send_raw(c, f, n);
    free(f);
    return rc;
}

Tendermint__Abci__Response *client_recv(client *c)
{
    for (;;) {
        abci_reader r = { c->buf, c->len, 0 };
        const uint8_t *body = NULL;
        uint64_t blen = 0;
        abci_frame_status st = abci_frame_next(&r, (size_t)1 << 30, &body, &blen);
        if (st == ABCI_FRAME_OK) {
            static const uint8_t empty[1];
            Tendermint__Abci__Response *res =
                tendermint__abci__response__unpack(NULL, (size_t)blen, blen ? body : empty);
            memmove(c->buf, c->buf + r.pos, c->len - r.pos);
            c->len -= r.pos;
            return res;
        }
        if (st != ABCI_FRAME_NEED_MORE)
            return NULL;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            uint8_t *q = realloc(c->buf, cap);
            if (!q)
                return NULL;
            c->buf = q;
            c->cap = cap;
        }
        ssize_t k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NULL;
        c->len += (size_t)k;
    }
}

int client_wait_closed(client *c)
{
    uint8_t tmp[4096];
    size_t got = c->len; /* received earlier but never read as a response */
    for (;;) {
        ssize_t k = recv(c->fd, tmp, sizeof tmp, 0);
        int closed = k == 0 || (k < 0 && (errno == ECONNRESET || errno == EPIPE));
        if (k > 0) {
            got += (size_t)k;
            continue;
        }
        if (closed && got)
            fprintf(stderr, "client_wait_closed: %zu byte(s) arrived before the close\n", got);
        return closed && got == 0;
    }
}

void req_echo(Tendermint__Abci__Request *r, Tendermint__Abci__RequestEcho *e, const char *msg)
{
    tendermint__abci__request__init(r);
    tendermint__abci__request_echo__init(e);
    e->message = (char *)msg;
    r->value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
    r->echo = e;
}

void req_flush(Tendermint__Abci__Request *r, Tendermint__Abci__RequestFlush *f)
{
    tendermint__abci__request__init(r);
    tendermint__abci__request_flush__init(f);
    r->value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    r->flush = f;
}

void req_check_tx(Tendermint__Abci__Request *r, Tendermint__Abci__RequestCheckTx *c, const void *tx,
                  size_t n)
{
    tendermint__abci__request__init(r);
    tendermint__abci__request_check_tx__init(c);
    c->tx.data = (uint8_t *)tx;
    c->tx.len = n;
    r->value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
    r->check_tx = c;
}
