#!/usr/bin/env bash
# Soak of the 4-validator localnet (protocol.md §13): run it for --minutes (default 60) with
# 20 s slots while a perturbation drawn at random (seeded) hits one node every --interval
# seconds (default 30), and check continuously that nothing breaks. Not in ctest's default
# suite: run by hand or by a nightly job. See tests/soak/README.md.
#
#   tests/soak/soak.sh [--minutes N] [--seed S] [--interval S] [--rss-warmup M] [--keep]
#
# Perturbations (each one restores the node afterwards):
#   kill9-app       kill -9 of sleetbubbled (its CometBFT exits too), then both restart
#   kill9-cometbft  kill -9 of CometBFT, then it restarts (sleetbubbled keeps running)
#   node-restart    the whole node (CometBFT, sleetbubbled, Kubo) stopped 5 s, then restarted
#   kubo-down       Kubo stopped for 60 s, then restarted
#   pause-cometbft  CometBFT paused 10 s with SIGSTOP, then SIGCONT
# Checks: app-hash agreement at every height (block headers and abci_info of every node);
# /winner/<n> identical on every node and every slot finalized on every node (abci_query);
# every winner's CIDs (manifest and tracks) pinned in every node's Kubo once it recovers,
# and never unpinned; each sleetbubbled's RSS within ±10 % of its level after the warm-up
# (default 10 minutes, /proc/PID/status VmRSS); no process exits on its own; the chain never
# goes 180 s without a block. Prints a summary and exits 1 on any violation.
# Proposals and votes: the `sleetbubble` CLI (propose, vote), one target slot every 20 s.
# Binaries: $SLEETBUBBLED and $SLEETBUBBLE, else build/ or build-e2e/ (see scripts/localnet);
# --build DIR takes them from DIR. Ports: SB_SOAK_PORT_BASE (default 27000) + 100*node + 0..6.
set -euo pipefail
soak_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SB_PROG=soak
# shellcheck source=scripts/env.sh
. "$soak_dir/../../scripts/env.sh"
# shellcheck source=scripts/lib/common.sh
. "$soak_dir/../../scripts/lib/common.sh"
# shellcheck source=scripts/lib/localnet.sh
. "$soak_dir/../../scripts/lib/localnet.sh"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

MINUTES=60 SEED="" INTERVAL=30 RSS_WARMUP="" KEEP=0
while (($#)); do
  case $1 in
    --minutes) MINUTES=${2:-}; shift 2 || usage ;;
    --seed) SEED=${2:-}; shift 2 || usage ;;
    --interval) INTERVAL=${2:-}; shift 2 || usage ;;
    --rss-warmup) RSS_WARMUP=${2:-}; shift 2 || usage ;;
    --build) export SLEETBUBBLED=$2/src/node/sleetbubbled SLEETBUBBLE=$2/src/cli/sleetbubble; shift 2 || usage ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage 0 ;;
    *) sb_log "unknown argument '$1'"; usage ;;
  esac
done
if ! [[ $MINUTES =~ ^[0-9]+$ ]] || ((MINUTES < 1)); then sb_die "--minutes: expected a whole number >= 1, not '$MINUTES'"; fi
if ! [[ $INTERVAL =~ ^[0-9]+$ ]] || ((INTERVAL < 5)); then sb_die "--interval: expected seconds >= 5, not '$INTERVAL'"; fi
if [ -z "$SEED" ]; then SEED=$(($(od -An -N4 -tu4 /dev/urandom) % 2147483648)); fi
[[ $SEED =~ ^[0-9]+$ ]] || sb_die "--seed: expected a whole number, not '$SEED'"
SEED=$((SEED % 2147483648))
# The RSS warm-up: 10 minutes (start-up caches settle first); a run under 20 minutes uses half of it.
if [ -z "$RSS_WARMUP" ]; then
  if ((MINUTES >= 20)); then RSS_WARMUP=10; else RSS_WARMUP=$(((MINUTES + 1) / 2)); fi
fi
if ! [[ $RSS_WARMUP =~ ^[0-9]+$ ]] || ((RSS_WARMUP >= MINUTES)); then
  sb_die "--rss-warmup: expected minutes below --minutes ($MINUTES), not '$RSS_WARMUP'"
fi

KINDS=(kill9-app kill9-cometbft node-restart kubo-down pause-cometbft)
KUBO_DOWN_S=60 PAUSE_S=10 NODE_DOWN_S=5
STALL_S=180        # no new block anywhere for this long: a violation
PIN_GRACE_S=180    # a winner not pinned on an up node this long after it could be: logged
SETTLE_S=300       # at the end: time for catch-up, finalization and pins to converge
RSS_MIN_AGE_S=60   # RSS samples of a process younger than this are not judged
RSS_BAND=10        # percent

