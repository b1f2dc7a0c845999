#!/usr/bin/env bash
# Builds skiff, starts a two-node cluster in the background from ./.skiff, loads a locally
# built busybox image into the nodes, runs examples/hello.yaml with the real kubectl, then
# fetches a page from each pod, through the Service's ClusterIP, by DNS name from inside a
# pod (kubectl exec), and shows a pod's log. Stop it with: bin/skiff down --data-dir .skiff
#
# On a fresh Debian machine it first installs what is missing (scripts/install-deps.sh: the
# Debian packages, as root, and kubectl). As root the nodes run real containers (containerd,
# each node in its own network namespace); otherwise the nodes are simulated (--runtime sim)
# and pods run without processes.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
export PATH=$PWD/bin:$PATH # where install-deps.sh puts kubectl when not root
go build -o bin/ ./cmd/...
# A fresh cluster every time: stop the one a previous run left, and start from empty data.
bin/skiff down --data-dir .skiff 2>/dev/null || true
rm -rf .skiff
mkdir -p .skiff
runtime=containerd
if [ "$(id -u)" != 0 ]; then
  runtime=sim
  echo "not root: simulated nodes (--runtime sim); run as root for real containers"
fi
nohup bin/skiff up --data-dir .skiff --port "${PORT:-6443}" --nodes 2 --runtime "$runtime" > .skiff/up.log 2>&1 &
export KUBECONFIG=$PWD/.skiff/kubeconfig
for _ in $(seq 1 900); do
  grep -q "skiff is up" .skiff/up.log 2>/dev/null && break
  if ! kill -0 $! 2>/dev/null; then cat .skiff/up.log; exit 1; fi
  sleep 0.2
done
grep "skiff is up" .skiff/up.log || { cat .skiff/up.log; exit 1; }
if [ "$runtime" = containerd ]; then
  go run ./test/images/build -busybox -name skiff.local/busybox:1 -o .skiff/busybox.tar
  bin/skiff image import --data-dir .skiff .skiff/busybox.tar
fi
set -x
kubectl get nodes -o wide
kubectl apply -f examples/hello.yaml
kubectl rollout status deployment/hello --timeout=120s
kubectl get deployments,services,pods -o wide
if [ "$runtime" = containerd ]; then
  get() { if command -v curl >/dev/null; then curl -s "$1"; else busybox wget -qO- "$1"; fi; }
  for ip in $(kubectl get pods -l app=hello -o jsonpath='{.items[*].status.podIP}'); do
    get "http://$ip:8080/"                                   # each pod, from the host
  done
  get "http://$(kubectl get service hello -o jsonpath='{.spec.clusterIP}')/"   # the Service's ClusterIP
  kubectl exec deploy/hello -- wget -qO- http://hello.default.svc.cluster.local/   # by DNS name, from a pod
  kubectl logs deploy/hello --tail 3
fi
