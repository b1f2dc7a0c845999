// Command skiff-ingress is the ingress controller of one node (see package ingress): it
// serves the Ingresses of the skiff.dev/ingress IngressClasses on the node's addresses,
// ports 80 and 443, proxying to the ready endpoints of their Services. Run one per node, in
// the node's network namespace (skiff up does), under its own identity
// (system:skiff:ingress-controller, which may read TLS Secrets and write ingresses/status).
package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"

	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/ingress"
	"github.com/skiff-sh/skiff/internal/cli"
)

const prog = "skiff-ingress"

func main() {
	var (
		cfg                               ingress.Config
		kubeconfig, server, level, format string
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (default $KUBECONFIG, ~/.kube/config)")
	flag.StringVar(&server, "server", "", cli.ServerFlagUsage)
	flag.StringVar(&cfg.NodeName, "node-name", defaultNodeName(), "this node's name (the source of its events)")
	flag.StringVar(&cfg.HTTPAddr, "http-addr", ":80", "HOST:PORT serving plain HTTP (\"-\": off)")
	flag.StringVar(&cfg.HTTPSAddr, "https-addr", ":443", "HOST:PORT serving TLS (\"-\": off)")
	flag.StringVar(&cfg.Controller, "controller", networking.SkiffController, "serve the IngressClasses whose spec.controller is this")
	flag.StringVar(&cfg.HealthzAddr, "healthz-addr", "127.0.0.1:10254", "HOST:PORT serving /healthz and /readyz (empty: off)")
	flag.BoolVar(&cfg.WriteStatus, "write-status", true, "set status.loadBalancer.ingress of served Ingresses to the Ready nodes' addresses")
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()

	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cfg.Log = log
	ctx, stop := cli.SignalContext()
	defer stop()
	cc, err := cli.ClientConfig(kubeconfig, server)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cc.UserAgent = prog + "/" + cfg.NodeName
	if cfg.Client, err = client.New(cc); err != nil {
		cli.Fatal(prog, err)
	}
	if err := ingress.Run(ctx, cfg); err != nil && !errors.Is(err, context.Canceled) {
		cli.Fatal(prog, err)
	}
}

func defaultNodeName() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
}
