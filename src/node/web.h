/* web.h - the node's now-playing page and feed over HTTP (protocol.md §14): GET / and
 * GET /nowplaying.json on [web] laddr. Node-local; nothing here touches consensus.
 *
 * The server runs on its own thread with its own libevent base and its own read-only
 * connection to the consensus database (store.h's read-only view), so a slow client or a
 * read never delays the ABCI loop, and the ABCI thread stays the database's only writer. */
#ifndef SB_NODE_WEB_H
#define SB_NODE_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

typedef struct sb_web sb_web;

/* Bind cfg->web.laddr (port 0 picks one: sb_web_port), open db_path (the consensus database,
 * must exist) read-only and start the server thread. Strings of cfg are copied. Returns the
 * server (stop with sb_web_stop), or NULL with "web: ..." naming [web] laddr in err. */
sb_web *sb_web_start(const sb_config *cfg, const char *db_path, char *err, size_t errlen);

/* The bound port (host order); 0 for NULL. */
uint16_t sb_web_port(const sb_web *w);

/* Stop the thread (requests in flight are dropped), close its socket and database and free
 * w. NULL is a no-op. */
void sb_web_stop(sb_web *w);

#endif /* SB_NODE_WEB_H */
