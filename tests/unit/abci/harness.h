/* harness.h - run a real abci_server on its own event loop thread and talk to it with plain
 * blocking sockets (tests only). Loopback / temp unix paths only. */
#ifndef ABCI_TEST_HARNESS_H
#define ABCI_TEST_HARNESS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "abci/abci.h"

typedef struct harness {
    struct event_base *base;
    abci_server *srv;
    pthread_t thread;
    char addr[256];     /* first listen address as bound ("tcp://127.0.0.1:40123") */
    char addr2[256];    /* second one, if listen2 was given */
    char tmpdir[128];   /* for unix sockets; removed at stop */
    pthread_mutex_t mu; /* guards log */
    char log[65536];    /* every log line, '\n'-separated */
    size_t loglen;
} harness;

/* Call once from main() before anything else: counting libevent allocator + pthreads. */
void harness_global_init(void);
/* Largest single allocation by libevent or by this executable (the server library included)
 * since the last reset (bytes). */
size_t harness_max_alloc(void);
void harness_reset_max_alloc(void);

/* Start a server with `app` (may be NULL = all defaults) and opts (may be NULL; log is
 * overridden to capture). listen: "tcp" (127.0.0.1 port 0) or "unix" (temp path);
 * listen2 NULL or a second transport. Returns 0. */
int harness_start(harness *h, const abci_app_t *app, void *app_arg, const abci_server_opts *opts,
                  const char *listen, const char *listen2);
/* Stop the loop, free the server (if still there) and the base. */
void harness_stop(harness *h);
/* Run fn(arg) on the loop thread and wait for it. */
void harness_run(harness *h, void (*fn)(void *), void *arg);
/* Connections currently open (asked on the loop thread). */
size_t harness_connections(harness *h);
/* Wait up to ms for a log line containing `needle`; returns 1 if seen. */
int harness_wait_log(harness *h, const char *needle, int ms);
/* Wait up to ms for the connection count to become n; returns 1 if it did. */
int harness_wait_connections(harness *h, size_t n, int ms);
/* Copy of the captured log (caller frees). */
char *harness_log_copy(harness *h);

/* ---- blocking client ---------------------------------------------------------------------- */
typedef struct client {
    int fd;
    uint8_t *buf; /* received, unparsed bytes */
    size_t len, cap;
} client;

/* Connect to "tcp://…" or "unix://…"; 5 s receive timeout. Returns 0 or -1. */
int client_connect(client *c, const char *addr);
void client_close(client *c);
/* Write all bytes / one framed Request. Returns 0 or -1 (peer gone). */
int client_send_raw(client *c, const void *p, size_t n);
int client_send(client *c, const Tendermint__Abci__Request *req);
/* Read one Response (caller frees with tendermint__abci__response__free_unpacked). NULL on
 * EOF, timeout or a bad frame. */
Tendermint__Abci__Response *client_recv(client *c);
/* 1 if the server closes the connection within 5 s (EOF or reset) without having sent a byte
 * the caller has not read with client_recv; 0 otherwise (a response before the close is 0). */
int client_wait_closed(client *c);

/* Request builders (static storage inside the struct passed in). */
void req_echo(Tendermint__Abci__Request *r, Tendermint__Abci__RequestEcho *e, const char *msg);
void req_flush(Tendermint__Abci__Request *r, Tendermint__Abci__RequestFlush *f);
void req_check_tx(Tendermint__Abci__Request *r, Tendermint__Abci__RequestCheckTx *c, const void *tx,
                  size_t n);

#endif
