#!/usr/bin/env bash
# `sleetbubble schedule` against a real chain and a real Kubo (protocol.md §15 "Curator
# schedule"): one CometBFT validator + sleetbubbled + an offline Kubo on loopback, 20 s slots.
# A library of 6 generated tracks (scripts/lib/gen-audio.sh, real Ogg Vorbis of 3..8 s = 33 s),
# a text file and a 25 s WAV: the schedule proposes for the next 2 open slots; the first
# playlist fills its slot exactly (20 000 ms), the second gets only the 13 s left, because
# --no-repeat-slots 1 keeps every track of the first out of it; the chain holds exactly those
# proposals; the tracks are pinned in Kubo;
# the two bad files are named on stderr and in the summary; a second run proposes nothing for
# the slots already proposed; --dry-run sends nothing; an index that cannot be saved after the
# adds makes the run exit 2 naming the file.
# usage: cli_schedule.sh PATH/sleetbubble PATH/sleetbubbled
# Ports (range 24400-24499): SB_CLI_SCHED_PORT_BASE (default 24400) +0..+2 Kubo API, gateway,
# swarm; +3 RPC, +4 p2p, +5 ABCI, +6 metrics.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
SB=$1 SBD=$2
base=${SB_CLI_SCHED_PORT_BASE:-24400}
api_port=$base gw_port=$((base + 1)) swarm_port=$((base + 2))
rpc_port=$((base + 3)) p2p_port=$((base + 4)) abci_port=$((base + 5)) metrics_port=$((base + 6))
rpc="http://127.0.0.1:$rpc_port" api="http://127.0.0.1:$api_port"
for p in $api_port $gw_port $swarm_port $rpc_port $p2p_port $abci_port $metrics_port; do
  sb_port_free "$p" SB_CLI_SCHED_PORT_BASE
done
for tool in ipfs espeak-ng sox; do
  command -v "$tool" >/dev/null || skip_or_fail "$tool not on PATH (scripts/bootstrap installs it)"
done
sb() { "$SB" --node "$rpc" --ipfs "$api" --home "$T/cli" "$@"; }

# Library: track01..06.ogg last 3,4,5,6,7,8 s (33 s), plus two files that are no tracks.
lib=$T/library
bash "$SLEETBUBBLE_ROOT/scripts/lib/gen-audio.sh" "$lib/album" 6
bash "$SLEETBUBBLE_ROOT/scripts/lib/gen-audio.sh" --format wav --min 25 --max 25 "$T/long" 1
mv "$T/long/track01.wav" "$lib/long.wav"
printf 'liner notes, not audio\n' >"$lib/notes.txt"
ok "library: 6 generated Ogg tracks (3-8 s), notes.txt, a 25 s long.wav"

export IPFS_PATH=$T/ipfs
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
ipfs daemon --offline >"$T/kubo.log" 2>&1 &
sb_track $!
sb_wait_for "Kubo API on $api" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"

cli_run 0 "$T/o" sb keys new curator
cur=$(cat "$T/o")

sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
# shellcheck disable=SC2016 # a jq program
sb_genesis_set "$T/cmt" '.app_state = {slot_seconds: 20, close_lead_seconds: 8, horizon_slots: 48, curators: [$c]}' --arg c "$cur"
"$SBD" init --home "$T/sb" >/dev/null
cfg=$T/sb/config/sleetbubble.toml
sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
sb_toml_set "$cfg" web laddr '""' # now-playing page off: not under test here (and 26680 is shared)
sb_toml_set "$cfg" ipfs api_url "\"$api/api/v0/\""
sb_toml_set "$cfg" pin enabled false
"$SBD" start --home "$T/sb" >"$T/sleetbubbled.log" 2>&1 &
sb_track $!
"${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >"$T/cometbft.log" 2>&1 &
sb_track $!
sb_wait_height "$rpc" 2 60 || fail "chain did not start"
ok "chain up: 20 s slots, 8 s close lead, curator $cur"

# --dry-run: decides, sends nothing, stores nothing in Kubo.
cli_run 0 "$T/dry" sb --output json schedule --library "$lib" --key curator --slots 2 --dry-run
expect_eq "$(jq '[.proposed[] | select(.dry_run)] | length' "$T/dry")" 2 "dry run: would propose 2"
expect_eq "$(sb_rpc "$rpc" num_unconfirmed_txs | jq -r .result.total)" 0 "dry run: mempool"
first_cid=$(jq -r '.proposed[0].playlist[0].cid' "$T/dry")
if ipfs pin ls --type=recursive "$first_cid" >/dev/null 2>&1; then fail "dry run pinned $first_cid"; fi
ok "--dry-run would propose 2 playlists, sent no tx and pinned nothing"

