#!/usr/bin/env bash
# End-to-end on the 4-validator localnet (protocol.md §13): scripts/localnet up, then
#  (a) outcomes: votes of 40+30 power -> SUPERMAJORITY; 40 vs 30 split -> FALLBACK to the
#      highest power_for; proposals without votes on a curated chain -> FALLBACK by the protocol.md §5
#      tie-break; no proposals -> REPEAT; all 4 nodes serve the same /winner/<n>; tracks added
#      to ONE node's Kubo end up pinned on all 4 (bitswap between the peered Kubo nodes);
#  (b) agreement: a background checker compares every node's app hash at every height, from
#      block headers and from the app itself (abci_info), the whole time faults run;
#  (c) faults: kill -9 of one sleetbubbled (its CometBFT stops too; both restart and replay);
#      the power-10 validator stopped (chain goes on) and restarted; the power-40 validator
#      stopped (> 1/3 power: chain halts, no divergence) and restarted (chain resumes); one
#      node's Kubo down while a winner finalizes, across 4 failed pin attempts (its pins
#      complete afterwards);
#  (d) a summary: blocks, slots by outcome, faults, app-hash mismatches, pins lost.
# usage: localnet.sh PATH/sleetbubbled PATH/sleetbubble PATH/sb-txgen
# Ports: SB_E2E_PORT_BASE (default 29000, below the ephemeral range) + 100*node + 0..7 (see scripts/localnet).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
export SLEETBUBBLED=$1 SLEETBUBBLE=$2
TXGEN=$3
export SB_LOCALNET_PORT_BASE=${SB_E2E_PORT_BASE:-29000}
export SB_LOCALNET_STATION=0 # votes and proposals by hand: no agents, no curator loops
t_start=$SECONDS
FAULTS=()

# ---- up ------------------------------------------------------------------------------------
LN up 2>"$T/up.log" || { cat "$T/up.log" >&2; fail "scripts/localnet up"; }
CHAIN=$(jq -r .chain_id "$NET/network.json")
for i in 0 1 2 3; do
  VPUB[i]=$(jq -r ".nodes[$i].validator_pubkey" "$NET/network.json")
  VSEED[i]=$(jq -r .priv_key.value "$NET/node$i/cometbft/config/priv_validator_key.json" | base64 -d | head -c 32 | od -An -tx1 -v | tr -d ' \n')
done
SEED_A=$(jq -r .seed "$NET/cli/keys/curator-a.json")
SEED_B=$(jq -r .seed "$NET/cli/keys/curator-b.json")
for i in 0 1 2 3; do sb_wait_height "$(rpc $i)" 2 60 || fail "node$i makes no blocks"; done
ok "scripts/localnet up: 4 validators (40/30/20/10) make blocks in $((SECONDS - t_start)) s"

agreement_checker >"$T/checker.log" 2>&1 &
CHECKER_PID=$!
sb_track "$CHECKER_PID"

# ---- helpers on this network -----------------------------------------------------------------
# new_track NODE: a small generated file added to NODE's Kubo only; prints its CIDv1.
new_track() {
  local f; f=$(mktemp "$T/track.XXXXXX")
  head -c $((4096 + RANDOM)) /dev/urandom >"$f"
  IPFS_PATH=$NET/node$1/ipfs ipfs add -Q --cid-version 1 "$f"
}
# open_slot: the next slot whose voting stays open for >= 12 s (close(s) - last block time).
open_slot() {
  local cur s nc bt
  cur=$(qv 0 /slot/current)
  s=$(jq -r .next_slot <<<"$cur"); nc=$(jq -r .next_close_ns <<<"$cur"); bt=$(jq -r .block_time_ns <<<"$cur")
  while (((nc - bt) < 12000000000)); do s=$((s + 1)); nc=$((nc + 20000000000)); done
  echo "$s"
}
# propose NODE SEED SLOT CID NOTE -> proposal id (sent to NODE, CheckTx code 0 required)
propose() {
  local tx id code
  read -r tx id < <("$TXGEN" proposal "$CHAIN" "$3" "$2" "$4" 5000 "$5")
  code=$(sb_tx_code "$(rpc "$1")" broadcast_tx_sync "tx=0x$tx")
  expect_eq "$code" 0 "proposal $5 for slot $3"
  echo "$id"
}
# vote NODE VALIDATOR SLOT PROPOSAL_ID: validator's vote sent to NODE.
vote() {
  local tx code
  tx=$("$TXGEN" vote "$CHAIN" "$3" "$4" "${VPUB[$2]}" "${VSEED[$2]}")
  code=$(sb_tx_code "$(rpc "$1")" broadcast_tx_sync "tx=0x$tx")
  expect_eq "$code" 0 "vote of node$2 for slot $3"
}
proposal_known() { [ "$(q "$1" "/proposal/$2" | cut -d' ' -f1)" = 0 ]; }
wait_proposals() { # NODE ID… : every proposal committed (votes need that)
  local n=$1 id; shift
  for id in "$@"; do sb_wait_for "proposal $id on node$n" 30 proposal_known "$n" "$id" || fail "proposal not committed"; done
}
same_winner_everywhere() { # SLOT: /winner/<n> byte-identical on the 4 nodes
  local ref w i
  ref=$(qv 0 "/winner/$1")
  for i in 1 2 3; do
    wait_finalized $i "$1" 60 || fail "slot $1 not finalized on node$i"
    w=$(qv $i "/winner/$1")
    [ "$w" = "$ref" ] || fail "node$i /winner/$1 differs from node0's: $w vs $ref"
  done
}

