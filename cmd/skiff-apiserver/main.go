// Command skiff-apiserver serves the Kubernetes API over etcd (embedded by default).
package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/internal/cli"
)

func main() {
	var cfg apiserver.Config
	var etcd, level, format string
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:6443", "HOST:PORT to serve the API on")
	flag.StringVar(&cfg.DataDir, "data-dir", "", "directory of the embedded etcd's data (ignored with --etcd-servers)")
	flag.StringVar(&etcd, "etcd-servers", "", "comma-separated client URLs of an external etcd cluster; then nothing is embedded")
	flag.DurationVar(&cfg.CompactInterval, "compact-interval", 0, "how often etcd history is compacted (default 5m)")
	flag.StringVar(&cfg.ServiceCIDR, "service-cluster-ip-range", "10.96.0.0/12", "the CIDR Service cluster IPs are allocated from")
	nodePorts := flag.String("service-node-port-range", "30000-32767", "the range Service node ports are allocated from")
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()
	if _, err := fmt.Sscanf(*nodePorts, "%d-%d", &cfg.NodePortMin, &cfg.NodePortMax); err != nil || cfg.NodePortMin <= 0 || cfg.NodePortMax < cfg.NodePortMin || cfg.NodePortMax > 65535 {
		cli.Fatal("skiff-apiserver", fmt.Errorf("--service-node-port-range %q: want MIN-MAX", *nodePorts))
	}
	if etcd != "" {
		cfg.EtcdServers = strings.Split(etcd, ",")
	}
	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal("skiff-apiserver", err)
	}
	cfg.Logger = log
	ctx, stop := cli.SignalContext()
	defer stop()
	if err := apiserver.Run(ctx, cfg); err != nil {
		cli.Fatal("skiff-apiserver", err)
	}
}
