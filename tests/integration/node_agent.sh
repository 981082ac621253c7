#!/usr/bin/env bash
# The vote agent (protocol.md §15) on a real single-validator chain: CometBFT + sleetbubbled
# with [vote] enabled (delegated vote key from genesis vote_keys) + an offline Kubo on loopback,
# 30 s slots, proposals made with the CLI (`propose`) from short audio generated with sox.
#  0. start-up refusals: a missing or garbage key_file makes sleetbubbled exit 1 before its
#     ABCI server listens, naming the config file, key_file's line and the key file; a key the
#     chain refuses (the consensus key of a validator that delegates its votes, a key that is
#     no validator's) stops the agent with one line naming the key file and the key while the
#     node keeps running (blocks, /healthz); a second sleetbubbled on the same home is refused
#     at start (the journal's lock), the first one unaffected;
#  1. three consecutive slots: every one finalizes SUPERMAJORITY with exactly one vote, cast by
#     the agent; in the first, the proposal whose track Kubo cannot resolve is not voted for;
#  2. fault hook SLEETBUBBLE_AGENT_FAIL_AFTER_JOURNAL: the process dies between the journal
#     write and the broadcast; after a restart the agent sends the journalled bytes: the slot
#     still gets exactly one vote, and the committed tx is byte for byte the journal's;
#  3. Kubo stopped, require_available = true: no vote for content it cannot resolve (logged,
#     sleetbubble_autovote_total{result="unavailable"}), the slot falls back without votes.
# usage: node_agent.sh PATH/sleetbubble PATH/sleetbubbled
# Ports: SB_PORT_BASE (default 24200) +0 RPC, +1 p2p, +2 ABCI, +3 metrics, +4 Kubo API,
# +5 gateway, +6 swarm (the range 24200-24399 belongs to this test).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
SB=$1 SBD=$2
base=${SB_PORT_BASE:-24200}
rpc_port=$base p2p_port=$((base + 1)) abci_port=$((base + 2)) metrics_port=$((base + 3))
api_port=$((base + 4)) gw_port=$((base + 5)) swarm_port=$((base + 6))
rpc="http://127.0.0.1:$rpc_port" api="http://127.0.0.1:$api_port" gw="http://127.0.0.1:$gw_port"
for p in $rpc_port $p2p_port $abci_port $metrics_port $api_port $gw_port $swarm_port; do
  sb_port_free "$p" SB_PORT_BASE
