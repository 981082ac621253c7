/* test_server.c - transport rules of the ABCI server (abci/src/conn.c, server.c; protocol.md §2):
 * pipelining and order, Flush, several connections, tcp and unix, and every way a peer can
 * break a connection (garbage, bad varint, oversized frame, mid-frame close, not reading). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <errno.h>
#include <time.h>

#include <event2/event.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "abci/abci.h"
#include "abci/frame.h"
#include "harness.h"
#include "test_filter.h"

/* CheckTx: code = first byte of the tx (so answers can be matched to requests). */
static int check_tx_first_byte(void *app, abci_ctx *ctx,
                               const Tendermint__Abci__RequestCheckTx *req,
                               Tendermint__Abci__ResponseCheckTx *res)
{
    res->code = req->tx.len ? req->tx.data[0] : 0;
    res->log = abci_ctx_printf(ctx, "len=%zu", req->tx.len);
    return res->log ? 0 : -1;
}

static const abci_app_t k_app = { .check_tx = check_tx_first_byte };

static void send_echo(client *c, const char *msg)
{
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestEcho e;
    req_echo(&r, &e, msg);
    assert_int_equal(client_send(c, &r), 0);
}

static void send_flush(client *c)
{
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestFlush f;
    req_flush(&r, &f);
    assert_int_equal(client_send(c, &r), 0);
}

static void send_check_tx(client *c, const void *tx, size_t n)
{
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestCheckTx ct;
    req_check_tx(&r, &ct, tx, n);
    assert_int_equal(client_send(c, &r), 0);
}

static void expect_echo(client *c, const char *msg)
{
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_ECHO);
    assert_string_equal(res->echo->message, msg);
    tendermint__abci__response__free_unpacked(res, NULL);
}

static void expect_flush(client *c)
{
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    tendermint__abci__response__free_unpacked(res, NULL);
}

static void expect_check_tx(client *c, uint32_t code)
{
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX);
    assert_int_equal(res->check_tx->code, code);
    tendermint__abci__response__free_unpacked(res, NULL);
}

/* Echo round trip proving the server still answers on a fresh connection. */
static void expect_server_alive(const char *addr)
{
    client c;
    assert_int_equal(client_connect(&c, addr), 0);
    send_echo(&c, "still-here");
    send_flush(&c);
    expect_echo(&c, "still-here");
    expect_flush(&c);
    client_close(&c);
}

/* What the server holds for its only open connection, read on the loop thread (no timing
 * windows: tests assert these states). */
typedef struct conn_view {
    size_t nconns;
    uint64_t nreq;  /* requests handled */
    size_t input;   /* bytes read from the socket, not yet a complete frame */
    size_t pending; /* packed responses held back (not handed to the socket) */
    size_t output;  /* handed to the socket, not yet written */
} conn_view;

struct view_arg {
    harness *h;
    conn_view v;
};

static void view_on_loop(void *arg)
{
    struct view_arg *a = arg;
    abci_conn_info ci;
    a->v.nconns = abci_server_connections(a->h->srv);
    if (abci_server_conn_info(a->h->srv, 0, &ci) == 0) {
        a->v.nreq = ci.requests;
        a->v.input = ci.input_bytes;
        a->v.pending = ci.held_bytes;
        a->v.output = ci.unwritten_bytes;
    }
}

static conn_view conn_view_of(harness *h)
{
    struct view_arg a = { .h = h };
    harness_run(h, view_on_loop, &a);
    return a.v;
}

/* Wait (at most 10 s, a bound on waiting, not a speed) until the only connection has handled
 * `nreq` requests and holds `input` unparsed bytes; fails with the state otherwise. */
