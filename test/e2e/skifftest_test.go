package e2e

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/skifftest"
	"github.com/skiff-sh/skiff/test/harness"
)

// skifftest's real-container option: the cluster runs as `skiff up --runtime containerd`
// does, and its node reports containerd as its runtime. (Here rather than in skifftest's
// own tests: containerd clusters on one machine take the pod and Service routes in turn,
// and this package runs them one after another.)
func TestSkifftestContainerdNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containerd nodes need root")
	}
	c := skifftest.Start(t, skifftest.Options{Runtime: "containerd", APIServerArgs: []string{"--audit-log-path", "-"}})
	nodes := client.For[core.Node](c.Client(t), client.Resource{Version: "v1", Resource: "nodes"})
	n, err := nodes.Get(context.Background(), "", c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	if v := n.Status.NodeInfo.ContainerRuntimeVersion; !strings.HasPrefix(v, "containerd://") {
		t.Errorf("node %s runtime %q, want containerd", n.Name, v)
	}
	if out := (&harness.Kubectl{Kubeconfig: c.Kubeconfig}).Run(t, "get", "nodes"); !strings.Contains(out, c.Nodes[0]) {
		t.Errorf("kubectl get nodes with the cluster's kubeconfig:\n%s", out)
	}
}
