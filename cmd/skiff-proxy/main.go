// Command skiff-proxy is the service proxy and cluster DNS of one node (see package proxy):
// it programs Service VIPs and node ports with iptables (default), nftables or IPVS and
// serves DNS for the cluster domain. Run one per node, in the node's network namespace.
//
// `skiff-proxy --cleanup` removes every rule, table and interface a proxy left and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/proxy"
)

const prog = "skiff-proxy"

func main() {
	var (
		cfg                                  proxy.Config
		kubeconfig, server, upstreams, level string
		format                               string
		cleanup, dnsService                  bool
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (default $KUBECONFIG, ~/.kube/config)")
	flag.StringVar(&server, "server", "", cli.ServerFlagUsage)
	flag.StringVar(&cfg.NodeName, "node-name", defaultNodeName(), "this node's name: its endpoints are the local ones (traffic policy Local)")
	flag.StringVar(&cfg.Mode, "mode", proxy.ModeIPTables, "iptables, nftables or ipvs")
	flag.StringVar(&cfg.IPTablesCommand, "iptables-command", "iptables", "with --mode iptables: iptables (the system's) or iptables-legacy (much faster restores with thousands of Services when the system's is iptables-nft)")
	flag.StringVar(&cfg.ClusterCIDR, "cluster-cidr", "10.244.0.0/16", "the pod network; Service traffic from outside it is masqueraded")
	flag.StringVar(&cfg.DNSAddr, "dns-addr", "10.96.0.10:53", "where cluster DNS is served, UDP and TCP (empty: no DNS); a non-local address is put on --dns-interface")
	flag.StringVar(&cfg.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	flag.StringVar(&upstreams, "dns-upstreams", "", "comma-separated ip[:port] resolvers for other names (default: the nameservers of --resolv-conf; \"none\": forward nothing)")
	flag.StringVar(&cfg.ResolvConf, "resolv-conf", "/etc/resolv.conf", "the node's resolver configuration, source of the default upstreams")
	flag.StringVar(&cfg.VIPInterface, "dns-interface", proxy.DefaultVIPInterface, "interface (a port-less bridge, made if missing) holding the DNS address")
	flag.BoolVar(&dnsService, "dns-service", true, "create Service kube-system/kube-dns at the DNS address if missing (reserves the address)")
	flag.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:10249", "HOST:PORT serving /metrics, /healthz and /readyz (empty: off)")
	flag.StringVar(&cfg.HealthzAddr, "healthz-addr", "127.0.0.1:10256", "HOST:PORT serving /healthz, which fails when syncs stall (empty: off)")
	flag.DurationVar(&cfg.MinSyncPeriod, "min-sync-period", time.Second, "at most one rules sync this often (a burst of changes becomes one sync)")
	flag.DurationVar(&cfg.SyncPeriod, "sync-period", 30*time.Second, "full resync interval (kernel state re-read and every rule re-applied)")
	flag.BoolVar(&cfg.NetworkPolicies, "network-policies", true, "enforce NetworkPolicies for this node's pods (needs nft)")
	flag.BoolVar(&cleanup, "cleanup", false, "remove the rules, table and DNS interface any skiff-proxy left on this node, then exit")
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()

	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal(prog, err)
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	if cleanup {
		if err := proxy.Cleanup(ctx, nil, cfg.VIPInterface); err != nil {
			cli.Fatal(prog, err)
		}
		return
	}
	cfg.Log = log
	cfg.EnsureDNSService = dnsService
	switch upstreams {
	case "":
	case "none":
		cfg.DNSUpstreams = []string{}
	default:
		for _, u := range strings.Split(upstreams, ",") {
			if u = strings.TrimSpace(u); u == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(u); err != nil {
				u = net.JoinHostPort(u, "53")
			}
			cfg.DNSUpstreams = append(cfg.DNSUpstreams, u)
		}
	}
	cc, err := cli.ClientConfig(kubeconfig, server)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cc.UserAgent = prog + "/" + cfg.NodeName
	if cfg.Client, err = client.New(cc); err != nil {
		cli.Fatal(prog, err)
	}
	if err := proxy.Run(ctx, cfg); err != nil && !errors.Is(err, context.Canceled) {
		cli.Fatal(prog, err)
	}
}

func defaultNodeName() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
}
