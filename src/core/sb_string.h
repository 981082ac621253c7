/* sb_string.h — the string rules of protocol.md §4, shared by transactions (tx.c), chain
 * parameters (params.c) and the CLI. Pure. */
#ifndef SB_STRING_H
#define SB_STRING_H

#include <stddef.h>

/* 1 iff s[0..n) is valid per protocol.md §4 strings: RFC 3629 UTF-8 (no overlongs, no surrogates,
 * <= U+10FFFF) without U+0000–U+001F, U+007F, U+2028, U+2029; 0 otherwise. s need not be
 * NUL-terminated; n == 0 is valid. */
int sb_string_ok(const char *s, size_t n);

#endif
