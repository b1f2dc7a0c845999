// Package imageimport is `skiff image import --kubeconfig KC [--node N] FILE...`: it
// uploads image archives (docker save or OCI layout) to nodes through the API server's
// nodes/images subresource (apiserver/nodeimages.go), which relays them to each node
// agent, which loads them into its containerd. Because it goes through the API server only,
// it works wherever kubectl does: `skiff up` nodes, the docker-compose stack's node
// containers, machines that joined with `skiff join`.
package imageimport

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// Options of an import.
type Options struct {
	// Node names the one node to load into; empty means every node.
	Node string
	// Out gets one "NODE: IMAGE" line per image loaded.
	Out io.Writer
}

// Import uploads every file to every node (or o.Node). It goes on past a node that fails,
// so one broken node does not keep the images from the others, and returns every failure.
func Import(ctx context.Context, cfg *client.Config, files []string, o Options) error {
	if len(files) == 0 {
		return errors.New("no image archive given")
	}
	for _, f := range files {
		if err := CheckFile(f); err != nil {
			return err
		}
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	hc, err := cfg.HTTPClient()
	if err != nil {
		return err
	}
	hc.Timeout = 0 // an upload lasts as long as the image is big; ctx bounds it
	nodes, err := targetNodes(ctx, c, o.Node)
	if err != nil {
		return err
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	var errs []error
	for _, n := range nodes {
		for _, f := range files {
			names, err := upload(ctx, hc, c.Host(), n, f)
			if err != nil {
				errs = append(errs, fmt.Errorf("node %s: %s: %w", n, f, err))
				continue
			}
			for _, name := range names {
				fmt.Fprintf(out, "%s: %s\n", n, name)
			}
		}
	}
	return errors.Join(errs...)
}

// targetNodes is the one node asked for (which must exist), or every node, by name.
func targetNodes(ctx context.Context, c *client.Client, name string) ([]string, error) {
	if name != "" {
		n := &core.Node{}
		if err := c.Do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(name), nil, n); err != nil {
			return nil, fmt.Errorf("node %s: %w", name, err)
		}
		return []string{name}, nil
	}
	list := &core.NodeList{}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/nodes", nil, list); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var names []string
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	if len(names) == 0 {
		return nil, errors.New("the cluster has no nodes to load images into")
	}
	sort.Strings(names)
	return names, nil
}

// upload POSTs one archive to one node's nodes/images and returns the images it loaded.
func upload(ctx context.Context, hc *http.Client, host, node, file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(host, "/")+"/api/v1/nodes/"+url.PathEscape(node)+"/images", f)
	if err != nil {
		return nil, err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/x-tar")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		st := &meta.Status{}
		if json.Unmarshal(body, st) == nil && st.Message != "" {
			return nil, fmt.Errorf("%s (%d %s)", st.Message, resp.StatusCode, st.Reason)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.Fields(string(body)), nil
}

// CheckFile refuses, before anything is sent, what cannot be an image archive: a missing
// file, a directory, an empty file, and a file that is neither a tar archive nor gzip.
func CheckFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a file: give an image archive (docker save -o FILE IMAGE, or an OCI layout tar)", name)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		return nil
	}
	if n < 512 {
		return fmt.Errorf("%s is not an image archive: %d bytes is too short for a tar archive (docker save -o FILE IMAGE, or an OCI layout tar)", name, n)
	}
	if _, err := tar.NewReader(bytes.NewReader(head)).Next(); err != nil {
		return fmt.Errorf("%s is not an image archive: not a tar archive (%v); make one with docker save -o FILE IMAGE", name, err)
	}
	return nil
}
