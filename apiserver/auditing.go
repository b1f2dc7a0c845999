package apiserver

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/audit"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// The audit filter is the outermost: it sees every request, including those refused with
// 401 (whose user is empty) and 403. Filters further in report to it through the record it
// puts in the context: the impersonation filter, which runs right after authentication on
// every request, records the authenticated user and the impersonated one.
//
// Long-running requests (watch, exec, attach, port-forward, logs, proxy) get two events, as
// in Kubernetes: ResponseStarted when their response begins, and ResponseComplete when it
// ends. Every other request gets one, ResponseComplete. RequestReceived is never written
// (Kubernetes' usual policy omits it too).

// auditRecord collects what inner filters learn about a request.
type auditRecord struct {
	mu           sync.Mutex
	user         *authn.User
	impersonated *authn.User
	annotations  map[string]string
}

type auditKey struct{}

func auditRecordFrom(ctx context.Context) *auditRecord {
	r, _ := ctx.Value(auditKey{}).(*auditRecord)
	return r
}

// setAuditUser records the authenticated user of the request.
func setAuditUser(ctx context.Context, u *authn.User) {
	if r := auditRecordFrom(ctx); r != nil {
		r.mu.Lock()
		r.user = u
		r.mu.Unlock()
	}
}

// setImpersonatedUser records the user the request acts as.
func setImpersonatedUser(ctx context.Context, u *authn.User) {
	if r := auditRecordFrom(ctx); r != nil {
		r.mu.Lock()
		r.impersonated = u
		r.mu.Unlock()
	}
}

// addAuditAnnotation adds an annotation to the request's events (Kubernetes writes
// authorization.k8s.io/decision and authorization.k8s.io/reason).
func addAuditAnnotation(ctx context.Context, key, value string) {
	if r := auditRecordFrom(ctx); r != nil {
		r.mu.Lock()
		if r.annotations == nil {
			r.annotations = map[string]string{}
		}
		r.annotations[key] = value
		r.mu.Unlock()
	}
}

// annotateAuthorization records the authorization decision in the audit events, under
// Kubernetes' annotation keys.
func annotateAuthorization(ctx context.Context, d authz.Decision, reason string) {
	decision := "forbid"
	if d == authz.Allow {
		decision = "allow"
	}
	addAuditAnnotation(ctx, "authorization.k8s.io/decision", decision)
	if reason != "" {
		addAuditAnnotation(ctx, "authorization.k8s.io/reason", reason)
	}
}

// auditLongRunning are the subresources whose responses stream, as Kubernetes'
// LongRunningRequestCheck lists them (with the verbs watch and proxy): the same set as
// the request timeouts' (timeouts.go).
var auditLongRunning = longRunningSubresources

// setUpAudit opens the audit log (Config.AuditLogPath), closed when ctx ends.
func (s *Server) setUpAudit(ctx context.Context) error {
	if s.cfg.AuditLogPath == "" {
		return nil
	}
	w, err := audit.OpenFile(s.cfg.AuditLogPath)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		w.Close()
	}()
	s.auditSink = w
	return nil
}

// audit is the server's audit filter; without an audit log it does nothing.
func (s *Server) audit(next http.Handler) http.Handler {
	if s.auditSink == nil {
		return next
	}
	return auditFilter(s.auditSink, func(err error) { s.log.Error("audit log", "err", err) }, next)
}

// auditSkipped are the health probes, which every supervisor polls every few seconds:
// the audit policy Kubernetes recommends logs them at level None too.
var auditSkipped = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true}

// auditFilter writes the audit events of every request to sink.
func auditFilter(sink audit.Sink, onError func(error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if auditSkipped[req.URL.Path] {
			next.ServeHTTP(w, req)
			return
		}
		received := meta.NowMicro()
		id := req.Header.Get("Audit-ID")
		if id == "" {
			id = uuid.NewString()
		}
		w.Header().Set("Audit-ID", id)
		rec := &auditRecord{}
		req = req.WithContext(context.WithValue(req.Context(), auditKey{}, rec))
		attrs := requestAttributes(req)
		ev := audit.NewEvent()
		ev.AuditID, ev.RequestURI, ev.Verb = id, req.RequestURI, attrs.Verb
		ev.SourceIPs, ev.UserAgent = sourceIPs(req), req.UserAgent()
		ev.RequestReceivedTimestamp = received
		if attrs.ResourceRequest {
			ev.ObjectRef = &audit.ObjectReference{Resource: attrs.Resource, Namespace: attrs.Namespace, Name: attrs.Name,
				APIGroup: attrs.APIGroup, APIVersion: attrs.APIVersion, Subresource: attrs.Subresource}
		}
		emit := func(stage string, code int) {
			e := *ev
			e.Stage, e.StageTimestamp = stage, meta.NowMicro()
			e.ResponseStatus = &audit.ResponseStatus{Code: int32(code)}
			rec.mu.Lock()
			if rec.user != nil {
				e.User = userInfo(rec.user)
			}
			if rec.impersonated != nil {
				ui := userInfo(rec.impersonated)
				e.ImpersonatedUser = &ui
			}
			if len(rec.annotations) > 0 {
				e.Annotations = make(map[string]string, len(rec.annotations))
				for k, v := range rec.annotations {
					e.Annotations[k] = v
				}
			}
			rec.mu.Unlock()
			if err := sink.Write(&e); err != nil && onError != nil {
				onError(err)
			}
		}
		aw := &auditWriter{ResponseWriter: w}
		if attrs.Verb == "watch" || attrs.Verb == "proxy" || auditLongRunning[attrs.Subresource] {
			aw.started = func(code int) { emit(audit.StageResponseStarted, code) }
		}
		next.ServeHTTP(aw, req)
		code := aw.code
		if code == 0 {
			code = http.StatusOK
		}
		emit(audit.StageResponseComplete, code)
	})
}

// auditWriter notes the response code, and calls started once when the response begins.
type auditWriter struct {
	http.ResponseWriter
	code    int
	started func(code int)
}

func (w *auditWriter) begin(code int) {
	if w.code != 0 {
		return
	}
	w.code = code
	if w.started != nil {
		w.started(code)
	}
}

func (w *auditWriter) WriteHeader(code int) {
	// 1xx are informational: the real status follows (a hijack's 101 is noted in Hijack).
	if code >= 200 {
		w.begin(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	w.begin(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *auditWriter) Flush() {
	w.begin(http.StatusOK)
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack serves SPDY upgrades (exec, attach, port-forward), which take the connection.
func (w *auditWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.begin(http.StatusSwitchingProtocols)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sourceIPs are the client's addresses as Kubernetes lists them: X-Forwarded-For, then
// X-Real-Ip, then the connection's peer, each once.
func sourceIPs(req *http.Request) []string {
	var ips []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if ip := net.ParseIP(s); ip != nil {
			s = ip.String()
			for _, x := range ips {
				if x == s {
					return
				}
			}
			ips = append(ips, s)
		}
	}
	for _, s := range strings.Split(req.Header.Get("X-Forwarded-For"), ",") {
		add(s)
	}
	add(req.Header.Get("X-Real-Ip"))
	if host, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		add(host)
	} else {
		add(req.RemoteAddr)
	}
	return ips
}
