/* core_test_util.c — see core_test_util.h. */
#include "core_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "manifest.h"
#include "sb_time.h"
#include "sb_code.h"
#include "slot.h"

uint8_t *tu_unhex_alloc(const char *hex, size_t *n)
{
    size_t l = strlen(hex);
    if (l % 2)
        return NULL;
    uint8_t *b = malloc(l / 2 + 1);
    assert_non_null(b);
    if (sb_unhex(hex, b, l / 2) < 0) {
        free(b);
        return NULL;
    }
    *n = l / 2;
    return b;
}

json_t *tu_load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("cannot load %s: %s (line %d)", path, e.text, e.line);
    return j;
}

const char *tu_vectors_path(const char *name, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%s/%s", SB_VECTORS_DIR, name);
    FILE *f = fopen(buf, "r");
    if (f) {
        fclose(f);
        return buf;
    }
    snprintf(buf, buflen, "%s/%s", SB_VECTORS_FALLBACK_DIR, name);
    return buf;
}

void tu_tiebreak_ref(const uint8_t prev[32], uint64_t slot, const uint8_t id[32], uint8_t out[32])
{
    uint8_t pre[24 + 32 + 8 + 32];
    memcpy(pre, "sleetbubble/v1/tiebreak", 23);
    pre[23] = 0;
    memcpy(pre + 24, prev, 32);
    for (int i = 0; i < 8; i++)
        pre[56 + i] = (uint8_t)(slot >> (8 * (7 - i)));
    memcpy(pre + 64, id, 32);
    unsigned l = 0;
    assert_int_equal(EVP_Digest(pre, sizeof pre, out, &l, EVP_sha256(), NULL), 1);
    assert_int_equal(l, 32);
}

void tu_seed(const char *hex, uint8_t seed[32]) { assert_int_equal(sb_unhex(hex, seed, 32), 0); }

void tu_params_from_genesis_json(json_t *g, sb_params *out)
{
    char err[256] = "";
    int64_t gt;
    const char *chain_id = json_string_value(json_object_get(g, "chain_id"));
    assert_non_null(chain_id);
    assert_int_equal(
        sb_parse_rfc3339_ns(json_string_value(json_object_get(g, "genesis_time")), &gt), 0);
    json_t *vals = json_object_get(g, "validators");
    size_t nv = json_array_size(vals);
    sb_validator *v = calloc(nv ? nv : 1, sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < nv; i++) {
        json_t *e = json_array_get(vals, i);
        const char *b64 =
            json_string_value(json_object_get(json_object_get(e, "pub_key"), "value"));
        uint8_t raw[48];
        assert_non_null(b64);
        int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
        assert_int_equal(n, 33); /* 32 bytes + one padding byte counted by EVP_DecodeBlock */
        memcpy(v[i].pubkey, raw, 32);
        v[i].power = strtoll(json_string_value(json_object_get(e, "power")), NULL, 10);
    }
    char *as = json_dumps(json_object_get(g, "app_state"), JSON_COMPACT);
    assert_non_null(as);
    int rc = sb_params_from_genesis(as, strlen(as), chain_id, gt, v, nv, out, err, sizeof err);
    if (rc != 0)
        fail_msg("genesis: %s", err);
    free(as);
    free(v);
}

/* ---- in-memory view ---- */

static int v_proposal_exists(void *arg, uint64_t slot, const uint8_t id[32])
{
    tu_chain *c = arg;
    for (size_t i = 0; i < c->n_props; i++)
        if (c->props[i].slot == slot && memcmp(c->props[i].id, id, 32) == 0)
            return 1;
    return 0;
}

static int v_curator_proposed(void *arg, uint64_t slot, const uint8_t cur[32])
{
    tu_chain *c = arg;
    for (size_t i = 0; i < c->n_props; i++)
        if (c->props[i].slot == slot && memcmp(c->props[i].curator, cur, 32) == 0)
            return 1;
    return 0;
}

static int v_validator_voted(void *arg, uint64_t slot, const uint8_t val[32])
{
    tu_chain *c = arg;
    for (size_t i = 0; i < c->n_votes; i++)
        if (c->votes[i].slot == slot && memcmp(c->votes[i].validator, val, 32) == 0)
            return 1;
    return 0;
}

static int v_proposal_count(void *arg, uint64_t slot, uint32_t *count)
{
    tu_chain *c = arg;
    uint32_t n = 0;
    for (size_t i = 0; i < c->n_props; i++)
        n += c->props[i].slot == slot;
    *count = n;
    return 0;
}

sb_tx_view tu_chain_view(tu_chain *c)
{
    sb_tx_view v = { c, v_proposal_exists, v_curator_proposed, v_validator_voted,
                     v_proposal_count };
    return v;
}

void tu_chain_init(tu_chain *c, sb_params *params, int64_t initial_height)
{
    memset(c, 0, sizeof *c);
    c->params = *params;
    memset(params, 0, sizeof *params);
    sb_apphash_genesis(&c->params, c->app_hash);
    c->height = initial_height - 1;
}

