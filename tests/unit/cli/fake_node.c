/* fake_node.c — canned CometBFT + Kubo RPC for the CLI tests (see fake_node.h). */
#include "fake_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "rpc.h" /* sb_b64_encode / sb_b64_decode */

static int lfd = -1;
static pthread_t th;
static atomic_int stop_flag;

typedef struct req {
    char *buf; /* whole request */
    size_t len, cap, hdr_end;
    char method[16], target[1024];
    char *body;
    size_t body_len;
} req;

static int fill(int fd, req *r)
{
    if (r->len == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 8192;
        char *nb = realloc(r->buf, nc + 1);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = nc;
    }
    ssize_t n = read(fd, r->buf + r->len, r->cap - r->len);
    if (n <= 0)
        return -1;
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    return 0;
}

static const char *header(req *r, const char *name)
{
    size_t nl = strlen(name);
    for (char *p = strstr(r->buf, "\r\n"); p && p < r->buf + r->hdr_end; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':')
            return p + 3 + nl;
    return NULL;
}

/* Read one request: headers, then a Content-Length or chunked body. 0 / -1. */
static int read_req(int fd, req *r)
{
    char *e;
    while (!(e = strstr(r->buf ? r->buf : "", "\r\n\r\n")))
        if (fill(fd, r) < 0)
            return -1;
    r->hdr_end = (size_t)(e - r->buf) + 4;
    if (sscanf(r->buf, "%15s %1023s", r->method, r->target) != 2)
        return -1;
    const char *ex = header(r, "Expect");
    if (ex && strstr(ex, "100-continue") &&
        send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL) != 25)
        return -1;
    const char *cl = header(r, "Content-Length");
    const char *te = header(r, "Transfer-Encoding");
    if (cl) {
        size_t n = strtoul(cl, NULL, 10);
        while (r->len < r->hdr_end + n)
            if (fill(fd, r) < 0)
                return -1;
        r->body = r->buf + r->hdr_end;
        r->body_len = n;
    } else if (te && strstr(te, "chunked")) {
        /* decode in place after the headers */
        size_t rd = r->hdr_end, wr = r->hdr_end;
        for (;;) {
            char *nl;
            while (!(nl = strstr(r->buf + rd, "\r\n")))
                if (fill(fd, r) < 0)
                    return -1;
            size_t n = strtoul(r->buf + rd, NULL, 16);
            rd = (size_t)(nl - r->buf) + 2;
            while (r->len < rd + n + 2)
                if (fill(fd, r) < 0)
                    return -1;
            memmove(r->buf + wr, r->buf + rd, n);
            wr += n;
            rd += n + 2;
            if (n == 0)
                break;
        }
        r->body = r->buf + r->hdr_end;
        r->body_len = wr - r->hdr_end;
    } else {
        r->body = r->buf + r->hdr_end;
        r->body_len = 0;
    }
    return 0;
}

static void reply(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    /* MSG_NOSIGNAL: the client may have given up (timeout tests) */
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n)
        return;
    if (send(fd, body, strlen(body), MSG_NOSIGNAL) < 0)
        return;
}

static void reply_json(int fd, json_t *result, const char *error)
{
    json_t *o = json_pack("{s:s, s:i}", "jsonrpc", "2.0", "id", 1);
    if (error)
        json_object_set_new(o, "error",
                            json_pack("{s:i, s:s, s:s}", "code", -32603, "message",
                                      "Internal error", "data", error));
    else
        json_object_set_new(o, "result", result);
    char *s = json_dumps(o, JSON_COMPACT);
    reply(fd, 200, s);
    free(s);
    json_decref(o);
}

