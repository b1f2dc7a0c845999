package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/launcher"

	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/nodeagent/join"
)

// joinNode is `skiff join SERVER --token T --discovery-token-ca-cert-hash H`: it checks the
// cluster's CA against the pin, writes a bootstrap kubeconfig, and runs the node agent
// (which gets its client certificate by CertificateSigningRequest and renews it) and, when
// the binary is there, the proxy; with --ingress-kubeconfig also skiff-ingress, as the
// ingress controller (see launcher.WriteIngressKubeconfig for why not as the node).
// Arguments after "--" go to the node agent.
func joinNode(args []string) {
	fs := flag.NewFlagSet("join", flag.ExitOnError)
	token := fs.String("token", "", "bootstrap token (ID.SECRET) from `skiff token create`")
	pins := fs.String("discovery-token-ca-cert-hash", "", "the cluster CA's public key pin, sha256:HEX (comma-separated for several)")
	host, _ := os.Hostname()
	nodeName := fs.String("node-name", strings.ToLower(host), "the Node's name")
	dir := fs.String("data-dir", "/var/lib/skiff/node", "this node's kubeconfigs, certificates, pods and logs")
	binDir := fs.String("bin-dir", "", "where skiff-nodeagent and skiff-proxy are (default: next to skiff, then $PATH)")
	noProxy := fs.Bool("no-proxy", false, "do not start skiff-proxy")
	ingressKC := fs.String("ingress-kubeconfig", "", "start skiff-ingress (ports 80 and 443) with this kubeconfig of the ingress controller's identity, from `skiff token create --ingress-kubeconfig` (without it the node runs no ingress)")
	var server string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		server, args = args[0], args[1:]
	}
	var agentArgs []string
	for i, a := range args {
		if a == "--" {
			args, agentArgs = args[:i], args[i+1:]
			break
		}
	}
	fs.Parse(args)
	if server == "" && fs.NArg() > 0 {
		server = fs.Arg(0)
	}
	if server == "" || *token == "" {
		cli.Fatal("skiff join", errors.New("usage: skiff join HOST:PORT --token ID.SECRET --discovery-token-ca-cert-hash sha256:HEX"))
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	if err := runJoin(ctx, server, *token, strings.Split(*pins, ","), *nodeName, *dir, *binDir, !*noProxy, *ingressKC, agentArgs); err != nil {
		cli.Fatal("skiff join", err)
	}
}

