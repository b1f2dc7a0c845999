// Command skiff-apiserver serves the Kubernetes API over etcd (embedded by default).
package main

import (
	"flag"
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
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()
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
