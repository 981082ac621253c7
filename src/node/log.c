/* log.c — see log.h. Node-local: wall clock and stderr are fine here (never in src/core). */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest module name kept, in bytes. */
#define LOG_MODULE_MAX 64
/* Worst case line: every input byte may become a 6-byte escape (\u00XX, \ufffd). */
#define LOG_LINE_MAX (160 + 6 * LOG_MODULE_MAX + 6 * SB_LOG_MSG_MAX)

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int log_level = SB_LOG_INFO;
static atomic_int log_json = 0;
static atomic_int log_fd = 2;

/* Line under construction: bytes p[0..len) of p[0..cap). Appends past cap are dropped
 * (cannot happen with LOG_LINE_MAX sized for the worst case, but stays bounded anyway). */
typedef struct log_line {
    char *p;
    size_t len, cap;
} log_line;

static void line_put(log_line *l, const char *s, size_t n)
{
    if (n > l->cap - l->len)
        n = l->cap - l->len;
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void line_puts(log_line *l, const char *s) { line_put(l, s, strlen(s)); }

static void line_putc(log_line *l, char c) { line_put(l, &c, 1); }

/* Length (2..4) of a valid UTF-8 sequence starting at s[0] (>= 0x80), or 0 if invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_seq_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xBF;
    size_t len, i;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Append s[0..n) escaped for a double-quoted value: \" \\ \n \r \t, other control bytes
 * and DEL as \u00XX; valid UTF-8 copied; invalid bytes as \ufffd (json) or \xNN (plain). */
static void line_escape(log_line *l, const char *str, size_t n, int json)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        char esc[6];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            line_put(l, esc, 2);
        } else if (c == '\n') {
            line_put(l, "\\n", 2);
        } else if (c == '\r') {
            line_put(l, "\\r", 2);
        } else if (c == '\t') {
            line_put(l, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            line_put(l, esc, 6);
        } else if (c < 0x80) {
            line_putc(l, (char)c);
        } else {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k > 0) {
                line_put(l, (const char *)s + i, k);
                i += k;
                continue;
            }
            if (json) {
                line_put(l, "\\ufffd", 6);
            } else {
                esc[0] = '\\';
                esc[1] = 'x';
                esc[2] = hex[c >> 4];
                esc[3] = hex[c & 15];
                line_put(l, esc, 4);
            }
        }
        i++;
    }
}

/* 1 if s is a non-empty bare word safe to print unquoted in plain format. */
static int is_bare_word(const char *s, size_t n)
{
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '/'))
            return 0;
    }
    return 1;
}

const char *sb_log_level_name(int level)
{
    switch (level) {
    case SB_LOG_DEBUG: return "debug";
    case SB_LOG_INFO: return "info";
    case SB_LOG_WARN: return "warn";
    default: return "error";
    }
}

int sb_log_level_parse(const char *name)
{
    int l;
    if (name == NULL)
        return -1;
    for (l = SB_LOG_DEBUG; l <= SB_LOG_ERROR; l++)
        if (strcmp(name, sb_log_level_name(l)) == 0)
            return l;
    return -1;
}

static int clamp_level(int level)
{
    if (level < SB_LOG_DEBUG)
        return SB_LOG_DEBUG;
    if (level > SB_LOG_ERROR)
        return SB_LOG_ERROR;
    return level;
}

void sb_log_setup(int level, int json)
{
    atomic_store(&log_level, clamp_level(level));
    atomic_store(&log_json, json ? 1 : 0);
}

void sb_log_set_fd(int fd) { atomic_store(&log_fd, fd); }

int sb_log_enabled(int level) { return clamp_level(level) >= atomic_load(&log_level); }

/* "2026-11-23T10:00:00.123Z" into ts (sized for the worst case the compiler sees). */
static void format_ts(char *ts, size_t n)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L);
}

/* Build and write one line for an already formatted message msg[0..n). */
static void emit(int level, const char *module, const char *msg, size_t n)
{
    static char buf[LOG_LINE_MAX]; /* guarded by log_mu */
    char ts[128];
    const char *lname;
    size_t mlen, off;
    int json = atomic_load(&log_json), fd = atomic_load(&log_fd);
    log_line l;

    if (module == NULL)
        module = "-";
    mlen = strnlen(module, LOG_MODULE_MAX);
    lname = sb_log_level_name(level);
    format_ts(ts, sizeof ts);

    pthread_mutex_lock(&log_mu);
    l.p = buf;
    l.len = 0;
    l.cap = sizeof buf;
    if (json) {
        line_puts(&l, "{\"ts\":\"");
        line_puts(&l, ts);
        line_puts(&l, "\",\"level\":\"");
        line_puts(&l, lname);
        line_puts(&l, "\",\"module\":\"");
        line_escape(&l, module, mlen, 1);
        line_puts(&l, "\",\"msg\":\"");
        line_escape(&l, msg, n, 1);
        line_puts(&l, "\"}\n");
    } else {
        line_puts(&l, "ts=");
        line_puts(&l, ts);
        line_puts(&l, " level=");
        line_puts(&l, lname);
        line_puts(&l, " module=");
        if (is_bare_word(module, mlen)) {
            line_put(&l, module, mlen);
        } else {
            line_putc(&l, '"');
            line_escape(&l, module, mlen, 0);
            line_putc(&l, '"');
        }
        line_puts(&l, " msg=\"");
        line_escape(&l, msg, n, 0);
        line_puts(&l, "\"\n");
    }
    off = 0;
    while (off < l.len) {
        ssize_t w = write(fd, buf + off, l.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        off += (size_t)w;
    }
    pthread_mutex_unlock(&log_mu);
}

void sb_log_v(int level, const char *module, const char *fmt, va_list ap)
{
    char msg[SB_LOG_MSG_MAX];
    int saved = errno, r;
    size_t n;

    level = clamp_level(level);
    if (level < atomic_load(&log_level))
        return;
    r = vsnprintf(msg, sizeof msg, fmt, ap);
    if (r < 0) {
        n = 0;
    } else if ((size_t)r >= sizeof msg) {
        /* Cut on a UTF-8 boundary and mark the cut. */
        n = sizeof msg - 4;
        while (n > 0 && ((uint8_t)msg[n] & 0xC0) == 0x80)
            n--;
        memcpy(msg + n, "...", 3);
        n += 3;
    } else {
        n = (size_t)r;
    }
    emit(level, module, msg, n);
    errno = saved;
}

void sb_log(int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_log_v(level, module, fmt, ap);
    va_end(ap);
}

void sb_log_abci_sink(void *arg, int level, const char *msg)
{
    (void)arg;
    if (level < SB_LOG_DEBUG || level > SB_LOG_ERROR)
        level = SB_LOG_ERROR;
    sb_log(level, "abci", "%s", msg ? msg : "");
}