func runJoin(ctx context.Context, server, token string, pins []string, nodeName, dir, binDir string, withProxy bool, ingressKC string, agentArgs []string) error {
	if pins[0] == "" {
		pins = nil
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	caPEM, err := join.Discover(dctx, server, pins)
	cancel()
	if err != nil {
		return err
	}
	fmt.Printf("cluster CA verified (%s)\n", server)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = join.CheckToken(tctx, server, caPEM, token)
	cancel()
	if err != nil {
		return err // nothing started yet
	}
	bootstrap := filepath.Join(dir, "bootstrap-kubeconfig")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := join.WriteBootstrapKubeconfig(bootstrap, server, caPEM, token); err != nil {
		return err
	}
	logs := filepath.Join(dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	agent, err := startChild(ctx, binDir, "skiff-nodeagent", logs, append([]string{
		"--bootstrap-kubeconfig", bootstrap, "--kubeconfig", kubeconfig, "--node-name", nodeName,
		"--data-dir", filepath.Join(dir, "agent"), "--cert-dir", filepath.Join(dir, "pki")}, agentArgs...))
	if err != nil {
		return err
	}
	fmt.Printf("skiff-nodeagent started for node %s (log: %s)\n", nodeName, filepath.Join(logs, "skiff-nodeagent.log"))
	children := []*child{agent}
	if withProxy {
		// The proxy runs as the node, once the node has its certificate.
		if err := waitFile(ctx, kubeconfig, agent); err != nil {
			agent.stop()
			return err
		}
		if p, err := startChild(ctx, binDir, "skiff-proxy", logs, []string{"--kubeconfig", kubeconfig, "--node-name", nodeName,
			// A node may not create Services: kube-dns is the control plane's to make.
			"--dns-service=false"}); err == nil {
			children = append(children, p)
		} else {
			fmt.Fprintf(os.Stderr, "skiff join: not starting the proxy: %v\n", err)
		}
	}
	if ingressKC == "" {
		fmt.Println("skiff-ingress not started: it runs as the ingress controller, not as the node (pass --ingress-kubeconfig from `skiff token create --ingress-kubeconfig`)")
	} else {
		kc := filepath.Join(dir, "ingress-kubeconfig")
		if err := ingressKubeconfig(ingressKC, kc, server, caPEM); err != nil {
			for _, c := range children {
				c.stop()
			}
			return err
		}
		if p, err := startChild(ctx, binDir, "skiff-ingress", logs, []string{"--kubeconfig", kc, "--node-name", nodeName}); err == nil {
			children = append(children, p)
			fmt.Printf("skiff-ingress started on ports 80 and 443 (log: %s)\n", filepath.Join(logs, "skiff-ingress.log"))
		} else {
			fmt.Fprintf(os.Stderr, "skiff join: not starting the ingress: %v\n", err)
		}
	}
	var exited error
	select {
	case <-ctx.Done():
	case <-agent.done:
		exited = fmt.Errorf("skiff-nodeagent exited: %v (see its log)", agent.err)
	}
	for _, c := range children {
		c.stop()
	}
	return exited
}

// ingressKubeconfig copies the ingress identity's kubeconfig from to path, pointed at the
// server this join verified (the file may name the control plane's loopback address) and
// trusting the CA it verified.
func ingressKubeconfig(from, path, server string, caPEM []byte) error {
	cfg, err := client.LoadKubeconfig(from, "")
	if err != nil {
		return fmt.Errorf("--ingress-kubeconfig: %w", err)
	}
	if len(cfg.TLS.CertData) == 0 {
		return fmt.Errorf("--ingress-kubeconfig %s: no client certificate in it", from)
	}
	cfg.Host = "https://" + strings.TrimPrefix(server, "https://")
	cfg.TLS.CAData = caPEM
	cfg.TLS.ServerName = ""
	return client.WriteKubeconfig(path, "skiff", cfg)
}

// child is a program skiff join runs, its output in LOGDIR/NAME.log.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startChild(ctx context.Context, binDir, name, logDir string, args []string) (*child, error) {
	bin, err := launcher.FindBinary(binDir, name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

// stop asks the child to stop and waits for it (killing it after 30 s).
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// waitFile waits for path to exist, or for the agent to exit, or ctx to end.
func waitFile(ctx context.Context, path string, agent *child) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-agent.done:
			return fmt.Errorf("skiff-nodeagent exited before it had a client certificate: %v", agent.err)
		case <-tick.C:
		}
	}
}

// controlPlaneJoin is the first half of `skiff init --control-plane-join SERVER`: check the
// cluster's CA against the pin as a joining worker does, then fetch and open the shared
// certificates into DATA/pki (Init then reuses them). It returns the external etcd's
// servers, if the first machine uses one.
func controlPlaneJoin(server, token, pins, certKey, dataDir string) ([]string, error) {
	if token == "" || pins == "" || certKey == "" {
		return nil, errors.New("--control-plane-join needs --token, --discovery-token-ca-cert-hash and --certificate-key (the command `skiff token create --print-join-command --upload-certs` printed)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	caPEM, err := join.Discover(ctx, server, strings.Split(pins, ","))
	if err != nil {
		return nil, err
	}
	if err := join.CheckToken(ctx, server, caPEM, token); err != nil {
		return nil, err
	}
	return launcher.FetchCerts(ctx, server, caPEM, token, certKey, dataDir)
}
