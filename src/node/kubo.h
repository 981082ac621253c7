/* kubo.h - a small client for Kubo's HTTP RPC (protocol.md §10), on libcurl.
 *
 * Every call is a POST to <api_url><command>?<args> (Kubo refuses GET on the RPC). A handle
 * owns one libcurl easy handle (connections are reused between calls) and is used by ONE
 * thread at a time; the pin worker gives each of its threads its own handle.
 *
 * Kubo's error forms, all mapped to SB_KUBO_E_API with Kubo's message:
 *   - HTTP 4xx/5xx with a JSON body {"Message":…,"Code":…,"Type":"error"};
 *   - HTTP 200 once streaming started, with the error in the chunked trailer X-Stream-Error
 *     (libcurl hands trailers to the header callback, which is where we catch it).
 *
 * Time limits:
 *   - non-streaming calls (block/put, direct pin/add, pin/rm, id, pin/ls): the whole call is
 *     bounded by timeout_seconds (SB_KUBO_E_TIMEOUT);
 *   - the streaming recursive pin/add is NOT bounded by a total time (a healthy 1 GiB pin on a
 *     slow link would be killed): it is cancelled when neither Bytes nor Progress has grown
 *     for stall_seconds (SB_KUBO_E_STALLED), when nothing at all arrived for timeout_seconds
 *     after the start (SB_KUBO_E_TIMEOUT; only matters if timeout < stall), or when Bytes
 *     exceeds max_bytes (SB_KUBO_E_TOO_LARGE).
 * Every call is also abandoned promptly (within ~1 s) once *cancel (see sb_kubo_opts) becomes
 * non-zero (SB_KUBO_E_CANCELLED): that is how the daemon stops mid-pin on SIGTERM.
 *
 * The auth header (ipfs.auth_header_file) is sent with every request and never appears in a
 * log line or an error message.
 */
#ifndef SB_NODE_KUBO_H
#define SB_NODE_KUBO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sb_kubo sb_kubo;

/* Call results (0 ok, negative errors). */
enum {
    SB_KUBO_OK = 0,
    SB_KUBO_E_UNREACHABLE = -1, /* connect / transport failure: Kubo is down or unreachable */
    SB_KUBO_E_TIMEOUT = -2,     /* timeout_seconds passed (see above) */
    SB_KUBO_E_API = -3,         /* Kubo answered with an error (HTTP status or trailer) */
    SB_KUBO_E_PROTOCOL = -4,    /* an answer we cannot use (not JSON, field missing, too big) */
    SB_KUBO_E_STALLED = -5,     /* recursive pin: no progress for stall_seconds */
    SB_KUBO_E_TOO_LARGE = -6,   /* recursive pin: Bytes > max_bytes */
    SB_KUBO_E_CANCELLED = -7,   /* *cancel was raised */
    SB_KUBO_E_NOMEM = -8,
    SB_KUBO_E_ARG = -9, /* bad argument (e.g. a CID with characters outside [0-9A-Za-z]) */
};

/* Short, stable token for a result code, used as a metrics label and as the prefix of
 * jobs.last_error (pins.db): "ok", "unreachable", "timeout", "kubo_error", "protocol", "stalled",
 * "too_large", "cancelled", "nomem", "bad_argument". Static string. */
const char *sb_kubo_reason(int code);

/* Details of a failed call. msg is NUL-terminated, human-readable, names the command, and
 * carries Kubo's own message when there is one (cut to fit); never the auth header. */
typedef struct sb_kubo_err {
    int code;         /* one of SB_KUBO_* */
    long http_status; /* 0 when no HTTP answer */
    char msg[320];
} sb_kubo_err;

typedef struct sb_kubo_opts {
    const char *api_url;      /* "http://127.0.0.1:5001/api/v0/" (trailing '/' optional) */
    const char *auth_header;  /* "Name: value" sent with every request, or NULL / "" */
    uint32_t timeout_seconds; /* >= 1, see the header comment */
    const atomic_int *cancel; /* borrowed, may be NULL; non-zero aborts the running call */
} sb_kubo_opts;

/* Create a client. Strings are copied. Returns NULL with a reason in err (bad URL, libcurl
 * init failure, out of memory). Call curl_global_init once per process before the first
 * sb_kubo_new when threads are involved (sb_pin_start does). */
sb_kubo *sb_kubo_new(const sb_kubo_opts *o, char *err, size_t errlen);
/* Free the client and its connections. NULL is a no-op. */
void sb_kubo_free(sb_kubo *k);

