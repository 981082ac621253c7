/* Unit tests for src/node/metrics.c (protocol.md §11): exposition text, label order and escaping,
 * histogram buckets, concurrent updates, and the evhttp endpoint (/metrics, /healthz, 404,
 * address in use) on an ephemeral loopback port, fetched with a plain socket client.
 * `test_node_metrics --dump` prints a sample exposition (for `promtool check metrics`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "metrics.h"

static int reset(void **state)
{
    (void)state;
    sb_metrics_reset();
    return 0;
}

static char *render(void)
{
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(sb_metrics_render(&out, &len), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    return out;
}

static void assert_contains(const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        fail_msg("missing \"%s\" in:\n%s", want, text);
}

static void fill_sample(void)
{
    sb_metrics_set_height(1234);
    sb_metrics_checktx("OK");
    sb_metrics_checktx("OK");
    sb_metrics_checktx("SLOT_CLOSED");
    sb_metrics_slot_finalized("SUPERMAJORITY");
    sb_metrics_slot_finalized("FALLBACK");
    sb_metrics_pin_jobs("queued", 3);
    sb_metrics_pin_jobs("pinned", 10);
    sb_metrics_pin_latency_ms(50);
    sb_metrics_pin_latency_ms(100);
    sb_metrics_pin_latency_ms(2500);
    sb_metrics_pin_latency_ms(4000000);
    sb_metrics_pin_failure("timeout");
    sb_metrics_abci_request("check_tx");
    sb_metrics_abci_request("commit");
    sb_metrics_counter_inc(SB_METRIC_PIN_FAILURES_TOTAL, "timeout");
    sb_metrics_counter_add(SB_METRIC_PIN_FAILURES_TOTAL, "cid_mismatch", 5);
    sb_metrics_autovote("voted");
    sb_metrics_autovote("voted");
    sb_metrics_autovote("no_candidate");
    sb_metrics_autovote_last_slot(77);
}

static void render_has_help_type_and_samples(void **state)
{
    (void)state;
    fill_sample();
    char *t = render();
    assert_contains(t, "# HELP sleetbubble_height ");
    assert_contains(t, "# TYPE sleetbubble_height gauge\nsleetbubble_height 1234\n");
    assert_contains(t, "# TYPE sleetbubble_checktx_total counter\n"
                       "sleetbubble_checktx_total{code=\"OK\"} 2\n"
                       "sleetbubble_checktx_total{code=\"SLOT_CLOSED\"} 1\n");
    assert_contains(t, "# TYPE sleetbubble_slot_finalized_total counter\n"
                       "sleetbubble_slot_finalized_total{outcome=\"FALLBACK\"} 1\n"
                       "sleetbubble_slot_finalized_total{outcome=\"SUPERMAJORITY\"} 1\n");
    assert_contains(t, "# TYPE sleetbubble_pin_jobs gauge\n"
                       "sleetbubble_pin_jobs{state=\"failed\"} 0\n"
                       "sleetbubble_pin_jobs{state=\"pinned\"} 10\n"
                       "sleetbubble_pin_jobs{state=\"pinning\"} 0\n"
                       "sleetbubble_pin_jobs{state=\"queued\"} 3\n");
    assert_contains(t, "# TYPE sleetbubble_pin_failures_total counter\n"
                       "sleetbubble_pin_failures_total{reason=\"cid_mismatch\"} 5\n"
                       "sleetbubble_pin_failures_total{reason=\"timeout\"} 2\n");
    assert_contains(t, "# TYPE sleetbubble_abci_requests_total counter\n"
                       "sleetbubble_abci_requests_total{method=\"check_tx\"} 1\n"
                       "sleetbubble_abci_requests_total{method=\"commit\"} 1\n");
    assert_contains(t, "# TYPE sleetbubble_autovote_total counter\n"
                       "sleetbubble_autovote_total{result=\"no_candidate\"} 1\n"
                       "sleetbubble_autovote_total{result=\"voted\"} 2\n");
    assert_contains(t, "# TYPE sleetbubble_autovote_last_slot gauge\n"
                       "sleetbubble_autovote_last_slot 77\n");
    assert_contains(t, "sleetbubble_height 1234\n"); /* unlabelled gauges are separate */
    free(t);
}

static void histogram_buckets_are_cumulative_with_le_in_seconds(void **state)
{
    (void)state;
    fill_sample();
    char *t = render();
    assert_contains(t, "# TYPE sleetbubble_pin_latency_seconds histogram\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"0.1\"} 2\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"0.5\"} 2\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"1\"} 2\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"2.5\"} 3\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"5\"} 3\n");
    assert_contains(t, "sleetbubble_pin_latency_seconds_bucket{le=\"3600\"} 3\n"
                       "sleetbubble_pin_latency_seconds_bucket{le=\"+Inf\"} 4\n"
                       "sleetbubble_pin_latency_seconds_sum 4002.650\n"
                       "sleetbubble_pin_latency_seconds_count 4\n");
    free(t);
}

