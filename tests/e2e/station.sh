#!/usr/bin/env bash
# End-to-end: the station runs itself (protocol.md §15) on the 4-validator localnet
# (scripts/localnet up: a vote agent in every validator, policy follow, lead 14 s; a
# `sleetbubble schedule` loop per curator on short generated audio; 20 s slots).
#  A. N consecutive slots with no command run by the test after start-up (it only reads):
#     every slot SUPERMAJORITY on all 4 nodes with the same /winner, the outcome the tally of
#     /slot/<n> says, every winner pinned on all 4 Kubo nodes; app hashes agree at every height
#     the whole time (the background checker of tests/e2e/lib.sh);
#  B. node0's agent off (`scripts/localnet agent 0 off`: its sleetbubbled restarted with [vote]
#     enabled = false; 40 % of the power no longer votes, consensus goes on): the next slots
#     finalize as the tally says: FALLBACK to the proposal the 60 % voted for, no vote of node0;
#  C. node0's agent on again: from the next slot node0 votes and slots are SUPERMAJORITY;
#  D. on air (protocol.md §14): `scripts/localnet onair 1 2` puts node1 and node2 on air (own
#     Icecast, Liquidsoap as nobody when root, `sleetbubble onair`); at an instant >= 4.5 s
#     after / 2 s before any track boundary (one instant: the default run's time budget),
#     both Icecasts' /status-json.xsl (Ogg title and artist, MP3 title) and both nodes'
#     /nowplaying.json, read at that same instant, name the same track, the programme's
#     (computed by tests/integration/onair_tool.py from /params and /schedule/<n>); printed,
#     not asserted: the skew between the two nodes' ICY title changes as two listeners saw
#     them, and between the drivers' play commands;
#  a summary line: slots, outcomes by kind, votes on chain, votes sent, duplicates refused.
# usage: station.sh [--slots N] PATH/sleetbubbled PATH/sleetbubble   (N default 6; label
# `station` runs N = 50)
# Ports: SB_E2E_STATION_PORT_BASE (default 25000) + 100*node + 0..8 (range 25000-25499).
slots=6
while (($#)); do
  case $1 in
    --slots) slots=${2:?--slots needs a number}; shift 2 ;;
    *) break ;;
  esac
done
[[ $slots =~ ^[1-9][0-9]*$ ]] || { echo "station.sh: --slots must be a positive number" >&2; exit 2; }
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
export SLEETBUBBLED=$1 SLEETBUBBLE=$2
export SB_LOCALNET_PORT_BASE=${SB_E2E_STATION_PORT_BASE:-25000} SB_LOCALNET_STATION=1
for tool in sox espeak-ng; do
  command -v $tool >/dev/null || skip_or_fail "$tool is needed for the station's test audio"
done
for tool in liquidsoap icecast2 python3 setpriv; do
  command -v $tool >/dev/null || skip_or_fail "$tool is needed on air (phase D; scripts/bootstrap installs it)"
done
TOOL=$(cd "$(dirname "$0")/../integration" && pwd)/onair_tool.py
t_start=$SECONDS
declare -A OUTCOMES=()
VOTES_ON_CHAIN=0 PINNED=0 OBSERVED=0

LN up 2>"$T/up.log" || { cat "$T/up.log" >&2; fail "scripts/localnet up"; }
for i in 0 1 2 3; do
  VPUB[i]=$(jq -r ".nodes[$i].validator_pubkey" "$NET/network.json")
  grep -q '^enabled = true' <(sed -n '/^\[vote\]/,/^\[/p' "$NET/node$i/sleetbubbled/config/sleetbubble.toml") ||
    fail "node$i has no [vote] enabled = true"
done
expect_eq "$(jq -r .station "$NET/network.json")" true "network.json station"
ok "scripts/localnet up: 4 validators with vote agents, 2 curator schedule loops ($((SECONDS - t_start)) s)"

agreement_checker >"$T/checker.log" 2>&1 &
CHECKER_PID=$!
sb_track "$CHECKER_PID"

