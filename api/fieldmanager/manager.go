package fieldmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// LastAppliedAnnotation is client-side apply's record of the last applied configuration.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// maxUpdateManagers is how many Update entries an object keeps; older ones are merged into
// one "ancient-changes" entry (Kubernetes' DefaultMaxUpdateManagers).
const maxUpdateManagers = 10

// stripped are the paths no manager owns (Kubernetes' stripMetaManager).
var stripped = NewSet(
	Path{fieldPE("apiVersion")}, Path{fieldPE("kind")}, Path{fieldPE("metadata")},
	metaPath("name"), metaPath("namespace"), metaPath("creationTimestamp"), metaPath("selfLink"),
	metaPath("uid"), metaPath("clusterName"), metaPath("generation"), metaPath("managedFields"),
	metaPath("resourceVersion"),
)

func metaPath(name string) Path { return Path{fieldPE("metadata"), fieldPE(name)} }

// Request describes a write: the object's Type, the apiVersion and subresource written, and
// which top-level fields the write may change (the others are not tracked: status on the
// main resource of a kind with a status subresource, all but status on /status).
type Request struct {
	Type        *Type
	APIVersion  string
	Subresource string
	// Tracked reports whether a top-level field is tracked; nil tracks all.
	Tracked func(field string) bool
	// Now is the time recorded on the entry that changed (UTC, seconds).
	Now time.Time
}

func (r *Request) id(manager, operation string) managerID {
	if manager == "" {
		manager = "unknown"
	}
	id := managerID{Manager: manager, Operation: operation, APIVersion: r.APIVersion, Subresource: r.Subresource}
	if operation == OperationApply {
		id.APIVersion = ""
	}
	return id
}

func (r *Request) now() string { return r.Now.UTC().Format(time.RFC3339) }

// filter drops the paths under top-level fields the request does not track.
func (r *Request) filter(s *Set) *Set {
	if r.Tracked == nil || s == nil {
		return s
	}
	out := &Set{}
	for k, pe := range s.members {
		if pe.Kind != 'f' || r.Tracked(pe.Name) {
			if out.members == nil {
				out.members = map[string]PathElement{}
			}
			out.members[k] = pe
		}
	}
	for _, c := range s.children {
		if c.pe.Kind != 'f' || r.Tracked(c.pe.Name) {
			out.child(c.pe).addAll(c.set)
		}
	}
	return out
}

func (r *Request) compare(live, obj map[string]any) (*Comparison, error) {
	c, err := Compare(live, obj, r.Type)
	if err != nil {
		return nil, err
	}
	c.Added, c.Modified, c.Removed = r.filter(c.Added), r.filter(c.Modified), r.filter(c.Removed)
	return c, nil
}

// withoutManagedFields returns a shallow copy of obj whose metadata has no managedFields.
func withoutManagedFields(obj map[string]any) map[string]any {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return obj
	}
	if _, ok := md["managedFields"]; !ok {
		return obj
	}
	out := maps.Clone(obj)
	md = maps.Clone(md)
	delete(md, "managedFields")
	out["metadata"] = md
	return out
}

// managedFieldsOf returns an object's metadata.managedFields as raw entries, and whether the
// field is there at all.
func managedFieldsOf(obj map[string]any) ([]any, []json.RawMessage, bool) {
	md, _ := obj["metadata"].(map[string]any)
	v, ok := md["managedFields"]
	if !ok || v == nil {
		return nil, nil, ok && v != nil
	}
	list, _ := v.([]any)
	raw := make([]json.RawMessage, len(list))
	for i, e := range list {
		raw[i] = marshalValue(e)
	}
	return list, raw, true
}

