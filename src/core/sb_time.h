/* sb_time.h — RFC 3339 times (protocol.md §9). Pure. */
#ifndef SB_TIME_H
#define SB_TIME_H

#include <stdint.h>

/* Parse an RFC 3339 time "YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|±HH:MM)" (protocol.md §9 epoch, also
 * CometBFT's genesis_time) into ns since the Unix epoch. 0, or -1 on bad syntax, an invalid
 * date/time, or a value outside int64. s: NUL-terminated; *out_ns written only on success. */
int sb_parse_rfc3339_ns(const char *s, int64_t *out_ns);

#endif
