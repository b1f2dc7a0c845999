package apiserver_test

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/test/harness"
)

// A request that passes its deadline answers 504 Timeout as Kubernetes does; a client that
// stalls in the middle of its body is cut off when the deadline passes (reliability issue:
// 300 stalled 3 MiB bodies held a gigabyte for minutes).
func TestRequestTimeouts(t *testing.T) {
	a, srv := newAPI(t, harness.ServerOptions{Configure: func(c *apiserver.Config) { c.RequestTimeout = 2 * time.Second }})

	t.Run("a request's own timeout", func(t *testing.T) {
		code, st := a.do("GET", cms+"?timeout=1ns", "", nil)
		if code != http.StatusGatewayTimeout || st["reason"] != "Timeout" ||
			!strings.HasPrefix(st["message"].(string), "Timeout: request did not complete within requested timeout") {
			t.Fatalf("got %d %v", code, st)
		}
	})

	t.Run("a watch is not cut off by the request timeout", func(t *testing.T) {
		a.must(201, "POST", cms, cm("before", "a"))
		w := openWatch(t, a.hc, a.base+cms+"?watch=1")
		defer w.cancel()
		w.next(t) // ADDED before
		// Let the server's 2 s request timeout pass (the behaviour under test is what happens
		// after it): the watch still delivers.
		time.Sleep(3 * time.Second)
		a.must(201, "POST", cms, cm("after", "b"))
		ev := w.next(t)
		if get(ev, "object", "metadata", "name") != "after" {
			t.Fatalf("event after the request timeout: %v", ev)
		}
	})

	t.Run("a body that stalls", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		tr := a.hc.Transport.(*http.Transport)
		cfg := tr.TLSClientConfig.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		conn, err := tls.Dial("tcp", u.Host, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Headers promising 100 KB, then a few bytes, then nothing.
		_, err = io.WriteString(conn, "POST "+cms+" HTTP/1.1\r\nHost: "+u.Host+"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"apiVersion\":")
		if err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // the test's own bound, far above the server's
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a stalled body: %v", err)
		}
		defer resp.Body.Close()
		var st map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&st)
		if resp.StatusCode != http.StatusGatewayTimeout || st["reason"] != "Timeout" {
			t.Fatalf("got %d %v", resp.StatusCode, st)
		}
	})
}
