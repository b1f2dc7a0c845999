package ingress_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/apiserver/authz/bootstrappolicy"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/ingress"
	"github.com/skiff-sh/skiff/ingress/certgen"
	"github.com/skiff-sh/skiff/ingress/table"
	"github.com/skiff-sh/skiff/test/harness"
)

// backend is a plain Go HTTP server standing in for a pod: it answers with its name and
// what it was sent, upgrades "Upgrade: websocket" requests to an echo of raw bytes, and
// streams /stream until released.
type backend struct {
	name    string
	srv     *httptest.Server
	release chan struct{}
}

func newBackend(t *testing.T, name string) *backend {
	b := &backend{name: name, release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(func() { b.srv.CloseClientConnections(); b.srv.Close() })
	return b
}

func (b *backend) port() int32 {
	_, p, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(p)
	return int32(n)
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		buf := make([]byte, 256)
		for {
			n, err := rw.Read(buf)
			if err != nil {
				return
			}
			if _, err := conn.Write([]byte(b.name + ":" + string(buf[:n]))); err != nil {
				return
			}
		}
	case r.URL.Path == "/stream":
		fmt.Fprintf(w, "first\n")
		http.NewResponseController(w).Flush()
		<-b.release
		fmt.Fprintf(w, "last\n")
	default:
		fmt.Fprintf(w, "backend=%s host=%s path=%s xff=%s xfh=%s xfp=%s\n", b.name, r.Host, r.URL.Path,
			r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto"))
	}
}

// env is a cluster (in-process API server) with an ingress controller running under its
// own identity, listening on loopback.
type env struct {
	t        *testing.T
	c        *client.Client
	ctrl     *ingress.Controller
	services *client.Typed[core.Service, *core.Service]
	slices   *client.Typed[discovery.EndpointSlice, *discovery.EndpointSlice]
	ings     *client.Typed[networking.Ingress, *networking.Ingress]
	secrets  *client.Typed[core.Secret, *core.Secret]
}

func startEnv(t *testing.T) *env {
	s := harness.StartServer(t, harness.ServerOptions{})
	admin := s.Client(t)
	e := &env{t: t, c: admin,
		services: client.For[core.Service](admin, ingress.ServicesResource),
		slices:   client.For[discovery.EndpointSlice](admin, ingress.EndpointSlicesResource),
		ings:     client.For[networking.Ingress](admin, ingress.IngressesResource),
		secrets:  client.For[core.Secret](admin, ingress.SecretsResource),
	}
	// A Ready node whose address the status reports.
	nodes := client.For[core.Node](admin, ingress.NodesResource)
	if _, err := nodes.Create(context.Background(), &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n1"},
		Status: core.NodeStatus{Addresses: []core.NodeAddress{{Type: core.NodeInternalIP, Address: "10.250.7.11"}},
			Conditions: []core.NodeCondition{{Type: core.NodeReady, Status: core.ConditionTrue}}}}); err != nil {
		t.Fatal(err)
	}
	// The controller's own identity: what its RBAC role allows is all it gets.
	cc, err := client.New(s.UserConfig(t, bootstrappolicy.IngressUser))
	if err != nil {
		t.Fatal(err)
	}
	httpL, _ := net.Listen("tcp", "127.0.0.1:0")
	httpsL, _ := net.Listen("tcp", "127.0.0.1:0")
	ready := make(chan *ingress.Controller, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ingress.Run(ctx, ingress.Config{Client: cc, NodeName: "n1", HTTPListener: httpL, HTTPSListener: httpsL,
			WriteStatus: true, Ready: func(c *ingress.Controller) { ready <- c }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})
	select {
	case e.ctrl = <-ready:
	case err := <-done:
		t.Fatalf("controller stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("controller not ready after 30s")
	}
	return e
}

// service creates a Service with one TCP port and an EndpointSlice per backend (each
// backend listens on a port of its own, which slices allow).
func (e *env) service(name, portName string, port int32, backends ...*backend) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.services.Create(ctx, &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: core.ServiceSpec{Ports: []core.ServicePort{{Name: portName, Port: port, Protocol: core.ProtocolTCP}}}}); err != nil {
		e.t.Fatal(err)
	}
	for i, b := range backends {
		p, proto := b.port(), core.ProtocolTCP
		if _, err := e.slices.Create(ctx, &discovery.EndpointSlice{
			ObjectMeta:  meta.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%d", name, i), Labels: map[string]string{table.LabelServiceName: name}},
			AddressType: discovery.AddressTypeIPv4,
			Endpoints:   []discovery.Endpoint{{Addresses: []string{"127.0.0.1"}}},
			Ports:       []discovery.EndpointPort{{Name: &portName, Port: &p, Protocol: &proto}},
		}); err != nil {
			e.t.Fatal(err)
		}
	}
}

