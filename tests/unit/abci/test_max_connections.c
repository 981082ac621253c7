/* test_max_connections.c - abci_server_opts.max_connections (protocol.md §2): a connection accepted
 * beyond the limit is closed at once, unanswered, with one log line naming the peer and the
 * limit; the connections already open keep being served, and a freed place is reused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "abci/frame.h"
#include "harness.h"

static void send_echo_flush(client *c, const char *msg)
{
    Tendermint__Abci__Request r, f;
    Tendermint__Abci__RequestEcho e;
    Tendermint__Abci__RequestFlush fm;
    req_echo(&r, &e, msg);
    req_flush(&f, &fm);
    assert_int_equal(client_send(c, &r), 0);
    assert_int_equal(client_send(c, &f), 0);
}

/* Echo then Flush in one write; 0 or -1 (peer gone). */
static int send_echo_flush_raw(client *c, const char *msg)
{
    Tendermint__Abci__Request r, f;
    Tendermint__Abci__RequestEcho e;
    Tendermint__Abci__RequestFlush fm;
    size_t n1, n2;
    req_echo(&r, &e, msg);
    req_flush(&f, &fm);
    uint8_t *a = abci_frame_encode(&r.base, &n1), *b = abci_frame_encode(&f.base, &n2);
    uint8_t buf[256];
    assert_non_null(a);
    assert_non_null(b);
    assert_true(n1 + n2 <= sizeof buf);
    memcpy(buf, a, n1);
    memcpy(buf + n1, b, n2);
    free(a);
    free(b);
    return client_send_raw(c, buf, n1 + n2);
}

/* Echo + Flush round trip on an open connection. */
static void expect_answers(client *c, const char *msg)
{
    send_echo_flush(c, msg);
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_ECHO);
    assert_string_equal(res->echo->message, msg);
    tendermint__abci__response__free_unpacked(res, NULL);
    res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH);
    tendermint__abci__response__free_unpacked(res, NULL);
}

/* Occurrences of needle in the captured log. */
static int count_log(harness *h, const char *needle)
{
    char *log = harness_log_copy(h);
    int n = 0;
    assert_non_null(log);
    for (const char *p = log; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(log);
    return n;
}

/* The next connection is refused: closed (EOF or reset) without a byte of answer to its
 * Echo + Flush. A served connection would answer, and a timeout (5 s) fails too. */
static void expect_refused(harness *h)
{
    client c;
    assert_int_equal(client_connect(&c, h->addr), 0);
    (void)send_echo_flush_raw(&c, "refused"); /* may already meet the close */
    uint8_t b;
    ssize_t k = recv(c.fd, &b, 1, 0);
    assert_true(k == 0 || (k < 0 && errno == ECONNRESET));
    client_close(&c);
}

static void third_connection_is_closed_and_the_first_two_still_answer(void **state)
{
    harness h;
    abci_server_opts o = { .max_connections = 2 };
    assert_int_equal(harness_start(&h, NULL, NULL, &o, "tcp", NULL), 0);
    client a, b;
    assert_int_equal(client_connect(&a, h.addr), 0);
    assert_int_equal(client_connect(&b, h.addr), 0);
    assert_true(harness_wait_connections(&h, 2, 5000));

    expect_refused(&h);
    assert_true(harness_wait_log(&h, "max_connections 2 reached", 5000));
    assert_int_equal(count_log(&h, "refused connection from tcp 127.0.0.1:"), 1);
    assert_int_equal(harness_connections(&h), 2);
    expect_answers(&a, "a");
    expect_answers(&b, "b");

    /* a freed place is taken by the next connection */
    client_close(&a);
    assert_true(harness_wait_connections(&h, 1, 5000));
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    expect_answers(&c, "c");
    expect_answers(&b, "b2");
    assert_int_equal(count_log(&h, "refused connection"), 1);

    /* and the limit holds again */
    expect_refused(&h);
    assert_true(harness_wait_log(&h, "refused connection", 5000));
    expect_answers(&c, "c2");
    client_close(&b);
    client_close(&c);
    harness_stop(&h);
}

static void zero_means_sixteen(void **state)
{
    harness h;
    assert_int_equal(harness_start(&h, NULL, NULL, NULL, "tcp", NULL), 0);
    client c[ABCI_DEFAULT_MAX_CONNECTIONS];
    assert_int_equal(ABCI_DEFAULT_MAX_CONNECTIONS, 16);
    for (int i = 0; i < ABCI_DEFAULT_MAX_CONNECTIONS; i++)
        assert_int_equal(client_connect(&c[i], h.addr), 0);
    assert_true(harness_wait_connections(&h, ABCI_DEFAULT_MAX_CONNECTIONS, 5000));
    expect_refused(&h);
    assert_true(harness_wait_log(&h, "max_connections 16 reached", 5000));
    for (int i = 0; i < ABCI_DEFAULT_MAX_CONNECTIONS; i++) {
        expect_answers(&c[i], "still");
        client_close(&c[i]);
    }
    harness_stop(&h);
}

int main(void)
{
    harness_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(third_connection_is_closed_and_the_first_two_still_answer),
        cmocka_unit_test(zero_means_sixteen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
