/* rejlog.c - see rejlog.h. Pure: no clock, no I/O, no allocation. */
#include "rejlog.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sb_code.h"

void sb_rejlog_init(sb_rejlog *r) { memset(r, 0, sizeof(*r)); }

/* Append printf text at *len, never past outlen - 1; *len stops growing once cut. */
static void put(char *out, size_t outlen, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t outlen, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len + 1 >= outlen)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, outlen - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *len = (size_t)n >= outlen - *len ? outlen - 1 : *len + (size_t)n;
}

/* Write the summary of the open window ending at now_ms, then empty the window. */
static void summarise(sb_rejlog *r, uint64_t now_ms, char *out, size_t outlen)
{
    size_t len = 0;
    uint64_t secs = (now_ms - r->start_ms + 500) / 1000;
    if (outlen > 0) {
        out[0] = '\0';
        put(out, outlen, &len,
            "checktx: rejected %" PRIu64 " tx(s) in the last %" PRIu64 " s:", r->total, secs);
        for (int c = 0; c <= SB_REJLOG_CODES; c++)
            if (r->counts[c])
                put(out, outlen, &len, " %s=%" PRIu64,
                    c < SB_REJLOG_CODES ? sb_code_name(c) : "OTHER", r->counts[c]);
    }
    sb_rejlog_init(r);
}

int sb_rejlog_tick(sb_rejlog *r, uint64_t now_ms, char *out, size_t outlen)
{
    /* a clock that went backwards (it should not: monotonic) never makes a summary due */
    if (r->total == 0 || now_ms < r->start_ms || now_ms - r->start_ms < SB_REJLOG_PERIOD_MS)
        return 0;
    summarise(r, now_ms, out, outlen);
    return 1;
}

int sb_rejlog_note(sb_rejlog *r, int code, uint64_t now_ms, char *out, size_t outlen)
{
    if (r->total == 0)
        r->start_ms = now_ms;
    int slot = (code >= 0 && code < SB_REJLOG_CODES) ? code : SB_REJLOG_CODES;
    if (r->counts[slot] < UINT64_MAX)
        r->counts[slot]++;
    if (r->total < UINT64_MAX)
        r->total++;
    return sb_rejlog_tick(r, now_ms, out, outlen);
}
