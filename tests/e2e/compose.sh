#!/usr/bin/env bash
# End-to-end on docker-compose.yml (protocol.md §13): scripts/compose-image builds the image
# with no registry (debootstrap base, cached), scripts/localnet compose-config writes the 4
# nodes' configs, `compose up -d`; then: all 4 apps reach the same app hash; a winner (track
# added to one container's Kubo only) finalizes and is pinned in all 4; node2 is cut off the
# network (`docker network disconnect`) while the others go on, reconnected, it catches up with
# the same app hash; `compose down -v` removes containers and volumes.
# With --station (test e2e_compose_station, label station: not in the default run) the network
# is the one docker-compose.yml ships (protocol.md §15: a vote agent in every sleetbubbled, a
# schedule loop per curator): with no tx sent by the test, 3 consecutive slots finalize
# SUPERMAJORITY with all 4 validators voting, the same winner on all 4 containers, pinned in
# all 4, and the app hashes agree; then down -v.
# Label "compose": scripts/test runs it after the rest (SB_E2E_COMPOSE=1). Without
# SB_E2E_COMPOSE=1, or when Docker is not reachable, it FAILS (no silent skip) unless
# SB_ALLOW_SKIP=1 (never set in CI); a plain `ctest` wants `-LE compose`.
# usage: compose.sh [--station] PATH/sleetbubbled PATH/sleetbubble PATH/sb-txgen
station=0
if [ "${1:-}" = --station ]; then station=1; shift; fi
# shellcheck source=tests/tap.sh
. "$(dirname "$0")/../tap.sh"
if [ "${SB_E2E_COMPOSE:-0}" != 1 ]; then
  skip_or_fail "SB_E2E_COMPOSE=1 not set (it builds an image and runs 4 containers; exclude it with ctest -LE compose)"
fi
docker info >/dev/null 2>&1 || skip_or_fail "Docker is not reachable (docker info failed)"
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
export SLEETBUBBLED=$1 SLEETBUBBLE=$2
TXGEN=$3
t_start=$SECONDS
proj=${SB_E2E_COMPOSE_PROJECT:-sb-e2e}
CFG=$T/compose

if docker compose version >/dev/null 2>&1; then DC=(docker compose)
elif command -v docker-compose >/dev/null; then DC=(docker-compose)
else fail "neither 'docker compose' nor 'docker-compose' is installed"; fi
dc() { SB_COMPOSE_DIR=$CFG "${DC[@]}" -p "$proj" -f "$SLEETBUBBLE_ROOT/docker-compose.yml" "$@"; }
compose_down() { [ ! -d "$CFG" ] || dc down -v --remove-orphans >"$T/down.log" 2>&1 || true; }
trap 'rc=$?; compose_down; (exit $rc); e2e_cleanup' EXIT

for i in 0 1 2 3; do
  sb_port_free $((48001 + 100 * i)) "SB_COMPOSE_RPC$i (docker-compose.yml)"
  sb_port_free $((48005 + 100 * i)) "SB_COMPOSE_GW$i (docker-compose.yml)"
done
[ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$proj")" ] ||
  fail "containers of compose project $proj exist already (docker-compose -p $proj down -v)"

# ---- image -----------------------------------------------------------------------------------
t=$SECONDS
"$SLEETBUBBLE_ROOT/scripts/compose-image" 2>&1 | sed 's/^/# /'
((PIPESTATUS[0] == 0)) || fail "scripts/compose-image"
t_image=$((SECONDS - t))
ok "scripts/compose-image built sleetbubble:local in $t_image s (no registry)"

# ---- network up ----------------------------------------------------------------------------
SB_LOCALNET_STATION=$station "$SLEETBUBBLE_ROOT/scripts/localnet" compose-config "$CFG" 2>"$T/config.log" || { cat "$T/config.log" >&2; fail "compose-config"; }
t=$SECONDS
dc up -d >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; fail "${DC[*]} up -d"; }
ctr() { dc ps -q "node$1"; }
# Per-node RPC through `docker exec` (works while the node is cut off the network too).
crpc() { docker exec "$(ctr "$1")" curl -fsS --max-time 5 "http://127.0.0.1:26657/$2"; }
cheight() { crpc "$1" status 2>/dev/null | jq -r .result.sync_info.latest_block_height 2>/dev/null || echo 0; }
cheight_ge() { local h; h=$(cheight "$1"); [ "${h:-0}" -ge "$2" ]; }
cq() { # cq NODE PATH -> "CODE VALUE"
  local r; r=$(crpc "$1" "abci_query?path=%22$2%22") || { echo "rpc-error"; return 0; }
  printf '%s ' "$(jq -r .result.response.code <<<"$r")"
  jq -r '.result.response.value // ""' <<<"$r" | base64 -d
  echo
}
cqv() { cq "$1" "$2" | cut -d' ' -f2-; }
for i in 0 1 2 3; do
  sb_wait_for "node$i height 3" 180 cheight_ge $i 3 || { dc logs --tail 30 "node$i" >&2; fail "node$i makes no blocks"; }
