// Package kerneltest builds, for the proxy's kernel tests, a small network of namespaces
// the test owns, so that rules are programmed and traffic flows without touching the
// host's own tables:
//
//	netns "pod"    eth0 10.244.1.2, 10.244.1.3 (two backends, :8080)
//	                 │ veth, default route via 10.244.1.1
//	netns "node"   vpod 10.244.1.1/24, vcli 192.168.77.1/24, forwarding on; the proxy's rules
//	                 │ veth, default route via 192.168.77.1
//	netns "client" eth0 192.168.77.2 (outside the pod network)
//
// Every name carries the test process's pid and a counter; everything is deleted when the
// test ends. Nothing leaves the namespaces.
package kerneltest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/skiff-sh/skiff/proxy/execer"
)

// Addresses of the topology.
const (
	NodePodIP    = "10.244.1.1"
	NodeClientIP = "192.168.77.1"
	BackendA     = "10.244.1.2"
	BackendB     = "10.244.1.3"
	ClientIP     = "192.168.77.2"
	BackendPort  = 8080
)

// Topology is one test's namespaces.
type Topology struct {
	Node, Pod, Client string // netns names
}

var counter atomic.Int32

// Need skips the test unless it runs as root with the given programs.
func Need(t *testing.T, programs ...string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("kernel tests need root")
	}
	for _, p := range append([]string{"ip", "nsenter"}, programs...) {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// New builds the topology and starts the two backends; both go when the test ends.
func New(t *testing.T) *Topology {
	t.Helper()
	id := fmt.Sprintf("skt%d-%d", os.Getpid(), counter.Add(1))
	tp := &Topology{Node: id + "-node", Pod: id + "-pod", Client: id + "-cli"}
	t.Cleanup(func() {
		for _, ns := range []string{tp.Node, tp.Pod, tp.Client} {
			_ = run("ip", "netns", "del", ns)
		}
	})
	steps := [][]string{
		{"ip", "netns", "add", tp.Node}, {"ip", "netns", "add", tp.Pod}, {"ip", "netns", "add", tp.Client},
		{"ip", "-n", tp.Node, "link", "set", "lo", "up"},
		{"ip", "-n", tp.Pod, "link", "set", "lo", "up"},
		{"ip", "-n", tp.Client, "link", "set", "lo", "up"},
		{"ip", "-n", tp.Node, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", tp.Pod},
		{"ip", "-n", tp.Node, "link", "add", "vcli", "type", "veth", "peer", "name", "eth0", "netns", tp.Client},
		{"ip", "-n", tp.Node, "addr", "add", NodePodIP + "/24", "dev", "vpod"},
		{"ip", "-n", tp.Node, "addr", "add", NodeClientIP + "/24", "dev", "vcli"},
		{"ip", "-n", tp.Node, "link", "set", "vpod", "up"},
		{"ip", "-n", tp.Node, "link", "set", "vcli", "up"},
		{"ip", "-n", tp.Pod, "addr", "add", BackendA + "/24", "dev", "eth0"},
		{"ip", "-n", tp.Pod, "addr", "add", BackendB + "/24", "dev", "eth0"},
		{"ip", "-n", tp.Pod, "link", "set", "eth0", "up"},
		{"ip", "-n", tp.Pod, "route", "add", "default", "via", NodePodIP},
		{"ip", "-n", tp.Client, "addr", "add", ClientIP + "/24", "dev", "eth0"},
		{"ip", "-n", tp.Client, "link", "set", "eth0", "up"},
		{"ip", "-n", tp.Client, "route", "add", "default", "via", NodeClientIP},
		// The node's way out is the client side: a Service address nothing catches goes
		// there (and is lost), as it would go to a real node's gateway.
		{"ip", "-n", tp.Node, "route", "add", "default", "via", ClientIP},
		{"ip", "netns", "exec", tp.Node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
		// Sending a Service address back out where it came from would earn the client an
		// ICMP redirect, and the per-host ICMP rate limit would then swallow the REJECT.
		{"ip", "netns", "exec", tp.Node, "sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.vcli.send_redirects=0"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Fatal(err)
		}
	}
	for _, ip := range []string{BackendA, BackendB} {
		tp.Serve(t, tp.Pod, "tcp", fmt.Sprintf("%s:%d", ip, BackendPort))
	}
	return tp
}

// Exec runs programs in the node namespace.
func (tp *Topology) Exec() execer.Func { return execer.InNetns(tp.Node) }

// Do runs fn with the calling goroutine's thread in namespace ns: sockets made in fn belong
// to ns (and stay there).
func Do(ns string, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in ns: leave it locked, the runtime drops it when this
		// goroutine ends.
		return errors.Join(fnErr, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Serve runs a line server at addr in namespace ns: every line read is answered with
// "<local ip> <remote ip>\n".
func (tp *Topology) Serve(t *testing.T, ns, network, addr string) {
	t.Helper()
	var ln net.Listener
	if err := Do(ns, func() (err error) { ln, err = net.Listen(network, addr); return }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				local, _, _ := net.SplitHostPort(c.LocalAddr().String())
				remote, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s %s\n", local, remote); err != nil {
						return
					}
				}
			}()
		}
	}()
}

// Conn is a connection made in a namespace.
type Conn struct {
	net.Conn
	r *bufio.Reader
}

// Dial connects from namespace ns to addr (failing after timeout).
func Dial(ns, addr string, timeout time.Duration) (*Conn, error) {
	var c net.Conn
	err := Do(ns, func() (err error) {
		c, err = net.DialTimeout("tcp", addr, timeout)
		return
	})
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, r: bufio.NewReader(c)}, nil
}

// Ask sends a line and returns the server's answer: backend IP and the client IP it saw.
func (c *Conn) Ask() (backend, seenFrom string, err error) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("?\n")); err != nil {
		return "", "", err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", "", fmt.Errorf("bad answer %q", line)
	}
	return f[0], f[1], nil
}

// Request dials, asks once and closes.
func Request(ns, addr string) (backend, seenFrom string, err error) {
	c, err := Dial(ns, addr, 3*time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	return c.Ask()
}
