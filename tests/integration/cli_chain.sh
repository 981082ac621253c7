#!/usr/bin/env bash
# The `sleetbubble` CLI against a real chain (protocol.md §12): one CometBFT validator + sleetbubbled
# + an offline Kubo on loopback. keys new -> the curator allowlist; tracks add; status;
# propose --slot next (the slot status called open); a second proposal -> DUPLICATE, exit 1;
# a vote for an unknown proposal -> UNKNOWN_PROPOSAL with the retry hint; the real vote with
# priv_validator_key.json (Kubo dag/stat check on the way); finalization -> SUPERMAJORITY;
# every query; tune's M3U URLs serve the files' bytes through the gateway; CometBFT down -> 3.
# usage: cli_chain.sh PATH/sleetbubble PATH/sleetbubbled
# Ports: SB_CLI_CHAIN_PORT_BASE (default 23714) +0 RPC, +1 p2p, +2 ABCI, +3 metrics;
# Kubo on SB_CLI_KUBO_PORT_BASE (default 23711) +0 API, +1 gateway, +2 swarm.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
SB=$1 SBD=$2
cbase=${SB_CLI_CHAIN_PORT_BASE:-23714} kbase=${SB_CLI_KUBO_PORT_BASE:-23711}
rpc_port=$cbase p2p_port=$((cbase + 1)) abci_port=$((cbase + 2)) metrics_port=$((cbase + 3))
api_port=$kbase gw_port=$((kbase + 1)) swarm_port=$((kbase + 2))
rpc="http://127.0.0.1:$rpc_port" api="http://127.0.0.1:$api_port" gw="http://127.0.0.1:$gw_port"
for p in $rpc_port $p2p_port $abci_port $metrics_port; do sb_port_free "$p" SB_CLI_CHAIN_PORT_BASE; done
for p in $api_port $gw_port $swarm_port; do sb_port_free "$p" SB_CLI_KUBO_PORT_BASE; done
sb() { "$SB" --node "$rpc" --ipfs "$api" --gateway "$gw" --home "$T/cli" "$@"; }

# Kubo
export IPFS_PATH=$T/ipfs
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
ipfs daemon --offline >"$T/kubo.log" 2>&1 &
sb_track $!
sb_wait_for "Kubo API on $api" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"

# Curator key, tracks
cli_run 0 "$T/o" sb keys new curator
cur=$(cat "$T/o")
cli_run 0 "$T/o" sb keys show curator
expect_eq "$(cat "$T/o")" "$cur" "keys show"
cli_make_wav "$T/a.wav" 3
cli_make_wav "$T/b.wav" 7
cli_run 0 "$T/o" sb tracks add "$T/a.wav" "$T/b.wav" -o "$T/pl.json"
expect_eq "$(jq -c '[.tracks[].duration_ms]' "$T/pl.json")" "[3000,7000]" "durations"
ok "keys new/show, tracks add (2 tracks on Kubo)"

# Chain: 20 s slots, 8 s close lead; the curator is allowed.
sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
# shellcheck disable=SC2016 # a jq program
sb_genesis_set "$T/cmt" '.app_state = {slot_seconds: 20, close_lead_seconds: 8, horizon_slots: 48, curators: [$c]}' --arg c "$cur"
"$SBD" init --home "$T/sb" >/dev/null
cfg=$T/sb/config/sleetbubble.toml
sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
sb_toml_set "$cfg" web laddr '""' # now-playing page off: not under test here
sb_toml_set "$cfg" ipfs api_url "\"$api/api/v0/\""
"$SBD" start --home "$T/sb" >"$T/sleetbubbled.log" 2>&1 &
sb_track $!
"${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >"$T/cometbft.log" 2>&1 &
cmt_pid=$!
sb_track $cmt_pid
sb_wait_height "$rpc" 2 60 || fail "chain did not start"
chain=$(jq -r .chain_id "$T/cmt/config/genesis.json")

