package netpol

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/skiff-sh/skiff/proxy/execer"
)

// Backend applies plans with nft. Not safe for concurrent use (one goroutine syncs).
type Backend struct {
	exec execer.Func
	// applied is the table the last sync left in the kernel (nil: unknown or none, the
	// next sync writes the whole table).
	applied []object
}

// New returns a backend running nft through run (nil: on this host).
func New(run execer.Func) *Backend {
	if run == nil {
		run = execer.Local
	}
	return &Backend{exec: run}
}

// Check says whether nft is installed.
func Check() error {
	if _, err := exec.LookPath("nft"); err != nil {
		return fmt.Errorf("NetworkPolicy enforcement needs nft (apt-get install nftables): %w", err)
	}
	return nil
}

// Sync makes the policy table exactly p in one nft transaction. After a first sync only
// what changed is written (see update): pods joining or leaving a peer selector add and
// delete set elements; a local pod selected by other policies, or newly isolated, gets its
// pod chain rewritten, a verdict-map element and the chains of policies that now select a
// local pod; unchanged chains and elements are never touched, so the cost follows the
// change, not the table. The whole table is replaced on the first sync, when full (which
// repairs a table someone changed), after a failure, and when the table appears or goes.
// Nothing runs when nothing changed. It reports whether nft ran.
func (b *Backend) Sync(ctx context.Context, p *Plan, full bool) (bool, error) {
	var cur []object
	if !p.Empty() {
		cur = objects(p)
	}
	script := Render(p)
	if !full && len(b.applied) > 0 && len(cur) > 0 {
		if s, ok := update(b.applied, cur); ok {
			if len(s) == 0 {
				return false, nil
			}
			script = s
		}
	} else if !full && b.applied != nil && len(b.applied) == 0 && len(cur) == 0 {
		return false, nil // no table, and none wanted
	}
	if _, err := b.exec(ctx, script, "nft", "-f", "-"); err != nil {
		b.applied = nil // the kernel kept the previous table: start over with a whole one
		return true, fmt.Errorf("nft: %w", err)
	}
	if cur == nil {
		cur = []object{}
	}
	b.applied = cur
	return true, nil
}

// Cleanup deletes the policy table.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.applied = nil
	_, err := b.exec(ctx, []byte("add table ip "+Table+"\ndelete table ip "+Table+"\n"), "nft", "-f", "-")
	if err != nil {
		return fmt.Errorf("nft: %w", err)
	}
	return nil
}
