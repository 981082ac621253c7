/* params.c — genesis app_state (protocol.md §9), canonical params JSON, the P encoding (protocol.md §7),
 * RFC 3339 times. Pure: jansson is used only to parse/print; every output is ordered
 * explicitly (sorted arrays), never by hash-table iteration. */
#include "params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ed25519.h"
#include "tx.h"

#define CHAIN_ID_MAX 50 /* CometBFT's MaxChainIDLen */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen,
                                                      const char *fmt, ...) {
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

static int cmp_validator(const void *a, const void *b) {
  return memcmp(((const sb_validator *)a)->pubkey, ((const sb_validator *)b)->pubkey, 32);
}

void sb_params_free(sb_params *p) {
  if (!p) return;
  free(p->chain_id);
  free(p->curators);
  free(p->validators);
  memset(p, 0, sizeof *p);
}

const sb_validator *sb_params_validator(const sb_params *p, const uint8_t pub[32]) {
  sb_validator key;
  if (!p || !p->n_validators) return NULL;
  memcpy(key.pubkey, pub, 32);
  return bsearch(&key, p->validators, p->n_validators, sizeof *p->validators, cmp_validator);
}

int sb_params_is_curator(const sb_params *p, const uint8_t pub[32]) {
  if (!p || !p->n_curators) return 0;
  return bsearch(pub, p->curators, p->n_curators, 32, cmp32) != NULL;
}

uint64_t sb_params_total_power(const sb_params *p) {
  uint64_t t = 0;
  for (size_t i = 0; i < p->n_validators; i++) t += (uint64_t)p->validators[i].power;
  return t;
}

/* ---- RFC 3339 ---- */

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int sb_parse_rfc3339_ns(const char *s, int64_t *out_ns) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
  int64_t frac = 0;
  if (!s || strlen(s) < 20) return -1;
  if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
      digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
      digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
    return -1;
  const char *q = s + 19;
  if (*q == '.') {
    int nd = 0;
    q++;
    while (*q >= '0' && *q <= '9') {
      if (++nd > 9) return -1;
      frac = frac * 10 + (*q - '0');
      q++;
    }
    if (nd == 0) return -1;
    for (int i = nd; i < 9; i++) frac *= 10;
  }
  if (*q == 'Z') {
    q++;
  } else if (*q == '+' || *q == '-') {
    sign = *q == '+' ? 1 : -1;
    if (digits(q + 1, 2, &oh) || q[3] != ':' || digits(q + 4, 2, &om)) return -1;
    if (oh > 23 || om > 59) return -1;
    q += 6;
  } else {
    return -1;
  }
  if (*q != '\0') return -1;
  if (mo < 1 || mo > 12 || d < 1) return -1;
  int md = mdays[mo - 1] + (mo == 2 && is_leap(y));
  if (d > md || h > 23 || mi > 59 || sec > 59) return -1;
  __int128 ns = (__int128)days_from_civil(y, mo, d) * 86400;
  ns += (__int128)h * 3600 + mi * 60 + sec;
  ns -= (__int128)sign * (oh * 3600 + om * 60);
  ns = ns * 1000000000 + frac;
  if (ns > INT64_MAX || ns < INT64_MIN) return -1;
  *out_ns = (int64_t)ns;
  return 0;
}

/* ---- shared validation ---- */

