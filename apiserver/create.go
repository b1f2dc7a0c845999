package apiserver

// create: decode, default, admit, validate, store.

import (
	"crypto/rand"
	"errors"
	"net/http"
	"reflect"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

func (s *Server) create(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	if r.subresource != "" {
		writeError(w, errMethodNotAllowed("create is not supported on "+r.subresource))
		return
	}
	if k.Custom != nil && k.Custom.Terminating {
		writeError(w, errCustomTerminating(k))
		return
	}
	obj, aerr := s.readObject(w, req, k)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	m := obj.GetObjectMeta()
	if k.Namespaced {
		if m.Namespace == "" {
			m.Namespace = r.namespace
		} else if r.namespace != "" && m.Namespace != r.namespace {
			writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	} else {
		m.Namespace = ""
	}
	if aerr := validateFieldManager(req, "CreateOptions", false); aerr != nil {
		writeError(w, aerr)
		return
	}
	// Fields are owned as the client sent them, defaulted, before admission and what the
	// server sets (Kubernetes runs its field manager at the same point).
	defaults.Object(obj)
	s.trackUpdate(req, r, nil, obj, obj.GetObjectMeta().ManagedFields)
	s.createObject(w, req, r, obj)
}

// createObject stores a decoded new object: it defaults, admits, validates and writes it,
// retrying generated names.
func (s *Server) createObject(w http.ResponseWriter, req *http.Request, r *request, obj meta.Object) {
	k := r.kind
	m := obj.GetObjectMeta()
	ctx := req.Context()
	generated := m.Name == "" && m.GenerateName != ""
	for attempt := 0; ; attempt++ {
		if generated {
			m.Name = m.GenerateName + randomSuffix()
		}
		prepareCreate(k, obj)
		setRequester(ctx, obj)
		if aerr := admitCSR(obj); aerr != nil {
			writeError(w, aerr)
			return
		}
		a := admissionAttributes(ctx, admission.Create, k, "", m.Namespace, m.Name, obj, nil, dryRun(req))
		if aerr := s.admit(ctx, a, func() *apiError {
			if errs := append(validation.Validate(obj, k.Namespaced), validateCustom(k, obj, nil)...); len(errs) > 0 {
				return errInvalid(k, m.Name, errs)
			}
			return nil
		}); aerr != nil {
			writeError(w, aerr)
			return
		}
		if aerr := s.checkRBACEscalation(ctx, k, obj, nil); aerr != nil { // rbacescalation.go
			writeError(w, aerr)
			return
		}
		if dryRun(req) {
			s.writeObject(w, req, http.StatusCreated, k, obj)
			return
		}
		var claimed []string
		if svc, ok := obj.(*core.Service); ok {
			var errs field.ErrorList
			if claimed, errs = s.alloc.allocateService(ctx, svc, true); len(errs) > 0 {
				writeError(w, errInvalid(k, m.Name, errs))
				return
			}
		}
		stored, aerr := s.toStorageVersion(ctx, k, obj)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		err := s.store.Create(ctx, k.Key(m.Namespace, m.Name), stored)
		if err != nil {
			s.alloc.releaseKeys(ctx, claimed, m.Namespace+"/"+m.Name)
		}
		if errors.Is(err, storage.ErrAlreadyExists) && generated && attempt < 5 {
			continue
		}
		if err != nil {
			writeError(w, toAPIError(k, m.Name, err))
			return
		}
		s.writeObject(w, req, http.StatusCreated, k, stored)
		return
	}
}

// prepareCreate sets what the server owns on a new object and applies defaults.
func prepareCreate(k *registry.Kind, obj meta.Object) {
	// Defaults first: some (a namespace's finalizer) apply only to objects not yet created.
	defaults.Object(obj)
	m := obj.GetObjectMeta()
	m.UID = uuid.NewString()
	m.CreationTimestamp = meta.Now()
	m.ResourceVersion = ""
	m.DeletionTimestamp = nil
	m.DeletionGracePeriodSeconds = nil
	m.Generation = 0
	if k.HasSpec() {
		m.Generation = 1
	}
	if k.Status && k.Kind != "Node" {
		// Status is written by controllers through /status; a client cannot create it
		// (Nodes are the exception: the node agent registers with its status).
		resetStatus(obj)
		resetCustomStatus(k, obj)
	}
	prepareCreateKind(obj)
}

func resetStatus(obj meta.Object) {
	f := reflect.ValueOf(obj).Elem().FieldByName("Status")
	if f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
}

// copyField sets dst.name = src.name (both pointers to the same struct type).
func copyField(dst, src meta.Object, name string) {
	d := reflect.ValueOf(dst).Elem().FieldByName(name)
	if d.IsValid() {
		d.Set(reflect.ValueOf(src).Elem().FieldByName(name))
	}
}

func fieldEqual(a, b meta.Object, name string) bool {
	fa := reflect.ValueOf(a).Elem().FieldByName(name)
	if !fa.IsValid() {
		return true
	}
	return reflect.DeepEqual(fa.Interface(), reflect.ValueOf(b).Elem().FieldByName(name).Interface())
}

const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix() string {
	var b [5]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	return string(b[:])
}
