// Command frontend is the guestbook's web page: it lists the entries kept in the store (a
// Redis-protocol server, ../store) and adds the ones posted to it.
//
//	GET  /          the page (title from $GUESTBOOK_TITLE), with the pod's name at the bottom
//	POST /          add the form field "entry", then show the page
//	GET  /entries   the entries as plain text, one a line
//	GET  /healthz   200 when the store answers PING, 503 otherwise (a readiness probe)
//
//	frontend [--listen :8080] [--store store:6379]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const listKey = "guestbook"

func main() {
	listen := flag.String("listen", ":8080", "address to serve HTTP on")
	store := flag.String("store", envOr("STORE_ADDR", "store:6379"), "the store's host:port (default $STORE_ADDR, else store:6379)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	host, _ := os.Hostname()
	srv := &http.Server{Addr: *listen, Handler: newHandler(&storeClient{addr: *store}, envOr("GUESTBOOK_TITLE", "Guestbook"), host)}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	log.Printf("serving on %s, store at %s", *listen, *store)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// store is what the frontend needs of the store; tests give a fake.
type store interface {
	Do(ctx context.Context, args ...string) (any, error)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family: sans-serif; font-size: 1.4em; max-width: 40em; margin: 2em auto">
<h1>{{.Title}}</h1>
<ul>{{range .Entries}}<li>{{.}}</li>{{else}}<li><em>no entries yet</em></li>{{end}}</ul>
<form method="post"><input name="entry" autofocus> <button>Sign</button></form>
<p style="color: gray">served by {{.Host}}</p>
</body></html>
`))

func newHandler(s store, title, host string) http.Handler {
	mux := http.NewServeMux()
	entries := func(w http.ResponseWriter, r *http.Request) ([]string, bool) {
		v, err := s.Do(r.Context(), "LRANGE", listKey, "0", "-1")
		if err != nil {
			http.Error(w, "the store: "+err.Error(), http.StatusBadGateway)
			return nil, false
		}
		l, _ := v.([]string)
		return l, true
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if l, ok := entries(w, r); ok {
			page.Execute(w, map[string]any{"Title": title, "Entries": l, "Host": host})
		}
	})
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		entry := strings.TrimSpace(r.FormValue("entry"))
		if entry == "" {
			http.Error(w, `the form field "entry" is empty`, http.StatusBadRequest)
			return
		}
		if _, err := s.Do(r.Context(), "RPUSH", listKey, entry); err != nil {
			http.Error(w, "the store: "+err.Error(), http.StatusBadGateway)
			return
		}
		if l, ok := entries(w, r); ok {
			page.Execute(w, map[string]any{"Title": title, "Entries": l, "Host": host})
		}
	})
	mux.HandleFunc("GET /entries", func(w http.ResponseWriter, r *http.Request) {
		if l, ok := entries(w, r); ok {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			for _, e := range l {
				fmt.Fprintln(w, e)
			}
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		if _, err := s.Do(ctx, "PING"); err != nil {
			http.Error(w, "the store does not answer: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
