#!/bin/bash
# Container entrypoint of one Sleetbubble validator node (docker-compose.yml): Kubo, then
# sleetbubbled (with its vote agent when the config enables it), then CometBFT, and on a
# curator's node that curator's schedule loop, each a child of this script, their output
# prefixed on the container's stdout. If any of them exits, the others are stopped and the container
# exits 1 (compose's restart policy brings the node back; CometBFT replays from its block store).
# SIGTERM (docker stop): the curator loop, CometBFT, sleetbubbled, then Kubo, each given 10 s.
#   /config  this node's homes from `scripts/localnet compose-config` (read-only)
#   /data    the node's state (volume); seeded from /config on first start
# Env SB_PEERS: the other nodes' hostnames, waited for in DNS before CometBFT starts (it drops
# a persistent peer whose name does not resolve at start).
set -euo pipefail
log() { printf 'entrypoint: %s\n' "$*"; }

if [ ! -f /data/cometbft/config/genesis.json ]; then
  [ -f /config/cometbft/config/genesis.json ] || { log "no /config/cometbft: mount a node dir of scripts/localnet compose-config"; exit 2; }
  log "first start: seeding /data from /config"
  cp -a /config/. /data/
  chmod 700 /data
fi
export IPFS_PATH=/data/ipfs IPFS_TELEMETRY=off

pids=()
stopping=0
stop_all() {
  stopping=1
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "${pids[i]}" 2>/dev/null || true
  done
}
trap 'stop_all; exit 0' TERM INT

wait_for() { # DESCRIPTION TIMEOUT CMD…
  local what=$1 t=$2; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || { log "timed out after ${t}s waiting for $what"; stop_all; exit 1; }
    sleep 0.5
  done
}

# Kubo clears a stale lock after an unclean stop on its own; the API lock file is ours to drop.
rm -f /data/ipfs/api
ipfs daemon > >(sed -u 's/^/kubo: /') 2>&1 &
pids+=($!)
wait_for "Kubo API" 120 curl -fsS -X POST http://127.0.0.1:5001/api/v0/id

sleetbubbled start --home /data/sleetbubbled > >(sed -u 's/^/app: /') 2>&1 &
pids+=($!)
wait_for "sleetbubbled ABCI port" 60 bash -c 'ss -Hltn "sport = :26658" | grep -q .'

for p in ${SB_PEERS:-}; do wait_for "DNS name $p" 120 getent hosts "$p"; done
cometbft start --home /data/cometbft > >(sed -u 's/^/cometbft: /') 2>&1 &
pids+=($!)
log "node up: kubo ${pids[0]}, sleetbubbled ${pids[1]}, cometbft ${pids[2]}"

# A curator's schedule (protocol.md §15), on the node `scripts/localnet compose-config` gave it:
# /data/curator/{name,keys/NAME.json,library/} -> `sleetbubble schedule` every 5 s against this
# node's CometBFT and Kubo (the test network's 20 s slots; production uses a timer, see
# docs/operators.md).
if [ -f /data/curator/name ]; then
  cname=$(cat /data/curator/name)
  sb-curator-loop sleetbubble /data/curator "$cname" http://127.0.0.1:26657 http://127.0.0.1:5001 \
    /data/curator/library 5 4 2 > >(sed -u 's/^/curator: /') 2>&1 &
  pids+=($!)
  log "curator $cname schedule loop ${pids[3]}"
fi

set +e
wait -n "${pids[@]}"
rc=$?
[ $stopping -eq 1 ] && exit 0
log "a process exited (status $rc): stopping the node"
stop_all
exit 1
