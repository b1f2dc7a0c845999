package controllermanager

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// /debug/pprof is served only with Profiling: the metrics port has no authentication.
func TestProfilingOnlyWhenAsked(t *testing.T) {
	for _, profiling := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		stop, err := serve(context.Background(), addr, profiling, prometheus.NewRegistry(), slog.Default())
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[profiling]
		for _, path := range []string{"/debug/pprof/", "/healthz"} {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			w := want
			if path == "/healthz" {
				w = http.StatusOK
			}
			if resp.StatusCode != w {
				t.Errorf("profiling=%v: GET %s = %d, want %d", profiling, path, resp.StatusCode, w)
			}
		}
		stop()
	}
}