static conn_view wait_conn_state(harness *h, uint64_t nreq, size_t input)
{
    conn_view v;
    for (int i = 0; i < 10000; i++) {
        v = conn_view_of(h);
        if (v.nconns == 1 && v.nreq == nreq && v.input == input)
            return v;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    fail_msg("connection state: %zu connections, %llu requests handled, %zu input bytes; "
             "wanted 1, %llu, %zu",
             v.nconns, (unsigned long long)v.nreq, v.input, (unsigned long long)nreq, input);
    return v;
}

/* 1 if not one byte has reached the client so far (non-blocking peek). */
static int client_received_nothing(client *c)
{
    uint8_t b;
    return c->len == 0 && recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
           (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Raw frame bytes: varint length then body. */
static void send_frame(client *c, const uint8_t *body, size_t n)
{
    uint8_t hdr[ABCI_VARINT_MAX_BYTES];
    size_t h = abci_varint_encode(n, hdr);
    assert_int_equal(client_send_raw(c, hdr, h), 0);
    assert_int_equal(client_send_raw(c, body, n), 0);
}

/* Echo and Flush have a shortcut for their canonical encodings (conn.c): every encoding,
 * canonical or not, gets the answer protobuf decoding gives, in order. */
static void echo_and_flush_answer_alike_in_every_encoding(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    static const uint8_t canon[] = { 0x0a, 0x04, 0x0a, 0x02, 'h', 'i' };
    static const uint8_t empty[] = { 0x0a, 0x00 };
    static const uint8_t empty_explicit[] = { 0x0a, 0x02, 0x0a, 0x00 }; /* "" spelt out */
    static const uint8_t unknown[] = {
        0x0a, 0x06, 0x0a, 0x02, 'h', 'i', 0x10, 0x01
    }; /* +field 2 */
    static const uint8_t twice[] = { 0x0a, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a, 0x01, 'b' };
    static const uint8_t flush_canon[] = { 0x12, 0x00 };
    static const uint8_t flush_unknown[] = { 0x12, 0x02, 0x08, 0x01 };
    uint8_t big[3 + 200];
    big[0] = 0x0a; /* 126-byte message: the lengths need two-byte varints */
    big[1] = 0x80;
    big[2] = 0x01;
    big[3] = 0x0a;
    big[4] = 126;
    memset(big + 5, 'z', 126);
    char zs[127];
    memset(zs, 'z', 126);
    zs[126] = '\0';
    send_frame(&c, canon, sizeof canon);
    send_frame(&c, empty, sizeof empty);
    send_frame(&c, empty_explicit, sizeof empty_explicit);
    send_frame(&c, unknown, sizeof unknown);
    send_frame(&c, twice, sizeof twice); /* a repeated sub-message merges: last string wins */
    send_frame(&c, big, 5 + 126);
    send_check_tx(&c, "\x07", 1);
    send_frame(&c, flush_unknown, sizeof flush_unknown);
    send_frame(&c, flush_canon, sizeof flush_canon);
    expect_echo(&c, "hi");
    expect_echo(&c, "");
    expect_echo(&c, "");
    expect_echo(&c, "hi");
    expect_echo(&c, "b");
    expect_echo(&c, zs);
    expect_check_tx(&c, 7);
    expect_flush(&c);
    expect_flush(&c);
    client_close(&c);
    harness_stop(&h);
}

/* ---- ordering and Flush ------------------------------------------------------------------- */

static void pipelined_1000_echo_and_check_tx_are_answered_in_order(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    char msg[32];
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            uint8_t tx[3] = { (uint8_t)(i % 251), 'x', 'y' };
            send_check_tx(&c, tx, sizeof tx);
        } else {
            snprintf(msg, sizeof msg, "echo-%d", i);
            send_echo(&c, msg);
        }
    }
    send_flush(&c);
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            expect_check_tx(&c, (uint32_t)(i % 251));
        } else {
            snprintf(msg, sizeof msg, "echo-%d", i);
            expect_echo(&c, msg);
        }
    }
    expect_flush(&c);
    client_close(&c);
    harness_stop(&h);
}

