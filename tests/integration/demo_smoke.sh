#!/usr/bin/env bash
# Smoke test of the main job (README "The demo"): scripts/demo --keep on its own ports, then check that
# the winner it printed is /winner/0 as CometBFT's RPC serves it and that `ipfs pin ls` on the
# demo's Kubo holds the manifest (direct) and every track (recursive), that the station it put
# on air serves both mounts and the page's feed names them; then --stop.
. "$(dirname "$0")/lib.sh"
export SB_DEMO_PORT_BASE=${SB_DEMO_PORT_BASE:-22656} SB_DEMO_KUBO_BASE=${SB_DEMO_KUBO_BASE:-22001}
export SB_DEMO_ICECAST_PORT=${SB_DEMO_ICECAST_PORT:-22700} # --keep goes on air
rpc="http://127.0.0.1:$((SB_DEMO_PORT_BASE + 1))"
out=$T/demo.log
home=""
stop_demo() { [ -n "$home" ] && "$SLEETBUBBLE_ROOT/scripts/demo" --stop "$home" >/dev/null 2>&1 || true; }
trap 'stop_demo; sb_test_cleanup' EXIT

"$SLEETBUBBLE_ROOT/scripts/demo" --keep >"$out" 2>&1 || { cat "$out" >&2; fail "scripts/demo failed"; }
home=$(sed -n 's/.*scripts\/demo --stop \(.*\)$/\1/p' "$out" | tail -n1)
[ -d "$home" ] || { cat "$out" >&2; fail "demo did not say how to stop it"; }
ok "scripts/demo ran to the end and left the network running in $home"

printed=$(sed -n 's/^ *proposal \([0-9a-f]\{64\}\)$/\1/p' "$out")
w=$(sb_rpc "$rpc" abci_query 'path="/winner/0"' | jq -r .result.response.value | base64 -d)
expect_eq "$(jq -r .winner <<<"$w")" "$printed" "printed winner vs /winner/0"
expect_eq "$(jq -r .outcome <<<"$w")" SUPERMAJORITY "demo outcome"
grep -q "$(jq -r .manifest_cid <<<"$w")" "$out" || fail "manifest CID not printed"
ok "the printed winner is /winner/0 ($(jq -r .outcome <<<"$w"))"

export IPFS_PATH=$home/ipfs
IPFS_PATH=$home/ipfs ipfs pin ls --type=direct "$(jq -r .manifest_cid <<<"$w")" >/dev/null || fail "manifest not pinned"
for cid in $(jq -r '.tracks[].cid' <<<"$w"); do
  ipfs pin ls --type=recursive "$cid" >/dev/null || fail "track $cid not pinned"
done
ok "ipfs pin ls holds the manifest and all $(jq -r '.tracks | length' <<<"$w") tracks"
grep -q '^    ok http://127.0.0.1:.*/ipfs/' "$out" || fail "gateway check missing"
ok "every M3U URL served the track's exact bytes"
ice="http://127.0.0.1:$SB_DEMO_ICECAST_PORT"
grep -q "MP3 + ICY   $ice/sleetbubble.mp3" "$out" || fail "the stream URLs were not printed"
mounts_up() {
  curl -fsS "$ice/status-json.xsl" |
    jq -e '[.icestats.source] | flatten | map(.listenurl | split("/") | last) | (index("sleetbubble.ogg") != null and index("sleetbubble.mp3") != null)'
}
sb_wait_for "both mounts on the demo's Icecast" 90 mounts_up || fail "the demo is not on air: $(tail -n 5 "$home/liquidsoap.log")"
feed=$(curl -fsS "http://127.0.0.1:$((SB_DEMO_PORT_BASE + 24))/nowplaying.json")
expect_eq "$(jq -r .stream_url_mp3 <<<"$feed")" "$ice/sleetbubble.mp3" "the page's stream"
ok "on air: $ice serves /sleetbubble.ogg and /sleetbubble.mp3, the page plays the MP3 mount"
# A second demo on the same ports must refuse at once, naming the port and the setting.
if "$SLEETBUBBLE_ROOT/scripts/demo" >"$T/second.log" 2>&1; then fail "second demo on taken ports succeeded"; fi
grep -qE "port $((SB_DEMO_PORT_BASE)) is already in use \(change it with SB_DEMO_PORT_BASE" "$T/second.log" ||
  { cat "$T/second.log" >&2; fail "no clear port-taken message"; }
ok "a demo on taken ports fails naming the port and SB_DEMO_PORT_BASE"
echo "$PASSED passed, 0 failed"