static void empty_registry_renders_defaults(void **state)
{
    (void)state;
    char *t = render();
    assert_contains(t, "sleetbubble_height 0\n");
    assert_contains(t, "sleetbubble_pin_jobs{state=\"queued\"} 0\n");
    assert_contains(t, "sleetbubble_pin_latency_seconds_count 0\n");
    assert_contains(t, "# TYPE sleetbubble_checktx_total counter\n# HELP sleetbubble_slot");
    free(t);
}

static void label_values_are_escaped_and_cleaned(void **state)
{
    (void)state;
    sb_metrics_pin_failure("kubo said \"no\" \\ here\nnewline\xff");
    sb_metrics_pin_failure(NULL);
    char *t = render();
    assert_contains(
        t,
        "sleetbubble_pin_failures_total{reason=\"kubo said \\\"no\\\" \\\\ here_newline_\"} 1\n");
    assert_contains(t, "sleetbubble_pin_failures_total{reason=\"unknown\"} 1\n");
    free(t);
}

static void too_many_label_values_fold_into_other(void **state)
{
    (void)state;
    char label[32];
    for (int i = 0; i < 200; i++) {
        snprintf(label, sizeof label, "m%03d", i);
        sb_metrics_abci_request(label);
    }
    char *t = render();
    int series = 0;
    for (const char *p = t; (p = strstr(p, "sleetbubble_abci_requests_total{")) != NULL; p++)
        series++;
    assert_int_equal(series, SB_METRICS_MAX_SERIES);
    /* 63 kept labels, the other 137 requests counted under "other" */
    assert_contains(t, "sleetbubble_abci_requests_total{method=\"other\"} 137\n");
    assert_contains(t, "sleetbubble_abci_requests_total{method=\"m000\"} 1\n");
    free(t);
}

static void wrong_kind_updates_are_ignored(void **state)
{
    (void)state;
    sb_metrics_counter_add(SB_METRIC_PIN_JOBS, "queued", 5); /* gauge */
    sb_metrics_gauge_set(SB_METRIC_CHECKTX_TOTAL, "OK", 5);  /* counter */
    sb_metrics_counter_add(SB_METRIC_COUNT, "x", 1);         /* out of range */
    char *t = render();
    assert_contains(t, "sleetbubble_pin_jobs{state=\"queued\"} 0\n");
    assert_null(strstr(t, "sleetbubble_checktx_total{"));
    free(t);
}

#define INC_PER_THREAD 100000

static pthread_barrier_t start_line;

static void *inc_thread(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start_line); /* all four race from the same instant */
    for (int i = 0; i < INC_PER_THREAD; i++) {
        sb_metrics_checktx((i & 1) ? "OK" : "DUPLICATE");
        sb_metrics_pin_latency_ms((uint64_t)(i % 7000));
    }
    return NULL;
}

static void concurrent_increments_from_four_threads_sum(void **state)
{
    (void)state;
    pthread_t th[4];
    char want[128];
    assert_int_equal(pthread_barrier_init(&start_line, NULL, 4), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, inc_thread, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start_line);
    char *t = render();
    snprintf(want, sizeof want, "sleetbubble_checktx_total{code=\"DUPLICATE\"} %d\n",
             2 * INC_PER_THREAD);
    assert_contains(t, want);
    snprintf(want, sizeof want, "sleetbubble_checktx_total{code=\"OK\"} %d\n", 2 * INC_PER_THREAD);
    assert_contains(t, want);
    snprintf(want, sizeof want, "sleetbubble_pin_latency_seconds_count %d\n", 4 * INC_PER_THREAD);
    assert_contains(t, want);
    snprintf(want, sizeof want, "sleetbubble_pin_latency_seconds_bucket{le=\"+Inf\"} %d\n",
             4 * INC_PER_THREAD);
    assert_contains(t, want);
    free(t);
}

/* ---- HTTP -------------------------------------------------------------------------------- */

typedef struct client_job {
    uint16_t port;
    struct event_base *base;
    const char *request;
    char response[65536];
} client_job;

/* Send job->request to 127.0.0.1:port, read until EOF, then stop the loop. */
static void *client_thread(void *arg)
{
    client_job *j = arg;
    struct sockaddr_in sa;
    size_t len = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    j->response[0] = '\0';
    if (fd >= 0) {
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_port = htons(j->port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
            write(fd, j->request, strlen(j->request)) == (ssize_t)strlen(j->request)) {
            ssize_t n;
            while (len < sizeof j->response - 1 &&
                   (n = read(fd, j->response + len, sizeof j->response - 1 - len)) > 0)
                len += (size_t)n;
        }
        close(fd);
    }
    j->response[len] = '\0';
    event_base_loopexit(j->base, NULL);
    return NULL;
}

