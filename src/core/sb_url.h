/* sb_url.h — URLs made safe for a log line or an error message (a password never reaches a log).
 * Pure string handling, shared by sleetbubbled (pin worker) and the sleetbubble CLI; not
 * consensus code, but it lives in sb_core because both link it and it has no I/O. */
#ifndef SB_URL_H
#define SB_URL_H

#include <stddef.h>

/* Copy url into out[0..outlen) with the password of a userinfo masked:
 * "http://user:pass@host:5001/api/v0/" -> "http://user:***@host:5001/api/v0/" (a Kubo API
 * URL may carry credentials; like the auth header, the password is never logged). The
 * userinfo is what precedes the last '@' before any '?' or '#' after "scheme://"; everything
 * from its first ':' to that '@' becomes "***", so an unencoded '/' or '@' in a password is
 * masked too (when in doubt, more is masked). A URL without ':' in its userinfo is copied
 * unchanged. url NULL reads as "". Always NUL-terminates when outlen >= 1; returns 0, or -1
 * if outlen is 0 or out was too small (out then holds a cut copy of the masked text, never a
 * password byte). */
int sb_url_for_log(const char *url, char *out, size_t outlen);

#endif /* SB_URL_H */
