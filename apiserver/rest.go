package apiserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/protobuf"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-sh/skiff/storage"
)

func (s *Server) serveResource(w http.ResponseWriter, req *http.Request, r *request) {
	if r.kind.CreateOnly {
		s.serveCreateOnly(w, req, r) // createonly.go
		return
	}
	switch r.subresource {
	case "scale":
		s.serveScale(w, req, r)
		return
	case "binding":
		if r.verb == "create" {
			s.bind(w, req, r)
			return
		}
	case "eviction":
		if r.verb == "create" {
			s.evict(w, req, r)
			return
		}
	case subToken:
		if r.verb == "create" {
			s.createToken(w, req, r)
			return
		}
	case subLog, subExec, subAttach, subPortForward:
		s.serveNodeSubresource(w, req, r)
		return
	}
	if r.subresource != "" && r.verb != "get" && r.verb != "update" && r.verb != "patch" {
		writeError(w, errMethodNotAllowed(fmt.Sprintf("%s is not supported on %s/%s", r.verb, r.kind.Resource, r.subresource)))
		return
	}
	switch r.verb {
	case "get":
		s.get(w, req, r)
	case "list":
		s.list(w, req, r)
	case "watch":
		s.watch(w, req, r)
	case "create":
		s.create(w, req, r)
	case "update":
		s.update(w, req, r)
	case "patch":
		s.patch(w, req, r)
	case "delete":
		s.delete(w, req, r)
	case "deletecollection":
		s.deleteCollection(w, req, r)
	}
}

// readBody reads a request body, refusing one over the size limit with 413.
func (s *Server) readBody(w http.ResponseWriter, req *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, s.cfg.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newStatus(http.StatusRequestEntityTooLarge, meta.ReasonRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", s.cfg.MaxRequestBytes), nil)
		}
		return nil, errBadRequest("reading the request body: " + err.Error())
	}
	return body, nil
}

// toJSON turns a YAML body into JSON; JSON passes through.
func toJSON(req *http.Request, body []byte) ([]byte, *apiError) {
	ct := req.Header.Get("Content-Type")
	if strings.Contains(ct, "yaml") {
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, errBadRequest("the body of the request was in an unknown format: " + err.Error())
		}
		return j, nil
	}
	if protobuf.IsProtobuf(ct) {
		// kubectl's typed commands (create configmap, run, ...) send Kubernetes protobuf; it is
		// turned into JSON here so decoding, defaulting and validation are the same for all.
		j, err := protobuf.ToJSON(body)
		if err != nil {
			return nil, errBadRequest("the body of the request could not be decoded as protobuf: " + err.Error())
		}
		return j, nil
	}
	return body, nil
}

// decodeObject decodes a JSON object of kind k. Unknown fields are refused (fieldValidation=Strict),
// reported in Warning headers (Warn, the default) or dropped (Ignore).
func (s *Server) decodeObject(w http.ResponseWriter, req *http.Request, k *registry.Kind, body []byte) (meta.Object, *apiError) {
	// The common case, no unknown field, costs one strict decode; only a body with unknown
	// fields pays for the lenient decode and the walk that names them.
	obj := k.New()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		if !strings.HasPrefix(err.Error(), "json: unknown field ") {
			return nil, errBadRequest(decodeMessage(err))
		}
		obj = k.New()
		if err := json.Unmarshal(body, obj); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
		if err := s.checkUnknownFields(w, req, k, body); err != nil {
			return nil, err
		}
	}
	tm := obj.GetTypeMeta()
	if tm.Kind != "" && tm.Kind != k.Kind {
		return nil, errBadRequest(fmt.Sprintf("the kind %q of the body does not match the resource %s (kind %q)", tm.Kind, k.Resource, k.Kind))
	}
	if tm.APIVersion != "" && tm.APIVersion != k.APIVersion() {
		return nil, errBadRequest(fmt.Sprintf("the apiVersion %q of the body does not match %q", tm.APIVersion, k.APIVersion()))
	}
	tm.Kind, tm.APIVersion = k.Kind, k.APIVersion()
	return obj, nil
}

func decodeMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("the body of the request could not be decoded: invalid JSON at offset %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("the body of the request could not be decoded: field %q: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return "the body of the request could not be decoded: " + err.Error()
}

func (s *Server) checkUnknownFields(w http.ResponseWriter, req *http.Request, k *registry.Kind, body []byte) *apiError {
	mode := req.URL.Query().Get("fieldValidation")
	if mode == "Ignore" {
		return nil
	}
	unknown := unknownFields(body, k.Type)
	if len(unknown) == 0 {
		return nil
	}
	if mode == "Strict" {
		msgs := make([]string, len(unknown))
		for i, f := range unknown {
			msgs[i] = fmt.Sprintf("unknown field %q", f)
		}
		return errBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
	}
	for _, f := range unknown {
		w.Header().Add("Warning", fmt.Sprintf(`299 - "unknown field \"%s\""`, f))
	}
	return nil
}

// get answers one object: from the watch cache for resourceVersion=0, else a consistent etcd read.
func (s *Server) get(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	var obj meta.Object
	if req.URL.Query().Get("resourceVersion") == "0" {
		o, ok := s.caches[k].Get(k.Key(r.namespace, r.name))
		if !ok {
			writeError(w, errNotFound(k, r.name))
			return
		}
		obj = o
	} else {
		obj = k.New()
		if err := s.store.Get(req.Context(), k.Key(r.namespace, r.name), obj); err != nil {
			writeError(w, toAPIError(k, r.name, err))
			return
		}
	}
	if r.subresource != "" && r.subresource != "status" && r.subresource != subApproval {
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
	match := func(o meta.Object) bool { return sel.matches(k, o) }
	rvParam, limit := q.Get("resourceVersion"), int64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("invalid limit: "+v))
			return
		}
		limit = n
	}
	var items []meta.Object
	var lm meta.ListMeta
	ctx := req.Context()
	exact := q.Get("resourceVersionMatch") == "Exact"
	if limit > 0 || q.Get("continue") != "" || (exact && rvParam != "" && rvParam != "0") {
		// Pages come from etcd: the continue token pins every page to one revision.
		opts := storage.ListOptions{Limit: limit, Continue: q.Get("continue"), Predicate: match}
		if rvParam != "" && rvParam != "0" && exact {
			rv, err := strconv.ParseInt(rvParam, 10, 64)
			if err != nil {
				writeError(w, errBadRequest("invalid resourceVersion: "+rvParam))
				return
			}
			opts.ResourceVersion = rv
		}
		res, err := s.store.List(ctx, k.Prefix(r.namespace), k.New, opts)
		if err != nil {
			writeError(w, toAPIError(k, "", err))
			return
		}
		items, lm.Continue, lm.RemainingItemCount = res.Items, res.Continue, res.RemainingItemCount
		lm.ResourceVersion = strconv.FormatInt(res.ResourceVersion, 10)
	} else {
		// Whole lists come from the watch cache. Without a resourceVersion the read must be
		// consistent, so the cache is first brought up to etcd's current revision.
		c := s.caches[k]
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
			rv, err := strconv.ParseInt(rvParam, 10, 64)
			if err != nil {
				writeError(w, errBadRequest("invalid resourceVersion: "+rvParam))
				return
			}
			if err := c.WaitUntilFresh(ctx, rv); err != nil {
				writeError(w, toAPIError(k, "", err))
				return
			}
		}
		var rv int64
		items, rv = c.List(match)
		sortByKey(items)
		lm.ResourceVersion = strconv.FormatInt(rv, 10)
	}
	if wantsTable(req) {
		s.writeTable(w, req, k, items, lm)
		return
	}
	writeList(w, k, items, lm)
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

