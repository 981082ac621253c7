/* params_encode.c — the P encoding of chain parameters (protocol.md §7), an input of the
 * genesis app hash. Pure; fixed field order, big-endian integers. */
#include "params.h"

#include <string.h>

int sb_params_encode(const sb_params *p, sb_buf *out)
{
    size_t cl = p->chain_id ? strlen(p->chain_id) : 0;
    size_t nvk = 0;
    for (size_t i = 0; i < p->n_validators; i++)
        nvk += p->validators[i].has_vote_key != 0;
    sb_buf_put_be32(out, (uint32_t)cl);
    sb_buf_append(out, p->chain_id, cl);
    sb_buf_put_be64(out, p->slot_seconds);
    sb_buf_put_be64(out, p->close_lead_seconds);
    sb_buf_put_be64(out, p->horizon_slots);
    sb_buf_put_be64(out, (uint64_t)p->epoch_ns);
    sb_buf_put_be32(out, p->max_tracks);
    sb_buf_put_be32(out, p->max_proposals_per_slot);
    sb_buf_put_be32(out, p->max_tx_size);
    sb_buf_putc(out, p->open_curation ? 1 : 0);
    sb_buf_put_be32(out, (uint32_t)p->n_curators);
    for (size_t i = 0; i < p->n_curators; i++)
        sb_buf_append(out, p->curators[i], 32);
    /* validators are sorted by pubkey, so the pairs come out sorted by validator pubkey */
    sb_buf_put_be32(out, (uint32_t)nvk);
    for (size_t i = 0; i < p->n_validators; i++) {
        if (!p->validators[i].has_vote_key)
            continue;
        sb_buf_append(out, p->validators[i].pubkey, 32);
        sb_buf_append(out, p->validators[i].vote_key, 32);
    }
    sb_buf_put_be32(out, (uint32_t)p->n_validators);
    for (size_t i = 0; i < p->n_validators; i++) {
        sb_buf_append(out, p->validators[i].pubkey, 32);
        sb_buf_put_be64(out, (uint64_t)p->validators[i].power);
    }
    return out->oom ? -1 : 0;
}
