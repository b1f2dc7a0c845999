// Command kubectl is Kubernetes' kubectl, built from its Go module (k8s.io/kubectl, the same
// release as the k8s.io modules skiff's tests use), so a machine without a kubectl package
// can get one from the Go module proxy: Debian bookworm has no kubectl package, and its
// kubernetes-client is kubectl 1.20, too old for skiff's API (WebSocket exec, auth can-i).
// scripts/install-deps.sh builds it with `go build` when kubectl is missing.
//
// It is its own module so that kubectl's dependencies stay out of skiff's go.mod.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
