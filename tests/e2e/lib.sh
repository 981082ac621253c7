# shellcheck shell=bash
# End-to-end test helpers: a localnet in a temp dir driven through scripts/localnet, stopped by
# pid on any exit; assertions; per-node queries; the background app-hash agreement checker.
set -euo pipefail
e2e_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/env.sh
. "$e2e_lib/../../scripts/env.sh"
# shellcheck source=scripts/lib/common.sh
. "$e2e_lib/../../scripts/lib/common.sh"
# shellcheck source=scripts/lib/localnet.sh
. "$e2e_lib/../../scripts/lib/localnet.sh"

SB_PROG=${SB_PROG:-$(basename "$0")}
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-e2e.XXXXXX")
NET=$T/net
CHECKER_PID=""
E2E_KEEP=${SB_E2E_KEEP:-0}   # 1: keep $T even on success

LN() { "$SLEETBUBBLE_ROOT/scripts/localnet" "$@" --home "$NET"; }

e2e_cleanup() {
  local rc=$?
  [ -z "$CHECKER_PID" ] || { touch "$T/checker.stop"; sb_stop_pid "$CHECKER_PID"; }
  [ ! -f "$NET/pids" ] || LN down >/dev/null 2>&1 || true
  sb_stop_all
  if [ $rc -ne 0 ]; then
    sb_log "FAILED (rc=$rc); logs kept in $T"
    local f
    for f in "$NET"/node*/*.log "$T"/*.log; do
      [ -f "$f" ] && { echo "--- tail $f"; tail -n 15 "$f"; } >&2
    done
  elif [ "$E2E_KEEP" = 1 ]; then
    sb_log "kept $T"
  else
    # as root the on-air files live outside $NET (scripts/lib/localnet.sh ln_onair_dir)
    if [ -f "$NET/onair_dir" ]; then rm -rf "$(cat "$NET/onair_dir")"; fi
    rm -rf "$T"
  fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/tap.sh
. "$e2e_lib/../tap.sh"
note() { printf '# %s\n' "$*"; }

# Per-node helpers (NODE 0..3), after the network exists.
rpc() { echo "http://127.0.0.1:$(jq -r --argjson i "$1" '.nodes[$i].rpc' "$NET/network.json")"; }
api() { echo "http://127.0.0.1:$(jq -r --argjson i "$1" '.nodes[$i].kubo_api' "$NET/network.json")"; }
height() { sb_height "$(rpc "$1")" 2>/dev/null || echo 0; }
# q NODE PATH -> "CODE VALUE_JSON"; qv NODE PATH -> VALUE_JSON
q() {
  local r; r=$(sb_rpc "$(rpc "$1")" abci_query "path=%22$2%22") || { echo "rpc-error"; return 0; }
  printf '%s ' "$(jq -r .result.response.code <<<"$r")"
  jq -r '.result.response.value // ""' <<<"$r" | base64 -d
  echo
}
qv() { q "$1" "$2" | cut -d' ' -f2-; }
max_height() { # max_height NODE… -> highest latest height among the nodes that answer
  local m=0 i h
  for i in "$@"; do h=$(height "$i"); ((h > m)) && m=$h; done
  echo "$m"
}
# wait_grow NODE N TIMEOUT: NODE's height grows by N blocks.
wait_grow() {
  local h; h=$(height "$1")
  sb_wait_height "$(rpc "$1")" $((h + $2)) "$3"
}
# caught_up NODE REF: NODE's height reached REF's height at the time of the call.
caught_up() {
  local target; target=$(height "$2")
  sb_wait_height "$(rpc "$1")" "$target" "${3:-90}"
}
winner_done() { [ "$(q "$1" "/winner/$2" | cut -d' ' -f1)" = 0 ]; }
wait_finalized() { sb_wait_for "slot $2 finalized on node$1" "${3:-90}" winner_done "$1" "$2"; }
all_pinned() { qv "$1" "/pins/$2" | jq -e '.all_pinned == true' >/dev/null 2>&1; }
wait_pinned() { sb_wait_for "slot $2 pinned on node$1" "${3:-120}" all_pinned "$1" "$2"; }

# ---- app-hash agreement checker ----------------------------------------------------------
# Runs in the background until $T/checker.stop exists. For every node that answers it reads
# (a) every block header it has (via /blockchain, 20 at a time): header h carries the app hash
# after block h-1; (b) abci_info: the app's own hash after its last committed block. Every
# claim "state after height h has hash X" is compared with the first one seen for h (from any
# node, either source). Writes $T/checker.state ("claims=N mismatches=M heights=H") each round
# and one line per mismatch to $T/mismatches.log.
agreement_checker() {
  local -A ref
  local -a seen=(0 0 0 0)
  local claims=0 mism=0 i r h x top lo hi
  claim() { # claim HEIGHT HASH NODE SOURCE
    [ -n "$2" ] || return 0
    claims=$((claims + 1))
    if [ -z "${ref[$1]:-}" ]; then ref[$1]=$2
    elif [ "${ref[$1]}" != "$2" ]; then
      mism=$((mism + 1))
      echo "height $1: node$3 ($4) says $2, first seen ${ref[$1]}" >>"$T/mismatches.log"
    fi
  }
  while [ ! -f "$T/checker.stop" ]; do
    for i in 0 1 2 3; do
      r=$(curl -fsS --max-time 3 "$(rpc $i)/abci_info" 2>/dev/null) || continue
      h=$(jq -r '.result.response.last_block_height // 0' <<<"$r")
      x=$(jq -r '.result.response.last_block_app_hash // ""' <<<"$r" | base64 -d | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F)
      ((h > 0)) && claim "$h" "$x" $i app
      top=$(height $i)
      while ((seen[i] < top)); do
        lo=$((seen[i] + 1)) hi=$((seen[i] + 20))
        ((hi > top)) && hi=$top
        r=$(curl -fsS --max-time 5 "$(rpc $i)/blockchain?minHeight=$lo&maxHeight=$hi" 2>/dev/null) || break
        while read -r h x; do
          ((h > 1)) && claim $((h - 1)) "$x" $i header
        done < <(jq -r '.result.block_metas[] | "\(.header.height) \(.header.app_hash)"' <<<"$r")
        seen[i]=$hi
      done
    done
    echo "claims=$claims mismatches=$mism heights=${#ref[@]}" >"$T/checker.state.tmp"
    mv "$T/checker.state.tmp" "$T/checker.state"
    sleep 1
  done
}
checker_field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/checker.state" 2>/dev/null || echo 0; }
