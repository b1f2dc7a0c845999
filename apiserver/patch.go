package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/patch"
	"github.com/skiff-sh/skiff/api/registry"
)

// applyPatch applies a PATCH body of the given content type to the JSON of cur.
func applyPatch(contentType string, k *registry.Kind, cur, body []byte) ([]byte, *apiError) {
	var out []byte
	var err error
	switch mediaType(contentType) {
	case "application/merge-patch+json":
		out, err = patch.MergePatch(cur, body)
	case "application/json-patch+json":
		out, err = patch.JSONPatch(cur, body)
	case "application/strategic-merge-patch+json":
		if k.Custom != nil {
			// Custom resources have no Go type to take merge keys from; Kubernetes refuses too.
			return nil, newStatus(http.StatusUnsupportedMediaType, meta.ReasonUnsupportedMediaType,
				"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json", nil)
		}
		out, err = patch.StrategicMergePatch(cur, body, k.Type)
	default:
		return nil, newStatus(http.StatusUnsupportedMediaType, meta.ReasonUnsupportedMediaType,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got %q)", contentType), nil)
	}
	if err != nil {
		if errors.Is(err, patch.ErrCannotApply) {
			return nil, newStatus(http.StatusUnprocessableEntity, meta.ReasonInvalid, err.Error(), nil)
		}
		return nil, errBadRequest(err.Error())
	}
	return out, nil
}

func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(strings.ToLower(ct))
}

func (s *Server) patch(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	body, aerr := s.readBody(w, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	ct := req.Header.Get("Content-Type")
	switch mediaType(ct) {
	case applyPatchYAML:
		s.serverSideApply(w, req, r, body) // apply.go
		return
	case applyPatchCBOR:
		// CBOR is not spoken here; clients fall back to YAML on 415, as with Kubernetes
		// servers that do not enable it.
		writeError(w, newStatus(http.StatusUnsupportedMediaType, meta.ReasonUnsupportedMediaType,
			"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml", nil))
		return
	}
	if aerr := validateFieldManager(req, "PatchOptions", false); aerr != nil {
		writeError(w, aerr)
		return
	}
	checked := false
	out, aerr := s.applyUpdate(req.Context(), req, r, func(cur meta.Object) (meta.Object, *apiError) {
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return nil, errInternal(err)
		}
		patched, aerr := applyPatch(ct, k, curJSON, body)
		if aerr != nil {
			return nil, aerr
		}
		var in meta.Object
		if k.Custom != nil {
			u, aerr := s.decodeCustom(w, req, k, patched, !checked)
			if aerr != nil {
				return nil, aerr
			}
			checked, in = true, u
		} else {
			if !checked {
				// Unknown fields are judged once per request, not on every conflict retry.
				if aerr := s.checkUnknownFields(w, req, k, patched); aerr != nil {
					return nil, aerr
				}
				checked = true
			}
			in = k.New()
			if err := json.Unmarshal(patched, in); err != nil {
				return nil, errBadRequest(decodeMessage(err))
			}
		}
		if aerr := checkPatchedIdentity(r, in, cur); aerr != nil {
			return nil, aerr
		}
		if tm := in.GetTypeMeta(); tm.Kind != k.Kind || tm.APIVersion != k.APIVersion() {
			return nil, errBadRequest("a patch may not change kind or apiVersion")
		}
		return s.prepareUpdate(req, r, in, cur)
	})
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.writeObject(w, req, http.StatusOK, k, out)
}
