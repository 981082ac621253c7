# shellcheck shell=bash
# TAP-style assertions shared by the integration and e2e tests: `ok N - …` per check,
# `not ok - …` and exit 1 on the first failure; scripts end with "$PASSED passed, 0 failed".
PASSED=0
ok() { PASSED=$((PASSED + 1)); printf 'ok %d - %s\n' "$PASSED" "$*"; }
fail() { printf 'not ok - %s\n' "$*" >&2; exit 1; }
expect_eq() { [ "$1" == "$2" ] || fail "$3: expected '$2', got '$1'"; }
