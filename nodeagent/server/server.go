// Package server is the node agent's HTTP endpoint, which the API server proxies to for
// `kubectl logs`, `exec`, `attach` and `port-forward` (the kubelet's paths and query
// parameters):
//
//	GET /healthz
//	GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&tailLines=&sinceSeconds=&sinceTime=&timestamps=&limitBytes=
//	GET|POST /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=
//	GET|POST /attach/{namespace}/{pod}/{container}?stdout=&stderr=&tty=
//	GET|POST /portForward/{namespace}/{pod}
//	GET /stats/summary
//	GET /metrics/resource
//	POST /images (an image archive to load: images.go)
//
// The last three are upgraded to WebSocket or SPDY streams (see streaming.go).
//
// Errors are plain text with the status Kubernetes' kubelet uses (400 for a container
// that has no logs yet or no previous instance, 404 for an unknown pod or container).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/nodeagent/logs"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Server serves a node's logs and streams.
type Server struct {
	Addr    string
	Runtime runtime.Runtime
	LogDir  string
	// Pods finds a pod of the node by namespace and name (nil: unknown).
	Pods func(namespace, name string) *core.Pod
	Log  *slog.Logger
	// Listener, if set, is used instead of listening on Addr (tests).
	Listener net.Listener
	// TLS, if set, serves HTTPS and lets only the API server's client certificate (and
	// system:masters) use the paths (auth.go). Nil serves plain HTTP to anyone: for tests
	// and the sim runtime only.
	TLS *TLS
	// Stats is the latest usage sample (nil: none yet); a nil func serves no stats.
	Stats func() *statsapi.Summary
	// MaxImageBytes bounds an image archive POSTed to /images (0: DefaultMaxImageBytes).
	MaxImageBytes int64
}

func (s *Server) summary() *statsapi.Summary {
	if s.Stats == nil {
		return nil
	}
	return s.Stats()
}

// Handler is the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /stats/summary", s.statsSummary)
	mux.HandleFunc("GET /metrics/resource", s.resourceMetrics)
	mux.HandleFunc("POST /images", s.importImage)
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.containerLogs)
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /exec/{namespace}/{pod}/{container}", s.exec)
		mux.HandleFunc(m+" /attach/{namespace}/{pod}/{container}", s.attach)
		mux.HandleFunc(m+" /portForward/{namespace}/{pod}", s.portForward)
	}
	return mux
}

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	l := s.Listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("node agent server: %w", err)
		}
	}
	h := s.Handler()
	if s.TLS != nil {
		h = authorize(h)
		l = tls.NewListener(l, s.TLS.config())
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type flushWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f flushWriter) Flush() {
	if f.f != nil {
		f.f.Flush()
	}
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q := r.URL.Query()
	pod := s.Pods(ns, name)
	if pod == nil {
		http.Error(w, fmt.Sprintf("pod %s/%s not found", ns, name), http.StatusNotFound)
		return
	}
	if !hasContainer(pod, cname) {
		http.Error(w, fmt.Sprintf("container %s is not valid for pod %s", cname, name), http.StatusNotFound)
		return
	}
	opts := logs.Options{TailLines: -1, Follow: isTrue(q.Get("follow")), Timestamps: isTrue(q.Get("timestamps"))}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "invalid tailLines", http.StatusBadRequest)
			return
		}
		opts.TailLines = n
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "invalid limitBytes", http.StatusBadRequest)
			return
		}
		opts.LimitBytes = n
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			http.Error(w, "invalid sinceSeconds", http.StatusBadRequest)
			return
		}
		opts.Since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			http.Error(w, "invalid sinceTime", http.StatusBadRequest)
			return
		}
		opts.Since = t
	}
	cs, err := s.Runtime.ListContainers(r.Context(), pod.UID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var instances []*runtime.Container
	for _, c := range cs {
		if c.Name == cname {
			instances = append(instances, c)
		}
	}
	sortNewest(instances)
	idx := 0
	if isTrue(q.Get("previous")) {
		idx = 1
	}
	if len(instances) <= idx {
		if idx == 1 {
			http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", cname, name), http.StatusBadRequest)
		} else {
			http.Error(w, fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", cname, name), http.StatusBadRequest)
		}
		return
	}
	c := instances[idx]
	if c.LogPath == "" {
		http.Error(w, "container has no log", http.StatusBadRequest)
		return
	}
	if _, err := os.Stat(c.LogPath); err != nil {
		http.Error(w, fmt.Sprintf("failed to open the log of container %q in pod %q: %v", cname, name, err), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	fl, _ := w.(http.Flusher)
	done := func() bool {
		cur, err := s.Runtime.ListContainers(context.Background(), pod.UID)
		if err != nil {
			return true
		}
		for _, x := range cur {
			if x.ID == c.ID {
				return x.State == runtime.ContainerExited
			}
		}
		return true
	}
	if err := logs.Read(r.Context(), c.LogPath, opts, flushWriter{w, fl}, done); err != nil && s.Log != nil {
		s.Log.Debug("read logs", "pod", ns+"/"+name, "container", cname, "err", err)
	}
}

func sortNewest(l []*runtime.Container) {
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && l[j].Attempt > l[j-1].Attempt; j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func hasContainer(pod *core.Pod, name string) bool { return containerSpec(pod, name) != nil }

// containerSpec finds a container of the pod by name: a regular, init or ephemeral one.
func containerSpec(pod *core.Pod, name string) *core.Container {
	for _, l := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range l {
			if l[i].Name == name {
				return &l[i]
			}
		}
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == name {
			c := core.Container(ec.EphemeralContainerCommon)
			return &c
		}
	}
	return nil
}

func isTrue(s string) bool {
	b, _ := strconv.ParseBool(s)
	return b
}
