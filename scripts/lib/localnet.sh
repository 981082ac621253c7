# shellcheck shell=bash
# The 4-validator network of scripts/localnet (protocol.md §13): homes, shared genesis, per-process
# start/stop by pid, status. Source after scripts/env.sh and scripts/lib/common.sh.
#
# Layout of a network home DIR:
#   DIR/network.json        chain id, port base, binaries, per node: ports, power, CometBFT node
#                           id, Kubo peer id, validator pubkey (written once by ln_init)
#   DIR/pids                "PID NODE PROC" per running process (PROC: kubo | app | cometbft)
#   DIR/cli/keys/*.json     the two curator keys (sleetbubble keys format, seed inside, 0600)
#   DIR/nodeI/{cometbft,sleetbubbled,ipfs}   homes; DIR/nodeI/{kubo,app,cometbft}.log
# Node I (0..3) has power LN_POWERS[I] and ports SB_LOCALNET_PORT_BASE + 100*I + offset:
#   p2p +0, CometBFT RPC +1, ABCI +2, sleetbubbled metrics +3, Kubo API +4, gateway +5, swarm +6,
#   now-playing page +7 (its player: the Icecast of `scripts/localnet onair`, +8).
# The default base 28000 is below Linux's ephemeral range (32768-60999): a port in that range
# can be taken as the source port of an outgoing connection (a CometBFT peer link made after a
# restart lives for hours) and then a restarted node cannot listen on it again.

LN_N=4
LN_POWERS=(40 30 20 10)
LN_PROCS=(kubo app cometbft)
LN_CHAIN_ID=${SB_LOCALNET_CHAIN_ID:-sleetbubble-localnet}
# Short slots so a test sees several finalizations per minute (protocol.md §3; 3-8 s tracks fit).
LN_APP_SLOT_SECONDS=20
# Voting for slot s closes 16 s before it starts: room for the vote agents' lead (below).
LN_APP_CLOSE_LEAD=16

# ---- the station (protocol.md §15): vote agents and curator schedules ----------------------
# SB_LOCALNET_STATION=1 (default; `up --manual` or 0 turns it off at creation): every
# validator's sleetbubbled runs the vote agent ([vote], policy follow, its own
# priv_validator_key.json since the localnet genesis delegates no vote keys), and each curator
# runs `sleetbubble schedule` in a loop (scripts/lib/sb-curator-loop) against one node, on a
# library of short real audio made at set-up (scripts/lib/gen-audio.sh). Tests that vote by hand
# create the network with the station off.
# Agent lead: h* = the first block at or after close(s) - 14 s: about 14 block intervals
# (timeout_commit 1 s; protocol.md §15 asks for >= 5), < close_lead_seconds (16), and 14 s for
# the vote to be committed before the close. 10 s was too little on a 2-core machine at load
# 30+: blocks came every 3-6 s, and once the votes sent at h* missed the one block left before
# the close (a slot of the 50-slot e2e run fell back with no votes).
LN_AGENT_LEAD=14
LN_CURATORS=(curator-a curator-b)
LN_CURATOR_NODE=(1 2)         # curator-a uses node1's RPC and Kubo, curator-b node2's
LN_LIBRARY_TRACKS=16          # per curator, 3-8 s each (gen-audio.sh cycles the lengths)
LN_SCHEDULE_SLOTS=4           # sleetbubble schedule --slots
LN_SCHEDULE_NOREPEAT=2        # --no-repeat-slots: 16 tracks, about 4 per 20 s slot
LN_SCHEDULE_INTERVAL=${SB_LOCALNET_SCHEDULE_INTERVAL:-5}   # seconds between runs

ln_port() { # ln_port BASE NODE OFFSET
  echo $(($1 + 100 * $2 + $3))
}

ln_comm_of() { # process name of a PROC
  case $1 in
    kubo) echo ipfs ;; app) echo sleetbubbled ;; cometbft) echo cometbft ;;
    icecast) echo icecast2 ;; liquidsoap) echo liquidsoap ;; onair) echo sleetbubble ;;
    curator-*) echo sb-curator-loop ;;
  esac
}

# ln_kill PID COMM SIGNAL: signal a live process (TERM waits up to 20 s, then KILL).
ln_kill() {
  local pid=$1 comm=$2 sig=${3:-TERM}
  sb_alive "$pid" "$comm" || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 200; i++)); do
    sb_alive "$pid" "$comm" || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  sb_log "pid $pid ($comm) ignored SIG$sig for 20 s: sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# ---- pids file ---------------------------------------------------------------------------

ln_pid_of() { # ln_pid_of DIR NODE PROC -> pid or nothing
  [ -f "$1/pids" ] || return 0
  awk -v n="$2" -v p="$3" '$2 == n && $3 == p { pid = $1 } END { if (pid) print pid }' "$1/pids"
}

ln_pid_set() { # ln_pid_set DIR NODE PROC PID ("" removes the entry)
  local dir=$1 node=$2 proc=$3 pid=$4 tmp
  tmp=$(mktemp "$dir/.pids.XXXXXX")
  if [ -f "$dir/pids" ]; then
    awk -v n="$node" -v p="$proc" '!($2 == n && $3 == p)' "$dir/pids" >"$tmp"
  fi
  [ -z "$pid" ] || echo "$pid $node $proc" >>"$tmp"
  mv "$tmp" "$dir/pids"
  [ -s "$dir/pids" ] || rm -f "$dir/pids"
}

# ln_running DIR: prints "PID NODE PROC" of every recorded process still alive.
ln_running() {
  local dir=$1 pid node proc
  [ -f "$dir/pids" ] || return 0
  while read -r pid node proc; do
    sb_alive "$pid" "$(ln_comm_of "$proc")" && echo "$pid $node $proc"
  done <"$dir/pids"
  return 0
}

# ---- network description -----------------------------------------------------------------

