package ingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// serveHealthz serves /healthz (the process is up and its sync loop turns) and /readyz
// (the caches have synced and a table is in force).
func (c *Controller) serveHealthz(ctx context.Context, wg *sync.WaitGroup) error {
	l, err := net.Listen("tcp", c.cfg.HealthzAddr)
	if err != nil {
		return fmt.Errorf("ingress: healthz: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.synced.Load() {
			http.Error(w, "caches not synced", http.StatusServiceUnavailable)
			return
		}
		ings, backends := c.current.Load().Stats()
		fmt.Fprintf(w, "ok: %d ingresses, %d backends, %d syncs, last %s ago\n", ings, backends, c.syncCount.Load(),
			time.Since(time.Unix(0, c.lastSync.Load())).Round(time.Millisecond))
	})
	s := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("healthz stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		_ = s.Close()
	}()
	return nil
}
