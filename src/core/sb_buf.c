/* sb_buf.c — capped growable writer and hex. */
#include "sb_buf.h"

#include <stdlib.h>
#include <string.h>

void sb_buf_init(sb_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->oom = 0;
}

/* Make room for n more bytes plus one spare (for a NUL in sb_buf_steal_str). */
static int buf_reserve(sb_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (n > b->max || b->len > b->max - n)
        goto fail;
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t want = b->cap ? b->cap : 64;
    while (want < b->len + n + 1) {
        if (want > SIZE_MAX / 2)
            goto fail;
        want *= 2;
    }
    if (b->max < SIZE_MAX && want > b->max + 1)
        want = b->max + 1;
    uint8_t *d = realloc(b->data, want);
    if (!d)
        goto fail;
    b->data = d;
    b->cap = want;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

int sb_buf_append(sb_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int sb_buf_putc(sb_buf *b, uint8_t c) { return sb_buf_append(b, &c, 1); }

static int buf_put_be(sb_buf *b, uint64_t v, size_t n)
{
    uint8_t t[8];
    for (size_t i = 0; i < n; i++)
        t[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return sb_buf_append(b, t, n);
}

int sb_buf_put_be16(sb_buf *b, uint16_t v) { return buf_put_be(b, v, 2); }
int sb_buf_put_be32(sb_buf *b, uint32_t v) { return buf_put_be(b, v, 4); }
int sb_buf_put_be64(sb_buf *b, uint64_t v) { return buf_put_be(b, v, 8); }

int sb_buf_puts(sb_buf *b, const char *s) { return sb_buf_append(b, s, strlen(s)); }

void sb_buf_free(sb_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void sb_buf_reset(sb_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

char *sb_buf_steal_str(sb_buf *b)
{
    if (b->oom)
        return NULL;
    if (buf_reserve(b, 0) < 0)
        return NULL;
    char *s = (char *)b->data;
    s[b->len] = '\0';
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void sb_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sb_unhex(const char *s, uint8_t *out, size_t n)
{
    if (!s || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