func prefixPath(p, svc string, port networking.ServiceBackendPort) networking.HTTPIngressPath {
	pt := networking.PathTypePrefix
	return networking.HTTPIngressPath{Path: p, PathType: &pt, Backend: networking.IngressBackend{Service: &networking.IngressServiceBackend{Name: svc, Port: port}}}
}

func rule(host string, paths ...networking.HTTPIngressPath) networking.IngressRule {
	return networking.IngressRule{Host: host, IngressRuleValue: networking.IngressRuleValue{HTTP: &networking.HTTPIngressRuleValue{Paths: paths}}}
}

func num(n int32) networking.ServiceBackendPort    { return networking.ServiceBackendPort{Number: n} }
func named(n string) networking.ServiceBackendPort { return networking.ServiceBackendPort{Name: n} }

// get sends a request for host+path to the controller's HTTP port.
func (e *env) get(host, path string) (int, string) {
	req, _ := http.NewRequest("GET", "http://"+e.ctrl.HTTPAddr()+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	harness.Eventually(e.t, 20*time.Second, what, cond)
}

func (e *env) expect(host, path string, code int, body string) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%s%s to answer %d %q", host, path, code, body), func() (bool, string) {
		c, b := e.get(host, path)
		return c == code && strings.Contains(b, body), fmt.Sprintf("%d %s", c, b)
	})
}

func tlsSecret(t *testing.T, name string, hosts ...string) (*core.Secret, *x509.CertPool) {
	crt, key, err := certgen.SelfSigned(hosts...)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(crt)
	return &core.Secret{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name}, Type: core.SecretTypeTLS,
		Data: map[string][]byte{core.TLSCertKey: crt, core.TLSPrivateKeyKey: key}}, pool
}

func leafCN(crtPEM []byte) string {
	blk, _ := pem.Decode(crtPEM)
	c, _ := x509.ParseCertificate(blk.Bytes)
	return c.Subject.CommonName
}