# Run 1, with the first open slot keeping >= 6 s of voting so both proposals reach a block.
has_time() { sb --output json status >"$T/st.json" 2>/dev/null && jq -e '(.time_to_close_ns | tonumber) >= 6000000000' "$T/st.json" >/dev/null; }
sb_wait_for "an open slot with 6 s left" 40 has_time || fail "no open slot with time left"
cli_run 0 "$T/r1" sb --output json schedule --library "$lib" --key curator --slots 2 --no-repeat-slots 1
jq . "$T/r1" >"$T/r1.pretty.log"
expect_eq "$(jq '.proposed | length' "$T/r1")" 2 "run 1: proposals"
expect_eq "$(jq '.rejected | length' "$T/r1")" 0 "run 1: rejected"
expect_eq "$(jq -c '[.library.files, .library.tracks, .library.added]' "$T/r1")" "[8,6,6]" "run 1: library"
s1=$(jq -r '.proposed[0].slot' "$T/r1") s2=$(jq -r '.proposed[1].slot' "$T/r1")
expect_eq "$s2" "$((s1 + 1))" "run 1: consecutive slots"
# slot 1: the best fit, 3+4+6+7 s; slot 2: what K = 1 leaves, 5+8 s (without the rotation rule
# tracks of slot 1 would fill it to 20 s)
expect_eq "$(jq -c '[.proposed[].duration_ms]' "$T/r1")" "[20000,13000]" "run 1: playlist lengths"
both=$(jq -r '[.proposed[].playlist[].cid] | length' "$T/r1")
uniq=$(jq -r '[.proposed[].playlist[].cid] | unique | length' "$T/r1")
expect_eq "$uniq" "$both" "run 1: no track in both consecutive slots (K = 1)"
ok "run 1 proposed slots $s1 (20 000 ms, full) and $s2 (13 000 ms: no track of $s1 again)"

grep -q "notes.txt: skipped: " "$T/r1.err" || fail "notes.txt not named on stderr: $(cat "$T/r1.err")"
grep -q "long.wav: skipped: 25000 ms, longer than the slot (20000 ms)" "$T/r1.err" ||
  fail "long.wav not named on stderr: $(cat "$T/r1.err")"
expect_eq "$(jq -r '[.skipped[].file | split("/") | last] | sort | join(",")' "$T/r1")" \
  "long.wav,notes.txt" "run 1: skipped in the summary"
ok "notes.txt and long.wav named on stderr and in the summary as skipped"

for p in $(jq -r '.proposed[].playlist[].cid' "$T/r1"); do
  ipfs pin ls --type=recursive "$p" >/dev/null 2>&1 || fail "track $p not pinned in Kubo"
done
ok "every proposed track is added and pinned in the curator's Kubo"

on_chain() { # on_chain SLOT: our proposal of SLOT is committed
  sb --output json query slot "$1" >"$T/q.json" 2>/dev/null &&
    jq -e --arg c "$cur" '[.proposals[] | select(.curator == $c)] | length == 1' "$T/q.json" >/dev/null
}
for s in $s1 $s2; do
  sb_wait_for "the proposal for slot $s in a block" 30 on_chain "$s" || fail "slot $s: proposal not committed"
  want=$(jq -r --arg s "$s" '.proposed[] | select(.slot == $s) | .proposal_id' "$T/r1")
  expect_eq "$(jq -r --arg c "$cur" '.proposals[] | select(.curator == $c) | "\(.id) \(.duration_ms)"' "$T/q.json")" \
    "$want $(jq -r --arg s "$s" '.proposed[] | select(.slot == $s) | .duration_ms' "$T/r1")" "slot $s on chain"
done
ok "the chain holds exactly one proposal of this curator for slots $s1 and $s2"

# Run 2: nothing new for the slots already proposed (a slot that opened meanwhile may be new).
cli_run 0 "$T/r2" sb --output json schedule --library "$lib" --key curator --slots 2 --no-repeat-slots 1
jq . "$T/r2" >"$T/r2.pretty.log"
expect_eq "$(jq -r --arg a "$s1" --arg b "$s2" '[.proposed[] | select(.slot == $a or .slot == $b)] | length' "$T/r2")" 0 \
  "run 2: proposals for slots $s1/$s2"
expect_eq "$(jq '.library.added' "$T/r2")" 0 "run 2: files added to Kubo again"
jq -e --arg b "$s2" '[.already[] | select(.slot == $b and (.pending | not))] | length == 1' "$T/r2" >/dev/null ||
  fail "run 2 does not report slot $s2 as already proposed: $(cat "$T/r2")"
expect_eq "$(jq -r '.rejected | length' "$T/r2")" 0 "run 2: rejected"
sb --output json query slot "$s2" >"$T/q.json"
expect_eq "$(jq --arg c "$cur" '[.proposals[] | select(.curator == $c)] | length' "$T/q.json")" 1 "slot $s2 proposals after run 2"
grep -q "^summary: " <(sb schedule --library "$lib" --key curator --slots 2 --no-repeat-slots 1 --dry-run 2>/dev/null) ||
  fail "text mode: no summary line"
ok "run 2 proposed nothing for slots $s1/$s2 (reported as already proposed), added nothing to Kubo"

# The index cannot be saved after the adds (a directory where the file should be: chmod would
# not stop root): exit 2 naming the index file; the adds are in Kubo, the next run indexes the
# library again.
idx=$T/cli/schedule/curator.json
rm -f "$idx"
mkdir "$idx"
cli_run 2 "$T/r3" sb --output json schedule --library "$lib" --key curator --slots 2
grep -q "cannot save the schedule index $idx: " "$T/r3.err" ||
  fail "unsaved index not named on stderr: $(cat "$T/r3.err")"
[ ! -s "$T/r3" ] || fail "a run that could not save its index printed a summary: $(cat "$T/r3")"
rmdir "$idx"
cli_run 0 "$T/r4" sb --output json schedule --library "$lib" --key curator --slots 2 --dry-run
expect_eq "$(jq -c '[.library.files, .library.tracks]' "$T/r4")" "[8,6]" "after the failed save: library indexed again"
ok "an index that cannot be saved after the adds: exit 2 naming $idx; the next run indexes the library again"
echo "# $PASSED passed, 0 failed"