# ---- (a) outcomes ----------------------------------------------------------------------------
t_a=$SECONDS
s=$(open_slot)
note "outcome slots $s..$((s + 3)) (closes every 20 s)"
# every track lives on one node's Kubo only
# (one assignment per line: `a=$(x) b=$(y)` would hide a failure of x from set -e)
T_A1=$(new_track 3)
T_A2=$(new_track 2)
T_B1=$(new_track 1)
T_B2=$(new_track 0)
T_C1=$(new_track 2)
T_C2=$(new_track 3)
pa1=$(propose 3 "$SEED_A" "$s" "$T_A1" "a1")
pa2=$(propose 2 "$SEED_B" "$s" "$T_A2" "a2")
pb1=$(propose 1 "$SEED_A" $((s + 1)) "$T_B1" "b1")
pb2=$(propose 0 "$SEED_B" $((s + 1)) "$T_B2" "b2")
pc1=$(propose 2 "$SEED_A" $((s + 2)) "$T_C1" "c1")
pc2=$(propose 3 "$SEED_B" $((s + 2)) "$T_C2" "c2")
wait_proposals 2 "$pa1" "$pa2" "$pb1" "$pb2" "$pc1" "$pc2"
vote 2 0 "$s" "$pa1"; vote 3 1 "$s" "$pa1"                 # 40 + 30 = 70 > 2/3 of 100
vote 1 0 $((s + 1)) "$pb1"; vote 0 1 $((s + 1)) "$pb2"     # 40 vs 30: no supermajority
ok "6 proposals for slots $s..$((s + 2)) and 4 votes accepted through 4 different nodes"

wait_finalized 0 "$s" 60 || fail "slot $s not finalized"
w=$(qv 0 "/winner/$s")
expect_eq "$(jq -r .outcome <<<"$w")" SUPERMAJORITY "slot $s outcome"
expect_eq "$(jq -r .winner <<<"$w")" "$pa1" "slot $s winner"
expect_eq "$(jq -r .power_for <<<"$w")/$(jq -r .total_power <<<"$w")" 70/100 "slot $s power"
same_winner_everywhere "$s"
ok "slot $s: votes of 40+30 power -> SUPERMAJORITY for a1 (70/100), same /winner on 4 nodes"

wait_finalized 0 $((s + 1)) 60 || fail "slot $((s + 1)) not finalized"
w=$(qv 0 "/winner/$((s + 1))")
expect_eq "$(jq -r .outcome <<<"$w")" FALLBACK "slot $((s + 1)) outcome"
expect_eq "$(jq -r .winner <<<"$w")" "$pb1" "slot $((s + 1)) winner"
expect_eq "$(jq -r .power_for <<<"$w")" 40 "slot $((s + 1)) power_for"
same_winner_everywhere $((s + 1))
ok "slot $((s + 1)): 40 vs 30 split -> FALLBACK to the highest power_for (b1, 40)"

