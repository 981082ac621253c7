# Sourced by scripts: pinned versions and PATH to the versioned tools dir.
# shellcheck shell=bash
_sb_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/versions.env
. "$_sb_scripts/versions.env"
SLEETBUBBLE_ROOT=$(cd "$_sb_scripts/.." && pwd)
SLEETBUBBLE_TOOLS=${SLEETBUBBLE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/sleetbubble/tools}
PATH="$SLEETBUBBLE_TOOLS/cometbft-$COMETBFT_VERSION/bin:$SLEETBUBBLE_TOOLS/kubo-$KUBO_VERSION/bin:$PATH"
COMETBFT_V1=$SLEETBUBBLE_TOOLS/cometbft-$COMETBFT_V1_VERSION/bin/cometbft
COMETBFT_V040=$SLEETBUBBLE_TOOLS/cometbft-$COMETBFT_V040_VERSION/bin/cometbft
export SLEETBUBBLE_ROOT SLEETBUBBLE_TOOLS COMETBFT_VERSION COMETBFT_V1_VERSION COMETBFT_V1 \
  COMETBFT_V040_VERSION COMETBFT_V040 KUBO_VERSION PATH
