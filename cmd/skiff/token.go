package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/launcher"
	"github.com/skiff-sh/skiff/nodeagent/join"
)

// tokenCreate is `skiff token create`: a bootstrap token for joining nodes, made with the
// cluster's admin kubeconfig.
func tokenCreate(args []string) {
	fs := flag.NewFlagSet("token create", flag.ExitOnError)
	dir := fs.String("data-dir", "", "the cluster's data dir, whose kubeconfig is used (default ~/.skiff)")
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig (default DATA-DIR/kubeconfig)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid (0: forever)")
	description := fs.String("description", "", "a note on what the token is for")
	printJoin := fs.Bool("print-join-command", false, "print the whole `skiff join` command, not just the token")
	uploadCerts := fs.Bool("upload-certs", false, "with --print-join-command: also upload this control-plane machine's shared certificates (from --data-dir's pki/) encrypted, and print the `skiff init --control-plane-join` command a second control-plane machine runs")
	ingressKC := fs.String("ingress-kubeconfig", "", "also write to this file a kubeconfig of the ingress controller's identity, for the joining machine's skiff-ingress (skiff join --ingress-kubeconfig)")
	fs.Parse(args)
	kc := *kubeconfig
	if kc == "" {
		d := *dir
		if d == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				cli.Fatal("skiff token create", err)
			}
			d = filepath.Join(home, ".skiff")
		}
		kc = filepath.Join(d, "kubeconfig")
	}
	cfg, err := client.LoadKubeconfig(kc, "")
	if err != nil {
		cli.Fatal("skiff token create", err)
	}
	c, err := client.New(cfg)
	if err != nil {
		cli.Fatal("skiff token create", err)
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	token, err := join.CreateToken(ctx, c, *ttl, *description)
	if err != nil {
		cli.Fatal("skiff token create", err)
	}
	if *ingressKC != "" {
		if err := launcher.WriteIngressKubeconfig(*dir, *ingressKC); err != nil {
			cli.Fatal("skiff token create", err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s: copy it to the joining machine (it lets skiff-ingress read every namespace's TLS Secrets: keep it as secret as they are)\n", *ingressKC)
	}
	if !*printJoin {
		fmt.Println(token)
		return
	}
	cmd, err := join.JoinCommand(ctx, c, token)
	if err != nil {
		cli.Fatal("skiff token create", err)
	}
	if *uploadCerts {
		d := *dir
		if d == "" {
			d = "/var/lib/skiff"
		}
		key, err := launcher.UploadCerts(ctx, c, d, token)
		if err != nil {
			cli.Fatal("skiff token create", err)
		}
		// skiff join SERVER --token T --discovery-token-ca-cert-hash H → skiff init --control-plane-join SERVER ...
		fmt.Println(strings.Replace(cmd, "skiff join ", "skiff init --control-plane-join ", 1) + " --certificate-key " + key + " --advertise-address THIS-MACHINE-IP")
		return
	}
	if *ingressKC != "" {
		cmd += " --ingress-kubeconfig " + *ingressKC
	}
	fmt.Println(cmd)
}
