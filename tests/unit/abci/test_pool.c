/* test_pool.c - the worker pool (abci/src/pool.c, conn.c; protocol.md §2): the CheckTx stage
 * keeps request order and Flush last whatever order stages finish in, the loop runs the stage
 * itself past the queue bound and keeps serving other connections, a failing stage closes
 * only its connection, and abci_parallel_map covers every index once, on several threads,
 * reporting the lowest failing index. Runs under ThreadSanitizer too (label tsan).
 *
 * Waits are bounded waits for a state (a gate the test opens, a counter reaching a value),
 * never timed assertions. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "abci/abci.h"
#include "harness.h"
#include "test_filter.h"

/* ---- shared state, always under mu --------------------------------------------------------- */

typedef struct pool_state {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    harness *h;
    int gate_open;      /* stage 'X' waits for this */
    int x_started;      /* stage 'X' is running */
    int b_done;         /* stage 'B' returned */
    int a_waited_for_b; /* stage 'A' saw B finish before returning */
    int z_on_loop;      /* stage 'Z' ran on the loop thread */
    int z_ran;
    int stages_on_loop; /* stages run on the loop thread (other than Z) */
    /* parallel map */
    size_t map_n;
    unsigned *map_hits; /* per index */
    pthread_t map_threads[8];
    size_t map_nthreads;
    int map_rc, map_rc2, map_done, map_rendezvous_failed;
    int map_low_last; /* mode: index 1 returns only after index n-1 has */
    int map_low_done, map_high_done;
} pool_state;

static pool_state g;

static void state_reset(harness *h)
{
    pthread_mutex_lock(&g.mu);
    g.h = h;
    g.gate_open = g.x_started = g.b_done = g.a_waited_for_b = 0;
    g.z_on_loop = g.z_ran = g.stages_on_loop = 0;
    g.map_nthreads = 0;
    g.map_rc = g.map_rc2 = g.map_done = g.map_rendezvous_failed = 0;
    g.map_low_last = g.map_low_done = g.map_high_done = 0;
    pthread_mutex_unlock(&g.mu);
}

/* Wait (under g.mu, at most 5 s: a bound, not a speed) until *flag is non-zero. Returns it. */
static int wait_flag_locked(const int *flag)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    while (!*flag && pthread_cond_timedwait(&g.cv, &g.mu, &dl) == 0) {
    }
    return *flag;
}

static int wait_flag(const int *flag)
{
    pthread_mutex_lock(&g.mu);
    int v = wait_flag_locked(flag);
    pthread_mutex_unlock(&g.mu);
    return v;
}

static void set_flag(int *flag)
{
    pthread_mutex_lock(&g.mu);
    *flag = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
}

/* ---- the app ------------------------------------------------------------------------------ */

/* Stage: result = first tx byte + 100, in memory from the request's arena. 'A' returns only
 * after 'B' has finished (so the two finish out of order); 'X' waits for the gate; 'F'
 * fails. */
static int stage(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                 void **result)
{
    uint8_t k = req->tx.len ? req->tx.data[0] : 0;
    int on_loop = pthread_equal(pthread_self(), g.h->thread);
    pthread_mutex_lock(&g.mu);
    if (k == 'Z') {
        g.z_on_loop = on_loop;
        g.z_ran = 1;
    } else if (on_loop) {
        g.stages_on_loop++;
    }
    if (k == 'A')
        g.a_waited_for_b = wait_flag_locked(&g.b_done);
    if (k == 'X') {
        g.x_started = 1;
        pthread_cond_broadcast(&g.cv);
        wait_flag_locked(&g.gate_open);
    }
    if (k == 'B')
        g.b_done = 1;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    if (k == 'F')
        return -7;
    uint32_t *r = abci_ctx_alloc(ctx, sizeof *r);
    if (!r)
        return -1;
    *r = (uint32_t)k + 100;
    *result = r;
    return 0;
}

static int check_tx(void *app, abci_ctx *ctx, const Tendermint__Abci__RequestCheckTx *req,
                    Tendermint__Abci__ResponseCheckTx *res)
{
    const uint32_t *r = abci_ctx_stage_result(ctx);
    if (!r)
        return -2; /* the stage's result must always arrive */
    res->code = *r;
    return 0;
}

/* Map: every index once (per map); index 0 waits until a second thread has run an index
 * (so a serial map fails the test); indices 1 and n - 1 fail, and the lowest must be
 * reported whichever of them finishes first. */
static int map_fn(void *arg, size_t i)
{
    pool_state *s = arg;
    pthread_t self = pthread_self();
    pthread_mutex_lock(&s->mu);
    s->map_hits[i]++;
    size_t k = 0;
    while (k < s->map_nthreads && !pthread_equal(s->map_threads[k], self))
        k++;
    if (k == s->map_nthreads && k < 8)
        s->map_threads[s->map_nthreads++] = self;
    pthread_cond_broadcast(&s->cv);
    if (i == 0) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        while (s->map_nthreads < 2 && pthread_cond_timedwait(&s->cv, &s->mu, &dl) == 0) {
        }
        if (s->map_nthreads < 2)
            s->map_rendezvous_failed = 1;
    }
    pthread_mutex_unlock(&s->mu);
    /* order the two failures: low first (mode 0) or low last (mode 1), bounded waits */
    int rc = 0;
    if (i == 1 || i == s->map_n - 1) {
        int low = i == 1;
        pthread_mutex_lock(&s->mu);
        if (low == s->map_low_last)
            wait_flag_locked(low ? &s->map_high_done : &s->map_low_done);
        *(low ? &s->map_low_done : &s->map_high_done) = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        rc = low ? 7 : 5;
    }
    return rc;
}

