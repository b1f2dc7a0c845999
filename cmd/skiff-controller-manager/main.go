// Command skiff-controller-manager runs skiff's control loops (see package
// controllermanager): deployments, replica sets, jobs, endpoints, nodes, namespaces,
// garbage collection, ...
package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // CronJob time zones must work on hosts without a zoneinfo database

	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager"
	"github.com/skiff-sh/skiff/controllermanager/rootcacertpublisher"
	"github.com/skiff-sh/skiff/internal/cli"
)

const prog = "skiff-controller-manager"

func main() {
	var (
		kubeconfig, server, controllers, level, format string
		qps                                            float64
		burst                                          int
		cfg                                            controllermanager.Config
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the API server (default: $KUBECONFIG or ~/.kube/config)")
	flag.StringVar(&server, "server", "", cli.ServerFlagUsage)
	flag.BoolVar(&cfg.LeaderElect, "leader-elect", true, "compete for a Lease so that only one replica runs the controllers")
	flag.StringVar(&cfg.LeaseNamespace, "leader-elect-resource-namespace", "kube-system", "namespace of the leader Lease")
	flag.StringVar(&cfg.LeaseName, "leader-elect-resource-name", "kube-controller-manager", "name of the leader Lease")
	flag.DurationVar(&cfg.LeaseDuration, "leader-elect-lease-duration", 0, "how long followers wait before taking over an unrenewed lease (default 15s)")
	flag.DurationVar(&cfg.RenewDeadline, "leader-elect-renew-deadline", 0, "how long the leader retries renewing before giving up (default 10s)")
	flag.DurationVar(&cfg.RetryPeriod, "leader-elect-retry-period", 0, "interval between lease attempts (default 2s)")
	flag.StringVar(&cfg.MetricsAddr, "metrics-addr", "127.0.0.1:10257", `HOST:PORT serving /metrics and /healthz ("-": off)`)
	flag.BoolVar(&cfg.Profiling, "profiling", false, "serve /debug/pprof on --metrics-addr (it has no authentication: off by default)")
	flag.StringVar(&controllers, "controllers", "*", fmt.Sprintf(`controllers to run: "*" for all, "name" to add one, "-name" to remove one (all: %s)`,
		strings.Join(controllermanager.Names(), ", ")))
	flag.IntVar(&cfg.Workers, "concurrent-syncs", 5, "keys each controller reconciles at once")
	o := &cfg.Options
	flag.DurationVar(&o.NodeLifecycle.MonitorPeriod, "node-monitor-period", 5*time.Second, "how often node health is checked")
	flag.DurationVar(&o.NodeLifecycle.GracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may go without a heartbeat before it is Unknown")
	flag.DurationVar(&o.NodeLifecycle.StartupGracePeriod, "node-startup-grace-period", 60*time.Second, "grace period of a node that never reported Ready")
	flag.Float64Var(&o.NodeLifecycle.EvictionRate, "node-eviction-rate", 0.1, "nodes per second that may get NoExecute taints (pod evictions)")
	flag.Float64Var(&o.NodeLifecycle.SecondaryEvictionRate, "secondary-node-eviction-rate", 0.01, "the eviction rate of a large zone in partial disruption")
	flag.StringVar(&o.IPAM.ClusterCIDR, "cluster-cidr", "10.244.0.0/16", "the range nodes' pod CIDRs are allocated from")
	flag.IntVar(&o.IPAM.NodeMaskSize, "node-cidr-mask-size", 24, "prefix length of each node's pod CIDR")
	flag.IntVar(&o.PodGC.TerminatedPodThreshold, "terminated-pod-gc-threshold", 12500, "finished pods kept before the oldest are deleted (negative: keep all)")
	flag.StringVar(&o.CSRSigning.CertFile, "cluster-signing-cert-file", "", "CA certificate (PEM) that signs approved CertificateSigningRequests of the built-in signers (the cluster CA)")
	flag.StringVar(&o.CSRSigning.KeyFile, "cluster-signing-key-file", "", "its private key (PEM)")
	flag.DurationVar(&o.HPA.SyncPeriod, "horizontal-pod-autoscaler-sync-period", 15*time.Second, "how often autoscalers are reconciled")
	flag.DurationVar(&o.HPA.DownscaleStabilization, "horizontal-pod-autoscaler-downscale-stabilization", 5*time.Minute, "the scale-down stabilization window of autoscalers without behavior")
	flag.Float64Var(&o.HPA.Tolerance, "horizontal-pod-autoscaler-tolerance", 0.1, "usage ratios within 1 ± this change nothing")
	flag.DurationVar(&o.HPA.CPUInitializationPeriod, "horizontal-pod-autoscaler-cpu-initialization-period", 5*time.Minute, "how long after its start a pod's CPU is only trusted once it is Ready")
	flag.DurationVar(&o.HPA.InitialReadinessDelay, "horizontal-pod-autoscaler-initial-readiness-delay", 30*time.Second, "how long after its start a pod may still turn Ready for the first time")
	flag.DurationVar(&o.CSRSigning.Duration, "cluster-signing-duration", 365*24*time.Hour, "the longest validity of a signed certificate (a request's expirationSeconds may shorten it)")
	saKeyFile := flag.String("service-account-private-key-file", "", "PEM private key the tokens of service-account-token Secrets are signed with (the API server's ServiceAccount signing key)")
	rootCAFile := flag.String("root-ca-file", "", "PEM CA bundle published as ca.crt in every namespace's kube-root-ca.crt ConfigMap and in token Secrets (default: the CA of --kubeconfig)")
	flag.Float64Var(&qps, "kube-api-qps", 0, "requests per second to the API server; 0 means unlimited")
	flag.IntVar(&burst, "kube-api-burst", 0, "burst of requests to the API server (with --kube-api-qps)")
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()

	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cfg.Logger = log
	cfg.Controllers = strings.Split(controllers, ",")

	cc, err := cli.ClientConfig(kubeconfig, server)
	if err != nil {
		cli.Fatal(prog, err)
	}
	// Unthrottled by default: the controllers' queues pace their work, and a client limit
	// would cap how fast a large rollout can go.
	cc.QPS, cc.Burst = float32(qps), burst
	// The CA pods are given to verify the API server with: --root-ca-file, else the one the
	// controller manager trusts it with (kube-controller-manager's fallback).
	rootCA := cc.TLS.CAData
	if *rootCAFile != "" {
		if rootCA, err = rootcacertpublisher.ReadRootCA(*rootCAFile); err != nil {
			cli.Fatal(prog, err)
		}
	}
	o.RootCA.RootCA = rootCA
	if *saKeyFile != "" {
		if o.ServiceAccountToken.SigningKey, err = serviceaccount.LoadSigningKey(*saKeyFile); err != nil {
			cli.Fatal(prog, err)
		}
		o.ServiceAccountToken.RootCA = rootCA
	}
	cc.UserAgent = prog
	c, err := client.New(cc)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cfg.Client = c

	ctx, stop := cli.SignalContext()
	defer stop()
	err = controllermanager.Run(ctx, cfg)
	if errors.Is(err, controllermanager.ErrLostLeadership) {
		// Exit so that the supervisor restarts us as a follower: nothing of this term may
		// overlap the new leader's work.
		cli.Fatal(prog, err)
	}
	if err != nil {
		cli.Fatal(prog, err)
	}
}
