package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/dashboard"
	"github.com/skiff-sh/skiff/internal/cli"
)

// runDashboard is `skiff dashboard`: the teaching view on 127.0.0.1, acting with the
// cluster's admin kubeconfig (DIR/kubeconfig), as `kubectl proxy` does.
func runDashboard(args []string) {
	fs := flag.NewFlagSet("dashboard", flag.ExitOnError)
	dir := fs.String("data-dir", "", "the cluster's data dir, whose admin kubeconfig is used (default ~/.skiff)")
	port := fs.Int("port", 8080, "port on 127.0.0.1 (0: any free port)")
	level := fs.String("log-level", "info", "log level")
	fs.Parse(args)
	log, err := cli.Logger(*level, "text")
	if err != nil {
		cli.Fatal("skiff dashboard", err)
	}
	cfg, err := adminConfig(*dir)
	if err != nil {
		cli.Fatal("skiff dashboard", err)
	}
	c, err := client.New(cfg)
	if err != nil {
		cli.Fatal("skiff dashboard", err)
	}
	d, err := dashboard.New(dashboard.Config{Client: c, Addr: "127.0.0.1:" + strconv.Itoa(*port), Log: log})
	if err != nil {
		cli.Fatal("skiff dashboard", err)
	}
	fmt.Printf("skiff dashboard: %s (cluster %s; Ctrl-C stops it)\n", d.URL(), c.Host())
	ctx, stop := cli.SignalContext()
	defer stop()
	if err := d.Run(ctx); err != nil {
		cli.Fatal("skiff dashboard", err)
	}
}

// adminConfig loads DIR/kubeconfig, saying plainly what is wrong when DIR holds no cluster.
func adminConfig(dir string) (*client.Config, error) {
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(home, ".skiff")
	}
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data dir %s does not exist: start a cluster with `skiff up --data-dir %s`, or pass the --data-dir of a running one", dir, dir)
	} else if err == nil && !st.IsDir() {
		return nil, fmt.Errorf("data dir %s is not a directory", dir)
	}
	kc := filepath.Join(dir, "kubeconfig")
	if _, err := os.Stat(kc); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no cluster in %s: %s does not exist (written by `skiff up --data-dir %s`)", dir, kc, dir)
	}
	cfg, err := client.LoadKubeconfig(kc, "")
	if err != nil {
		return nil, fmt.Errorf("the admin kubeconfig %s: %w", kc, err)
	}
	return cfg, nil
}