static int finalize_block(void *app, abci_ctx *ctx,
                          const Tendermint__Abci__RequestFinalizeBlock *req,
                          Tendermint__Abci__ResponseFinalizeBlock *res)
{
    int rc = abci_parallel_map(ctx, g.map_n, map_fn, &g); /* low index fails first */
    pthread_mutex_lock(&g.mu);
    g.map_low_last = 1;
    g.map_low_done = g.map_high_done = 0;
    pthread_mutex_unlock(&g.mu);
    int rc2 = abci_parallel_map(ctx, g.map_n, map_fn, &g); /* low index fails last */
    pthread_mutex_lock(&g.mu);
    g.map_rc = rc;
    g.map_rc2 = rc2;
    g.map_done = 1;
    pthread_mutex_unlock(&g.mu);
    return 0;
}

static const abci_app_t k_app = { .check_tx = check_tx,
                                  .check_tx_stage = stage,
                                  .finalize_block = finalize_block };

/* ---- client helpers ----------------------------------------------------------------------- */

static void send_tx(client *c, char k)
{
    Tendermint__Abci__Request r;
    Tendermint__Abci__RequestCheckTx ct;
    req_check_tx(&r, &ct, &k, 1);
    assert_int_equal(client_send(c, &r), 0);
}

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

static void expect_case(client *c, Tendermint__Abci__Response__ValueCase vc, uint32_t code,
                        const char *echo)
{
    Tendermint__Abci__Response *res = client_recv(c);
    assert_non_null(res);
    assert_int_equal(res->value_case, vc);
    if (vc == TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX)
        assert_int_equal(res->check_tx->code, code);
    if (echo)
        assert_string_equal(res->echo->message, echo);
    tendermint__abci__response__free_unpacked(res, NULL);
}

#define EXPECT_TX(c, k) \
    expect_case((c), TENDERMINT__ABCI__RESPONSE__VALUE_CHECK_TX, (k) + 100, NULL)
#define EXPECT_ECHO(c, m) expect_case((c), TENDERMINT__ABCI__RESPONSE__VALUE_ECHO, 0, (m))
#define EXPECT_FLUSH(c) expect_case((c), TENDERMINT__ABCI__RESPONSE__VALUE_FLUSH, 0, NULL)

/* ---- tests -------------------------------------------------------------------------------- */

