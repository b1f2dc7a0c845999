// Command skiff-scheduler assigns pending pods to nodes (see package scheduler).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/scheduler"
)

const prog = "skiff-scheduler"

func main() {
	var (
		kubeconfig, server, configPath, lockNS, metricsAddr, level, format string
		leaderElect                                                        bool
		qps                                                                float64
		burst                                                              int
		cfg                                                                scheduler.Config
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the API server (default: $KUBECONFIG or ~/.kube/config)")
	flag.StringVar(&server, "server", "", cli.ServerFlagUsage)
	flag.StringVar(&configPath, "config", "", "KubeSchedulerConfiguration file (YAML); default: one default-scheduler profile")
	flag.BoolVar(&leaderElect, "leader-elect", true, "compete for a Lease so that only one replica schedules")
	flag.StringVar(&lockNS, "lock-namespace", "kube-system", "namespace of the leader Lease")
	flag.StringVar(&cfg.LeaderElection.Name, "lock-name", "kube-scheduler", "name of the leader Lease")
	flag.DurationVar(&cfg.LeaderElection.LeaseDuration, "leader-elect-lease-duration", 0, "how long followers wait before taking over an unrenewed lease (default 15s)")
	flag.DurationVar(&cfg.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", 0, "how long the leader retries renewing before giving up (default 10s)")
	flag.DurationVar(&cfg.LeaderElection.RetryPeriod, "leader-elect-retry-period", 0, "interval between lease attempts (default 2s)")
	flag.StringVar(&metricsAddr, "metrics-addr", "127.0.0.1:10259", "HOST:PORT serving /metrics, /healthz and /readyz (empty: off)")
	flag.Float64Var(&qps, "kube-api-qps", 0, "requests per second to the API server; 0 means unlimited (the scheduler sends a binding per pod)")
	flag.IntVar(&burst, "kube-api-burst", 0, "burst of requests to the API server (with --kube-api-qps)")
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()

	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cfg.Logger = log
	if configPath != "" {
		c, err := scheduler.LoadConfigFile(configPath)
		if err != nil {
			cli.Fatal(prog, err)
		}
		cfg.Configuration = c
		// The file's leaderElection section applies where no flag was given.
		if le := c.LeaderElection; le != nil && le.LeaderElect != nil && !flagSet("leader-elect") {
			leaderElect = *le.LeaderElect
		}
		if cc := c.ClientConnection; cc != nil && kubeconfig == "" {
			kubeconfig = cc.Kubeconfig
		}
	}
	cfg.LeaderElection.Enabled = leaderElect
	cfg.LeaderElection.Namespace = lockNS
	cfg.MetricsAddr = metricsAddr

	cc, err := cli.ClientConfig(kubeconfig, server)
	if err != nil {
		cli.Fatal(prog, err)
	}
	// Unthrottled by default: the scheduler's own rate is bounded by its queue, and a client
	// limit would be the throughput ceiling (upstream's default of 50 QPS gives ~60 pods/s).
	cc.QPS, cc.Burst = float32(qps), burst
	cc.UserAgent = prog
	c, err := client.New(cc)
	if err != nil {
		cli.Fatal(prog, err)
	}
	cfg.Client = c

	ctx, stop := cli.SignalContext()
	defer stop()
	err = scheduler.Run(ctx, cfg)
	if errors.Is(err, scheduler.ErrLostLeadership) {
		fmt.Fprintf(os.Stderr, "%s: %v; exiting so that a fresh process competes again\n", prog, err)
		os.Exit(1)
	}
	if err != nil {
		cli.Fatal(prog, err)
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
