#!/usr/bin/env bash
# The station on air (protocol.md §14): one CometBFT validator + sleetbubbled + an offline Kubo,
# real Icecast + Liquidsoap (scripts/onair/) run as the unprivileged user `nobody`, and
# `sleetbubble onair` driving Liquidsoap. Tracks are short real audio made here (espeak-ng voice
# over a sox tone, Ogg Vorbis with title/artist tags written by ffmpeg), 30 s slots.
#  - off air before the first slot with a winner: both mounts carry the station name;
#  - at instants >= 4.5 s after and >= 2 s before any track boundary the title Icecast reports for /sleetbubble.ogg
#    (title + artist) and /sleetbubble.mp3, and the ICY StreamTitle read from the MP3 stream by a
#    listener of our own (onair_tool.py), equal the programme's (computed by onair_tool.py from
#    /params and /schedule/<n>, not by the C code); the listener's one connection spans >= 2
#    track changes;
#  - kill -9 of `sleetbubble onair`, restart: titles still right, nothing re-joined;
#  - kill -9 of Liquidsoap, restart: the driver joins the track at the programme's elapsed
#    time (its cue-in checked against onair_tool.py's programme), titles right again;
#  - kill -9 of Icecast, restart: Liquidsoap reconnects, titles right again.
# Figures printed, not asserted: track-change skew as the listener saw it (p50/max) and the time
# from kill -9 of Liquidsoap to its audio on the mount again.
# usage: onair.sh PATH/sleetbubble PATH/sleetbubbled
# Ports: SB_ONAIR_PORT_BASE (default 24100) +0 RPC, +1 p2p, +2 ABCI, +3 metrics, +4 Kubo API,
# +5 gateway, +6 swarm, +7 Icecast, +8 the node's [web] feed.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
SB=$1 SBD=$2
here=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$here/../.." && pwd)
TOOL=$here/onair_tool.py
base=${SB_ONAIR_PORT_BASE:-24100}
rpc_port=$base p2p_port=$((base + 1)) abci_port=$((base + 2)) metrics_port=$((base + 3))
api_port=$((base + 4)) gw_port=$((base + 5)) swarm_port=$((base + 6)) ice_port=$((base + 7))
web_port=$((base + 8))
rpc="http://127.0.0.1:$rpc_port" api="http://127.0.0.1:$api_port" gw="http://127.0.0.1:$gw_port"
ice="http://127.0.0.1:$ice_port"
for p in $rpc_port $p2p_port $abci_port $metrics_port $api_port $gw_port $swarm_port $ice_port $web_port; do
  sb_port_free "$p" SB_ONAIR_PORT_BASE
done
for tool in liquidsoap icecast2 ffmpeg sox espeak-ng python3 setpriv; do
  command -v "$tool" >/dev/null || skip_or_fail "$tool is not installed (scripts/bootstrap installs it)"
done
sb() { "$SB" --node "$rpc" --ipfs "$api" --gateway "$gw" --home "$T/cli" "$@"; }
# Background processes are started as simple commands (not through a shell function, whose
# `&` would fork a subshell: $! would not be the process we kill -9). setpriv execs.
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# ---- Kubo, tracks ---------------------------------------------------------------------------
export IPFS_PATH=$T/ipfs
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
ipfs daemon --offline >"$T/kubo.log" 2>&1 &
sb_track $!
sb_wait_for "Kubo API on $api" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"

