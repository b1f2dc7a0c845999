package nftables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// Backend applies plans with nft. Not safe for concurrent Syncs.
type Backend struct {
	exec  execer.Func
	state *State    // nil: unknown, read with nft list
	last  *Rendered // the last ruleset applied (nil: unknown)
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
		return fmt.Errorf("nftables mode needs nft (apt-get install nftables): %w", err)
	}
	return nil
}

// Name is the mode's name.
func (b *Backend) Name() string { return "nftables" }

// Sync makes table ip skiff exactly p in one nft -f transaction: everything on a full
// sync (after re-reading the table's chains and sets), else only what changed since the
// last sync (nothing runs when nothing did).
func (b *Backend) Sync(ctx context.Context, p *plan.Plan, full bool) (int, error) {
	if full || b.state == nil || b.last == nil {
		st, err := b.ReadState(ctx)
		if err != nil {
			b.state, b.last = nil, nil
			return 0, err
		}
		b.state, full = st, true
	}
	r := Render(p, *b.state)
	text := r.Text
	if !full {
		var changed bool
		if text, changed = r.Partial(b.last); !changed {
			return r.Rules, nil
		}
	}
	if _, err := b.exec(ctx, text, "nft", "-f", "-"); err != nil {
		b.state, b.last = nil, nil
		return 0, fmt.Errorf("nft: %w", err)
	}
	b.state = &State{Exists: true, Chains: r.Chains, Sets: r.Sets}
	b.last = r
	return r.Rules, nil
}

// ReadState lists the table's chains and sets (without set elements).
func (b *Backend) ReadState(ctx context.Context) (*State, error) {
	st := &State{Chains: map[string]bool{}, Sets: map[string]bool{}}
	out, err := b.exec(ctx, nil, "nft", "-t", "list", "table", "ip", Table)
	if err != nil {
		if strings.Contains(err.Error(), "No such file or directory") {
			return st, nil
		}
		return nil, fmt.Errorf("nft list: %w", err)
	}
	st.Exists = true
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[2] == "{" {
			switch f[0] {
			case "chain":
				st.Chains[f[1]] = true
			case "set":
				st.Sets[f[1]] = true
			}
		}
	}
	return st, nil
}

// Cleanup deletes table ip skiff. Established connections keep their NAT (conntrack).
func (b *Backend) Cleanup(ctx context.Context) error {
	b.state, b.last = nil, nil
	// "add" first makes the delete succeed whether or not the table exists.
	_, err := b.exec(ctx, []byte("add table ip "+Table+"\ndelete table ip "+Table+"\n"), "nft", "-f", "-")
	if err != nil {
		return fmt.Errorf("nft cleanup: %w", err)
	}
	return nil
}
