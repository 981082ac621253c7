/* httpd.c - reply helpers of the node's evhttp servers (see httpd.h). */
#include "httpd.h"

#include <stdlib.h>
#include <string.h>

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