cli_run 0 "$T/o" sb status
grep -q "^chain        $chain" "$T/o" || fail "status: $(cat "$T/o")"
grep -q "^open slot    " "$T/o" || fail "status: $(cat "$T/o")"
ok "status: $(grep '^open slot' "$T/o")"

# Wait until the open slot has >= 8 s left, so propose + vote land before its close.
has_time() { sb --output json status >"$T/st.json" 2>/dev/null && jq -e '(.time_to_close_ns | tonumber) >= 8000000000' "$T/st.json" >/dev/null; }
sb_wait_for "an open slot with 8 s left" 40 has_time || fail "no open slot with time left"
slot=$(jq -r .open_slot "$T/st.json")
cli_run 0 "$T/o" sb propose --slot next --playlist "$T/pl.json" --key curator --note "cli test"
pid=$(cat "$T/o")
[[ $pid =~ ^[0-9a-f]{64}$ ]] || fail "propose printed '$pid'"
cli_run 1 "$T/o" sb propose --slot "$slot" --playlist "$T/pl.json" --key curator
grep -q "DUPLICATE (code 7)" "$T/o.err" || fail "second proposal: $(cat "$T/o.err")"
ok "propose --slot next -> slot $slot, id $pid; a second one is DUPLICATE (exit 1)"

cli_run 1 "$T/o" sb vote --slot "$slot" --proposal "$(printf '%064d' 5)" \
  --validator-key "$T/cmt/config/priv_validator_key.json"
grep -q "UNKNOWN_PROPOSAL (code 8)" "$T/o.err" || fail "unknown vote: $(cat "$T/o.err")"
grep -q "retry after the next block" "$T/o.err" || fail "no hint: $(cat "$T/o.err")"
ok "vote for an unknown proposal: UNKNOWN_PROPOSAL, exit 1, retry hint"

h=$(sb_height "$rpc"); sb_wait_height "$rpc" $((h + 1)) 20 || fail "no block"
cli_run 0 "$T/o" sb query proposal "$pid"
expect_eq "$(jq -r .slot "$T/o")" "$slot" "query proposal slot"
cli_run 0 "$T/o" sb vote --proposal "$pid" --validator-key "$T/cmt/config/priv_validator_key.json"
grep -q "all 2 tracks retrievable" "$T/o.err" || fail "vote did not check the tracks: $(cat "$T/o.err")"
ok "vote with priv_validator_key.json (slot taken from the proposal, tracks checked with dag/stat)"

fin() { sb query winner "$slot" >/dev/null 2>&1; }
sb_wait_for "slot $slot finalized" 60 fin || fail "slot $slot did not finalize"
cli_run 0 "$T/o" sb --output json query winner "$slot"
expect_eq "$(jq -r .outcome "$T/o")" SUPERMAJORITY "outcome"
expect_eq "$(jq -r .winner "$T/o")" "$pid" "winner"
ok "slot $slot finalized: SUPERMAJORITY for $pid"

manifest=$(jq -r .manifest_cid "$T/o")
[[ $manifest == baguqeera* ]] || fail "winner manifest_cid '$manifest'"
# Each query's fields against what this test set up (jq -r prints "20" for 20 and "20").
vpub=$(jq -r .pub_key.value "$T/cmt/config/priv_validator_key.json" | base64 -d | od -An -tx1 -v | tr -d ' \n')
vpow=$(jq -r '.validators[0].power' "$T/cmt/config/genesis.json")
[[ $vpow =~ ^[1-9][0-9]*$ ]] || fail "genesis validator power '$vpow'"
jqo() { jq -r "$1" "$T/o"; }
cli_run 0 "$T/o" sb query params
expect_eq "$(jqo '[.chain_id, .slot_seconds, .close_lead_seconds, .horizon_slots, .open_curation] | map(tostring) | join(" ")')" \
  "$chain 20 8 48 false" "query params: chain, timing, curation"
