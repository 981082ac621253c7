#!/usr/bin/env bash
# `sleetbubble tracks add` against a real Kubo (protocol.md §12): for every file the CID in the
# playlist is the one `ipfs add --cid-version 1 --raw-leaves` prints for the same bytes (a
# single-block file gives a raw CID, a multi-block one a dag-pb root), the content is pinned,
# durations come from libsndfile; Kubo's dag/stat reply has the size field `vote` reads; and
# a Kubo that is down gives exit 3 naming --ipfs.
# usage: cli_kubo.sh PATH/sleetbubble
# Ports: Kubo API/gateway/swarm on SB_CLI_KUBO_PORT_BASE (default 23711), +1, +2.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/cli_lib.sh
. "$(dirname "$0")/cli_lib.sh"
SB=$1
base=${SB_CLI_KUBO_PORT_BASE:-23711}
api_port=$base gw_port=$((base + 1)) swarm_port=$((base + 2))
api="http://127.0.0.1:$api_port"
for p in "$api_port" "$gw_port" "$swarm_port"; do sb_port_free "$p" SB_CLI_KUBO_PORT_BASE; done
command -v ipfs >/dev/null || fail "ipfs (Kubo) not on PATH; run scripts/bootstrap"

export IPFS_PATH=$T/ipfs
sb_kubo_init "$IPFS_PATH" "$api_port" "$gw_port" "$swarm_port"
ipfs daemon --offline >"$T/kubo.log" 2>&1 &
sb_track $!
sb_wait_for "Kubo API on $api" 60 curl -fsS -X POST "$api/api/v0/id" || fail "Kubo did not start"
ok "Kubo $(ipfs version --number) up offline on $api"

cli_make_wav "$T/one second.wav" 1     # 88 244 bytes: one raw block
cli_make_wav "$T/ten.wav" 10           # 882 044 bytes: 4 chunks under a dag-pb root
files=("$T/one second.wav" "$T/ten.wav")
want_ms=(1000 10000)
for f in /usr/share/games/frozen-bubble/snd/introzik.ogg \
         /usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg; do
  [ -f "$f" ] && files+=("$f") && want_ms+=("")
done

"$SB" --ipfs "$api" tracks add "${files[@]}" -o "$T/playlist.json" 2>"$T/add.log" ||
  fail "tracks add failed: $(cat "$T/add.log")"
n=$(jq '.tracks | length' "$T/playlist.json")
expect_eq "$n" "${#files[@]}" "tracks in the playlist"
for i in "${!files[@]}"; do
  f=${files[$i]}
  want=$(ipfs add --cid-version 1 --raw-leaves -Q --only-hash "$f")
  got=$(jq -r ".tracks[$i].cid" "$T/playlist.json")
  expect_eq "$got" "$want" "CID of $(basename "$f")"
  ipfs pin ls --type=recursive "$got" >/dev/null 2>&1 || fail "$got is not pinned recursively"
  ms=$(jq -r ".tracks[$i].duration_ms" "$T/playlist.json")
  [ -z "${want_ms[$i]}" ] || expect_eq "$ms" "${want_ms[$i]}" "duration of $(basename "$f")"
  if [ "$ms" -lt 1 ] || [ "$ms" -gt 3600000 ]; then fail "duration $ms of $f outside [1, 3600000]"; fi
  ok "$(basename "$f"): $got, ${ms} ms, pinned, same CID as ipfs add --cid-version 1 --raw-leaves"
done
case $(jq -r '.tracks[0].cid' "$T/playlist.json") in bafk*) ;; *) fail "1 s WAV should be a raw CID";; esac
case $(jq -r '.tracks[1].cid' "$T/playlist.json") in bafy*) ;; *) fail "10 s WAV should be dag-pb";; esac
expect_eq "$(jq -r '.tracks[0].title' "$T/playlist.json")" "one second" "title from the file name"
ok "raw leaf for one block, dag-pb root for several; title falls back to the file name"

# The playlist reads back as `propose --playlist` reads it: a dead node gives 3, not 2.
set +e
"$SB" --node http://127.0.0.1:1 --home "$T/home" keys new cur >/dev/null
"$SB" --node http://127.0.0.1:1 --home "$T/home" propose --slot 1 --playlist "$T/playlist.json" \
  --key cur 2>/dev/null
rc=$?
set -e
expect_eq "$rc" 3 "propose with the written playlist and no node"
ok "the written playlist parses as a propose --playlist"

# dag/stat: the reply carries the size field `vote` reads (TotalSize or Size).
cid=$(jq -r '.tracks[1].cid' "$T/playlist.json")
size=$(curl -fsS -X POST "$api/api/v0/dag/stat?arg=$cid&progress=false" |
  jq -rs 'last | (.TotalSize // .Size // .DagStats[0].Size)')
[ "$size" -ge 882044 ] || fail "dag/stat size $size smaller than the file"
ok "dag/stat of $cid gives $size bytes"

# Kubo down: exit 3 and the message names the URL and the flag.
sb_stop_all
set +e
"$SB" --ipfs "$api" tracks add "$T/ten.wav" -o "$T/p2.json" 2>"$T/down.log"
rc=$?
set -e
expect_eq "$rc" 3 "exit status with Kubo down"
grep -q -- "--ipfs" "$T/down.log" || fail "message does not name --ipfs: $(cat "$T/down.log")"
[ ! -e "$T/p2.json" ] || fail "a playlist was written although Kubo was down"
ok "Kubo down: exit 3, message names $api and --ipfs, nothing written"
