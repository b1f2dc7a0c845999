package apiserver

// delete and deletecollection: graceful deletion, finalizers and propagation.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// readyToDelete: deletion was requested and nothing holds the object any more.
func readyToDelete(obj meta.Object) bool {
	m := obj.GetObjectMeta()
	if m.DeletionTimestamp == nil || len(m.Finalizers) > 0 {
		return false
	}
	grace := int64(0)
	if m.DeletionGracePeriodSeconds != nil {
		grace = *m.DeletionGracePeriodSeconds
	}
	return !holdsOwnDeletion(obj, grace)
}

func (s *Server) delete(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	if r.subresource != "" {
		writeError(w, errMethodNotAllowed("delete is not supported on "+r.subresource))
		return
	}
	opts, aerr := s.deleteOptions(w, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if aerr := s.checkConvertible(req.Context(), k, r.namespace, r.name); aerr != nil {
		writeError(w, aerr)
		return
	}
	obj, deleted, aerr := s.deleteObject(req.Context(), k, r.namespace, r.name, opts, dryRun(req))
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	code := http.StatusOK
	if !deleted {
		code = http.StatusAccepted
	}
	s.writeObject(w, req, code, k, obj)
}

// checkConvertible reads a custom resource of a webhook-converted kind in the request's
// version before it is deleted, as Kubernetes does: a webhook that cannot convert it refuses
// the delete (500), rather than the object going and the answer failing. A missing object is
// left for the delete to report.
func (s *Server) checkConvertible(ctx context.Context, k *registry.Kind, namespace, name string) *apiError {
	if k.Custom == nil || k.Custom.Webhook == nil {
		return nil
	}
	cur := k.NewStored()
	if err := s.store.Get(ctx, k.Key(namespace, name), cur); err != nil {
		return nil
	}
	_, aerr := s.toVersion(ctx, k, cur)
	return aerr
}

func (s *Server) deleteOptions(w http.ResponseWriter, req *http.Request) (*meta.DeleteOptions, *apiError) {
	opts := &meta.DeleteOptions{}
	body, aerr := s.readBody(w, req)
	if aerr != nil {
		return nil, aerr
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if body, aerr = toJSON(req, body); aerr != nil {
			return nil, aerr
		}
		if err := json.Unmarshal(body, opts); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
	}
	q := req.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errBadRequest("invalid gracePeriodSeconds: " + v)
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		opts.PropagationPolicy = &v
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := isTrue(v)
		opts.OrphanDependents = &b
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case meta.DeletePropagationBackground, meta.DeletePropagationForeground, meta.DeletePropagationOrphan:
		default:
			return nil, errBadRequest(fmt.Sprintf("propagationPolicy: Unsupported value: %q", *p))
		}
	}
	return opts, nil
}

