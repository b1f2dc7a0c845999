package apiserver

// API Priority and Fairness: the filter that gives each request a seat in its priority
// level (apiserver/flowcontrol), the bootstrap of Kubernetes' default FlowSchemas and
// PriorityLevelConfigurations, and the follower that reconfigures the filter when they
// change.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	fcapi "github.com/skiff-sh/skiff/api/flowcontrol"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/flowcontrol"
	etcdstore "github.com/skiff-sh/skiff/storage"
)

// maxQueueWait is Kubernetes' hard limit on a request's wait for a seat.
const maxQueueWait = time.Minute

func (s *Server) setUpPriorityAndFairness() {
	if s.cfg.DisablePriorityAndFairness {
		return
	}
	s.apf = flowcontrol.New(s.cfg.MaxRequestsInflight+s.cfg.MaxMutatingRequestsInflight, flowcontrol.NewMetrics(s.metrics.reg))
}

// priorityAndFairness runs after authentication (it classifies by user and group) and
// before authorization, as in Kubernetes. A request without a seat gets Kubernetes' 429:
// plain text, Retry-After 1, which client-go honours by waiting and retrying.
func (s *Server) priorityAndFairness(next http.Handler) http.Handler {
	if s.apf == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r := flowRequest(req)
		if r.ResourceRequest && r.Verb == "list" {
			r.Seats = s.listSeats(req)
		}
		if longRunning(req) {
			setFlowHeaders(w, s.apf.Classify(r))
			next.ServeHTTP(w, req)
			return
		}
		// A request may wait for a quarter of its deadline, at most a minute.
		wait := maxQueueWait
		if d, ok := req.Context().Deadline(); ok {
			wait = min(wait, time.Until(d)/4)
		}
		ctx, cancel := context.WithTimeout(req.Context(), wait)
		cls, release, err := s.apf.Acquire(ctx, r)
		cancel()
		setFlowHeaders(w, cls)
		if err != nil {
			s.log.Debug("request rejected by priority and fairness", "err", err, "user", r.User, "flowSchema", cls.FlowSchema)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many requests, please try again later.", http.StatusTooManyRequests)
			return
		}
		defer release()
		next.ServeHTTP(w, req)
	})
}

// listSeats estimates a list's width from how many objects its resource has in the watch
// cache and how list serves it (read.go): pages (limit, continue, an exact
// resourceVersion) come from etcd, whole lists from the cache.
func (s *Server) listSeats(req *http.Request) int {
	a := requestAttributes(req)
	stored := int64(-1)
	if k, ok := s.reg.Lookup(a.APIGroup, a.APIVersion, a.Resource); ok {
		if k.Conversion != nil {
			k = k.Conversion.Storage
		}
		if c := s.cache(k); c != nil {
			stored = int64(c.Len())
		}
	}
	q := req.URL.Query()
	limit, _ := strconv.ParseInt(q.Get("limit"), 10, 64)
	rv := q.Get("resourceVersion")
	fromStorage := limit > 0 || q.Get("continue") != "" || (q.Get("resourceVersionMatch") == "Exact" && rv != "" && rv != "0")
	selector := q.Get("labelSelector") != "" || q.Get("fieldSelector") != ""
	// A field selector on metadata.name alone lists one object, as a get (Kubernetes
	// reads it as the request's name).
	fs := q.Get("fieldSelector")
	single := strings.HasPrefix(fs, "metadata.name=") && !strings.Contains(fs, ",")
	return flowcontrol.ListSeats(stored, limit, fromStorage, selector, single)
}

func flowRequest(req *http.Request) flowcontrol.Request {
	a := requestAttributes(req)
	r := flowcontrol.Request{ResourceRequest: a.ResourceRequest, Verb: a.Verb, APIGroup: a.APIGroup,
		Resource: a.Resource, Subresource: a.Subresource, Namespace: a.Namespace, Path: a.Path}
	if u, ok := authn.UserFrom(req.Context()); ok && u != nil {
		r.User, r.Groups = u.Name, u.Groups
	}
	return r
}

func setFlowHeaders(w http.ResponseWriter, c flowcontrol.Classification) {
	if c.FlowSchemaUID != "" {
		w.Header().Set(fcapi.ResponseHeaderMatchedFlowSchemaUID, c.FlowSchemaUID)
	}
	if c.PriorityLevelUID != "" {
		w.Header().Set(fcapi.ResponseHeaderMatchedPriorityLevelConfigurationUID, c.PriorityLevelUID)
	}
}

