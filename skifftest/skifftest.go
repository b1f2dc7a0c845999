// Package skifftest starts a skiff cluster for another project's tests: an API server over
// an embedded etcd, the scheduler, the controller manager and simulated nodes, all in the
// test's own process (no binaries to build, ports picked by the kernel), secure as `skiff up`
// is (TLS, client certificates, Node+RBAC authorization). The cluster stops when the test
// ends and leaves no files behind.
//
//	c := skifftest.Start(t, skifftest.Options{Nodes: 3, CRDs: []string{"config/crd"}})
//	cl, err := ctrlclient.New(c.RESTConfig(), ctrlclient.Options{})
//	mgr, err := ctrl.NewManager(c.RESTConfig(), ctrl.Options{...})
//	exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "get", "nodes")
//
// Unlike envtest's API server alone, Deployments roll out, pods are scheduled and report
// Running on their (simulated) nodes, the garbage collector follows ownerReferences, and
// namespaces are deleted for real. With Runtime "containerd" the cluster runs real
// containers instead, as `skiff up` does (root, containerd and CNI plugins needed).
package skifftest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/controlplane"
	"github.com/skiff-sh/skiff/pki"
)

// NoNodes asks for a cluster without nodes (Options.Nodes).
const NoNodes = -1

// Options choose what the cluster runs. The zero value is a control plane (API server,
// scheduler, controller manager) with one simulated node.
type Options struct {
	// Nodes is how many nodes the cluster has (0: one; NoNodes: none). Simulated nodes are
	// named sim (one) or sim-0, sim-1, ... and run in this process; containerd nodes
	// (Runtime) are node-1, node-2, ...
	Nodes int
	// Runtime is the nodes' runtime: "sim" (the default: simulated containers, like kwok,
	// in this process) or "containerd" (real containers: the cluster then runs as `skiff up`
	// runs it, as processes, and needs root, containerd, runc and the CNI plugins; Start
	// fails the test with the reason where the machine lacks them).
	Runtime string
	// NoScheduler and NoControllers leave the scheduler or the controller manager out (then
	// pods stay Pending, or Deployments make no ReplicaSets: an envtest-like API server).
	NoScheduler, NoControllers bool
	// CRDs are CustomResourceDefinition manifests to install before Start returns: paths of
	// YAML or JSON files, or of directories whose *.yaml, *.yml and *.json files are read
	// (as envtest's CRDDirectoryPaths). Several documents may share a file ("---").
	CRDs []string
	// CRDManifests are CRD manifests given as YAML or JSON text.
	CRDManifests []string
	// APIServerArgs are skiff-apiserver flags (e.g. "--authorization-mode", "AlwaysAllow",
	// "--audit-log-path", "-"); flags about listening, etcd and certificates are the
	// harness's.
	APIServerArgs []string
	// Configure, if set, adjusts the in-process API server's configuration last (for what
	// has no flag, e.g. a short BookmarkInterval). Not used with Runtime "containerd".
	Configure func(*apiserver.Config)
	// EtcdQuotaBytes is the embedded etcd's backend quota (0: etcd's default).
	EtcdQuotaBytes int64
	// NodeCPU and NodeMemory are each simulated node's capacity (default 32 and 256Gi).
	NodeCPU, NodeMemory string
	// Log receives the components' warnings and errors (default os.Stderr).
	Log io.Writer
	// StartTimeout bounds Start (default 2 minutes; 5 with Runtime "containerd"): past it
	// the test fails with what was not ready, rather than hang.
	StartTimeout time.Duration
}

// Cluster is a running cluster. Its fields are read-only.
type Cluster struct {
	// URL is the API server's address (https://127.0.0.1:PORT).
	URL string
	// Kubeconfig is the path of an administrator's kubeconfig (system:masters), for kubectl
	// and anything that reads one.
	Kubeconfig string
	// CAData is the cluster CA certificate (PEM) the API server's certificate is signed by;
	// CertData and KeyData are the administrator's client certificate and key (PEM).
	CAData, CertData, KeyData []byte
	// PKI is the cluster CA (issue more client or serving certificates with PKI.CA.Issue).
	PKI *pki.Dir
	// Nodes are the names of the cluster's nodes.
	Nodes []string
	// API and Etcd are the in-process API server and its etcd client (nil with Runtime
	// "containerd"), for tests of skiff itself.
	API  *apiserver.Server
	Etcd *clientv3.Client

	dir    string
	log    *slog.Logger
	stop   []func() // run last-first by Stop
	errs   chan error
	mu     sync.Mutex
	failed error
}

