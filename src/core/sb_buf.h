/* sb_buf.h — the capped growable writer (STYLE "Buffers"): every serialisation goes through
 * sb_buf. Untrusted bytes are parsed by protobuf-c (transactions), jansson (JSON), the
 * base-N decoders of cid.c (index-checked into fixed buffers) and, for ABCI frames, the
 * bounded abci_reader of abci/include/abci/frame.h; src/ has no other binary parser. */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Growable writer with a hard cap: data[0..len) valid, cap allocated, max = most bytes it
 * may ever hold. The buffer owns data (free with sb_buf_free). After any failed append
 * (cap exceeded or malloc failure) oom is set and every later append fails too, so a
 * sequence of appends can be checked once at the end. */
typedef struct sb_buf {
    uint8_t *data;
    size_t len, cap, max;
    int oom;
} sb_buf;

/* Empty buffer that may grow to max bytes (no allocation yet). */
void sb_buf_init(sb_buf *b, size_t max);
/* Append n bytes of p; 0, or -1 if len+n > max or out of memory (then oom = 1). */
int sb_buf_append(sb_buf *b, const void *p, size_t n);
/* Append one byte / big-endian integers / a C string without its NUL; 0 / -1. */
int sb_buf_putc(sb_buf *b, uint8_t c);
int sb_buf_put_be16(sb_buf *b, uint16_t v);
int sb_buf_put_be32(sb_buf *b, uint32_t v);
int sb_buf_put_be64(sb_buf *b, uint64_t v);
int sb_buf_puts(sb_buf *b, const char *s);
/* Free data and zero the buffer (keeps max). Safe on a zeroed or freed buffer. */
void sb_buf_free(sb_buf *b);
/* Drop the contents (len = 0, oom = 0), keeping the allocation. */
void sb_buf_reset(sb_buf *b);
/* Detach the contents: returns data (caller frees, NUL-terminated: one extra byte is kept
 * beyond len) and leaves b empty; NULL if oom or out of memory. */
char *sb_buf_steal_str(sb_buf *b);

/* Lowercase hex of p[0..n) into out (2n+1 bytes incl. NUL). */
void sb_hex(const uint8_t *p, size_t n, char *out);
/* Decode exactly 2n hex digits (upper or lower case) of NUL-terminated s into out[0..n);
 * 0, or -1 on a wrong length or a non-hex digit. */
int sb_unhex(const char *s, uint8_t *out, size_t n);

#endif