# make_track OUT SECONDS FREQ TITLE ARTIST: spoken title over a tone, exactly SECONDS long.
make_track() {
  local out=$1 secs=$2 freq=$3 title=$4 artist=$5
  espeak-ng -w "$T/voice.wav" "$title" 2>/dev/null
  sox "$T/voice.wav" -r 44100 -c 2 "$T/voice2.wav"
  sox -n -r 44100 -c 2 "$T/tone.wav" synth "$secs" sine "$freq" vol 0.2
  sox -m "$T/voice2.wav" "$T/tone.wav" "$T/mix.wav" trim 0 "$secs"
  ffmpeg -loglevel error -y -i "$T/mix.wav" -c:a libvorbis -q:a 3 \
    -metadata title="$title" -metadata artist="$artist" "$out"
}
make_track "$T/t1.ogg" 8 330 "First light" "The Sleet Testers"
make_track "$T/t2.ogg" 9 440 "Second wind" "The Sleet Testers"
make_track "$T/t3.ogg" 10 550 "Third rail" ""
sb keys new curator >"$T/cur"
cur=$(cat "$T/cur")
sb tracks add "$T/t1.ogg" "$T/t2.ogg" "$T/t3.ogg" -o "$T/pl.json" 2>"$T/tracks.err" ||
  fail "tracks add: $(cat "$T/tracks.err")"
expect_eq "$(jq -c '[.tracks[] | [.duration_ms, .title, .artist]]' "$T/pl.json")" \
  '[[8000,"First light","The Sleet Testers"],[9000,"Second wind","The Sleet Testers"],[10000,"Third rail",""]]' \
  "tracks: durations and tags read back"
ok "3 real tracks (8, 9, 10 s, Ogg Vorbis with tags) added to Kubo"

# ---- chain: 30 s slots (27 s playlist: it loops once, cut at the slot's end) ----------------
sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
# shellcheck disable=SC2016 # a jq program
sb_genesis_set "$T/cmt" '.app_state = {slot_seconds: 30, close_lead_seconds: 8, horizon_slots: 48, curators: [$c]}' --arg c "$cur"
"$SBD" init --home "$T/sb" >/dev/null
cfg=$T/sb/config/sleetbubble.toml
sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
sb_toml_set "$cfg" ipfs api_url "\"$api/api/v0/\""
sb_toml_set "$cfg" ipfs gateway_url "\"$gw\""
if grep -q '^\[web\]' "$cfg"; then sb_toml_set "$cfg" web laddr "\"127.0.0.1:$web_port\""; fi
"$SBD" start --home "$T/sb" >"$T/sleetbubbled.log" 2>&1 &
sb_track $!
"${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >"$T/cometbft.log" 2>&1 &
sb_track $!
sb_wait_height "$rpc" 2 60 || fail "chain did not start"
ok "chain up: 30 s slots, 8 s close lead"

# ---- Icecast and Liquidsoap as nobody ------------------------------------------------------
OA=$T/onair
mkdir -p "$OA"
chmod 0711 "$T"
chown nobody:nogroup "$OA"
"$ROOT/scripts/onair/render-icecast" --port "$ice_port" --source-password onair-src \
  --admin-password onair-admin --logdir "$OA" --station "Sleetbubble test" >"$OA/icecast.xml"
chmod 0644 "$OA/icecast.xml"
ice_pid="" liq_pid="" drv_pid=""
start_icecast() {
  "${NOBODY[@]}" icecast2 -c "$OA/icecast.xml" >>"$T/icecast.log" 2>&1 &
  ice_pid=$!; sb_track "$ice_pid"
  sb_wait_for "Icecast on $ice" 30 curl -fsS "$ice/status-json.xsl" || fail "Icecast did not start"
}
start_liquidsoap() {
  SB_ONAIR_SOCKET=$OA/liq.sock SB_ICECAST_PORT=$ice_port SB_ICECAST_PASSWORD=onair-src \
    SB_STATION_NAME="Sleetbubble test" \
    "${NOBODY[@]}" liquidsoap "$ROOT/scripts/onair/sleetbubble.liq" >>"$T/liquidsoap.log" 2>&1 &
  liq_pid=$!; sb_track "$liq_pid"
}
start_driver() {
  "$SB" --node "$rpc" --gateway "$gw" onair --socket "$OA/liq.sock" >>"$T/onair.log" 2>&1 &
  drv_pid=$!; sb_track "$drv_pid"
}
mounts_up() {
  curl -fsS "$ice/status-json.xsl" |
    jq -e '[.icestats.source] | flatten | map(.listenurl | split("/") | last) | (index("sleetbubble.ogg") != null and index("sleetbubble.mp3") != null)'
}
start_icecast
start_liquidsoap
sb_wait_for "both mounts on Icecast" 90 mounts_up || fail "Liquidsoap did not bring up both mounts"
start_driver
ok "Icecast and Liquidsoap running as nobody, /sleetbubble.ogg and /sleetbubble.mp3 up"

