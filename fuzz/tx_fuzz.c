/* tx_fuzz.c — fuzz harness for the tx decoder/judge and the CID parser (src/core).
 * Built as a libFuzzer target with -fsanitize=fuzzer, or — with SB_FUZZ_MAIN — as a plain
 * program that replays the corpus files given on the command line and then runs a fixed,
 * seeded number of byte mutations of each (deterministic, so ctest can run it every time).
 * Invariants checked: no crash/leak (sanitizers), codes in range, decode/check agree on
 * ENCODING, a tx that passes ENCODING re-packs to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cid.h"
#include "ed25519.h"
#include "params.h"
#include "sb_code.h"
#include "tx.h"

static sb_params P;

static int v_yes(void *a, uint64_t s, const uint8_t k[32]) { return (int)(s & 1); }
static int v_count(void *a, uint64_t s, uint32_t *n) {
  *n = (uint32_t)(s % 3);
  return 0;
}

static void init_params(void) {
  static int done;
  if (done) return;
  done = 1;
  sb_validator v[2];
  memset(v, 0, sizeof v);
  uint8_t seed[32];
  memset(seed, 0x11, 32);
  sb_ed25519_pubkey(seed, v[0].pubkey);
  v[0].power = 30;
  memset(seed, 0x22, 32);
  sb_ed25519_pubkey(seed, v[1].pubkey);
  v[1].power = 10;
  const char *as = "{\"slot_seconds\":20,\"close_lead_seconds\":8,\"open_curation\":true,"
                   "\"max_proposals_per_slot\":4}";
  char err[256];
  if (sb_params_from_genesis(as, strlen(as), "sleetbubble-vectors", 1795392000250000000LL, v, 2,
                             &P, err, sizeof err) != 0) {
    fprintf(stderr, "fuzz genesis: %s\n", err);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_params();
  sb_tx_view view = {NULL, v_yes, v_yes, v_yes, v_count};
  sb_tx t;
  char log[256];
  int64_t now = 1795392001250000000LL + (int64_t)(size % 7) * 10000000000LL;
  int rc = sb_tx_check(&P, (size & 1) ? &view : NULL, data, size, now, &t, log, sizeof log);
  if (rc < 0 || rc > SB_PROPOSAL_LIMIT) abort();
  sb_tx_free(&t);
  int d = sb_tx_decode(data, size, P.max_tx_size, &t, NULL, 0);
  if ((rc == SB_ENCODING) != (d == SB_ENCODING)) abort();
  if (d == SB_OK) {
    size_t n = sleetbubble__v1__tx__get_packed_size(t.tx);
    uint8_t *b = malloc(n ? n : 1);
    if (!b) abort();
    sleetbubble__v1__tx__pack(t.tx, b);
    if (n != size || memcmp(b, data, n) != 0) abort();
    free(b);
  }
  sb_tx_free(&t);
  uint8_t bin[SB_CID_BIN_MAX];
  size_t bl;
  char back[SB_CID_STR_MAX];
  if (sb_cid_parse((const char *)data, size, bin, &bl) == 0) {
    if (sb_cid_to_string(bin, bl, back, sizeof back) != 0) abort();
    if (strlen(back) != size || memcmp(back, data, size) != 0) abort();
  }
  return 0;
}

#ifdef SB_FUZZ_MAIN
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(int argc, char **argv) {
  int rounds = 2000;
  const char *r = getenv("SB_FUZZ_ROUNDS");
  if (r) rounds = (int)strtol(r, NULL, 10);
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) {
      fprintf(stderr, "cannot open %s\n", argv[i]);
      return 2;
    }
    uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    for (int k = 0; k < rounds; k++) {
      uint8_t m[(1 << 16) + 8];
      size_t mn = n;
      memcpy(m, buf, n);
      int edits = 1 + (int)(next() % 4);
      for (int e = 0; e < edits; e++) {
        uint64_t x = next();
        switch (x % 4) {
        case 0: if (mn) m[(x >> 8) % mn] ^= (uint8_t)(1u << ((x >> 40) % 8)); break;
        case 1: if (mn) m[(x >> 8) % mn] = (uint8_t)(x >> 32); break;
        case 2: if (mn) mn = (x >> 8) % mn; break; /* truncate */
        case 3: if (mn < sizeof m - 1) m[mn++] = (uint8_t)(x >> 16); break;
        }
      }
      LLVMFuzzerTestOneInput(m, mn);
    }
  }
  printf("tx_fuzz: %d inputs x %d mutations, no invariant broken\n", argc - 1, rounds);
  sb_params_free(&P);
  return 0;
}
#endif
