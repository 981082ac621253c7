/* sb_buf.h — bounded byte reader and capped growable writer (STYLE "Buffers").
 * Every parse of untrusted bytes goes through sb_reader; every serialisation through sb_buf. */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stddef.h>
#include <stdint.h>

/* Bounded reader over caller-owned bytes: p[0..len), cursor pos. Every read checks bounds
 * and returns -1 (leaving pos unchanged) when fewer bytes remain than asked for. */
typedef struct sb_reader {
  const uint8_t *p;
  size_t len, pos;
} sb_reader;

/* Start reading p[0..len). p is borrowed. */
void sb_reader_init(sb_reader *r, const void *p, size_t len);
/* Bytes left to read. */
size_t sb_reader_left(const sb_reader *r);
/* Read n bytes into out (out may be NULL to skip); 0 / -1 if fewer than n remain. */
int sb_reader_read(sb_reader *r, void *out, size_t n);
/* Read one byte / big-endian integers; 0 / -1. */
int sb_reader_u8(sb_reader *r, uint8_t *out);
int sb_reader_be16(sb_reader *r, uint16_t *out);
int sb_reader_be32(sb_reader *r, uint32_t *out);
int sb_reader_be64(sb_reader *r, uint64_t *out);

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