ln_net() { jq -r "$2" "$1/network.json"; }          # ln_net DIR JQ_FILTER
ln_nodeq() { jq -r --argjson i "$2" ".nodes[\$i]$3" "$1/network.json"; } # DIR NODE .field
ln_rpc_url() { echo "http://127.0.0.1:$(ln_nodeq "$1" "$2" .rpc)"; }
ln_api_url() { echo "http://127.0.0.1:$(ln_nodeq "$1" "$2" .kubo_api)"; }

# ln_find_bins: set SBD and SBCLI (sleetbubbled, sleetbubble) from $SLEETBUBBLED /
# $SLEETBUBBLE or the usual build dirs; die with what to run when one is missing.
ln_find_bins() {
  local root=$SLEETBUBBLE_ROOT d
  SBD=${SLEETBUBBLED:-} SBCLI=${SLEETBUBBLE:-}
  for d in build build-e2e; do
    [ -n "$SBD" ] || { [ -x "$root/$d/src/node/sleetbubbled" ] && SBD=$root/$d/src/node/sleetbubbled; }
    [ -n "$SBCLI" ] || { [ -x "$root/$d/src/cli/sleetbubble" ] && SBCLI=$root/$d/src/cli/sleetbubble; }
  done
  if [ -z "$SBD" ] || [ ! -x "$SBD" ]; then
    sb_die "sleetbubbled not found${SBD:+ at $SBD}: run scripts/bootstrap, then cmake -S . -B build && cmake --build build --target sleetbubbled sleetbubble (or set SLEETBUBBLED=PATH)"
  fi
  if [ -z "$SBCLI" ] || [ ! -x "$SBCLI" ]; then
    sb_die "sleetbubble (CLI) not found${SBCLI:+ at $SBCLI}: cmake --build build --target sleetbubble (or set SLEETBUBBLE=PATH)"
  fi
  command -v "${SB_COMETBFT:-cometbft}" >/dev/null ||
    sb_die "cometbft $COMETBFT_VERSION not found in $SLEETBUBBLE_TOOLS: run scripts/bootstrap"
  command -v ipfs >/dev/null || sb_die "ipfs (Kubo $KUBO_VERSION) not found in $SLEETBUBBLE_TOOLS: run scripts/bootstrap"
  local t
  for t in jq curl ss awk; do command -v $t >/dev/null || sb_die "$t not found: run scripts/bootstrap"; done
  SBD=$(readlink -f "$SBD") SBCLI=$(readlink -f "$SBCLI")
}

# ln_check_ports BASE: every port of the 4 nodes is free, else die naming it.
ln_check_ports() {
  local base=$1 i off names=(p2p rpc abci metrics kubo-api gateway swarm web)
  for ((i = 0; i < LN_N; i++)); do
    for off in 0 1 2 3 4 5 6 7; do
      sb_port_free "$(ln_port "$base" $i $off)" \
        "SB_LOCALNET_PORT_BASE, now $base; node$i ${names[$off]} = base + $((100 * i + off))"
    done
  done
}

hex_of_b64() { base64 -d | od -An -tx1 -v | tr -d ' \n'; }

