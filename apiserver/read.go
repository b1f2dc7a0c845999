package apiserver

// get and list: single objects and collections, with label and field selection.

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/storage"
)

// get answers one object: from the watch cache for resourceVersion=0, else a consistent etcd read.
func (s *Server) get(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	var obj meta.Object
	if req.URL.Query().Get("resourceVersion") == "0" {
		o, ok := s.cache(k).Get(k.Key(r.namespace, r.name))
		if !ok {
			writeError(w, errNotFound(k, r.name))
			return
		}
		obj = o
	} else {
		obj = k.NewStored()
		if err := s.store.Get(req.Context(), k.Key(r.namespace, r.name), obj); err != nil {
			writeError(w, toAPIError(k, r.name, err))
			return
		}
	}
	if r.subresource != "" && r.subresource != "status" && r.subresource != subApproval && r.subresource != subEphemeral {
		writeError(w, errMethodNotAllowed("get is not supported on "+r.subresource))
		return
	}
	s.writeObject(w, req, http.StatusOK, k, obj)
}

// selection is a request's namespace, label and field selectors as one predicate.
type selection struct {
	namespace string
	label     labels.Selector
	field     fields.Selector
}

func (s *Server) parseSelection(k *registry.Kind, ns string, q map[string][]string) (*selection, *apiError) {
	sel := &selection{namespace: ns, label: labels.Everything(), field: fields.Everything()}
	if v := first(q["labelSelector"]); v != "" {
		ls, err := labels.Parse(v)
		if err != nil {
			return nil, errBadRequest(err.Error())
		}
		sel.label = ls
	}
	if v := first(q["fieldSelector"]); v != "" {
		fs, err := fields.Parse(v)
		if err != nil {
			return nil, errBadRequest(err.Error())
		}
		if err := fields.ValidateFields(fs, k.SupportsField); err != nil {
			return nil, errBadRequest(err.Error())
		}
		sel.field = fs
	}
	return sel, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func (sel *selection) matches(k *registry.Kind, obj meta.Object) bool {
	m := obj.GetObjectMeta()
	if sel.namespace != "" && m.Namespace != sel.namespace {
		return false
	}
	if !sel.label.Empty() && !sel.label.Matches(labels.Set(m.Labels)) {
		return false
	}
	if !sel.field.Empty() && !sel.field.Matches(fields.Set(k.SelectableFields(obj))) {
		return false
	}
	return true
}

func (s *Server) list(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	q := req.URL.Query()
	sel, aerr := s.parseSelection(k, r.namespace, q)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if q.Has("sendInitialEvents") {
		writeError(w, errInvalid(&registry.Kind{Group: "meta.k8s.io", Kind: "ListOptions", Custom: &registry.Custom{}}, "",
			field.ErrorList{field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list")}))
		return
	}
	stored, conv := sel.splitConverted(k) // selection_converted.go
	match := func(o meta.Object) bool { return stored.matches(k, o) }
	rvParam, limit := q.Get("resourceVersion"), int64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("invalid limit: "+v))
			return
		}
		limit = n
	}
	parsedRV, aerr := parseResourceVersion(k, rvParam)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var items []meta.Object
	var lm meta.ListMeta
	ctx := req.Context()
	exact := q.Get("resourceVersionMatch") == "Exact"
	if limit > 0 || q.Get("continue") != "" || (exact && rvParam != "" && rvParam != "0") {
		// Pages come from etcd: the continue token pins every page to one revision.
		opts := storage.ListOptions{Limit: limit, Continue: q.Get("continue")}
		if !sel.label.Empty() || !sel.field.Empty() {
			// Without selectors the key prefix already is the namespace, and the page can
			// say how many items remain (remainingItemCount), as Kubernetes' does.
			opts.Predicate = match
		}
		var convErr *apiError
		if conv != nil {
			opts.Predicate = s.convertedPredicate(ctx, k, stored, conv, &convErr)
		}
		if rvParam != "" && rvParam != "0" && exact {
			opts.ResourceVersion = parsedRV
		}
		res, err := s.store.List(ctx, k.Prefix(r.namespace), k.NewStored, opts)
		if err != nil {
			writeError(w, toAPIError(k, "", err))
			return
		}
		if convErr != nil {
			writeError(w, convErr)
			return
		}
		items, lm.Continue, lm.RemainingItemCount = res.Items, res.Continue, res.RemainingItemCount
		lm.ResourceVersion = strconv.FormatInt(res.ResourceVersion, 10)
	} else {
		// Whole lists come from the watch cache. Without a resourceVersion the read must be
		// consistent, so the cache is first brought up to etcd's current revision.
		c := s.cache(k)
		if rvParam == "" {
			rev, err := s.store.CurrentRevision(ctx)
			if err != nil {
				writeError(w, toAPIError(k, "", err))
				return
			}
			if err := c.WaitUntilFresh(ctx, rev); err != nil {
				writeError(w, toAPIError(k, "", err))
				return
			}
		} else if rvParam != "0" {
			if err := c.WaitUntilFresh(ctx, parsedRV); err != nil {
				writeError(w, toAPIError(k, "", err))
				return
			}
		}
		var rv int64
		items, rv = c.List(match)
		sortByKey(items)
		lm.ResourceVersion = strconv.FormatInt(rv, 10)
	}
	// One conversion for the whole list: a webhook gets every object stored in another
	// version in one review.
	items, aerr = s.toVersions(ctx, k, items)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	items = filterConverted(k, items, conv)
	if f, _ := responseFormat(w, false); f.table {
		s.writeTable(w, req, f, k, items, lm)
		return
	}
	writeList(w, k, items, lm) // negotiation.go
}

func sortByKey(items []meta.Object) {
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].GetObjectMeta(), items[j].GetObjectMeta()
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
}

// parseResourceVersion reads a resourceVersion parameter as Kubernetes' storage does: ""
// and "0" are 0, anything else must be an unsigned integer, or the request is invalid
// (422, naming the parameter, with Kubernetes' wording).
func parseResourceVersion(k *registry.Kind, v string) (int64, *apiError) {
	if v == "" || v == "0" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 63)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			err = &strconv.NumError{Func: "ParseUint", Num: v, Err: strconv.ErrRange}
		}
		return 0, errInvalid(k, "", field.ErrorList{field.Invalid(field.NewPath("resourceVersion"), v, err.Error())})
	}
	return int64(n), nil
}
