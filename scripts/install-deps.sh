#!/usr/bin/env bash
# Installs what skiff needs on a Debian machine: the Debian packages below (as root, with
# apt-get, only those missing) and kubectl (built from its Go module when none is on PATH).
# Used by demo.sh, test/run.sh and .ci/run, so the list exists once. Go itself (1.26) is the
# one prerequisite: Debian's golang is older.
#
# Not root: nothing is installed; the missing packages are named, and callers fall back
# (demo.sh to simulated nodes; tests that need a package skip and say why).
set -euo pipefail
cd "$(dirname "$0")/.."

# containerd, runc, containernetworking-plugins: the node agent's real runtime and pod network.
# iptables, nftables, conntrack: the service proxy. iproute2: a network namespace per node.
# busybox-static: test and demo images built locally (no registry). etcd-server: the
# external-etcd tests run real etcd members. chromium: the dashboard's browser test drives it
# headless over the DevTools protocol. docker.io, docker-compose, debootstrap: the
# docker-compose stack (deploy/compose; its e2e test starts dockerd itself, and debootstrap
# builds the node base image from Debian's packages).
pkgs=(containerd runc containernetworking-plugins iptables nftables conntrack iproute2 busybox-static etcd-server chromium
  docker.io docker-compose debootstrap)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-deps: not root, not installing: ${missing[*]}" >&2
  fi
fi

# kubectl: Debian bookworm has no kubectl package (its kubernetes-client is kubectl 1.20,
# too old), so build Kubernetes' own from the Go module proxy (test/tools/kubectl).
if ! command -v kubectl >/dev/null; then
  command -v go >/dev/null || { echo "install-deps: Go 1.26 is required (https://go.dev/dl/)" >&2; exit 1; }
  dest=$PWD/bin
  [ "$(id -u)" = 0 ] && dest=/usr/local/bin
  echo "install-deps: building kubectl into $dest (a few minutes, once)"
  mkdir -p "$dest"
  # Stamped with its release, as Kubernetes' own build does (kubectl version, skew warnings).
  mod=$(awk '$1 == "k8s.io/kubectl" {print $2}' test/tools/kubectl/go.mod) # v0.33.0
  kube=v1.${mod#v0.}                                                       # v1.33.0
  minor=${kube#v1.}
  minor=${minor%%.*}
  ldflags=""
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $pkg.gitVersion=$kube -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  done
  (cd test/tools/kubectl && go build -ldflags "$ldflags" -o "$dest/kubectl" .)
  if ! command -v kubectl >/dev/null; then
    echo "install-deps: kubectl is in $dest; add it to PATH: export PATH=$dest:\$PATH"
  fi
fi