/* Run one HTTP exchange against the server while the loop runs on this thread. */
static void http_exchange(struct event_base *base, uint16_t port, const char *request,
                          client_job *j)
{
    pthread_t th;
    j->port = port;
    j->base = base;
    j->request = request;
    assert_int_equal(pthread_create(&th, NULL, client_thread, j), 0);
    struct timeval limit = { 10, 0 };
    event_base_loopexit(base, &limit); /* bounded wait if the client hangs */
    event_base_dispatch(base);
    pthread_join(th, NULL);
}

static int health_value;
static int healthy_cb(void *arg) { return *(int *)arg; }

static void http_serves_metrics_healthz_and_404(void **state)
{
    (void)state;
    struct event_base *base;
    sb_metrics_server *s;
    char err[256];
    client_job *j = malloc(sizeof *j);
    assert_non_null(j);
    assert_int_equal(evthread_use_pthreads(), 0);
    base = event_base_new();
    assert_non_null(base);
    s = sb_metrics_server_start(base, "127.0.0.1:0", healthy_cb, &health_value, err, sizeof err);
    if (s == NULL)
        fail_msg("start: %s", err);
    uint16_t port = sb_metrics_server_port(s);
    assert_true(port != 0);

    sb_metrics_set_height(77);
    sb_metrics_checktx("SLOT_CLOSED");
    http_exchange(base, port, "GET /metrics HTTP/1.0\r\n\r\n", j);
    assert_memory_equal(j->response, "HTTP/1.0 200", 12);
    assert_contains(j->response, "Content-Type: text/plain; version=0.0.4");
    assert_contains(j->response, "\r\n\r\n# HELP sleetbubble_height ");
    assert_contains(j->response, "\nsleetbubble_height 77\n");
    assert_contains(j->response, "\nsleetbubble_checktx_total{code=\"SLOT_CLOSED\"} 1\n");

    health_value = 1;
    http_exchange(base, port, "GET /healthz HTTP/1.0\r\n\r\n", j);
    assert_memory_equal(j->response, "HTTP/1.0 200", 12);
    assert_contains(j->response, "\r\n\r\nok\n");

    health_value = 0;
    sb_metrics_set_health_note("last Commit failed");
    http_exchange(base, port, "GET /healthz HTTP/1.0\r\n\r\n", j);
    assert_memory_equal(j->response, "HTTP/1.0 503", 12);
    assert_contains(j->response, "\r\n\r\nunhealthy: last Commit failed\n");

    http_exchange(base, port, "GET /nope HTTP/1.0\r\n\r\n", j);
    assert_memory_equal(j->response, "HTTP/1.0 404", 12);

    http_exchange(base, port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n", j);
    assert_memory_equal(j->response, "HTTP/1.0 405", 12);

    sb_metrics_server_free(s);
    event_base_free(base);
    free(j);
}

static void port_in_use_is_reported_with_config_key(void **state)
{
    (void)state;
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    char laddr[64], err[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(laddr, sizeof laddr, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));

    struct event_base *base = event_base_new();
    assert_non_null(base);
    sb_metrics_server *s = sb_metrics_server_start(base, laddr, NULL, NULL, err, sizeof err);
    assert_null(s);
    assert_contains(err, laddr);
    assert_contains(err, "[metrics] laddr");
    assert_contains(err, "in use");

    s = sb_metrics_server_start(base, "127.0.0.1", NULL, NULL, err, sizeof err);
    assert_null(s);
    assert_contains(err, "[metrics] laddr");
    event_base_free(base);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--dump") == 0) {
        char *t;
        size_t len;
        fill_sample();
        if (sb_metrics_render(&t, &len) != 0)
            return 1;
        fwrite(t, 1, len, stdout);
        free(t);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(render_has_help_type_and_samples, reset),
        cmocka_unit_test_setup(histogram_buckets_are_cumulative_with_le_in_seconds, reset),
        cmocka_unit_test_setup(empty_registry_renders_defaults, reset),
        cmocka_unit_test_setup(label_values_are_escaped_and_cleaned, reset),
        cmocka_unit_test_setup(too_many_label_values_fold_into_other, reset),
        cmocka_unit_test_setup(wrong_kind_updates_are_ignored, reset),
        cmocka_unit_test_setup(concurrent_increments_from_four_threads_sum, reset),
        cmocka_unit_test_setup(http_serves_metrics_healthz_and_404, reset),
        cmocka_unit_test_setup(port_in_use_is_reported_with_config_key, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
