package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"time"
)

//go:embed static
var static embed.FS

// minFrameGap spaces the frames of one page: a burst of changes (a rollout) becomes one
// frame per gap, while a lone change is sent at once.
const minFrameGap = 100 * time.Millisecond

// Frame is what a page receives: the connection state and its view.
type Frame struct {
	Connected bool      `json:"connected"`
	Server    string    `json:"server"`
	Error     string    `json:"error,omitempty"`
	Overview  *Overview `json:"overview,omitempty"`
	Journey   *Journey  `json:"journey,omitempty"`
	NotFound  bool      `json:"notFound,omitempty"` // the pod is not (or no longer) in the cluster
}

// Handler serves the pages, the static files and the API the pages use:
//
//	/                          the cluster (nodes, workloads)
//	/pods/NAMESPACE/NAME       a pod's journey
//	/api/overview              the cluster page's data, JSON
//	/api/pods/NAMESPACE/NAME   a pod's journey, JSON
//	/api/watch?view=overview | ?view=pod&namespace=NS&name=NAME
//	                           Server-Sent Events: a Frame at once and on every change
func (d *Dashboard) Handler() http.Handler {
	files, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	index := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	}
	mux.HandleFunc("GET /{$}", index)
	mux.HandleFunc("GET /pods/{namespace}/{name}", index)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(files)))
	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, r *http.Request) {
		writeFrame(w, d.frame("overview", "", ""))
	})
	mux.HandleFunc("GET /api/pods/{namespace}/{name}", func(w http.ResponseWriter, r *http.Request) {
		f := d.frame("pod", r.PathValue("namespace"), r.PathValue("name"))
		if f.NotFound {
			w.WriteHeader(http.StatusNotFound)
		}
		writeFrame(w, f)
	})
	mux.HandleFunc("GET /api/watch", d.watch)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	return loopbackOnly(mux)
}

// loopbackOnly refuses requests whose Host is not a loopback name: a web page elsewhere
// could otherwise point a DNS name at 127.0.0.1 and read the cluster through the
// dashboard's admin credentials (DNS rebinding).
func loopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the dashboard answers only to loopback host names", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeFrame(w http.ResponseWriter, f Frame) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(f)
}

// frame renders one view from the current caches.
func (d *Dashboard) frame(view, namespace, name string) Frame {
	s, connected, lastErr, _ := d.state()
	return d.render(s, connected, lastErr, view, namespace, name)
}

func (d *Dashboard) render(s *session, connected bool, lastErr, view, namespace, name string) Frame {
	f := Frame{Connected: connected, Server: d.cfg.Client.Host(), Error: lastErr}
	if s == nil {
		return f
	}
	switch view {
	case "pod":
		j, ok := s.journey(namespace, name)
		if ok {
			f.Journey = &j
		} else {
			f.NotFound = true
		}
	default:
		o := BuildOverview(s.snapshot())
		f.Overview = &o
	}
	return f
}

// watch streams Frames of one view: one at once, then one after every change that alters
// it, at most one per minFrameGap; a comment line every 15 s keeps idle connections open.
func (d *Dashboard) watch(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	view, namespace, name := q.Get("view"), q.Get("namespace"), q.Get("name")
	if view == "pod" && (namespace == "" || name == "") {
		http.Error(w, "view=pod needs namespace and name", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	var last []byte
	var sentAt time.Time
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		s, connected, lastErr, wake := d.state()
		data, err := json.Marshal(d.render(s, connected, lastErr, view, namespace, name))
		if err != nil {
			return
		}
		if !bytes.Equal(data, last) {
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return
			}
			flusher.Flush()
			last, sentAt = data, time.Now()
		}
		for waiting := true; waiting; {
			select {
			case <-r.Context().Done():
				return
			case <-keepAlive.C:
				if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
					return
				}
				flusher.Flush()
			case <-wake:
				waiting = false
			}
		}
		if gap := minFrameGap - time.Since(sentAt); gap > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(gap):
			}
		}
	}
}
