package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/launcher"
)

// pkiFiles is `skiff pki`: the CA, certificates and kubeconfigs of a control plane whose
// programs run apart (the docker-compose stack runs it before anything else starts).
func pkiFiles(args []string) {
	fs := flag.NewFlagSet("pki", flag.ExitOnError)
	var f launcher.PKIFiles
	fs.StringVar(&f.Dir, "dir", "", "where pki/ and kubeconfigs/ go (kept: a second run reuses the CA)")
	fs.StringVar(&f.Server, "server", "", "the API server's URL as the programs dial it, e.g. https://apiserver:6443")
	sans := fs.String("apiserver-names", "", "more names and addresses of the API server's certificate, comma-separated")
	nodes := fs.String("nodes", "", "node names to write node agent kubeconfigs for, comma-separated")
	fs.StringVar(&f.AdminKubeconfig, "admin-kubeconfig", "", "also write the administrator's kubeconfig (system:masters) here")
	fs.StringVar(&f.AdminServer, "admin-server", "", "the API server's URL in the administrator's kubeconfig (default --server)")
	fs.Parse(args)
	f.SANs, f.Nodes = split(*sans), split(*nodes)
	written, err := launcher.WritePKIFiles(f)
	if err != nil {
		cli.Fatal("skiff pki", err)
	}
	for _, w := range written {
		fmt.Println(w)
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
