/* sb_time.c — RFC 3339 times to nanoseconds (protocol.md §9 epoch, CometBFT's genesis_time).
 * Pure: no clock, no locale, proleptic Gregorian calendar. */
#include "sb_time.h"

#include <string.h>

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sb_parse_rfc3339_ns(const char *s, int64_t *out_ns)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    int64_t frac = 0;
    if (!s || strlen(s) < 20)
        return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    const char *q = s + 19;
    if (*q == '.') {
        int nd = 0;
        q++;
        while (*q >= '0' && *q <= '9') {
            if (++nd > 9)
                return -1;
            frac = frac * 10 + (*q - '0');
            q++;
        }
        if (nd == 0)
            return -1;
        for (int i = nd; i < 9; i++)
            frac *= 10;
    }
    if (*q == 'Z') {
        q++;
    } else if (*q == '+' || *q == '-') {
        sign = *q == '+' ? 1 : -1;
        if (digits(q + 1, 2, &oh) || q[3] != ':' || digits(q + 4, 2, &om))
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        q += 6;
    } else {
        return -1;
    }
    if (*q != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1)
        return -1;
    int md = mdays[mo - 1] + (mo == 2 && is_leap(y));
    if (d > md || h > 23 || mi > 59 || sec > 59)
        return -1;
    __int128 ns = (__int128)days_from_civil(y, mo, d) * 86400;
    ns += (__int128)h * 3600 + mi * 60 + sec;
    ns -= (__int128)sign * (oh * 3600 + om * 60);
    ns = ns * 1000000000 + frac;
    if (ns > INT64_MAX || ns < INT64_MIN)
        return -1;
    *out_ns = (int64_t)ns;
    return 0;
}
