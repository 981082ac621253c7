# shellcheck shell=bash
# Integration-test helpers: a temp dir, pid tracking and cleanup on any exit, assertions.
set -euo pipefail
here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/env.sh
. "$here_lib/../../scripts/env.sh"
# shellcheck source=scripts/lib/common.sh
. "$here_lib/../../scripts/lib/common.sh"

SB_PROG=${SB_PROG:-$(basename "$0")}
# SB_USE_COMETBFT_V1=1: run the test against CometBFT v1.0.x instead of v0.38 (protocol.md §2).
if [ "${SB_USE_COMETBFT_V1:-0}" = 1 ]; then
  [ -x "$COMETBFT_V1" ] || { echo "CometBFT $COMETBFT_V1_VERSION missing: run scripts/bootstrap" >&2; exit 1; }
  export SB_COMETBFT=$COMETBFT_V1
fi
# SB_USE_COMETBFT_V040=1: against the newest line, CometBFT v0.40.x (mempool.type = "flood").
if [ "${SB_USE_COMETBFT_V040:-0}" = 1 ]; then
  [ -x "$COMETBFT_V040" ] || { echo "CometBFT $COMETBFT_V040_VERSION missing: run scripts/bootstrap" >&2; exit 1; }
  export SB_COMETBFT=$COMETBFT_V040
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-it.XXXXXX")
sb_test_cleanup() {
  local rc=$?
  sb_stop_all
  if [ $rc -ne 0 ]; then
    sb_log "FAILED (rc=$rc); logs kept in $T"
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- tail $f"; tail -n 25 "$f"; } >&2; done
  else
    rm -rf "$T"
  fi
}
trap sb_test_cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/tap.sh
. "$here_lib/../tap.sh"

# Ports: every test listens on its own fixed loopback ports BELOW 32768, outside Linux's
# ephemeral range (32768-60999): a client connection may otherwise hold the port we want to
# bind. Bases are overridable per test (SB_PORT_BASE, ...).
b64d() { printf '%s' "$1" | base64 -d; }
b64hex() { printf '%s' "$1" | base64 -d | od -An -tx1 -v | tr -d ' \n' | tr 'a-f' 'A-F'; }

# check_app_hash RPC: the app's committed app hash (abci_info, at height h) must be the one in
# header h+1, which CometBFT fills with the app hash after block h.
check_app_hash() {
  local rpc=$1 info h hash next
  info=$(sb_rpc "$rpc" abci_info)
  h=$(jq -r .result.response.last_block_height <<<"$info")
  hash=$(b64hex "$(jq -r .result.response.last_block_app_hash <<<"$info")")
  sb_wait_height "$rpc" $((h + 1)) 30 || fail "no block after $h"
  next=$(sb_rpc "$rpc" block "height=$((h + 1))" | jq -r .result.block.header.app_hash)
  expect_eq "$next" "$hash" "app hash in header $((h + 1)) vs the app's own at $h"
}
