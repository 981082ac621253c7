/* fake_node.h — a tiny HTTP server on 127.0.0.1 (one thread, one request per connection)
 * that plays CometBFT's JSON-RPC (status, abci_query, broadcast_tx_sync) and Kubo's RPC
 * (/api/v0/add, /api/v0/dag/stat) with canned answers, and records what it was sent. For
 * testing the CLI's commands end to end without a chain. */
#ifndef SB_TEST_FAKE_NODE_H
#define SB_TEST_FAKE_NODE_H

#include <stddef.h>
#include <stdint.h>

/* One abci_query answer: value is JSON text (NULL = none). */
typedef struct fake_route {
    const char *path;
    int code;
    const char *log;
    const char *value;
} fake_route;

typedef struct fake_node {
    int port;
    /* CometBFT */
    const char *chain_id;  /* status .node_info.network */
    fake_route routes[16]; /* abci_query; an unknown path answers code 13 */
    size_t nroutes;
    int bc_code; /* broadcast_tx_sync code */
    const char *bc_log;
    const char *bc_rpc_error; /* if set: JSON-RPC error message instead of a result */
    const char *raw_reply;    /* if set: every RPC reply is this body (garbage tests) */
    /* Kubo */
    int kubo_status;       /* HTTP status of dag/stat and add (200 default) */
    const char *kubo_body; /* dag/stat reply body */
    const char *add_hash;  /* add reply Hash */
    int kubo_delay_ms;     /* dag/stat answers this late (timeout tests) */
    /* recorded */
    int n_requests, n_broadcasts, n_kubo;
    uint8_t last_tx[65536];
    size_t last_tx_len;
    char last_kubo_url[1024];
    size_t last_upload_len;
} fake_node;

/* Start serving *f (the struct must outlive fake_node_stop). Sets f->port. 0 / -1. */
int fake_node_start(fake_node *f);
/* Stop and join the server thread. */
void fake_node_stop(fake_node *f);

#endif
