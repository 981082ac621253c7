/* test_web.c - the now-playing server (protocol.md §14) in-process: start on port 0 over a fresh
 * store (no InitChain yet), GET /nowplaying.json (200, CORS, JSON "not_initialised"), GET /
 * (HTML), an unknown path (404), POST (405), a taken port (error naming [web] laddr), stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "config.h"
#include "store.h"
#include "web.h"

static char dir[] = "/tmp/sb-test-web.XXXXXX";
static char db[300];

/* One HTTP/1.0 exchange with 127.0.0.1:port; the whole answer, malloc'd. */
static char *http(uint16_t port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    char req[256];
    size_t len = 0, cap = 1 << 16;
    char *buf = calloc(1, cap);
    assert_true(fd >= 0);
    assert_non_null(buf);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: localhost\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    for (;;) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    return buf;
}

static void serves_feed_page_and_errors_then_stops(void **state)
{
    (void)state;
    sb_config cfg;
    sb_store *st = NULL;
    char err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/sleetbubble.db", dir);
    assert_int_equal(sb_store_open(db, &st, err, sizeof(err)), 0); /* creates the schema */
    sb_config_defaults(&cfg);
    snprintf(cfg.web.laddr, sizeof(cfg.web.laddr), "127.0.0.1:0");
    snprintf(cfg.web.station_name, sizeof(cfg.web.station_name), "Unit FM");
    sb_web *w = sb_web_start(&cfg, db, err, sizeof(err));
    assert_non_null(w);
    uint16_t port = sb_web_port(w);
    assert_true(port > 0);

    char *r = http(port, "GET", "/nowplaying.json");
    assert_non_null(strstr(r, " 200 OK\r\n"));
    assert_non_null(strstr(r, "Access-Control-Allow-Origin: *\r\n"));
    assert_non_null(strstr(r, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(r, "\"state\":\"not_initialised\""));
    assert_non_null(strstr(r, "\"station\":{\"name\":\"Unit FM\"}"));
    free(r);
    r = http(port, "GET", "/");
    assert_non_null(strstr(r, " 200 OK\r\n"));
    assert_non_null(strstr(r, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(r, "<h1 id=\"station\">Unit FM</h1>"));
    free(r);
    r = http(port, "GET", "/nope");
    assert_non_null(strstr(r, " 404 "));
    free(r);
    r = http(port, "POST", "/nowplaying.json");
    assert_non_null(strstr(r, " 405 "));
    assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
    free(r);

    /* the same port again: refused with the key named */
    snprintf(cfg.web.laddr, sizeof(cfg.web.laddr), "127.0.0.1:%u", (unsigned)port);
    assert_null(sb_web_start(&cfg, db, err, sizeof(err)));
    assert_non_null(strstr(err, "([web] laddr)"));
    snprintf(cfg.web.laddr, sizeof(cfg.web.laddr), "127.0.0.1");
    assert_null(sb_web_start(&cfg, db, err, sizeof(err)));
    assert_non_null(strstr(err, "[web] laddr"));

    sb_web_stop(w);
    sb_web_stop(NULL);
    sb_store_close(st);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serves_feed_page_and_errors_then_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
