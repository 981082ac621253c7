/* abci_stream.c - see abci_stream.h. */
#include "abci_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "abci/abci.h"
#include "abci/frame.h"
#include "fuzz_common.h"

/* Requests remembered for the order check; longer streams are checked up to here. */
#define MAX_TRACKED 4096

static char g_close[256];
static int g_closed_logged;

void abci_stream_log(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level >= ABCI_LOG_WARN && !g_closed_logged && strstr(msg, "closing connection")) {
        g_closed_logged = 1;
        snprintf(g_close, sizeof(g_close), "%s", msg);
    }
}

static size_t g_cases_n;
static int g_cases[MAX_TRACKED]; /* Request value_case of each modelled request */

void abci_stream_model(const uint8_t *data, size_t size, abci_stream_result *out)
{
    static const uint8_t empty[1];
    abci_reader r = { data, size, 0 };
    memset(out, 0, sizeof(*out));
    g_cases_n = 0;
    for (;;) {
        const uint8_t *body = NULL;
        uint64_t blen = 0;
        size_t before = r.pos;
        abci_frame_status st = abci_frame_next(&r, ABCI_STREAM_MAX_FRAME, &body, &blen);
        if (st != ABCI_FRAME_OK) {
            FUZZ_CHECK(r.pos == before, "frame decoder moved on a failed decode");
            out->end = st == ABCI_FRAME_NEED_MORE
                           ? (r.pos == size ? ABCI_STREAM_CLEAN : ABCI_STREAM_TRUNCATED)
                       : st == ABCI_FRAME_TOO_LONG ? ABCI_STREAM_TOO_LONG
                                                   : ABCI_STREAM_BAD_VARINT;
            return;
        }
        FUZZ_CHECK(blen <= ABCI_STREAM_MAX_FRAME, "frame body above the limit accepted");
        FUZZ_CHECK(body >= data && body + blen <= data + size, "frame body outside the input");
        FUZZ_CHECK(r.pos > before && r.pos <= size, "frame decoder did not advance");
        Tendermint__Abci__Request *req =
            tendermint__abci__request__unpack(NULL, (size_t)blen, blen ? body : empty);
        if (!req) {
            out->end = ABCI_STREAM_UNDECODABLE;
            return;
        }
        int c = (int)req->value_case;
        if (c == TENDERMINT__ABCI__REQUEST__VALUE_CHECK_TX) {
            abci_check_tx_kind k = abci_check_tx_kind_of(req->check_tx);
            FUZZ_CHECK(k == ABCI_CHECK_TX_NEW || k == ABCI_CHECK_TX_RECHECK, "check_tx kind");
        }
        tendermint__abci__request__free_unpacked(req, NULL);
        if (c == TENDERMINT__ABCI__REQUEST__VALUE__NOT_SET) {
            out->end = ABCI_STREAM_NO_METHOD;
            return;
        }
        if (g_cases_n < MAX_TRACKED)
            g_cases[g_cases_n++] = c;
        out->requests++;
    }
}

/* The Response case answering a Request case (abci.proto numbers them apart). */
static int response_case(int req_case)
{
    switch (req_case) {
#define M(X) \
    case TENDERMINT__ABCI__REQUEST__VALUE_##X: return TENDERMINT__ABCI__RESPONSE__VALUE_##X
        M(ECHO);
        M(FLUSH);
        M(INFO);
        M(INIT_CHAIN);
        M(QUERY);
        M(CHECK_TX);
        M(COMMIT);
        M(LIST_SNAPSHOTS);
        M(OFFER_SNAPSHOT);
        M(LOAD_SNAPSHOT_CHUNK);
        M(APPLY_SNAPSHOT_CHUNK);
        M(PREPARE_PROPOSAL);
        M(PROCESS_PROPOSAL);
        M(EXTEND_VOTE);
        M(VERIFY_VOTE_EXTENSION);
        M(FINALIZE_BLOCK);
#undef M
    default: return -1;
    }
}

typedef struct sink {
    uint8_t *buf;
    size_t len, cap;
    size_t responses;
    size_t model_requests;
} sink;