# ---- helpers (read-only: queries of the 4 nodes) ---------------------------------------------
name_of() { # validator pubkey hex -> nodeN
  local i
  for i in 0 1 2 3; do [ "${VPUB[i]}" = "$1" ] && { echo "node$i"; return; }; done
  echo "${1:0:8}"
}
both_proposed() { # SLOT: both curators have a committed proposal in SLOT (node0's view)
  [ "$(qv 0 "/slot/$1" | jq '[.proposals[].curator] | unique | length')" = 2 ]
}
# next_open [NODE]: the first slot whose agent threshold close(s) - lead is still >= 2 s after
# the last block time, so its h* is a block not made yet and proposals committed now count.
# (next_slot is current + 1, whose close can already be past: close lead 16 s of 20 s slots.)
next_open() {
  local cur s c bt lead
  cur=$(qv "${1:-0}" /slot/current)
  lead=$(jq -r .agent_lead_seconds "$NET/network.json")
  s=$(jq -r .next_slot <<<"$cur") c=$(jq -r .next_close_ns <<<"$cur") bt=$(jq -r .block_time_ns <<<"$cur")
  while ((c - lead * 1000000000 - bt < 2000000000)); do s=$((s + 1)) c=$((c + 20000000000)); done
  echo "$s"
}
# tally_outcome SLOT_JSON: the outcome protocol.md §5 gives for /slot/<n>'s proposals and powers
# (SUPERMAJORITY: 3·power_for > 2·total; proposals without it: FALLBACK). REPEAT/NONE are not
# expected here: both curators propose for every slot.
tally_outcome() {
  jq -r --argjson total 100 '
    if (.proposals | length) == 0 then "REPEAT_OR_NONE"
    elif ([.proposals[].power_for | tonumber] | max) * 3 > $total * 2 then "SUPERMAJORITY"
    else "FALLBACK" end' <<<"$1"
}
# check_slot SLOT WANT NODE0: the slot finalized on all 4 with outcome WANT (also what the tally
# of /slot/<n> says), the same /winner everywhere, the winner = the proposal with the most
# power; NODE0 = yes|no: node0 among the voters or not. Then its pins on all 4 Kubo nodes.
check_slot() {
  local s=$1 want=$2 n0=$3 i w ref sl voters best
  for i in 0 1 2 3; do wait_finalized $i "$s" 120 || fail "slot $s not finalized on node$i"; done
  ref=$(qv 0 "/winner/$s")
  for i in 1 2 3; do
    w=$(qv $i "/winner/$s")
    [ "$w" = "$ref" ] || fail "node$i /winner/$s differs from node0's: $w vs $ref"
  done
  sl=$(qv 0 "/slot/$s")
  expect_eq "$(jq -r .outcome <<<"$ref")" "$want" "slot $s outcome"
  expect_eq "$(tally_outcome "$sl")" "$want" "slot $s outcome by the tally of /slot/$s"
  best=$(jq -r '.proposals | max_by(.power_for | tonumber) | .id' <<<"$sl")
  expect_eq "$(jq -r .winner <<<"$ref")" "$best" "slot $s winner (the most power_for)"
  voters=$(jq -r '[.proposals[].voters[]] | .[]' <<<"$sl")
  if [ "$n0" = yes ]; then
    grep -qx "${VPUB[0]}" <<<"$voters" || fail "slot $s: node0 did not vote (voters: $(for v in $voters; do name_of "$v"; done | xargs))"
  else
    ! grep -qx "${VPUB[0]}" <<<"$voters" || fail "slot $s: node0 voted with its agent off"
  fi
  for i in 0 1 2 3; do wait_pinned $i "$s" 120 || fail "slot $s not pinned on node$i: $(qv $i "/pins/$s")"; done
  OUTCOMES[$want]=$((${OUTCOMES[$want]:-0} + 1))
  VOTES_ON_CHAIN=$((VOTES_ON_CHAIN + $(grep -c . <<<"$voters" || true)))
  PINNED=$((PINNED + 1)) OBSERVED=$((OBSERVED + 1))
  note "slot $s: $want $(jq -r '"\(.power_for)/\(.total_power)"' <<<"$ref"), winner $(jq -r '.winner[0:12]' <<<"$ref") ($(jq -r '.tracks | length' <<<"$(qv 0 "/winner/$s")") tracks), voters $(for v in $voters; do name_of "$v"; done | xargs), pinned on 4"
}

# ---- A. N slots, no command after start-up --------------------------------------------------
t_a=$SECONDS
# The first slot both curators' loops proposed for while its h* is still ahead: wait until
# next_open has committed proposals of both.
first_ready() { both_proposed "$(next_open)"; }
sb_wait_for "both curators' proposals for an open slot" 240 first_ready ||
  fail "the curator loops made no proposals: $(tail -n 5 "$NET"/curator-*.log)"
