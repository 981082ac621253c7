/* frame.c - varint length-prefix framing (protocol.md §2). Pure: no I/O, no logging. */
#include "abci/frame.h"

#include <stdlib.h>

const char *abci_frame_status_str(abci_frame_status st)
{
    switch (st) {
    case ABCI_FRAME_OK: return "ok";
    case ABCI_FRAME_NEED_MORE: return "need more bytes";
    case ABCI_FRAME_BAD_VARINT: return "bad varint";
    case ABCI_FRAME_TOO_LONG: return "frame too long";
    }
    return "unknown frame status";
}

size_t abci_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t abci_varint_encode(uint64_t v, uint8_t out[ABCI_VARINT_MAX_BYTES])
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

abci_frame_status abci_varint_decode(abci_reader *r, uint64_t *v)
{
    uint64_t x = 0;
    size_t pos = r->pos;
    for (unsigned i = 0; i < ABCI_VARINT_MAX_BYTES; i++) {
        if (pos >= r->len)
            return ABCI_FRAME_NEED_MORE;
        uint8_t b = r->buf[pos++];
        if (i == ABCI_VARINT_MAX_BYTES - 1 && b > 1)
            return ABCI_FRAME_BAD_VARINT; /* bits beyond 64, or an 11th byte follows */
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *v = x;
            r->pos = pos;
            return ABCI_FRAME_OK;
        }
    }
    return ABCI_FRAME_BAD_VARINT; /* unreachable: the 10th byte check returns first */
}

abci_frame_status abci_frame_header(abci_reader *r, size_t max_body, uint64_t *body_len)
{
    abci_reader probe = *r;
    uint64_t n = 0;
    abci_frame_status st = abci_varint_decode(&probe, &n);
    if (st != ABCI_FRAME_OK)
        return st;
    *body_len = n;
    if (n > (uint64_t)max_body)
        return ABCI_FRAME_TOO_LONG;
    r->pos = probe.pos;
    return ABCI_FRAME_OK;
}

abci_frame_status abci_frame_next(abci_reader *r, size_t max_body, const uint8_t **body,
                                  uint64_t *body_len)
{
    abci_reader probe = *r;
    uint64_t n = 0;
    *body_len = 0;
    abci_frame_status st = abci_frame_header(&probe, max_body, &n);
    *body_len = n;
    if (st != ABCI_FRAME_OK)
        return st;
    if (probe.len - probe.pos < n)
        return ABCI_FRAME_NEED_MORE;
    *body = probe.buf + probe.pos;
    r->pos = probe.pos + (size_t)n;
    return ABCI_FRAME_OK;
}

size_t abci_frame_size(const ProtobufCMessage *msg)
{
    size_t body = protobuf_c_message_get_packed_size(msg);
    return abci_varint_size(body) + body;
}

size_t abci_frame_pack(const ProtobufCMessage *msg, uint8_t *out, size_t cap)
{
    uint8_t hdr[ABCI_VARINT_MAX_BYTES];
    size_t body = protobuf_c_message_get_packed_size(msg);
    size_t h = abci_varint_encode(body, hdr);
    if (cap < h || cap - h < body)
        return 0;
    for (size_t i = 0; i < h; i++)
        out[i] = hdr[i];
    protobuf_c_message_pack(msg, out + h);
    return h + body;
}

uint8_t *abci_frame_encode(const ProtobufCMessage *msg, size_t *out_len)
{
    size_t n = abci_frame_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return NULL;
    *out_len = abci_frame_pack(msg, buf, n);
    return buf;
}