// bootstrapFlowControl creates Kubernetes' default configuration objects that are
// missing. As Kubernetes' configuration producer does, the mandatory ones (exempt and
// catch-all) are also put back to their defaults when an administrator changed them
// while leaving apf.kubernetes.io/autoupdate-spec "true".
func (s *Server) bootstrapFlowControl(ctx context.Context) error {
	fsKind, ok := s.reg.Lookup(fcapi.GroupName, fcapi.Version, "flowschemas")
	plKind, ok2 := s.reg.Lookup(fcapi.GroupName, fcapi.Version, "prioritylevelconfigurations")
	if !ok || !ok2 {
		return nil
	}
	schemas, levels := flowcontrol.Defaults()
	var objs []meta.Object
	for _, pl := range levels {
		objs = append(objs, pl)
	}
	for _, fs := range schemas {
		objs = append(objs, fs)
	}
	for _, o := range objs {
		k := fsKind
		if _, isPL := o.(*fcapi.PriorityLevelConfiguration); isPL {
			k = plKind
		}
		m := o.GetObjectMeta()
		m.UID, m.CreationTimestamp = uuid.NewString(), meta.Now()
		err := s.store.Create(ctx, k.Key("", m.Name), o)
		if err != nil && !errors.Is(err, etcdstore.ErrAlreadyExists) {
			return fmt.Errorf("create %s %s: %w", k.Kind, m.Name, err)
		}
		mandatory := m.Name == fcapi.FlowSchemaNameExempt || m.Name == fcapi.FlowSchemaNameCatchAll
		if err == nil || !mandatory {
			continue
		}
		if _, err := s.store.GuaranteedUpdate(ctx, k.Key("", m.Name), k.New, func(cur meta.Object) (meta.Object, error) {
			if cur.GetObjectMeta().Annotations[fcapi.AutoUpdateAnnotationKey] != "true" {
				return cur, nil
			}
			switch c := cur.(type) {
			case *fcapi.FlowSchema:
				c.Spec = o.(*fcapi.FlowSchema).Spec
			case *fcapi.PriorityLevelConfiguration:
				c.Spec = o.(*fcapi.PriorityLevelConfiguration).Spec
			}
			return cur, nil
		}); err != nil {
			return fmt.Errorf("restore %s %s: %w", k.Kind, m.Name, err)
		}
	}
	return nil
}

// followFlowControl reconfigures the filter from the stored objects whenever one changes,
// and keeps each FlowSchema's Dangling condition true to whether its level exists.
func (s *Server) followFlowControl(ctx context.Context) {
	if s.apf == nil {
		return
	}
	fsKind, _ := s.reg.Lookup(fcapi.GroupName, fcapi.Version, "flowschemas")
	plKind, _ := s.reg.Lookup(fcapi.GroupName, fcapi.Version, "prioritylevelconfigurations")
	wake := make(chan struct{}, 1)
	poke := func(string, meta.Object) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go follow(ctx, s.cache(fsKind), func() {}, poke, s.log)
	go follow(ctx, s.cache(plKind), func() {}, poke, s.log)
	var mu sync.Mutex // one reconfiguration at a time
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
			}
			mu.Lock()
			s.reconfigureFlowControl(ctx, fsKind, plKind)
			mu.Unlock()
		}
	}()
}

func (s *Server) reconfigureFlowControl(ctx context.Context, fsKind, plKind *registry.Kind) {
	fsItems, _ := s.cache(fsKind).List(nil)
	plItems, _ := s.cache(plKind).List(nil)
	var schemas []*fcapi.FlowSchema
	var levels []*fcapi.PriorityLevelConfiguration
	for _, o := range plItems {
		levels = append(levels, o.(*fcapi.PriorityLevelConfiguration))
	}
	for _, o := range fsItems {
		schemas = append(schemas, o.(*fcapi.FlowSchema))
	}
	s.apf.Update(schemas, levels)
	for _, fs := range schemas {
		level := fs.Spec.PriorityLevelConfiguration.Name
		found := slices.ContainsFunc(levels, func(pl *fcapi.PriorityLevelConfiguration) bool { return pl.Name == level })
		cond := fcapi.FlowSchemaCondition{Type: fcapi.FlowSchemaConditionDangling, Status: fcapi.ConditionFalse, Reason: "Found",
			Message: fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q and it exists", level)}
		if !found {
			cond.Status, cond.Reason = fcapi.ConditionTrue, "NotFound"
			cond.Message = fmt.Sprintf("This FlowSchema references the PriorityLevelConfiguration object named %q but there is no such object", level)
		}
		if i := slices.IndexFunc(fs.Status.Conditions, func(c fcapi.FlowSchemaCondition) bool { return c.Type == cond.Type }); i >= 0 && fs.Status.Conditions[i].Status == cond.Status {
			continue
		}
		_, err := s.store.GuaranteedUpdate(ctx, fsKind.Key("", fs.Name), fsKind.New, func(cur meta.Object) (meta.Object, error) {
			c := cur.(*fcapi.FlowSchema)
			cond.LastTransitionTime = meta.Now()
			c.Status.Conditions = slices.DeleteFunc(c.Status.Conditions, func(x fcapi.FlowSchemaCondition) bool { return x.Type == cond.Type })
			c.Status.Conditions = append(c.Status.Conditions, cond)
			return c, nil
		})
		if err != nil && !errors.Is(err, etcdstore.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("flow schema status", "name", fs.Name, "err", err)
		}
	}
}
