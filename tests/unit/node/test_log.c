/* Unit tests for src/node/log.c (protocol.md §11): plain and JSON line formats, escaping, levels,
 * the ABCI sink, and that concurrent lines never interleave. Output is captured through the
 * sb_log_set_fd test hook into a temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static FILE *sink;    /* temporary file the logger writes to */
static long read_pos; /* bytes of it already returned by captured() */

static int setup(void **state)
{
    (void)state;
    sink = tmpfile();
    if (sink == NULL)
        return -1;
    read_pos = 0;
    sb_log_set_fd(fileno(sink));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sb_log_set_fd(2);
    sb_log_setup(SB_LOG_INFO, 0);
    fclose(sink);
    return 0;
}

/* Everything written since the last call, NUL-terminated, in a static buffer. */
static const char *captured(void)
{
    static char buf[1 << 20];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 &&
           (n = pread(fileno(sink), buf + len, sizeof buf - 1 - len, read_pos + (long)len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    read_pos += (long)len;
    return buf;
}

/* The line after the timestamp field ("ts=... " or "{\"ts\":\"...\","), checked for shape. */
static const char *after_ts(const char *line, int json)
{
    const char *p;
    if (json) {
        assert_memory_equal(line, "{\"ts\":\"", 7);
        p = line + 7;
    } else {
        assert_memory_equal(line, "ts=", 3);
        p = line + 3;
    }
    /* 2026-11-23T10:00:00.123Z */
    assert_int_equal(strlen(p) > 24, 1);
    for (int i = 0; i < 24; i++) {
        char c = p[i];
        switch (i) {
        case 4:
        case 7: assert_int_equal(c, '-'); break;
        case 10: assert_int_equal(c, 'T'); break;
        case 13:
        case 16: assert_int_equal(c, ':'); break;
        case 19: assert_int_equal(c, '.'); break;
        case 23: assert_int_equal(c, 'Z'); break;
        default: assert_true(c >= '0' && c <= '9');
        }
    }
    return p + 24 + (json ? 2 : 1); /* skip `",` or ` ` */
}

static void plain_line_has_ts_level_module_and_quoted_msg(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_INFO, 0);
    sb_log(SB_LOG_INFO, "app", "pinned %d tracks", 3);
    const char *out = captured();
    assert_string_equal(after_ts(out, 0), "level=info module=app msg=\"pinned 3 tracks\"\n");
}

static void plain_escapes_quotes_backslashes_and_control_chars(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_DEBUG, 0);
    sb_log(SB_LOG_WARN, "pin", "say \"hi\" \\ path\nnext\tcol\r\x01\x7f end");
    const char *out = captured();
    assert_string_equal(after_ts(out, 0),
                        "level=warn module=pin msg=\"say \\\"hi\\\" \\\\ path\\nnext\\tcol\\r"
                        "\\u0001\\u007f end\"\n");
    /* exactly one line */
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
}

static void plain_keeps_utf8_and_shows_invalid_bytes_as_hex(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_INFO, 0);
    sb_log(SB_LOG_ERROR, "app", "caf\xc3\xa9 \xe2\x99\xab bad\xff\xc3(");
    assert_string_equal(after_ts(captured(), 0),
                        "level=error module=app msg=\"caf\xc3\xa9 \xe2\x99\xab bad\\xff\\xc3(\"\n");
}

static void plain_quotes_odd_module_names(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_INFO, 0);
    sb_log(SB_LOG_INFO, "my mod=\"x\"", "m");
    assert_string_equal(after_ts(captured(), 0),
                        "level=info module=\"my mod=\\\"x\\\"\" msg=\"m\"\n");
}

static void json_line_is_one_escaped_object(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_INFO, 1);
    sb_log(SB_LOG_INFO, "store",
           "a \"b\" \\c\n\x1f\x08 caf\xc3\xa9 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf");
    assert_string_equal(
        after_ts(captured(), 1),
        "\"level\":\"info\",\"module\":\"store\",\"msg\":\"a \\\"b\\\" \\\\c\\n"
        "\\u001f\\u0008 caf\xc3\xa9 \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd "
        "\\ufffd\\ufffd\"}\n");
}

