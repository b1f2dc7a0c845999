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
		out, err = patch.StrategicMergePatch(cur, body, k.Type)
	case "application/apply-patch+yaml":
		return nil, newStatus(http.StatusUnsupportedMediaType, meta.ReasonUnsupportedMediaType,
			"server-side apply is not supported by skiff yet; use client-side kubectl apply", nil)
	default:
		return nil, newStatus(http.StatusUnsupportedMediaType, meta.ReasonUnsupportedMediaType,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got %q)", contentType), nil)
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
		if !checked {
			// Unknown fields are judged once per request, not on every conflict retry.
			if aerr := s.checkUnknownFields(w, req, k, patched); aerr != nil {
				return nil, aerr
			}
			checked = true
		}
		in := k.New()
		if err := json.Unmarshal(patched, in); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
		im := in.GetObjectMeta()
		cm := cur.GetObjectMeta()
		if im.Name != cm.Name {
			return nil, errBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", im.Name, r.name))
		}
		if tm := in.GetTypeMeta(); tm.Kind != k.Kind || tm.APIVersion != k.APIVersion() {
			return nil, errBadRequest("a patch may not change kind or apiVersion")
		}
		return s.prepareUpdate(r, in, cur)
	})
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.writeObject(w, req, http.StatusOK, k, out)
}