static void serve_rpc(fake_node *f, int fd, req *r)
{
    if (f->raw_reply) {
        reply(fd, 200, f->raw_reply);
        return;
    }
    json_t *rq = json_loadb(r->body, r->body_len, 0, NULL);
    const char *m = json_string_value(json_object_get(rq, "method"));
    json_t *params = json_object_get(rq, "params");
    if (!m) {
        reply(fd, 400, "{}");
    } else if (strcmp(m, "status") == 0) {
        reply_json(fd,
                   json_pack("{s:{s:s}, s:{s:s, s:s}}", "node_info", "network", f->chain_id,
                             "sync_info", "latest_block_height", "42", "latest_block_time",
                             "2024-01-01T00:00:00.5Z"),
                   NULL);
    } else if (strcmp(m, "abci_query") == 0) {
        const char *path = json_string_value(json_object_get(params, "path"));
        json_t *resp = json_pack("{s:i, s:s, s:s, s:s}", "code", 13, "log", "UNKNOWN_PATH: fake",
                                 "height", "42", "codespace", "sleetbubble");
        for (size_t i = 0; path && i < f->nroutes; i++) {
            if (strcmp(f->routes[i].path, path) != 0)
                continue;
            json_object_set_new(resp, "code", json_integer(f->routes[i].code));
            json_object_set_new(resp, "log", json_string(f->routes[i].log ? f->routes[i].log : ""));
            if (f->routes[i].value) {
                char *b =
                    sb_b64_encode((const uint8_t *)f->routes[i].value, strlen(f->routes[i].value));
                json_object_set_new(resp, "value", json_string(b));
                free(b);
            }
        }
        reply_json(fd, json_pack("{s:o}", "response", resp), NULL);
    } else if (strcmp(m, "broadcast_tx_sync") == 0) {
        size_t n = 0;
        const char *tx = json_string_value(json_object_get(params, "tx"));
        uint8_t *b = tx ? sb_b64_decode(tx, &n) : NULL;
        f->n_broadcasts++;
        if (b && n <= sizeof f->last_tx) {
            memcpy(f->last_tx, b, n);
            f->last_tx_len = n;
        }
        free(b);
        if (f->bc_rpc_error)
            reply_json(fd, NULL, f->bc_rpc_error);
        else
            reply_json(
                fd,
                json_pack("{s:i, s:s, s:s, s:s, s:s}", "code", f->bc_code, "data", "", "log",
                          f->bc_log ? f->bc_log : "", "codespace", f->bc_code ? "sleetbubble" : "",
                          "hash",
                          "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"),
                NULL);
    } else {
        reply_json(fd, NULL, "method not found");
    }
    json_decref(rq);
}

static void serve_kubo(fake_node *f, int fd, req *r)
{
    f->n_kubo++;
    snprintf(f->last_kubo_url, sizeof f->last_kubo_url, "%s", r->target);
    int st = f->kubo_status ? f->kubo_status : 200;
    if (strncmp(r->target, "/api/v0/add", 11) == 0) {
        f->last_upload_len = r->body_len;
        char body[512];
        if (st != 200)
            snprintf(body, sizeof body,
                     "{\"Message\":\"add failed\",\"Code\":0,\"Type\":\"error\"}");
        else
            snprintf(body, sizeof body, "{\"Name\":\"x\",\"Hash\":\"%s\",\"Size\":\"%zu\"}\n",
                     f->add_hash ? f->add_hash : "", r->body_len);
        reply(fd, st, body);
    } else {
        if (f->kubo_delay_ms)
            usleep((useconds_t)f->kubo_delay_ms * 1000u);
        reply(fd, st, f->kubo_body ? f->kubo_body : "{}");
    }
}

static void *loop(void *arg)
{
    fake_node *f = arg;
    while (!atomic_load(&stop_flag)) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        req r = { 0 };
        if (read_req(fd, &r) == 0) {
            f->n_requests++;
            if (strncmp(r.target, "/api/v0/", 8) == 0)
                serve_kubo(f, fd, &r);
            else
                serve_rpc(f, fd, &r);
        }
        free(r.buf);
        close(fd);
    }
    return NULL;
}

int fake_node_start(fake_node *f)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 16) < 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
        return -1;
    f->port = ntohs(a.sin_port);
    atomic_store(&stop_flag, 0);
    return pthread_create(&th, NULL, loop, f) == 0 ? 0 : -1;
}

void fake_node_stop(fake_node *f)
{
    (void)f;
    atomic_store(&stop_flag, 1);
    pthread_join(th, NULL);
    close(lfd);
    lfd = -1;
}
