#!/usr/bin/env bash
# Builds the images the tutorials use and loads them into every node of the cluster in
# DATA-DIR (default ~/.skiff), with no registry: busybox from Debian's busybox-static (tagged
# :1 and :2, so a rollout has a new version to go to) and the guestbook's two programs,
# compiled here as static binaries.
#
#   examples/tutorials/images.sh [DATA-DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-$HOME/.skiff}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/build-image" ./test/images/build
"$out/build-image" -busybox -name skiff.local/busybox:1 -o "$out/busybox-1.tar"
"$out/build-image" -busybox -name skiff.local/busybox:2 -o "$out/busybox-2.tar"
for p in frontend store; do
  CGO_ENABLED=0 go build -o "$out/$p" ./examples/guestbook/$p
  "$out/build-image" -binary "$out/$p" -name skiff.local/guestbook-$p:1 -o "$out/guestbook-$p.tar"
done
skiff image import --data-dir "$dir" "$out"/*.tar