// Update computes the managedFields of obj, written by manager over live with a create (live
// is then the kind's empty object), update or non-apply patch (Kubernetes' FieldManager.Update):
// the fields it changed become the manager's and stop being anyone else's. The managedFields
// obj carries replace the live ones (an empty list clears them) unless they do not decode or
// the write is to a subresource. An object that cannot be typed loses its managedFields, as
// in Kubernetes (the error says why).
func (r *Request) Update(live, obj map[string]any, manager string) ([]json.RawMessage, error) {
	var m managed
	list, raw, present := managedFieldsOf(obj)
	_, liveRaw, _ := managedFieldsOf(live)
	switch {
	case r.Subresource != "":
		m = decodeOrEmpty(liveRaw)
	case isReset(list, present):
		m = managed{}
	default:
		var err error
		if m, err = decodeManaged(raw); err != nil || len(m) == 0 {
			m = decodeOrEmpty(liveRaw)
		}
	}
	c, err := r.compare(withoutManagedFields(live), withoutManagedFields(obj))
	if err != nil {
		return nil, err
	}
	id := r.id(manager, OperationUpdate)
	changed := c.Modified.Union(c.Added)
	for other, vs := range m {
		vs.set = vs.set.Difference(changed).Difference(c.Removed)
		if vs.set.Empty() {
			delete(m, other)
		}
	}
	if own := changed.Difference(c.Removed).Difference(stripped); !own.Empty() {
		prev := m[id]
		if prev != nil {
			own = own.Union(prev.set)
		}
		m[id] = &versionedSet{apiVersion: r.APIVersion, set: own, time: r.now()}
	}
	m.capUpdateManagers()
	return m.encode(), nil
}

func decodeOrEmpty(raw []json.RawMessage) managed {
	m, err := decodeManaged(raw)
	if err != nil {
		return managed{}
	}
	return m
}

// capUpdateManagers merges the oldest Update entries into "ancient-changes" once there are
// more than maxUpdateManagers (Kubernetes' capManagersManager).
func (m managed) capUpdateManagers() {
	var updates []managerID
	for id := range m {
		if id.Operation == OperationUpdate {
			updates = append(updates, id)
		}
	}
	if len(updates) <= maxUpdateManagers {
		return
	}
	slices.SortFunc(updates, func(a, b managerID) int {
		if c := strings.Compare(m[a].time, m[b].time); c != 0 {
			return c
		}
		return strings.Compare(a.String(), b.String())
	})
	for _, id := range updates[:len(updates)-maxUpdateManagers+1] {
		if id.Manager == "ancient-changes" {
			continue
		}
		vs := m[id]
		bucket := managerID{Manager: "ancient-changes", Operation: OperationUpdate, APIVersion: vs.apiVersion, Subresource: id.Subresource}
		if b, ok := m[bucket]; ok {
			b.set = b.set.Union(vs.set)
		} else {
			m[bucket] = &versionedSet{apiVersion: vs.apiVersion, set: vs.set, time: vs.time}
		}
		delete(m, id)
	}
}

// Conflict is a field another manager owns that an apply would change.
type Conflict struct {
	Manager string // as Kubernetes prints it: "mgr" using v1
	Path    Path
	id      managerID
}

// ConflictError is an apply refused for conflicts (409 with a cause per field).
type ConflictError struct{ Conflicts []Conflict }

// Error is Kubernetes' message: "Apply failed with 1 conflict: conflict with "m": .spec.x",
// or the conflicts grouped by manager.
func (e *ConflictError) Error() string {
	if len(e.Conflicts) == 1 {
		c := e.Conflicts[0]
		return fmt.Sprintf("Apply failed with 1 conflict: conflict with %s: %s", c.Manager, c.Path)
	}
	var lines []string
	var last *managerID
	for i := range e.Conflicts {
		c := &e.Conflicts[i]
		if last == nil || *last != c.id {
			lines = append(lines, fmt.Sprintf("conflicts with %s:", c.Manager))
			last = &c.id
		}
		lines = append(lines, "- "+c.Path.String())
	}
	return fmt.Sprintf("Apply failed with %d conflicts: %s", len(e.Conflicts), strings.Join(lines, "\n"))
}

func conflictsFrom(sets map[managerID]*Set) *ConflictError {
	ids := slices.Collect(maps.Keys(sets))
	slices.SortFunc(ids, func(a, b managerID) int { return strings.Compare(a.String(), b.String()) })
	e := &ConflictError{}
	for _, id := range ids {
		for _, p := range sets[id].Paths() {
			e.Conflicts = append(e.Conflicts, Conflict{Manager: id.display(), Path: p, id: id})
		}
	}
	return e
}

