package apiserver_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/internal/imageimport"
	"github.com/skiff-sh/skiff/nodeagent/images"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/server"
	"github.com/skiff-sh/skiff/test/harness"
)

// importingRuntime loads image archives as containerd would be asked to: it reads the tar
// stream to its end (a broken one is the archive's fault) and answers the image's name,
// read from the archive's manifest.json (docker save's format).
type importingRuntime struct {
	*fakeRuntime
	mu  sync.Mutex
	got [][]byte
}

func (r *importingRuntime) Import(_ context.Context, rd io.Reader) ([]string, error) {
	data, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", runtime.ErrInvalidImageArchive, err)
		}
		if h.Name == "manifest.json" { // docker save's
			var m []struct{ RepoTags []string }
			b, _ := io.ReadAll(tr)
			json.Unmarshal(b, &m)
			for _, e := range m {
				names = append(names, e.RepoTags...)
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no image in it", runtime.ErrInvalidImageArchive)
	}
	r.mu.Lock()
	r.got = append(r.got, data)
	r.mu.Unlock()
	return names, nil
}

func (r *importingRuntime) imported() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

func imageArchive(t *testing.T, name string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := images.Build(&buf, images.Image{Name: name, Entrypoint: []string{"/app"},
		Files: []images.File{{Path: "/app", Mode: 0o755, Data: []byte("#!/bin/sh\n")}}}); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(f, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// nodes/images: `skiff image import --kubeconfig` uploads an archive through the API server
// to each node agent (a real node agent server over a runtime that records what it loads);
// it is authorized as `create nodes/images` — a user without it gets 403 with Kubernetes'
// message, the skiff:image-importer role grants it —, and a node refuses what is not an
// image archive (400), what is larger than it takes (413), and loading into a runtime that
// has no images (400), each with a message that says so.
func TestNodeImagesImport(t *testing.T) {
	a, srv := newAPI(t, harness.ServerOptions{})
	n1 := &importingRuntime{fakeRuntime: &fakeRuntime{logDir: t.TempDir()}}
	n2 := &importingRuntime{fakeRuntime: &fakeRuntime{logDir: t.TempDir()}}
	small := &importingRuntime{fakeRuntime: &fakeRuntime{logDir: t.TempDir()}}
	startNodeServer(t, a, "n1", &server.Server{Runtime: n1})
	startNodeServer(t, a, "n2", &server.Server{Runtime: n2})
	startNodeServer(t, a, "small", &server.Server{Runtime: small, MaxImageBytes: 1024})
	startNodeServer(t, a, "sim", &server.Server{Runtime: &fakeRuntime{logDir: t.TempDir()}})
	arch := imageArchive(t, "skiff.local/app:1")
	want, _ := os.ReadFile(arch)
	ctx := context.Background()

	// The administrator loads into one node, then every node; each says what it loaded.
	admin := srv.UserConfig(t, "root", "system:masters")
	var out bytes.Buffer
	if err := imageimport.Import(ctx, admin, []string{arch}, imageimport.Options{Node: "n1", Out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "n1: skiff.local/app:1\n" || len(n1.imported()) != 1 || !bytes.Equal(n1.imported()[0], want) {
		t.Fatalf("--node n1: %q, n1 loaded %d archives", out.String(), len(n1.imported()))
	}
	out.Reset()
	err := imageimport.Import(ctx, admin, []string{arch}, imageimport.Options{Out: &out})
	if out.String() != "n1: skiff.local/app:1\nn2: skiff.local/app:1\n" || len(n2.imported()) != 1 {
		t.Errorf("every node: %q", out.String())
	}
	// The two nodes that cannot take it fail, each with its reason; the others loaded it.
	for _, w := range []string{
		"node sim: " + arch + ": this node's runtime cannot load images (simulated node) (400 BadRequest)",
		"node small: " + arch + ": image archive of " + fmt.Sprint(len(want)) + " bytes is larger than this node agent takes (1024 bytes; --max-image-archive-bytes) (413 RequestEntityTooLarge)",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("every node: error %v, want it to say %q", err, w)
		}
	}

	// bob may not: 403 for the upload itself, as Kubernetes words it.
	bob := srv.UserConfig(t, "bob")
	bobHC, err := bob.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	post := func(hc *http.Client, node string, body []byte) (int, map[string]any) {
		t.Helper()
		resp, err := hc.Post(srv.URL+"/api/v1/nodes/"+node+"/images", "application/x-tar", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var st map[string]any
		json.Unmarshal(b, &st)
		if st == nil {
			st = map[string]any{"body": string(b)}
		}
		return resp.StatusCode, st
	}
	if code, st := post(bobHC, "n1", want); code != 403 || st["message"] != `nodes "n1" is forbidden: User "bob" cannot create resource "nodes/images" in API group "" at the cluster scope` {
		t.Errorf("bob: %d %v", code, st)
	}
	if err := imageimport.Import(ctx, bob, []string{arch}, imageimport.Options{Node: "n1"}); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("bob's skiff image import: %v", err)
	}
	// Bound to skiff:image-importer, bob may.
	a.must(201, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"metadata":{"name":"bob-imports"},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"skiff:image-importer"},
		"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"bob"}]}`)
	harness.Eventually(t, 30*time.Second, "bob may import once bound", func() (bool, string) {
		out.Reset()
		err := imageimport.Import(ctx, bob, []string{arch}, imageimport.Options{Node: "n2", Out: &out})
		return err == nil, fmt.Sprint(err)
	})
	if out.String() != "n2: skiff.local/app:1\n" {
		t.Errorf("bob bound: %q", out.String())
	}

	// What is not an image archive: refused by the command before sending, and by the node.
	junk := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(junk, []byte(strings.Repeat("not an image\n", 100)), 0o644)
	if err := imageimport.Import(ctx, admin, []string{junk}, imageimport.Options{}); err == nil || !strings.Contains(err.Error(), "is not an image archive: not a tar archive") {
		t.Errorf("junk file: %v", err)
	}
	adminHC, err := admin.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		body []byte
		msg  string
	}{
		{"empty", nil, "invalid image archive: the upload is empty"},
		{"text", bytes.Repeat([]byte("not an image\n"), 100), "invalid image archive: not a tar archive (docker save or OCI layout): archive/tar: invalid tar header"},
		{"cut short", want[:len(want)/2], "invalid image archive: unexpected EOF"},
	} {
		code, st := post(adminHC, "n1", tc.body)
		if code != 400 || st["reason"] != "BadRequest" || !strings.Contains(fmt.Sprint(st["message"]), tc.msg) {
			t.Errorf("%s: %d %v, want 400 %q", tc.name, code, st, tc.msg)
		}
	}
	if code, st := post(adminHC, "ghost", want); code != 404 || st["message"] != `nodes "ghost" not found` {
		t.Errorf("unknown node: %d %v", code, st)
	}
	resp, err := adminHC.Get(srv.URL + "/api/v1/nodes/n1/images")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET nodes/images: %d", resp.StatusCode)
	}
	if len(n1.imported()) != 2 {
		t.Errorf("n1 loaded %d archives, want 2 (refused uploads load nothing)", len(n1.imported()))
	}
}
