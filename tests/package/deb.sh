#!/usr/bin/env bash
# The Debian package (issue "installable"): built with cpack from the release build, installed
# with apt-get into a clean container of the project's own debootstrap base image
# (scripts/compose-image --base-only; no registry), where `sleetbubbled version`,
# `sleetbubble --help` and `systemd-analyze verify` of the units must succeed. On the host,
# the release sleetbubbled must say READY=1 to systemd's notify socket only once its ABCI
# address accepts (Type=notify).
#   deb.sh RELEASE_BUILD_DIR
# Needs Docker; without it the test fails unless SB_ALLOW_SKIP=1 (never set in CI).
set -euo pipefail
bd=$(cd "${1:?usage: deb.sh RELEASE_BUILD_DIR}" && pwd)
SB_PROG=package
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"

sbd=$bd/src/node/sleetbubbled cli=$bd/src/cli/sleetbubble
if [ ! -x "$sbd" ] || [ ! -x "$cli" ]; then fail "no sleetbubbled/sleetbubble in $bd (build it first)"; fi
ver=$("$sbd" version)
case $ver in
  *fault*) fail "$bd is a test build ($ver): packages come from the build without fault hooks" ;;
esac
ok "release build: $ver"

# --- Type=notify: READY=1 only when the ABCI address accepts --------------------------------
command -v socat >/dev/null || fail "socat missing (scripts/bootstrap installs it)"
port=$((20000 + RANDOM % 20000))
"$sbd" init --home "$T/h" >/dev/null
sb_toml_set "$T/h/config/sleetbubble.toml" abci laddr "\"tcp://127.0.0.1:$port\""
sb_toml_set "$T/h/config/sleetbubble.toml" pin enabled false
sb_toml_set "$T/h/config/sleetbubble.toml" metrics laddr '""'
socat -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.out,creat,append" &
sb_track $!
sb_wait_for "notify socket" 10 test -S "$T/notify"
NOTIFY_SOCKET=$T/notify "$sbd" start --home "$T/h" >"$T/sbd.log" 2>&1 &
sbd_pid=$!
sb_track $sbd_pid
sb_wait_for "READY=1 on the notify socket" 30 grep -q 'READY=1' "$T/notify.out" ||
  fail "sleetbubbled never sent READY=1 (log: $(tail -n 3 "$T/sbd.log"))"
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
  fail "READY=1 was sent but 127.0.0.1:$port does not accept"
grep -q "^STATUS=serving ABCI on tcp://127.0.0.1:$port" "$T/notify.out" ||
  fail "no STATUS line naming the ABCI address: $(tr '\n' ' ' <"$T/notify.out")"
ok "READY=1 after the ABCI address accepts ($(tr '\n' ' ' <"$T/notify.out"))"
kill -TERM "$sbd_pid"
sb_wait_for "STOPPING=1" 30 grep -q 'STOPPING=1' "$T/notify.out" || fail "no STOPPING=1 on SIGTERM"
wait "$sbd_pid" || fail "sleetbubbled exited non-zero after SIGTERM"
ok "STOPPING=1 on SIGTERM, clean exit"

# --- the package -------------------------------------------------------------------------
rm -f "$bd"/sleetbubble_*.deb
(cd "$bd" && cpack -G DEB >"$T/cpack.log" 2>&1) || fail "cpack -G DEB failed: $(tail -n 5 "$T/cpack.log")"
deb=$(ls "$bd"/sleetbubble_*_amd64.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libcurl4 libevent-core-2.1-7 libinih1 libjansson4 libprotobuf-c1 libsndfile1 \
           libsqlite3-0 libssl3 libsystemd0; do
  grep -q "\\b$lib\\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
expect_eq "$(dpkg-deb -f "$deb" Recommends)" "liquidsoap, icecast2" "Recommends"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/sleetbubbled ./usr/bin/sleetbubble ./usr/lib/systemd/system/sleetbubbled.service \
         ./usr/share/doc/sleetbubble/examples/cometbft.service \
         ./usr/share/doc/sleetbubble/examples/ipfs.service \
         ./usr/share/sleetbubble/cometbft-config/single.toml \
         ./usr/share/sleetbubble/onair/sleetbubble.liq \
         ./usr/share/sleetbubble/onair/icecast.xml.in \
         ./usr/share/sleetbubble/onair/render-icecast \
         ./usr/share/doc/sleetbubble/examples/onair/sleetbubble-icecast.service \
         ./usr/share/doc/sleetbubble/examples/onair/sleetbubble-liquidsoap.service \
         ./usr/share/doc/sleetbubble/examples/onair/sleetbubble-onair.service \
         ./usr/share/doc/sleetbubble/examples/onair/onair.env.example; do
  grep -qx "$f" <<<"$files" || fail "$deb lacks $f"
done
dpkg-deb -c "$deb" | awk '$6 == "./usr/share/sleetbubble/onair/render-icecast" { print $1 }' | grep -q '^-rwxr-xr-x$' ||
  fail "render-icecast is not installed executable: $(dpkg-deb -c "$deb" | grep render-icecast)"
ok "$(basename "$deb"): Depends from shlibdeps, Recommends liquidsoap/icecast2, units and templates, on-air files"

if ! docker info >/dev/null 2>&1; then
  [ "${SB_ALLOW_SKIP:-0}" = 1 ] || fail "Docker is not reachable (docker info failed): the install test needs it (SB_ALLOW_SKIP=1 to skip)"
  echo "# SKIP install into a container: Docker not reachable and SB_ALLOW_SKIP=1"
  echo "$PASSED passed, 0 failed (container part skipped)"
  exit 0
fi
bash "$root/scripts/compose-image" --base-only
base=sleetbubble-base:bookworm
mkdir -p "$T/pkg" "$T/tools"
cp "$deb" "$T/pkg/"
cp "$(command -v cometbft)" "$(command -v ipfs)" "$T/tools/"
docker run --rm -v "$T/pkg:/pkg:ro" -v "$T/tools:/tools:ro" "$base" bash -euo pipefail -c '
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    /pkg/sleetbubble_*.deb systemd >/tmp/apt.log 2>&1 || { tail -n 20 /tmp/apt.log; exit 1; }
  echo "version: $(sleetbubbled version)"
  sleetbubble --help | head -n 1
  cp /tools/cometbft /tools/ipfs /usr/local/bin/
  systemd-analyze verify /usr/lib/systemd/system/sleetbubbled.service \
    /usr/share/doc/sleetbubble/examples/cometbft.service \
    /usr/share/doc/sleetbubble/examples/ipfs.service
  echo "verify: ok"
' >"$T/container.log" 2>&1 || fail "install in $base failed: $(tail -n 20 "$T/container.log")"
grep -qx "version: $ver" "$T/container.log" || fail "installed sleetbubbled version: $(cat "$T/container.log")"
grep -q '^usage: sleetbubble' "$T/container.log" || fail "installed sleetbubble --help: $(cat "$T/container.log")"
grep -qx 'verify: ok' "$T/container.log" || fail "systemd-analyze verify: $(cat "$T/container.log")"
ok "apt-get install of the .deb in a clean $base: version, --help, systemd-analyze verify"
echo "$PASSED passed, 0 failed"
