# shellcheck shell=bash
# TAP-style assertions shared by the integration and e2e tests: `ok N - …` per check,
# `not ok - …` and exit 1 on the first failure; scripts end with "$PASSED passed, 0 failed".
PASSED=0
ok() { PASSED=$((PASSED + 1)); printf 'ok %d - %s\n' "$PASSED" "$*"; }
fail() { printf 'not ok - %s\n' "$*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
# skip_or_fail REASON: a test that cannot run (a tool or service is missing) FAILS, unless
# SB_ALLOW_SKIP=1 (never set in CI) allows it: then it says SKIPPED loudly and exits 0.
# No test skips silently.
skip_or_fail() {
  if [ "${SB_ALLOW_SKIP:-0}" = 1 ]; then
    printf '# SKIPPED (SB_ALLOW_SKIP=1): %s\n' "$*" >&2
    printf '# SKIPPED (SB_ALLOW_SKIP=1): %s\n' "$*"
    exit 0
  fi
  fail "cannot run: $* (set SB_ALLOW_SKIP=1 to skip instead of failing)"
}
