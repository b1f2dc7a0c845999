//go:build tools

// Package tools pins envtest's kube-apiserver (v1.33, built from the Go module proxy, with
// Kubernetes' staging modules replaced by their published v0.33.13) for the start-time comparison
// in docs/PERFORMANCE.md:
//
//	cd test/tools/envtest && go build -o DIR/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
//
// (etcd is Debian's etcd-server). Nothing in CI builds it.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