static void responses_are_held_until_flush_and_flush_comes_last(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    send_echo(&c, "a");
    send_check_tx(&c, "\x07", 1);
    send_echo(&c, "b");
    /* all three handled, their small responses held back until a Flush: nothing handed to
     * the socket, nothing received */
    conn_view v = wait_conn_state(&h, 3, 0);
    assert_true(v.pending > 0);
    assert_int_equal(v.output, 0);
    assert_true(client_received_nothing(&c));
    send_flush(&c);
    expect_echo(&c, "a");
    expect_check_tx(&c, 7);
    expect_echo(&c, "b");
    expect_flush(&c);
    /* a second round on the same connection works the same way */
    send_echo(&c, "c");
    send_flush(&c);
    send_flush(&c);
    expect_echo(&c, "c");
    expect_flush(&c);
    expect_flush(&c);
    client_close(&c);
    harness_stop(&h);
}

static void large_buffered_output_is_pushed_before_flush(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    static char big[40000];
    memset(big, 'q', sizeof big - 1);
    send_echo(&c, big);
    send_echo(&c, big); /* ~80 KB buffered > 64 KiB push threshold */
    expect_echo(&c, big);
    expect_echo(&c, big);
    send_flush(&c);
    expect_flush(&c);
    client_close(&c);
    harness_stop(&h);
}

static void two_connections_interleaved_each_get_their_own_answers_in_order(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client a, b;
    assert_int_equal(client_connect(&a, h.addr), 0);
    assert_int_equal(client_connect(&b, h.addr), 0);
    char msg[32];
    for (int i = 0; i < 50; i++) {
        snprintf(msg, sizeof msg, "a%d", i);
        send_echo(&a, msg);
        snprintf(msg, sizeof msg, "b%d", i);
        send_echo(&b, msg);
        uint8_t tx = (uint8_t)i;
        send_check_tx(i % 2 ? &a : &b, &tx, 1);
    }
    send_flush(&b);
    send_flush(&a);
    for (int i = 0; i < 50; i++) {
        snprintf(msg, sizeof msg, "b%d", i);
        expect_echo(&b, msg);
        if (i % 2 == 0)
            expect_check_tx(&b, (uint32_t)i);
    }
    expect_flush(&b);
    for (int i = 0; i < 50; i++) {
        snprintf(msg, sizeof msg, "a%d", i);
        expect_echo(&a, msg);
        if (i % 2)
            expect_check_tx(&a, (uint32_t)i);
    }
    expect_flush(&a);
    assert_int_equal(harness_connections(&h), 2);
    client_close(&a);
    client_close(&b);
    assert_true(harness_wait_connections(&h, 0, 5000));
    harness_stop(&h);
}

static void unix_socket_and_tcp_listeners_serve_the_same_protocol(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "unix", "tcp"), 0);
    assert_memory_equal(h.addr, "unix:///tmp/abci-test-", 22);
    assert_memory_equal(h.addr2, "tcp://127.0.0.1:", 16);
    client u, t;
    assert_int_equal(client_connect(&u, h.addr), 0);
    assert_int_equal(client_connect(&t, h.addr2), 0);
    send_check_tx(&u, "\x05", 1);
    send_echo(&t, "tcp");
    send_echo(&u, "unix");
    send_flush(&u);
    send_flush(&t);
    expect_check_tx(&u, 5);
    expect_echo(&u, "unix");
    expect_flush(&u);
    expect_echo(&t, "tcp");
    expect_flush(&t);
    assert_true(harness_wait_log(&h, "from unix /tmp/abci-test-", 1000));
    client_close(&u);
    client_close(&t);
    char path[sizeof h.addr];
    memcpy(path, h.addr + 7, sizeof path - 7);
    path[sizeof path - 7] = '\0';
    harness_stop(&h);
    assert_int_not_equal(access(path, F_OK), 0); /* socket file removed on free */
}

struct listen_arg {
    harness *h;
    const char *addr;
    char err[256];
    int rc;
};