# ln_init DIR MODE: create the 4 homes and the shared genesis.
#   MODE localnet: loopback ports from SB_LOCALNET_PORT_BASE.
#   MODE compose: container addresses (hostnames node0..node3, standard ports inside each
#   container; see docker-compose.yml), for scripts/localnet compose-config.
ln_init() {
  local dir=$1 mode=$2 base=${SB_LOCALNET_PORT_BASE:-28000} i
  local tpl=$SLEETBUBBLE_ROOT/cometbft-config/$mode.toml station=${SB_LOCALNET_STATION:-1}
  [ -f "$tpl" ] || sb_die "template $tpl missing"
  [[ $station =~ ^[01]$ ]] || sb_die "SB_LOCALNET_STATION must be 0 or 1, not '$station'"
  if [ "$station" = 1 ]; then
    local tool
    for tool in sox espeak-ng; do
      command -v $tool >/dev/null ||
        sb_die "$tool not found: the station's test audio needs it (run scripts/bootstrap, or create the network with --manual)"
    done
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  export IPFS_TELEMETRY=off
  local -a p2p rpc abci metrics web api gw swarm host nid pid vpub
  for ((i = 0; i < LN_N; i++)); do
    if [ "$mode" = compose ]; then
      host[i]=node$i p2p[i]=26656 rpc[i]=26657 abci[i]=26658 metrics[i]=26670 web[i]=26680
      api[i]=5001 gw[i]=8080 swarm[i]=4001
    else
      host[i]=127.0.0.1
      p2p[i]=$(ln_port "$base" $i 0) rpc[i]=$(ln_port "$base" $i 1) abci[i]=$(ln_port "$base" $i 2)
      metrics[i]=$(ln_port "$base" $i 3) api[i]=$(ln_port "$base" $i 4)
      gw[i]=$(ln_port "$base" $i 5) swarm[i]=$(ln_port "$base" $i 6) web[i]=$(ln_port "$base" $i 7)
    fi
    local nd=$dir/node$i
    mkdir -p "$nd"
    # CometBFT home: loopback (localnet) or 0.0.0.0 inside a container (compose).
    local bind=127.0.0.1
    [ "$mode" = compose ] && bind=0.0.0.0
    sb_cometbft_node "$nd/cometbft" "${rpc[i]}" "${p2p[i]}" "tcp://127.0.0.1:${abci[i]}" "$tpl"
    local cfg=$nd/cometbft/config/config.toml
    sb_toml_set "$cfg" rpc laddr "\"tcp://$bind:${rpc[i]}\""
    sb_toml_set "$cfg" p2p laddr "\"tcp://$bind:${p2p[i]}\""
    sb_toml_set "$cfg" "" moniker "\"node$i\""
    nid[i]=$("${SB_COMETBFT:-cometbft}" show-node-id --home "$nd/cometbft") || sb_die "cometbft show-node-id failed"
    vpub[i]=$(jq -r .pub_key.value "$nd/cometbft/config/priv_validator_key.json" | hex_of_b64)
    # Kubo: test profile, no bootstrap, AutoConf off (sb_kubo_init), online: peers fetch from
    # each other over bitswap.
    sb_kubo_init "$nd/ipfs" "${api[i]}" "${gw[i]}" "${swarm[i]}" >/dev/null
    if [ "$mode" = compose ]; then
      # Swarm and gateway reachable on the compose network; the API stays container-local.
      IPFS_PATH=$nd/ipfs ipfs config --json Addresses.Swarm '["/ip4/0.0.0.0/tcp/4001"]'
      IPFS_PATH=$nd/ipfs ipfs config Addresses.Gateway /ip4/0.0.0.0/tcp/8080
    fi
    pid[i]=$(IPFS_PATH=$nd/ipfs ipfs config Identity.PeerID)
    # sleetbubbled
    [ -f "$nd/sleetbubbled/config/sleetbubble.toml" ] ||
      "$SBD" init --home "$nd/sleetbubbled" >/dev/null || sb_die "sleetbubbled init failed"
    local sc=$nd/sleetbubbled/config/sleetbubble.toml
    sb_toml_set "$sc" abci laddr "\"tcp://127.0.0.1:${abci[i]}\""
    sb_toml_set "$sc" metrics laddr "\"$bind:${metrics[i]}\""
    sb_toml_set "$sc" web laddr "\"$bind:${web[i]}\"" # now-playing page (protocol.md §14)
    if [ "$mode" = localnet ]; then
      # The page plays this node's own Icecast (`scripts/localnet onair`: base + 100*I + 8).
      local ice
      ice=http://127.0.0.1:$(ln_port "$base" $i 8)
      sb_toml_set "$sc" web station_name "\"Sleetbubble localnet node$i\""
      sb_toml_set "$sc" web stream_url "\"$ice/sleetbubble.ogg\""
      sb_toml_set "$sc" web stream_url_mp3 "\"$ice/sleetbubble.mp3\""
    fi
    sb_toml_set "$sc" ipfs api_url "\"http://127.0.0.1:${api[i]}/api/v0/\""
    sb_toml_set "$sc" ipfs gateway_url "\"http://127.0.0.1:${gw[i]}\""
    if [ "$station" = 1 ]; then
      # The vote agent (protocol.md §15) with the validator's own key; paths as the process sees
      # them (inside the container in compose mode, where the homes live under /data).
      local keyf=$nd/cometbft/config/priv_validator_key.json
      [ "$mode" = compose ] && keyf=/data/cometbft/config/priv_validator_key.json
      sb_toml_set "$sc" vote enabled true
      sb_toml_set "$sc" vote key_file "\"$keyf\""
      sb_toml_set "$sc" vote node_rpc "\"http://127.0.0.1:${rpc[i]}\""
      sb_toml_set "$sc" vote lead_seconds "$LN_AGENT_LEAD"
      sb_toml_set "$sc" vote policy '"follow"'
      sb_toml_set "$sc" vote require_available true
      sb_toml_set "$sc" vote available_timeout_seconds 5
    fi
  done

  # Peers: CometBFT persistent_peers and Kubo Peering.Peers name the 3 others.
  for ((i = 0; i < LN_N; i++)); do
    local peers="" kpeers="[]" j maddr
    for ((j = 0; j < LN_N; j++)); do
      ((j == i)) && continue
      peers+="${peers:+,}${nid[j]}@${host[j]}:${p2p[j]}"
      if [ "$mode" = compose ]; then maddr=/dns4/${host[j]}/tcp/${swarm[j]}; else maddr=/ip4/127.0.0.1/tcp/${swarm[j]}; fi
      kpeers=$(jq -c --arg id "${pid[j]}" --arg a "$maddr" '. + [{ID: $id, Addrs: [$a]}]' <<<"$kpeers")
    done
    sb_toml_set "$dir/node$i/cometbft/config/config.toml" p2p persistent_peers "\"$peers\""
    IPFS_PATH=$dir/node$i/ipfs ipfs config --json Peering.Peers "$kpeers"
  done

  # Curators: two keys in the CLI's format, so `sleetbubble --home DIR/cli propose --key
  # curator-a` works by hand too.
  local c
  for c in curator-a curator-b; do
    [ -f "$dir/cli/keys/$c.json" ] || "$SBCLI" --home "$dir/cli" keys new "$c" >/dev/null ||
      sb_die "sleetbubble keys new $c failed"
  done
  local ca cb
  ca=$(jq -r .pubkey "$dir/cli/keys/curator-a.json") cb=$(jq -r .pubkey "$dir/cli/keys/curator-b.json")
  # Each curator's library: short real audio (protocol.md §15 "Test networks"), made once.
  if [ "$station" = 1 ]; then
    for c in "${LN_CURATORS[@]}"; do
      [ -f "$dir/library/$c/$(printf 'track%02d.ogg' "$LN_LIBRARY_TRACKS")" ] ||
        bash "$SLEETBUBBLE_ROOT/scripts/lib/gen-audio.sh" --artist "$c (test signal)" \
          "$dir/library/$c" "$LN_LIBRARY_TRACKS" || sb_die "gen-audio.sh for $c failed"
    done
    if [ "$mode" = compose ]; then
      # In containers the loop runs inside the curator's node (docker/entrypoint.sh starts it
      # when /data/curator/name exists): its key, library and a writable home for the index.
      local k cd
      for ((k = 0; k < ${#LN_CURATORS[@]}; k++)); do
        c=${LN_CURATORS[k]} cd=$dir/node${LN_CURATOR_NODE[k]}/curator
        mkdir -p "$cd/keys"
        cp "$dir/cli/keys/$c.json" "$cd/keys/"
        chmod 700 "$cd" "$cd/keys"
        cp -r "$dir/library/$c" "$cd/library"
        printf '%s\n' "$c" >"$cd/name"
      done
    fi
  fi

  # One genesis for all: the 4 validators with powers 40/30/20/10, short slots, 2 curators.
  local g=$dir/genesis.json vals="[]"
  for ((i = 0; i < LN_N; i++)); do
    vals=$(jq -c --argjson p "${LN_POWERS[i]}" --arg n "node$i" \
      --slurpfile kk "$dir/node$i/cometbft/config/priv_validator_key.json" \
      '. + [{address: $kk[0].address, pub_key: $kk[0].pub_key, power: ($p | tostring), name: $n}]' \
      <<<"$vals")
  done
  jq --arg chain "$LN_CHAIN_ID" --argjson vals "$vals" --arg ca "$ca" --arg cb "$cb" \
    --argjson L "$LN_APP_SLOT_SECONDS" --argjson lead "$LN_APP_CLOSE_LEAD" \
    --arg now "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" \
    '.chain_id = $chain | .genesis_time = $now | .validators = $vals |
     .app_state = {slot_seconds: $L, close_lead_seconds: $lead, horizon_slots: 48, curators: [$ca, $cb]}' \
    "$dir/node0/cometbft/config/genesis.json" >"$g"
  for ((i = 0; i < LN_N; i++)); do cp "$g" "$dir/node$i/cometbft/config/genesis.json"; done

  # network.json: what every other command (and the tests) read.
  local nodes="[]"
  for ((i = 0; i < LN_N; i++)); do
    nodes=$(jq -c --arg name "node$i" --argjson power "${LN_POWERS[i]}" --arg host "${host[i]}" \
      --argjson p2p "${p2p[i]}" --argjson rpc "${rpc[i]}" --argjson abci "${abci[i]}" \
      --argjson metrics "${metrics[i]}" --argjson api "${api[i]}" --argjson gw "${gw[i]}" \
      --argjson swarm "${swarm[i]}" --arg nid "${nid[i]}" --arg pid "${pid[i]}" --arg vpub "${vpub[i]}" \
      '. + [{name: $name, power: $power, host: $host, p2p: $p2p, rpc: $rpc, abci: $abci,
             metrics: $metrics, kubo_api: $api, gateway: $gw, swarm: $swarm, node_id: $nid,
             kubo_peer_id: $pid, validator_pubkey: $vpub}]' <<<"$nodes")
  done
  jq -n --arg mode "$mode" --arg chain "$LN_CHAIN_ID" --argjson base "$base" --argjson nodes "$nodes" \
    --arg ca "$ca" --arg cb "$cb" --argjson station "$station" --argjson lead "$LN_AGENT_LEAD" \
    --argjson na "${LN_CURATOR_NODE[0]}" --argjson nb "${LN_CURATOR_NODE[1]}" \
    '{mode: $mode, chain_id: $chain, port_base: (if $mode == "compose" then null else $base end),
      nodes: $nodes, station: ($station == 1), agent_lead_seconds: $lead,
      curators: [{name: "curator-a", pubkey: $ca, key_file: "cli/keys/curator-a.json",
                  node: $na, library: "library/curator-a"},
                 {name: "curator-b", pubkey: $cb, key_file: "cli/keys/curator-b.json",
                  node: $nb, library: "library/curator-b"}]}' \
    >"$dir/network.json"
}

# ---- processes ---------------------------------------------------------------------------

ln_ports_of() { # ln_ports_of DIR NODE PROC -> the ports PROC listens on
  case $3 in
    kubo) ln_nodeq "$1" "$2" '| "\(.kubo_api) \(.gateway) \(.swarm)"' ;;
    app) ln_nodeq "$1" "$2" '| "\(.abci) \(.metrics)"' ;;
    cometbft) ln_nodeq "$1" "$2" '| "\(.p2p) \(.rpc)"' ;;
    curator-*) ;; # no ports
  esac
}

