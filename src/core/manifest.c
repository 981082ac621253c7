/* manifest.c — canonical DAG-JSON manifest of a winning proposal (protocol.md §6): map keys sorted
 * bytewise, no whitespace, plain decimal integers, only \" and \\ escaped (protocol.md §4 strings
 * contain nothing else that JSON must escape). */
#include "manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put_str(sb_buf *b, const char *s)
{
    sb_buf_putc(b, '"');
    for (const char *q = s ? s : ""; *q; q++) {
        if (*q == '"' || *q == '\\')
            sb_buf_putc(b, '\\');
        sb_buf_putc(b, (uint8_t)*q);
    }
    sb_buf_putc(b, '"');
}

static void put_u64(sb_buf *b, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    sb_buf_puts(b, num);
}

int sb_manifest_build(const Sleetbubble__V1__ProposalBody *body, const uint8_t proposal_id[32],
                      sb_buf *out)
{
    char hex[65];
    if (!body || body->curator_pubkey.len != 32)
        return -1;
    sb_buf_puts(out, "{\"chain_id\":");
    put_str(out, body->chain_id);
    sb_hex(body->curator_pubkey.data, 32, hex);
    sb_buf_puts(out, ",\"curator\":\"");
    sb_buf_puts(out, hex);
    sb_hex(proposal_id, 32, hex);
    sb_buf_puts(out, "\",\"proposal_id\":\"");
    sb_buf_puts(out, hex);
    sb_buf_puts(out, "\",\"slot\":");
    put_u64(out, body->slot);
    sb_buf_puts(out, ",\"tracks\":[");
    size_t n = body->playlist ? body->playlist->n_tracks : 0;
    for (size_t i = 0; i < n; i++) {
        const Sleetbubble__V1__Track *t = body->playlist->tracks[i];
        if (i)
            sb_buf_putc(out, ',');
        sb_buf_puts(out, "{\"artist\":");
        put_str(out, t->artist);
        sb_buf_puts(out, ",\"cid\":{\"/\":");
        put_str(out, t->cid);
        sb_buf_puts(out, "},\"duration_ms\":");
        put_u64(out, t->duration_ms);
        sb_buf_puts(out, ",\"title\":");
        put_str(out, t->title);
        sb_buf_putc(out, '}');
    }
    sb_buf_puts(out, "]}");
    return out->oom ? -1 : 0;
}
