/* tune.c — `tune`: the winner of a slot as an extended M3U of gateway URLs (protocol.md §12). */
#include "tune.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "cid.h"
#include "cli.h"
#include "rpc.h"
#include "sb_code.h"

#define M3U_MAX (64u * 1024u * 1024u)

/* Append s with CR/LF replaced by spaces (an M3U entry is one line). */
static void put_line_safe(sb_buf *b, const char *s) {
  for (; *s; s++) sb_buf_putc(b, (*s == '\r' || *s == '\n') ? ' ' : (uint8_t)*s);
}

int cli_tune_m3u(json_t *winner, const char *gateway, sb_buf *out, char *err, size_t errlen) {
  json_t *tracks = json_object_get(winner, "tracks");
  size_t n = json_array_size(tracks);
  size_t gl = strlen(gateway);
  char line[128];
  while (gl && gateway[gl - 1] == '/') gl--;
  if (!json_is_array(tracks) || n == 0) {
    snprintf(err, errlen, "the winner has no tracks");
    return -1;
  }
  sb_buf_puts(out, "#EXTM3U\n");
  const char *slot = json_string_value(json_object_get(winner, "slot"));
  const char *outcome = json_string_value(json_object_get(winner, "outcome"));
  if (slot) {
    sb_buf_puts(out, "#PLAYLIST:Sleetbubble slot ");
    put_line_safe(out, slot);
    if (outcome) {
      sb_buf_puts(out, " (");
      put_line_safe(out, outcome);
      sb_buf_puts(out, ")");
    }
    sb_buf_putc(out, '\n');
  }
  for (size_t i = 0; i < n; i++) {
    json_t *t = json_array_get(tracks, i);
    const char *cid = json_string_value(json_object_get(t, "cid"));
    const char *title = json_string_value(json_object_get(t, "title"));
    const char *artist = json_string_value(json_object_get(t, "artist"));
    json_t *d = json_object_get(t, "duration_ms");
    uint8_t bin[SB_CID_BIN_MAX];
    size_t binlen;
    if (!cid || sb_cid_parse(cid, strlen(cid), bin, &binlen) < 0) {
      snprintf(err, errlen, "tracks[%zu].cid: missing or not a CID", i);
      return -1;
    }
    if (!json_is_integer(d) || json_integer_value(d) < 0) {
      snprintf(err, errlen, "tracks[%zu].duration_ms: missing or negative", i);
      return -1;
    }
    uint64_t secs = ((uint64_t)json_integer_value(d) + 500u) / 1000u;
    if (secs < 1) secs = 1;
    snprintf(line, sizeof line, "#EXTINF:%" PRIu64 ",", secs);
    sb_buf_puts(out, line);
    if (artist && *artist) {
      put_line_safe(out, artist);
      sb_buf_puts(out, " - ");
    }
    put_line_safe(out, title && *title ? title : cid);
    sb_buf_putc(out, '\n');
    sb_buf_append(out, gateway, gl);
    sb_buf_puts(out, "/ipfs/");
    sb_buf_puts(out, cid);
    sb_buf_putc(out, '\n');
  }
  if (out->oom) {
    snprintf(err, errlen, "playlist too large");
    return -1;
  }
  return 0;
}

/* Resolve --slot N|current (default current) into *slot. Returns an exit status. */
static int resolve_slot(cli_ctx *c, const cli_rpc *r, uint64_t *slot) {
  const char *s = c->slot ? c->slot : "current";
  if (strcmp(s, "current") != 0) {
    if (cli_parse_u64(s, slot) < 0) {
      cli_errf("--slot: \"%s\" is not a slot number or \"current\"", s);
      return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
  }
  cli_slot_now now;
  int rc = cli_slot_now_get(c, r, &now);
  if (!rc) *slot = now.slot;
  return rc;
}

int cli_cmd_tune(cli_ctx *c) {
  char err[1024], path[64];
  cli_rpc r = {.url = c->node, .timeout_s = c->timeout_s};
  cli_query q = {0};
  sb_buf m3u;
  uint64_t slot;
  int rc;
  sb_buf_init(&m3u, M3U_MAX);
  if (c->nargs) {
    cli_errf("usage: sleetbubble tune [--slot N|current] [-o FILE.m3u]");
    return CLI_EXIT_USAGE;
  }
  if ((rc = resolve_slot(c, &r, &slot))) return rc;
  snprintf(path, sizeof path, "/winner/%" PRIu64, slot);
  if ((rc = cli_query_value(c, &r, path, &q))) return rc;
  const char *outcome = json_string_value(json_object_get(q.value, "outcome"));
  if (outcome && strcmp(outcome, "NONE") == 0) {
    cli_errf("slot %" PRIu64 " has no winner (outcome NONE): nothing to play", slot);
    rc = CLI_EXIT_REJECTED;
    goto done;
  }
  if (cli_tune_m3u(q.value, c->gateway, &m3u, err, sizeof err) < 0) {
    cli_errf("slot %" PRIu64 ": %s", slot, err);
    rc = CLI_EXIT_UNREACHABLE;
    goto done;
  }
  if (c->out_file) {
    if (cli_write_file(c->out_file, m3u.data, m3u.len, err, sizeof err) < 0) {
      cli_errf("%s", err);
      rc = CLI_EXIT_USAGE;
      goto done;
    }
    fprintf(stderr, "wrote slot %" PRIu64 " (%zu tracks) to %s\n", slot,
            json_array_size(json_object_get(q.value, "tracks")), c->out_file);
  } else {
    fwrite(m3u.data, 1, m3u.len, stdout);
  }
  rc = CLI_EXIT_OK;
done:
  sb_buf_free(&m3u);
  cli_query_free(&q);
  return rc;
}