/* Sort and check curators, vote keys and validators of a filled *out. */
static int check_sets(sb_params *out, char *err, size_t errlen) {
  char hex[65];
  if (out->n_curators > 1) qsort(out->curators, out->n_curators, 32, cmp32);
  for (size_t i = 1; i < out->n_curators; i++) {
    if (memcmp(out->curators[i - 1], out->curators[i], 32) == 0) {
      sb_hex(out->curators[i], 32, hex);
      return fail(err, errlen, "app_state.curators: %s listed twice", hex);
    }
  }
  if (out->n_validators > 1)
    qsort(out->validators, out->n_validators, sizeof *out->validators, cmp_validator);
  __int128 total = 0;
  for (size_t i = 0; i < out->n_validators; i++) {
    const sb_validator *v = &out->validators[i];
    sb_hex(v->pubkey, 32, hex);
    if (i > 0 && memcmp(out->validators[i - 1].pubkey, v->pubkey, 32) == 0)
      return fail(err, errlen, "validators: %s listed twice", hex);
    if (!sb_ed25519_point_ok(v->pubkey))
      return fail(err, errlen, "validators: %s is not a valid ed25519 point (protocol.md §4)", hex);
    if (v->power <= 0)
      return fail(err, errlen, "validators: %s power %" PRId64 " must be > 0", hex, v->power);
    total += v->power;
    if (total > INT64_MAX)
      return fail(err, errlen, "validators: total power exceeds %" PRId64, INT64_MAX);
  }
  for (size_t i = 0; i < out->n_validators; i++) {
    const sb_validator *v = &out->validators[i];
    if (!v->has_vote_key) continue;
    sb_hex(v->pubkey, 32, hex);
    if (!sb_ed25519_point_ok(v->vote_key))
      return fail(err, errlen, "app_state.vote_keys.%s: not a valid ed25519 point (protocol.md §4)",
                  hex);
    if (sb_params_validator(out, v->vote_key))
      return fail(err, errlen, "app_state.vote_keys.%s: vote key equals a consensus key", hex);
    for (size_t j = 0; j < i; j++) {
      if (out->validators[j].has_vote_key &&
          memcmp(out->validators[j].vote_key, v->vote_key, 32) == 0)
        return fail(err, errlen, "app_state.vote_keys.%s: vote key used twice", hex);
    }
  }
  for (size_t i = 0; i < out->n_curators; i++) {
    if (!sb_ed25519_point_ok(out->curators[i])) {
      sb_hex(out->curators[i], 32, hex);
      return fail(err, errlen, "app_state.curators: %s is not a valid ed25519 point (protocol.md §4)",
                  hex);
    }
  }
  return 0;
}

static int check_chain_id(const char *chain_id, char *err, size_t errlen) {
  size_t n = chain_id ? strlen(chain_id) : 0;
  if (n == 0 || n > CHAIN_ID_MAX || !sb_string_ok(chain_id, n))
    return fail(err, errlen, "chain_id: must be 1..%d bytes of printable UTF-8", CHAIN_ID_MAX);
  return 0;
}

/* Integer key of obj within [lo, hi]; absent leaves *out. 0 / -1. */
static int get_uint(json_t *obj, const char *prefix, const char *key, uint64_t lo, uint64_t hi,
                    uint64_t *out, char *err, size_t errlen) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  if (!json_is_integer(v))
    return fail(err, errlen, "%s%s: must be an integer", prefix, key);
  json_int_t x = json_integer_value(v);
  if (x < 0 || (uint64_t)x < lo || (uint64_t)x > hi)
    return fail(err, errlen, "%s%s: %" JSON_INTEGER_FORMAT " outside [%" PRIu64 ", %" PRIu64 "]",
                prefix, key, x, lo, hi);
  *out = (uint64_t)x;
  return 0;
}

/* Curators array into out. */
static int get_curators(json_t *arr, const char *name, sb_params *out, char *err,
                        size_t errlen) {
  if (!json_is_array(arr)) return fail(err, errlen, "%s: must be an array", name);
  size_t n = json_array_size(arr);
  if (n) {
    out->curators = calloc(n, 32);
    if (!out->curators) return fail(err, errlen, "%s: out of memory", name);
  }
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (!s || sb_unhex(s, out->curators[i], 32) < 0)
      return fail(err, errlen, "%s[%zu]: must be a 64-digit hex pubkey", name, i);
    for (size_t j = 0; j < i; j++)
      if (memcmp(out->curators[j], out->curators[i], 32) == 0)
        return fail(err, errlen, "%s[%zu]: listed twice", name, i);
    if (!sb_ed25519_point_ok(out->curators[i]))
      return fail(err, errlen, "%s[%zu]: not a valid ed25519 point (protocol.md §4)", name, i);
    out->n_curators = i + 1;
  }
  return 0;
}

