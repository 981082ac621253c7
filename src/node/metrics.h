/* metrics.h — Prometheus metrics of sleetbubbled (protocol.md §11), node-local.
 *
 * One process-wide registry, safe to update from any thread (the pin worker updates pin_*
 * metrics, the loop thread the rest): every update and the render take one mutex.
 * Families (text exposition format 0.0.4):
 *   sleetbubble_height                       gauge    last committed height
 *   sleetbubble_checktx_total{code}          counter  CheckTx results by code NAME ("OK",
 *                                                     "SLOT_CLOSED", ... protocol.md §4.1)
 *   sleetbubble_slot_finalized_total{outcome} counter finalized slots by outcome
 *   sleetbubble_pin_jobs{state}              gauge    jobs per state: queued, pinning, pinned,
 *                                                     failed (all four always present)
 *   sleetbubble_pin_latency_seconds          histogram queued -> pinned time of a job
 *   sleetbubble_pin_failures_total{reason}   counter  failed pin attempts by reason
 *   sleetbubble_abci_requests_total{method}  counter  ABCI requests by method
 *   sleetbubble_autovote_total{result}       counter  vote agent decisions (protocol.md §15):
 *                                                     voted, no_candidate, unavailable,
 *                                                     already_voted, rejected, rpc_error
 *   sleetbubble_autovote_last_slot           gauge    last slot the agent voted for
 * Label values are cut at SB_METRICS_LABEL_MAX bytes; a family keeps at most
 * SB_METRICS_MAX_SERIES label values, further new values are counted under "other" (bounded
 * memory whatever a caller passes). Render output lists families in the order above and label
 * values sorted bytewise, so it is stable. */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Longest label value kept, bytes (excluding NUL). */
#define SB_METRICS_LABEL_MAX 63
/* Most label values per family, including "other". */
#define SB_METRICS_MAX_SERIES 64

/* Families, in render order. */
typedef enum {
    SB_METRIC_HEIGHT = 0,
    SB_METRIC_CHECKTX_TOTAL,
    SB_METRIC_SLOT_FINALIZED_TOTAL,
    SB_METRIC_PIN_JOBS,
    SB_METRIC_PIN_LATENCY_SECONDS,
    SB_METRIC_PIN_FAILURES_TOTAL,
    SB_METRIC_ABCI_REQUESTS_TOTAL,
    SB_METRIC_AUTOVOTE_TOTAL,
    SB_METRIC_AUTOVOTE_LAST_SLOT,
    SB_METRIC_COUNT
} sb_metric_id;

/* Add n to counter family id (a *_TOTAL id) for label value `label`. Other ids are ignored. */
void sb_metrics_counter_add(sb_metric_id id, const char *label, uint64_t n);
/* sb_metrics_counter_add(id, label, 1). */
void sb_metrics_counter_inc(sb_metric_id id, const char *label);
/* Set gauge family id for `label` (NULL for an unlabelled gauge: sleetbubble_height,
 * sleetbubble_autovote_last_slot). Other ids are ignored. */
void sb_metrics_gauge_set(sb_metric_id id, const char *label, int64_t v);

/* Typed helpers (the API the daemon uses). */
void sb_metrics_set_height(int64_t height);
void sb_metrics_checktx(const char *code_name);
void sb_metrics_slot_finalized(const char *outcome);
void sb_metrics_pin_jobs(const char *state, int64_t n);
/* Observe one pin latency, milliseconds, in buckets 0.1 0.5 1 2.5 5 10 30 60 120 300 600
 * 1800 3600 s and +Inf. */
void sb_metrics_pin_latency_ms(uint64_t ms);
void sb_metrics_pin_failure(const char *reason);
void sb_metrics_abci_request(const char *method);
/* Vote agent (protocol.md §15): one decision's result label; the last slot voted for. */
void sb_metrics_autovote(const char *result);
void sb_metrics_autovote_last_slot(uint64_t slot);

/* Render the registry as Prometheus text into a malloc'd NUL-terminated buffer (*out, caller
 * frees) of *len bytes (excluding the NUL). Returns 0, or -1 on out of memory. */
int sb_metrics_render(char **out, size_t *len);

/* Forget every value (tests; a daemon never needs it). */
void sb_metrics_reset(void);

/* Text shown by /healthz when unhealthy: "unhealthy: <note>\n". Copied (cut at 200 bytes);
 * NULL or "" resets to the generic note. Thread-safe. */
void sb_metrics_set_health_note(const char *note);

/* ---- HTTP endpoint (libevent evhttp, runs on the loop thread) ---------------------------- */

struct event_base;
typedef struct sb_metrics_server sb_metrics_server;

/* Health probe: return 1 when healthy (protocol.md §11: DB open and last Commit succeeded). Called
 * on the loop thread for each GET /healthz. */
typedef int (*sb_metrics_health_fn)(void *arg);

/* Listen on laddr ("HOST:PORT", as [metrics] laddr; port 0 = ephemeral, see
 * sb_metrics_server_port) and serve on `base` (borrowed, must outlive the server):
 *   GET|HEAD /metrics  200, Content-Type: text/plain; version=0.0.4; charset=utf-8
 *   GET|HEAD /healthz  200 "ok\n" if healthy(arg) == 1 (or healthy is NULL), else 503
 *                      "unhealthy: <note>\n"
 *   anything else      404 (other methods: 405)
 * Returns the server (owned by the caller, free with sb_metrics_server_free), or NULL with err
 * naming the address and "[metrics] laddr" (e.g. address in use). */
sb_metrics_server *sb_metrics_server_start(struct event_base *base, const char *laddr,
                                           sb_metrics_health_fn healthy, void *arg, char *err,
                                           size_t errlen);
/* TCP port actually bound (useful with port 0). */
uint16_t sb_metrics_server_port(const sb_metrics_server *s);
/* Stop listening, drop open connections, free. NULL is a no-op. Loop thread only. */
void sb_metrics_server_free(sb_metrics_server *s);

#endif