export SB_LOCALNET_PORT_BASE=${SB_SOAK_PORT_BASE:-27000}
export SB_LOCALNET_STATION=0 # the soak sends its own proposals and votes: no agents, no curator loops
T=$(mktemp -d "${TMPDIR:-/tmp}/sb-soak.XXXXXX")
NET=$T/net
mkdir -p "$T/winners" "$T/tracks"
: >"$T/violations.log"
: >"$T/perturb.log"
: >"$T/driver.log"
: >"$T/rss.log"
: >"$T/winner_cids"
: >"$T/late.log"
BG_PIDS=()

now() { printf '%(%s)T' -1; }
T0=$(now)
stamp() { local e=$(($(now) - T0)); printf '+%02d:%02d' $((e / 60)) $((e % 60)); }
exec 3>&1 # the console, for events from background jobs too
ev() {
  local line; line=$(printf '[%s] %s' "$(stamp)" "$*")
  echo "$line" >>"$T/events.log"; echo "$line" >&3
}
violation() { # violation KIND TEXT
  printf '%s %s %s\n' "$(stamp)" "$1" "$2" >>"$T/violations.log"
  ev "VIOLATION $1: $2"
}

# ---- cleanup --------------------------------------------------------------------------------
soak_cleanup() {
  local rc=$? pid i
  trap - EXIT
  touch "$T/stop"
  for pid in "${BG_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$NET/pids" ]; then
    # A paused CometBFT ignores SIGTERM until it runs again.
    for i in 0 1 2 3; do
      pid=$(ln_pid_of "$NET" $i cometbft)
      [ -z "$pid" ] || kill -CONT "$pid" 2>/dev/null || true
    done
    ln_down "$NET" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] || [ "$KEEP" = 1 ]; then
    sb_log "logs kept in $T (events.log, violations.log, perturb.log, driver.log, rss.log, net/node*/*.log)"
  else
    rm -rf "$T"
  fi
  exit "$rc"
}
trap soak_cleanup EXIT
trap 'exit 130' INT TERM

# ---- seeded draw ----------------------------------------------------------------------------
# A 31-bit LCG (no overflow in bash arithmetic): the same seed gives the same sequence of
# (kind, node) draws in any bash. Only the scheduler draws from it.
RNG=$SEED
rnd() { # rnd N -> 0..N-1 in RND
  RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
  RND=$(((RNG >> 16) % $1))
}

# ---- network access -------------------------------------------------------------------------
RPC=() API=()
net_urls() {
  local i
  for i in 0 1 2 3; do RPC[i]=$(ln_rpc_url "$NET" $i) API[i]=$(ln_api_url "$NET" $i); done
}
# q NODE PATH: sets QC (code) and QV (decoded value); fails when the RPC does not answer.
q() {
  local r
  r=$(curl -fsS --max-time 3 "${RPC[$1]}/abci_query?path=%22$2%22" 2>/dev/null) || return 1
  r=$(jq -r '.result.response | "\(.code) \(.value // "")"' <<<"$r" 2>/dev/null) || return 1
  QC=${r%% *}
  QV=$(printf '%s' "${r#* }" | base64 -d 2>/dev/null) || QV=""
}
height_of() { curl -fsS --max-time 3 "${RPC[$1]}/status" 2>/dev/null | jq -r .result.sync_info.latest_block_height 2>/dev/null; }
b64hex() { base64 -d | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }
# kubo_pins NODE: CIDs pinned recursively or directly in NODE's Kubo, one per line.
kubo_pins() {
  curl -fsS --max-time 10 -X POST "${API[$1]}/api/v0/pin/ls?type=all" 2>/dev/null |
    jq -r '.Keys | to_entries[] | select(.value.Type != "indirect") | .key'
}
# missing_pins NODE: "SLOT CID" of every winner CID (lines of $T/winner_cids) not pinned in
# NODE's Kubo; fails when that Kubo does not answer.
missing_pins() {
  local set
  set=$(kubo_pins "$1") || return 1
  [ -n "$set" ] || return 1
  awk 'NR == FNR { pin[$1] = 1; next } NF == 2 && !($2 in pin)' <(printf '%s\n' "$set") "$T/winner_cids"
}
count_kind() { awk -v k="$1" '$2 == k' "$T/violations.log" | wc -l; }