/* vote_keys object applied to out->validators (unsorted is fine: lookup is linear here). */
static int get_vote_keys(json_t *obj, const char *name, sb_params *out, char *err,
                         size_t errlen) {
  const char *k;
  json_t *v;
  if (!json_is_object(obj)) return fail(err, errlen, "%s: must be an object", name);
  json_object_foreach(obj, k, v) {
    uint8_t vpub[32], key[32];
    const char *s = json_string_value(v);
    if (sb_unhex(k, vpub, 32) < 0)
      return fail(err, errlen, "%s: key \"%.80s\" must be a 64-digit hex pubkey", name, k);
    if (!s || sb_unhex(s, key, 32) < 0)
      return fail(err, errlen, "%s.%s: must be a 64-digit hex pubkey", name, k);
    sb_validator *val = NULL;
    for (size_t i = 0; i < out->n_validators; i++)
      if (memcmp(out->validators[i].pubkey, vpub, 32) == 0) val = &out->validators[i];
    if (!val) return fail(err, errlen, "%s.%s: not a validator", name, k);
    if (val->has_vote_key) return fail(err, errlen, "%s.%s: listed twice", name, k);
    if (!sb_ed25519_point_ok(key))
      return fail(err, errlen, "%s.%s: not a valid ed25519 point (protocol.md §4)", name, k);
    for (size_t i = 0; i < out->n_validators; i++) {
      if (memcmp(out->validators[i].pubkey, key, 32) == 0)
        return fail(err, errlen, "%s.%s: vote key equals a consensus key", name, k);
      if (out->validators[i].has_vote_key && memcmp(out->validators[i].vote_key, key, 32) == 0)
        return fail(err, errlen, "%s.%s: vote key used twice", name, k);
    }
    val->has_vote_key = 1;
    memcpy(val->vote_key, key, 32);
  }
  return 0;
}

/* The first (bytewise smallest) key of obj not in known[], or NULL. */
static const char *unknown_key(json_t *obj, const char *const *known, size_t nknown) {
  const char *k, *first = NULL;
  json_t *v;
  json_object_foreach(obj, k, v) {
    size_t i;
    for (i = 0; i < nknown; i++)
      if (strcmp(k, known[i]) == 0) break;
    if (i == nknown && (!first || strcmp(k, first) < 0)) first = k;
  }
  return first;
}

