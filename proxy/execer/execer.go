// Package execer runs the programs the proxy's backends drive (iptables-restore, nft,
// ipvsadm), on this host or inside a named network namespace (for tests and for a node
// simulated in a namespace of its own).
package execer

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Func runs name with args, feeding stdin (nil: none), and returns its standard output.
// A failure's error carries the program's standard error.
type Func func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// Local runs programs in this process's namespaces.
func Local(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if len(msg) > 4000 {
			msg = msg[:4000] + "..."
		}
		return out.Bytes(), fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return out.Bytes(), nil
}

// InNetns runs programs in the network namespace /run/netns/ns (made with `ip netns add`).
func InNetns(ns string) Func {
	return func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
		return Local(ctx, stdin, "nsenter", append([]string{"--net=/run/netns/" + ns, "--", name}, args...)...)
	}
}
