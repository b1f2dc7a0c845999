package storage

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EmbeddedOptions tunes StartEmbedded. The zero value is the production default.
type EmbeddedOptions struct {
	// QuotaBackendBytes is the database size at which etcd stops accepting writes
	// (default 8 GiB, etcd's recommended maximum).
	QuotaBackendBytes int64
	// ListenTCP serves clients on a random loopback port instead of a unix socket in the
	// data directory. It is chosen anyway when the socket path is too long for the kernel.
	ListenTCP bool
	// UnsafeNoFsync skips fsync: a crash can lose or corrupt data. For tests only.
	UnsafeNoFsync bool
}

// EmbeddedEtcd is a single-member etcd running inside this process, reachable only from
// this machine: clients on a unix socket (or a loopback port), the unused peer listener
// on a random loopback port.
type EmbeddedEtcd struct {
	etcd     *embed.Etcd
	client   *clientv3.Client
	endpoint string
	logLevel zap.AtomicLevel
	quota    int64
}

// maxUnixPath is a little under the kernel's sun_path limit (108 on Linux, 104 on BSDs).
const maxUnixPath = 100

// StartEmbedded starts etcd with its data in dataDir (created if missing, reused if it holds
// a previous run's data) and returns once it serves requests.
// embeddedCatchUpEntries is the raft log the single embedded member keeps in memory.
const embeddedCatchUpEntries = 10

func StartEmbedded(ctx context.Context, dataDir string, opts EmbeddedOptions) (*EmbeddedEtcd, error) {
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "skiff"
	cfg.Dir = dataDir
	logLevel := zap.NewAtomicLevelAt(zap.ErrorLevel)
	logger := newLogger(logLevel)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(logger)
	cfg.QuotaBackendBytes = opts.QuotaBackendBytes
	if cfg.QuotaBackendBytes <= 0 {
		cfg.QuotaBackendBytes = 8 << 30
	}
	cfg.UnsafeNoFsync = opts.UnsafeNoFsync
	cfg.EnableGRPCGateway = false // only gRPC clients talk to it
	// etcd keeps the last SnapshotCatchUpEntries raft entries in memory (default 5,000) for
	// followers that fall behind. This member has none, and each entry holds a whole
	// request: 300 updates of a 900 KB object kept ~270 MB of heap. With 10, the log in
	// memory is what the last ~110 writes carried (etcd snapshots to memory every 100).
	cfg.SnapshotCatchUpEntries = embeddedCatchUpEntries

	// A single member never dials its peers, but etcd insists on a peer listener; port 0
	// keeps it off any well-known port.
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	// A unix socket inside the data directory is as private as the data itself.
	client := url.URL{Scheme: "unix", Path: filepath.Join(dataDir, "etcd.sock")}
	if opts.ListenTCP || len(client.Path) > maxUnixPath {
		client = url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", dataDir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}

	endpoint := client.String()
	if client.Scheme == "http" {
		// Port 0 was resolved by the kernel: ask the listener which port it got.
		endpoint = "http://" + e.Clients[0].Addr().String()
	}
	c, err := newClient([]string{endpoint}, logger)
	if err != nil {
		e.Close()
		return nil, err
	}
	return &EmbeddedEtcd{etcd: e, client: c, endpoint: endpoint, logLevel: logLevel, quota: cfg.QuotaBackendBytes}, nil
}

// Quota is the backend quota the member runs with.
func (e *EmbeddedEtcd) Quota() int64 { return e.quota }

// Client is connected to the embedded etcd and closed by Close.
func (e *EmbeddedEtcd) Client() *clientv3.Client { return e.client }

// Endpoint is the client URL (unix:///... or http://127.0.0.1:port), for tools like etcdctl.
func (e *EmbeddedEtcd) Endpoint() string { return e.endpoint }

// Err reports a fatal etcd error after start (the server is then unusable).
func (e *EmbeddedEtcd) Err() <-chan error { return e.etcd.Err() }

// Close stops the client and the server, waiting until the data is flushed.
func (e *EmbeddedEtcd) Close() {
	// Stopping makes etcd log every listener it closes as an error; they are not.
	e.logLevel.SetLevel(zap.FatalLevel)
	_ = e.client.Close() // the error only says the client was already closing
	e.etcd.Close()
}

// ClientOption configures NewClient.
type ClientOption func(*clientv3.Config)

// WithTLS connects with TLS (client certificate and CA as the cluster requires).
func WithTLS(cfg *tls.Config) ClientOption {
	return func(c *clientv3.Config) { c.TLS = cfg }
}

// NewClient connects to an etcd cluster (an external one, for --etcd-servers). Endpoints are
// URLs: http(s)://host:port or unix:///path.
func NewClient(endpoints []string, opts ...ClientOption) (*clientv3.Client, error) {
	return newClient(endpoints, newLogger(zap.NewAtomicLevelAt(zap.ErrorLevel)), opts...)
}

func newClient(endpoints []string, logger *zap.Logger, opts ...ClientOption) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		// Keepalives detect a dead member behind an idle watch, as Kubernetes configures.
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		Logger:               logger,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to etcd %v: %w", endpoints, err)
	}
	return c, nil
}

// newLogger writes etcd's JSON logs to stderr at level (error: quiet unless something is
// actually wrong).
func newLogger(level zap.AtomicLevel) *zap.Logger {
	cfg := zap.NewProductionConfig()
	cfg.Level = level
	lg, err := cfg.Build()
	if err != nil {
		return zap.NewNop()
	}
	return lg
}
