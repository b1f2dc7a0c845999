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
	"github.com/skiff-sh/skiff/apiserver/admission"
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
		cur, aerr := s.fromStorageVersion(ctx, k, cur) // on the way in; toStorageVersion below on the way out
		if aerr != nil {
			return nil, aerr
		}
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
		// Mutating admission ran in fn (prepareUpdate) where the write is a whole object.
		a := admissionAttributes(ctx, admission.Update, k, r.subresource, r.namespace, r.name, n, old, dryRun(req))
		if aerr := s.admitValidating(ctx, a); aerr != nil {
			return nil, aerr
		}
		if svc, ok := n.(*core.Service); ok && r.subresource == "" && !dryRun(req) {
			// A Service changed to need a cluster IP or node ports gets them now; claims are
			// idempotent, so a retried attempt reclaims the same values.
			if _, errs := s.alloc.allocateService(ctx, svc, false); len(errs) > 0 {
				return nil, errInvalid(k, r.name, errs)
			}
		}
		stored, aerr := s.toStorageVersion(ctx, k, n) // n is new or cur, a copy of its own
		if aerr != nil {
			return nil, aerr
		}
		return stored, nil
	}
	if dryRun(req) {
		cur := k.NewStored()
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
	if cached, ok := s.cache(k).Get(key); ok {
		opts = append(opts, storage.WithCachedObject(cached))
	}
	obj, err := s.store.GuaranteedUpdate(ctx, key, k.NewStored, try, opts...)
	if err != nil {
		return nil, toAPIError(k, r.name, err)
	}
	if svc, ok := obj.(*core.Service); ok {
		s.alloc.releaseUnused(ctx, old.(*core.Service), svc)
	}
	if readyToDelete(obj) {
		rv := obj.GetObjectMeta().ResourceVersion
		_, err := s.store.Delete(ctx, key, k.NewStored, func(cur meta.Object) error {
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
	if aerr := validateFieldManager(req, "UpdateOptions", false); aerr != nil {
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
		return s.prepareUpdate(req, r, obj, cur)
	})
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.writeObject(w, req, http.StatusOK, k, out)
}

// prepareUpdate checks the precondition, keeps what the client may not change, runs the
// mutating admission plugins and validates. in is not modified; the returned object is new or
// cur itself. (The validating plugins run in applyUpdate, for every kind of update.)
func (s *Server) prepareUpdate(req *http.Request, r *request, in, cur meta.Object) (meta.Object, *apiError) {
	k := r.kind
	cm := cur.GetObjectMeta()
	if rv := in.GetObjectMeta().ResourceVersion; rv != "" && rv != cm.ResourceVersion {
		return nil, errConflict(k, r.name, errModified)
	}
	// An object carrying a uid must be the one stored (Kubernetes makes it a precondition of
	// the update): a PUT of an object deleted and recreated meanwhile is refused.
	if uid := in.GetObjectMeta().UID; uid != "" && uid != cm.UID {
		return nil, errConflict(k, r.name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", uid, cm.UID))
	}
	var n meta.Object
	switch r.subresource {
	case "status", subApproval:
		// A status write changes status only (an approval only its conditions).
		n = deepCopy(k, cur)
		copyField(n, in, "Status")
		if k.Custom != nil {
			copyCustomField(n, in, "status")
		}
		// Both keep the metadata the write brings (upstream's status and approval
		// strategies reset spec and the rest of status only).
		keepStatusWriteMetadata(n, in)
		prepareCSRUpdate(r.subresource, n, in, cur)
	case "finalize":
		n = deepCopy(k, cur)
		copyField(n, in, "Spec")
	case subEphemeral:
		// Only spec.ephemeralContainers changes (Kubernetes' dropNonEphemeralContainerUpdates).
		n = deepCopy(k, cur)
		np, ip := n.(*core.Pod), in.(*core.Pod)
		np.Spec.EphemeralContainers = ip.Spec.EphemeralContainers
		defaults.Object(n)
		if !fieldEqual(n, cur, "Spec") {
			np.Generation = cm.Generation + 1
		}
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
			if k.Custom != nil {
				copyCustomField(n, cur, "status")
			}
		}
		prepareCSRUpdate("", n, in, cur)
		prepareUpdateKind(n, cur)
		defaults.Object(n)
		if (k.Custom == nil && k.HasSpec() && !fieldEqual(n, cur, "Spec")) || (k.Custom != nil && customSpecChanged(k, n, cur)) {
			nm.Generation = cm.Generation + 1
			if nm.Generation == 1 {
				nm.Generation = 2
			}
		}
	}
	if r.subresource != "status" && r.subresource != "" {
		// Other subresources (finalize, approval, scale) keep the stored managedFields.
		n.GetObjectMeta().ManagedFields = cm.ManagedFields
	} else if !r.applied {
		// An apply recorded its own managedFields (apply.go).
		if r.subresource == "status" {
			n.GetObjectMeta().ManagedFields = cm.ManagedFields
		}
		s.trackUpdate(req, r, cur, n, in.GetObjectMeta().ManagedFields)
	} else {
		// A status write builds n from cur: the apply's managedFields come from in.
		n.GetObjectMeta().ManagedFields = in.GetObjectMeta().ManagedFields
	}
	ctx := req.Context()
	a := admissionAttributes(ctx, admission.Update, k, r.subresource, r.namespace, r.name, n, cur, dryRun(req))
	if aerr := s.admitMutating(ctx, a); aerr != nil {
		return nil, aerr
	}
	if r.subresource == subEphemeral {
		if errs := validation.ValidatePodEphemeralContainersUpdate(n.(*core.Pod), cur.(*core.Pod)); len(errs) > 0 {
			return nil, errInvalid(k, r.name, errs)
		}
		return n, nil
	}
	if errs := append(validation.ValidateUpdate(n, cur, k.Namespaced), validateCustom(k, n, cur)...); len(errs) > 0 {
		return nil, errInvalid(k, r.name, errs)
	}
	return n, nil
}