# ln_port_busy PORT: a socket listens on PORT or uses it as the local end of a live connection
# (TIME-WAIT and FIN-WAIT-2 do not count: the programs bind with SO_REUSEADDR, and a server
# that stopped leaves FIN-WAIT-2 sockets for up to 60 s while a client, e.g. a keep-alive
# connection of the pin worker to Kubo, has not closed its end).
ln_port_busy() {
  ss -Htan "sport = :$1" 2>/dev/null | awk '$1 != "TIME-WAIT" && $1 != "FIN-WAIT-2"' | grep -q .
}

# ln_wait_ports DIR NODE PROC: wait up to 20 s for PROC's ports to be free (a process just
# stopped may still hold them briefly); fail naming the port and what holds it.
ln_wait_ports() {
  local dir=$1 i=$2 proc=$3 port deadline=$((SECONDS + 20))
  for port in $(ln_ports_of "$dir" "$i" "$proc"); do
    while ln_port_busy "$port"; do
      if ((SECONDS >= deadline)); then
        sb_log "node$i $proc: port $port is in use: $(ss -Htanp "sport = :$port" | head -n 2 | tr -s ' ' | tr '\n' ';')"
        sb_log "choose another SB_LOCALNET_PORT_BASE (below 32768 avoids the kernel's ephemeral ports)"
        return 1
      fi
      sleep 0.5
    done
  done
}