void tu_chain_block(tu_chain *c, int64_t t_ns, uint8_t **txs, size_t *lens, size_t n)
{
    sb_apphash_ctx ctx;
    sb_tx_view view = tu_chain_view(c);
    int64_t h = c->height + 1;
    assert_true(n <= 64);
    assert_int_equal(sb_apphash_begin(&ctx), 0);
    c->n_codes = n;
    c->n_fin = 0;
    for (size_t i = 0; i < n; i++) {
        sb_tx t;
        char log[256];
        int code = sb_tx_check(&c->params, &view, txs[i], lens[i], t_ns, &t, log, sizeof log);
        assert_true(code >= 0);
        c->codes[i] = code;
        if (code == SB_OK) {
            assert_int_equal(sb_apphash_add_tx(&ctx, txs[i], lens[i]), 0);
            if (t.kind == SB_TX_KIND_PROPOSAL) {
                c->props = realloc(c->props, (c->n_props + 1) * sizeof *c->props);
                assert_non_null(c->props);
                tu_proposal *p = &c->props[c->n_props++];
                memset(p, 0, sizeof *p);
                p->slot = t.slot;
                memcpy(p->id, t.id, 32);
                memcpy(p->curator, t.signer, 32);
                p->tx = malloc(lens[i]);
                assert_non_null(p->tx);
                memcpy(p->tx, txs[i], lens[i]);
                p->txlen = lens[i];
            } else {
                c->votes = realloc(c->votes, (c->n_votes + 1) * sizeof *c->votes);
                assert_non_null(c->votes);
                tu_vote *v = &c->votes[c->n_votes++];
                v->slot = t.slot;
                memcpy(v->validator, t.signer, 32);
                memcpy(v->id, t.id, 32);
                const sb_validator *val = sb_params_validator(&c->params, t.signer);
                assert_non_null(val);
                for (size_t k = 0; k < c->n_props; k++)
                    if (c->props[k].slot == t.slot && memcmp(c->props[k].id, t.id, 32) == 0)
                        c->props[k].power_for += (uint64_t)val->power;
            }
        }
        sb_tx_free(&t);
    }
    /* finalize every slot with close(s) <= t, in order */
    while (sb_slot_close(&c->params, c->next_slot) <= (__int128)t_ns) {
        uint64_t s = c->next_slot;
        sb_tally_candidate cand[64];
        size_t nc = 0;
        for (size_t k = 0; k < c->n_props; k++) {
            if (c->props[k].slot != s)
                continue;
            assert_true(nc < 64);
            memcpy(cand[nc].id, c->props[k].id, 32);
            cand[nc].power_for = c->props[k].power_for;
            nc++;
        }
        const sb_slot_record *prev = s > 0 ? &c->slots[s - 1] : NULL;
        sb_slot_record r;
        assert_int_equal(sb_tally(s, cand, nc, sb_params_total_power(&c->params),
                                  !c->params.open_curation, c->app_hash, prev, h, &r),
                         0);
        assert_true(c->n_fin < 16);
        c->manifests[c->n_fin][0] = '\0';
        if (r.outcome == SB_OUTCOME_SUPERMAJORITY || r.outcome == SB_OUTCOME_FALLBACK) {
            tu_proposal *p = NULL;
            for (size_t k = 0; k < c->n_props; k++)
                if (c->props[k].slot == s && memcmp(c->props[k].id, r.proposal_id, 32) == 0)
                    p = &c->props[k];
            assert_non_null(p);
            sb_tx t;
            assert_int_equal(sb_tx_decode(p->tx, p->txlen, c->params.max_tx_size, &t, NULL, 0), 0);
            sb_buf m;
            sb_buf_init(&m, 1 << 20);
            assert_int_equal(sb_manifest_build(t.proposal, t.id, &m), 0);
            assert_true(m.len < sizeof c->manifests[0]);
            memcpy(c->manifests[c->n_fin], m.data, m.len);
            c->manifests[c->n_fin][m.len] = '\0';
            sb_cid_dagjson(m.data, m.len, r.manifest_cid);
            r.manifest_cid_len = 37;
            sb_buf_free(&m);
            sb_tx_free(&t);
        }
        assert_int_equal(sb_apphash_add_slot(&ctx, &r), 0);
        c->slots = realloc(c->slots, (s + 1) * sizeof *c->slots);
        assert_non_null(c->slots);
        c->slots[s] = r;
        c->n_slots = s + 1;
        c->fin[c->n_fin++] = r;
        c->next_slot++;
    }
    assert_int_equal(sb_apphash_finish(&ctx, c->app_hash, (uint64_t)h, c->app_hash), 0);
    c->height = h;
}

void tu_chain_free(tu_chain *c)
{
    for (size_t i = 0; i < c->n_props; i++)
        free(c->props[i].tx);
    free(c->props);
    free(c->votes);
    free(c->slots);
    sb_params_free(&c->params);
    memset(c, 0, sizeof *c);
}