done
t_up=$((SECONDS - t))
ok "compose up: 4 containers make blocks ($t_up s)"
sb_height_at_least http://127.0.0.1:48001 3 || fail "node0's RPC is not published on 127.0.0.1:48001"
ok "node0's CometBFT RPC is published on 127.0.0.1:48001"

# same_app_hash: each app's own hash (abci_info at its last height h) equals the app hash in
# node0's header h+1.
same_app_hash() {
  local i info h hash hdr
  for i in 0 1 2 3; do
    info=$(crpc $i abci_info) || return 1
    h=$(jq -r .result.response.last_block_height <<<"$info")
    hash=$(jq -r .result.response.last_block_app_hash <<<"$info" | base64 -d | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F)
    sb_wait_for "node0 height $((h + 1))" 60 cheight_ge 0 $((h + 1)) || return 1
    hdr=$(crpc 0 "block?height=$((h + 1))" | jq -r .result.block.header.app_hash)
    [ "$hdr" = "$hash" ] || { echo "node$i app hash at $h: $hash, node0 header $((h + 1)): $hdr" >&2; return 1; }
  done
}
same_app_hash || fail "app hashes differ"
ok "the 4 apps report the app hash of node0's chain"

# down_checked: compose down -v leaves no container and no volume.
down_checked() {
  local t=$SECONDS
  dc down -v >"$T/down.log" 2>&1 || { cat "$T/down.log" >&2; fail "down -v"; }
  [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$proj")" ] || fail "containers left after down"
  [ -z "$(docker volume ls -q --filter "label=com.docker.compose.project=$proj")" ] || fail "volumes left after down -v"
  rm -rf "$CFG"
  ok "compose down -v removed the 4 containers and their volumes ($((SECONDS - t)) s)"
}

fin() { [ "$(cq "$1" "/winner/$2" | cut -d' ' -f1)" = 0 ]; }
pinned() { cqv "$1" "/pins/$2" | jq -e '.all_pinned == true' >/dev/null 2>&1; }

# ---- the station runs itself (--station) -----------------------------------------------------
# slot_ok SLOT: SUPERMAJORITY on all 4 with node0's winner, and the winning proposal's voters are
# all 4 validators. Prints why not on stderr.
slot_ok() {
  local s=$1 w i sl
  w=$(cqv 0 "/winner/$s")
  [ "$(jq -r .outcome <<<"$w")" = SUPERMAJORITY ] || { echo "slot $s: $(jq -c . <<<"$w")" >&2; return 1; }
  for i in 1 2 3; do [ "$(cqv $i "/winner/$s")" = "$w" ] || { echo "node$i /winner/$s differs" >&2; return 1; }; done
  sl=$(cqv 0 "/slot/$s")
  [ "$(jq --arg p "$(jq -r .winner <<<"$w")" '[.proposals[] | select(.id == $p) | .voters[]] | length' <<<"$sl")" = 4 ] ||
    { echo "slot $s: the winner has not 4 voters: $(jq -c '[.proposals[] | {id, voters}]' <<<"$sl")" >&2; return 1; }
}
if ((station)); then
  t=$SECONDS
  first=$(( $(cqv 0 /slot/current | jq -r .next_slot) + 1 ))
  for s in $first $((first + 1)) $((first + 2)); do
    for i in 0 1 2 3; do sb_wait_for "slot $s on node$i" 240 fin $i "$s" || fail "slot $s not finalized on node$i"; done
    slot_ok "$s" || fail "slot $s is not a SUPERMAJORITY of the 4 agents"
    for i in 0 1 2 3; do sb_wait_for "slot $s pinned on node$i" 120 pinned $i "$s" || fail "slot $s not pinned on node$i: $(cqv $i "/pins/$s")"; done
    ok "slot $s: the agents' SUPERMAJORITY (4 of 4 voted), same winner on 4 containers, pinned in all 4"
  done
  same_app_hash || fail "app hashes differ after the station slots"
  ok "3 slots with nobody at the keyboard ($((SECONDS - t)) s); app hashes agree"
  down_checked
  echo "# ---- summary ----"
  echo "# image build: $t_image s; up to blocks: $t_up s; total: $((SECONDS - t_start)) s"
  echo "$PASSED passed, 0 failed"
  exit 0
