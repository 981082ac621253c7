/* httpd.h - reply helpers shared by the node's two evhttp servers, /metrics + /healthz
 * (metrics.c) and the now-playing page and feed (web.c, protocol.md §14). */
#ifndef SB_NODE_HTTPD_H
#define SB_NODE_HTTPD_H

#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct evbuffer;

/* Send `text` (NUL-terminated, copied) as a text/plain; charset=utf-8 reply with status code
 * and reason. Never fails (on out of memory the reply goes without a body). */
void sb_httpd_reply_text(struct evhttp_request *req, int code, const char *reason,
                         const char *text);

/* A new evbuffer that sends body[0..len) without copying it and frees it (free()) once sent.
 * Ownership of body passes in every case: on out of memory it is freed and NULL returned.
 * The caller frees the evbuffer after evhttp_send_reply. */
struct evbuffer *sb_httpd_body_take(char *body, size_t len);

/* A bound, listening (backlog 64), non-blocking, close-on-exec TCP socket for host:port
 * (laddr is the configured "HOST:PORT", section its config section, both for messages).
 * Returns the fd, or -1 with "SECTION: cannot resolve|listen on LADDR ([SECTION] laddr): why"
 * in err. */
int sb_httpd_listen(const char *section, const char *laddr, const char *host, uint16_t port,
                    char *err, size_t errlen);

#endif