# ---- the programme: proposals for 6 consecutive slots, voted ---------------------------------
has_time() { sb --output json status >"$T/st.json" 2>/dev/null && jq -e '(.time_to_close_ns | tonumber) >= 10000000000' "$T/st.json" >/dev/null; }
sb_wait_for "an open slot with 10 s left" 40 has_time || fail "no open slot with time left"
first=$(jq -r .open_slot "$T/st.json")
slots=()
for s in $(seq "$first" $((first + 5))); do
  sb propose --slot "$s" --playlist "$T/pl.json" --key curator >"$T/pid.$s" 2>"$T/propose.err" ||
    fail "propose slot $s: $(cat "$T/propose.err")"
  slots+=("$s")
done
h=$(sb_height "$rpc")
sb_wait_height "$rpc" $((h + 2)) 30 || fail "no blocks after the proposals"
for s in "${slots[@]}"; do
  sb vote --slot "$s" --proposal "$(cat "$T/pid.$s")" \
    --validator-key "$T/cmt/config/priv_validator_key.json" >/dev/null 2>"$T/vote.err" ||
    fail "vote slot $s: $(cat "$T/vote.err")"
done
ok "proposed and voted slots ${slots[0]}..${slots[5]}"

# Off air until the first slot starts: the station name on both mounts.
q() { sb_rpc "$rpc" abci_query "path=%22$1%22" | jq -r '.result.response.value // ""' | base64 -d; }
start0=$(($(q /params | jq -r .epoch_ns) + first * 30000000000))
if (($(date +%s%N) < start0 - 4000000000)); then
  st=$(curl -fsS "$ice/status-json.xsl")
  expect_eq "$(jq -r '[.icestats.source] | flatten | map(select(.listenurl | endswith("/sleetbubble.ogg")))[0].title' <<<"$st")" \
    "Sleetbubble test" "off air: ogg title"
  expect_eq "$(jq -r '[.icestats.source] | flatten | map(select(.listenurl | endswith("/sleetbubble.mp3")))[0].title' <<<"$st")" \
    "Sleetbubble test" "off air: mp3 title"
  ok "off air before slot $first: both mounts say the station name"
fi

# The listener: one MP3 connection with ICY metadata, kept open.
python3 "$TOOL" listen "$ice/sleetbubble.mp3" "$T/listen.txt" &
lis_pid=$!; sb_track "$lis_pid"
sb_wait_for "slot $first to start" 60 bash -c "(( \$(date +%s%N) >= $start0 ))" || fail "slot $first never started"

