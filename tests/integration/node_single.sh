#!/usr/bin/env bash
# sleetbubbled beside one real CometBFT node (protocol.md §4, §5, §8): outcomes SUPERMAJORITY, FALLBACK (with
# the protocol.md §5 tie-break), REPEAT and NONE; each of the 11 result codes through
# broadcast_tx_sync; tx_search / block_search over our events; every query path; then kill -9
# of sleetbubbled at 10 moments, restart, replay, app hash in every following header equal to
# the app's own, nothing lost or duplicated. A second chain checks open curation.
# usage: node_single.sh PATH/sleetbubbled PATH/sb-txgen
. "$(dirname "$0")/lib.sh"
SBD=$1 TXGEN=$2
# The crash test below needs SLEETBUBBLE_FAIL_BEFORE_COMMIT, which exists only in a build
# configured with -DSLEETBUBBLE_FAULT_HOOKS=ON: without it, fail now instead of skipping.
"$SBD" version | grep -qF '(fault hooks)' ||
  fail "$SBD lacks fault hooks (SLEETBUBBLE_FAIL_BEFORE_COMMIT): configure with -DSLEETBUBBLE_FAULT_HOOKS=ON"
base=${SB_PORT_BASE:-21900}
rpc_port=$base p2p_port=$((base + 1)) abci_port=$((base + 2)) metrics_port=$((base + 3))
rpc="http://127.0.0.1:$rpc_port"
for p in $rpc_port $p2p_port $abci_port $metrics_port; do sb_port_free "$p" SB_PORT_BASE; done

SEED_A=a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
SEED_B=b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
SEED_C=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4
SEED_X=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3
A=$("$TXGEN" pubkey $SEED_A) B=$("$TXGEN" pubkey $SEED_B)
C=$("$TXGEN" pubkey $SEED_C) X=$("$TXGEN" pubkey $SEED_X)
CID1=bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am
CID2=bafkreiebnnniuvhspqeztgcbjxyyx426fnw2zoscrworjv7vo4au4rv7se