# ---- process control (the pids file is shared: edits under a lock) ----------------------------
# locked CMD…: run CMD holding $T/pids.lk. A directory, not flock(1): a daemon started under
# flock would inherit the locked descriptor and hold the lock for its whole life.
locked() {
  local rc=0
  until mkdir "$T/pids.lk" 2>/dev/null; do sleep 0.1; done
  "$@" || rc=$?
  rmdir "$T/pids.lk"
  return $rc
}
proc_pid() { ln_pid_of "$NET" "$1" "$2"; }
proc_alive() { sb_alive "$(proc_pid "$1" "$2")" "$(ln_comm_of "$2")"; }
# stop NODE PROC SIGNAL: signal and wait (TERM: up to 20 s, then KILL), drop from pids.
stop() {
  local pid; pid=$(proc_pid "$1" "$2")
  [ -n "$pid" ] || return 0
  ln_kill "$pid" "$(ln_comm_of "$2")" "$3"
  locked ln_pid_set "$NET" "$1" "$2" ""
}
# ports_free NODE PROC: wait up to 90 s for PROC's ports. After a kill -9 of Kubo, the
# server ends of sleetbubbled's idle keep-alive connections sit in FIN-WAIT-2 until the pin
# worker next uses them or the kernel's tcp_fin_timeout (60 s) ends them, longer than the
# 20 s scripts/lib/localnet.sh waits.
ports_free() {
  local port d=$(($(now) + 90))
  for port in $(ln_ports_of "$NET" "$1" "$2"); do
    while ln_port_busy "$port" && (($(now) < d)); do sleep 1; done
  done
}
# start NODE PROC…: start each (order given), wait until it serves; one retry after 5 s.
# A process that did not come back is marked $T/down.NODE.PROC (the checker retries it).
start() {
  local n=$1 p try; shift
  for p in "$@"; do
    for try in 1 2; do
      ports_free "$n" "$p"
      if locked ln_start "$NET" "$n" "$p" && ln_wait_ready "$NET" "$n" "$p" 90; then
        rm -f "$T/down.$n.$p"
        break
      fi
      if ((try == 2)); then
        [ -f "$T/down.$n.$p" ] || violation restore "node$n $p did not come back (see $NET/node$n/$p.log)"
        touch "$T/down.$n.$p"
        return 1
      fi
      stop "$n" "$p" KILL
      sleep 5
    done
  done
}
# wait_dead NODE PROC SECONDS
wait_dead() {
  local i
  for ((i = 0; i < $3 * 4; i++)); do proc_alive "$1" "$2" || return 0; sleep 0.25; done
  return 1
}
# Per-node exclusive lock (a directory): held by a perturbation or by the checker's
# process check, so the two never act on one node at once.
lock_node() { mkdir "$T/busy.$1" 2>/dev/null && echo "$2" >"$T/busy.$1/owner"; }
unlock_node() { rm -rf "$T/busy.$1"; }

# ---- perturbations --------------------------------------------------------------------------
perturb() { # perturb KIND NODE (background job; holds the node's lock)
  set +e
  local kind=$1 n=$2 t1 pid ok=1
  t1=$(now)
  echo "$(stamp) START $kind node$n" >>"$T/perturb.log"
  ev "perturbation: $kind on node$n"
  case $kind in
    kill9-app)
      stop "$n" app KILL
      # CometBFT loses its ABCI connections and exits; stop it if it has not within 30 s.
      if ! wait_dead "$n" cometbft 30; then
        ev "node$n: CometBFT still running 30 s after its app was killed; stopping it"
        stop "$n" cometbft TERM
      fi
      locked ln_pid_set "$NET" "$n" cometbft ""
      start "$n" app cometbft || ok=0 ;;
    kill9-cometbft)
      stop "$n" cometbft KILL
      start "$n" cometbft || ok=0 ;;
    node-restart)
      stop "$n" cometbft TERM; stop "$n" app TERM; stop "$n" kubo TERM
      sleep "$NODE_DOWN_S"
      start "$n" kubo app cometbft || ok=0 ;;
    kubo-down)
      stop "$n" kubo TERM
      sleep "$KUBO_DOWN_S"
      start "$n" kubo || ok=0 ;;
    pause-cometbft)
      pid=$(proc_pid "$n" cometbft)
      kill -STOP "$pid"
      sleep "$PAUSE_S"
      kill -CONT "$pid" || ok=0 ;;
  esac
  now >"$T/restored.$n"
  echo "$(stamp) DONE $kind node$n $([ $ok = 1 ] && echo restored || echo FAILED) $(($(now) - t1))s" >>"$T/perturb.log"
  ev "perturbation: $kind on node$n $([ $ok = 1 ] && echo restored || echo 'NOT restored') after $(($(now) - t1)) s"
  unlock_node "$n"
}