wait_finalized 0 $((s + 2)) 60 || fail "slot $((s + 2)) not finalized"
w=$(qv 0 "/winner/$((s + 2))")
expect_eq "$(jq -r .outcome <<<"$w")" FALLBACK "slot $((s + 2)) outcome"
h=$(jq -r .height <<<"$w")
prev=$(sb_rpc "$(rpc 0)" block "height=$h" | jq -r .result.block.header.app_hash | tr A-F a-f)
# protocol.md §5 tie-break hash from its preimage with sha256sum, not with the code under test:
# SHA-256("sleetbubble/v1/tiebreak\0" || H_{h-1} || be64(s) || proposal_id)
tiebreak_ref() {
  { printf 'sleetbubble/v1/tiebreak\000'
    printf '%b' "$(printf '%s%016x%s' "$1" "$2" "$3" | sed 's/../\\x&/g')"; } | sha256sum | cut -d' ' -f1
}
expect_eq "${#prev}" 64 "app hash of block $h (H_{h-1})"
t1=$(tiebreak_ref "$prev" $((s + 2)) "$pc1")
t2=$(tiebreak_ref "$prev" $((s + 2)) "$pc2")
if [[ $t1 < $t2 ]]; then want_c=$pc1; else want_c=$pc2; fi
expect_eq "$(jq -r .winner <<<"$w")" "$want_c" "slot $((s + 2)) tie-break winner"
same_winner_everywhere $((s + 2))
ok "slot $((s + 2)): proposals, no votes, curated chain -> FALLBACK to the lowest protocol.md §5 tie-break hash"

wait_finalized 0 $((s + 3)) 60 || fail "slot $((s + 3)) not finalized"
w=$(qv 0 "/winner/$((s + 3))")
expect_eq "$(jq -r .outcome <<<"$w")" REPEAT "slot $((s + 3)) outcome"
expect_eq "$(jq -r .winner <<<"$w")" "$want_c" "slot $((s + 3)) REPEAT winner"
same_winner_everywhere $((s + 3))
ok "slot $((s + 3)): no proposals -> REPEAT of slot $((s + 2))'s winner"

for slot in "$s" $((s + 1)) $((s + 2)); do
  for i in 0 1 2 3; do wait_pinned $i "$slot" 120 || fail "slot $slot not pinned on node$i: $(qv $i "/pins/$slot")"; done
done
for i in 0 1 2 3; do
  IPFS_PATH=$NET/node$i/ipfs ipfs pin ls --type=recursive "$T_A1" >/dev/null 2>&1 ||
    fail "track $T_A1 (added on node3 only) not pinned in node$i's Kubo"
done
ok "winners of slots $s..$((s + 2)) pinned on all 4 nodes; node3-only track in every Kubo's pin ls (bitswap)"
note "outcomes phase: $((SECONDS - t_a)) s"

# ---- (c) faults, with the checker running ----------------------------------------------------
expect_no_mismatch() {
  local m; m=$(checker_field mismatches)
  [ "${m:-0}" = 0 ] || fail "app-hash mismatches after $1: $(cat "$T/mismatches.log")"
}
dead() { ! sb_alive "$(ln_pid_of "$NET" "$1" "$2")" "$(ln_comm_of "$2")"; }

# F1: kill -9 of node1's sleetbubbled; its CometBFT exits on losing the app; restart both.
t_f=$SECONDS
lost0=$(grep -c 'consensus connection terminated' "$NET/node1/cometbft.log" || true)
LN kill 1 app 2>>"$T/faults.log"
# The state that matters: CometBFT saw its consensus connection end and stopped (its process
# may take longer to exit on a loaded machine; `LN stop` below ends it either way).
app_lost() {
  dead 1 cometbft ||
    (($(grep -c 'consensus connection terminated' "$NET/node1/cometbft.log" || true) > lost0))
}
sb_wait_for "node1's CometBFT to stop after its app died" 30 app_lost ||
  fail "node1's CometBFT kept running without its app"
LN stop 1 cometbft 2>>"$T/faults.log"
wait_grow 0 3 30 || fail "chain stopped while node1 (30) was down"
LN start 1 app cometbft 2>>"$T/faults.log" || fail "restart node1"
caught_up 1 0 90 || fail "node1 did not catch up after kill -9"
expect_no_mismatch "kill -9 of node1's app"
FAULTS+=("kill -9 node1 sleetbubbled ($((SECONDS - t_f)) s)")
ok "kill -9 of node1's sleetbubbled: CometBFT stops, chain goes on, both restart and catch up by replay"

