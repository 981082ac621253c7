/* chain.h — chain facts the commands share: a checked abci_query, the slot clock from
 * /slot/current and the "next open slot" rule (protocol.md §3, §8, §12). */
#ifndef SB_CLI_CHAIN_H
#define SB_CLI_CHAIN_H

#include <stdint.h>

#include "cli.h"
#include "rpc.h"

/* abci_query path and require code 0 and a value. Prints the error or the rejection
 * itself. Returns an exit status; on 0 *q holds the reply (caller sb_rpcc_query_free's it). */
int cli_query_value(cli_ctx *c, const sb_rpcc *r, const char *path, sb_rpcc_result *q);

/* /slot/current, as the app computes it at the last committed block's time (ns). */
typedef struct cli_slot_now {
    uint64_t slot; /* the slot playing at block_time_ns */
    int64_t start_ns, close_ns;
    uint64_t next_slot;
    int64_t next_close_ns;
    int64_t block_time_ns;     /* last committed block time */
    uint64_t next_to_finalize; /* the lowest slot not finalized yet */
} cli_slot_now;

/* Parse a /slot/current value (borrowed). 0 / -1 (missing or malformed field). */
int cli_slot_now_parse(json_t *v, cli_slot_now *out);

/* Query and parse /slot/current. Returns an exit status (errors printed). */
int cli_slot_now_get(cli_ctx *c, const sb_rpcc *r, cli_slot_now *out);

/* The first slot whose close is still ahead of the last block time, by the core's rule
 * (sb_slot_first_open, protocol.md §3) on the slot clock recovered from *n; *close_ns (if
 * not NULL): that slot's close, ns. What `propose --slot next` uses and `status` shows. */
uint64_t cli_slot_first_open(const cli_slot_now *n, int64_t *close_ns);

/* "4m12s" / "1h02m" / "-3s" style rendering of a duration in ns into out. */
void cli_fmt_duration(int64_t ns, char *out, size_t outlen);

#endif
