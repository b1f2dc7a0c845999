package iptables

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

// Backend applies plans with iptables-restore. Not safe for concurrent Syncs (the proxy
// syncs from one goroutine).
type Backend struct {
	exec execer.Func
	cmd  string // "iptables" or "iptables-legacy": the programs are CMD-restore and CMD-save
	// state is what the kernel holds after the last successful sync; nil when unknown
	// (first sync, after a failure, on a full resync), then it is read with iptables-save.
	state *State
	last  *Rendered // the last ruleset applied (nil: unknown)
}

// New returns a backend running the system's iptables programs through run (nil: on
// this host).
func New(run execer.Func) *Backend { return NewCommand(run, "") }

// NewCommand is New with the programs of command: "iptables" (the system's, usually the
// nf_tables flavour) or "iptables-legacy" (x_tables: much faster restores of many chains).
func NewCommand(run execer.Func, command string) *Backend {
	if run == nil {
		run = execer.Local
	}
	if command == "" {
		command = "iptables"
	}
	return &Backend{exec: run, cmd: command}
}

// Check says whether the programs of command ("" = iptables) are installed.
func Check(command string) error {
	if command == "" {
		command = "iptables"
	}
	if command != "iptables" && command != "iptables-legacy" {
		return fmt.Errorf("iptables command %q: want iptables or iptables-legacy", command)
	}
	for _, p := range []string{command + "-restore", command + "-save"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("iptables mode needs %s (apt-get install iptables): %w", p, err)
		}
	}
	return nil
}

// Name is the mode's name.
func (b *Backend) Name() string { return "iptables" }

// Command is the iptables program the backend runs.
func (b *Backend) Command() string { return b.cmd }

// Flavour is the kernel interface the backend's programs use: "nf_tables" or "legacy"
// (from `iptables -V`), "" when unknown. Two commands of one flavour share their tables.
func (b *Backend) Flavour(ctx context.Context) string {
	out, err := b.exec(ctx, nil, b.cmd, "-V")
	if err != nil {
		return ""
	}
	for _, f := range []string{"nf_tables", "legacy"} {
		if strings.Contains(string(out), "("+f+")") {
			return f
		}
	}
	return ""
}

// Sync makes the kernel's skiff chains exactly p, in one iptables-restore. A full sync
// re-reads the kernel's state (repairing jumps someone removed) and rewrites every chain;
// otherwise only the chains that changed since the last sync are rewritten (and nothing
// is run when none did). It returns how many rules the ruleset holds.
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
	if _, err := b.exec(ctx, text, b.cmd+"-restore", "-w", "--noflush"); err != nil {
		b.state, b.last = nil, nil // the kernel kept its previous rules; re-read them next time
		return 0, fmt.Errorf("iptables-restore: %w", err)
	}
	b.state = &State{Chains: r.Chains}
	b.last = r
	return r.Rules, nil
}

// ReadState reads skiff's chains and jumps from iptables-save.
func (b *Backend) ReadState(ctx context.Context) (*State, error) {
	out, err := b.exec(ctx, nil, b.cmd+"-save", "-t", "nat")
	if err != nil {
		return nil, fmt.Errorf("iptables-save: %w", err)
	}
	fout, err := b.exec(ctx, nil, b.cmd+"-save", "-t", "filter")
	if err != nil {
		return nil, fmt.Errorf("iptables-save: %w", err)
	}
	saved := parseSave(append(out, fout...))
	st := &State{Chains: map[string]map[string]bool{"nat": {}, "filter": {}}}
	for t, chains := range saved.chains {
		for c := range chains {
			if strings.HasPrefix(c, Prefix) {
				if st.Chains[t] == nil {
					st.Chains[t] = map[string]bool{}
				}
				st.Chains[t][c] = true
			}
		}
	}
	for _, j := range Jumps {
		if !saved.hasJump(j) {
			st.MissingJumps = append(st.MissingJumps, j)
		}
	}
	return st, nil
}

type saved struct {
	chains map[string]map[string]bool
	jumps  map[string][]string // "table/chain" → the lines jumping to a skiff chain
}

func parseSave(data []byte) *saved {
	s := &saved{chains: map[string]map[string]bool{}, jumps: map[string][]string{}}
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "*"):
			table = line[1:]
			if s.chains[table] == nil {
				s.chains[table] = map[string]bool{}
			}
		case strings.HasPrefix(line, ":"):
			name, _, _ := strings.Cut(line[1:], " ")
			s.chains[table][name] = true
		case strings.HasPrefix(line, "-A "):
			chain, _, _ := strings.Cut(line[3:], " ")
			if !strings.HasPrefix(chain, Prefix) && strings.Contains(line, "-j "+Prefix) {
				s.jumps[table+"/"+chain] = append(s.jumps[table+"/"+chain], line)
			}
		}
	}
	return s
}

func target(rule string) string {
	_, t, _ := strings.Cut(rule, "-j ")
	t, _, _ = strings.Cut(t, " ")
	return t
}

func (s *saved) hasJump(j Jump) bool {
	for _, line := range s.jumps[j.Table+"/"+j.Chain] {
		if target(line) == target(j.Rule) && strings.Contains(line, "NEW") == strings.Contains(j.Rule, "NEW") {
			return true
		}
	}
	return false
}

// Cleanup removes every skiff chain and the jumps to them, in one iptables-restore.
// Established connections keep their NAT (it lives in conntrack, which is left alone).
func (b *Backend) Cleanup(ctx context.Context) error {
	b.state, b.last = nil, nil
	var all []byte
	for _, t := range []string{"filter", "nat"} {
		out, err := b.exec(ctx, nil, b.cmd+"-save", "-t", t)
		if err != nil {
			return fmt.Errorf("iptables-save: %w", err)
		}
		all = append(all, out...)
	}
	s := parseSave(all)
	var in bytes.Buffer
	n := 0
	for _, t := range []string{"filter", "nat"} {
		var chains []string
		for c := range s.chains[t] {
			if strings.HasPrefix(c, Prefix) {
				chains = append(chains, c)
			}
		}
		var jumps []string
		for k, lines := range s.jumps {
			if strings.HasPrefix(k, t+"/") {
				jumps = append(jumps, lines...)
			}
		}
		if len(chains) == 0 && len(jumps) == 0 {
			continue
		}
		in.WriteString("*" + t + "\n")
		for _, c := range chains {
			in.WriteString(":" + c + " - [0:0]\n")
		}
		for _, l := range jumps {
			in.WriteString("-D " + strings.TrimPrefix(l, "-A ") + "\n")
		}
		for _, c := range chains {
			in.WriteString("-X " + c + "\n")
		}
		in.WriteString("COMMIT\n")
		n++
	}
	if n == 0 {
		return nil
	}
	if _, err := b.exec(ctx, in.Bytes(), b.cmd+"-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("iptables cleanup: %w", err)
	}
	return nil
}