expect_eq "$(jqo '.curators | join(",")')" "$cur" "query params: curators"
cli_run 0 "$T/o" sb query validators
expect_eq "$(jqo '[.validators[] | "\(.pubkey) \(.power) \(.vote_key_delegated)"] | join(",")')" \
  "$vpub $vpow false" "query validators"
expect_eq "$(jqo .total_power)" "$vpow" "query validators: total_power"
cli_run 0 "$T/o" sb query slot "$slot"
expect_eq "$(jqo '[.slot, .finalized, (.proposals | length)] | map(tostring) | join(" ")')" \
  "$slot true 1" "query slot $slot"
expect_eq "$(jqo '.proposals[0] | [.id, .curator, .tracks, .duration_ms, .power_for] | map(tostring) | join(" ")')" \
  "$pid $cur 2 10000 $vpow" "query slot $slot: the proposal"
expect_eq "$(jqo '.result | [.outcome, .winner, .power_for, .total_power, .manifest_cid] | map(tostring) | join(" ")')" \
  "SUPERMAJORITY $pid $vpow $vpow $manifest" "query slot $slot: result"
cli_run 0 "$T/o" sb query slot current
# slot s is finalized from close(s) = start(s) - 8 s on, so the current slot is s - 1 or later
now_slot=$(jqo .slot)
((now_slot >= slot - 1)) || fail "query slot current: $now_slot, but slot $slot is finalized"
((now_slot <= slot + 2)) || fail "query slot current: $now_slot, far after slot $slot"
expect_eq "$(jqo '.next_slot | tostring')" "$((now_slot + 1))" "query slot current: next_slot"
expect_eq "$(($(jqo .start_ns) - $(jqo .close_ns)))" 8000000000 "query slot current: start - close = lead"
expect_eq "$(($(jqo .next_close_ns) - $(jqo .close_ns)))" 20000000000 "query slot current: slot length"
(($(jqo .next_to_finalize) > slot)) || fail "query slot current: next_to_finalize $(jqo .next_to_finalize) <= $slot"
cli_run 0 "$T/o" sb query pins "$slot"
expect_eq "$(jqo '[.slot, .node_local] | map(tostring) | join(" ")')" "$slot true" "query pins $slot"
expect_eq "$(jqo '[.cids[] | "\(.kind) \(.cid)"] | join(",")')" \
  "manifest $manifest,$(jq -r '[.tracks[] | "track \(.cid)"] | join(",")' "$T/pl.json")" "query pins $slot: cids"
cli_run 1 "$T/o" sb query winner 999999
grep -q "NOT_FOUND (code 14)" "$T/o.err" || fail "query winner 999999: $(cat "$T/o.err")"
ok "query params|validators|slot|pins answer this chain's values; an unfinalized winner is NOT_FOUND (exit 1)"

cli_run 0 "$T/o" sb tune --slot "$slot" -o "$T/slot.m3u"
head -1 "$T/slot.m3u" | grep -qx '#EXTM3U' || fail "m3u header"
grep -q '^#EXTINF:3,a$' "$T/slot.m3u" || fail "m3u: $(cat "$T/slot.m3u")"
i=0
while read -r url; do
  f=$T/$([ $i -eq 0 ] && echo a || echo b).wav
  curl -fsS --max-time 20 "$url" | cmp -s - "$f" || fail "$url does not serve $f"
  i=$((i + 1))
done < <(grep -v '^#' "$T/slot.m3u")
expect_eq "$i" 2 "URLs in the M3U"
ok "tune: M3U whose gateway URLs serve the tracks' bytes"

sb_stop_pid $cmt_pid
cli_run 3 "$T/o" sb status
grep -q -- "--node" "$T/o.err" || fail "no --node in: $(cat "$T/o.err")"
ok "CometBFT down: status exits 3 naming $rpc and --node"
