# shellcheck shell=bash
# Helpers of the CLI integration tests (cli_*.sh); sourced after lib.sh.

# cli_make_wav PATH SECONDS: a PCM WAV (mono, 16-bit, 44.1 kHz) of SECONDS of noise; the
# header is written with printf, the samples come from /dev/urandom (so every file differs).
cli_make_wav() {
  local path=$1 secs=$2 rate=44100 data
  data=$((rate * 2 * secs))
  # little-endian bytes of an integer as \xNN escapes for printf %b
  le() { local v=$1 n=$2 out="" i; for ((i = 0; i < n; i++)); do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done; printf '%b' "$out"; }
  le32() { le "$1" 4; }
  le16() { le "$1" 2; }
  {
    printf 'RIFF'; le32 $((36 + data)); printf 'WAVEfmt '; le32 16; le16 1; le16 1
    le32 $rate; le32 $((rate * 2)); le16 2; le16 16; printf 'data'; le32 "$data"
    head -c "$data" /dev/urandom
  } >"$path"
}

# cli_run WANT_RC OUTFILE CMD...: run CMD with stdout to OUTFILE and stderr to OUTFILE.err,
# and fail unless it exits WANT_RC.
cli_run() {
  local want=$1 out=$2 rc=0; shift 2
  "$@" >"$out" 2>"$out.err" || rc=$?
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$out.err")"
}