static void listen_on_loop(void *arg)
{
    struct listen_arg *a = arg;
    a->rc = abci_server_listen(a->h->srv, a->addr, a->err, sizeof a->err);
}

static void unix_listen_replaces_stale_socket_but_not_a_regular_file(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "unix", NULL), 0);
    char addr[300];
    /* a regular file in the way is refused, not deleted */
    snprintf(addr, sizeof addr, "%s.file", h.addr);
    FILE *f = fopen(addr + 7, "w");
    assert_non_null(f);
    fclose(f);
    struct listen_arg a = { .h = &h, .addr = addr };
    harness_run(&h, listen_on_loop, &a); /* the server is not thread-safe: use its loop */
    assert_int_equal(a.rc, -1);
    assert_non_null(strstr(a.err, "not a socket"));
    assert_int_equal(access(addr + 7, F_OK), 0);
    unlink(addr + 7);
    /* listening again on the live socket's path replaces the socket file */
    snprintf(addr, sizeof addr, "%s", h.addr);
    harness_run(&h, listen_on_loop, &a);
    assert_int_equal(a.rc, 0);
    expect_server_alive(h.addr);
    harness_stop(&h);
}

static void listen_rejects_unknown_scheme_and_bad_port(void **state)
{
    struct event_base *base = event_base_new();
    abci_server *srv = abci_server_new(base, NULL, NULL, NULL);
    char err[256];
    assert_int_equal(abci_server_listen(srv, "http://127.0.0.1:1", err, sizeof err), -1);
    assert_non_null(strstr(err, "want tcp://"));
    assert_int_equal(abci_server_listen(srv, "tcp://127.0.0.1:99999", err, sizeof err), -1);
    assert_non_null(strstr(err, "port"));
    assert_int_equal(abci_server_listen(srv, "tcp://127.0.0.1", err, sizeof err), -1);
    assert_int_equal(abci_server_listen(srv, "tcp://[::1]:0", err, sizeof err) == 0 ||
                         strstr(err, "listen") != NULL,
                     1);
    abci_server_free(srv);
    event_base_free(base);
}

/* ---- broken peers ------------------------------------------------------------------------- */

static void garbage_protobuf_closes_only_that_connection(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client good, bad;
    assert_int_equal(client_connect(&good, h.addr), 0);
    assert_int_equal(client_connect(&bad, h.addr), 0);
    send_echo(&good, "before");
    /* frame of 4 bytes: field 1 wire type 7 (invalid) */
    const uint8_t junk[] = { 0x04, 0x0f, 0xff, 0xff, 0xff };
    assert_int_equal(client_send_raw(&bad, junk, sizeof junk), 0);
    assert_true(client_wait_closed(&bad));
    assert_true(harness_wait_log(&h, "undecodable protobuf Request (frame length 4)", 2000));
    send_flush(&good);
    expect_echo(&good, "before");
    expect_flush(&good);
    assert_true(harness_wait_connections(&h, 1, 2000));
    expect_server_alive(h.addr);
    client_close(&good);
    client_close(&bad);
    harness_stop(&h);
}

static void bad_varint_closes_connection_with_one_log_line(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    uint8_t b[11];
    memset(b, 0xff, sizeof b);
    assert_int_equal(client_send_raw(&c, b, sizeof b), 0);
    assert_true(client_wait_closed(&c));
    assert_true(harness_wait_log(&h, "bad varint", 2000));
    char *log = harness_log_copy(&h);
    const char *line = strstr(log, "bad varint");
    assert_non_null(strstr(log, "closing connection 1 (tcp 127.0.0.1:"));
    assert_null(strstr(line + 1, "bad varint")); /* exactly one line */
    assert_non_null(strstr(line, "11 bytes buffered"));
    free(log);
    expect_server_alive(h.addr);
    client_close(&c);
    harness_stop(&h);
}