# ---- slot driver ----------------------------------------------------------------------------
# One target slot per slot period: the slot after the open one (20-40 s of voting left).
# Pattern by target (k = 0, 1, …): 0 one proposal + votes of node0+node1 (70/100,
# SUPERMAJORITY); 1 two proposals, votes 40+20 vs 30 (FALLBACK); 2 one proposal, all four vote;
# 3 two proposals, no votes (FALLBACK by tie-break); 4 no proposal (REPEAT). Tracks are random
# bytes added (not pinned) to one node's Kubo; the others fetch them over bitswap. Every call
# goes to a node chosen in turn and moves on to the next one when it fails.
driver() {
  set +e
  local k=0 last=-1 st open target i
  while [ ! -f "$T/stop" ] && [ ! -f "$T/driver.stop" ]; do
    st=""
    for i in 0 1 2 3; do
      st=$("$SBCLI" --node "${RPC[(k + i) % 4]}" --timeout 3 --output json status 2>/dev/null) && break
      st=""
    done
    open=$(jq -r '.open_slot // empty' <<<"$st" 2>/dev/null)
    if [ -z "$open" ] || ((open + 1 <= last)); then sleep 2; continue; fi
    target=$((open + 1)) last=$((open + 1))
    drive_slot "$target" $((k % 5)) "$k"
    k=$((k + 1))
  done
}
dlog() { echo "$(stamp) $*" >>"$T/driver.log"; }
# new_track START -> CID of random bytes added to the first Kubo that takes it (from START)
new_track() {
  local f=$T/tracks/$RANDOM$RANDOM i n cid
  head -c $((4096 + RANDOM % 60000)) /dev/urandom >"$f"
  for i in 0 1 2 3; do
    n=$((($1 + i) % 4))
    cid=$(curl -fsS --max-time 10 -X POST -F "file=@$f" \
      "${API[n]}/api/v0/add?cid-version=1&pin=false&quiet=true" 2>/dev/null | jq -r .Hash 2>/dev/null)
    if [ -n "$cid" ] && [ "$cid" != null ]; then rm -f "$f"; echo "$cid"; return 0; fi
  done
  rm -f "$f"
  return 1
}
# propose SLOT CURATOR NOTE START -> proposal id
propose() {
  local slot=$1 key=$2 note=$3 start=$4 tr pl=$T/tracks/pl.json i n out rc id
  tr=$(new_track "$start") || { dlog "propose $note: no Kubo took the track"; return 1; }
  jq -n --arg c "$tr" --arg t "$note" '{tracks: [{cid: $c, duration_ms: 5000, title: $t, artist: "soak"}]}' >"$pl"
  for i in 0 1 2 3; do
    n=$(((start + i) % 4))
    out=$("$SBCLI" --node "${RPC[n]}" --home "$NET/cli" --timeout 5 propose --slot "$slot" \
      --playlist "$pl" --key "$key" --note "$note" 2>"$T/tracks/err")
    rc=$?
    if ((rc == 0)); then dlog "PROPOSE ok slot $slot $note via node$n id $out"; echo "$out"; return 0; fi
    if ((rc == 1)) && grep -q DUPLICATE "$T/tracks/err"; then
      # An earlier attempt reached a mempool: the curator's proposal, once committed.
      sleep 3
      q "$n" "/slot/$slot" && id=$(jq -r --arg c "$(jq -r .pubkey "$NET/cli/keys/$key.json")" '.proposals[]? | select(.curator == $c) | .id' <<<"$QV" 2>/dev/null)
      if [ -n "${id:-}" ]; then dlog "PROPOSE ok slot $slot $note via node$n (duplicate) id $id"; echo "$id"; return 0; fi
    fi
    if ((rc == 1)); then dlog "PROPOSE rejected slot $slot $note via node$n: $(tr '\n' ' ' <"$T/tracks/err")"; return 1; fi
  done
  dlog "PROPOSE failed slot $slot $note: no node took it ($(tr '\n' ' ' <"$T/tracks/err"))"
  return 1
}
# vote SLOT PROPOSAL VALIDATOR START: through node START's RPC and Kubo (the CLI checks the
# tracks with that Kubo), else the next node's.
vote() {
  local i n rc
  for i in 0 1 2 3; do
    n=$((($4 + i) % 4))
    "$SBCLI" --node "${RPC[n]}" --ipfs "${API[n]}" --timeout 5 vote --slot "$1" \
      --proposal "$2" --validator-key "$NET/node$3/cometbft/config/priv_validator_key.json" \
      >/dev/null 2>"$T/tracks/err"
    rc=$?
    if ((rc == 0)); then dlog "VOTE ok slot $1 node$3 via node$n"; return 0; fi
    if ((rc == 1)) && ! grep -q UNKNOWN_PROPOSAL "$T/tracks/err"; then
      dlog "VOTE rejected slot $1 node$3 via node$n: $(tr '\n' ' ' <"$T/tracks/err")"; return 1
    fi
  done
  dlog "VOTE failed slot $1 node$3: $(tr '\n' ' ' <"$T/tracks/err")"
  return 1
}
committed() { # committed ID TIMEOUT_S: the proposal is in a block on some answering node
  local d=$(($(now) + $2)) i
  while (($(now) < d)); do
    for i in 0 1 2 3; do q "$i" "/proposal/$1" && [ "$QC" = 0 ] && return 0; done
    sleep 1
  done
  return 1
}
drive_slot() { # drive_slot SLOT PATTERN K
  local s=$1 p=$2 k=$3 a="" b=""
  case $p in
    0|2) a=$(propose "$s" curator-a "soak $s a" "$k") ;;
    1|3) a=$(propose "$s" curator-a "soak $s a" "$k"); b=$(propose "$s" curator-b "soak $s b" $((k + 1))) ;;
    4) dlog "slot $s: no proposal (REPEAT expected)"; return 0 ;;
  esac
  [ -n "$a" ] || return 0
  committed "$a" 20 || { dlog "slot $s: proposal $a not committed in 20 s"; return 0; }
  case $p in
    0) vote "$s" "$a" 0 "$k"; vote "$s" "$a" 1 $((k + 1)) ;;
    1) vote "$s" "$a" 0 "$k"; vote "$s" "$a" 2 $((k + 1))
       [ -n "$b" ] && committed "$b" 10 && vote "$s" "$b" 1 $((k + 2)) ;;
    2) vote "$s" "$a" 0 "$k"; vote "$s" "$a" 1 $((k + 1)); vote "$s" "$a" 2 $((k + 2)); vote "$s" "$a" 3 $((k + 3)) ;;
  esac
  return 0
}