// Start starts a cluster and registers its stop with t.Cleanup. It returns once the API
// server is ready, every node is Ready, the default ServiceAccount exists (with the
// controller manager) and every CRD is Established; anything else fails the test.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	c, err := start(t, o)
	if err != nil {
		t.Fatalf("skifftest.Start: %v", err)
	}
	return c
}

func start(t testing.TB, o Options) (*Cluster, error) {
	if o.Nodes < NoNodes {
		return nil, fmt.Errorf("Options.Nodes %d: want NoNodes, 0 (one) or more", o.Nodes)
	}
	if o.Nodes == 0 {
		o.Nodes = 1
	}
	if o.Nodes == NoNodes {
		o.Nodes = 0
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	crds, err := readCRDs(o.CRDs, o.CRDManifests) // crds.go; a bad file fails before anything starts
	if err != nil {
		return nil, err
	}
	// The removal of a temp dir made now runs after the cluster's stop (t.Cleanup is
	// last-first), so nothing the cluster writes is left behind.
	dir := t.TempDir()
	c := &Cluster{dir: dir, errs: make(chan error, 8),
		log: slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	t.Cleanup(func() {
		c.Stop()
		if err := c.err(); err != nil {
			t.Errorf("skifftest: a component failed while the test ran: %v", err)
		}
	})
	timeout := o.StartTimeout
	switch o.Runtime {
	case "", "sim":
		if timeout == 0 {
			timeout = 2 * time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := c.startInProcess(ctx, o); err != nil {
			return nil, err
		}
	case "containerd":
		if timeout == 0 {
			timeout = 5 * time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := c.startContainerd(ctx, o); err != nil { // containerd.go
			return nil, err
		}
	default:
		return nil, fmt.Errorf("Options.Runtime %q: want sim or containerd", o.Runtime)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.installCRDs(ctx, crds); err != nil {
		return nil, err
	}
	return c, nil
}

// startInProcess runs etcd, the API server and the chosen components in this process.
func (c *Cluster) startInProcess(ctx context.Context, o Options) error {
	cp, err := controlplane.Start(c.dir, controlplane.Options{APIServerArgs: o.APIServerArgs, Configure: o.Configure,
		EtcdQuotaBytes: o.EtcdQuotaBytes, NoServiceAccountAdmission: o.NoControllers, Logger: c.log})
	if err != nil {
		return err
	}
	c.stop = append(c.stop, cp.Stop)
	c.URL, c.Kubeconfig, c.PKI, c.API, c.Etcd = cp.URL, cp.Kubeconfig, cp.PKI, cp.API, cp.Etcd
	c.CAData, c.CertData, c.KeyData = cp.CAData, cp.CertData, cp.KeyData
	return c.startComponents(ctx, o) // components.go
}

// Binaries builds every skiff program (go build ./cmd/...) once per test process, into a
// temporary directory, and returns that directory. Clusters of real processes (Runtime
// "containerd", skiff's own end-to-end tests) run these.
func Binaries() (string, error) { return controlplane.Binaries() }

// ClientConfig is an administrator's configuration for skiff's own client (a copy).
func (c *Cluster) ClientConfig() *client.Config {
	return &client.Config{Host: c.URL, TLS: client.TLSConfig{CAData: c.CAData, CertData: c.CertData, KeyData: c.KeyData}}
}

// Client is an administrator's skiff client.
func (c *Cluster) Client(t testing.TB) *client.Client {
	t.Helper()
	cl, err := client.New(c.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// UserConfig is a skiff client configuration authenticating as user (in groups) with a
// client certificate from the cluster CA.
func (c *Cluster) UserConfig(t testing.TB, user string, groups ...string) *client.Config {
	t.Helper()
	cert, key, err := c.PKI.CA.Issue(pkiClient(user, groups))
	if err != nil {
		t.Fatal(err)
	}
	return &client.Config{Host: c.URL, TLS: client.TLSConfig{CAData: c.CAData, CertData: cert, KeyData: key}}
}

// Stop stops the cluster (the components, then the API server and etcd); t.Cleanup calls
// it, and calling it again does nothing.
func (c *Cluster) Stop() {
	for i := len(c.stop) - 1; i >= 0; i-- {
		c.stop[i]()
	}
	c.stop = nil
}

// fail records a component's failure while the test runs; the test fails with it at the end.
func (c *Cluster) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		c.failed = err
	}
	select {
	case c.errs <- err:
	default:
	}
}

func (c *Cluster) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// pkiClient is a client certificate request for user in groups.
func pkiClient(user string, groups []string) pki.CertRequest {
	return pki.CertRequest{CommonName: user, Organization: groups, Usage: pki.ClientAuth}
}
