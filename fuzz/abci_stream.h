/* abci_stream.h - drive one ABCI connection with a fuzzed byte stream and check the server
 * against an independent model of the stream (shared by abci_frame_fuzz and abci_app_fuzz).
 *
 * The model walks the input with the pure frame decoder: the complete, decodable frames that
 * carry a known method are the requests; the stream then ends cleanly, mid-frame (truncated
 * last frame), or at the first bad varint / over-long frame / undecodable or method-less
 * Request. The server must (abort otherwise):
 *   - answer requests in order, Response case = the Request's, never an exception, and only
 *     well-formed frames;
 *   - never answer more than the model's requests;
 *   - close the connection once the peer has closed (no hang);
 *   - unless the application refused a request (a callback error, logged): answer every
 *     request of a clean stream (responses were produced, so the input got past the framing), and otherwise
 *     close for exactly the reason the model predicts (e.g. "peer closed mid-frame" for a
 *     truncated last frame after the peer's close). */
#ifndef SB_FUZZ_ABCI_STREAM_H
#define SB_FUZZ_ABCI_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "abci/abci.h"

/* Largest frame body the fuzzed servers accept (abci_server_opts.max_frame_bytes). */
#define ABCI_STREAM_MAX_FRAME ((size_t)1 << 20)

/* How the model says the stream ends. */
typedef enum {
    ABCI_STREAM_CLEAN = 0, /* every byte belongs to a complete frame with a known method */
    ABCI_STREAM_TRUNCATED, /* the last frame (or its length prefix) is incomplete */
    ABCI_STREAM_BAD_VARINT,
    ABCI_STREAM_TOO_LONG,
    ABCI_STREAM_UNDECODABLE, /* a frame whose body is not a Request */
    ABCI_STREAM_NO_METHOD,   /* a Request without a known oneof case */
} abci_stream_end;

typedef struct abci_stream_result {
    size_t requests;        /* model: requests before the end */
    abci_stream_end end;    /* model: how the stream ends */
    size_t responses;       /* responses the server wrote */
    int app_refused;        /* the server closed because a callback failed */
    char close_reason[256]; /* the server's warn/error "closing connection" line, or "" */
} abci_stream_result;

/* Log sink to give the server (abci_server_opts.log): keeps the first warn/error close
 * reason for abci_stream_run. */
void abci_stream_log(void *arg, int level, const char *msg);

/* The model alone (no server): fills requests and end. */
void abci_stream_model(const uint8_t *data, size_t size, abci_stream_result *out);

/* Feed data[0..size) to a new connection of srv (running on base, logging through
 * abci_stream_log), close our side, run the loop until the server closes, and check every
 * invariant above (abort() on a violation). app_may_refuse: 0 when the callbacks can never
 * fail (the library defaults). */
void abci_stream_run(struct event_base *base, abci_server *srv, const uint8_t *data, size_t size,
                     int app_may_refuse, abci_stream_result *out);

/* Replay check for a corpus file, given the runs of the whole file and of the file without
 * its last byte: the app refused the stream iff the file's name starts with "refused_"; a
 * clean stream not refused got a response to every request (at least one), and the cut one
 * was closed by the server as "peer closed mid-frame" after our close. */
void abci_stream_check_seed(const char *name, const abci_stream_result *whole,
                            const abci_stream_result *cut);

#endif
