package apiserver

// update (PUT) and the read-modify-write loop that patch and the subresources share.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-sh/skiff/storage"
)

// updateFunc turns the current object into the new one; it is the heart of update and patch.
type updateFunc func(cur meta.Object) (meta.Object, *apiError)

// applyUpdate runs fn inside a guaranteed update (or once, for a dry run) and finishes a
// deletion that the update made possible (the last finalizer removed).
func (s *Server) applyUpdate(ctx context.Context, req *http.Request, r *request, fn updateFunc) (meta.Object, *apiError) {
	k := r.kind
	key := k.Key(r.namespace, r.name)
	var old meta.Object // the state the successful attempt started from
	try := func(cur meta.Object) (meta.Object, error) {
		old = deepCopy(k, cur)
		n, aerr := fn(cur)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := s.checkRBACEscalation(ctx, k, n, old); aerr != nil { // rbacescalation.go
			return nil, aerr
		}
		if aerr := s.admitCSRUpdate(ctx, r.subresource, old, n); aerr != nil {
			return nil, aerr
		}
		if aerr := s.admitNodeWrite(ctx, noderestriction.Update, k, r.subresource, r.namespace, r.name, n, old); aerr != nil {
			return nil, aerr
		}
		if svc, ok := n.(*core.Service); ok && r.subresource == "" && !dryRun(req) {
			// A Service changed to need a cluster IP or node ports gets them now; claims are
			// idempotent, so a retried attempt reclaims the same values.
			if _, errs := s.alloc.allocateService(ctx, svc, false); len(errs) > 0 {
				return nil, errInvalid(k, r.name, errs)
			}
		}
		return n, nil
	}
	if dryRun(req) {
		cur := k.New()
		if err := s.store.Get(ctx, key, cur); err != nil {
			return nil, toAPIError(k, r.name, err)
		}
		n, err := try(cur)
		if err != nil {
			return nil, toAPIError(k, r.name, err)
		}
		return n, nil
	}
	var opts []storage.UpdateOption
	if cached, ok := s.caches[k].Get(key); ok {
		opts = append(opts, storage.WithCachedObject(cached))
	}
	obj, err := s.store.GuaranteedUpdate(ctx, key, k.New, try, opts...)
	if err != nil {
		return nil, toAPIError(k, r.name, err)
	}
	if svc, ok := obj.(*core.Service); ok {
		s.alloc.releaseUnused(ctx, old.(*core.Service), svc)
	}
	if readyToDelete(obj) {
		rv := obj.GetObjectMeta().ResourceVersion
		_, err := s.store.Delete(ctx, key, k.New, func(cur meta.Object) error {
			if cur.GetObjectMeta().ResourceVersion != rv {
				return storage.ErrConflict
			}
			return nil
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrConflict) {
			return nil, toAPIError(k, r.name, err)
		}
		if err == nil {
			s.released(ctx, obj)
		}
	}
	return obj, nil
}

func (s *Server) update(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	obj, aerr := s.readObject(w, req, k)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	m := obj.GetObjectMeta()
	if m.Name != r.name {
		writeError(w, errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.Name, r.name)))
		return
	}
	if k.Namespaced && m.Namespace != "" && m.Namespace != r.namespace {
		writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
		return
	}
	out, aerr := s.applyUpdate(req.Context(), req, r, func(cur meta.Object) (meta.Object, *apiError) {
		return s.prepareUpdate(r, obj, cur)
	})
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.writeObject(w, req, http.StatusOK, k, out)
}

// prepareUpdate checks the precondition, keeps what the client may not change and validates.
// in is not modified; the returned object is new or cur itself.
func (s *Server) prepareUpdate(r *request, in, cur meta.Object) (meta.Object, *apiError) {
	k := r.kind
	cm := cur.GetObjectMeta()
	if rv := in.GetObjectMeta().ResourceVersion; rv != "" && rv != cm.ResourceVersion {
		return nil, errConflict(k, r.name, errModified)
	}
	var n meta.Object
	switch r.subresource {
	case "status", subApproval:
		// A status write changes status only (an approval only its conditions).
		n = deepCopy(k, cur)
		copyField(n, in, "Status")
		prepareCSRUpdate(r.subresource, n, in, cur)
	case "finalize":
		n = deepCopy(k, cur)
		copyField(n, in, "Spec")
	default:
		n = deepCopy(k, in)
		nm := n.GetObjectMeta()
		nm.Namespace = cm.Namespace
		nm.UID, nm.CreationTimestamp = cm.UID, cm.CreationTimestamp
		nm.DeletionTimestamp, nm.DeletionGracePeriodSeconds = cm.DeletionTimestamp, cm.DeletionGracePeriodSeconds
		nm.Generation = cm.Generation
		nm.ResourceVersion = cm.ResourceVersion
		if nm.GenerateName == "" {
			nm.GenerateName = cm.GenerateName
		}
		if k.Status {
			copyField(n, cur, "Status")
		}
		prepareCSRUpdate("", n, in, cur)
		prepareUpdateKind(n, cur)
		defaults.Object(n)
		if k.HasSpec() && !fieldEqual(n, cur, "Spec") {
			nm.Generation = cm.Generation + 1
			if nm.Generation == 1 {
				nm.Generation = 2
			}
		}
	}
	if errs := validation.ValidateUpdate(n, cur, k.Namespaced); len(errs) > 0 {
		return nil, errInvalid(k, r.name, errs)
	}
	return n, nil
}