int sb_params_from_genesis(const char *app_state_json, size_t len, const char *chain_id,
                           int64_t genesis_time_ns, const sb_validator *vals, size_t n_vals,
                           sb_params *out, char *err, size_t errlen) {
  static const char *const known[] = {"slot_seconds",   "close_lead_seconds",
                                      "horizon_slots",  "epoch",
                                      "max_tracks",     "max_proposals_per_slot",
                                      "max_tx_size",    "curators",
                                      "open_curation",  "vote_keys"};
  static const char P[] = "app_state.";
  int rc = -1;
  json_t *root = NULL;
  json_error_t jerr;
  uint64_t v;
  memset(out, 0, sizeof *out);
  if (err && errlen) err[0] = '\0';

  size_t ws = 0;
  while (ws < len && (app_state_json[ws] == ' ' || app_state_json[ws] == '\n' ||
                      app_state_json[ws] == '\r' || app_state_json[ws] == '\t'))
    ws++;
  if (ws == len || (len - ws == 4 && memcmp(app_state_json + ws, "null", 4) == 0)) {
    root = json_object();
  } else {
    root = json_loadb(app_state_json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
      fail(err, errlen, "app_state: invalid JSON at line %d column %d: %s", jerr.line,
           jerr.column, jerr.text);
      goto done;
    }
  }
  if (!root || !json_is_object(root)) {
    fail(err, errlen, "app_state: must be a JSON object");
    goto done;
  }
  const char *bad = unknown_key(root, known, sizeof known / sizeof known[0]);
  if (bad) {
    fail(err, errlen, "app_state.%.80s: unknown key", bad);
    goto done;
  }
  if (check_chain_id(chain_id, err, errlen) < 0) goto done;
  out->chain_id = strdup(chain_id);
  if (!out->chain_id) {
    fail(err, errlen, "out of memory");
    goto done;
  }

  out->slot_seconds = SB_DEFAULT_SLOT_SECONDS;
  out->close_lead_seconds = SB_DEFAULT_CLOSE_LEAD_SECONDS;
  out->horizon_slots = SB_DEFAULT_HORIZON_SLOTS;
  out->epoch_ns = genesis_time_ns;
  out->max_tracks = SB_DEFAULT_MAX_TRACKS;
  out->max_proposals_per_slot = SB_DEFAULT_MAX_PROPOSALS_PER_SLOT;
  out->max_tx_size = SB_DEFAULT_MAX_TX_SIZE;

  if (get_uint(root, P, "slot_seconds", 1, SB_MAX_SLOT_SECONDS, &out->slot_seconds, err,
               errlen) < 0)
    goto done;
  if (get_uint(root, P, "close_lead_seconds", 0, UINT64_MAX, &out->close_lead_seconds, err,
               errlen) < 0)
    goto done;
  if (out->close_lead_seconds == 0 || out->close_lead_seconds >= out->slot_seconds) {
    fail(err, errlen,
         "app_state.close_lead_seconds: %" PRIu64 " must be > 0 and < slot_seconds %" PRIu64,
         out->close_lead_seconds, out->slot_seconds);
    goto done;
  }
  if (get_uint(root, P, "horizon_slots", 0, SB_MAX_HORIZON_SLOTS, &out->horizon_slots, err,
               errlen) < 0)
    goto done;
  json_t *ep = json_object_get(root, "epoch");
  if (ep) {
    const char *s = json_string_value(ep);
    if (!s || sb_parse_rfc3339_ns(s, &out->epoch_ns) < 0) {
      fail(err, errlen,
           "app_state.epoch: must be RFC 3339 YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM) "
           "within int64 ns");
      goto done;
    }
    __int128 min = (__int128)genesis_time_ns - (__int128)out->slot_seconds * 1000000000;
    if ((__int128)out->epoch_ns < min) {
      fail(err, errlen, "app_state.epoch: %s is earlier than genesis time - slot_seconds", s);
      goto done;
    }
  }
  v = out->max_tracks;
  if (get_uint(root, P, "max_tracks", 1, SB_MAX_TRACKS_LIMIT, &v, err, errlen) < 0) goto done;
  out->max_tracks = (uint32_t)v;
  v = out->max_proposals_per_slot;
  if (get_uint(root, P, "max_proposals_per_slot", 1, UINT32_MAX, &v, err, errlen) < 0)
    goto done;
  out->max_proposals_per_slot = (uint32_t)v;
  v = out->max_tx_size;
  if (get_uint(root, P, "max_tx_size", 1, SB_MAX_TX_SIZE_LIMIT, &v, err, errlen) < 0) goto done;
  out->max_tx_size = (uint32_t)v;

  json_t *cur = json_object_get(root, "curators");
  if (cur && get_curators(cur, "app_state.curators", out, err, errlen) < 0) goto done;
  json_t *oc = json_object_get(root, "open_curation");
  if (oc) {
    if (!json_is_boolean(oc)) {
      fail(err, errlen, "app_state.open_curation: must be true or false");
      goto done;
    }
    out->open_curation = json_is_true(oc);
  }
  if (out->n_curators == 0 && !out->open_curation) {
    fail(err, errlen, "app_state.curators: empty list requires \"open_curation\": true");
    goto done;
  }

  if (n_vals) {
    out->validators = calloc(n_vals, sizeof *out->validators);
    if (!out->validators) {
      fail(err, errlen, "out of memory");
      goto done;
    }
    for (size_t i = 0; i < n_vals; i++) {
      memcpy(out->validators[i].pubkey, vals[i].pubkey, 32);
      out->validators[i].power = vals[i].power;
    }
    out->n_validators = n_vals;
  }
  json_t *vk = json_object_get(root, "vote_keys");
  if (vk && get_vote_keys(vk, "app_state.vote_keys", out, err, errlen) < 0) goto done;
  if (check_sets(out, err, errlen) < 0) goto done;
  rc = 0;
done:
  json_decref(root);
  if (rc < 0) sb_params_free(out);
  return rc;
}

/* ---- canonical params JSON ---- */

