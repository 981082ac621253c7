#!/usr/bin/env bash
# The programme on a real chain (protocol.md §14): one CometBFT validator + sleetbubbled + an
# offline Kubo on loopback, three short real tracks (sox), 20 s slots. Checks: the feed answers
# off air (HTTP 200, CORS header) before anything is finalized; /schedule/<n> of the voted slot
# (offsets, titles, start/end from /params); once the slot is on air, /nowplaying.json and
# `sleetbubble tune --now` agree with the programme this script computes itself (in bash
# integers) at the instant each of them reports; the page served without JS carries the title;
# headless Chromium shows the programme's title after the page's script ran.
# usage: node_web.sh PATH/sleetbubble PATH/sleetbubbled
# Ports: SB_WEB_PORT_BASE (default 24010) +0 RPC, +1 p2p, +2 ABCI, +3 metrics, +4 web,
# +10 Kubo API, +11 gateway, +12 swarm (the range 24000-24099 belongs to this test).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
SB=$1 SBD=$2
base=${SB_WEB_PORT_BASE:-24010}
rpc_port=$base p2p_port=$((base + 1)) abci_port=$((base + 2)) metrics_port=$((base + 3))
web_port=$((base + 4)) api_port=$((base + 10)) gw_port=$((base + 11)) swarm_port=$((base + 12))
rpc="http://127.0.0.1:$rpc_port" api="http://127.0.0.1:$api_port" gw="http://127.0.0.1:$gw_port"
web="http://127.0.0.1:$web_port"
for p in $rpc_port $p2p_port $abci_port $metrics_port $web_port $api_port $gw_port $swarm_port; do
  sb_port_free "$p" SB_WEB_PORT_BASE
done
for t in sox chromium ipfs jq curl; do
  command -v "$t" >/dev/null || skip_or_fail "$t not installed (Debian: sox, chromium; ipfs: scripts/bootstrap)"
done
sb() { "$SB" --node "$rpc" --ipfs "$api" --gateway "$gw" --home "$T/cli" "$@"; }
now_ns() { date +%s%N; }

# Kubo
export IPFS_PATH=$T/ipfs
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
ipfs daemon --offline >"$T/kubo.log" 2>&1 &
sb_track $!
sb_wait_for "Kubo API on $api" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"

# Three real tracks of 3 s, 6 s and 4 s (13 s: the second pass is cut at the slot's end).
cli_run 0 "$T/o" sb keys new curator
cur=$(cat "$T/o")
sox -n -r 44100 -c 1 -b 16 "$T/a.wav" synth 3 sine 440
sox -n -r 44100 -c 1 -b 16 "$T/b.wav" synth 6 sine 550
sox -n -r 44100 -c 1 -b 16 "$T/c.wav" synth 4 sine 660
cli_run 0 "$T/o" sb tracks add "$T/a.wav" "$T/b.wav" "$T/c.wav" -o "$T/raw.json"
expect_eq "$(jq -c '[.tracks[].duration_ms]' "$T/raw.json")" "[3000,6000,4000]" "durations read back"
jq '.tracks[0].title = "Alpha One" | .tracks[1].title = "Beta Two" | .tracks[2].title = "Gamma Three"
    | .tracks[].artist = "Sine Band"' "$T/raw.json" >"$T/pl.json"
ok "three sox tracks on Kubo, durations read back by tracks add"

# Chain: 20 s slots, 8 s close lead, the curator allowed; the page on $web.
sb_cometbft_node "$T/cmt" "$rpc_port" "$p2p_port" "tcp://127.0.0.1:$abci_port"
sb_toml_set "$T/cmt/config/config.toml" consensus timeout_commit '"500ms"'
# shellcheck disable=SC2016 # a jq program
sb_genesis_set "$T/cmt" '.app_state = {slot_seconds: 20, close_lead_seconds: 8, horizon_slots: 48, curators: [$c]}' --arg c "$cur"
"$SBD" init --home "$T/sb" >/dev/null
cfg=$T/sb/config/sleetbubble.toml
sb_toml_set "$cfg" abci laddr "\"tcp://127.0.0.1:$abci_port\""
sb_toml_set "$cfg" metrics laddr "\"127.0.0.1:$metrics_port\""
sb_toml_set "$cfg" web laddr "\"127.0.0.1:$web_port\""
sb_toml_set "$cfg" web station_name '"Test Station"'
sb_toml_set "$cfg" ipfs api_url "\"$api/api/v0/\""
sb_toml_set "$cfg" ipfs gateway_url "\"$gw\""
sb_toml_set "$cfg" pin enabled false
"$SBD" start --home "$T/sb" >"$T/sleetbubbled.log" 2>&1 &
sb_track $!
"${SB_COMETBFT:-cometbft}" start --home "$T/cmt" >"$T/cometbft.log" 2>&1 &
sb_track $!
sb_wait_height "$rpc" 2 60 || fail "chain did not start"