# ln_start DIR NODE PROC: start one process in the background (appending to its log), record
# its pid and wait until it serves (Kubo API, ABCI port, CometBFT RPC). Refuses if running.
ln_start() {
  local dir=$1 i=$2 proc=$3 nd=$1/node$2 old pid
  old=$(ln_pid_of "$dir" "$i" "$proc")
  if [ -n "$old" ] && sb_alive "$old" "$(ln_comm_of "$proc")"; then
    sb_log "node$i $proc already running (pid $old in $dir/pids)"
    return 0
  fi
  ln_wait_ports "$dir" "$i" "$proc" || return 1
  case $proc in
    kubo)
      IPFS_PATH=$nd/ipfs IPFS_TELEMETRY=off ipfs daemon >>"$nd/kubo.log" 2>&1 &
      pid=$! ;;
    app)
      "$SBD" start --home "$nd/sleetbubbled" >>"$nd/app.log" 2>&1 &
      pid=$! ;;
    cometbft)
      "${SB_COMETBFT:-cometbft}" start --home "$nd/cometbft" >>"$nd/cometbft.log" 2>&1 &
      pid=$! ;;
    curator-*) # the curator's schedule loop, against node i's RPC and Kubo (protocol.md §15)
      "$SLEETBUBBLE_ROOT/scripts/lib/sb-curator-loop" "$SBCLI" "$dir/cli" "$proc" \
        "$(ln_rpc_url "$dir" "$i")" "$(ln_api_url "$dir" "$i")" "$dir/library/$proc" \
        "$LN_SCHEDULE_INTERVAL" "$LN_SCHEDULE_SLOTS" "$LN_SCHEDULE_NOREPEAT" >>"$dir/$proc.log" 2>&1 &
      pid=$!
      ln_pid_set "$dir" "$i" "$proc" "$pid"
      sb_log "$proc schedule loop started (pid $pid, node$i, every ${LN_SCHEDULE_INTERVAL}s, log $dir/$proc.log)"
      return 0 ;;
    *) sb_die "unknown process $proc (kubo, app or cometbft)" ;;
  esac
  ln_pid_set "$dir" "$i" "$proc" "$pid"
  sb_log "node$i $proc started (pid $pid, log $nd/$proc.log)"
}

# ln_curators DIR start|stop: the curators' schedule loops (station networks only; each runs
# against the node named in network.json .curators[].node).
ln_curators() {
  local dir=$1 what=$2 k name node
  [ "$(ln_net "$dir" '.station // false')" = true ] || return 0
  for ((k = 0; k < ${#LN_CURATORS[@]}; k++)); do
    name=$(ln_net "$dir" ".curators[$k].name") node=$(ln_net "$dir" ".curators[$k].node")
    if [ "$what" = start ]; then ln_start "$dir" "$node" "$name"; else ln_stop "$dir" "$node" "$name"; fi
  done
}

# ln_agent DIR NODE on|off: set NODE's [vote] enabled and restart its sleetbubbled and CometBFT
# (CometBFT stops with its app) if they run, so the agent starts or stops (protocol.md §15).
ln_agent() {
  local dir=$1 i=$2 on=$3 val running=0 p
  case $on in on) val=true ;; off) val=false ;; *) sb_die "agent NODE on|off, not '$on'" ;; esac
  grep -q '^\[vote\]' "$dir/node$i/sleetbubbled/config/sleetbubble.toml" ||
    sb_die "node$i has no [vote] section (a --manual network): nothing to switch"
  for p in app cometbft; do
    sb_alive "$(ln_pid_of "$dir" "$i" $p)" "$(ln_comm_of $p)" && running=1
  done
  [ $running = 0 ] || ln_stop_node "$dir" "$i" cometbft app
  sb_toml_set "$dir/node$i/sleetbubbled/config/sleetbubble.toml" vote enabled "$val"
  sb_log "node$i: [vote] enabled = $val"
  [ $running = 0 ] || ln_start_node "$dir" "$i" app cometbft
}

ln_ready() { # ln_ready DIR NODE PROC: one readiness probe
  local dir=$1 i=$2 proc=$3
  case $proc in
    curator-*) return 0 ;;
    kubo) curl -fsS --max-time 5 -X POST "$(ln_api_url "$dir" "$i")/api/v0/id" >/dev/null ;;
    app) ss -Hltn "sport = :$(ln_nodeq "$dir" "$i" .abci)" | grep -q . ;;
    cometbft) curl -fsS --max-time 5 "$(ln_rpc_url "$dir" "$i")/status" >/dev/null ;;
  esac
}

# ln_wait_ready DIR NODE PROC TIMEOUT_S: poll until ready; fail naming the log if the process
# died or the time ran out.
ln_wait_ready() {
  local dir=$1 i=$2 proc=$3 timeout=${4:-60} pid deadline=$((SECONDS + ${4:-60}))
  pid=$(ln_pid_of "$dir" "$i" "$proc")
  until ln_ready "$dir" "$i" "$proc" 2>/dev/null; do
    sb_alive "$pid" "$(ln_comm_of "$proc")" ||
      { sb_log "node$i $proc (pid $pid) exited; see $dir/node$i/$proc.log"; tail -n 5 "$dir/node$i/$proc.log" >&2; return 1; }
    ((SECONDS < deadline)) ||
      { sb_log "node$i $proc not ready after ${timeout}s; see $dir/node$i/$proc.log"; return 1; }
    sleep 0.25
  done
}

# ln_stop DIR NODE PROC [SIGNAL]: stop one recorded process by pid (TERM by default, KILL for
# crash tests) and drop it from the pids file.
ln_stop() {
  local dir=$1 i=$2 proc=$3 sig=${4:-TERM} pid
  pid=$(ln_pid_of "$dir" "$i" "$proc")
  [ -n "$pid" ] || return 0
  ln_kill "$pid" "$(ln_comm_of "$proc")" "$sig"
  ln_pid_set "$dir" "$i" "$proc" ""
}