fi

# ---- a winner, pinned everywhere -------------------------------------------------------------
CHAIN=$(jq -r .chain_id "$CFG/network.json")
seed_of() { jq -r .priv_key.value "$CFG/node$1/cometbft/config/priv_validator_key.json" | base64 -d | head -c 32 | od -An -tx1 -v | tr -d ' \n'; }
SEED_A=$(jq -r .seed "$CFG/cli/keys/curator-a.json")
track=$(docker exec "$(ctr 3)" sh -c 'head -c 6000 /dev/urandom >/tmp/t && ipfs add -Q --cid-version 1 /tmp/t')
[[ $track == bafkrei* ]] || fail "ipfs add in node3: $track"
cur=$(cqv 0 /slot/current)
s=$(jq -r .next_slot <<<"$cur")
(( $(jq -r .next_close_ns <<<"$cur") - $(jq -r .block_time_ns <<<"$cur") >= 12000000000 )) || s=$((s + 1))
read -r tx prop < <("$TXGEN" proposal "$CHAIN" "$s" "$SEED_A" "$track" 5000 compose)
code=$(crpc 1 "broadcast_tx_sync?tx=0x$tx" | jq -r .result.code)
expect_eq "$code" 0 "proposal for slot $s"
known() { [ "$(cq 2 "/proposal/$prop" | cut -d' ' -f1)" = 0 ]; }
sb_wait_for "proposal committed" 30 known || fail "proposal not committed"
for v in 0 1; do
  vt=$("$TXGEN" vote "$CHAIN" "$s" "$prop" "$(jq -r ".nodes[$v].validator_pubkey" "$CFG/network.json")" "$(seed_of $v)")
  expect_eq "$(crpc 2 "broadcast_tx_sync?tx=0x$vt" | jq -r .result.code)" 0 "vote of node$v"
done
for i in 0 1 2 3; do sb_wait_for "slot $s on node$i" 90 fin $i "$s" || fail "slot $s not finalized on node$i"; done
w=$(cqv 0 "/winner/$s")
expect_eq "$(jq -r .outcome <<<"$w")/$(jq -r .winner <<<"$w")" "SUPERMAJORITY/$prop" "slot $s"
for i in 1 2 3; do expect_eq "$(cqv $i "/winner/$s")" "$w" "node$i /winner/$s"; done
for i in 0 1 2 3; do sb_wait_for "slot $s pinned on node$i" 120 pinned $i "$s" || fail "slot $s not pinned on node$i: $(cqv $i "/pins/$s")"; done
ok "slot $s: SUPERMAJORITY winner identical on 4 containers, pinned in all 4 (track added in node3 only)"

# ---- network partition of node2 ------------------------------------------------------------
net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$(ctr 2)" | awk '{print $1}')
[ -n "$net" ] || fail "node2's network not found"
t=$SECONDS
docker network disconnect "$net" "$(ctr 2)" || fail "docker network disconnect"
sleep 3
h2=$(cheight 2)
h0=$(cheight 0)
sb_wait_for "node0 to grow 8 blocks" 60 cheight_ge 0 $((h0 + 8)) || fail "the chain stopped without node2 (20)"
h2b=$(cheight 2)
((h2b <= h2 + 1)) || fail "node2 kept making blocks while disconnected ($h2 -> $h2b)"
docker network connect --alias node2 "$net" "$(ctr 2)" || fail "docker network connect"
target=$(cheight 0)
sb_wait_for "node2 to catch up to $target" 120 cheight_ge 2 "$target" || fail "node2 did not catch up"
same_app_hash || fail "app hashes differ after the partition"
t_part=$((SECONDS - t))
ok "node2 disconnected (stuck at $h2b while node0 went $h0 -> $((h0 + 8))), reconnected: caught up to $target, same app hash ($t_part s)"

# ---- down -v ---------------------------------------------------------------------------------
down_checked

echo "# ---- summary ----"
echo "# image build: $t_image s; up to blocks: $t_up s; partition round: $t_part s; total: $((SECONDS - t_start)) s"
echo "$PASSED passed, 0 failed"