# F2: the power-10 validator stops: 90 > 2/3 of 100, the chain goes on.
t_f=$SECONDS
LN stop 3 cometbft app 2>>"$T/faults.log"
wait_grow 0 4 30 || fail "chain stopped without node3 (10)"
LN start 3 app cometbft 2>>"$T/faults.log" || fail "restart node3"
caught_up 3 0 90 || fail "node3 did not catch up"
expect_no_mismatch "node3 stop/start"
FAULTS+=("stop/start node3 (power 10) ($((SECONDS - t_f)) s)")
ok "node3 (power 10) stopped: the chain goes on; restarted, it catches up"

# F3: the power-40 validator stops: 60 <= 2/3 of 100, the chain halts; restart resumes it.
t_f=$SECONDS
LN stop 0 cometbft app 2>>"$T/faults.log"
# Halted is a state read from the nodes' own vote sets, not a quiet period: each of nodes 1-3
# is in a round r at height H whose precommits hold at most the 60 of 100 power still running
# (node0's 40 absent) and whose prevotes or precommits hold exactly 60, so round r cannot
# reach 2/3 precommits; its last block is H - 1 (the same on all three). Round r's prevotes
# and earlier rounds may show 100/100 (node0 voted before it went down, and the bit arrays
# count nil votes too); earlier rounds did not commit, or H would be past them. A node stuck
# in round r's precommit step with 60/100 never times out to r + 1 (CometBFT schedules that
# timeout only after 2/3 of any precommits), so r is where it stays.
halted_at() { # halted_at NODE -> prints H - 1 when NODE is halted as above
  local cs
  cs=$(sb_rpc "$(rpc "$1")" consensus_state) || return 1
  jq -er '.result.round_state as $rs
    | ($rs."height/round/step" | split("/") | map(tonumber)) as [$h, $r]
    | def pw: capture(" (?<p>[0-9]+)/(?<t>[0-9]+) = ") | (.p | tonumber);
    [$rs.height_vote_set[] | {round: (.round | tonumber), pv: (.prevotes_bit_array | pw),
                             pc: (.precommits_bit_array | pw)}] as $v
    | select(any($v[]; .round == $r and .pc <= 60 and (.pv == 60 or .pc == 60)))
    | $h - 1' <<<"$cs"
}
halted_all() {
  local i h hs=()
  for i in 1 2 3; do h=$(halted_at $i) && [ "$(height $i)" = "$h" ] || return 1; hs+=("$h"); done
  [ "${hs[0]}" = "${hs[1]}" ] && [ "${hs[1]}" = "${hs[2]}" ]
}
sb_wait_for "nodes 1-3 halted without node0's prevotes" 60 halted_all ||
  fail "nodes 1-3 not halted with node0 (40) stopped: $(for i in 1 2 3; do sb_rpc "$(rpc $i)" consensus_state | jq -c '.result.round_state | [."height/round/step", [.height_vote_set[] | .prevotes_bit_array, .precommits_bit_array]]'; done)"
h_halt=$(halted_at 1)
LN start 0 app cometbft 2>>"$T/faults.log" || fail "restart node0"
sb_wait_height "$(rpc 1)" $((h_halt + 3)) 90 || fail "chain did not resume after node0 returned"
caught_up 0 1 90 || fail "node0 did not catch up"
expect_no_mismatch "halt with node0 stopped"
FAULTS+=("stop/start node0 (power 40, halt) ($((SECONDS - t_f)) s)")
ok "node0 (power 40 > 1/3) stopped: nodes 1-3 halt at $h_halt (60/100 of the votes at $((h_halt + 1))); restarted, the chain resumes"