# ln_start_node DIR NODE [PROC…]: start a node's processes in dependency order (Kubo, app,
# CometBFT), each waited for.
ln_start_node() {
  local dir=$1 i=$2 p; shift 2
  local procs=("$@")
  ((${#procs[@]})) || procs=("${LN_PROCS[@]}")
  for p in kubo app cometbft; do
    [[ " ${procs[*]} " == *" $p "* ]] || continue
    ln_start "$dir" "$i" "$p" || return 1
    ln_wait_ready "$dir" "$i" "$p" 90 || return 1
  done
}

# ln_stop_node DIR NODE [PROC…]: stop in reverse order (CometBFT first, then the app, Kubo).
ln_stop_node() {
  local dir=$1 i=$2 p; shift 2
  local procs=("$@")
  ((${#procs[@]})) || procs=("${LN_PROCS[@]}")
  for p in cometbft app kubo; do
    [[ " ${procs[*]} " == *" $p "* ]] && ln_stop "$dir" "$i" "$p"
  done
  return 0
}

# ln_up DIR: init (first time) and start the 4 nodes; refuses when something already runs.
ln_up() {
  local dir=$1 i running base=${SB_LOCALNET_PORT_BASE:-28000}
  running=$(ln_running "$dir")
  if [ -n "$running" ]; then
    sb_die "the localnet in $dir is already up: $(wc -l <<<"$running") live processes recorded in $dir/pids (stop them with: scripts/localnet down --home $dir)"
  fi
  rm -f "$dir/pids"
  ln_find_bins
  local lo hi
  read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768 hi=60999
  if ((base + 308 >= lo && base <= hi)); then
    sb_log "warning: ports $base..$((base + 308)) overlap the kernel's ephemeral range $lo-$hi: a restarted node may find its port taken by an outgoing connection"
  fi
  if [ -f "$dir/network.json" ]; then
    [ "$(ln_net "$dir" .mode)" = localnet ] || sb_die "$dir holds a $(ln_net "$dir" .mode) network, not a localnet"
    local was; was=$(ln_net "$dir" .port_base)
    [ "$was" = "$base" ] || [ -z "${SB_LOCALNET_PORT_BASE:-}" ] ||
      sb_die "$dir was created with SB_LOCALNET_PORT_BASE=$was (now $base): unset it, or remove $dir first (scripts/localnet clean)"
    base=$was
    ln_check_ports "$base"
    sb_log "restarting the existing network in $dir (chain $(ln_net "$dir" .chain_id))"
  else
    ln_check_ports "$base"
    sb_log "creating a 4-validator network in $dir (port base $base)"
    ln_init "$dir" localnet
  fi
  jq --arg sbd "$SBD" --arg cli "$SBCLI" '.sleetbubbled = $sbd | .sleetbubble = $cli' \
    "$dir/network.json" >"$dir/network.json.tmp" && mv "$dir/network.json.tmp" "$dir/network.json"
  # Kubo first (all 4 in parallel), then the apps, then CometBFT (needs > 2/3 power online).
  for p in kubo app cometbft; do
    for ((i = 0; i < LN_N; i++)); do
      ln_start "$dir" $i $p || { ln_down "$dir"; sb_die "node$i $p did not start"; }
    done
    for ((i = 0; i < LN_N; i++)); do
      ln_wait_ready "$dir" $i $p 90 || { ln_down "$dir"; sb_die "node$i $p did not start"; }
    done
  done
  sb_wait_height "$(ln_rpc_url "$dir" 0)" 2 90 ||
    { ln_down "$dir"; sb_die "the network made no blocks (see $dir/node*/cometbft.log)"; }
  ln_curators "$dir" start || { ln_down "$dir"; sb_die "the curator loops did not start"; }
  sb_log "up: 4 validators making blocks; RPC on $(for ((i = 0; i < LN_N; i++)); do printf '%s ' "$(ln_rpc_url "$dir" $i)"; done)"
}

# ln_down DIR: stop every recorded process by pid (CometBFT, then apps, then Kubo).
ln_down() {
  local dir=$1 i p
  [ -f "$dir/pids" ] || { sb_log "nothing recorded in $dir/pids: already down"; return 0; }
  # Curator loops first (their pid lines carry the node they use; any left over are stopped too).
  local pid proc
  while read -r pid i proc; do
    [[ $proc == curator-* ]] && ln_stop "$dir" "$i" "$proc"
  done < <(cat "$dir/pids")
  for p in onair liquidsoap icecast cometbft app kubo; do
    for ((i = 0; i < LN_N; i++)); do ln_stop "$dir" $i $p; done
  done
  rm -f "$dir/pids"
  sb_log "down: every process in $dir stopped"
}

qval() { # qval RPC_URL PATH -> "CODE JSON"
  local r
  r=$(curl -fsS --max-time 5 "$1/abci_query?path=%22$2%22") || return 1
  printf '%s ' "$(jq -r .result.response.code <<<"$r")"
  jq -r '.result.response.value // ""' <<<"$r" | base64 -d
  echo
}

# ln_recent_slots DIR RPC_URL N: the last N finalized slots as RPC_URL's node sees them, from
# /slot/current and /slot/<n> (protocol.md §8): outcome, power, winner and, per proposal, its
# curator, size and which validators voted for it (node names from network.json).
ln_recent_slots() {
  local dir=$1 url=$2 n=$3 cur last s v names
  cur=$(qval "$url" /slot/current | cut -d' ' -f2-) || return 0
  last=$(($(jq -r '.next_to_finalize // 0' <<<"$cur") - 1))
  ((last >= 0)) || { echo "recent slots: none finalized yet"; return 0; }
  names=$(jq -c '([.nodes[] | {key: .validator_pubkey, value: .name}] +
                  [.curators[] | {key: .pubkey, value: .name}]) | from_entries' "$dir/network.json")
  printf 'recent slots (as %s sees them; validators node0..3 have power 40/30/20/10):\n' "$url"
  for ((s = last - n + 1; s <= last; s++)); do
    ((s >= 0)) || continue
    v=$(qval "$url" "/slot/$s") || continue
    [ "${v%% *}" = 0 ] || continue
    jq -r --argjson nm "$names" '
      def nm($k): $nm[$k] // ($k[0:8] + "…");
      .result as $r |
      "  slot \(.slot)  \($r.outcome // "not finalized")  \($r.power_for // "-")/\($r.total_power // "-")" +
        (if ($r.winner // null) != null then "  winner \($r.winner[0:12])" else "" end) +
        (if (.proposals | length) == 0 then "  (no proposals)" else "" end),
      (.proposals[] |
        "      \(if .id == ($r.winner // "") then "*" else " " end) \(.id[0:12]) \(nm(.curator))" +
        "  \(.tracks) tracks \(.duration_ms | tonumber / 1000 | floor) s  power \(.power_for)  votes: " +
        (if (.voters | length) == 0 then "none" else ([.voters[] | nm(.)] | join(" ")) end))
    ' <<<"${v#* }"
  done
}

# ln_station_status DIR: the curator loops (with their last summary line) and the recent slots
# with who voted for what; nothing for a --manual network.
ln_station_status() {
  local dir=$1 k name node pid st last i url=""
  [ "$(ln_net "$dir" '.station // false')" = true ] || return 0
  for ((k = 0; k < ${#LN_CURATORS[@]}; k++)); do
    name=$(ln_net "$dir" ".curators[$k].name") node=$(ln_net "$dir" ".curators[$k].node")
    pid=$(ln_pid_of "$dir" "$node" "$name")
    if sb_alive "$pid" sb-curator-loop; then st="running:$pid"; else st=down; fi
    # the log's tail only: it grows by a line per run, status must not read all of it
    last=$(tail -n 40 "$dir/$name.log" 2>/dev/null | grep 'summary:' | tail -n 1 | cut -d' ' -f3- || true)
    printf '%s schedule (node%s) %s  last run: %s\n' "$name" "$node" "$st" "${last:-none yet}"
  done
  for ((i = 0; i < LN_N; i++)); do
    curl -fsS --max-time 3 "$(ln_rpc_url "$dir" $i)/health" >/dev/null 2>&1 && { url=$(ln_rpc_url "$dir" $i); break; }
  done
  [ -n "$url" ] && ln_recent_slots "$dir" "$url" "${SB_LOCALNET_STATUS_SLOTS:-5}"
  return 0
}

# ln_status DIR: per node the processes, height, app hash, last finalized slot and its pins.
ln_status() {
  local dir=$1 i p pid st
  [ -f "$dir/network.json" ] || sb_die "no network in $dir (run: scripts/localnet up --home $dir)"
  printf 'chain %s in %s\n' "$(ln_net "$dir" .chain_id)" "$dir"
  for ((i = 0; i < LN_N; i++)); do
    local pl="" rpc info h hash cur last pins
    for p in "${LN_PROCS[@]}"; do
      pid=$(ln_pid_of "$dir" $i "$p")
      if sb_alive "$pid" "$(ln_comm_of "$p")"; then st="$p:$pid"; else st="$p:down"; fi
      pl+="$st "
    done
    for p in icecast liquidsoap onair; do # on air (`scripts/localnet onair`): when recorded
      pid=$(ln_pid_of "$dir" $i "$p")
      [ -n "$pid" ] || continue
      if sb_alive "$pid" "$(ln_comm_of "$p")"; then pl+="$p:$pid "; else pl+="$p:down "; fi
    done
    rpc=$(ln_rpc_url "$dir" $i)
    printf 'node%d power %-2s  %s\n' $i "$(ln_nodeq "$dir" $i .power)" "$pl"
    if info=$(curl -fsS --max-time 5 "$rpc/abci_info" 2>/dev/null); then
      h=$(jq -r .result.response.last_block_height <<<"$info")
      hash=$(jq -r '.result.response.last_block_app_hash // ""' <<<"$info" | hex_of_b64 | tr a-f A-F)
      cur=$(qval "$rpc" /slot/current | cut -d' ' -f2-)
      last=$(($(jq -r '.next_to_finalize // 0' <<<"$cur") - 1))
      if ((last >= 0)); then
        local w; w=$(qval "$rpc" "/winner/$last" | cut -d' ' -f2-)
        pins=$(qval "$rpc" "/pins/$last")
        if [ "${pins%% *}" = 0 ]; then
          pins=$(jq -r '"\([.cids[] | select(.state == "pinned")] | length)/\(.cids | length) pinned, all_pinned=\(.all_pinned)"' <<<"${pins#* }")
        else
          pins="nothing to pin"
        fi
        printf '      height %s  app_hash %s  slot %s %s  pins: %s\n' "$h" "$hash" "$last" \
          "$(jq -r .outcome <<<"$w")" "$pins"
      else
        printf '      height %s  app_hash %s  no slot finalized yet\n' "$h" "$hash"
      fi
    else
      printf '      RPC %s not answering\n' "$rpc"
    fi
  done
  ln_station_status "$dir"
  # Agreement at one height: the lowest latest height among the nodes that answer; the header
  # of that block carries the app hash after the block before it, the same on every node.
  local hs=() low hh n=0 distinct
  for ((i = 0; i < LN_N; i++)); do
    if h=$(sb_height "$(ln_rpc_url "$dir" $i)" 2>/dev/null); then hs+=("$h"); fi
  done
  ((${#hs[@]})) || return 0
  low=$(printf '%s\n' "${hs[@]}" | sort -n | head -n1)
  distinct=$(for ((i = 0; i < LN_N; i++)); do
    hh=$(curl -fsS --max-time 5 "$(ln_rpc_url "$dir" $i)/block?height=$low" 2>/dev/null | jq -r .result.block.header.app_hash) &&
      echo "$hh"
  done | sort | uniq -c || true)
  n=$(wc -l <<<"$distinct")
  if ((n == 1)); then
    printf 'agreement: the %s answering nodes have the same app hash in header %s\n' "$(awk '{print $1}' <<<"$distinct")" "$low"
  else
    printf 'agreement: DIFFERENT app hashes in header %s:\n%s\n' "$low" "$distinct"
  fi
}

# ---- on air (protocol.md §14) -------------------------------------------------------------
# `scripts/localnet onair`: every node on air, each with its own Icecast (port base + 100*NODE
# + 8), its own Liquidsoap (scripts/onair/sleetbubble.liq) and its own `sleetbubble onair`
# following that node's CometBFT RPC and Kubo gateway. Icecast and Liquidsoap refuse to run as
# root: as root they run as `nobody`, with their files in a directory nobody can reach
# ($TMPDIR/sleetbubble-localnet-onair.<uid>-<hash of DIR>/nodeN, named in DIR/onair_dir);
# otherwise as the current user under DIR/nodeN/onair.
LN_ONAIR_PASSWORD=localnet-source

ln_onair_dir() { # ln_onair_dir DIR NODE -> the node's on-air directory (created)
  local dir=$1 i=$2 d
  if [ "$(id -u)" = 0 ]; then
    if [ -f "$dir/onair_dir" ]; then
      d=$(cat "$dir/onair_dir")
    else
      d=${TMPDIR:-/tmp}/sleetbubble-localnet-onair.$(id -u)-$(printf '%s' "$dir" | sha256sum | cut -c1-12)
      echo "$d" >"$dir/onair_dir"
    fi
    mkdir -p "$d/node$i"
    chmod 0755 "$d"
    chown nobody:nogroup "$d/node$i"
    echo "$d/node$i"
  else
    mkdir -p "$dir/node$i/onair"
    echo "$dir/node$i/onair"
  fi
}

ln_onair_port() { echo $(($(ln_net "$1" .port_base) + 100 * $2 + 8)); } # DIR NODE (+7 is the web page)

# ln_onair_start DIR NODE PROC: start icecast, liquidsoap or onair for NODE (pid recorded).
ln_onair_start() {
  local dir=$1 i=$2 proc=$3 nd=$1/node$2 od port old pid
  local as=()
  [ "$(id -u)" != 0 ] || as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  old=$(ln_pid_of "$dir" "$i" "$proc")
  if [ -n "$old" ] && sb_alive "$old" "$(ln_comm_of "$proc")"; then
    sb_log "node$i $proc already running (pid $old in $dir/pids)"
    return 0
  fi
  od=$(ln_onair_dir "$dir" "$i")
  port=$(ln_onair_port "$dir" "$i")
  case $proc in
    icecast)
      sb_port_free "$port" "SB_LOCALNET_PORT_BASE (node$i Icecast = base + $((100 * i + 8)))"
      "$SLEETBUBBLE_ROOT/scripts/onair/render-icecast" --port "$port" \
        --source-password "$LN_ONAIR_PASSWORD" --admin-password "localnet-admin-$i" \
        --logdir "$od" --station "Sleetbubble localnet node$i" >"$od/icecast.xml"
      chmod 0644 "$od/icecast.xml"
      "${as[@]}" icecast2 -c "$od/icecast.xml" >>"$nd/icecast.log" 2>&1 &
      pid=$! ;;
    liquidsoap)
      cp "$SLEETBUBBLE_ROOT/scripts/onair/sleetbubble.liq" "$od/sleetbubble.liq"
      chmod 0644 "$od/sleetbubble.liq"
      SB_ONAIR_SOCKET=$od/onair.sock SB_ICECAST_PORT=$port SB_ICECAST_PASSWORD=$LN_ONAIR_PASSWORD \
        SB_STATION_NAME="Sleetbubble localnet node$i" \
        "${as[@]}" liquidsoap "$od/sleetbubble.liq" >>"$nd/liquidsoap.log" 2>&1 &
      pid=$! ;;
    onair)
      "$SBCLI" --node "$(ln_rpc_url "$dir" "$i")" \
        --gateway "http://127.0.0.1:$(ln_nodeq "$dir" "$i" .gateway)" \
        onair --socket "$od/onair.sock" >>"$nd/onair.log" 2>&1 &
      pid=$! ;;
    *) sb_die "unknown process $proc (icecast, liquidsoap or onair)" ;;
  esac
  ln_pid_set "$dir" "$i" "$proc" "$pid"
  sb_log "node$i $proc started (pid $pid, log $nd/$proc.log)"
}

# ln_onair_mounts_up URL: Icecast at URL serves both mounts.
ln_onair_mounts_up() {
  curl -fsS --max-time 5 "$1/status-json.xsl" 2>/dev/null |
    jq -e '[.icestats.source] | flatten | map(.listenurl | split("/") | last) | (index("sleetbubble.ogg") != null and index("sleetbubble.mp3") != null)' >/dev/null
}

# ln_onair DIR [NODE…]: put every node (or the NODEs) on air (the network must be up); prints
# the stream and page URLs.
ln_onair() {
  local dir=$1 i t nodes
  shift
  nodes=("$@")
  ((${#nodes[@]})) || mapfile -t nodes < <(seq 0 $((LN_N - 1)))
  for t in icecast2 liquidsoap; do
    command -v $t >/dev/null || sb_die "$t not found: install the Debian package (apt-get install liquidsoap icecast2)"
  done
  [ -n "$(ln_running "$dir")" ] || sb_die "the localnet in $dir is not up: scripts/localnet up --home $dir"
  for i in "${nodes[@]}"; do ln_onair_start "$dir" "$i" icecast; done
  for i in "${nodes[@]}"; do
    sb_wait_for "node$i Icecast" 30 curl -fsS "http://127.0.0.1:$(ln_onair_port "$dir" "$i")/status-json.xsl" ||
      sb_die "node$i Icecast did not start (see $dir/node$i/icecast.log)"
    ln_onair_start "$dir" "$i" liquidsoap
  done
  for i in "${nodes[@]}"; do
    sb_wait_for "node$i mounts" 120 ln_onair_mounts_up "http://127.0.0.1:$(ln_onair_port "$dir" "$i")" ||
      sb_die "node$i Liquidsoap did not bring up its mounts (see $dir/node$i/liquidsoap.log)"
    ln_onair_start "$dir" "$i" onair
  done
  for i in "${nodes[@]}"; do
    local port; port=$(ln_onair_port "$dir" "$i")
    sb_log "node$i on air: http://127.0.0.1:$port/sleetbubble.ogg  http://127.0.0.1:$port/sleetbubble.mp3  page http://127.0.0.1:$((port - 1))/"
  done
}

# ln_onair_down DIR [NODE…]: stop the on-air processes (driver, Liquidsoap, Icecast) of every
# node (or the NODEs).
ln_onair_down() {
  local dir=$1 i p nodes
  shift
  nodes=("$@")
  ((${#nodes[@]})) || mapfile -t nodes < <(seq 0 $((LN_N - 1)))
  for p in onair liquidsoap icecast; do
    for i in "${nodes[@]}"; do ln_stop "$dir" "$i" $p; done
  done
}
