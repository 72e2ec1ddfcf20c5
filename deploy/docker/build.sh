#!/usr/bin/env bash
# Build the tmux-orc container image (docker-compose.yml uses it): compile the static binary
# here and copy it into an image FROM scratch. No base image is pulled.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: deploy/docker/build.sh [IMAGE]

Builds IMAGE (default $TMUX_ORC_IMAGE, else tmux-orc:local) from deploy/docker/Dockerfile.
Environment:
  TMUX_ORC_BIN  a statically linked tmux-orc binary to use instead of compiling one
                (CGO_ENABLED=0 go build ./cmd/tmux-orc)
USAGE
}
case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
esac
if [[ $# -gt 1 ]]; then
	usage >&2
	exit 2
fi

repo=$(cd "$(dirname "$0")/../.." && pwd)
image=${1:-${TMUX_ORC_IMAGE:-tmux-orc:local}}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

if [[ -n ${TMUX_ORC_BIN:-} ]]; then
	cp "$TMUX_ORC_BIN" "$ctx/tmux-orc"
else
	echo "build: compiling tmux-orc (CGO_ENABLED=0)"
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -o "$ctx/tmux-orc" ./cmd/tmux-orc)
fi
# A scratch image has no dynamic loader: refuse a binary that needs one.
if command -v file >/dev/null 2>&1 && file "$ctx/tmux-orc" | grep -q 'dynamically linked'; then
	echo "build: $ctx/tmux-orc is dynamically linked; build it with CGO_ENABLED=0" >&2
	exit 1
fi
mkdir -p "$ctx/rootfs/data" "$ctx/rootfs/pki" "$ctx/rootfs/ca" "$ctx/rootfs/tmp"
chmod 0700 "$ctx/rootfs/data" "$ctx/rootfs/pki" "$ctx/rootfs/ca"
chmod 1777 "$ctx/rootfs/tmp"
cp "$repo/deploy/docker/Dockerfile" "$ctx/Dockerfile"
# The classic builder: it needs no buildx plugin and pulls nothing for FROM scratch.
DOCKER_BUILDKIT=0 docker build --quiet -t "$image" "$ctx" >/dev/null
echo "build: built $image"
