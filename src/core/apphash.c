/* apphash.c — H_0 and H_h (protocol.md §7). All integers big-endian. */
#include "apphash.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sb_hash.h"

void sb_apphash_genesis(const sb_params *p, uint8_t h0[32])
{
    static const char dom[] = "sleetbubble/v1/genesis"; /* + its NUL */
    sb_buf b;
    sb_buf_init(&b, SIZE_MAX);
    /* P is small (a few KiB per thousand keys); failing to allocate it leaves no correct
   * hash to return, so stop rather than return a wrong one. */
    if (sb_params_encode(p, &b) < 0)
        abort();
    sb_sha256v(h0, 2, (const void *)dom, sizeof dom, (const void *)b.data, b.len);
    sb_buf_free(&b);
}

int sb_apphash_begin(sb_apphash_ctx *c)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    c->md = NULL;
    if (!md)
        return -1;
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -1;
    }
    c->md = md;
    return 0;
}

/* be32 len(item) || item. */
static int add_item(sb_apphash_ctx *c, const uint8_t *item, size_t len)
{
    uint8_t be[4];
    if (!c->md || len > UINT32_MAX)
        return -1;
    for (int i = 0; i < 4; i++)
        be[i] = (uint8_t)(len >> (24 - 8 * i));
    if (EVP_DigestUpdate(c->md, be, 4) != 1)
        return -1;
    return EVP_DigestUpdate(c->md, item, len) == 1 ? 0 : -1;
}

int sb_apphash_add_tx(sb_apphash_ctx *c, const uint8_t *tx, size_t len)
{
    uint8_t be[5];
    if (!c->md || len > UINT32_MAX - 1)
        return -1;
    size_t n = len + 1;
    for (int i = 0; i < 4; i++)
        be[i] = (uint8_t)(n >> (24 - 8 * i));
    be[4] = 0x01;
    if (EVP_DigestUpdate(c->md, be, 5) != 1)
        return -1;
    if (len && EVP_DigestUpdate(c->md, tx, len) != 1)
        return -1;
    return 0;
}

int sb_apphash_add_slot(sb_apphash_ctx *c, const sb_slot_record *r)
{
    uint8_t item[1 + 8 + 1 + 32 + 8 + 8 + 2 + SB_CID_BIN_MAX];
    sb_buf b;
    int rc;
    if (r->manifest_cid_len > SB_CID_BIN_MAX)
        return -1;
    sb_buf_init(&b, sizeof item);
    sb_buf_putc(&b, 0x02);
    sb_buf_put_be64(&b, r->slot);
    sb_buf_putc(&b, (uint8_t)r->outcome);
    if (r->outcome == SB_OUTCOME_NONE) {
        static const uint8_t zero[32];
        sb_buf_append(&b, zero, 32);
    } else {
        sb_buf_append(&b, r->proposal_id, 32);
    }
    sb_buf_put_be64(&b, r->power_for);
    sb_buf_put_be64(&b, r->total);
    size_t ml = r->outcome == SB_OUTCOME_NONE ? 0 : r->manifest_cid_len;
    sb_buf_put_be16(&b, (uint16_t)ml);
    sb_buf_append(&b, r->manifest_cid, ml);
    rc = b.oom ? -1 : add_item(c, b.data, b.len);
    sb_buf_free(&b);
    return rc;
}

int sb_apphash_finish(sb_apphash_ctx *c, const uint8_t prev[32], uint64_t height, uint8_t out[32])
{
    static const char dom[] = "sleetbubble/v1/apphash"; /* + its NUL */
    uint8_t d[32], be[8];
    unsigned int n = 32;
    if (!c->md)
        return -1;
    int ok = EVP_DigestFinal_ex(c->md, d, &n) == 1;
    sb_apphash_abort(c);
    if (!ok)
        return -1;
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(height >> (56 - 8 * i));
    sb_sha256v(out, 4, (const void *)dom, sizeof dom, (const void *)prev, (size_t)32,
               (const void *)be, sizeof be, (const void *)d, sizeof d);
    return 0;
}

void sb_apphash_abort(sb_apphash_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}
