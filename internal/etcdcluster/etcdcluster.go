// Package etcdcluster describes a cluster of real etcd members (Debian's etcd-server, the
// `etcd` binary) run as separate processes: the flags each member starts with, the layout
// kept on disk so that a member restarted later rejoins with the same identity, and the health
// check that says, when a member cannot reach its peers, exactly that. `skiff up
// --etcd-members` (launcher) and the fault-injection suite (test/robustness) run their
// clusters from it.
package etcdcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Member is one etcd member: its name and the URLs it serves peers and clients on.
type Member struct {
	Name      string `json:"name"`
	PeerURL   string `json:"peerURL"`
	ClientURL string `json:"clientURL"`
}

// Spec is a whole cluster. It is written once (Create) and read back by every later start,
// because a member's data directory remembers its peers' URLs: they may never change.
type Spec struct {
	// Token is etcd's --initial-cluster-token: members of different clusters never mix.
	Token   string   `json:"token"`
	Members []Member `json:"members"`
	// Dir holds each member's data directory (Dir/NAME) and the spec itself.
	Dir string `json:"-"`
}

// specFile is the spec's file name under Dir.
const specFile = "cluster.json"

// Binary finds Debian's etcd.
func Binary() (string, error) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		return "", errors.New("an etcd cluster needs the etcd binary: install Debian's etcd-server (apt-get install etcd-server) or put etcd in $PATH")
	}
	return bin, nil
}

// LoadOrCreate reads the cluster kept in dir, or makes one of n members on host (free ports
// picked now, then kept). A cluster read back must have n members: the member count of an
// existing cluster is not changed by restarting it with another number.
func LoadOrCreate(dir string, n int, host string) (*Spec, error) {
	if n < 1 {
		return nil, fmt.Errorf("an etcd cluster needs at least one member, got %d", n)
	}
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if err == nil {
		s := &Spec{Dir: dir}
		if err := json.Unmarshal(b, s); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, specFile), err)
		}
		if len(s.Members) != n {
			return nil, fmt.Errorf("the etcd cluster in %s has %d members, not %d: start it with --etcd-members %d, or remove the directory for a new cluster",
				dir, len(s.Members), n, len(s.Members))
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s := &Spec{Dir: dir, Token: fmt.Sprintf("skiff-%d", time.Now().UnixNano())}
	ports, err := freePorts(host, 2*n)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		s.Members = append(s.Members, Member{Name: fmt.Sprintf("m%d", i),
			PeerURL:   "http://" + net.JoinHostPort(host, strconv.Itoa(ports[2*i])),
			ClientURL: "http://" + net.JoinHostPort(host, strconv.Itoa(ports[2*i+1]))})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b, _ = json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, specFile), b, 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// freePorts are n ports free on host at the time of asking, all different.
func freePorts(host string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick a port for etcd: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// InitialCluster is etcd's --initial-cluster: NAME=PEER-URL for every member.
func (s *Spec) InitialCluster() string {
	var parts []string
	for _, m := range s.Members {
		parts = append(parts, m.Name+"="+m.PeerURL)
	}
	return strings.Join(parts, ",")
}

// ClientURLs are the members' client URLs (the API servers' --etcd-servers).
func (s *Spec) ClientURLs() []string {
	var urls []string
	for _, m := range s.Members {
		urls = append(urls, m.ClientURL)
	}
	return urls
}

// DataDir is member i's data directory.
func (s *Spec) DataDir(i int) string { return filepath.Join(s.Dir, s.Members[i].Name) }

// Args are the etcd flags of member i. --initial-cluster and its state are read on the
// member's first start only; a restart finds its data directory and rejoins as the member it
// was. Heartbeat and election timeouts are etcd's defaults unless fast is set (tests on one
// machine: a lost leader is replaced in half a second).
func (s *Spec) Args(i int, fast bool) []string {
	m := s.Members[i]
	args := []string{"--name", m.Name, "--data-dir", s.DataDir(i),
		"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
		"--initial-cluster", s.InitialCluster(), "--initial-cluster-state", "new",
		"--initial-cluster-token", s.Token}
	if fast {
		args = append(args, "--heartbeat-interval", "50", "--election-timeout", "500")
	}
	return args
}

// WaitHealthy waits until member i answers /health with a leader, for at most timeout.
// A member that is running but has no leader cannot reach a quorum of its peers: the error
// says so and names them; one that does not answer at all says that instead. exited, when
// not nil, reports whether the member's process has ended (then waiting is over at once).
func (s *Spec) WaitHealthy(ctx context.Context, i int, timeout time.Duration, exited func() bool) error {
	m := s.Members[i]
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var answered bool
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.ClientURL+"/health", nil)
		resp, err := hc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			answered = true
			var h struct {
				Health string `json:"health"`
			}
			if json.Unmarshal(body, &h) == nil && h.Health == "true" {
				return nil
			}
			last = strings.TrimSpace(string(body))
		} else {
			last = err.Error()
			// etcd 3.4 holds /health while it has no leader: a member that accepts the
			// connection is running all the same.
			if u, perr := url.Parse(m.ClientURL); perr == nil {
				if c, derr := net.DialTimeout("tcp", u.Host, time.Second); derr == nil {
					c.Close()
					answered, last = true, "no answer to /health: no leader"
				}
			}
		}
		if exited != nil && exited() {
			return fmt.Errorf("etcd member %s exited during start-up (%s)", m.Name, last)
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !answered {
		return fmt.Errorf("etcd member %s does not answer at %s after %s (%s): it did not start; see its log", m.Name, m.ClientURL, timeout, last)
	}
	var peers []string
	for j, p := range s.Members {
		if j != i {
			peers = append(peers, p.Name+" at "+p.PeerURL)
		}
	}
	return fmt.Errorf("etcd member %s runs but has no leader after %s (%s): it cannot reach a quorum of its peers (%s). "+
		"Start every member with the same --initial-cluster (%s) and open the peer ports between the machines",
		m.Name, timeout, last, strings.Join(peers, ", "), s.InitialCluster())
}
