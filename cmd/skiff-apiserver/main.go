// Command skiff-apiserver serves the Kubernetes API over etcd (embedded by default).
package main

import (
	"flag"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/internal/cli"
)

func main() {
	var cfg apiserver.Config
	var level, format string
	finish := cfg.AddFlags(flag.CommandLine) // apiserver/flags.go
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()
	if err := finish(); err != nil {
		cli.Fatal("skiff-apiserver", err)
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
