/* abci-bench.c - pipelined ABCI load generator against any ABCI socket server (protocol.md §2).
 *
 *   abci-bench --addr tcp://127.0.0.1:26658 -n 100000 -w 256 [--method echo|checktx]
 *              [--tx HEX]
 *
 * Keeps up to W requests in flight on one connection. Like CometBFT's socket client it
 * writes a batch of requests followed by a Flush and reads responses as they come; a new
 * batch goes out once at most W/2 requests are in flight. Checks that every response matches
 * its request type and order (and each Echo its message). Prints requests/s and p50/p99/max
 * latency from queueing a request to reading its response (CLOCK_MONOTONIC; this is a tool, not consensus code).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "abci/frame.h"
#include "tendermint/abci/types.pb-c.h"

#define MAX_FRAME ((size_t)64 << 20)

typedef struct {
    uint8_t *p;
    size_t off, len, cap; /* live bytes are p[off..len) */
} buf;

typedef struct {
    int is_flush;
    uint64_t id;     /* request number (not for Flush) */
    uint64_t t_send; /* ns, set when the batch is written */
} expect;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "abci-bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static void buf_reserve(buf *b, size_t n)
{
    if (b->off > 0 && b->off == b->len)
        b->off = b->len = 0;
    if (b->cap - b->len >= n)
        return;
    if (b->off > 0) { /* compact */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= n)
            return;
    }
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q)
        die("%s", "out of memory");
    b->p = q;
    b->cap = cap;
}

static void buf_put_msg(buf *b, const ProtobufCMessage *m)
{
    size_t n = abci_frame_size(m);
    buf_reserve(b, n);
    b->len += abci_frame_pack(m, b->p + b->len, n);
}

static int connect_addr(const char *addr)
{
    int fd = -1;
    if (strncmp(addr, "unix://", 7) == 0) {
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        size_t n = strlen(addr + 7);
        if (n >= sizeof sun.sun_path)
            die("unix path too long: %s", addr);
        memcpy(sun.sun_path, addr + 7, n + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
            die("connect %s failed", addr);
        return fd;
    }
    if (strncmp(addr, "tcp://", 6) != 0)
        die("address %s: want tcp://HOST:PORT or unix:///path", addr);
    char host[256];
    const char *hp = addr + 6, *colon = strrchr(hp, ':');
    if (!colon || (size_t)(colon - hp) >= sizeof host || colon == hp)
        die("address %s: want tcp://HOST:PORT", addr);
    size_t hl = (size_t)(colon - hp);
    if (hl >= 2 && hp[0] == '[' && hp[hl - 1] == ']') {
        hp++;
        hl -= 2;
    }
    memcpy(host, hp, hl);
    host[hl] = '\0';
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        die("cannot resolve %s", addr);
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        die("connect %s failed", addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: abci-bench --addr tcp://HOST:PORT|unix:///path [-n N] [-w W] "
               "[--method echo|checktx] [--tx HEX]\n");
}

static unsigned long long parse_count(const char *s, const char *what)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end || v == 0 || v > 100000000ull)
        die("%s must be in [1, 100000000]", what);
    return v;
}