# Off air before any winner: HTTP 200, CORS, on_air false.
curl -sS -D "$T/h" -o "$T/feed.json" "$web/nowplaying.json" || fail "GET /nowplaying.json"
head -1 "$T/h" | grep -q ' 200 ' || fail "feed status: $(head -1 "$T/h")"
grep -qi '^Access-Control-Allow-Origin: \*' "$T/h" || fail "no CORS header: $(cat "$T/h")"
expect_eq "$(jq -r '[.on_air, .now_playing, .station.name, .gateway_url] | map(tostring) | join(" ")' "$T/feed.json")" \
  "false null Test Station $gw" "feed before any winner"
jq -e '.state | test("^(off_air|not_finalized)$")' "$T/feed.json" >/dev/null || fail "feed state: $(cat "$T/feed.json")"
ok "feed before any winner: 200, Access-Control-Allow-Origin: *, off air ($(jq -r .state "$T/feed.json"))"

# Propose for the next open slot, vote, wait until finalized.
has_time() { sb --output json status >"$T/st.json" 2>/dev/null && jq -e '(.time_to_close_ns | tonumber) >= 8000000000' "$T/st.json" >/dev/null; }
sb_wait_for "an open slot with 8 s left" 40 has_time || fail "no open slot with time left"
slot=$(jq -r .open_slot "$T/st.json")
cli_run 0 "$T/o" sb propose --slot "$slot" --playlist "$T/pl.json" --key curator
pid=$(cat "$T/o")
h=$(sb_height "$rpc"); sb_wait_height "$rpc" $((h + 1)) 20 || fail "no block"
cli_run 0 "$T/o" sb vote --proposal "$pid" --validator-key "$T/cmt/config/priv_validator_key.json"
fin() { sb query winner "$slot" >/dev/null 2>&1; }
sb_wait_for "slot $slot finalized" 60 fin || fail "slot $slot did not finalize"
ok "slot $slot: proposal $pid voted and finalized"

# /schedule/<slot>
q() { sb_rpc "$rpc" abci_query "path=%22$1%22" | jq -r '.result.response | "\(.code) \(.value // "" | @base64d)"'; }
read -r code sched < <(q "/schedule/$slot")
expect_eq "$code" 0 "/schedule/$slot code"
read -r pcode params < <(q /params)
expect_eq "$pcode" 0 "/params code"
epoch=$(jq -r .epoch_ns <<<"$params") L=20000000000
S=$((epoch + slot * L)) E=$((epoch + (slot + 1) * L))
expect_eq "$(jq -r '[.slot, .start_ns, .end_ns, .outcome, .total_ms] | map(tostring) | join(" ")' <<<"$sched")" \
  "$slot $S $E SUPERMAJORITY 13000" "/schedule/$slot head"
expect_eq "$(jq -c '[.tracks[] | [.index, .offset_ms, .duration_ms, .title, .artist]]' <<<"$sched")" \
  '[[0,0,3000,"Alpha One","Sine Band"],[1,3000,6000,"Beta Two","Sine Band"],[2,9000,4000,"Gamma Three","Sine Band"]]' \
  "/schedule/$slot tracks"
expect_eq "$(jq -c '[.tracks[].cid]' <<<"$sched")" "$(jq -c '[.tracks[].cid]' "$T/pl.json")" "/schedule/$slot cids"
read -r code _ < <(q "/schedule/$((slot + 40))")
expect_eq "$code" 14 "/schedule of a slot not finalized yet"
ok "/schedule/$slot: start/end from /params, offsets 0/3000/9000, titles; unfinalized: NOT_FOUND"

# The programme, computed here (protocol.md §14) for slot $slot: "INDEX ELAPSED_MS STARTED_NS
# TITLE" at time $1 (ns), or "off" outside the slot.
dur=(3000 6000 4000) titles=("Alpha One" "Beta Two" "Gamma Three") total=13000
programme() {
  local t=$1 since off k acc=0 i=0
  if ((t < S || t >= E)); then echo off; return; fi
  since=$((t - S)) k=$((since / (total * 1000000))) off=$((since % (total * 1000000)))
  while ((i < 2 && off >= (acc + dur[i]) * 1000000)); do acc=$((acc + dur[i])) i=$((i + 1)); done
  echo "$i $(((off - acc * 1000000) / 1000000)) $((S + (k * total + acc) * 1000000)) ${titles[i]}"
}

