package harness

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/storage"
)

// Server is an in-process API server over an embedded etcd, served by httptest.
type Server struct {
	URL        string
	Kubeconfig string
	Etcd       *clientv3.Client
	API        *apiserver.Server
	cancel     context.CancelFunc
	http       *httptest.Server
}

// ServerOptions tune an in-process server.
type ServerOptions struct {
	WatchHistory     int
	BookmarkInterval time.Duration
	MaxRequestBytes  int64
}

// StartServer starts embedded etcd and an API server in this process; both stop with the test.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
		cancel()
		t.Fatal(err)
	}
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	if err != nil {
		cancel()
		t.Fatalf("embedded etcd: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	api, err := apiserver.New(ctx, apiserver.Config{
		WatchHistory: o.WatchHistory, BookmarkInterval: o.BookmarkInterval, MaxRequestBytes: o.MaxRequestBytes, Logger: logger,
	}, storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
	if err != nil {
		cancel()
		e.Close()
		t.Fatalf("api server: %v", err)
	}
	hs := httptest.NewUnstartedServer(api.Handler())
	hs.Config.BaseContext = nil
	hs.Start()
	s := &Server{URL: hs.URL, Etcd: e.Client(), API: api, cancel: cancel, http: hs}
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, s.Kubeconfig, hs.URL)
	t.Cleanup(func() {
		cancel()
		hs.CloseClientConnections()
		hs.Close()
		e.Close()
	})
	return s
}

func writeKubeconfig(t testing.TB, path, server string) {
	t.Helper()
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: " + server +
		"\nusers:\n- name: t\n  user: {}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\ncurrent-context: t\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}