// writeList streams a list without building a typed list value: each item is encoded once.
func writeList(w http.ResponseWriter, k *registry.Kind, items []meta.Object, lm meta.ListMeta) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	lmJSON, _ := json.Marshal(&lm)
	buf := make([]byte, 0, 64<<10)
	buf = fmt.Appendf(buf, `{"kind":%q,"apiVersion":%q,"metadata":%s,"items":[`, k.ListKind(), k.APIVersion(), lmJSON)
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		b, err := json.Marshal(it)
		if err != nil {
			b = []byte("null")
		}
		buf = append(buf, b...)
		if len(buf) > 32<<10 {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}\n"...)
	w.Write(buf)
}

func (s *Server) writeObject(w http.ResponseWriter, req *http.Request, code int, k *registry.Kind, obj meta.Object) {
	if wantsTable(req) {
		s.writeTable(w, req, k, []meta.Object{obj}, meta.ListMeta{ResourceVersion: obj.GetObjectMeta().ResourceVersion})
		return
	}
	writeJSON(w, code, obj)
}

// dryRun reports whether the request asks for everything but the write.
func dryRun(req *http.Request) bool { return len(req.URL.Query()["dryRun"]) > 0 }

func (s *Server) create(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	if r.subresource != "" {
		writeError(w, errMethodNotAllowed("create is not supported on "+r.subresource))
		return
	}
	body, aerr := s.readBody(w, req)
	if aerr == nil {
		body, aerr = toJSON(req, body)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	obj, aerr := s.decodeObject(w, req, k, body)
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

func (s *Server) update(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	body, aerr := s.readBody(w, req)
	if aerr == nil {
		body, aerr = toJSON(req, body)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	obj, aerr := s.decodeObject(w, req, k, body)
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

// deepCopy copies obj through JSON (objects are small; this keeps types free of generated code).
func deepCopy(k *registry.Kind, obj meta.Object) meta.Object {
	b, _ := json.Marshal(obj)
	n := k.New()
	json.Unmarshal(b, n)
	return n
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

// Finalizers the garbage collector honours for the two non-default propagation policies.
const (
	finalizerOrphan     = "orphan"
	finalizerForeground = "foregroundDeletion"
)

// deleteObject deletes at once when nothing holds the object; otherwise it marks it with a
// deletionTimestamp and leaves the rest to finalizers (and, for pods, the node agent).
// deleted reports whether the object is gone.
func (s *Server) deleteObject(ctx context.Context, k *registry.Kind, ns, name string, opts *meta.DeleteOptions, dry bool) (meta.Object, bool, *apiError) {
	key := k.Key(ns, name)
	for attempt := 0; attempt < 10; attempt++ {
		cur := k.New()
		if err := s.store.Get(ctx, key, cur); err != nil {
			return nil, false, toAPIError(k, name, err)
		}
		if aerr := checkPreconditions(k, name, cur, opts.Preconditions); aerr != nil {
			return nil, false, aerr
		}
		if aerr := s.admitNodeWrite(ctx, noderestriction.Delete, k, "", ns, name, nil, cur); aerr != nil {
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
			last, err := s.store.Delete(ctx, key, k.New, func(c meta.Object) error {
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
		out, err := s.store.GuaranteedUpdate(ctx, key, k.New, func(c meta.Object) (meta.Object, error) {
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
	res, err := s.store.List(req.Context(), k.Prefix(r.namespace), k.New, storage.ListOptions{Predicate: func(o meta.Object) bool { return sel.matches(k, o) }})
	if err != nil {
		writeError(w, toAPIError(k, "", err))
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
	writeList(w, k, gone, meta.ListMeta{ResourceVersion: strconv.FormatInt(res.ResourceVersion, 10)})
}

// released frees what a deleted object held (a Service's cluster IP and node ports).
func (s *Server) released(ctx context.Context, obj meta.Object) {
	if svc, ok := obj.(*core.Service); ok {
		s.alloc.releaseKeys(ctx, serviceKeys(svc), svc.Namespace+"/"+svc.Name)
	}
}
