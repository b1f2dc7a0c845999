package main

import (
	"os"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/internal/imageimport"
)

// importThroughAPI is `skiff image import --kubeconfig KC [--node N] FILE...`.
func importThroughAPI(kubeconfig, node string, files []string) {
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		cli.Fatal("skiff image import", err)
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	if err := imageimport.Import(ctx, cfg, files, imageimport.Options{Node: node, Out: os.Stdout}); err != nil {
		cli.Fatal("skiff image import", err)
	}
}
