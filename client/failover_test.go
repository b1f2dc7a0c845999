package client

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// named answers every request with its name, so a test sees which server served it.
func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"server":"` + name + `","proto":"` + r.Proto + `"}`))
	})
}

func TestFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  bool
	}{{"https (HTTP/2)", true}, {"http", false}} {
		t.Run(tc.name, func(t *testing.T) {
			start := func(name string) *httptest.Server {
				s := httptest.NewUnstartedServer(named(name))
				if tc.tls {
					s.EnableHTTP2 = true
					s.StartTLS()
				} else {
					s.Start()
				}
				t.Cleanup(s.Close)
				return s
			}
			a, b, c := start("a"), start("b"), start("c")
			cfg := &Config{Host: a.URL, Servers: []string{b.URL, c.URL}, Timeout: 10 * time.Second}
			if tc.tls {
				// One CA for the three test servers (httptest shares its certificate).
				cfg.TLS.CAData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
			}
			cl, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			served := func() (string, error) {
				var out struct{ Server, Proto string }
				err := cl.Do(context.Background(), "GET", "/version", nil, &out)
				if err == nil && tc.tls && out.Proto != "HTTP/2.0" {
					t.Errorf("request to %s went over %s, want HTTP/2.0", out.Server, out.Proto)
				}
				return out.Server, err
			}
			if got, err := served(); err != nil || got != "a" {
				t.Fatalf("first request served by %q, %v; want a", got, err)
			}
			// a dies: its connections are closed, and a new one is refused. A request may
			// fail on the broken connection (as with one server); the next dials b.
			a.CloseClientConnections()
			a.Close()
			got, err := served()
			if err != nil {
				got, err = served()
			}
			if err != nil || got != "b" {
				t.Fatalf("after a died: served by %q, %v; want b", got, err)
			}
			// b stays in use while it answers (no flapping back to the first server).
			for range 3 {
				if got, err := served(); err != nil || got != "b" {
					t.Fatalf("served by %q, %v; want b again", got, err)
				}
			}
			b.CloseClientConnections()
			b.Close()
			if got, err = served(); err != nil {
				got, err = served()
			}
			if err != nil || got != "c" {
				t.Fatalf("after b died: served by %q, %v; want c", got, err)
			}
			c.CloseClientConnections()
			c.Close()
			if _, err = served(); err == nil {
				_, err = served()
			}
			if err == nil {
				t.Fatal("every server is gone, yet a request succeeded")
			}
		})
	}
}

func TestServerAddrs(t *testing.T) {
	for _, tc := range []struct {
		host    string
		servers []string
		want    []string
		err     bool
	}{
		{"https://10.0.0.1:6443", []string{"https://10.0.0.2:6443", "10.0.0.3:6443"}, []string{"10.0.0.1:6443", "10.0.0.2:6443", "10.0.0.3:6443"}, false},
		{"https://cp", []string{"https://cp:443", "http://other"}, []string{"cp:443", "other:80"}, false},
		{"https://10.0.0.1:6443", []string{"ftp://x"}, nil, true},
	} {
		got, err := serverAddrs(&Config{Host: tc.host, Servers: tc.servers})
		if (err != nil) != tc.err || (!tc.err && !equalStrings(got, tc.want)) {
			t.Errorf("serverAddrs(%q, %v) = %v, %v; want %v (error %v)", tc.host, tc.servers, got, err, tc.want, tc.err)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
