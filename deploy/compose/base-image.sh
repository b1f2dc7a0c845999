#!/bin/sh
# base-image.sh [IMAGE]: builds the node image's base (default skiff.local/node-base:bookworm)
# with no registry: debootstrap installs Debian bookworm (minbase) with the packages a node
# needs from Debian's mirror — the one this machine's apt uses — into a directory, and
# `docker import` turns the directory into an image. The root filesystem's tarball is kept
# in $SKIFF_CACHE (default /var/cache/skiff) for the next build, keyed by the package list.
set -eu
IMAGE=${1:-skiff.local/node-base:bookworm}
PACKAGES=containerd,runc,containernetworking-plugins,iptables,nftables,conntrack,iproute2,ca-certificates,procps,kmod
CACHE=${SKIFF_CACHE:-/var/cache/skiff}
KEY=$(printf '%s' "bookworm $PACKAGES" | sha256sum | cut -c1-12)
TARBALL=$CACHE/node-base-$KEY.tar

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
	echo "$IMAGE is there"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "base-image.sh: debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
if [ ! -s "$TARBALL" ]; then
	# The mirror apt is set up with (deb822 or one-line sources), else Debian's own.
	MIRROR=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
	[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
	ROOT=$(mktemp -d /var/tmp/skiff-node-base.XXXXXX)
	trap 'rm -rf "$ROOT"' EXIT
	echo "debootstrap bookworm from $MIRROR into $ROOT (packages: $PACKAGES)"
	debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || {
		tail -20 "$ROOT.log" >&2; rm -f "$ROOT.log"; exit 1; }
	rm -f "$ROOT.log"
	# Smaller image: no package lists, caches or docs.
	rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/*
	mkdir -p "$CACHE"
	tar -C "$ROOT" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
fi
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	--change 'CMD ["/bin/bash"]' "$TARBALL" "$IMAGE" >/dev/null
echo "built $IMAGE from $TARBALL"