# ---- continuous checker ---------------------------------------------------------------------
# Every round (about 5 s): app hashes (headers via /blockchain and abci_info) compared per
# height; new finalized slots' /winner compared across nodes; processes of unlocked nodes
# alive (else a violation, then restarted); sleetbubbled RSS sampled; chain progress; every
# third round, each up Kubo's pins against the winners.
checker() {
  set +e
  local -A ref fin_at pinned late miss_slot
  local -a seen=(0 0 0 0) nf=(0 0 0 0)
  local claims=0 mism=0 wmism=0 round=0 top_h=0 top_t stalled=0 next_min=60
  local i r h x lo hi top n p dead pid age rss missing t now_s tick
  top_t=$(now)
  read -r tick < <(getconf CLK_TCK)
  claim() { # claim HEIGHT HASH NODE SOURCE
    [ -n "$2" ] || return 0
    claims=$((claims + 1))
    if [ -z "${ref[$1]:-}" ]; then ref[$1]=$2
    elif [ "${ref[$1]}" != "$2" ]; then
      mism=$((mism + 1))
      violation apphash "height $1: node$3 ($4) has $2, first seen ${ref[$1]}"
    fi
  }
  while [ ! -f "$T/checker.stop" ]; do
    round=$((round + 1))
    now_s=$(now)
    for i in 0 1 2 3; do
      # (a) app hashes
      if r=$(curl -fsS --max-time 3 "${RPC[i]}/abci_info" 2>/dev/null); then
        h=$(jq -r '.result.response.last_block_height // 0' <<<"$r")
        x=$(jq -r '.result.response.last_block_app_hash // ""' <<<"$r" | b64hex)
        ((h > 0)) && claim "$h" "$x" $i app
      fi
      top=$(height_of $i)
      [[ $top =~ ^[0-9]+$ ]] || top=0
      if ((top > top_h)); then top_h=$top top_t=$now_s stalled=0; fi
      while ((seen[i] < top)); do
        lo=$((seen[i] + 1)) hi=$((seen[i] + 20))
        ((hi > top)) && hi=$top
        r=$(curl -fsS --max-time 5 "${RPC[i]}/blockchain?minHeight=$lo&maxHeight=$hi" 2>/dev/null) || break
        while read -r h x; do
          ((h > 1)) && claim $((h - 1)) "$x" $i header
        done < <(jq -r '.result.block_metas[] | "\(.header.height) \(.header.app_hash)"' <<<"$r")
        seen[i]=$hi
      done
      # (b) finalized slots: the same /winner on every node
      if q $i /slot/current && [ "$QC" = 0 ]; then
        n=$(jq -r .next_to_finalize <<<"$QV")
        while [[ $n =~ ^[0-9]+$ ]] && ((nf[i] < n)); do
          q $i "/winner/${nf[i]}" || break
          if [ "$QC" != 0 ]; then
            violation finalize "node$i: /slot/current says slot $((n - 1)) is finalized but /winner/${nf[i]} answers code $QC"
          elif [ ! -f "$T/winners/${nf[i]}.json" ]; then
            printf '%s\n' "$QV" >"$T/winners/${nf[i]}.json"
            jq -r --arg s "${nf[i]}" 'select(.outcome != "NONE") | .manifest_cid, .tracks[].cid | "\($s) \(.)"' \
              <<<"$QV" >>"$T/winner_cids"
            fin_at[${nf[i]}]=$now_s
          elif [ "$(cat "$T/winners/${nf[i]}.json")" != "$QV" ]; then
            wmism=$((wmism + 1))
            violation winner "slot ${nf[i]}: node$i's /winner differs: $QV vs $(cat "$T/winners/${nf[i]}.json")"
          fi
          [ -n "${fin_at[${nf[i]}]:-}" ] || fin_at[${nf[i]}]=$now_s
          nf[i]=$((nf[i] + 1))
        done
      fi
      # (c) processes of a node nobody perturbs right now
      if lock_node $i checker; then
        dead=()
        for p in kubo app cometbft; do proc_alive $i $p || [ -f "$T/down.$i.$p" ] || dead+=("$p"); done
        for p in kubo app cometbft; do  # restores that failed before: try again
          [ -f "$T/down.$i.$p" ] && ! proc_alive $i $p && start $i $p && ev "node$i $p back after a failed restore"
        done
        if ((${#dead[@]})); then
          violation exit "node$i: ${dead[*]} exited on its own (last lines of $NET/node$i/${dead[0]}.log: $(tail -n 3 "$NET/node$i/${dead[0]}.log" | tr '\n' ' ' | cut -c1-400))"
          cp "$NET/node$i/${dead[0]}.log" "$T/exit-node$i-${dead[0]}-$round.log" 2>/dev/null
          # restore: an app without CometBFT is fine, a CometBFT without its app is not
          [[ " ${dead[*]} " == *" app "* ]] && stop $i cometbft TERM
          for p in kubo app cometbft; do proc_alive $i $p || start $i $p; done
          now >"$T/restored.$i"
        fi
        unlock_node $i
      fi
      # (d) RSS of sleetbubbled: "T NODE PID AGE_S RSS_KB"
      pid=$(proc_pid $i app)
      if sb_alive "$pid" sleetbubbled; then
        rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        age=$(awk -v tick="$tick" -v up="$(cut -d' ' -f1 /proc/uptime)" '{ sub(/^.*\) /, ""); print int(up - $20 / tick) }' "/proc/$pid/stat" 2>/dev/null)
        [ -n "$rss" ] && [ -n "$age" ] && echo "$((now_s - T0)) $i $pid $age $rss" >>"$T/rss.log"
      fi
    done
    # (e) chain progress
    if ((now_s - top_t > STALL_S && !stalled)); then
      stalled=1
      violation stall "no new block on any node for $STALL_S s (height $top_h)"
    fi
    # (f) pins: a winner's CIDs in each up Kubo; once pinned, never gone
    if ((round % 3 == 0)); then
      for i in 0 1 2 3; do
        missing=$(missing_pins $i) || continue
        t=$(cat "$T/restored.$i" 2>/dev/null || echo "$T0")
        miss_slot=()
        while read -r n x; do [ -n "$n" ] && miss_slot[$n]+="$x "; done <<<"$missing"
        for n in "${!fin_at[@]}"; do
          if [ -z "${miss_slot[$n]:-}" ]; then
            pinned[$n:$i]=1
          elif [ -n "${pinned[$n:$i]:-}" ]; then
            violation pin-dropped "slot $n on node$i: ${miss_slot[$n]}was pinned, is not any more"
            unset "pinned[$n:$i]"
          elif [ -z "${late[$n:$i]:-}" ] && [ ! -d "$T/busy.$i" ] &&
               ((now_s - fin_at[$n] > PIN_GRACE_S && now_s - t > PIN_GRACE_S)); then
            late[$n:$i]=1
            echo "$(stamp) LATE slot $n node$i ${miss_slot[$n]}" >>"$T/late.log"
            ev "note: slot $n not yet pinned on node$i ${PIN_GRACE_S} s after it could be: ${miss_slot[$n]}"
          fi
        done
      done
    fi
    echo "claims=$claims hashmism=$mism heights=${#ref[@]} winmism=$wmism top=$top_h" >"$T/checker.state.tmp"
    mv "$T/checker.state.tmp" "$T/checker.state"
    if ((now_s - T0 >= next_min)); then
      next_min=$((next_min + 60))
      ev "status: height $top_h, slots finalized ${nf[0]}/${nf[1]}/${nf[2]}/${nf[3]}, perturbations $(grep -c ' START ' "$T/perturb.log"), violations $(wc -l <"$T/violations.log"), RSS $(rss_now)"
    fi
    sleep 5
  done
}
checker_field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$T/checker.state" 2>/dev/null || echo 0; }
rss_now() { # latest RSS sample per node, MiB
  local i
  for i in 0 1 2 3; do
    awk -v n=$i '$2 == n { r = $5 } END { printf "%s%.1f", (n ? "/" : ""), r / 1024 }' "$T/rss.log"
  done
}

# rss_report: per node, the median RSS of qualifying samples (run time >= warm-up, process age
# >= RSS_MIN_AGE_S) per minute; the first such minute is the baseline, every later minute must
# stay within ±RSS_BAND %. Prints "node start_kb end_kb min_kb max_kb restarts bad_minutes".
rss_report() {
  sort -k2,2n -k1,1n "$T/rss.log" | awk -v w=$((RSS_WARMUP * 60)) -v age=$RSS_MIN_AGE_S -v band=$RSS_BAND '
    function median(arr, k,   i, j, t, m) {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t }
      m = int((k + 1) / 2); return arr[m]
    }
    function flush(   m, v) {
      if (cnt == 0) return
      v = median(buf, cnt)
      if (base == "") base = v
      else if (v > base * (1 + band / 100) || v < base * (1 - band / 100)) bad = bad " " minute "m:" v
      end = v; cnt = 0
    }
    function node_done() {
      flush()
      if (node != "none") printf "%s %s %s %s %s %d %s\n", node, (base == "" ? "-" : base), (end == "" ? "-" : end), mn, mx, pids - 1, (bad == "" ? "-" : substr(bad, 2))
    }
    BEGIN { node = "none" }
    $2 "" != node { node_done(); node = $2 ""; base = ""; end = ""; bad = ""; mn = ""; mx = ""; pids = 0; delete seenpid; minute = -1; cnt = 0 }
    {
      if (!($3 in seenpid)) { seenpid[$3] = 1; pids++ }
      if (mn == "" || $5 < mn) mn = $5
      if (mx == "" || $5 > mx) mx = $5
      if ($1 < w || $4 < age) next
      m = int($1 / 60)
      if (m != minute) { flush(); minute = m }
      buf[++cnt] = $5
    }
    END { node_done() }'
}

# ==== run ====================================================================================
ln_find_bins
ev "soak: seed $SEED, $MINUTES min, a perturbation every $INTERVAL s, RSS warm-up $RSS_WARMUP min"
ev "replay: tests/soak/soak.sh --minutes $MINUTES --seed $SEED --interval $INTERVAL"
ev "state in $T; sleetbubbled $SBD"
# In a subshell: the daemons are not this shell's jobs (no "Killed" notices on the console).
(ln_up "$NET") 2>"$T/up.log" || { cat "$T/up.log" >&2; sb_die "localnet did not start"; }
net_urls
for i in 0 1 2 3; do sb_wait_height "${RPC[i]}" 2 90 || sb_die "node$i makes no blocks"; done
T0=$(now)
ev "localnet up: 4 validators (40/30/20/10), ports from $SB_LOCALNET_PORT_BASE"

checker >"$T/checker.log" 2>&1 &
BG_PIDS+=($!)
driver >"$T/driver.err" 2>&1 &
BG_PIDS+=($!)

# ---- scheduler ------------------------------------------------------------------------------
end_t=$((T0 + MINUTES * 60))
k=1
JOBS=()
while :; do
  at=$((T0 + k * INTERVAL))
  ((at < end_t)) || break
  while (($(now) < at)); do sleep 1; done
  rnd ${#KINDS[@]}; kind=${KINDS[RND]}
  rnd 4; drawn=$RND
  node=""
  for j in 0 1 2 3; do
    n=$(((drawn + j) % 4))
    # the checker holds a node's lock for a moment: wait for it, not for a perturbation
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      [ "$(cat "$T/busy.$n/owner" 2>/dev/null)" = checker ] || break
      sleep 0.5
    done
    if lock_node $n "$kind"; then node=$n; break; fi
  done
  if [ -z "$node" ]; then
    echo "$(stamp) SKIP $kind node$drawn (every node busy)" >>"$T/perturb.log"
    ev "perturbation #$k: $kind skipped, every node busy"
  else
    [ "$node" = "$drawn" ] || echo "$(stamp) MOVED $kind node$drawn -> node$node (busy)" >>"$T/perturb.log"
    perturb "$kind" "$node" >>"$T/perturb-jobs.log" 2>&1 &
    JOBS+=($!)
    BG_PIDS+=($!)
  fi
  k=$((k + 1))
done
while (($(now) < end_t)); do sleep 1; done
ev "soak time over: waiting for running perturbations to restore their nodes"
# A perturbation restores its node within about 2 minutes; one still running after 5 is stuck.
for pid in "${JOBS[@]}"; do
  for ((w = 0; w < 300; w++)); do sb_alive "$pid" || break; sleep 1; done
  if sb_alive "$pid"; then
    violation restore "perturbation job $pid still running 300 s after the soak time (see $T/perturb.log)"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
done
touch "$T/driver.stop"

# ---- settle and final checks ----------------------------------------------------------------
ev "settling: every node caught up, every slot finalized everywhere, every winner pinned (up to $SETTLE_S s)"
settle_end=$(($(now) + SETTLE_S))
target=0
for i in 0 1 2 3; do h=$(height_of $i) && [[ $h =~ ^[0-9]+$ ]] && ((h > target)) && target=$h; done
target=$((target + 2))
for i in 0 1 2 3; do
  left=$((settle_end - $(now))); ((left > 10)) || left=10
  sb_wait_height "${RPC[i]}" "$target" "$left" 2>/dev/null || violation catchup "node$i did not reach height $target"
done
# every slot below the lowest next_to_finalize: the checker's files, then each node's answer
last=-1
for i in 0 1 2 3; do
  if q $i /slot/current && [ "$QC" = 0 ]; then
    n=$(($(jq -r .next_to_finalize <<<"$QV") - 1))
    if ((last < 0 || n < last)); then last=$n; fi
  fi
done
sleep 12 # two checker rounds over the last slots
unfinalized=0
for ((n = 0; n <= last; n++)); do
  for i in 0 1 2 3; do
    if ! q $i "/winner/$n" || [ "$QC" != 0 ]; then
      unfinalized=$((unfinalized + 1)); violation finalize "slot $n not finalized on node$i at the end"
    elif [ ! -f "$T/winners/$n.json" ] || [ "$(cat "$T/winners/$n.json")" != "$QV" ]; then
      violation winner "slot $n: node$i's /winner differs at the end"
    fi
  done
done
# pins: wait for convergence, then what is still missing is lost
declare -A missing_of=()
while :; do
  missing_of=()
  for i in 0 1 2 3; do
    if ! m=$(missing_pins $i); then missing_of[$i]="Kubo-not-answering"; continue; fi
    m=$(awk -v last="$last" 'NF == 2 && $1 + 0 <= last + 0 { printf "slot%s:%s ", $1, $2 }' <<<"$m")
    [ -z "$m" ] || missing_of[$i]=$m
  done
  ((${#missing_of[@]})) || break
  (($(now) < settle_end)) || break
  sleep 10
done
pins_lost=0
for i in "${!missing_of[@]}"; do
  for m in ${missing_of[$i]}; do
    pins_lost=$((pins_lost + 1)); violation pin-lost "node$i: $m not pinned in its Kubo at the end"
  done
done
touch "$T/checker.stop"
sleep 6

# ---- summary --------------------------------------------------------------------------------
declare -A by_outcome=()
winners=0
for ((n = 0; n <= last; n++)); do
  [ -f "$T/winners/$n.json" ] || continue
  o=$(jq -r .outcome "$T/winners/$n.json")
  by_outcome[$o]=$((${by_outcome[$o]:-0} + 1))
  [ "$o" = NONE ] || winners=$((winners + 1))
done
rss=$(rss_report)
while read -r node _ _ _ _ _ bad; do
  [ "$bad" = - ] || violation rss "node$node sleetbubbled RSS outside ±$RSS_BAND % of its level after the warm-up (minute:KiB) $bad"
done <<<"$rss"
count() { grep -c "$1" "$2" || true; }
nviol=$(wc -l <"$T/violations.log")
echo "==== soak summary ===="
echo "seed $SEED; $MINUTES min (+ $(( $(now) - end_t )) s settle); perturbation every $INTERVAL s; replay: tests/soak/soak.sh --minutes $MINUTES --seed $SEED --interval $INTERVAL"
echo "blocks: $(checker_field top)"
echo "slots finalized: $((last + 1)) (0..$last): $(for o in SUPERMAJORITY FALLBACK REPEAT NONE; do printf '%s=%s ' $o "${by_outcome[$o]:-0}"; done)"
echo "driver: proposals $(count 'PROPOSE ok' "$T/driver.log") accepted / $(count 'PROPOSE' "$T/driver.log") tried, votes $(count 'VOTE ok' "$T/driver.log") accepted / $(count 'VOTE' "$T/driver.log") tried"
printf 'perturbations: %s:' "$(count ' START ' "$T/perturb.log")"
for kd in "${KINDS[@]}"; do printf ' %s=%s' "$kd" "$(count " START $kd " "$T/perturb.log")"; done
printf '; moved to a free node %s, skipped %s, not restored %s\n' "$(count ' MOVED ' "$T/perturb.log")" "$(count ' SKIP ' "$T/perturb.log")" "$(count ' FAILED ' "$T/perturb.log")"
echo "app-hash mismatches: $(checker_field hashmism) ($(checker_field claims) claims over $(checker_field heights) heights, 4 nodes)"
echo "winner mismatches: $(count_kind winner); slot-node pairs not finalized at the end: $unfinalized"
echo "pins lost: $pins_lost (CID x node, $winners winners x 4 nodes); dropped during the run: $(count_kind pin-dropped); late (> ${PIN_GRACE_S} s) during the run: $(count LATE "$T/late.log")"
echo "unexpected process exits: $(count_kind exit); restore failures: $(count_kind restore); stalls > ${STALL_S} s: $(count_kind stall); catch-up failures: $(count_kind catchup)"
echo "sleetbubbled RSS (MiB; start = first minute after the ${RSS_WARMUP}-min warm-up, end = last minute; median of samples of processes up >= ${RSS_MIN_AGE_S} s):"
while read -r node base end mn mx restarts bad; do
  mib() { if [ "$1" = - ]; then echo -; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi; }
  printf '  node%s start %s end %s (min %s max %s over the run, %s restarts) %s\n' "$node" "$(mib "$base")" "$(mib "$end")" "$(mib "$mn")" "$(mib "$mx")" "$restarts" \
    "$(if [ "$base" = - ]; then echo "not judged: no sample of a process up >= ${RSS_MIN_AGE_S} s after the warm-up"
       elif [ "$bad" = - ]; then echo "within ±$RSS_BAND %"; else echo "OUT OF BAND: $bad"; fi)"
done <<<"$rss"
echo "violations: $nviol"
if ((nviol)); then
  sed 's/^/  /' "$T/violations.log" | head -n 50
  echo "FAIL"
  exit 1
fi
echo "PASS"