/* Read what the server wrote and check every complete frame in it. */
static void drain(int fd, sink *s)
{
    static const uint8_t empty[1];
    for (;;) {
        if (s->cap - s->len < 65536) {
            size_t nc = s->cap ? s->cap * 2 : 131072;
            uint8_t *q = realloc(s->buf, nc);
            FUZZ_CHECK(q != NULL, "out of memory");
            s->buf = q;
            s->cap = nc;
        }
        ssize_t k = read(fd, s->buf + s->len, s->cap - s->len);
        if (k <= 0)
            break;
        s->len += (size_t)k;
    }
    abci_reader r = { s->buf, s->len, 0 };
    for (;;) {
        const uint8_t *body;
        uint64_t blen;
        abci_frame_status st = abci_frame_next(&r, (size_t)1 << 30, &body, &blen);
        FUZZ_CHECK(st == ABCI_FRAME_OK || st == ABCI_FRAME_NEED_MORE, "server wrote a bad frame");
        if (st != ABCI_FRAME_OK)
            break;
        Tendermint__Abci__Response *res =
            tendermint__abci__response__unpack(NULL, (size_t)blen, blen ? body : empty);
        FUZZ_CHECK(res != NULL, "server wrote an undecodable Response");
        int rc = (int)res->value_case;
        tendermint__abci__response__free_unpacked(res, NULL);
        FUZZ_CHECK(rc != TENDERMINT__ABCI__RESPONSE__VALUE__NOT_SET &&
                       rc != TENDERMINT__ABCI__RESPONSE__VALUE_EXCEPTION,
                   "server wrote an empty Response or an exception");
        FUZZ_CHECK(s->responses < s->model_requests, "more responses than requests");
        if (s->responses < g_cases_n)
            FUZZ_CHECK(rc == response_case(g_cases[s->responses]),
                       "response does not answer the request in order");
        s->responses++;
    }
    memmove(s->buf, s->buf + r.pos, s->len - r.pos);
    s->len -= r.pos;
}

/* What the server must log when it closes a stream that ends as `end`. */
static const char *expected_reason(abci_stream_end end)
{
    switch (end) {
    case ABCI_STREAM_TRUNCATED: return "peer closed mid-frame";
    case ABCI_STREAM_BAD_VARINT: return "bad varint length prefix";
    case ABCI_STREAM_TOO_LONG: return "frame too long";
    case ABCI_STREAM_UNDECODABLE: return "undecodable protobuf Request";
    case ABCI_STREAM_NO_METHOD: return "Request has no known method";
    case ABCI_STREAM_CLEAN: break;
    }
    return NULL;
}

void abci_stream_run(struct event_base *base, abci_server *srv, const uint8_t *data, size_t size,
                     int app_may_refuse, abci_stream_result *out)
{
    abci_stream_model(data, size, out);
    g_closed_logged = 0;
    g_close[0] = '\0';

    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
    FUZZ_CHECK(abci_server_serve_fd(srv, sv[0], "fuzz") == 0, "connection start");
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);

    sink s = { .model_requests = out->requests };
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            break; /* the server closed the connection */
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain(sv[1], &s);
        if (abci_server_connections(srv) == 0)
            break;
    }
    shutdown(sv[1], SHUT_WR);
    for (int spins = 0; abci_server_connections(srv) > 0; spins++) {
        FUZZ_CHECK(spins < 100000, "connection not closed after the peer's close");
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain(sv[1], &s);
    }
    drain(sv[1], &s);
    close(sv[1]);
    free(s.buf);

    out->responses = s.responses;
    snprintf(out->close_reason, sizeof(out->close_reason), "%s", g_close);
    out->app_refused = strstr(g_close, "application ") && strstr(g_close, " callback ");
    FUZZ_CHECK(app_may_refuse || !out->app_refused, "a library default callback failed");
    if (out->app_refused)
        return; /* the app closed the connection at one of the requests: fewer answers */
    const char *want = expected_reason(out->end);
    if (!want) {
        FUZZ_CHECK(g_close[0] == '\0', "clean stream closed with a warning or an error");
        FUZZ_CHECK(s.responses == out->requests, "a request of a clean stream got no response");
    } else {
        FUZZ_CHECK(strstr(g_close, want) != NULL, "server closed for another reason than the "
                                                  "model's");
    }
}

void abci_stream_check_seed(const char *name, const abci_stream_result *whole,
                            const abci_stream_result *cut)
{
    /* A seed the app must refuse says so in its name; any other must not be refused, so an
     * app that fails every callback cannot pass the replay. */
    int refuse = strncmp(name, "refused_", 8) == 0;
    if (refuse != whole->app_refused) {
        fprintf(stderr, "corpus %s: the app %s the stream (close reason \"%s\")\n", name,
                whole->app_refused ? "refused" : "did not refuse", whole->close_reason);
        abort();
    }
    if (whole->end != ABCI_STREAM_CLEAN || refuse)
        return; /* malformed on purpose: abci_stream_run checked the close reason */
    if (whole->requests == 0 || whole->responses != whole->requests) {
        fprintf(stderr, "corpus %s: a well-formed stream produced no response\n", name);
        abort();
    }
    if (cut->end != ABCI_STREAM_TRUNCATED ||
        (!cut->app_refused && !strstr(cut->close_reason, "peer closed mid-frame"))) {
        fprintf(stderr, "corpus %s: without its last byte: end %d, close reason \"%s\"\n", name,
                (int)cut->end, cut->close_reason);
        abort();
    }
}
