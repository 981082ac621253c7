/* http.h — one HTTP POST with libcurl to the two peers of the CLI and the vote agent,
 * CometBFT RPC and Kubo RPC.
 * Transport failures become one message that names the peer, the URL and the flag that
 * changes it (exit status 3, protocol.md §12). */
#ifndef SB_RPCC_HTTP_H
#define SB_RPCC_HTTP_H

#include <stddef.h>

#include "sb_buf.h"

/* A request. Strings are borrowed. Body: either (ctype, body, len), or file_path which is
 * sent as multipart/form-data field "file" (Kubo add), or neither (empty POST). */
typedef struct sb_http_req {
    const char *url;   /* full URL */
    const char *what;  /* the peer, for messages: "CometBFT RPC" / "Kubo RPC" */
    const char *base;  /* the base URL the user gave (for messages) */
    const char *flag;  /* the option that changes it: "--node" / "--ipfs" */
    const char *ctype; /* Content-Type of body */
    const void *body;
    size_t len;
    const char *file_path; /* multipart upload */
    long timeout_s;        /* whole transfer; 0 = none */
    size_t max_bytes;      /* cap on the reply body */
} sb_http_req;

/* The reply. body.data is NUL-terminated after a successful call (the NUL is not counted in
 * body.len); owned, free with sb_http_res_free. stream_error: Kubo's X-Stream-Error
 * trailer (an error after a streamed 200), "" if none. */
typedef struct sb_http_res {
    long status;
    sb_buf body;
    char stream_error[512];
} sb_http_res;

/* Failures of sb_http_post. */
enum {
    CLI_HTTP_UNREACHABLE = -1, /* no connection: refused, no route, DNS, connect timeout */
    CLI_HTTP_TIMEOUT = -2,     /* connected, but no complete reply within timeout_s */
    CLI_HTTP_FAILED = -3       /* reply over max_bytes, upload file unreadable, other */
};

/* Send rq. 0 when an HTTP reply arrived (any status; *res filled, caller frees it), or one
 * of the CLI_HTTP_* failures with err = "cannot reach <what> at <base>: <reason> (set
 * <flag>)" (or "… timed out after N s", "… reply larger than N bytes"). */
int sb_http_post(const sb_http_req *rq, sb_http_res *res, char *err, size_t errlen);

/* Free the reply body and zero it. */
void sb_http_res_free(sb_http_res *res);

/* url = base (trailing '/' dropped) + suffix into out[outlen]. 0, or -1 if too long. */
int sb_http_join(const char *base, const char *suffix, char *out, size_t outlen);

#endif
