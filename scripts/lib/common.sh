# shellcheck shell=bash
# Shared helpers for scripts and integration tests: process tracking, ports, CometBFT and Kubo
# set-up on loopback, bounded waits. Source after scripts/env.sh.

SB_PIDS=()
sb_log() { printf '%s: %s\n' "${SB_PROG:-sleetbubble}" "$*" >&2; }
sb_die() { sb_log "error: $*"; exit 1; }

# Record a background process so sb_stop_all kills it by pid.
sb_track() { SB_PIDS+=("$1"); }

# sb_alive PID [COMM]: the process exists and is not a zombie (this machine's pid 1 may never
# reap orphans, and kill -0 succeeds on a zombie); with COMM, its /proc comm must match too (a
# recycled pid is not ours).
sb_alive() {
  local pid=$1 comm=${2:-} stat state
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  state=${stat##*) }; state=${state%% *}
  [ "$state" != Z ] && [ "$state" != X ] || return 1
  if [ -n "$comm" ]; then
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  fi
}

sb_stop_pid() {
  local pid=$1
  sb_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do sb_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

sb_stop_all() {
  local pid
  for pid in "${SB_PIDS[@]}"; do sb_stop_pid "$pid"; done
  SB_PIDS=()
}

# sb_port_free PORT SETTING: fail with the port and the setting that changes it.
sb_port_free() {
  local port=$1 setting=$2
  if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
    sb_die "port $port is already in use (change it with $setting)"
  fi
}

# sb_wait_for DESCRIPTION TIMEOUT_S CMD...: poll CMD every 0.25 s until it succeeds.
sb_wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then sb_log "timed out after ${timeout}s waiting for $what"; return 1; fi
    sleep 0.25
  done
}

# sb_rpc_url URL METHOD [key=value…]: the GET URL of a CometBFT JSON-RPC call.
sb_rpc_url() {
  local url=$1 method=$2; shift 2
  local q="" kv
  for kv in "$@"; do q+="${q:+&}$kv"; done
  printf '%s/%s%s' "$url" "$method" "${q:+?$q}"
}

# sb_rpc URL METHOD [key=value…]: CometBFT JSON-RPC over GET; prints the JSON reply.
sb_rpc() { curl -fsS --max-time 10 "$(sb_rpc_url "$@")"; }

# sb_tx_code URL METHOD key=value…: the CheckTx code of a broadcast_tx_* call. v0.38 puts it in
# .result.code; v1.0 answers a rejected tx with a JSON-RPC error whose data says "code=N".
sb_tx_code() {
  curl -sS --max-time 30 "$(sb_rpc_url "$@")" |
    jq -r 'if .result.code != null then .result.code
           elif .result.check_tx.code != null then .result.check_tx.code
           else (.error.data // "" | capture("code=(?<c>[0-9]+)").c // "error") end'
}

sb_height() { sb_rpc "$1" status | jq -r '.result.sync_info.latest_block_height'; }
sb_height_at_least() { local h; h=$(sb_height "$1") && [ "$h" -ge "$2" ]; }
sb_wait_height() { sb_wait_for "height $2 at $1" "${3:-60}" sb_height_at_least "$1" "$2"; }

# sb_toml_set FILE SECTION KEY VALUE: set `key = value` inside [section] ("" = top level).
sb_toml_set() {
  local file=$1 section=$2 key=$3 value=$4 tmp
  tmp=$(mktemp)
  awk -v sec="$section" -v key="$key" -v val="$value" '
    BEGIN { cur = ""; done = 0 }
    /^\[[^]]+\][ \t]*$/ { if (cur == sec && !done) { print key " = " val; done = 1 }
                          cur = substr($0, 2, index($0, "]") - 2) }
    {
      if (cur == sec && !done && $0 ~ "^" key "[ \t]*=") { print key " = " val; done = 1; next }
      print
    }
    END { if (!done) { if (cur != sec) print "[" sec "]"; print key " = " val } }
  ' "$file" >"$tmp" && mv "$tmp" "$file"
}

# sb_toml_merge CONFIG TEMPLATE: apply every key of TEMPLATE (same TOML subset) to CONFIG.
sb_toml_merge() {
  local cfg=$1 tpl=$2 section="" line key value
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    if [[ $line =~ ^\[([^]]+)\] ]]; then section=${BASH_REMATCH[1]}; continue; fi
    if [[ $line =~ ^[[:space:]]*([A-Za-z0-9_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]]; then
      key=${BASH_REMATCH[1]}; value=${BASH_REMATCH[2]}
      sb_toml_set "$cfg" "$section" "$key" "$value"
    fi
  done <"$tpl"
}

# The CometBFT binary: $SB_COMETBFT (e.g. "$COMETBFT_V1") or the pinned v0.38 on PATH.
# (Start long-running nodes with "${SB_COMETBFT:-cometbft}" directly, not through this
# function: a backgrounded function is a subshell, and its pid is not the node's.)
sb_cometbft() { "${SB_COMETBFT:-cometbft}" "$@"; }

# sb_cometbft_node HOME RPC_PORT P2P_PORT PROXY_APP [TEMPLATE]: init (once) and configure a
# CometBFT home on loopback.
sb_cometbft_node() {
  local home=$1 rpc=$2 p2p=$3 proxy=$4 tpl=${5:-$SLEETBUBBLE_ROOT/cometbft-config/single.toml}
  [ -f "$home/config/config.toml" ] || sb_cometbft init --home "$home" >/dev/null 2>&1 ||
    sb_die "cometbft init --home $home failed"
  local cfg=$home/config/config.toml
  sb_toml_merge "$cfg" "$tpl"
  sb_toml_set "$cfg" "" proxy_app "\"$proxy\""
  sb_toml_set "$cfg" rpc laddr "\"tcp://127.0.0.1:$rpc\""
  sb_toml_set "$cfg" p2p laddr "\"tcp://127.0.0.1:$p2p\""
  sb_toml_set "$cfg" "" pprof_laddr '""'
}

# sb_genesis_set HOME JQ_FILTER [jq args…]: edit HOME/config/genesis.json with jq.
sb_genesis_set() {
  local home=$1 filter=$2; shift 2
  local g=$home/config/genesis.json tmp
  tmp=$(mktemp)
  jq "$@" "$filter" "$g" >"$tmp" && mv "$tmp" "$g"
}

# sb_kubo_init REPO API_PORT GATEWAY_PORT SWARM_PORT: a test-profile Kubo repo on loopback,
# no bootstrap peers, AutoConf off (protocol.md §10).
sb_kubo_init() {
  local repo=$1 api=$2 gw=$3 swarm=$4
  export IPFS_TELEMETRY=off
  if [ ! -f "$repo/config" ]; then
    IPFS_PATH=$repo ipfs init --profile=test >/dev/null || sb_die "ipfs init in $repo failed"
  fi
  IPFS_PATH=$repo ipfs config Addresses.API "/ip4/127.0.0.1/tcp/$api"
  IPFS_PATH=$repo ipfs config Addresses.Gateway "/ip4/127.0.0.1/tcp/$gw"
  IPFS_PATH=$repo ipfs config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$swarm\"]"
  IPFS_PATH=$repo ipfs config --json Bootstrap '[]'
  IPFS_PATH=$repo ipfs config --json AutoConf.Enabled false 2>/dev/null || true
}