static int set_new(json_t *o, const char *k, json_t *v) {
  return v ? json_object_set_new(o, k, v) : -1;
}

char *sb_params_to_json(const sb_params *p) {
  char hex[65], hex2[65], num[32];
  char *s = NULL;
  int bad = 0;
  json_t *o = json_object(), *cur = json_array(), *vk = json_object(), *vals = json_array();
  if (!o || !cur || !vk || !vals) {
    json_decref(cur);
    json_decref(vk);
    json_decref(vals);
    goto done;
  }
  bad |= set_new(o, "curators", cur);
  bad |= set_new(o, "vote_keys", vk);
  bad |= set_new(o, "validators", vals);
  bad |= set_new(o, "chain_id", json_string(p->chain_id ? p->chain_id : ""));
  bad |= set_new(o, "slot_seconds", json_integer((json_int_t)p->slot_seconds));
  bad |= set_new(o, "close_lead_seconds", json_integer((json_int_t)p->close_lead_seconds));
  bad |= set_new(o, "horizon_slots", json_integer((json_int_t)p->horizon_slots));
  snprintf(num, sizeof num, "%" PRId64, p->epoch_ns);
  bad |= set_new(o, "epoch_ns", json_string(num));
  bad |= set_new(o, "max_tracks", json_integer(p->max_tracks));
  bad |= set_new(o, "max_proposals_per_slot", json_integer(p->max_proposals_per_slot));
  bad |= set_new(o, "max_tx_size", json_integer(p->max_tx_size));
  bad |= set_new(o, "open_curation", json_boolean(p->open_curation));
  for (size_t i = 0; i < p->n_curators; i++) {
    sb_hex(p->curators[i], 32, hex);
    bad |= json_array_append_new(cur, json_string(hex));
  }
  for (size_t i = 0; i < p->n_validators; i++) {
    const sb_validator *v = &p->validators[i];
    json_t *e = json_object();
    sb_hex(v->pubkey, 32, hex);
    snprintf(num, sizeof num, "%" PRId64, v->power);
    if (!e) {
      bad = 1;
      break;
    }
    bad |= set_new(e, "pub_key", json_string(hex));
    bad |= set_new(e, "power", json_string(num));
    bad |= json_array_append_new(vals, e);
    if (v->has_vote_key) {
      sb_hex(v->vote_key, 32, hex2);
      bad |= set_new(vk, hex, json_string(hex2));
    }
  }
  if (!bad) s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
done:
  json_decref(o);
  return s;
}