static void one_gib_frame_is_refused_without_allocating(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    uint8_t hdr[ABCI_VARINT_MAX_BYTES + 64];
    size_t n = abci_varint_encode((uint64_t)1 << 30, hdr);
    memset(hdr + n, 0x0a, 64); /* some body bytes too */
    harness_reset_max_alloc();
    assert_int_equal(client_send_raw(&c, hdr, n + 64), 0);
    assert_true(client_wait_closed(&c));
    assert_true(harness_wait_log(
        &h, "frame too long: declared length 1073741824 bytes > max_frame_bytes 67108864", 2000));
    /* neither the server nor libevent allocated anything near the declared size */
    assert_true(harness_max_alloc() < ((size_t)1 << 20));
    expect_server_alive(h.addr);
    client_close(&c);
    harness_stop(&h);
}

static void max_frame_bytes_option_is_enforced(void **state)
{
    harness h;
    abci_server_opts o = { .max_frame_bytes = 1024 };
    assert_int_equal(harness_start(&h, NULL, NULL, &o, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    static char msg[1100];
    memset(msg, 'm', 1000);
    send_echo(&c, msg); /* 1000 + 5 bytes: under the limit */
    send_flush(&c);
    expect_echo(&c, msg);
    expect_flush(&c);
    memset(msg, 'm', sizeof msg - 1);
    send_echo(&c, msg); /* 1105 bytes: over */
    assert_true(client_wait_closed(&c));
    assert_true(harness_wait_log(&h, "> max_frame_bytes 1024", 2000));
    client_close(&c);
    harness_stop(&h);
}

static void large_frame_arriving_in_pieces_is_decoded(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    size_t txlen = (size_t)3 << 20;
    uint8_t *tx = malloc(txlen);
    assert_non_null(tx);
    memset(tx, 42, txlen);
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestCheckTx ct;
    req_check_tx(&r, &ct, tx, txlen);
    size_t n;
    uint8_t *f = abci_frame_encode(&r.base, &n);
    assert_non_null(f);
    for (size_t off = 0; off < n; off += 100000) { /* many partial writes */
        size_t k = n - off < 100000 ? n - off : 100000;
        assert_int_equal(client_send_raw(&c, f + off, k), 0);
        if (off == 0) { /* the first piece is read and kept: no request, no answer, open */
            conn_view v = wait_conn_state(&h, 0, k);
            assert_int_equal(v.pending + v.output, 0);
            assert_true(client_received_nothing(&c));
        }
    }
    send_flush(&c);
    Tendermint__Abci__Response *res = client_recv(&c);
    assert_non_null(res);
    assert_int_equal(res->check_tx->code, 42);
    char want[32];
    snprintf(want, sizeof want, "len=%zu", txlen);
    assert_string_equal(res->check_tx->log, want);
    tendermint__abci__response__free_unpacked(res, NULL);
    expect_flush(&c);
    free(f);
    free(tx);
    client_close(&c);
    harness_stop(&h);
}

static void peer_closing_mid_frame_is_logged_and_connection_freed(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    const uint8_t part[] = { 0x64, 0x0a, 0x03, 'a', 'b' }; /* declares 100 bytes, sends 4 */
    assert_int_equal(client_send_raw(&c, part, sizeof part), 0);
    assert_true(harness_wait_connections(&h, 1, 2000));
    client_close(&c);
    assert_true(harness_wait_log(&h, "peer closed mid-frame: 4 of 100 body bytes received", 2000));
    assert_true(harness_wait_connections(&h, 0, 2000));

    /* and inside the length prefix itself */
    assert_int_equal(client_connect(&c, h.addr), 0);
    const uint8_t half[] = { 0x80, 0x80 };
    assert_int_equal(client_send_raw(&c, half, sizeof half), 0);
    assert_true(harness_wait_connections(&h, 1, 2000));
    client_close(&c);
    assert_true(harness_wait_log(&h, "2 bytes of an incomplete length prefix", 2000));
    expect_server_alive(h.addr);
    harness_stop(&h);
}

static void request_without_method_closes_connection(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c;
    /* an empty Request (length 0) */
    assert_int_equal(client_connect(&c, h.addr), 0);
    const uint8_t empty[] = { 0x00 };
    assert_int_equal(client_send_raw(&c, empty, sizeof empty), 0);
    assert_true(client_wait_closed(&c));
    assert_true(harness_wait_log(&h, "no known method (oneof case 0, frame length 0)", 2000));
    client_close(&c);
    /* a Request carrying only the reserved field 4 (old SetOption) */
    assert_int_equal(client_connect(&c, h.addr), 0);
    const uint8_t setopt[] = { 0x02, 0x22, 0x00 };
    assert_int_equal(client_send_raw(&c, setopt, sizeof setopt), 0);
    assert_true(client_wait_closed(&c));
    assert_true(harness_wait_log(&h, "frame length 2)", 2000));
    client_close(&c);
    expect_server_alive(h.addr);
    harness_stop(&h);
}

static void output_cap_closes_a_peer_that_never_reads(void **state)
{
    harness h;
    abci_server_opts o = { .max_output_bytes = 256 << 10 };
    /* a unix socket: small kernel buffers and no TCP retransmit backoff when the reader's
     * buffer is full, so the userspace queue reaches the cap quickly */
    assert_int_equal(harness_start(&h, NULL, NULL, &o, "unix", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    static char msg[16384];
    memset(msg, 'o', sizeof msg - 1);
    /* ~64 MB of echo requests and never a read: the server must keep reading and then close */
    int closed = 0;
    for (int i = 0; i < 4000 && !closed; i++) {
        Tendermint__Abci__Request r;
        Tendermint__Abci__RequestEcho e;
        req_echo(&r, &e, msg);
        closed = client_send(&c, &r) != 0;
        if (i % 64 == 0)
            send_flush(&c);
    }
    assert_true(harness_wait_log(&h, "output queue full", 5000));
    assert_true(harness_wait_log(&h, "> cap 262144 (peer not reading)", 100));
    assert_true(harness_wait_connections(&h, 0, 2000));
    client_close(&c);
    expect_server_alive(h.addr);
    harness_stop(&h);
}

static void half_closed_peer_still_gets_queued_responses(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, &k_app, NULL, NULL, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    send_echo(&c, "x");
    send_check_tx(&c, "\x09", 1);
    send_flush(&c);
    shutdown(c.fd, SHUT_WR);
    expect_echo(&c, "x");
    expect_check_tx(&c, 9);
    expect_flush(&c);
    assert_true(client_wait_closed(&c));
    client_close(&c);
    assert_true(harness_wait_connections(&h, 0, 2000));
    harness_stop(&h);
}

static void accept_pauses_on_emfile_and_recovers(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 256;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    /* use up every descriptor but one, which the client socket takes */
    int fds[256], nfds = 0;
    for (int fd; nfds < 256 && (fd = dup(0)) >= 0;)
        fds[nfds++] = fd;
    assert_true(nfds > 0 && nfds < 256);
    close(fds[--nfds]);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0); /* handshake done by the kernel */
    send_echo(&c, "queued");
    send_flush(&c);
    assert_true(harness_wait_log(&h, "pausing accepts for 100 ms", 2000));
    /* descriptors come back: the pending connection is accepted and served */
    while (nfds > 0)
        close(fds[--nfds]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    expect_echo(&c, "queued");
    expect_flush(&c);
    client_close(&c);
    harness_stop(&h);
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static harness *g_h;

static int info_frees_server(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestInfo *req,
                             Tendermint__Abci__ResponseInfo *res)
{
    abci_server_free(g_h->srv);
    g_h->srv = NULL;
    return 0;
}

static void callback_freeing_the_server_is_safe(void **state)
{
    harness h;
    g_h = &h;
    const abci_app_t app = { .info = info_frees_server };
    assert_int_equal(harness_start(&h, &app, NULL, NULL, "tcp", NULL), 0);
    client c, other;
    assert_int_equal(client_connect(&c, h.addr), 0);
    assert_int_equal(client_connect(&other, h.addr), 0);
    send_echo(&other, "o");
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestInfo in = TENDERMINT__ABCI__REQUEST_INFO__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_INFO;
    r.info = &in;
    /* Info, Echo and Flush in one write: the frames after Info arrive in the same read and
     * must not be handled once the server is gone */
    Tendermint__Abci__Request e, f;
    Tendermint__Abci__RequestEcho em;
    Tendermint__Abci__RequestFlush fm;
    req_echo(&e, &em, "after");
    req_flush(&f, &fm);
    uint8_t buf[256];
    size_t n = abci_frame_pack(&r.base, buf, sizeof buf);
    n += abci_frame_pack(&e.base, buf + n, sizeof buf - n);
    n += abci_frame_pack(&f.base, buf + n, sizeof buf - n);
    assert_int_equal(client_send_raw(&c, buf, n), 0);
    assert_true(client_wait_closed(&c));
    assert_true(client_wait_closed(&other));
    assert_true(harness_wait_log(&h, "server shutting down", 1000));
    client_close(&c);
    client_close(&other);
    harness_stop(&h); /* srv already NULL: free is a no-op */
}

static void free_with_open_connections_closes_them(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c[5];
    for (int i = 0; i < 5; i++)
        assert_int_equal(client_connect(&c[i], h.addr), 0);
    assert_true(harness_wait_connections(&h, 5, 2000));
    harness_stop(&h);
    for (int i = 0; i < 5; i++) {
        assert_true(client_wait_closed(&c[i]));
        client_close(&c[i]);
    }
}

int main(void)
{
    harness_global_init();
    abci_test_filter_from_env();
    if (RUNNING_ON_VALGRIND) {
        /* valgrind emulates RLIMIT_NOFILE: it closes an accepted descriptor above the lowered
         * limit instead of leaving the connection queued, so this case cannot pass under it
         * (it runs in the plain and ASan builds). Said, not silent. */
        fprintf(stderr, "under valgrind: NOT running accept_pauses_on_emfile_and_recovers "
                        "(valgrind's emulated descriptor limit closes the accepted socket)\n");
        cmocka_set_skip_filter("accept_pauses_on_emfile_and_recovers");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_and_flush_answer_alike_in_every_encoding),
        cmocka_unit_test(pipelined_1000_echo_and_check_tx_are_answered_in_order),
        cmocka_unit_test(responses_are_held_until_flush_and_flush_comes_last),
        cmocka_unit_test(large_buffered_output_is_pushed_before_flush),
        cmocka_unit_test(two_connections_interleaved_each_get_their_own_answers_in_order),
        cmocka_unit_test(unix_socket_and_tcp_listeners_serve_the_same_protocol),
        cmocka_unit_test(unix_listen_replaces_stale_socket_but_not_a_regular_file),
        cmocka_unit_test(listen_rejects_unknown_scheme_and_bad_port),
        cmocka_unit_test(garbage_protobuf_closes_only_that_connection),
        cmocka_unit_test(bad_varint_closes_connection_with_one_log_line),
        cmocka_unit_test(one_gib_frame_is_refused_without_allocating),
        cmocka_unit_test(max_frame_bytes_option_is_enforced),
        cmocka_unit_test(large_frame_arriving_in_pieces_is_decoded),
        cmocka_unit_test(peer_closing_mid_frame_is_logged_and_connection_freed),
        cmocka_unit_test(request_without_method_closes_connection),
        cmocka_unit_test(output_cap_closes_a_peer_that_never_reads),
        cmocka_unit_test(half_closed_peer_still_gets_queued_responses),
        cmocka_unit_test(accept_pauses_on_emfile_and_recovers),
        cmocka_unit_test(callback_freeing_the_server_is_safe),
        cmocka_unit_test(free_with_open_connections_closes_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
