package nftables

import (
	"context"
	"testing"

	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// TestKernel programs a namespace of its own with nft and sends traffic through it (root
// only; the host's tables are never touched).
func TestKernel(t *testing.T) {
	kerneltest.Need(t, "nft")
	kerneltest.Run(t, kerneltest.Suite{
		New: func(run execer.Func) kerneltest.Backend { return New(run) },
		Dump: func(ctx context.Context, run execer.Func) (string, error) {
			out, err := run(ctx, nil, "nft", "list", "ruleset")
			return string(out), err
		},
		Marker: func(sp *plan.ServicePort) string { return "chain service-" + suffix(sp) + " {" },
	})
}