func TestIngressController(t *testing.T) {
	e := startEnv(t)
	ctx := context.Background()
	web1, web2, api := newBackend(t, "web1"), newBackend(t, "web2"), newBackend(t, "api")
	e.service("web", "http", 80, web1, web2)
	e.service("api", "api", 8080, api)
	secret, pool := tlsSecret(t, "a-tls", "a.example.com")
	if _, err := e.secrets.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	exact := networking.PathTypeExact
	apiExact := prefixPath("/api", "api", named("api"))
	apiExact.PathType = &exact
	main := &networking.Ingress{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "main"}, Spec: networking.IngressSpec{
		TLS: []networking.IngressTLS{{Hosts: []string{"a.example.com"}, SecretName: "a-tls"}},
		Rules: []networking.IngressRule{
			rule("a.example.com", prefixPath("/", "web", num(80)), apiExact),
			rule("*.wild.example.com", prefixPath("/", "api", named("api"))),
		}}}
	created, err := e.ings.Create(ctx, main)
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.IngressClassName == nil || *created.Spec.IngressClassName != networking.SkiffIngressClassName {
		t.Fatalf("an Ingress naming no class got class %v, want skiff (DefaultIngressClass)", created.Spec.IngressClassName)
	}

	t.Run("routing", func(t *testing.T) {
		e.expect("a.example.com", "/", 200, "backend=web")
		e.expect("a.example.com", "/api", 200, "backend=api")    // Exact, port by name
		e.expect("a.example.com", "/api/v1", 200, "backend=web") // not Exact: the "/" prefix
		e.expect("x.wild.example.com", "/anything", 200, "backend=api")
		e.expect("y.x.wild.example.com", "/", 404, "no Ingress rule matches")
		e.expect("unknown.example.org", "/", 404, "")
		// Load-balanced over both ready endpoints.
		seen := map[string]bool{}
		for range 6 {
			_, b := e.get("a.example.com", "/")
			seen[strings.Fields(b)[0]] = true
		}
		if !seen["backend=web1"] || !seen["backend=web2"] {
			t.Errorf("round-robin reached %v, want web1 and web2", seen)
		}
		// Forwarding headers, and the Host kept.
		_, b := e.get("a.example.com:8080", "/x")
		for _, want := range []string{"host=a.example.com:8080", "xff=127.0.0.1", "xfh=a.example.com:8080", "xfp=http"} {
			if !strings.Contains(b, want) {
				t.Errorf("backend saw %q, want %s", b, want)
			}
		}
	})

	t.Run("status", func(t *testing.T) {
		e.eventually("status.loadBalancer.ingress to list the node", func() (bool, string) {
			ing, err := e.ings.Get(ctx, "default", "main")
			if err != nil {
				return false, err.Error()
			}
			lb := ing.Status.LoadBalancer.Ingress
			return len(lb) == 1 && lb[0].IP == "10.250.7.11", fmt.Sprint(lb)
		})
	})

	t.Run("tls by SNI, updated with the secret", func(t *testing.T) {
		dial := func(sni string, roots *x509.CertPool) (*tls.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.ctrl.HTTPSAddr(), &tls.Config{ServerName: sni, RootCAs: roots})
		}
		e.eventually("the a.example.com certificate", func() (bool, string) {
			conn, err := dial("a.example.com", pool)
			if err != nil {
				return false, err.Error()
			}
			conn.Close()
			return true, ""
		})
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
			DialTLSContext: func(_ context.Context, _, _ string) (net.Conn, error) { return dial("a.example.com", pool) }}}
		resp, err := hc.Get("https://a.example.com/secure")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "xfp=https") || !strings.Contains(string(b), "backend=web") {
			t.Errorf("over TLS the backend saw %q", b)
		}
		// Another name gets the fallback certificate, which the pool does not trust.
		if conn, err := dial("other.example.com", pool); err == nil {
			conn.Close()
			t.Error("other.example.com verified against a.example.com's certificate")
		}
		// A new key pair in the Secret is served from the next handshake on.
		renewed, pool2 := tlsSecret(t, "a-tls", "a.example.com", "renewed.a.example.com")
		cur, err := e.secrets.Get(ctx, "default", "a-tls")
		if err != nil {
			t.Fatal(err)
		}
		cur.Data = renewed.Data
		if _, err := e.secrets.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
		e.eventually("the renewed certificate", func() (bool, string) {
			conn, err := dial("a.example.com", pool2)
			if err != nil {
				return false, err.Error()
			}
			defer conn.Close()
			return len(conn.ConnectionState().PeerCertificates[0].DNSNames) == 2, fmt.Sprint(conn.ConnectionState().PeerCertificates[0].DNSNames)
		})
	})

	t.Run("websocket survives a configuration change", func(t *testing.T) {
		conn, err := net.Dial("tcp", e.ctrl.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x.wild.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade answered %d", resp.StatusCode)
		}
		echo := func(msg string) {
			t.Helper()
			if _, err := conn.Write([]byte(msg)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			n, err := br.Read(buf)
			if err != nil || string(buf[:n]) != "api:"+msg {
				t.Fatalf("echo of %q: %q, %v", msg, buf[:n], err)
			}
		}
		echo("ping")
		// Change the configuration (a new route): the table is swapped, the open
		// connection carries on.
		before := e.ctrl.Table()
		ing, err := e.ings.Get(ctx, "default", "main")
		if err != nil {
			t.Fatal(err)
		}
		ing.Spec.Rules = append(ing.Spec.Rules, rule("new.example.com", prefixPath("/", "web", num(80))))
		if _, err := e.ings.Update(ctx, ing); err != nil {
			t.Fatal(err)
		}
		e.expect("new.example.com", "/", 200, "backend=web")
		if e.ctrl.Table() == before {
			t.Error("the table was not swapped")
		}
		echo("still there")
	})

	t.Run("streaming", func(t *testing.T) {
		resp, err := http.Get("http://" + e.ctrl.HTTPAddr() + "/stream") // no Host rule: 404
		if err == nil {
			resp.Body.Close()
		}
		req, _ := http.NewRequest("GET", "http://"+e.ctrl.HTTPAddr()+"/stream", nil)
		req.Host = "x.wild.example.com"
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line := make(chan string, 1)
		go func() {
			l, _ := bufio.NewReader(resp.Body).ReadString('\n')
			line <- l
		}()
		// The first chunk arrives while the backend is still holding the response open.
		select {
		case l := <-line:
			if l != "first\n" {
				t.Errorf("first chunk %q", l)
			}
		case <-time.After(10 * time.Second):
			t.Error("the first chunk did not come through before the response ended")
		}
		close(api.release)
	})

	t.Run("bad input is reported, other routes keep working", func(t *testing.T) {
		bad, _ := tlsSecret(t, "broken-tls", "b.example.com")
		bad.Data[core.TLSPrivateKeyKey] = []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
		if _, err := e.secrets.Create(ctx, bad); err != nil {
			t.Fatal(err)
		}
		broken := &networking.Ingress{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "x-broken"}, Spec: networking.IngressSpec{
			TLS: []networking.IngressTLS{{Hosts: []string{"b.example.com"}, SecretName: "broken-tls"}, {Hosts: []string{"c.example.com"}, SecretName: "absent"}},
			Rules: []networking.IngressRule{
				rule("b.example.com", prefixPath("/", "nope", num(80)), prefixPath("/port", "web", num(81)), prefixPath("/ok", "web", num(80))),
				// main has it: older, or as old and first by name
				rule("a.example.com", prefixPath("/", "api", named("api"))),
			}}}
		if _, err := e.ings.Create(ctx, broken); err != nil {
			t.Fatal(err)
		}
		events := client.For[core.Event](e.c, client.Resource{Version: "v1", Resource: "events", Namespaced: true})
		want := []string{"ServiceNotFound", "ServicePortNotFound", "BadTLSSecret", "SecretNotFound", "Conflict"}
		e.eventually("warning events on the broken Ingress", func() (bool, string) {
			list, err := events.List(ctx, "default", client.ListOptions{FieldSelector: "involvedObject.name=x-broken"})
			if err != nil {
				return false, err.Error()
			}
			got := map[string]bool{}
			for _, ev := range list.Items {
				if ev.Type == core.EventTypeWarning && ev.Source.Component == "skiff-ingress" {
					got[ev.Reason] = true
				}
			}
			for _, r := range want {
				if !got[r] {
					return false, fmt.Sprint(got)
				}
			}
			return true, ""
		})
		e.expect("b.example.com", "/", 503, `service "default/nope" not found`)
		e.expect("b.example.com", "/port", 503, "has no TCP port 81")
		e.expect("b.example.com", "/ok", 200, "backend=web")
		e.expect("a.example.com", "/", 200, "backend=web") // the older Ingress keeps its rule
		e.expect("x.wild.example.com", "/", 200, "backend=api")
		// The Service appears: its route works without touching the Ingress.
		nope := newBackend(t, "nope")
		e.service("nope", "http", 80, nope)
		e.expect("b.example.com", "/", 200, "backend=nope")
	})
}
