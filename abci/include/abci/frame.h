/* frame.h - ABCI socket framing: unsigned LEB128 varint length + protobuf body (protocol.md §2).
 *
 * Pure functions, no allocation except abci_frame_encode(). All parsing goes through the
 * bounded reader abci_reader: every read checks `pos < len`, and a read that cannot complete
 * leaves `pos` where it was (so a caller can wait for more bytes and try again).
 *
 * Wire form (CometBFT `libs/protoio`, Go binary.PutUvarint / ReadUvarint): 7 bits per byte,
 * least significant group first, high bit = "more bytes follow". At most 10 bytes; the 10th
 * byte may only be 0 or 1 (64 bits). Non-minimal encodings (e.g. 0x80 0x00) are accepted, as
 * Go accepts them.
 */
#ifndef ABCI_FRAME_H
#define ABCI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest varint of a 64-bit value, in bytes. */
#define ABCI_VARINT_MAX_BYTES 10

/* Default and hard ceiling for abci_server_opts.max_frame_bytes (bytes). */
#define ABCI_DEFAULT_MAX_FRAME_BYTES ((size_t)64 << 20)

/* Bounded byte reader over borrowed memory: buf[0..len), next byte at buf[pos]. */
typedef struct abci_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
} abci_reader;

/* Result of a decode step. Negative values are fatal for the stream. */
typedef enum abci_frame_status {
    ABCI_FRAME_OK = 0,
    ABCI_FRAME_NEED_MORE = 1,   /* input ends inside the varint or the body: wait for bytes */
    ABCI_FRAME_BAD_VARINT = -1, /* more than 10 bytes, or the value overflows 64 bits */
    ABCI_FRAME_TOO_LONG = -2,   /* declared body length > max_body */
} abci_frame_status;

/* Static name of a status ("ok", "need more bytes", "bad varint", "frame too long"). */
const char *abci_frame_status_str(abci_frame_status st);

/* Encode `v` into out[0..ABCI_VARINT_MAX_BYTES). Returns the number of bytes written (1..10). */
size_t abci_varint_encode(uint64_t v, uint8_t out[ABCI_VARINT_MAX_BYTES]);

/* Number of bytes abci_varint_encode(v) writes (1..10). */
size_t abci_varint_size(uint64_t v);

/* Decode one varint at r->pos. OK: *v set, r->pos advanced. NEED_MORE / BAD_VARINT: r->pos
 * unchanged, *v untouched. Never reads outside buf[pos..len). */
abci_frame_status abci_varint_decode(abci_reader *r, uint64_t *v);

/* Decode a frame header (the length varint) at r->pos and check it against max_body bytes
 * BEFORE anything is allocated. OK: *body_len <= max_body, r->pos after the header.
 * Otherwise r->pos unchanged; TOO_LONG sets *body_len to the declared length (for the log). */
abci_frame_status abci_frame_header(abci_reader *r, size_t max_body, uint64_t *body_len);

/* Decode one whole frame at r->pos: OK when header and body are both present; *body points
 * into r->buf (borrowed) and r->pos moves past the frame. NEED_MORE when the body is not all
 * there yet (r->pos unchanged; *body_len is set if the header was complete, else 0).
 * BAD_VARINT / TOO_LONG as abci_frame_header(). */
abci_frame_status abci_frame_next(abci_reader *r, size_t max_body, const uint8_t **body,
                                  uint64_t *body_len);

/* Encode `msg` as one frame into out[0..cap). Returns the frame size in bytes, or 0 if cap is
 * too small (nothing useful written). abci_frame_size() gives the size needed. */
size_t abci_frame_size(const ProtobufCMessage *msg);
size_t abci_frame_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap);

/* Encode `msg` as one frame into a new malloc'd buffer (caller frees). Returns NULL on
 * out-of-memory; *out_len is the frame size in bytes. */
uint8_t *abci_frame_encode(const ProtobufCMessage *msg, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif /* ABCI_FRAME_H */
