/* test_vectors.c — the SPEC test vectors (../shared/vectors/sleetbubble-v1.json) and our
 * published extras (tests/vectors/sleetbubble-extra.json) through src/core alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cid.h"
#include "core_test_util.h"
#include "manifest.h"
#include "sb_code.h"

static json_t *load(const char *name) {
  char path[1024];
  return tu_load_json(tu_vectors_path(name, path, sizeof path));
}

static int64_t block_time(json_t *b) {
  return strtoll(json_string_value(json_object_get(b, "time_ns")), NULL, 10);
}

static void check_genesis_hash(const char *file) {
  json_t *v = load(file);
  sb_params p;
  uint8_t h0[32];
  char hex[65];
  tu_params_from_genesis_json(json_object_get(v, "genesis"), &p);
  sb_apphash_genesis(&p, h0);
  sb_hex(h0, 32, hex);
  assert_string_equal(hex, json_string_value(json_object_get(v, "H_0")));
  sb_params_free(&p);
  json_decref(v);
}

static void genesis_app_hash_equals_vector_h0(void **state) {
  check_genesis_hash("sleetbubble-v1.json");
}

/* A tx expected to get code 1 must fail decoding; every other must decode. */
static void check_decoding(const char *file) {
  json_t *v = load(file);
  json_t *blocks = json_object_get(v, "blocks");
  size_t bi, ti, count = 0;
  json_t *b, *tx;
  json_array_foreach(blocks, bi, b) {
    json_array_foreach(json_object_get(b, "txs"), ti, tx) {
      size_t n;
      uint8_t *bytes = tu_unhex_alloc(json_string_value(tx), &n);
      assert_non_null(bytes);
      int want = (int)json_integer_value(json_array_get(json_object_get(b, "codes"), ti));
      sb_tx t;
      int rc = sb_tx_decode(bytes, n, 1u << 20, &t, NULL, 0);
      assert_int_equal(rc, want == SB_ENCODING ? SB_ENCODING : SB_OK);
      sb_tx_free(&t);
      free(bytes);
      count++;
    }
  }
  assert_true(count > 0);
  json_decref(v);
}

static void every_vector_tx_decodes_unless_its_code_is_encoding(void **state) {
  check_decoding("sleetbubble-v1.json");
}

/* Without a view the stateful checks are skipped: the code must match, or be OK where the
 * expected code is stateful (DUPLICATE, UNKNOWN_PROPOSAL, PROPOSAL_LIMIT). */
static void check_stateless(const char *file) {
  json_t *v = load(file);
  sb_params p;
  tu_params_from_genesis_json(json_object_get(v, "genesis"), &p);
  size_t bi, ti;
  json_t *b, *tx;
  json_array_foreach(json_object_get(v, "blocks"), bi, b) {
    int64_t t = block_time(b);
    json_array_foreach(json_object_get(b, "txs"), ti, tx) {
      size_t n;
      uint8_t *bytes = tu_unhex_alloc(json_string_value(tx), &n);
      int want = (int)json_integer_value(json_array_get(json_object_get(b, "codes"), ti));
      char log[256];
      int rc = sb_tx_check(&p, NULL, bytes, n, t, NULL, log, sizeof log);
      if (want == SB_DUPLICATE || want == SB_UNKNOWN_PROPOSAL || want == SB_PROPOSAL_LIMIT)
        assert_int_equal(rc, SB_OK);
      else if (rc != want)
        fail_msg("%s block %zu tx %zu: got %d (%s) want %d", file, bi, ti, rc, log, want);
      free(bytes);
    }
  }
  sb_params_free(&p);
  json_decref(v);
}

static void stateless_codes_match_vectors(void **state) { check_stateless("sleetbubble-v1.json"); }

/* Each manifest in the file is rebuilt from the proposal tx with that id. */
static void check_manifests(const char *file) {
  json_t *v = load(file);
  size_t bi, fi, ti, found = 0;
  json_t *b, *f, *tx;
  json_array_foreach(json_object_get(v, "blocks"), bi, b) {
    json_array_foreach(json_object_get(b, "finalized"), fi, f) {
      const char *want = json_string_value(json_object_get(f, "manifest"));
      if (!want) continue;
      const char *winner = json_string_value(json_object_get(f, "winner"));
      int built = 0;
      size_t bj;
      json_t *b2;
      json_array_foreach(json_object_get(v, "blocks"), bj, b2) {
        json_array_foreach(json_object_get(b2, "txs"), ti, tx) {
          size_t n;
          uint8_t *bytes = tu_unhex_alloc(json_string_value(tx), &n);
          sb_tx t;
          char idhex[65];
          if (sb_tx_decode(bytes, n, 1u << 20, &t, NULL, 0) == SB_OK &&
              t.kind == SB_TX_KIND_PROPOSAL) {
            sb_hex(t.id, 32, idhex);
            if (strcmp(idhex, winner) == 0 && !built) {
              sb_buf m;
              uint8_t cid[37];
              char cidstr[SB_CID_STR_MAX];
              sb_buf_init(&m, 1 << 20);
              assert_int_equal(sb_manifest_build(t.proposal, t.id, &m), 0);
              assert_int_equal(m.len, strlen(want));
              assert_memory_equal(m.data, want, m.len);
              sb_cid_dagjson(m.data, m.len, cid);
              assert_int_equal(sb_cid_to_string(cid, 37, cidstr, sizeof cidstr), 0);
              assert_string_equal(cidstr, json_string_value(json_object_get(f, "manifest_cid")));
              sb_buf_free(&m);
              built = 1;
            }
          }
          sb_tx_free(&t);
          free(bytes);
        }
      }
      assert_true(built);
      found++;
    }
  }
  assert_true(found > 0);
  json_decref(v);
}

