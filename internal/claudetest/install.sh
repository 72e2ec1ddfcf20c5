#!/usr/bin/env bash
# Installs the pinned Claude Code (npm @anthropic-ai/claude-code) into the cache directory unless
# it is there already, and prints the path of its native binary. claudetest.Binary does the same
# from Go; .ci/run calls this before the tests.
#   cache: $TMUX_ORC_CLAUDE_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/tmux-orc/claude-code/VERSION
set -euo pipefail
version=2.1.328
dir="${TMUX_ORC_CLAUDE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tmux-orc/claude-code/$version}"

find_bin() {
  local b
  for b in "$1"/node_modules/@anthropic-ai/claude-code-*/claude; do
    if [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}

if bin=$(find_bin "$dir") && "$bin" --version 2>/dev/null | grep -q "^$version "; then
  echo "$bin"; exit 0
fi
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$(dirname "$dir")/.install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
npm install --no-audit --no-fund --no-save --loglevel=error --prefix "$tmp" "@anthropic-ai/claude-code@$version" >&2
bin=$(find_bin "$tmp") || { echo "install.sh: no native claude binary for this platform in $tmp" >&2; exit 1; }
"$bin" --version | grep -q "^$version " || { echo "install.sh: $bin is not version $version" >&2; exit 1; }
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
find_bin "$dir"