static void stage_results_keep_request_order_when_stages_finish_out_of_order(void **state)
{
    harness h;
    abci_server_opts o = { .workers = 2 };
    state_reset(&h);
    assert_int_equal(harness_start(&h, &k_app, NULL, &o, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    send_tx(&c, 'A'); /* finishes after B */
    send_echo(&c, "between");
    send_tx(&c, 'B');
    send_flush(&c);
    EXPECT_TX(&c, 'A');
    EXPECT_ECHO(&c, "between");
    EXPECT_TX(&c, 'B');
    EXPECT_FLUSH(&c);
    /* 200 more, pipelined: still in order, each with its own stage result */
    for (int i = 0; i < 200; i++)
        send_tx(&c, (char)('a' + i % 26));
    send_flush(&c);
    for (int i = 0; i < 200; i++)
        EXPECT_TX(&c, 'a' + i % 26);
    EXPECT_FLUSH(&c);
    pthread_mutex_lock(&g.mu);
    int waited = g.a_waited_for_b, on_loop = g.stages_on_loop;
    pthread_mutex_unlock(&g.mu);
    assert_true(waited);          /* A really finished after B */
    assert_int_equal(on_loop, 0); /* every stage ran on a worker */
    client_close(&c);
    harness_stop(&h);
}

static void past_the_queue_bound_the_loop_runs_the_stage_and_keeps_serving(void **state)
{
    harness h;
    abci_server_opts o = { .workers = 1, .stage_queue_max = 1 };
    state_reset(&h);
    assert_int_equal(harness_start(&h, &k_app, NULL, &o, "tcp", NULL), 0);
    client mempool, consensus;
    assert_int_equal(client_connect(&mempool, h.addr), 0);
    assert_int_equal(client_connect(&consensus, h.addr), 0);
    send_tx(&mempool, 'X'); /* the only worker blocks in it */
    assert_true(wait_flag(&g.x_started));
    send_tx(&mempool, 'Y'); /* waits in the queue (1 = the bound) */
    send_tx(&mempool, 'Z'); /* queue full: the loop thread runs this stage */
    send_flush(&mempool);
    assert_true(wait_flag(&g.z_ran));
    pthread_mutex_lock(&g.mu);
    int z_on_loop = g.z_on_loop;
    pthread_mutex_unlock(&g.mu);
    assert_true(z_on_loop);
    /* the worker is still stuck in X: another connection is answered meanwhile */
    send_echo(&consensus, "consensus first");
    send_flush(&consensus);
    EXPECT_ECHO(&consensus, "consensus first");
    EXPECT_FLUSH(&consensus);
    set_flag(&g.gate_open);
    EXPECT_TX(&mempool, 'X');
    EXPECT_TX(&mempool, 'Y');
    EXPECT_TX(&mempool, 'Z');
    EXPECT_FLUSH(&mempool);
    client_close(&mempool);
    client_close(&consensus);
    harness_stop(&h);
}

static void a_failing_stage_closes_only_its_connection(void **state)
{
    harness h;
    abci_server_opts o = { .workers = 2 };
    state_reset(&h);
    assert_int_equal(harness_start(&h, &k_app, NULL, &o, "tcp", NULL), 0);
    client bad, good;
    assert_int_equal(client_connect(&bad, h.addr), 0);
    assert_int_equal(client_connect(&good, h.addr), 0);
    send_tx(&bad, 'F');
    send_flush(&bad);
    assert_true(client_wait_closed(&bad));
    assert_true(harness_wait_log(&h, "check_tx_stage callback failed with -7", 2000));
    send_tx(&good, 'g');
    send_flush(&good);
    EXPECT_TX(&good, 'g');
    EXPECT_FLUSH(&good);
    client_close(&bad);
    client_close(&good);
    harness_stop(&h);
}

static void a_peer_gone_while_its_stage_runs_is_freed_after_the_stage(void **state)
{
    harness h;
    abci_server_opts o = { .workers = 1 };
    state_reset(&h);
    assert_int_equal(harness_start(&h, &k_app, NULL, &o, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    send_tx(&c, 'X');
    send_flush(&c);
    assert_true(wait_flag(&g.x_started));
    client_close(&c); /* EOF while the stage runs: answered (to nobody), then closed */
    set_flag(&g.gate_open);
    assert_true(harness_wait_connections(&h, 0, 5000));
    harness_stop(&h); /* ASan: the job, its arena and the connection are all freed */
}

static void parallel_map_covers_every_index_once_on_several_threads(void **state)
{
    harness h;
    abci_server_opts o = { .workers = 2 };
    state_reset(&h);
    g.map_n = 20000;
    g.map_hits = calloc(g.map_n, sizeof *g.map_hits);
    assert_non_null(g.map_hits);
    assert_int_equal(harness_start(&h, &k_app, NULL, &o, "tcp", NULL), 0);
    client c;
    assert_int_equal(client_connect(&c, h.addr), 0);
    Tendermint__Abci__Request r = TENDERMINT__ABCI__REQUEST__INIT;
    Tendermint__Abci__RequestFinalizeBlock fb = TENDERMINT__ABCI__REQUEST_FINALIZE_BLOCK__INIT;
    r.value_case = TENDERMINT__ABCI__REQUEST__VALUE_FINALIZE_BLOCK;
    r.finalize_block = &fb;
    assert_int_equal(client_send(&c, &r), 0);
    send_flush(&c);
    expect_case(&c, TENDERMINT__ABCI__RESPONSE__VALUE_FINALIZE_BLOCK, 0, NULL);
    EXPECT_FLUSH(&c);
    pthread_mutex_lock(&g.mu);
    assert_true(g.map_done);
    assert_int_equal(g.map_rc, 7);  /* the lowest failing index's return, */
    assert_int_equal(g.map_rc2, 7); /* whichever failure finished first */
    assert_false(g.map_rendezvous_failed);
    assert_true(g.map_nthreads >= 2);
    for (size_t i = 0; i < g.map_n; i++)
        if (g.map_hits[i] != 2) /* once per map */
            fail_msg("index %zu ran %u times", i, g.map_hits[i]);
    pthread_mutex_unlock(&g.mu);
    client_close(&c);
    harness_stop(&h);
    free(g.map_hits);
    g.map_hits = NULL;
}

static int serial_fn(void *arg, size_t i)
{
    unsigned *hits = arg;
    hits[i]++;
    return i == 30 ? -30 : i == 70 ? -70 : 0;
}

static void parallel_map_without_a_server_runs_serially(void **state)
{
    unsigned hits[100] = { 0 };
    assert_int_equal(abci_parallel_map(NULL, 100, serial_fn, hits), -30);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(hits[i], 1);
    assert_int_equal(abci_parallel_map(NULL, 0, serial_fn, hits), 0);
}

int main(void)
{
    harness_global_init();
    abci_test_filter_from_env();
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cv, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stage_results_keep_request_order_when_stages_finish_out_of_order),
        cmocka_unit_test(past_the_queue_bound_the_loop_runs_the_stage_and_keeps_serving),
        cmocka_unit_test(a_failing_stage_closes_only_its_connection),
        cmocka_unit_test(a_peer_gone_while_its_stage_runs_is_freed_after_the_stage),
        cmocka_unit_test(parallel_map_covers_every_index_once_on_several_threads),
        cmocka_unit_test(parallel_map_without_a_server_runs_serially),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
