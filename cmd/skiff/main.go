// Command skiff is the launcher: `skiff up` starts a whole cluster as separate processes and
// writes a kubeconfig; `skiff down` stops it.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/launcher"
)

const usage = `usage:
  skiff up   [--data-dir DIR] [--port N] [--nodes N] [--runtime containerd|sim] [--disable C,...]
             [--advertise-address IP]
                                           start a cluster in the foreground (Ctrl-C stops it)
  skiff down [--data-dir DIR]              stop the cluster started from DIR
  skiff image import [--data-dir DIR] FILE...
                                           load image archives (docker save / OCI) into every node
  skiff token create [--ttl 24h] [--print-join-command] [--data-dir DIR]
                                           make a bootstrap token for joining nodes
  skiff join HOST:PORT --token ID.SECRET --discovery-token-ca-cert-hash sha256:HEX [--node-name N]
             [--data-dir DIR] [-- NODE-AGENT-FLAGS...]
                                           join this machine to a cluster as a node
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "up":
		fs := flag.NewFlagSet("up", flag.ExitOnError)
		var o launcher.Options
		fs.StringVar(&o.DataDir, "data-dir", "", "cluster state, logs and kubeconfig (default ~/.skiff)")
		fs.IntVar(&o.Port, "port", 6443, "API server port on 127.0.0.1")
		fs.StringVar(&o.AdvertiseAddress, "advertise-address", "", "an IP of this machine the API server also listens on, for nodes that `skiff join` from elsewhere")
		fs.IntVar(&o.Nodes, "nodes", 1, "how many nodes to start (0: the control plane alone)")
		fs.StringVar(&o.Runtime, "runtime", "containerd", "the nodes' runtime: containerd (real containers, needs root) or sim (simulated)")
		fs.StringVar(&o.BinDir, "bin-dir", "", "where the skiff-* binaries are (default: next to skiff, then $PATH)")
		disable := fs.String("disable", "", "control-plane components not to start: scheduler,controller-manager")
		level := fs.String("log-level", "info", "launcher log level")
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
	case "down":
		fs := flag.NewFlagSet("down", flag.ExitOnError)
		dir := fs.String("data-dir", "", "the cluster's data dir (default ~/.skiff)")
		fs.Parse(os.Args[2:])
		if err := launcher.Down(*dir, 30*time.Second); err != nil {
			cli.Fatal("skiff down", err)
		}
	case "image":
		if len(os.Args) < 3 || os.Args[2] != "import" {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fs := flag.NewFlagSet("image import", flag.ExitOnError)
		dir := fs.String("data-dir", "", "the cluster's data dir (default ~/.skiff)")
		binDir := fs.String("bin-dir", "", "where the skiff-* binaries are (default: next to skiff, then $PATH)")
		fs.Parse(os.Args[3:])
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
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
}