static void levels_below_setup_are_dropped(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_WARN, 0);
    assert_int_equal(sb_log_enabled(SB_LOG_INFO), 0);
    assert_int_equal(sb_log_enabled(SB_LOG_ERROR), 1);
    sb_log(SB_LOG_DEBUG, "app", "no");
    sb_log(SB_LOG_INFO, "app", "no");
    sb_log(SB_LOG_WARN, "app", "yes");
    const char *out = captured();
    assert_null(strstr(out, "msg=\"no\""));
    assert_non_null(strstr(out, "level=warn module=app msg=\"yes\""));
}

static void abci_sink_logs_with_module_abci(void **state)
{
    (void)state;
    sb_log_setup(SB_LOG_DEBUG, 0);
    sb_log_abci_sink(NULL, 0, "conn 3 open");
    sb_log_abci_sink(NULL, 3, "frame too large");
    sb_log_abci_sink(NULL, 42, "odd level");
    const char *out = captured();
    assert_non_null(strstr(out, "level=debug module=abci msg=\"conn 3 open\"\n"));
    assert_non_null(strstr(out, "level=error module=abci msg=\"frame too large\"\n"));
    assert_non_null(strstr(out, "level=error module=abci msg=\"odd level\"\n"));
}

static void long_message_is_cut_with_marker(void **state)
{
    (void)state;
    char *big = malloc(10000);
    assert_non_null(big);
    memset(big, 'a', 9999);
    big[9999] = '\0';
    big[SB_LOG_MSG_MAX - 5] = '\xc3'; /* a 2-byte char straddling the cut point */
    big[SB_LOG_MSG_MAX - 4] = '\xa9';
    sb_log_setup(SB_LOG_INFO, 1);
    sb_log(SB_LOG_INFO, "app", "%s", big);
    const char *out = captured();
    const char *msg = strstr(out, "\"msg\":\"");
    assert_non_null(msg);
    msg += 7;
    /* SB_LOG_MSG_MAX-5 'a's, the cut char dropped whole (no \ufffd), then "..." */
    assert_int_equal(strspn(msg, "a"), SB_LOG_MSG_MAX - 5);
    assert_string_equal(msg + SB_LOG_MSG_MAX - 5, "...\"}\n");
    free(big);
}

static void level_names_round_trip(void **state)
{
    (void)state;
    for (int l = SB_LOG_DEBUG; l <= SB_LOG_ERROR; l++)
        assert_int_equal(sb_log_level_parse(sb_log_level_name(l)), l);
    assert_int_equal(sb_log_level_parse("warning"), -1);
    assert_int_equal(sb_log_level_parse(NULL), -1);
}

static void *log_thread(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 200; i++)
        sb_log(SB_LOG_INFO, "t", "thread %ld line %d xxxxxxxxxxxxxxxxxxxxxxxxxxxx", id, i);
    return NULL;
}

static void concurrent_lines_do_not_interleave(void **state)
{
    (void)state;
    pthread_t th[4];
    sb_log_setup(SB_LOG_INFO, 0);
    for (long i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, log_thread, (void *)i), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    const char *out = captured();
    int lines = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        char line[256];
        size_t n = (size_t)(nl - p);
        assert_true(n < sizeof line);
        memcpy(line, p, n);
        line[n] = '\0';
        const char *rest = after_ts(line, 0);
        long id;
        int i;
        assert_int_equal(sscanf(rest, "level=info module=t msg=\"thread %ld line %d", &id, &i), 2);
        assert_non_null(strstr(rest, "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\""));
        lines++;
        p = nl + 1;
    }
    assert_int_equal(lines, 800);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_line_has_ts_level_module_and_quoted_msg),
        cmocka_unit_test(plain_escapes_quotes_backslashes_and_control_chars),
        cmocka_unit_test(plain_keeps_utf8_and_shows_invalid_bytes_as_hex),
        cmocka_unit_test(plain_quotes_odd_module_names),
        cmocka_unit_test(json_line_is_one_escaped_object),
        cmocka_unit_test(levels_below_setup_are_dropped),
        cmocka_unit_test(abci_sink_logs_with_module_abci),
        cmocka_unit_test(long_message_is_cut_with_marker),
        cmocka_unit_test(level_names_round_trip),
        cmocka_unit_test(concurrent_lines_do_not_interleave),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