int main(int argc, char **argv)
{
    const char *addr = "tcp://127.0.0.1:26658", *method = "echo", *txhex = NULL;
    uint64_t n = 100000, w = 256;
    static const struct option opts[] = {
        { "addr", required_argument, NULL, 'a' },
        { "method", required_argument, NULL, 'm' },
        { "tx", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int o;
    while ((o = getopt_long(argc, argv, "a:n:w:m:t:h", opts, NULL)) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'n': n = parse_count(optarg, "-n"); break;
        case 'w': w = parse_count(optarg, "-w"); break;
        case 'm': method = optarg; break;
        case 't': txhex = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int checktx = strcmp(method, "checktx") == 0;
    if (!checktx && strcmp(method, "echo") != 0) {
        usage(stderr);
        return 2;
    }
    uint8_t tx[4096];
    size_t txlen = 0;
    if (txhex) {
        size_t hl = strlen(txhex);
        if (hl % 2 || hl / 2 > sizeof tx)
            die("--tx %s: want an even number of hex digits, at most 8192", txhex);
        for (size_t i = 0; i < hl / 2; i++) {
            int hi = hexval(txhex[2 * i]), lo = hexval(txhex[2 * i + 1]);
            if (hi < 0 || lo < 0)
                die("--tx %s: not hex", txhex);
            tx[i] = (uint8_t)(hi << 4 | lo);
        }
        txlen = hl / 2;
    } else {
        memcpy(tx, "bench=1", 7);
        txlen = 7;
    }

    signal(SIGPIPE, SIG_IGN);
    int fd = connect_addr(addr);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

    uint64_t *lat = calloc(n, sizeof *lat);
    size_t qcap = (size_t)w * 2 + 8;
    expect *q = calloc(qcap, sizeof *q); /* ring of expected responses */
    if (!lat || !q)
        die("%s", "out of memory");
    size_t qhead = 0, qlen = 0;
    uint64_t sent = 0, done = 0, inflight = 0, nonzero = 0, flushes = 0;
    buf out = { 0 }, in = { 0 };

    Tendermint__Abci__Request req = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestEcho echo = TENDERMINT__ABCI__REQUEST_ECHO__INIT;
    Tendermint__Abci__RequestCheckTx ctx = TENDERMINT__ABCI__REQUEST_CHECK_TX__INIT;
    Tendermint__Abci__RequestFlush fl = TENDERMINT__ABCI__REQUEST_FLUSH__INIT;
    Tendermint__Abci__Request freq = TENDERMINT__ABCI__REQUEST__INIT;
    freq.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FLUSH;
    freq.flush = &fl;
    ctx.tx.data = tx;
    ctx.tx.len = txlen;
    char msg[32];

    uint64_t t0 = now_ns();
    while (done < n) {
        /* refill: a batch of requests then one Flush */
        if (sent < n && inflight <= w / 2 && qlen + (w - inflight) + 1 <= qcap) {
            uint64_t t = now_ns(); /* latency counts from when the batch is queued */
            while (sent < n && inflight < w) {
                if (checktx) {
                    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX;
                    req.check_tx = &ctx;
                } else {
                    snprintf(msg, sizeof msg, "m%" PRIu64, sent);
                    echo.message = msg;
                    req.value_case = TENDERMINT__ABCI__REQUEST__VALUE_ECHO;
                    req.echo = &echo;
                }
                buf_put_msg(&out, &req.base);
                q[(qhead + qlen++) % qcap] = (expect){ .is_flush = 0, .id = sent++, .t_send = t };
                inflight++;
            }
            buf_put_msg(&out, &freq.base);
            q[(qhead + qlen++) % qcap] = (expect){ .is_flush = 1, .t_send = t };
        }
        struct pollfd pfd = { .fd = fd, .events = POLLIN | (out.len > out.off ? POLLOUT : 0) };
        if (poll(&pfd, 1, 10000) <= 0)
            die("%s", "no progress for 10 s (server stuck?)");
        if (pfd.revents & POLLOUT) {
            ssize_t k = write(fd, out.p + out.off, out.len - out.off);
            if (k < 0 && errno != EAGAIN && errno != EINTR)
                die("write: %s", strerror(errno));
            if (k > 0)
                out.off += (size_t)k;
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            buf_reserve(&in, 65536);
            ssize_t k = read(fd, in.p + in.len, in.cap - in.len);
            if (k == 0)
                die("%s", "server closed the connection");
            if (k < 0 && errno != EAGAIN && errno != EINTR)
                die("read: %s", strerror(errno));
            if (k > 0)
                in.len += (size_t)k;
            uint64_t t = now_ns();
            for (;;) {
                abci_reader r = { in.p + in.off, in.len - in.off, 0 };
                const uint8_t *body;
                uint64_t blen;
                abci_frame_status st = abci_frame_next(&r, MAX_FRAME, &body, &blen);
                if (st == ABCI_FRAME_NEED_MORE)
                    break;
                if (st != ABCI_FRAME_OK)
                    die("bad response frame: %s", abci_frame_status_str(st));
                Tendermint__Abci__Response *res =
                    tendermint__abci__response__unpack(NULL, (size_t)blen, body);
                in.off += r.pos;
                if (!res)
                    die("%s", "undecodable Response");
                if (qlen == 0)
                    die("%s", "unsolicited response");
                expect e = q[qhead];
                qhead = (qhead + 1) % qcap;
                qlen--;
                if (res->value_case == TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION)
                    die("exception: %s", res->exception->error);
                if (e.is_flush) {
                    if (res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH)
                        die("%s", "expected Flush response, got another type");
                    flushes++;
                } else if (checktx) {
                    if (res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX)
                        die("%s", "expected CheckTx response, got another type");
                    nonzero += res->check_tx->code != 0;
                } else {
                    if (res->value_case != TENDERMINT__ABCI__RESPONSE__VALUE_ECHO)
                        die("%s", "expected Echo response, got another type");
                    snprintf(msg, sizeof msg, "m%" PRIu64, e.id);
                    if (strcmp(res->echo->message, msg) != 0)
                        die("echo out of order: got %s", res->echo->message);
                }
                if (!e.is_flush) {
                    lat[done++] = t - e.t_send;
                    inflight--;
                }
                tendermint__abci__response__free_unpacked(res, NULL);
            }
        }
    }
    uint64_t t1 = now_ns();
    close(fd);

    qsort(lat, n, sizeof *lat, cmp_u64);
    double secs = (double)(t1 - t0) / 1e9;
    uint64_t p50 = lat[(n - 1) * 50 / 100], p99 = lat[(n - 1) * 99 / 100], mx = lat[n - 1];
    printf("method=%s n=%" PRIu64 " window=%" PRIu64 " flushes=%" PRIu64 " seconds=%.3f "
           "req_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f",
           method, n, w, flushes, secs, (double)n / secs, (double)p50 / 1e3, (double)p99 / 1e3,
           (double)mx / 1e3);
    if (checktx)
        printf(" nonzero_codes=%" PRIu64, nonzero);
    printf("\n");
    free(lat);
    free(q);
    free(out.p);
    free(in.p);
    return 0;
}