/* Read ipfs.auth_header_file: its first line, trailing CR/LF and blanks removed, must be
 * "Name: value" with a token name and a non-empty printable value. Writes it NUL-terminated
 * into out[0..outlen). Returns 0, or -1 with err naming the file and the problem (never the
 * file's content). */
int sb_kubo_read_auth_header(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* block/put?cid-codec=dag-json&mhtype=sha2-256&pin=false with exactly data[0..n) as the
 * multipart file. On success writes Kubo's "Key" (the CID string) into key[0..keylen). */
int sb_kubo_block_put(sb_kubo *k, const uint8_t *data, size_t n, char *key, size_t keylen,
                      sb_kubo_err *e);

/* pin/add?arg=<cid>&recursive=false (direct pin; the manifest of protocol.md §10). Succeeds when
 * the answer's "Pins" lists a CID (Kubo may print it in another encoding than `cid`). */
int sb_kubo_pin_direct(sb_kubo *k, const char *cid, sb_kubo_err *e);

/* Recursive pin with progress watchdog (see the header comment).
 * stall_seconds >= 1; max_bytes 0 = no limit. *bytes gets the last Bytes value Kubo reported
 * (also on failure; 0 if none). */
typedef struct sb_kubo_pin_limits {
    uint32_t stall_seconds;
    uint64_t max_bytes;
} sb_kubo_pin_limits;
int sb_kubo_pin_recursive(sb_kubo *k, const char *cid, const sb_kubo_pin_limits *lim,
                          uint64_t *bytes, sb_kubo_err *e);

/* pin/ls?type=<type>&stream=true: calls fn(arg, cid) for every pin of `type` ("recursive",
 * "direct", "indirect" or "all"). fn returns 0 to go on, non-zero to stop (the call then
 * returns SB_KUBO_E_CANCELLED). stall_seconds > 0: the listing is not cut by the total
 * ipfs.timeout_seconds but fails as SB_KUBO_E_STALLED when no line arrives for that long
 * (and SB_KUBO_E_TIMEOUT when none at all arrives within the timeout); 0: the total timeout
 * applies (protocol.md §10). */
typedef int (*sb_kubo_cid_fn)(void *arg, const char *cid);
int sb_kubo_pin_ls(sb_kubo *k, const char *type, uint32_t stall_seconds, sb_kubo_cid_fn fn,
                   void *arg, sb_kubo_err *e);

/* pin/rm?arg=<cid> (recursive=true, which also removes a direct pin). A CID that is not
 * pinned counts as success; *was_pinned (may be NULL) says which case it was. */
int sb_kubo_pin_rm(sb_kubo *k, const char *cid, int *was_pinned, sb_kubo_err *e);

/* dag/stat?arg=<cid>&progress=false: total size of the DAG in bytes into *size (the vote
 * agent's availability check, protocol.md §15). Bounded by timeout_seconds: an online Kubo
 * looking for content no peer has never answers. Both answer shapes Kubo has used
 * ({"Size"} and {"TotalSize","DagStats"}) are read. */
int sb_kubo_dag_stat(sb_kubo *k, const char *cid, uint64_t *size, sb_kubo_err *e);

/* Health check with a real RPC call (`id`, which needs a running, answering node; protocol.md §10:
 * not /version). */
int sb_kubo_health(sb_kubo *k, sb_kubo_err *e);

/* Test and fuzz seam (fuzz/kubo_fuzz.c): every later call of k gets this canned answer
 * instead of a network transfer, handled by the same code as a real one (line splitter,
 * JSON handlers, X-Stream-Error trailer, HTTP status rules, each command's checks). headers
 * and trailers are '\n'-separated lines handed to the header callback before and after the
 * body; the body arrives in pieces of `chunk` bytes (0 = one piece); transport_error != 0
 * ends the transfer after the body as a broken connection would. The answer is borrowed
 * until the next call returns; NULL restores the network. */
typedef struct sb_kubo_canned {
    long status;
    const char *headers;
    size_t headers_len;
    const uint8_t *body;
    size_t body_len;
    size_t chunk;
    int transport_error;
    const char *trailers;
    size_t trailers_len;
} sb_kubo_canned;
void sb_kubo_set_canned(sb_kubo *k, const sb_kubo_canned *a);

#endif /* SB_NODE_KUBO_H */