done
command -v sox >/dev/null || skip_or_fail "sox (Debian sox) is needed to make test audio"
sb() { "$SB" --node "$rpc" --ipfs "$api" --gateway "$gw" --home "$T/cli" "$@"; }
q() { sb_rpc "$rpc" abci_query "path=%22$1%22" | jq -r '.result.response.value // ""' | base64 -d; }
export IPFS_PATH=$T/ipfs
kubo_pid="" sbd_pid="" node_pid=""
start_kubo() {
  ipfs daemon --offline >>"$T/kubo.log" 2>&1 & kubo_pid=$!; sb_track "$kubo_pid"
  sb_wait_for "Kubo API" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"
}
start_sbd() { "$SBD" start --home "$T/sb" >>"$T/sleetbubbled.log" 2>&1 & sbd_pid=$!; sb_track "$sbd_pid"; }
start_node() { "${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >>"$T/cometbft.log" 2>&1 & node_pid=$!; sb_track "$node_pid"; }
LEAD=16 # [vote] lead_seconds: h* is the first block at or after close(s) - 16 s
# first_slot: the first slot whose h* threshold is at least 8 s after the last block time, so
# proposals sent now are committed before h*.
first_slot() {
  local cur s c t; cur=$(q /slot/current)
  s=$(jq -r .next_slot <<<"$cur") c=$(jq -r .next_close_ns <<<"$cur") t=$(jq -r .block_time_ns <<<"$cur")
  while ((c - LEAD * 1000000000 - t < 8000000000)); do s=$((s + 1)) c=$((c + 30000000000)); done
  echo "$s"
}
finalized() { curl -fsS "$rpc/abci_query?path=%22/winner/$1%22" | jq -e '.result.response.code == 0' >/dev/null; }
wait_finalized() { sb_wait_for "slot $1 finalized" "${2:-150}" finalized "$1" || fail "slot $1 not finalized"; }
voters() { q "/slot/$1" | jq -r '[.proposals[].voters[]] | length'; }
propose() { # propose SLOT PLAYLIST KEY -> the proposal id on stdout
  cli_run 0 "$T/o" sb propose --slot "$1" --playlist "$2" --key "$3"
  cat "$T/o"
}

# ---- set-up ---------------------------------------------------------------------------------
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
start_kubo
cli_run 0 "$T/o" sb keys new ca; CA=$(cat "$T/o")
cli_run 0 "$T/o" sb keys new cb; CB=$(cat "$T/o")
cli_run 0 "$T/o" sb keys new vk; VK=$(cat "$T/o")
sox -n -r 22050 -c 1 "$T/a.wav" synth 3 sine 440 2>/dev/null
sox -n -r 22050 -c 1 "$T/b.wav" synth 4 sine 660 2>/dev/null
sox -n -r 22050 -c 1 "$T/c.wav" synth 5 sine 880 2>/dev/null
cli_run 0 "$T/o" sb tracks add "$T/a.wav" "$T/b.wav" -o "$T/pa.json"
cli_run 0 "$T/o" sb tracks add "$T/c.wav" -o "$T/pb.json"
expect_eq "$(jq -c '[.tracks[].duration_ms]' "$T/pa.json")" "[3000,4000]" "sox durations read back"
head -c 5000 /dev/urandom >"$T/nobody"
missing=$(ipfs add -Q -n --cid-version 1 --raw-leaves "$T/nobody") # hashed only: no node has it
jq --arg c "$missing" '.tracks[0].cid = $c' "$T/pb.json" >"$T/pmissing.json"
ok "curator keys, vote key, sox audio on Kubo, a playlist whose track nobody has"

sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
VPUB=$(jq -r .pub_key.value "$T/cmt/config/priv_validator_key.json" | base64 -d | od -An -tx1 -v | tr -d ' \n')
# shellcheck disable=SC2016 # jq variables, not shell ones
sb_genesis_set "$T/cmt" '.app_state = {slot_seconds: 30, close_lead_seconds: 24, curators: [$a, $b], vote_keys: {($v): $k}}' \
  --arg a "$CA" --arg b "$CB" --arg v "$VPUB" --arg k "$VK"
"$SBD" init --home "$T/sb" >/dev/null
cfg=$T/sb/config/sleetbubble.toml
sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
sb_toml_set "$cfg" web laddr '""' # now-playing page off: not under test here (and 26680 is shared)
sb_toml_set "$cfg" ipfs api_url "\"$api/api/v0/\""
sb_toml_set "$cfg" ipfs timeout_seconds 5
sb_toml_set "$cfg" vote enabled true
sb_toml_set "$cfg" vote key_file "\"$T/cli/keys/vk.json\""
sb_toml_set "$cfg" vote node_rpc "\"$rpc\""
sb_toml_set "$cfg" vote lead_seconds "$LEAD"
sb_toml_set "$cfg" vote available_timeout_seconds 3

# ---- 0. start-up refusals ------------------------------------------------------------------
kf_line() { grep -n '^key_file = ' "$cfg" | cut -d: -f1; }
# refused_start WHAT TEXT: sleetbubbled exits 1 at start with TEXT in its log, never listening.
refused_start() {
  local rc=0
  timeout 60 "$SBD" start --home "$T/sb" >"$T/refused.log" 2>&1 || rc=$?
  cat "$T/refused.log" >>"$T/refusals.log"
  expect_eq "$rc" 1 "$1: sleetbubbled's exit status"
  grep -qF -- "$2" "$T/refused.log" || fail "$1: no '$2' in: $(cat "$T/refused.log")"
  if grep -q 'abci: listening' "$T/refused.log"; then fail "$1: the ABCI server listened first"; fi
}
sb_toml_set "$cfg" vote key_file "\"$T/missing.json\""
refused_start "missing key file" \
  "$cfg:$(kf_line): [vote] key_file $T/missing.json: cannot open: No such file or directory"
printf 'garbage\n' >"$T/garbage.json"
sb_toml_set "$cfg" vote key_file "\"$T/garbage.json\""
refused_start "garbage key file" "$cfg:$(kf_line): [vote] key_file $T/garbage.json: not a JSON object"
for p in $abci_port $metrics_port; do sb_port_free "$p" SB_PORT_BASE; done
ok "missing or garbage key_file: sleetbubbled exits 1 before listening, naming $cfg:$(kf_line) and the key file"

# refused_key WHAT KEY_FILE TEXT: with this key file the agent stops with TEXT once /params
# exists; the node goes on (blocks, /healthz, process alive).
refused_key() {
  local h
  sb_toml_set "$cfg" vote key_file "\"$2\""
  : >"$T/sleetbubbled.log"
  start_sbd; start_node
  sb_wait_height "$rpc" 2 60 || fail "$1: chain did not start"
  sb_wait_for "$1: the agent's refusal" 30 grep -qF -- "$3" "$T/sleetbubbled.log" ||
    fail "$1: no '$3': $(grep 'module=vote' "$T/sleetbubbled.log" | tail -n 3)"
  h=$(sb_height "$rpc")
  sb_wait_height "$rpc" $((h + 3)) 30 || fail "$1: no block after the agent stopped"
  sb_alive "$sbd_pid" || fail "$1: sleetbubbled exited"
  curl -fsS "http://127.0.0.1:$metrics_port/healthz" >/dev/null || fail "$1: /healthz"
  if grep -q 'module=vote msg="voting for validator' "$T/sleetbubbled.log"; then fail "$1: key accepted"; fi
  sb_stop_pid "$node_pid"; sb_stop_pid "$sbd_pid"
  cat "$T/sleetbubbled.log" >>"$T/refusals.log"
}
refused_key "consensus key of a delegating validator" "$T/cmt/config/priv_validator_key.json" \
  "[vote] key_file $T/cmt/config/priv_validator_key.json holds the consensus key $VPUB of a validator that delegates its votes to $VK"
refused_key "a curator's key" "$T/cli/keys/ca.json" \
  "[vote] key_file $T/cli/keys/ca.json: key $CA is neither a delegated vote key nor a validator's key of this chain: agent stopped, the node keeps running"
ok "refused keys (the delegating validator's consensus key, a curator's key): the agent stops with one line naming file and key; blocks and /healthz go on"

sb_toml_set "$cfg" vote key_file "\"$T/cli/keys/vk.json\""
: >"$T/sleetbubbled.log"
start_sbd; start_node
sb_wait_height "$rpc" 2 60 || fail "chain did not start"
sb_wait_for "agent key check" 30 grep -q 'module=vote msg="voting for validator' "$T/sleetbubbled.log" ||
  fail "the agent did not accept its key"
grep -q "delegated vote key $VK" "$T/sleetbubbled.log" || fail "agent log does not name the delegated key"
ok "sleetbubbled started the vote agent; it checked the delegated key against /params"
refused_start "a second sleetbubbled on this home" \
  "[vote] journal $T/sb/data/vote-journal: another vote agent holds $T/sb/data/vote-journal.lock"
sb_alive "$sbd_pid" || fail "the first sleetbubbled exited when a second one started"
h=$(sb_height "$rpc")
sb_wait_height "$rpc" $((h + 2)) 30 || fail "no block after the second sleetbubbled's refusal"
ok "a second sleetbubbled on the same home: refused at start (the journal's lock held by the first), the first goes on"

# ---- 1. three consecutive slots ------------------------------------------------------------
s1=$(first_slot)
a1=$(propose "$s1" "$T/pa.json" ca)
b1=$(propose "$s1" "$T/pmissing.json" cb)
for s in $((s1 + 1)) $((s1 + 2)); do
  propose "$s" "$T/pa.json" ca >/dev/null
  propose "$s" "$T/pb.json" cb >/dev/null
done
ok "proposals by two curators for slots $s1..$((s1 + 2)) (slot $s1: $b1 has an unresolvable track)"
for s in "$s1" $((s1 + 1)) $((s1 + 2)); do
  wait_finalized "$s" 200
  expect_eq "$(q "/winner/$s" | jq -r .outcome)" SUPERMAJORITY "slot $s outcome"
  expect_eq "$(voters "$s")" 1 "votes in slot $s"
done
expect_eq "$(q "/winner/$s1" | jq -r .winner)" "$a1" "slot $s1 winner (the available proposal)"
grep -q "module=vote msg=\"slot $s1: proposals 2, committed by h\*=[0-9]* 2, available 1: choice $a1" "$T/sleetbubbled.log" ||
  fail "no decision line for slot $s1: $(grep 'module=vote' "$T/sleetbubbled.log" | tail -n 5)"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$T/metrics.txt"
v=$(sed -n 's/^sleetbubble_autovote_total{result="voted"} //p' "$T/metrics.txt")
((${v:-0} >= 3)) || fail "autovote voted counter ${v:-absent}: $(grep autovote "$T/metrics.txt")"
grep -q "^sleetbubble_autovote_last_slot $((s1 + 2))$" "$T/metrics.txt" || fail "last slot metric: $(grep autovote_last "$T/metrics.txt")"
ok "slots $s1..$((s1 + 2)): SUPERMAJORITY with exactly one agent vote each; unavailable proposal skipped; metrics voted=$v"

# ---- 2. killed between journal write and broadcast ------------------------------------------
s4=$(first_slot)
for s in "$s4" $((s4 + 1)) $((s4 + 2)); do propose "$s" "$T/pa.json" ca >/dev/null; done
# Committed before CometBFT stops: its mempool does not survive a restart, and on a loaded
# machine a block may not have come between the broadcast and the stop.
proposal_committed() { q "/slot/$1" | jq -e '(.proposals | length) >= 1' >/dev/null; }
for s in "$s4" $((s4 + 1)) $((s4 + 2)); do
  sb_wait_for "slot $s's proposal committed" 60 proposal_committed "$s" ||
    fail "slot $s's proposal not committed: $(q "/slot/$s")"
done
sb_stop_pid "$node_pid"; sb_stop_pid "$sbd_pid"
mark=$(($(wc -l <"$T/sleetbubbled.log") + 1))
SLEETBUBBLE_AGENT_FAIL_AFTER_JOURNAL=1 "$SBD" start --home "$T/sb" >>"$T/sleetbubbled.log" 2>&1 & sbd_pid=$!; sb_track "$sbd_pid"
start_node
sb_wait_for "the agent's fault hook" 150 bash -c "! kill -0 $sbd_pid 2>/dev/null || grep -q 'State: *Z' /proc/$sbd_pid/status" ||
  fail "sleetbubbled did not die at the fault hook"
wait "$sbd_pid" 2>/dev/null || true
sk=$(tail -n +"$mark" "$T/sleetbubbled.log" | sed -n 's/.*SIGKILL after the journal write of slot \([0-9]*\).*/\1/p' | head -n 1)
[ -n "$sk" ] || fail "no fault-injection line in the log"
((sk >= s4)) || fail "fault at slot $sk, before the proposals' slots"
[ -s "$T/sb/data/vote-journal" ] || fail "no journal after the fault"
sb_stop_pid "$node_pid"
start_sbd; start_node
wait_finalized "$sk" 120
expect_eq "$(q "/winner/$sk" | jq -r .outcome)" SUPERMAJORITY "slot $sk outcome after the restart"
expect_eq "$(voters "$sk")" 1 "votes in slot $sk after the restart"
grep -q "slot $sk: decision found in the journal" "$T/sleetbubbled.log" || fail "restart did not use the journal"
txs=$(sb_rpc "$rpc" tx_search "query=%22sleetbubble.vote.slot=$sk%22")
expect_eq "$(jq -r '.result.total_count' <<<"$txs")" 1 "vote txs of slot $sk"
chain_hex=$(jq -r '.result.txs[0].tx' <<<"$txs" | base64 -d | od -An -tx1 -v | tr -d ' \n')
len=$(($(stat -c %s "$T/sb/data/vote-journal") - 50 - 32))
journal_hex=$(tail -c +51 "$T/sb/data/vote-journal" | head -c "$len" | od -An -tx1 -v | tr -d ' \n')
expect_eq "$chain_hex" "$journal_hex" "committed vote vs the journalled bytes"
ok "killed after the journal write: after restart slot $sk has exactly one vote, the journal's bytes"

# ---- 3. Kubo down: no vote for content it cannot resolve ------------------------------------
sb_stop_pid "$kubo_pid"
s7=$(first_slot)
((s7 > s4 + 2)) || s7=$((s4 + 3)) # curator ca already proposed up to s4 + 2
propose "$s7" "$T/pa.json" ca >/dev/null
propose "$s7" "$T/pb.json" cb >/dev/null
wait_finalized "$s7" 150
expect_eq "$(voters "$s7")" 0 "votes in slot $s7 with Kubo down"
expect_eq "$(q "/winner/$s7" | jq -r .outcome)" FALLBACK "slot $s7 outcome"
grep -q "module=vote msg=\"slot $s7: proposals 2, committed by h\*=[0-9]* 2, available 0: no vote (unavailable)" "$T/sleetbubbled.log" ||
  fail "no 'unavailable' decision line for slot $s7: $(grep 'module=vote' "$T/sleetbubbled.log" | tail -n 5)"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" >"$T/metrics.txt"
grep -q '^sleetbubble_autovote_total{result="unavailable"} [1-9]' "$T/metrics.txt" || fail "unavailable metric: $(grep autovote "$T/metrics.txt")"
ok "Kubo down: slot $s7 gets no agent vote (logged, metric unavailable), falls back"
echo "$PASSED passed, 0 failed"