# check LABEL: at the next instant >= 4.5 s after / 2 s before a boundary (the stream may run
# seconds behind on a loaded machine, never ahead), every title equals the programme's.
# Each check looks at a later track than the one before (check_end: where that track ended), so
# the checks in a row cross track changes whatever the machine's speed.
check_end=0
check() {
  local r
  r=$(python3 "$TOOL" check "$rpc" "$ice" "$T/listen.txt" "$check_end")
  [ "$(jq -r '.error // empty' <<<"$r")" = "" ] || fail "$1: $(jq -r .error <<<"$r")"
  check_end=$(jq -r .end_ns <<<"$r")
  expect_eq "$(jq -r .ogg_title <<<"$r")" "$(jq -r .want_title <<<"$r")" "$1: ogg title ($(jq -r .key <<<"$r"))"
  expect_eq "$(jq -r '.ogg_artist // ""' <<<"$r")" "$(jq -r .want_artist <<<"$r")" "$1: ogg artist"
  expect_eq "$(jq -r .mp3_title <<<"$r")" "$(jq -r .want_icy <<<"$r")" "$1: mp3 title on Icecast"
  if [ "${2:-}" != no-icy ]; then
    expect_eq "$(jq -r .icy <<<"$r")" "$(jq -r .want_icy <<<"$r")" "$1: ICY StreamTitle on the stream"
  fi
  local where="on both mounts and in the stream"
  [ "${2:-}" != no-icy ] || where="on both mounts (no listener since the kill)"
  ok "$1: $(jq -r '"\(.key) \"\(.want_icy)\""' <<<"$r") $where"
}
for i in 1 2 3 4; do check "programme $i"; done
listener_ok() { ! grep -q ' closed ' "$T/listen.txt" && (($(grep -c ' title ' "$T/listen.txt") >= 3)); }
listener_ok || fail "listener: $(cat "$T/listen.txt")"
ok "one listener connection across $(($(grep -c ' title ' "$T/listen.txt") - 1)) track changes"

# ---- kill -9 of the driver --------------------------------------------------------------------
# Killed in the middle of a track (>= 6 s left), restarted at once: it must find the right
# track on air and leave it alone (no join before the next boundary).
python3 "$TOOL" midtrack "$rpc" || fail "no track with time left"
sb_alive "$drv_pid" sleetbubble || fail "the driver is not running"
kill -9 "$drv_pid"; wait "$drv_pid" 2>/dev/null || true
log_from=$(($(wc -l <"$T/onair.log") + 1))
start_driver
check "after kill -9 of sleetbubble onair"
check "after kill -9 of sleetbubble onair (next track)"
if tail -n +"$log_from" "$T/onair.log" | grep -q '(join)'; then
  tail -n +"$log_from" "$T/onair.log" | grep '(join)' | head -1 >&2
  fail "the restarted driver re-joined a track Liquidsoap was already playing right"
fi
ok "restarted driver found the right track on air and left it playing"
listener_ok || fail "listener: $(cat "$T/listen.txt")"
python3 "$TOOL" skew "$rpc" "$T/listen.txt" "$first" >"$T/skew.txt"
read -r n_sk p50 mx <"$T/skew.txt"

# ---- kill -9 of Liquidsoap ------------------------------------------------------------------
# The driver polls a dead socket, the restarted Liquidsoap starts empty: the driver joins the
# current track (or, when too little of it is left, plays silence until the next boundary).
sb_alive "$liq_pid" liquidsoap || fail "Liquidsoap is not running"
t_kill=$(date +%s%N)
kill -9 "$liq_pid"; wait "$liq_pid" 2>/dev/null || true
start_liquidsoap
# the driver's first play logged after the kill (its lines carry t_ms; one may be just before)
played_since() { awk -v k="$1" '/ on air [0-9]/ { split($3, a, "="); if (a[2] > k) { print; exit } }' "$T/onair.log"; }
kill_ms=$((t_kill / 1000000))
sb_wait_for "audio after the restart" 120 bash -c "awk -v k=$kill_ms '/ on air [0-9]/ { split(\$3, a, \"=\"); if (a[2] > k) f = 1 } END { exit !f }' '$T/onair.log'" ||
  fail "nothing on air after Liquidsoap restarted: $(tail -n 5 "$T/onair.log")"
t_back=$(date +%s%N)
ok "after kill -9 of Liquidsoap: on air again ($(played_since "$kill_ms" | sed -E 's/.* on air //'))"
check "after kill -9 of Liquidsoap" no-icy

