#!/usr/bin/env bash
# gen-audio.sh — short REAL audio for test networks (protocol.md §15 "Test networks"): each file
# is espeak-ng saying "track one", "track two", … over a quiet sine tone, cut to an exact
# length with sox, as Ogg Vorbis (title and artist tags) or PCM WAV (no tags). Durations are
# then read back by the CLI with libsndfile like any other file; nothing is invented.
#
# usage: gen-audio.sh [--format ogg|wav] [--min S] [--max S] [--artist TEXT] OUTDIR N
#   N files OUTDIR/track01.ogg … with lengths cycling min, min+1, …, max seconds (default 3..8,
#   whole seconds, so a test knows each duration_ms: track i lasts min + (i-1) mod (max-min+1)
#   seconds). Existing files are overwritten. Needs espeak-ng and sox (Debian packages).
set -euo pipefail

format=ogg min=3 max=8 artist="Sleetbubble test signal"
while (($#)); do
  case $1 in
    --format) format=$2; shift 2 ;;
    --min) min=$2; shift 2 ;;
    --max) max=$2; shift 2 ;;
    --artist) artist=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    --*) echo "gen-audio.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if (($# != 2)); then
  echo "usage: gen-audio.sh [--format ogg|wav] [--min S] [--max S] [--artist TEXT] OUTDIR N" >&2
  exit 2
fi
out=$1 n=$2
if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 99)); then
  echo "gen-audio.sh: N must be 1..99" >&2; exit 2
fi
if ! [[ $min =~ ^[0-9]+$ && $max =~ ^[0-9]+$ ]] || ((min < 1 || max < min)); then
  echo "gen-audio.sh: need 1 <= --min <= --max (whole seconds)" >&2; exit 2
fi
case $format in ogg|wav) ;; *) echo "gen-audio.sh: --format ogg or wav" >&2; exit 2 ;; esac
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "gen-audio.sh: $tool not found (apt-get install $tool)" >&2; exit 1; }
done

words=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
  fifteen sixteen seventeen eighteen nineteen twenty)
say() { # a number as words, up to 99
  local i=$1 tens=(zero ten twenty thirty forty fifty sixty seventy eighty ninety)
  if ((i <= 20)); then printf '%s' "${words[$i]}"
  else printf '%s' "${tens[$((i / 10))]}"; ((i % 10)) && printf ' %s' "${words[$((i % 10))]}"; fi
  return 0
}

mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gen-audio.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for ((i = 1; i <= n; i++)); do
  secs=$((min + (i - 1) % (max - min + 1)))
  name=$(printf 'track%02d' "$i")
  title="Track $(say "$i")"
  espeak-ng -w "$tmp/speech.wav" "track $(say "$i")"
  sox -q "$tmp/speech.wav" -r 44100 -c 2 "$tmp/voice.wav" pad 0.3 "$secs"
  sox -q -n -r 44100 -c 2 "$tmp/tone.wav" synth "$secs" sine $((220 + 20 * i)) vol 0.08
  if [ "$format" = ogg ]; then
    sox -q -m "$tmp/voice.wav" "$tmp/tone.wav" -C 3 \
      --comment "TITLE=$title" --add-comment "ARTIST=$artist" "$out/$name.ogg" trim 0 "$secs"
  else
    sox -q -m "$tmp/voice.wav" "$tmp/tone.wav" -b 16 "$out/$name.wav" trim 0 "$secs"
  fi
done
