#!/bin/sh
# prepare.sh: what `docker compose up --build` needs that no registry gives: skiff's static
# binaries in bin/ (built from this repository with the Go toolchain), and the node base
# image (base-image.sh; skipped with SKIFF_NODE_BASE=debian:bookworm-slim, which comes from a
# registry).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
CGO_ENABLED=0 go build -o "$HERE/bin/" ./cmd/skiff ./cmd/skiff-apiserver ./cmd/skiff-controller-manager \
	./cmd/skiff-scheduler ./cmd/skiff-nodeagent ./cmd/skiff-proxy ./cmd/skiff-pause
echo "built the binaries into $HERE/bin"
case "${SKIFF_NODE_BASE:-skiff.local/node-base:bookworm}" in
skiff.local/*) "$HERE/base-image.sh" "${SKIFF_NODE_BASE:-skiff.local/node-base:bookworm}" ;;
*) echo "node base ${SKIFF_NODE_BASE} comes from a registry" ;;
esac