int sb_params_from_json(const char *json, sb_params *out, char *err, size_t errlen) {
  static const char *const known[] = {"chain_id",    "slot_seconds",           "close_lead_seconds",
                                      "horizon_slots", "epoch_ns",             "max_tracks",
                                      "max_proposals_per_slot", "max_tx_size", "open_curation",
                                      "curators",    "vote_keys",              "validators"};
  static const char P[] = "params.";
  int rc = -1;
  json_error_t jerr;
  uint64_t v = 0; /* always set by get_uint before use; -O3 cannot see it */
  memset(out, 0, sizeof *out);
  json_t *root = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &jerr);
  if (!root || !json_is_object(root)) {
    fail(err, errlen, "params: not a JSON object");
    goto done;
  }
  const size_t nknown = sizeof known / sizeof known[0];
  const char *bad = unknown_key(root, known, nknown);
  if (bad) {
    fail(err, errlen, "params.%.80s: unknown key", bad);
    goto done;
  }
  for (size_t i = 0; i < nknown; i++) {
    if (!json_object_get(root, known[i])) {
      fail(err, errlen, "params.%s: missing", known[i]);
      goto done;
    }
  }
  const char *cid = json_string_value(json_object_get(root, "chain_id"));
  if (check_chain_id(cid, err, errlen) < 0) goto done;
  out->chain_id = strdup(cid);
  if (!out->chain_id) goto done;
  if (get_uint(root, P, "slot_seconds", 1, SB_MAX_SLOT_SECONDS, &out->slot_seconds, err,
               errlen) < 0 ||
      get_uint(root, P, "close_lead_seconds", 1, out->slot_seconds - 1,
               &out->close_lead_seconds, err, errlen) < 0 ||
      get_uint(root, P, "horizon_slots", 0, SB_MAX_HORIZON_SLOTS, &out->horizon_slots, err,
               errlen) < 0)
    goto done;
  const char *ep = json_string_value(json_object_get(root, "epoch_ns"));
  {
    char *end = NULL;
    if (!ep || !*ep) {
      fail(err, errlen, "params.epoch_ns: must be a decimal string");
      goto done;
    }
    errno = 0;
    long long e = strtoll(ep, &end, 10);
    if (errno || *end || (ep[0] != '-' && (ep[0] < '0' || ep[0] > '9'))) {
      fail(err, errlen, "params.epoch_ns: must be a decimal string within int64");
      goto done;
    }
    out->epoch_ns = e;
  }
  if (get_uint(root, P, "max_tracks", 1, SB_MAX_TRACKS_LIMIT, &v, err, errlen) < 0) goto done;
  out->max_tracks = (uint32_t)v;
  if (get_uint(root, P, "max_proposals_per_slot", 1, UINT32_MAX, &v, err, errlen) < 0)
    goto done;
  out->max_proposals_per_slot = (uint32_t)v;
  if (get_uint(root, P, "max_tx_size", 1, SB_MAX_TX_SIZE_LIMIT, &v, err, errlen) < 0) goto done;
  out->max_tx_size = (uint32_t)v;
  json_t *oc = json_object_get(root, "open_curation");
  if (!json_is_boolean(oc)) {
    fail(err, errlen, "params.open_curation: must be true or false");
    goto done;
  }
  out->open_curation = json_is_true(oc);
  if (get_curators(json_object_get(root, "curators"), "params.curators", out, err, errlen) < 0)
    goto done;
  json_t *vals = json_object_get(root, "validators");
  if (!json_is_array(vals)) {
    fail(err, errlen, "params.validators: must be an array");
    goto done;
  }
  size_t nv = json_array_size(vals);
  if (nv) {
    out->validators = calloc(nv, sizeof *out->validators);
    if (!out->validators) goto done;
  }
  for (size_t i = 0; i < nv; i++) {
    json_t *e = json_array_get(vals, i);
    const char *pk = json_string_value(json_object_get(e, "pub_key"));
    const char *pw = json_string_value(json_object_get(e, "power"));
    char *end = NULL;
    if (!json_is_object(e) || json_object_size(e) != 2 || !pk ||
        sb_unhex(pk, out->validators[i].pubkey, 32) < 0 || !pw || pw[0] < '0' || pw[0] > '9') {
      fail(err, errlen, "params.validators[%zu]: must be {\"pub_key\": hex, \"power\": \"N\"}",
           i);
      goto done;
    }
    errno = 0;
    long long pwv = strtoll(pw, &end, 10);
    if (errno || *end) {
      fail(err, errlen, "params.validators[%zu].power: not an int64", i);
      goto done;
    }
    out->validators[i].power = pwv;
    out->n_validators = i + 1;
  }
  if (get_vote_keys(json_object_get(root, "vote_keys"), "params.vote_keys", out, err, errlen) <
      0)
    goto done;
  if (check_sets(out, err, errlen) < 0) goto done;
  rc = 0;
done:
  if (rc < 0 && err && errlen && !err[0]) fail(err, errlen, "params: out of memory");
  json_decref(root);
  if (rc < 0) sb_params_free(out);
  return rc;
}

/* ---- P (protocol.md §7) ---- */

int sb_params_encode(const sb_params *p, sb_buf *out) {
  size_t cl = p->chain_id ? strlen(p->chain_id) : 0;
  size_t nvk = 0;
  for (size_t i = 0; i < p->n_validators; i++) nvk += p->validators[i].has_vote_key != 0;
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
  for (size_t i = 0; i < p->n_curators; i++) sb_buf_append(out, p->curators[i], 32);
  /* validators are sorted by pubkey, so the pairs come out sorted by validator pubkey */
  sb_buf_put_be32(out, (uint32_t)nvk);
  for (size_t i = 0; i < p->n_validators; i++) {
    if (!p->validators[i].has_vote_key) continue;
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