// ErrManagedFieldsInConfig refuses an applied configuration that sets managedFields (400).
var ErrManagedFieldsInConfig = errors.New("metadata.managedFields must be nil")

// TypeError is an applied configuration that does not fit the kind's type: a field the
// schema does not declare, a keyed list item without its key, duplicate keys.
type TypeError struct{ Err error }

func (e *TypeError) Error() string { return e.Err.Error() }
func (e *TypeError) Unwrap() error { return e.Err }

// Apply merges an applied configuration into live for manager (Kubernetes' FieldManager.Apply):
// the configuration's fields become the manager's; fields it applied last time and no longer
// does are removed unless another manager owns them; fields other managers own that the
// apply would change are conflicts (a *ConflictError) unless force, which takes them.
// live is the kind's empty object for an apply that creates. It returns the merged object and
// its managedFields; changed is false when the apply changed nothing.
func (r *Request) Apply(live, config map[string]any, manager string, force bool) (map[string]any, []json.RawMessage, bool, error) {
	if md, ok := config["metadata"].(map[string]any); ok {
		if _, ok := md["managedFields"]; ok {
			return nil, nil, false, ErrManagedFieldsInConfig
		}
	}
	_, liveRaw, _ := managedFieldsOf(live)
	m, err := decodeManaged(liveRaw)
	if err != nil {
		return nil, nil, false, fmt.Errorf("failed to decode managed fields: %w", err)
	}
	live = withoutManagedFields(live)
	out, m2, changed, err := r.apply(live, config, m.clone(), manager, force)
	var ce *ConflictError
	if errors.As(err, &ce) && manager == "kubectl" && !force {
		// Client-side apply's upgrade path: conflicts over fields the last-applied annotation
		// holds with their live values are kubectl's own, so they are taken.
		if allowed := lastAppliedFields(live, r); allowed != nil && allConflictsIn(ce, allowed) {
			out, m2, changed, err = r.apply(live, config, m.clone(), manager, true)
		}
	}
	if err != nil {
		return nil, nil, false, err
	}
	if manager == "kubectl" && hasLastApplied(live) {
		// kubectl's server-side apply keeps the annotation current for a later client-side apply.
		setLastApplied(out, config)
		changed = changed || !jsonEqual(out, live)
	}
	return out, m2.encode(), changed, nil
}

func (r *Request) apply(live, config map[string]any, m managed, manager string, force bool) (map[string]any, managed, bool, error) {
	set, err := configFieldSet(config, r.Type)
	if err != nil {
		return nil, nil, false, &TypeError{err}
	}
	mergedV, err := Merge(live, config, r.Type)
	if err != nil {
		return nil, nil, false, &TypeError{err}
	}
	merged, _ := mergedV.(map[string]any)
	set = r.filter(set)
	id := r.id(manager, OperationApply)
	var last *Set
	prevTime := ""
	if prev, ok := m[id]; ok {
		last, prevTime = prev.set, prev.time
	}
	m[id] = &versionedSet{apiVersion: r.APIVersion, set: set, time: prevTime}
	if !last.Empty() {
		if merged, err = r.prune(merged, m, last); err != nil {
			return nil, nil, false, err
		}
	}
	c, err := r.compare(live, merged)
	if err != nil {
		return nil, nil, false, err
	}
	changed := c.Modified.Union(c.Added)
	conflicts := map[managerID]*Set{}
	for other, vs := range m {
		if other == id {
			continue
		}
		if x := vs.set.Intersection(changed); !x.Empty() {
			conflicts[other] = x
		}
	}
	if len(conflicts) > 0 && !force {
		return nil, nil, false, conflictsFrom(conflicts)
	}
	for other, vs := range m {
		if other == id {
			continue
		}
		vs.set = vs.set.Difference(changed).Difference(c.Removed)
		if vs.set.Empty() {
			delete(m, other)
		}
	}
	mine := m[id]
	mine.set = mine.set.Difference(stripped)
	if mine.set.Empty() {
		delete(m, id)
	}
	noop := jsonEqual(live, merged)
	if !noop || mine.time == "" {
		mine.time = r.now()
	}
	return merged, m, !noop, nil
}