// deleteObject deletes at once when nothing holds the object; otherwise it marks it with a
// deletionTimestamp and leaves the rest to finalizers (and, for pods, the node agent).
// deleted reports whether the object is gone.
func (s *Server) deleteObject(ctx context.Context, k *registry.Kind, ns, name string, opts *meta.DeleteOptions, dry bool) (meta.Object, bool, *apiError) {
	key := k.Key(ns, name)
	for attempt := 0; attempt < 10; attempt++ {
		cur := k.NewStored()
		if err := s.store.Get(ctx, key, cur); err != nil {
			return nil, false, toAPIError(k, name, err)
		}
		if aerr := checkPreconditions(k, name, cur, opts.Preconditions); aerr != nil {
			return nil, false, aerr
		}
		if aerr := s.admit(ctx, admissionAttributes(ctx, admission.Delete, k, "", ns, name, nil, cur, dry), nil); aerr != nil {
			return nil, false, aerr
		}
		m := cur.GetObjectMeta()
		grace := gracePeriod(cur, opts)
		policy := ""
		if opts.PropagationPolicy != nil {
			policy = *opts.PropagationPolicy
		} else if opts.OrphanDependents != nil && *opts.OrphanDependents {
			policy = meta.DeletePropagationOrphan
		}
		finalizers := append([]string(nil), m.Finalizers...)
		if isCRDKind(k) && m.DeletionTimestamp == nil {
			// Its objects go first (crd_controller.go), as in Kubernetes.
			finalizers = addString(finalizers, apiextensions.CustomResourceCleanupFinalizer)
		}
		switch policy {
		case meta.DeletePropagationForeground:
			finalizers = addString(removeString(finalizers, finalizerOrphan), finalizerForeground)
		case meta.DeletePropagationOrphan:
			finalizers = addString(removeString(finalizers, finalizerForeground), finalizerOrphan)
		}
		if len(finalizers) == 0 && !holdsOwnDeletion(cur, grace) {
			if dry {
				return cur, true, nil
			}
			rv, uid := m.ResourceVersion, m.UID
			last, err := s.store.Delete(ctx, key, k.NewStored, func(c meta.Object) error {
				cm := c.GetObjectMeta()
				if cm.ResourceVersion != rv || cm.UID != uid {
					return storage.ErrConflict
				}
				return nil
			})
			if errors.Is(err, storage.ErrConflict) {
				continue
			}
			if err != nil {
				return nil, false, toAPIError(k, name, err)
			}
			s.released(ctx, last)
			return last, true, nil
		}
		// Graceful: mark and keep.
		if m.DeletionTimestamp != nil {
			// Already being deleted: a shorter grace period may still be applied.
			if m.DeletionGracePeriodSeconds == nil || grace >= *m.DeletionGracePeriodSeconds {
				if sameStrings(finalizers, m.Finalizers) {
					return cur, false, nil
				}
			}
		}
		now := meta.Now()
		if m.DeletionTimestamp == nil || (m.DeletionGracePeriodSeconds != nil && grace < *m.DeletionGracePeriodSeconds) {
			ts := meta.NewTime(now.Add(time.Duration(grace) * time.Second))
			m.DeletionTimestamp = &ts
			m.DeletionGracePeriodSeconds = &grace
		}
		m.Finalizers = finalizers
		markTerminating(cur)
		if dry {
			return cur, false, nil
		}
		rv := m.ResourceVersion
		out, err := s.store.GuaranteedUpdate(ctx, key, k.NewStored, func(c meta.Object) (meta.Object, error) {
			if c.GetObjectMeta().ResourceVersion != rv {
				return nil, storage.ErrConflict
			}
			return cur, nil
		})
		if errors.Is(err, storage.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, false, toAPIError(k, name, err)
		}
		return out, false, nil
	}
	return nil, false, errConflict(k, name, "too many concurrent changes during delete")
}

func checkPreconditions(k *registry.Kind, name string, cur meta.Object, p *meta.Preconditions) *apiError {
	if p == nil {
		return nil
	}
	m := cur.GetObjectMeta()
	if p.UID != nil && *p.UID != m.UID {
		return errConflict(k, name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", *p.UID, m.UID))
	}
	if p.ResourceVersion != nil && *p.ResourceVersion != m.ResourceVersion {
		return errConflict(k, name, fmt.Sprintf("Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s", *p.ResourceVersion, m.ResourceVersion))
	}
	return nil
}

func addString(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func removeString(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func sameStrings(a, b []string) bool {
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

func (s *Server) deleteCollection(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	sel, aerr := s.parseSelection(k, r.namespace, req.URL.Query())
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	opts, aerr := s.deleteOptions(w, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	// Fields a webhook-converted version selects on are matched after conversion, as a list
	// matches them (selection_converted.go).
	pred := func(o meta.Object) bool { return sel.matches(k, o) }
	var convErr *apiError
	if stored, conv := sel.splitConverted(k); conv != nil {
		pred = s.convertedPredicate(req.Context(), k, stored, conv, &convErr)
	}
	res, err := s.store.List(req.Context(), k.Prefix(r.namespace), k.NewStored, storage.ListOptions{Predicate: pred})
	if err != nil {
		writeError(w, toAPIError(k, "", err))
		return
	}
	if convErr != nil {
		writeError(w, convErr)
		return
	}
	// As for one object: every object is read in the request's version before any is deleted.
	if _, aerr := s.toVersions(req.Context(), k, slices.Clone(res.Items)); aerr != nil {
		writeError(w, aerr)
		return
	}
	var gone []meta.Object
	for _, it := range res.Items {
		m := it.GetObjectMeta()
		obj, _, aerr := s.deleteObject(req.Context(), k, m.Namespace, m.Name, opts, dryRun(req))
		if aerr != nil {
			if aerr.status.Code == http.StatusNotFound {
				continue
			}
			writeError(w, aerr)
			return
		}
		gone = append(gone, obj)
	}
	gone, aerr = s.toVersions(req.Context(), k, gone)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeList(w, k, gone, meta.ListMeta{ResourceVersion: strconv.FormatInt(res.ResourceVersion, 10)})
}

// released frees what a deleted object held (a Service's cluster IP and node ports).
func (s *Server) released(ctx context.Context, obj meta.Object) {
	if svc, ok := obj.(*core.Service); ok {
		s.alloc.releaseKeys(ctx, serviceKeys(svc), svc.Namespace+"/"+svc.Name)
	}
}
