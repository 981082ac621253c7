/* autovote.h — the vote agent thread of sleetbubbled (protocol.md §15), node-local.
 *
 * Started when [vote] enabled = true. It learns everything through CometBFT RPC ([vote]
 * node_rpc: /status, /block, abci_query /params, /slot/<n>, /proposal/<id>), checks tracks
 * with this node's Kubo (dag/stat), and sends votes with broadcast_tx_sync. It owns its
 * libcurl handles, never writes the consensus database and never touches libevent objects
 * or the ABCI thread. While CometBFT reports catching_up it does nothing. Its decision
 * journal (vjournal.h) makes each slot's vote exactly-once across restarts. */
#ifndef SB_AUTOVOTE_H
#define SB_AUTOVOTE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct sb_autovote sb_autovote;

/* Load the vote key (cfg->vote.key_file: a `sleetbubble keys new` file or CometBFT's
 * priv_validator_key.json), take the journal's lock for the agent's lifetime and start the
 * thread. The key is checked against the chain's parameters later, by the thread, once they
 * exist (a refused key stops the thread with one error line; the node keeps running). Returns
 * the agent (stop it with sb_autovote_stop), or NULL with err: a bad key file as
 * "<cfg->file>:<line>: [vote] key_file PATH: reason", a journal whose lock another agent holds
 * as "[vote] journal PATH: another vote agent holds PATH.lock ...". cfg is copied. */
sb_autovote *sb_autovote_start(const sb_config *cfg, char *err, size_t errlen);

/* Ask the thread to stop (a Kubo call in flight is abandoned within about a second, an RPC
 * call ends within its 10 s limit),
 * join it and free everything; the key seed is wiped. NULL is a no-op. */
void sb_autovote_stop(sb_autovote *a);

/* Load a vote key file: {"pubkey","seed"} hex (sleetbubble keys) or priv_validator_key.json.
 * 0, or -1 with err naming the file and the field. Exposed for tests. */
int sb_autovote_load_key(const char *path, uint8_t seed[32], uint8_t pub[32], char *err,
                         size_t errlen);

#endif