# F4: node2's Kubo down while a winner finalizes; its pins complete afterwards. The outage
# lasts until node2's worker has failed 4 attempts on the manifest (unreachable; back-off 2,
# 4, 8 s between them): a state, not a clock.
t_f=$SECONDS
k=$(open_slot)
T_K=$(new_track 0)
pk=$(propose 0 "$SEED_A" "$k" "$T_K" "k")
wait_proposals 1 "$pk"
vote 1 0 "$k" "$pk"; vote 1 1 "$k" "$pk"
LN stop 2 kubo 2>>"$T/faults.log"
wait_finalized 2 "$k" 60 || fail "slot $k not finalized on node2"
manifest_failed() { # manifest_failed N: node2's manifest job of slot k failed N times, unreachable
  qv 2 "/pins/$k" | jq -e --argjson n "$1" '[.cids[] | select(.kind == "manifest")][0]
    | .attempts >= $n and .state != "pinned" and ((.last_error // "") | startswith("unreachable"))'
}
sb_wait_for "node2's manifest of slot $k failing 4 times with its Kubo down" 120 manifest_failed 4 ||
  fail "node2's manifest of slot $k did not fail 4 times as unreachable: $(qv 2 "/pins/$k")"
! all_pinned 2 "$k" || fail "node2 reports slot $k pinned with its Kubo down"
st=$(qv 2 "/pins/$k" | jq -c '[.cids[] | {state, attempts}]')
note "node2 /pins/$k with Kubo down: $st"
LN start 2 kubo 2>>"$T/faults.log" || fail "restart node2's Kubo"
t_back=$SECONDS
wait_pinned 2 "$k" 180 || fail "node2 never pinned slot $k after its Kubo returned: $(qv 2 "/pins/$k")"
pin_delay=$((SECONDS - t_back))
for i in 0 1 3; do wait_pinned $i "$k" 60 || fail "slot $k not pinned on node$i"; done
IPFS_PATH=$NET/node2/ipfs ipfs pin ls --type=recursive "$T_K" >/dev/null || fail "node2's Kubo lacks $T_K"
expect_no_mismatch "Kubo outage"
FAULTS+=("node2 Kubo down during slot $k, 4 failed attempts ($((SECONDS - t_f)) s; pinned ${pin_delay} s after Kubo returned)")
ok "node2's Kubo down while slot $k finalized (4 failed attempts, unreachable): its pins completed after Kubo returned"

# ---- (b) final agreement and (d) summary ---------------------------------------------------
h_end=$(height 0)
for i in 1 2 3; do sb_wait_height "$(rpc $i)" "$h_end" 60 || fail "node$i behind at the end"; done
sleep 3 # one more checker round over the last heights
touch "$T/checker.stop"
sb_stop_pid "$CHECKER_PID"; CHECKER_PID=""
claims=$(checker_field claims)
mism=$(checker_field mismatches)
heights=$(checker_field heights)
expect_eq "$mism" 0 "app-hash mismatches"
((heights >= h_end - 2)) || fail "checker covered $heights heights of $h_end"
hashes=$(for i in 0 1 2 3; do sb_rpc "$(rpc $i)" block "height=$h_end" | jq -r .result.block.header.app_hash; done | sort -u | wc -l)
expect_eq "$hashes" 1 "distinct app hashes at height $h_end"
ok "no app-hash mismatch: $claims claims over $heights heights, all 4 nodes agree at height $h_end"

status=$(LN status 2>&1)
while IFS= read -r line; do echo "# $line"; done <<<"$status"
expect_eq "$(grep -c 'all_pinned=true' <<<"$status")" 4 "scripts/localnet status: nodes with all_pinned=true"
grep -q '^agreement: the 4 answering nodes have the same app hash' <<<"$status" ||
  fail "scripts/localnet status does not report agreement of the 4 nodes"
ok "scripts/localnet status lists the 4 nodes (height, app hash, last winner pinned) and their agreement"

# Every finalized slot with a winner, on every node: pinned.
last=$(($(qv 0 /slot/current | jq -r .next_to_finalize) - 1))
declare -A by_outcome=()
lost=0
for ((n = 0; n <= last; n++)); do
  o=$(qv 0 "/winner/$n" | jq -r .outcome)
  o=${o:-unknown}
  by_outcome[$o]=$((${by_outcome[$o]:-0} + 1))
  [ "$o" = NONE ] && continue
  for i in 0 1 2 3; do
    all_pinned $i "$n" || { lost=$((lost + 1)); note "slot $n not pinned on node$i: $(qv $i "/pins/$n")"; }
  done
done
expect_eq "$lost" 0 "pins lost"
ok "every winner of slots 0..$last pinned on all 4 nodes"

LN down 2>>"$T/faults.log"
[ ! -f "$NET/pids" ] || fail "scripts/localnet down left $NET/pids"
ok "scripts/localnet down stopped every process by pid"

echo "# ---- summary ----"
echo "# duration:      $((SECONDS - t_start)) s"
echo "# blocks made:   $h_end"
echo "# slots 0..$last: $(for o in SUPERMAJORITY FALLBACK REPEAT NONE; do printf '%s=%s ' $o "${by_outcome[$o]:-0}"; done)"
echo "# faults:        ${#FAULTS[@]}"
for f in "${FAULTS[@]}"; do echo "#   - $f"; done
echo "# app-hash mismatches: $mism ($claims claims over $heights heights, 4 nodes)"
echo "# pins lost:     $lost"
echo "$PASSED passed, 0 failed"