# join_checked FROM_LINE: the first join logged since FROM_LINE used a cue-in equal to the
# programme's elapsed time at its play instant (onair_tool.py's programme), within 0.5 s.
# Sets joined="KEY at cue-in …" (not run in $(…): its fail must end the test).
join_checked() {
  local line key t_ms late cue want d
  line=$(tail -n +"$1" "$T/onair.log" | grep '(join)' | head -1)
  key=$(sed -E 's/.* on air ([0-9:]+) .*/\1/' <<<"$line")
  t_ms=$(sed -E 's/.*t_ms=([0-9]+) .*/\1/' <<<"$line")
  late=$(sed -E 's/.*late_ms=(-?[0-9]+).*/\1/' <<<"$line")
  cue=$(tail -n +"$1" "$T/onair.log" | grep "prepared $key " | tail -1 | sed -E 's/.*cue_in_ms=([0-9]+) .*/\1/')
  want=$(python3 "$TOOL" elapsed "$rpc" "${key%%:*}" "$key" $((t_ms - late)))
  [ "$want" != none ] || fail "joined $key, which is not in the programme"
  d=$((cue - want)); ((d < 0)) && d=$((-d))
  ((d <= 500)) || fail "joined $key at cue-in $cue ms, the programme's elapsed was $want ms"
  joined="$key at cue-in $cue ms (programme: $want ms)"
  join_ms=$t_ms
}
# A join at a known point: Liquidsoap emptied in the middle of a track (what a restart leaves;
# `sb.stop` over its socket, so it does not depend on how long Liquidsoap takes to start).
python3 "$TOOL" midtrack "$rpc" || fail "no track with time left"
log_from=$(($(wc -l <"$T/onair.log") + 1))
expect_eq "$(python3 "$TOOL" liqcmd "$OA/liq.sock" sb.stop)" ok "sb.stop"
sb_wait_for "the driver to join" 30 bash -c "tail -n +$log_from '$T/onair.log' | grep -q '(join)'" ||
  fail "no join after Liquidsoap was emptied: $(tail -n 5 "$T/onair.log")"
joined=""
join_checked "$log_from"
ok "Liquidsoap emptied mid-track: the driver joined $joined"
# The joined track was not prepared ahead of a boundary: give the stream the same 4.5 s after
# the join that check gives it after a boundary (CI once read the station name 2 s after it).
wait_ms=$((join_ms + 4500 - $(date +%s%3N)))
((wait_ms <= 0)) || sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
check "after the join" no-icy

# ---- kill -9 of Icecast ----------------------------------------------------------------------
sb_alive "$ice_pid" icecast2 || fail "Icecast is not running"
kill -9 "$ice_pid"; wait "$ice_pid" 2>/dev/null || true
start_icecast
sb_wait_for "Liquidsoap to reconnect both mounts" 60 mounts_up || fail "mounts not back after Icecast restart"
# A reconnected mount has no title until the first Ogg/MP3 pages after Liquidsoap's retitle
# reach Icecast (once read 1.4 s after the Ogg mount reconnected: title null). A state, not a
# clock: wait until both carry one; check then says whether it is the programme's.
titled() { curl -fsS "$ice/status-json.xsl" | jq -e '[.icestats.source] | flatten | length == 2 and all(.title != null)'; }
sb_wait_for "titles on both reconnected mounts" 30 titled ||
  fail "no title on a mount after Icecast restarted: $(curl -fsS "$ice/status-json.xsl" | jq -c '[.icestats.source] | flatten | map({listenurl, title})')"
check "after kill -9 of Icecast" no-icy
check "after kill -9 of Icecast (next track)" no-icy

echo "# figures (not asserted): track-change skew seen by the listener: n=$n_sk p50=${p50} ms max=${mx} ms" >&2
echo "# figures (not asserted): kill -9 of Liquidsoap to audio on the mount again: $(((t_back - t_kill) / 1000000)) ms" >&2
echo "$PASSED passed, 0 failed"
