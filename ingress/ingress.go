// Package ingress is skiff-ingress, the ingress controller built into skiff: one per node,
// leaderless, listening on the node's addresses on ports 80 and 443 as a hostNetwork
// ingress controller does. It serves the Ingresses of every IngressClass whose
// spec.controller is skiff.dev/ingress (the bootstrap class "skiff", the default), and
// Ingresses naming no class while one of its classes is the default.
//
// How it works: informers keep Ingresses, IngressClasses, Services, EndpointSlices,
// kubernetes.io/tls Secrets and Nodes; any change rebuilds the whole routing table
// (package table) from the caches and swaps it in atomically. Requests read the table once
// each, so a change applies to the next request while connections in flight (a WebSocket,
// a long download) carry on untouched. Requests are reverse-proxied straight to a ready
// endpoint of the backend Service (round-robin over pod IPs; the node routes to every pod),
// with X-Forwarded-For/-Host/-Proto/-Port set and the Host header kept; Upgrade
// (WebSocket) and streamed responses pass through. TLS is terminated with the certificate
// of the Ingress TLS entry covering the client's SNI name, else a self-signed fallback.
//
// Bad input never stops it: a missing Service or port, a missing or malformed TLS Secret or
// a rule an older Ingress already claims is reported as a Warning event on the Ingress and
// only that route is affected. status.loadBalancer.ingress lists the addresses of the Ready
// nodes (where skiff-ingress listens); every instance writes the same list, so whichever
// writes first wins and the others find nothing to change.
package ingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/ingress/certgen"
	"github.com/skiff-sh/skiff/ingress/table"
)

// Config of a controller.
type Config struct {
	// Client talks to the API server (required).
	Client *client.Client
	// NodeName is this node (events name it as their source host).
	NodeName string
	// HTTPAddr and HTTPSAddr are where plain HTTP and TLS are served (defaults ":80" and
	// ":443"; "-" turns one off). HTTPListener/HTTPSListener, if set, are used instead
	// (tests pass listeners on port 0).
	HTTPAddr, HTTPSAddr         string
	HTTPListener, HTTPSListener net.Listener
	// Controller is the spec.controller of the IngressClasses served (default
	// networking.SkiffController).
	Controller string
	// HealthzAddr serves /healthz and /readyz ("" disables).
	HealthzAddr string
	// WriteStatus: report the Ready nodes' addresses in status.loadBalancer (default on
	// through the flag; tests may turn it off).
	WriteStatus bool
	// StatusAddresses, if set, replaces the Ready nodes' addresses in status (tests whose
	// "nodes" all listen on loopback).
	StatusAddresses []string
	// Recorder, if set, records events instead of one writing through Client (tests).
	Recorder record.Recorder
	Log      *slog.Logger
	// Ready, if set, is called once the caches are synced and the first table is in
	// place (HTTPAddr and HTTPSAddr are then the addresses listened on).
	Ready func(*Controller)
}

// Controller is a running ingress controller.
type Controller struct {
	cfg      Config
	log      *slog.Logger
	caches   *caches
	rec      record.Recorder
	certs    table.CertCache
	fallback *tls.Certificate

	current atomic.Pointer[table.Table]
	kick    chan struct{}

	mu       sync.Mutex
	reported map[table.Problem]bool // problems already reported as events

	handler   *handler
	httpAddr  string
	httpsAddr string
	synced    atomic.Bool
	lastSync  atomic.Int64 // unix nanos
	syncCount atomic.Uint64
}