# Wait for the slot to be on air, then compare the feed with the programme at its own instant.
on_air() { curl -fsS "$web/nowplaying.json" >"$T/feed.json" && jq -e --arg s "$slot" '.slot == $s and .on_air' "$T/feed.json" >/dev/null; }
sb_wait_for "slot $slot on air in the feed" 60 on_air || fail "slot $slot never on air: $(cat "$T/feed.json")"
for round in 1 2 3; do
  curl -fsS "$web/nowplaying.json" >"$T/feed.json" || fail "GET /nowplaying.json"
  ts=$(jq -r .server_time_ns "$T/feed.json") mine=$(now_ns)
  skew=$((mine - ts)); ((skew < 0)) && skew=$((-skew))
  ((skew < 5000000000)) || fail "feed server_time_ns $ts is $skew ns from this clock"
  want=$(programme "$ts")
  if [ "$want" = off ]; then # only once the slot has ended under the test, after round 1
    ((round > 1 && ts >= E)) || fail "feed at $ts: $(jq -c .now_playing "$T/feed.json"), programme: off air"
    break
  fi
  read -r wi we wst wtitle <<<"$want"
  expect_eq "$(jq -r '.now_playing | [.index, .elapsed_ms, .started_at_ns, .title, .duration_ms - .elapsed_ms == .remaining_ms] | map(tostring) | join(" ")' "$T/feed.json")" \
    "$wi $we $wst $wtitle true" "feed vs programme at $ts"
  ok "feed round $round: '$wtitle' (track $wi) ${we} ms in, anchored at $wst, as computed here"
  sleep 2
done

# tune --now, on this machine's clock, against the same computation at the instant it reports.
cli_run 0 "$T/o" sb --output json tune --now
tt=$(jq -r .time_ns "$T/o")
want=$(programme "$tt")
if [ "$want" != off ]; then
  read -r wi we wst wtitle <<<"$want"
  expect_eq "$(jq -r '.now_playing | [.index, .elapsed_ms, .started_at_ns, .title, .url] | map(tostring) | join(" ")' "$T/o")" \
    "$wi $we $wst $wtitle $gw/ipfs/$(jq -r ".tracks[$wi].cid" <<<"$sched")" "tune --now vs programme at $tt"
  ok "tune --now: '$wtitle' ${we} ms in, with its gateway URL"
else
  ((tt >= E)) || fail "tune --now at $tt: the programme is off air before the slot ends"
  jq -e '.on_air == false' "$T/o" >/dev/null || fail "tune --now after the slot: $(cat "$T/o")"
  ok "tune --now after the slot: off air"
fi

# The titles the programme names between two instants (sampled every 100 ms), one per line;
# "off" stands for any off-air text.
titles_between() {
  local t=$1
  while ((t <= $2)); do
    local p; p=$(programme "$t")
    if [ "$p" = off ]; then echo off; else cut -d' ' -f4- <<<"$p"; fi
    t=$((t + 100000000))
  done | sort -u
}
title_ok() { # TITLE T_FROM T_TO
  local allowed; allowed=$(titles_between "$2" "$3")
  grep -qxF -- "$1" <<<"$allowed" && return 0
  [[ $1 == "Off air"* ]] && grep -qx off <<<"$allowed"
}

# The page without JS: the title is in the HTML as served.
t1=$(now_ns)
curl -fsS "$web/" >"$T/page.html" || fail "GET /"
t2=$(now_ns)
served=$(sed -n 's:.*<h2 id="title">\(.*\)</h2>.*:\1:p' "$T/page.html")
title_ok "$served" "$t1" "$t2" || fail "page title '$served', programme: $(titles_between "$t1" "$t2" | tr '\n' ',')"
grep -q '<audio id="player"' "$T/page.html" || fail "no <audio> on the page"
if grep -Eq '<(script|link|img)[^>]* (src|href)=' "$T/page.html"; then fail "the page loads external assets"; fi
ok "GET / serves '$served' in the HTML (no external assets, an <audio> player)"

# Headless Chromium runs the page's script (data-live="1" once the feed answered).
t1=$(now_ns)
timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
  --virtual-time-budget=5000 --dump-dom "$web/" >"$T/dom.html" 2>"$T/chromium.log" ||
  fail "chromium failed: $(tail -5 "$T/chromium.log")"
t2=$(now_ns)
grep -q 'id="live" data-live="1"' "$T/dom.html" || fail "the page's script did not load the feed: $(grep -o '<span id="live"[^<]*' "$T/dom.html")"
shown=$(sed -n 's:.*<h2 id="title">\(.*\)</h2>.*:\1:p' "$T/dom.html")
title_ok "$shown" "$t1" "$t2" || fail "Chromium shows '$shown', programme: $(titles_between "$t1" "$t2" | tr '\n' ',')"
ok "headless Chromium: the script polled the feed and shows '$shown', as the programme says"
echo "# $PASSED passed, 0 failed"
