package apiserver

// create: decode, default, admit, validate, store.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"reflect"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-sh/skiff/storage"
)

func (s *Server) create(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	if r.subresource != "" {
		writeError(w, errMethodNotAllowed("create is not supported on "+r.subresource))
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
	ctx := req.Context()
	if k.Namespaced {
		if aerr := s.admitNamespace(ctx, k, m.Namespace, m.Name); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
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
		if aerr := s.admit(ctx, k, obj); aerr != nil {
			writeError(w, aerr)
			return
		}
		if aerr := s.admitNodeWrite(ctx, noderestriction.Create, k, "", m.Namespace, m.Name, obj, nil); aerr != nil {
			writeError(w, aerr)
			return
		}
		if errs := validation.Validate(obj, k.Namespaced); len(errs) > 0 {
			writeError(w, errInvalid(k, m.Name, errs))
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
		err := s.store.Create(ctx, k.Key(m.Namespace, m.Name), obj)
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
		s.writeObject(w, req, http.StatusCreated, k, obj)
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

// admitNamespace refuses new objects in a namespace that does not exist or is terminating.
func (s *Server) admitNamespace(ctx context.Context, k *registry.Kind, ns, name string) *apiError {
	nsKind, _ := s.reg.Lookup("", "v1", "namespaces")
	obj, ok := s.caches[nsKind].Get(nsKind.Key("", ns))
	if !ok {
		// The cache may lag a namespace created a moment ago: ask etcd before refusing.
		o := nsKind.New()
		if err := s.store.Get(ctx, nsKind.Key("", ns), o); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return errNotFound(nsKind, ns)
			}
			return toAPIError(nsKind, ns, err)
		}
		obj = o
	}
	if obj.GetObjectMeta().DeletionTimestamp != nil {
		return errForbidden(k, name, fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", ns))
	}
	return nil
}
