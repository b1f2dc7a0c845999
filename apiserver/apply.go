package apiserver

// Server-side apply: PATCH with application/apply-patch+yaml merges the applied
// configuration into the live object by field ownership (api/fieldmanager), creating the
// object when there is none.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/fieldmanager"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/storage"
)

const (
	applyPatchYAML = "application/apply-patch+yaml"
	applyPatchCBOR = "application/apply-patch+cbor"
)

func (s *Server) serverSideApply(w http.ResponseWriter, req *http.Request, r *request, body []byte) {
	k := r.kind
	if aerr := validateFieldManager(req, "PatchOptions", true); aerr != nil {
		writeError(w, aerr)
		return
	}
	q := req.URL.Query()
	force := false
	if v := q.Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, errBadRequest(fmt.Sprintf("force: invalid value %q", v)))
			return
		}
		force = b
	}
	manager := q.Get("fieldManager")
	config, aerr := decodeApplyConfig(body)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	// Keys given twice in the YAML: refused under Strict, a warning under Warn (the
	// default), as kube-apiserver's apply patcher (its message, from sigs.k8s.io/yaml).
	if mode := q.Get("fieldValidation"); mode != "Ignore" {
		if err := yaml.UnmarshalStrict(body, &map[string]any{}); err != nil {
			if mode == "Strict" {
				writeError(w, errBadRequest("error strict decoding YAML: "+err.Error()))
				return
			}
			addWarnings(req.Context(), err.Error())
		}
	}
	if v, _ := config["apiVersion"].(string); v != k.APIVersion() {
		writeError(w, errBadRequest(fmt.Sprintf("Incorrect version specified in apply patch. Specified patch version: %s, expected: %s", v, k.APIVersion())))
		return
	}
	if kind, _ := config["kind"].(string); kind != k.Kind {
		writeError(w, errBadRequest(fmt.Sprintf("the kind %q of the body does not match the resource %s (kind %q)", kind, k.Resource, k.Kind)))
		return
	}
	r.applied = true
	checked := false
	// decode turns the merged object into the kind's object; unknown fields were refused by
	// the field manager already, pruning of custom resources reports nothing new.
	decode := func(merged map[string]any) (meta.Object, *apiError) {
		b, err := json.Marshal(merged)
		if err != nil {
			return nil, errInternal(err)
		}
		if k.Custom != nil {
			u, aerr := s.decodeCustom(w, req, k, b, !checked)
			checked = true
			return u, aerr
		}
		in := k.New()
		if err := json.Unmarshal(b, in); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
		return in, nil
	}
	out, aerr := s.applyUpdate(req.Context(), req, r, func(cur meta.Object) (meta.Object, *apiError) {
		live, err := toFieldMap(cur)
		if err != nil {
			return nil, errInternal(err)
		}
		merged, mf, _, err := s.fieldRequest(r).Apply(live, config, manager, force)
		if err != nil {
			return nil, s.applyError(r, err)
		}
		in, aerr := decode(merged)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := checkPatchedIdentity(r, in, cur); aerr != nil {
			return nil, aerr
		}
		in.GetObjectMeta().ManagedFields = mf
		return s.prepareUpdate(req, r, in, cur)
	})
	if aerr != nil && aerr.status.Code == http.StatusNotFound && r.subresource == "" && errors.Is(s.exists(req, r), storage.ErrNotFound) {
		// An apply to an object that is not there creates it, from the kind's empty object.
		s.applyCreate(w, req, r, config, manager, force, decode)
		return
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.writeObject(w, req, http.StatusOK, k, out)
}

// exists tells a missing object from other not-found answers (a missing namespace is
// judged by create's admission).
func (s *Server) exists(req *http.Request, r *request) error {
	return s.store.Get(req.Context(), r.kind.Key(r.namespace, r.name), r.kind.NewStored())
}

func (s *Server) applyCreate(w http.ResponseWriter, req *http.Request, r *request, config map[string]any, manager string, force bool, decode func(map[string]any) (meta.Object, *apiError)) {
	k := r.kind
	empty, err := toFieldMap(k.New())
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	merged, mf, _, err := s.fieldRequest(r).Apply(empty, config, manager, force)
	if err != nil {
		writeError(w, s.applyError(r, err))
		return
	}
	obj, aerr := decode(merged)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	m := obj.GetObjectMeta()
	if m.Name == "" {
		m.Name = r.name
	}
	if m.Name != r.name {
		writeError(w, errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.Name, r.name)))
		return
	}
	if k.Namespaced {
		if m.Namespace != "" && m.Namespace != r.namespace {
			writeError(w, errBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
		m.Namespace = r.namespace
	} else {
		m.Namespace = ""
	}
	m.ManagedFields = mf
	s.createObject(w, req, r, obj)
}

// decodeApplyConfig reads an apply body (YAML, of which JSON is a part) as a JSON object.
func decodeApplyConfig(body []byte) (map[string]any, *apiError) {
	j, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, errBadRequest("error decoding YAML: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var config map[string]any
	if err := dec.Decode(&config); err != nil || config == nil {
		msg := "error decoding YAML: the applied configuration is not an object"
		if err != nil {
			msg = "error decoding YAML: " + err.Error()
		}
		return nil, errBadRequest(msg)
	}
	return config, nil
}

// applyError maps the field manager's errors to Kubernetes' answers: conflicts are 409 with
// a FieldManagerConflict cause per field; a configuration that does not fit the kind's
// schema is the 500 Kubernetes gives ("failed to create typed patch object").
func (s *Server) applyError(r *request, err error) *apiError {
	var ce *fieldmanager.ConflictError
	var te *fieldmanager.TypeError
	switch {
	case errors.As(err, &ce):
		causes := make([]meta.StatusCause, len(ce.Conflicts))
		for i, c := range ce.Conflicts {
			causes[i] = meta.StatusCause{Type: meta.CauseTypeFieldManagerConflict, Message: "conflict with " + c.Manager, Field: c.Path.String()}
		}
		return newStatus(http.StatusConflict, meta.ReasonConflict, ce.Error(), &meta.StatusDetails{Causes: causes})
	case errors.As(err, &te):
		k := r.kind
		return newStatus(http.StatusInternalServerError, "", fmt.Sprintf("failed to create typed patch object (%s/%s; %s/%s, Kind=%s): %v",
			r.namespace, r.name, k.Group, k.Version, k.Kind, te.Err), nil)
	case errors.Is(err, fieldmanager.ErrManagedFieldsInConfig):
		return errBadRequest(err.Error())
	}
	return errInternal(err)
}

// checkPatchedIdentity refuses a patch that renames, moves or re-identifies the object.
func checkPatchedIdentity(r *request, in, cur meta.Object) *apiError {
	k := r.kind
	im, cm := in.GetObjectMeta(), cur.GetObjectMeta()
	if im.Name != cm.Name {
		return errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", im.Name, r.name))
	}
	if k.Namespaced && im.Namespace != "" && im.Namespace != cm.Namespace {
		return errBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	if im.UID != "" && im.UID != cm.UID {
		return errInvalid(k, r.name, field.ErrorList{field.Invalid(field.NewPath("metadata", "uid"), im.UID, "field is immutable")})
	}
	return nil
}
