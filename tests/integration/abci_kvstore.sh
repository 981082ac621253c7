#!/usr/bin/env bash
# The ABCI library against a real CometBFT node (protocol.md §2): the example key-value app carries a
# node through >= 20 blocks and 100 txs over broadcast_tx_sync, every key answers abci_query;
# then kill -9 of the app while blocks are made, restart, CometBFT's handshake replays and the
# next header's app hash equals the app's own. Over TCP and over a unix socket.
# usage: abci_kvstore.sh PATH/abci-kvstore [tcp|unix]...
. "$(dirname "$0")/lib.sh"
KV=$1; shift
transports=("$@"); [ ${#transports[@]} -gt 0 ] || transports=(tcp unix)
base=${SB_PORT_BASE:-21600}

app_pid=""
start_app() { # addr
  "$KV" --addr "$1" --db "$T/kv.state" >>"$T/app.log" 2>&1 &
  app_pid=$!; sb_track "$app_pid"
}
start_node() {
  "${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >>"$T/cometbft.log" 2>&1 &
  node_pid=$!; sb_track "$node_pid"
}


for tr in "${transports[@]}"; do
  rm -rf "$T/cmt" "$T/kv.state"
  rpc_port=$base p2p_port=$((base + 1)) app_port=$((base + 2))
  rpc="http://127.0.0.1:$rpc_port"
  case $tr in
    tcp) addr="tcp://127.0.0.1:$app_port" ;;
    unix) addr="unix://$T/kv.sock" ;;
    *) fail "unknown transport $tr" ;;
  esac
  sb_port_free "$rpc_port" "SB_PORT_BASE"; sb_port_free "$p2p_port" "SB_PORT_BASE"
  sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "$addr"
  sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"200ms"'

  start_app "$addr"
  start_node
  sb_wait_height "$rpc" 2 60 || fail "[$tr] chain did not start"
  ok "[$tr] CometBFT connected to the app and makes blocks"

  for i in $(seq 1 100); do
    expect_eq "$(sb_tx_code "$rpc" broadcast_tx_sync "tx=%22k$i=v$i%22")" 0 "[$tr] broadcast_tx_sync k$i"
  done
  # the app's own code (1) and log, not just "not 0" (an RPC error would be that too)
  expect_eq "$(sb_tx_code "$rpc" broadcast_tx_sync "tx=%22nokey%22")" 1 "[$tr] CheckTx code of a malformed tx"
  reply=$(curl -sS --max-time 30 "$(sb_rpc_url "$rpc" broadcast_tx_sync "tx=%22nokey2%22")")
  grep -qF "malformed tx: want key=value with a non-empty key" <<<"$reply" ||
    fail "[$tr] malformed tx: the app's log is not in the reply: $reply"
  ok "[$tr] 100 txs accepted by CheckTx, a malformed one refused with the app's code 1 and log"

  sb_wait_height "$rpc" 20 90 || fail "[$tr] did not reach height 20"
  sb_wait_for "last tx committed" 30 bash -c "curl -fsS '$rpc/abci_query?data=%22k100%22' | jq -e '.result.response.code == 0'"
  for i in $(seq 1 100); do
    v=$(sb_rpc "$rpc" abci_query "data=%22k$i%22" | jq -r .result.response.value)
    expect_eq "$(b64d "$v")" "v$i" "[$tr] abci_query k$i"
  done
  ok "[$tr] >= 20 blocks, all 100 keys found by abci_query"
  check_app_hash "$rpc"
  ok "[$tr] header app hash equals the app's committed app hash"

  # Crash: kill -9 the app while blocks are being made. CometBFT stops on losing the app; we
  # stop it too, restart both, and the handshake replays the missing blocks.
  kill -9 "$app_pid"; wait "$app_pid" 2>/dev/null || true
  sb_stop_pid "$node_pid"
  start_app "$addr"
  start_node
  sb_wait_for "RPC after restart" 60 sb_height "$rpc" || fail "[$tr] node did not restart"
  h_before=$(sb_height "$rpc")
  sb_wait_height "$rpc" $((h_before + 5)) 60 || fail "[$tr] chain did not continue after restart"
  check_app_hash "$rpc"
  v=$(sb_rpc "$rpc" abci_query "data=%22k57%22" | jq -r .result.response.value)
  expect_eq "$(b64d "$v")" "v57" "[$tr] state survived kill -9"
  ok "[$tr] after kill -9 and restart the chain continues with matching app hash"

  sb_stop_all
  base=$((base + 10))
done
echo "$PASSED passed, 0 failed"
