// Command skiff is the launcher: `skiff up` starts a whole cluster as separate processes and
// writes a kubeconfig; `skiff down` stops it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/launcher"
)

const usage = `usage:
  skiff up   [--data-dir DIR] [--port N] [--nodes N] [--runtime containerd|sim] [--disable C,...]
             [--advertise-address IP] [--apiservers N --etcd-members M]
                                           start a cluster in the foreground (Ctrl-C stops it)
  skiff down [--data-dir DIR]              stop the cluster started from DIR
  skiff init --advertise-address IP [--data-dir /var/lib/skiff] [--port 6443] [--etcd-members NAME=IP,...]
                                           prepare a control-plane machine whose programs run as
                                           systemd services (deploy/systemd, docs/install.md)
  skiff init --control-plane-join HOST:PORT --token T --discovery-token-ca-cert-hash H --certificate-key K --advertise-address IP
                                           prepare another control-plane machine with the first one's uploaded certificates
  skiff dashboard [--data-dir DIR] [--port N]
                                           serve the live teaching view on 127.0.0.1 (admin credentials of DIR)
  skiff image import [--data-dir DIR] FILE...
                                           load image archives (docker save / OCI) into every node of skiff up
  skiff image import --kubeconfig KC [--node N] FILE...
                                           upload them through the API server to every node (or N)
  skiff token create [--ttl 24h] [--print-join-command [--upload-certs]] [--ingress-kubeconfig FILE] [--data-dir DIR]
                                           make a bootstrap token for joining nodes (--upload-certs: and control-plane machines)
  skiff pki --dir DIR --server URL [--apiserver-names N,...] [--nodes N,...] [--admin-kubeconfig FILE [--admin-server URL]]
                                           write the CA, certificates and kubeconfigs of a control plane run apart
  skiff join HOST:PORT --token ID.SECRET --discovery-token-ca-cert-hash sha256:HEX [--node-name N]
             [--data-dir DIR] [--no-proxy] [--ingress-kubeconfig FILE] [-- NODE-AGENT-FLAGS...]
                                           join this machine to a cluster as a node
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "init":
		fs := flag.NewFlagSet("init", flag.ExitOnError)
		var o launcher.InitOptions
		fs.StringVar(&o.DataDir, "data-dir", "/var/lib/skiff", "the control plane's certificates, kubeconfigs and etcd data (where the systemd units of deploy/systemd look)")
		fs.StringVar(&o.AdvertiseAddress, "advertise-address", "", "this machine's IP address that the workers reach the API server at (required)")
		fs.IntVar(&o.Port, "port", 6443, "the API server's port")
		etcdMembers := fs.String("etcd-members", "", "an external etcd cluster instead of the embedded etcd, NAME=IP,NAME=IP,...: writes its CA and certificates (TLS for clients and peers) and each member's files in DATA/etcd-members/NAME for skiff-etcd.service")
		cpJoin := fs.String("control-plane-join", "", "SERVER (HOST:PORT) of the first control-plane machine: fetch the cluster CA, ServiceAccount key and etcd client certificate it uploaded (`skiff token create --print-join-command --upload-certs` prints this whole command) instead of making new ones")
		token := fs.String("token", "", "with --control-plane-join: the bootstrap token")
		pins := fs.String("discovery-token-ca-cert-hash", "", "with --control-plane-join: the cluster CA's pin, sha256:HEX")
		certKey := fs.String("certificate-key", "", "with --control-plane-join: the key the uploaded certificates are encrypted with")
		fs.Parse(os.Args[2:])
		var err error
		if o.EtcdMembers, err = launcher.ParseEtcdMembers(*etcdMembers); err != nil {
			cli.Fatal("skiff init", err)
		}
		if *cpJoin != "" {
			if o.EtcdServers, err = controlPlaneJoin(*cpJoin, *token, *pins, *certKey, o.DataDir); err != nil {
				cli.Fatal("skiff init", err)
			}
		}
		if err := launcher.Init(o); err != nil {
			cli.Fatal("skiff init", err)
		}
	case "up":
		fs := flag.NewFlagSet("up", flag.ExitOnError)
		var o launcher.Options
		fs.StringVar(&o.DataDir, "data-dir", "", "cluster state, logs and kubeconfig (default ~/.skiff)")
		fs.IntVar(&o.Port, "port", 6443, "API server port on 127.0.0.1")
		fs.StringVar(&o.AdvertiseAddress, "advertise-address", "", "an IP of this machine the API server also listens on, for nodes that `skiff join` from elsewhere")
		fs.IntVar(&o.APIServers, "apiservers", 1, "how many API servers (an HA control plane on this machine: server i listens on --port+i, and every component fails over between them; more than one needs --etcd-members)")
		fs.IntVar(&o.EtcdMembers, "etcd-members", 0, "run an etcd cluster of this many members (Debian's etcd; 3 for HA) instead of the API server's embedded etcd (default 3 with --apiservers above 1)")
		fs.IntVar(&o.Nodes, "nodes", 1, "how many nodes to start (0: the control plane alone)")
		fs.StringVar(&o.Runtime, "runtime", "containerd", "the nodes' runtime: containerd (real containers, needs root) or sim (simulated)")
		fs.StringVar(&o.BinDir, "bin-dir", "", "where the skiff-* binaries are (default: next to skiff, then $PATH)")
		disable := fs.String("disable", "", "components not to start: scheduler,controller-manager,ingress")
		level := fs.String("log-level", "info", "launcher log level")
		fs.Func("nodeagent-arg", "a flag for every node's skiff-nodeagent, e.g. --nodeagent-arg=--eviction-hard=memory.available<1Gi (repeatable; given after skiff up's own, so it wins)", func(v string) error {
			o.NodeAgentArgs = append(o.NodeAgentArgs, v)
			return nil
		})
		fs.Parse(os.Args[2:])
		log, err := cli.Logger(*level, "text")
		if err != nil {
			cli.Fatal("skiff up", err)
		}
		o.Logger = log
		if *disable != "" {
			o.Disable = strings.Split(*disable, ",")
		}
		ctx, stop := cli.SignalContext()
		defer stop()
		if err := launcher.Up(ctx, o); err != nil {
			cli.Fatal("skiff up", err)
		}
	case "janitor": // started by skiff up (launcher/janitor.go); not for users
		fs := flag.NewFlagSet("janitor", flag.ExitOnError)
		var o launcher.Options
		fs.StringVar(&o.DataDir, "data-dir", "", "")
		fs.IntVar(&o.Port, "port", 6443, "")
		fs.IntVar(&o.Nodes, "nodes", 0, "")
		fs.StringVar(&o.BinDir, "bin-dir", "", "")
		pid := fs.Int("launcher-pid", 0, "")
		fs.Parse(os.Args[2:])
		signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP) // it outlives the terminal's Ctrl-C
		log, _ := cli.Logger("info", "text")
		o.Logger = log
		if err := launcher.Janitor(o, *pid, os.Stdin); err != nil {
			cli.Fatal("skiff janitor", err)
		}
	case "down":
		fs := flag.NewFlagSet("down", flag.ExitOnError)
		dir := fs.String("data-dir", "", "the cluster's data dir (default ~/.skiff)")
		fs.Parse(os.Args[2:])
		if err := launcher.Down(*dir, 30*time.Second); err != nil {
			cli.Fatal("skiff down", err)
		}
	case "dashboard":
		runDashboard(os.Args[2:])
	case "image":
		if len(os.Args) < 3 || os.Args[2] != "import" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fs := flag.NewFlagSet("image import", flag.ExitOnError)
		kubeconfig := fs.String("kubeconfig", "", "upload through this cluster's API server (nodes/images) to its nodes: any cluster, wherever its nodes run")
		node := fs.String("node", "", "with --kubeconfig: only this node (default every node)")
		dir := fs.String("data-dir", "", "without --kubeconfig: load straight into the containerd of the nodes skiff up runs from DIR (default ~/.skiff)")
		binDir := fs.String("bin-dir", "", "where the skiff-* binaries are (default: next to skiff, then $PATH)")
		fs.Parse(os.Args[3:])
		if *kubeconfig != "" || *node != "" {
			importThroughAPI(*kubeconfig, *node, fs.Args())
			return
		}
		if err := launcher.ImportImages(*dir, *binDir, fs.Args(), os.Stdout); err != nil {
			cli.Fatal("skiff image import", err)
		}
	case "token":
		if len(os.Args) < 3 || os.Args[2] != "create" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		tokenCreate(os.Args[3:])
	case "join":
		joinNode(os.Args[2:])
	case "pki":
		pkiFiles(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}