sbd_pid="" node_pid=""
start_sbd() { "$SBD" start --home "$T/sb" >>"$T/sleetbubbled.log" 2>&1 & sbd_pid=$!; sb_track "$sbd_pid"; }
start_node() { "${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >>"$T/cometbft.log" 2>&1 & node_pid=$!; sb_track "$node_pid"; }

# new_chain APP_STATE_JSON: fresh CometBFT + sleetbubbled homes, both started.
new_chain() {
  sb_stop_all
  rm -rf "$T/cmt" "$T/sb"
  sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
  sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
  sb_genesis_set "$T/cmt" '.app_state = $s' --argjson s "$1"
  CHAIN=$(jq -r .chain_id "$T/cmt/config/genesis.json")
  VSEED=$(jq -r .priv_key.value "$T/cmt/config/priv_validator_key.json" | base64 -d | head -c 32 | od -An -tx1 -v | tr -d ' \n')
  VPUB=$(jq -r .pub_key.value "$T/cmt/config/priv_validator_key.json" | base64 -d | od -An -tx1 -v | tr -d ' \n')
  "$SBD" init --home "$T/sb" >/dev/null
  local cfg=$T/sb/config/sleetbubble.toml
  sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
  sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
  sb_toml_set "$cfg" web laddr '""' # now-playing page off: not under test here
  sb_toml_set "$cfg" pin enabled false
  start_sbd
  start_node
  sb_wait_height "$rpc" 2 60 || fail "chain did not start"
}

q() { # abci_query PATH -> prints "CODE VALUE_JSON"
  local r; r=$(sb_rpc "$rpc" abci_query "path=%22$1%22")
  printf '%s ' "$(jq -r .result.response.code <<<"$r")"
  jq -r '.result.response.value // ""' <<<"$r" | base64 -d
  echo
}
qv() { q "$1" | cut -d' ' -f2-; }
sync_code() { sb_tx_code "$rpc" broadcast_tx_sync "tx=0x$1"; }
commit_code() {
  local r; r=$(sb_rpc "$rpc" broadcast_tx_commit "tx=0x$1")
  jq -r '"\(.result.check_tx.code) \(.result.tx_result.code)"' <<<"$r"
}
expect_sync() { # NAME WANT TXHEX
  local got; got=$(sync_code "$3")
  expect_eq "$got" "$2" "CheckTx code for $1"
  ok "$1 gets code $2 through broadcast_tx_sync"
}

# A slot whose voting stays open for at least 20 s more (close(s) - block time): room for a
# dozen RPC round trips on a loaded machine before the slot closes under the test (slots are
# 20 s, so the next one is taken when the first open one has less than 26 s left).
open_slot() {
  local cur; cur=$(qv /slot/current)
  local s nc bt
  s=$(jq -r .next_slot <<<"$cur"); nc=$(jq -r .next_close_ns <<<"$cur"); bt=$(jq -r .block_time_ns <<<"$cur")
  if (((nc - bt) < 26000000000)); then s=$((s + 1)); fi
  echo "$s"
}
wait_finalized() { # SLOT
  sb_wait_for "slot $1 finalized" 120 bash -c "curl -fsS '$rpc/abci_query?path=%22/winner/$1%22' | jq -e '.result.response.code == 0'"
}
propose() { # SEED SLOT CID [NOTE] -> "TXHEX ID"
  "$TXGEN" proposal "$CHAIN" "$2" "$1" "$3" 5000 "${4:-}"
}

# ---- chain 1: curated, max 2 proposals per slot ---------------------------------------------
new_chain "{\"slot_seconds\":20,\"close_lead_seconds\":8,\"horizon_slots\":48,\"max_proposals_per_slot\":2,\"curators\":[\"$A\",\"$B\",\"$C\"]}"
ok "CometBFT + sleetbubbled make blocks (chain $CHAIN)"
w0=$(qv /winner/0)
expect_eq "$(jq -r .outcome <<<"$w0")" NONE "slot 0 (closed before the first block)"
ok "the first slot ever finalizes as NONE"

s1=$(open_slot)
read -r txA idA < <(propose $SEED_A "$s1" $CID1 "A")
read -r txB idB < <(propose $SEED_B "$s1" $CID2 "B")
expect_eq "$(commit_code "$txA")" "0 0" "proposal A"
expect_eq "$(commit_code "$txB")" "0 0" "proposal B"
vote=$("$TXGEN" vote "$CHAIN" "$s1" "$idA" "$VPUB" "$VSEED")
expect_eq "$(commit_code "$vote")" "0 0" "vote for A"
ok "two curators propose for slot $s1, the validator votes"

# every result code, judged by CheckTx against committed state
expect_sync ENCODING 1 "ffff01"
read -r txN _ < <(propose $SEED_A "$s1" $CID1 "A")
expect_sync "ENCODING (non-canonical varint)" 1 "$("$TXGEN" noncanonical "$txN")"
read -r txC _ < <(propose $SEED_C "$s1" $CID1 "C")
expect_sync SIGNATURE 2 "$("$TXGEN" badsig "$txC")"
expect_sync CHAIN_ID 3 "$("$TXGEN" proposal other-chain "$s1" $SEED_A $CID1 5000 | cut -d' ' -f1)"
expect_sync SLOT_CLOSED 4 "$(propose $SEED_C 0 $CID1 | cut -d' ' -f1)"
expect_sync SLOT_TOO_FAR 5 "$(propose $SEED_C $((s1 + 60)) $CID1 | cut -d' ' -f1)"
expect_sync PLAYLIST_INVALID 6 "$("$TXGEN" proposal "$CHAIN" "$s1" $SEED_C $CID1 0 | cut -d' ' -f1)"
expect_sync DUPLICATE 7 "$(propose $SEED_A "$s1" $CID2 "again" | cut -d' ' -f1)"
expect_sync UNKNOWN_PROPOSAL 8 "$("$TXGEN" vote "$CHAIN" "$s1" "$(printf '%064d' 7)" "$VPUB" "$VSEED")"
expect_sync NOT_VALIDATOR 9 "$("$TXGEN" vote "$CHAIN" "$s1" "$idA" "$X" $SEED_X)"
expect_sync CURATOR_NOT_ALLOWED 10 "$(propose $SEED_X "$s1" $CID1 | cut -d' ' -f1)"
expect_sync PROPOSAL_LIMIT 11 "$txC"
expect_sync "DUPLICATE (second vote)" 7 "$("$TXGEN" vote "$CHAIN" "$s1" "$idB" "$VPUB" "$VSEED")"
expect_sync "SIGNATURE (vote signed by another key)" 2 "$("$TXGEN" vote "$CHAIN" "$s1" "$idA" "$VPUB" $SEED_X)"

wait_finalized "$s1" || fail "slot $s1 not finalized"
w=$(qv "/winner/$s1")
expect_eq "$(jq -r .outcome <<<"$w")" SUPERMAJORITY "slot $s1 outcome"
expect_eq "$(jq -r .winner <<<"$w")" "$idA" "slot $s1 winner"
expect_eq "$(jq -r '.tracks[0].cid' <<<"$w")" "$CID1" "slot $s1 playlist"
[[ $(jq -r .manifest_cid <<<"$w") == baguqeera* ]] || fail "manifest cid $(jq -r .manifest_cid <<<"$w")"
# first block at or after close(s1)
h=$(jq -r .height <<<"$w")
close_ns=$(qv "/slot/$s1" | jq -r .close_ns)
t_ns() { local t; t=$(sb_rpc "$rpc" block "height=$1" | jq -r .result.block.header.time); date -d "$t" +%s%N; }
(($(t_ns "$h") >= close_ns)) || fail "finalized at $h before close"
((h == 1 || $(t_ns $((h - 1))) < close_ns)) || fail "height $((h - 1)) was already past close"
ok "slot $s1 finalizes as SUPERMAJORITY for A in the first block at or after its close"

# FALLBACK: proposals, no votes, curated chain -> lowest tie-break hash
s2=$(open_slot)
read -r txA2 idA2 < <(propose $SEED_A "$s2" $CID2 "A2")
read -r txB2 idB2 < <(propose $SEED_B "$s2" $CID1 "B2")
expect_eq "$(sync_code "$txA2")" 0 "proposal A2"
expect_eq "$(sync_code "$txB2")" 0 "proposal B2"
wait_finalized "$s2" || fail "slot $s2 not finalized"
w=$(qv "/winner/$s2")
expect_eq "$(jq -r .outcome <<<"$w")" FALLBACK "slot $s2 outcome"
h=$(jq -r .height <<<"$w")
prev=$(sb_rpc "$rpc" block "height=$h" | jq -r .result.block.header.app_hash | tr 'A-F' 'a-f')
# protocol.md §5 tie-break hash from its preimage with sha256sum, not with the code under test:
# SHA-256("sleetbubble/v1/tiebreak\0" || H_{h-1} || be64(s) || proposal_id)
tiebreak_ref() {
  { printf 'sleetbubble/v1/tiebreak\000'
    printf '%b' "$(printf '%s%016x%s' "$1" "$2" "$3" | sed 's/../\\x&/g')"; } | sha256sum | cut -d' ' -f1
}
expect_eq "${#prev}" 64 "app hash of block $h (H_{h-1})"
ta=$(tiebreak_ref "$prev" "$s2" "$idA2") tb=$(tiebreak_ref "$prev" "$s2" "$idB2")
if [[ $ta < $tb ]]; then want=$idA2; else want=$idB2; fi
expect_eq "$(jq -r .winner <<<"$w")" "$want" "FALLBACK tie-break winner"
ok "slot $s2 (proposals, no votes) falls back to the lowest tie-break hash"

# REPEAT: an empty slot copies the previous winner
s3=$((s2 + 1))
wait_finalized "$s3" || fail "slot $s3 not finalized"
w=$(qv "/winner/$s3")
expect_eq "$(jq -r .outcome <<<"$w")" REPEAT "slot $s3 outcome"
expect_eq "$(jq -r .winner <<<"$w")" "$want" "REPEAT winner"
ok "empty slot $s3 REPEATs slot $s2's winner"

# events through CometBFT's indexer
n=$(sb_rpc "$rpc" tx_search "query=%22sleetbubble.proposal.slot=$s1%22" | jq -r .result.total_count)
expect_eq "$n" 2 "tx_search proposals of slot $s1"
n=$(sb_rpc "$rpc" tx_search "query=%22sleetbubble.vote.proposal_id='$idA'%22" | jq -r .result.total_count)
expect_eq "$n" 1 "tx_search votes for A"
n=$(sb_rpc "$rpc" block_search "query=%22sleetbubble.slot_finalized.outcome='SUPERMAJORITY'%22" | jq -r .result.total_count)
expect_eq "$n" 1 "block_search SUPERMAJORITY"
n=$(sb_rpc "$rpc" block_search "query=%22sleetbubble.slot_finalized.slot=$s2%22" | jq -r .result.total_count)
expect_eq "$n" 1 "block_search slot $s2"
ok "tx_search and block_search find proposals, votes and finalized slots"

# every query path
for p in /params /slot/current "/slot/$s1" "/winner/$s1" "/proposal/$idA" /validators "/pins/$s1"; do
  expect_eq "$(q "$p" | cut -d' ' -f1)" 0 "query $p"
done
expect_eq "$(q /nope | cut -d' ' -f1)" 13 "unknown path"
expect_eq "$(q /winner/999999 | cut -d' ' -f1)" 14 "not found"
code=$(sb_rpc "$rpc" abci_query "path=%22/params%22" "height=1" | jq -r .result.response.code)
expect_eq "$code" 12 "old height"
curl -fsS "http://127.0.0.1:$metrics_port/metrics" | grep -q '^sleetbubble_height ' || fail "/metrics"
curl -fsS "http://127.0.0.1:$metrics_port/healthz" >/dev/null || fail "/healthz"
ok "every query path answers; codes 12, 13, 14; /metrics and /healthz served"

# ---- crash: kill -9 at 10 moments, replay, app hash agreement --------------------------------
# Deterministic: die between FinalizeBlock and Commit of a chosen height, then replay.
h0=$(sb_height "$rpc")
sb_stop_pid "$node_pid"; kill -TERM "$sbd_pid"; wait "$sbd_pid" 2>/dev/null || true
SLEETBUBBLE_FAIL_BEFORE_COMMIT=$((h0 + 3)) "$SBD" start --home "$T/sb" >>"$T/sleetbubbled.log" 2>&1 &
sbd_pid=$!; sb_track "$sbd_pid"
start_node
rc=0; wait "$sbd_pid" || rc=$?
expect_eq "$rc" 137 "sleetbubbled killed itself before Commit of $((h0 + 3))"
grep -q "fault injection: SIGKILL before Commit of height $((h0 + 3))" "$T/sleetbubbled.log" || fail "fault log line"
sb_stop_pid "$node_pid"
start_sbd; start_node
sb_wait_for "RPC after the injected crash" 60 sb_height "$rpc" || fail "restart after injected crash"
sb_wait_height "$rpc" $((h0 + 5)) 60 || fail "chain stuck after the injected crash"
check_app_hash "$rpc"
ok "killed between FinalizeBlock and Commit of height $((h0 + 3)): replay reaches the same app hash"

for i in $(seq 1 10); do
  sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
  kill -9 "$sbd_pid"; wait "$sbd_pid" 2>/dev/null || true
  sb_stop_pid "$node_pid"   # CometBFT stops itself on losing the app; make sure
  start_sbd; start_node
  sb_wait_for "RPC after crash $i" 60 sb_height "$rpc" || fail "restart $i"
  h0=$(sb_height "$rpc")
  sb_wait_height "$rpc" $((h0 + 2)) 60 || fail "chain stuck after crash $i"
  check_app_hash "$rpc"
done
props=$(qv "/slot/$s1")
expect_eq "$(jq -r '.proposals | length' <<<"$props")" 2 "proposals of slot $s1 after crashes"
expect_eq "$(jq -r '[.proposals[].voters | length] | add' <<<"$props")" 1 "votes of slot $s1 after crashes"
expect_eq "$(qv "/slot/$s2" | jq -r '.proposals | length')" 2 "proposals of slot $s2 after crashes"
ok "10 x kill -9 of sleetbubbled: replay reaches the same app hash, nothing lost or duplicated"

# ---- graceful stop: SIGTERM -> exit 0, DB closed, state intact on restart --------------------
sb_stop_pid "$node_pid"
kill -TERM "$sbd_pid"
rc=0; wait "$sbd_pid" || rc=$?
expect_eq "$rc" 0 "sleetbubbled exit status on SIGTERM"
grep -q 'msg="stopped at height' "$T/sleetbubbled.log" || fail "no shutdown log line"
start_sbd; start_node
sb_wait_for "RPC after graceful restart" 60 sb_height "$rpc" || fail "restart after SIGTERM"
h0=$(sb_height "$rpc"); sb_wait_height "$rpc" $((h0 + 2)) 60 || fail "chain stuck after SIGTERM"
check_app_hash "$rpc"
ok "SIGTERM stops sleetbubbled with exit 0; it restarts where it stopped"

# ---- chain 2: open curation -> proposals without votes REPEAT --------------------------------
new_chain '{"slot_seconds":20,"close_lead_seconds":8,"open_curation":true}'
s1=$(open_slot)
read -r tx id < <(propose $SEED_X "$s1" $CID1 "open")
expect_eq "$(commit_code "$tx")" "0 0" "open-curation proposal"
expect_eq "$(commit_code "$("$TXGEN" vote "$CHAIN" "$s1" "$id" "$VPUB" "$VSEED")")" "0 0" "vote"
read -r tx2 _ < <(propose $SEED_X $((s1 + 1)) $CID2 "unvoted")
expect_eq "$(sync_code "$tx2")" 0 "unvoted open-curation proposal"
wait_finalized $((s1 + 1)) || fail "slot $((s1 + 1)) not finalized"
expect_eq "$(qv "/winner/$s1" | jq -r .outcome)" SUPERMAJORITY "open chain slot $s1"
w=$(qv "/winner/$((s1 + 1))")
expect_eq "$(jq -r .outcome <<<"$w")" REPEAT "open chain: proposal without votes"
expect_eq "$(jq -r .winner <<<"$w")" "$id" "open chain REPEAT winner"
ok "on an open_curation chain a slot whose proposals got no votes REPEATs"

echo "$PASSED passed, 0 failed"