static void manifests_and_cids_are_reproduced_from_the_winning_proposal(void **state) {
  check_manifests("sleetbubble-v1.json");
}

/* Replay every block through the in-memory chain; codes, finalized slots, app hashes. */
static void replay(const char *file) {
  json_t *v = load(file);
  json_t *g = json_object_get(v, "genesis");
  sb_params p;
  tu_chain c;
  char hex[65];
  tu_params_from_genesis_json(g, &p);
  int64_t ih = strtoll(json_string_value(json_object_get(g, "initial_height")), NULL, 10);
  tu_chain_init(&c, &p, ih);
  sb_hex(c.app_hash, 32, hex);
  assert_string_equal(hex, json_string_value(json_object_get(v, "H_0")));
  size_t bi, i;
  json_t *b;
  json_array_foreach(json_object_get(v, "blocks"), bi, b) {
    json_t *txs = json_object_get(b, "txs");
    size_t n = json_array_size(txs);
    uint8_t *bytes[64];
    size_t lens[64];
    assert_true(n <= 64);
    for (i = 0; i < n; i++) bytes[i] = tu_unhex_alloc(json_string_value(json_array_get(txs, i)), &lens[i]);
    tu_chain_block(&c, block_time(b), bytes, lens, n);
    assert_int_equal(c.height, json_integer_value(json_object_get(b, "height")));
    for (i = 0; i < n; i++) {
      int want = (int)json_integer_value(json_array_get(json_object_get(b, "codes"), i));
      if (c.codes[i] != want)
        fail_msg("%s block %zu tx %zu: code %d want %d", file, bi, i, c.codes[i], want);
      free(bytes[i]);
    }
    json_t *fin = json_object_get(b, "finalized");
    assert_int_equal(c.n_fin, json_array_size(fin));
    for (i = 0; i < c.n_fin; i++) {
      json_t *f = json_array_get(fin, i);
      const sb_slot_record *r = &c.fin[i];
      assert_int_equal(r->slot, json_integer_value(json_object_get(f, "slot")));
      assert_string_equal(sb_outcome_name(r->outcome),
                          json_string_value(json_object_get(f, "outcome")));
      if (r->outcome == SB_OUTCOME_NONE) {
        hex[0] = '\0';
      } else {
        sb_hex(r->proposal_id, 32, hex);
      }
      assert_string_equal(hex, json_string_value(json_object_get(f, "winner")));
      char cid[SB_CID_STR_MAX] = "";
      if (r->manifest_cid_len)
        assert_int_equal(sb_cid_to_string(r->manifest_cid, r->manifest_cid_len, cid, sizeof cid), 0);
      assert_string_equal(cid, json_string_value(json_object_get(f, "manifest_cid")));
      const char *m = json_string_value(json_object_get(f, "manifest"));
      if (m) assert_string_equal(c.manifests[i], m);
      json_t *pf = json_object_get(f, "power_for");
      if (pf) assert_int_equal(r->power_for, strtoull(json_string_value(pf), NULL, 10));
    }
    sb_hex(c.app_hash, 32, hex);
    if (strcmp(hex, json_string_value(json_object_get(b, "app_hash"))) != 0)
      fail_msg("%s block %zu: app hash %s want %s", file, bi, hex,
               json_string_value(json_object_get(b, "app_hash")));
  }
  tu_chain_free(&c);
  json_decref(v);
}

static void replaying_the_vector_blocks_reaches_every_app_hash(void **state) {
  replay("sleetbubble-v1.json");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(genesis_app_hash_equals_vector_h0),
      cmocka_unit_test(every_vector_tx_decodes_unless_its_code_is_encoding),
      cmocka_unit_test(stateless_codes_match_vectors),
      cmocka_unit_test(manifests_and_cids_are_reproduced_from_the_winning_proposal),
      cmocka_unit_test(replaying_the_vector_blocks_reaches_every_app_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