// prune removes what the applier applied last time and no longer does, unless another
// manager (or the new configuration) owns it, as structured-merge-diff's Updater.prune: remove
// everything under the last applied set, then keep what was not in it or is owned. Field
// sets here include named fields above owned ones (EnsureNamedFieldsAreMembers), so a struct
// stays while anyone owns a field in it.
func (r *Request) prune(merged map[string]any, m managed, last *Set) (map[string]any, error) {
	lastN := ensureNamed(last, r.Type)
	prunedV := RemoveItems(merged, r.Type, lastN)
	mergedSet, err := FieldSet(merged, r.Type)
	if err != nil {
		return nil, err
	}
	prunedSet, err := FieldSet(prunedV, r.Type)
	if err != nil {
		return nil, err
	}
	owned := &Set{}
	for _, vs := range m {
		owned = owned.Union(vs.set)
	}
	remove := ensureNamed(mergedSet, r.Type).
		Difference(ensureNamed(prunedSet, r.Type)).
		Difference(ensureNamed(owned, r.Type)).
		Intersection(lastN)
	if remove.Empty() {
		return merged, nil
	}
	out, _ := RemoveItems(merged, r.Type, remove).(map[string]any)
	return out, nil
}

// ensureNamed adds to s the named fields (struct fields, schema properties) that have members
// below them (structured-merge-diff's EnsureNamedFieldsAreMembers).
func ensureNamed(s *Set, t *Type) *Set {
	out := &Set{}
	if s == nil {
		return out
	}
	for k, pe := range s.members {
		if out.members == nil {
			out.members = map[string]PathElement{}
		}
		out.members[k] = pe
	}
	for _, c := range s.children {
		var ct *Type
		if t != nil {
			switch t.Kind {
			case Map:
				if pe := c.pe; pe.Kind == 'f' {
					f, named := t.field(pe.Name)
					ct = f
					if named {
						if out.members == nil {
							out.members = map[string]PathElement{}
						}
						out.members[pe.serialize()] = pe
					}
				}
			case List:
				ct = t.Elem
			}
		}
		out.child(c.pe).addAll(ensureNamed(c.set, ct))
	}
	return out
}

func allConflictsIn(ce *ConflictError, allowed *Set) bool {
	for _, c := range ce.Conflicts {
		if !allowed.Has(c.Path) {
			return false
		}
	}
	return true
}

func hasLastApplied(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, _ := ann[LastAppliedAnnotation].(string)
	return s != ""
}

// lastAppliedFields are the fields of the last-applied annotation whose live values still
// match it (Kubernetes' allowedConflictsFromLastApplied); nil when there is none to use.
func lastAppliedFields(live map[string]any, r *Request) *Set {
	md, _ := live["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	s, _ := ann[LastAppliedAnnotation].(string)
	if s == "" {
		return nil
	}
	v, err := decodeValue([]byte(s))
	if err != nil {
		return nil
	}
	la, ok := v.(map[string]any)
	if !ok || la["apiVersion"] != live["apiVersion"] {
		return nil
	}
	set, err := FieldSet(la, r.Type)
	if err != nil {
		return nil
	}
	c, err := Compare(la, live, r.Type)
	if err != nil {
		return nil
	}
	return set.Difference(c.Modified).Difference(c.Added).Difference(c.Removed)
}

// setLastApplied records the applied configuration (without the annotation itself) in the
// annotation, as kubectl would have: compact JSON and a newline.
func setLastApplied(obj, config map[string]any) {
	cfg := maps.Clone(config)
	if md, ok := cfg["metadata"].(map[string]any); ok {
		md = maps.Clone(md)
		if ann, ok := md["annotations"].(map[string]any); ok {
			ann = maps.Clone(ann)
			delete(ann, LastAppliedAnnotation)
			if len(ann) == 0 {
				delete(md, "annotations")
			} else {
				md["annotations"] = ann
			}
		}
		cfg["metadata"] = md
	}
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	ann, _ := md["annotations"].(map[string]any)
	ann = maps.Clone(ann)
	if ann == nil {
		ann = map[string]any{}
	}
	ann[LastAppliedAnnotation] = string(marshalValue(cfg)) + "\n"
	md["annotations"] = ann
}
