package iptables

import (
	"context"
	"testing"

	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// TestKernel programs a namespace of its own with iptables-restore and sends traffic
// through it (root only; the host's tables are never touched).
func TestKernel(t *testing.T) {
	for _, cmd := range []string{"iptables", "iptables-legacy"} {
		t.Run(cmd, func(t *testing.T) {
			kerneltest.Need(t, cmd+"-restore", cmd+"-save")
			kerneltest.Run(t, kerneltest.Suite{
				New: func(run execer.Func) kerneltest.Backend { return NewCommand(run, cmd) },
				Dump: func(ctx context.Context, run execer.Func) (string, error) {
					out, err := run(ctx, nil, cmd+"-save")
					return string(out), err
				},
				Marker: func(sp *plan.ServicePort) string { return ":" + svcPrefix + sp.Hash() + " " },
			})
		})
	}
}
