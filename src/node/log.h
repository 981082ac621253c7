/* log.h — node-local logging to stderr, one line per event (protocol.md §11).
 *
 * Two formats, chosen once at start-up by sb_log_setup():
 *   plain: ts=2026-11-23T10:00:00.123Z level=info module=app msg="pinned 3 tracks"
 *   json:  {"ts":"2026-11-23T10:00:00.123Z","level":"info","module":"app","msg":"pinned 3 tracks"}
 * Timestamps are wall-clock UTC with milliseconds (node-local: never used by consensus code).
 * Every line is emitted with a single write() under a mutex, so lines from the loop thread and
 * the pin worker never interleave. Messages are escaped: in plain format `"` `\` and control
 * characters; in JSON per RFC 8259, with invalid UTF-8 bytes replaced by U+FFFD (plain format
 * shows them as \xNN). A formatted message longer than SB_LOG_MSG_MAX bytes is cut and ends
 * with "...". Safe to call before sb_log_setup() (defaults: info, plain, stderr). */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdarg.h>

/* Levels, in increasing severity; the numbers match abci_log_fn (0 debug .. 3 error). */
enum { SB_LOG_DEBUG = 0, SB_LOG_INFO = 1, SB_LOG_WARN = 2, SB_LOG_ERROR = 3 };

/* Longest formatted message kept, in bytes, before escaping. */
#define SB_LOG_MSG_MAX 4096

/* Set the minimum level written (lower levels are dropped; out-of-range values are clamped)
 * and the format (json != 0: JSON lines, else plain). Thread-safe; normally called once. */
void sb_log_setup(int level, int json);

/* Test hook: write lines to fd instead of 2 (stderr). The fd is borrowed, never closed.
 * Pass 2 to restore. */
void sb_log_set_fd(int fd);

/* 1 if a message at `level` would be written, else 0 (to skip expensive formatting). */
int sb_log_enabled(int level);

/* Log one event. module: short identifier ("app", "pin", "store", "abci"); fmt: printf
 * format. Never fails visibly: write errors are ignored (there is nowhere to report them). */
void sb_log(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* va_list form of sb_log. */
void sb_log_v(int level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Sink with the signature of abci_log_fn (abci/abci.h): logs msg with module=abci.
 * arg is ignored (pass NULL); level 0..3 = debug..error, anything else is logged as error. */
void sb_log_abci_sink(void *arg, int level, const char *msg);

/* "debug" / "info" / "warn" / "error" for a level ("error" for out-of-range). Static string. */
const char *sb_log_level_name(int level);
/* Level for a name as above; -1 for any other string. */
int sb_log_level_parse(const char *name);

#endif