func (c *Config) defaults() error {
	if c.Client == nil {
		return errors.New("ingress: Config.Client is required")
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = ":80"
	}
	if c.HTTPSAddr == "" {
		c.HTTPSAddr = ":443"
	}
	if c.Controller == "" {
		c.Controller = networking.SkiffController
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// Run runs the controller until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	c := &Controller{cfg: cfg, log: cfg.Log.With("component", "ingress"), kick: make(chan struct{}, 1), reported: map[table.Problem]bool{}}
	crt, key, err := certgen.SelfSigned("skiff-ingress-default." + cfg.NodeName)
	if err != nil {
		return err
	}
	fb, err := tls.X509KeyPair(crt, key)
	if err != nil {
		return fmt.Errorf("ingress: fallback certificate: %w", err)
	}
	c.fallback = &fb
	c.rec = cfg.Recorder
	if c.rec == nil {
		c.rec = record.NewRecorder(cfg.Client, "skiff-ingress", cfg.NodeName)
	}
	c.caches = newCaches(cfg.Client, c.request)
	c.handler = newHandler(&c.current, c.log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	c.caches.run(ctx, &wg)

	httpL, httpsL, err := c.listen()
	if err != nil {
		return err
	}
	servers := c.serve(ctx, &wg, httpL, httpsL)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		for _, s := range servers {
			_ = s.Shutdown(sctx)
		}
	}()
	if cfg.HealthzAddr != "" {
		if err := c.serveHealthz(ctx, &wg); err != nil {
			return err
		}
	}

	c.log.Info("waiting for the caches")
	if !c.caches.waitForSync(ctx) {
		return nil
	}
	c.httpAddr, c.httpsAddr = addrOf(httpL), addrOf(httpsL)
	c.sync(ctx)
	c.synced.Store(true)
	if cfg.Ready != nil {
		cfg.Ready(c)
	}
	c.log.Info("serving Ingresses", "http", addrOf(httpL), "https", addrOf(httpsL), "controller", cfg.Controller)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
			c.sync(ctx)
		}
	}
}

// request asks for a rebuild; a burst of changes costs one (the channel holds one kick).
func (c *Controller) request() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

func (c *Controller) listen() (httpL, httpsL net.Listener, err error) {
	httpL, httpsL = c.cfg.HTTPListener, c.cfg.HTTPSListener
	if httpL == nil && c.cfg.HTTPAddr != "-" {
		if httpL, err = net.Listen("tcp", c.cfg.HTTPAddr); err != nil {
			return nil, nil, fmt.Errorf("ingress: %w", err)
		}
	}
	if httpsL == nil && c.cfg.HTTPSAddr != "-" {
		if httpsL, err = net.Listen("tcp", c.cfg.HTTPSAddr); err != nil {
			if httpL != nil {
				httpL.Close()
			}
			return nil, nil, fmt.Errorf("ingress: %w", err)
		}
	}
	return httpL, httpsL, nil
}

func (c *Controller) serve(ctx context.Context, wg *sync.WaitGroup, httpL, httpsL net.Listener) []*http.Server {
	var out []*http.Server
	start := func(s *http.Server, l net.Listener, tlsOn bool) {
		out = append(out, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if tlsOn {
				err = s.ServeTLS(l, "", "")
			} else {
				err = s.Serve(l)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.log.Error("serving stopped", "addr", l.Addr().String(), "err", err)
			}
		}()
	}
	base := func() *http.Server {
		return &http.Server{Handler: c.handler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 5 * time.Minute,
			ErrorLog:    slog.NewLogLogger(c.log.Handler(), slog.LevelDebug),
			BaseContext: func(net.Listener) context.Context { return ctx }}
	}
	if httpL != nil {
		start(base(), httpL, false)
	}
	if httpsL != nil {
		s := base()
		s.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.certificate}
		start(s, httpsL, true)
	}
	return out
}

// certificate picks the certificate by SNI from the current table at each handshake, so a
// changed Secret is served from the next handshake on.
func (c *Controller) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.current.Load().Certificate(hello.ServerName); cert != nil {
		return cert, nil
	}
	return c.fallback, nil
}

// HTTPAddr is where plain HTTP is served ("" when off).
func (c *Controller) HTTPAddr() string { return c.httpAddr }

// HTTPSAddr is where TLS is served ("" when off).
func (c *Controller) HTTPSAddr() string { return c.httpsAddr }

// Table is the routing table in force (nil before the first sync).
func (c *Controller) Table() *table.Table { return c.current.Load() }