s0=$(next_open)
note "phase A: slots $s0..$((s0 + slots - 1)), read only"
for ((k = 0; k < slots; k++)); do check_slot $((s0 + k)) SUPERMAJORITY yes; done
mism=$(checker_field mismatches)
expect_eq "$mism" 0 "app-hash mismatches"
ok "A: $slots consecutive slots $s0..$((s0 + slots - 1)) SUPERMAJORITY on 4 nodes, as tallied, winners pinned on 4 Kubo nodes, no command run ($((SECONDS - t_a)) s)"

# resumed: after node0's restart the chain (halted while 40 % was down) makes new blocks, so
# next_open is taken from a block time after the restart (before it, node0's agent may have
# voted for the slot after the halted block's next one).
resumed() {
  caught_up 0 1 120 || fail "node0 did not catch up after its restart"
  wait_grow 1 2 60 || fail "the chain did not resume after node0's restart"
}

# ---- B. node0's agent off ---------------------------------------------------------------------
t_b=$SECONDS
LN agent 0 off 2>>"$T/agent.log" || { cat "$T/agent.log" >&2; fail "scripts/localnet agent 0 off"; }
resumed
s1=$(next_open 1)
note "phase B: node0's agent off; slots $s1..$((s1 + 1))"
for s in "$s1" $((s1 + 1)); do check_slot "$s" FALLBACK no; done
for s in "$s1" $((s1 + 1)); do
  expect_eq "$(qv 0 "/winner/$s" | jq -r .power_for)" 60 "slot $s power_for (nodes 1-3)"
done
ok "B: node0 (40) not voting: slots $s1, $((s1 + 1)) FALLBACK to the proposal of the other 60 %, chain going on ($((SECONDS - t_b)) s)"

# ---- C. node0's agent back ----------------------------------------------------------------------
t_c=$SECONDS
LN agent 0 on 2>>"$T/agent.log" || { cat "$T/agent.log" >&2; fail "scripts/localnet agent 0 on"; }
resumed
s2=$(next_open 1)
note "phase C: node0's agent on; slots $s2..$((s2 + 1))"
for s in "$s2" $((s2 + 1)); do check_slot "$s" SUPERMAJORITY yes; done
ok "C: node0's agent back: it votes again from slot $s2, SUPERMAJORITY ($((SECONDS - t_c)) s)"

# ---- D. two nodes on air ------------------------------------------------------------------------
t_d=$SECONDS
LN onair 1 2 2>>"$T/onair.log" || { cat "$T/onair.log" >&2; fail "scripts/localnet onair 1 2"; }
for i in 1 2; do
  ICE[i]=http://127.0.0.1:$(ln_onair_port "$NET" $i)
  WEB[i]=http://127.0.0.1:$(($(ln_onair_port "$NET" $i) - 1))
  python3 "$TOOL" listen "${ICE[i]}/sleetbubble.mp3" "$T/listen$i.txt" &
  sb_track $!
done
# Both drivers switched at a programme boundary once (not only joined mid-track at start-up).
switched() { grep -q ' on air [0-9:]* (boundary)' "$NET/node1/onair.log" && grep -q ' on air [0-9:]* (boundary)' "$NET/node2/onair.log"; }
sb_wait_for "both drivers to play a track at its boundary" 60 switched ||
  fail "not on air: $(tail -n 3 "$NET"/node{1,2}/onair.log)"
