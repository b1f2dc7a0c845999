#!/usr/bin/env bash
# Builds skiff, starts a cluster in the background from ./.skiff, applies examples/hello.yaml
# with the real kubectl and shows what the cluster holds. Stop it with: bin/skiff down --data-dir .skiff
set -euo pipefail
cd "$(dirname "$0")"
go build -o bin/ ./cmd/...
mkdir -p .skiff
bin/skiff down --data-dir .skiff 2>/dev/null || true
nohup bin/skiff up --data-dir .skiff --port "${PORT:-6443}" > .skiff/up.log 2>&1 &
export KUBECONFIG=$PWD/.skiff/kubeconfig
for _ in $(seq 1 300); do
  grep -q "skiff is up" .skiff/up.log 2>/dev/null && break
  if ! kill -0 $! 2>/dev/null; then cat .skiff/up.log; exit 1; fi
  sleep 0.2
done
grep "skiff is up" .skiff/up.log
set -x
kubectl version
kubectl apply -f examples/hello.yaml
kubectl get deployments,services,pods -o wide
kubectl get namespaces
