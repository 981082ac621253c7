/* httpd.c - reply helpers of the node's evhttp servers (see httpd.h). */
#include "httpd.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

static void free_cb(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void sb_httpd_reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evbuffer *body = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; charset=utf-8");
    if (body)
        evbuffer_add(body, text, strlen(text));
    evhttp_send_reply(req, code, reason, body);
    if (body)
        evbuffer_free(body);
}

struct evbuffer *sb_httpd_body_take(char *body, size_t len)
{
    struct evbuffer *buf = body ? evbuffer_new() : NULL;
    if (!buf || evbuffer_add_reference(buf, body, len, free_cb, NULL) != 0) {
        free(body);
        if (buf)
            evbuffer_free(buf);
        return NULL;
    }
    return buf;
}

int sb_httpd_listen(const char *section, const char *laddr, const char *host, uint16_t port,
                    char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[8];
    int fd = -1, last_errno = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
    int r = getaddrinfo(host, portstr, &hints, &res);
    if (r != 0) {
        snprintf(err, errlen, "%s: cannot resolve %s ([%s] laddr): %s", section, laddr, section,
                 gai_strerror(r));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int one = 1;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "%s: cannot listen on %s ([%s] laddr): %s", section, laddr, section,
                 strerror(last_errno ? last_errno : EADDRNOTAVAIL));
    return fd;
}