note "phase D: node1 and node2 on air ($((SECONDS - t_d)) s to the first boundary)"
# same_title LABEL: at the next instant 4.5 s after / 2 s before a boundary, both stations
# (Icecast mounts and the node's feed) name the programme's track.
same_title() {
  local r i j
  r=$(python3 "$TOOL" same "$(rpc 1)" "${ICE[1]}=${WEB[1]}" "${ICE[2]}=${WEB[2]}")
  [ -z "$(jq -r '.error // empty' <<<"$r")" ] || fail "$1: $(jq -r .error <<<"$r")"
  for j in 0 1; do
    i=$((j + 1))
    [ -z "$(jq -r ".stations[$j].error // empty" <<<"$r")" ] || fail "$1: node$i: $(jq -r ".stations[$j].error" <<<"$r")"
    expect_eq "$(jq -r ".stations[$j].ogg_title" <<<"$r")" "$(jq -r .want_title <<<"$r")" "$1: node$i Ogg title ($(jq -r .key <<<"$r"))"
    expect_eq "$(jq -r ".stations[$j].ogg_artist // \"\"" <<<"$r")" "$(jq -r .want_artist <<<"$r")" "$1: node$i Ogg artist"
    expect_eq "$(jq -r ".stations[$j].mp3_title" <<<"$r")" "$(jq -r .want_icy <<<"$r")" "$1: node$i MP3 title"
    expect_eq "$(jq -r ".stations[$j].np_title" <<<"$r")" "$(jq -r .want_title <<<"$r")" "$1: node$i /nowplaying.json title"
    expect_eq "$(jq -r ".stations[$j].np_artist // \"\"" <<<"$r")" "$(jq -r .want_artist <<<"$r")" "$1: node$i /nowplaying.json artist"
  done
  ok "$1: node1 and node2 on air with $(jq -r '"\(.key) \"\(.want_icy)\""' <<<"$r") (Icecast Ogg + MP3, /nowplaying.json), read within $(jq -r '[.stations[].t_ns | tonumber] | (max - min) / 1e6 | floor' <<<"$r") ms"
}
same_title "on air"
# For the skew figure: both listeners saw >= 6 title changes (30 s at most; fewer is no failure).
changes() { (($(grep -c ' title ' "$T/listen1.txt") >= 7 && $(grep -c ' title ' "$T/listen2.txt") >= 7)); }
sb_wait_for "6 title changes seen by both listeners" 30 changes || true
read -r n_sk p50_sk max_sk < <(python3 "$TOOL" skew2 "$T/listen1.txt" "$T/listen2.txt")
# The drivers' play commands: node2's minus node1's, per entry both played at its boundary.
cmd_skew=$(LC_ALL=C join <(sed -n 's/.*t_ms=\([0-9]*\) on air \([0-9:]*\) (boundary).*/\2 \1/p' "$NET/node1/onair.log" | LC_ALL=C sort) \
                <(sed -n 's/.*t_ms=\([0-9]*\) on air \([0-9:]*\) (boundary).*/\2 \1/p' "$NET/node2/onair.log" | LC_ALL=C sort) |
  awk '{ d = $3 - $2; n++; s += (d < 0 ? -d : d); if ((d < 0 ? -d : d) > m) m = (d < 0 ? -d : d) } END { printf "n=%d mean_abs=%d ms max_abs=%d ms", n, n ? s / n : 0, m }')
LN onair down 2>>"$T/onair.log"
note "phase D: $((SECONDS - t_d)) s"
echo "# figures (not asserted): inter-node skew of ICY title changes (two listeners, node2 - node1; ICY metadata every 16000 bytes = 1 s of 128 kbit/s MP3): n=$n_sk p50=$p50_sk ms max=$max_sk ms; drivers' play commands at boundaries: $cmd_skew"

# ---- agreement and summary -----------------------------------------------------------------------
sleep 2
expect_eq "$(checker_field mismatches)" 0 "app-hash mismatches"
((${OUTCOMES[FALLBACK]:-0} == 2)) || fail "FALLBACK count ${OUTCOMES[FALLBACK]:-0}"
sent=$(cat "$NET"/node*/app.log | grep -c 'module=vote msg="slot [0-9]*: vote for [0-9a-f]* accepted by CheckTx' || true)
dups=$(cat "$NET"/node*/app.log | grep -cE 'module=vote msg="slot [0-9]*: (vote for [0-9a-f]*: DUPLICATE|validator [0-9a-f]* already voted)' || true)
proposed=$(cat "$NET"/curator-*.log | grep -c 'summary:' || true)
ok "app hashes agree at $(checker_field heights) heights ($(checker_field claims) claims)"
echo "# summary: slots $OBSERVED (A $slots, node0 off 2, node0 back 2); outcomes SUPERMAJORITY ${OUTCOMES[SUPERMAJORITY]:-0} FALLBACK ${OUTCOMES[FALLBACK]:-0} REPEAT 0 NONE 0; votes on chain in these slots $VOTES_ON_CHAIN; votes sent by the agents (every slot of the run) $sent; duplicates refused $dups; schedule runs $proposed; pinned on 4 nodes $PINNED/$OBSERVED; app-hash mismatches $(checker_field mismatches); $((SECONDS - t_start)) s"
echo "$PASSED passed, 0 failed"
