package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// Revision history for StatefulSets and DaemonSets, as Kubernetes' controller/history: each
// distinct pod template is a ControllerRevision whose data is
// {"spec":{"template":{..., "$patch":"replace"}}}, named <owner>-<hash of the data>, with
// increasing revision numbers; going back to an old template renumbers its revision as the
// newest instead of making a copy.

// TemplatePatch is the revision data of a pod template.
func TemplatePatch(t *core.PodTemplateSpec) (json.RawMessage, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": m}})
}

// TemplateOf reads the pod template back out of revision data.
func TemplateOf(rev *apps.ControllerRevision) (*core.PodTemplateSpec, error) {
	var d struct {
		Spec struct {
			Template json.RawMessage `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data, &d); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	var m map[string]any
	if err := json.Unmarshal(d.Spec.Template, &m); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	delete(m, "$patch")
	b, _ := json.Marshal(m)
	t := &core.PodTemplateSpec{}
	if err := json.Unmarshal(b, t); err != nil {
		return nil, fmt.Errorf("revision %s: %w", rev.Name, err)
	}
	return t, nil
}

// History creates and finds the revisions of one owner.
type History struct {
	Client    *client.Typed[apps.ControllerRevision, *apps.ControllerRevision]
	Owner     meta.Object
	OwnerRef  meta.OwnerReference
	Labels    map[string]string // the owner's template labels
	Revisions []*apps.ControllerRevision
}

// SortRevisions orders revisions by revision number (then creation and name).
func SortRevisions(revs []*apps.ControllerRevision) {
	ByCreation(revs)
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Revision < revs[j].Revision })
}

// Update returns the revision of data, which becomes the newest: an existing revision with
// the same data is reused (renumbered if it is not the newest), otherwise one is created.
// collisionCount is raised when the name is taken by different data.
func (h *History) Update(ctx context.Context, data json.RawMessage, collisionCount *int32) (*apps.ControllerRevision, error) {
	SortRevisions(h.Revisions)
	var maxRev int64
	for _, r := range h.Revisions {
		maxRev = max(maxRev, r.Revision)
	}
	var equal []*apps.ControllerRevision
	for _, r := range h.Revisions {
		if jsonEqual(r.Data, data) {
			equal = append(equal, r)
		}
	}
	if n := len(equal); n > 0 {
		latest := equal[n-1]
		if latest.Revision == maxRev {
			return latest, nil
		}
		u := DeepCopy(latest)
		u.Revision = maxRev + 1
		return h.Client.Update(ctx, u)
	}
	for {
		hash := ComputeHash(json.RawMessage(data), collisionCount)
		labels := maps.Clone(h.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels[apps.ControllerRevisionHashLabelKey] = hash
		m := h.Owner.GetObjectMeta()
		rev := &apps.ControllerRevision{
			TypeMeta: meta.TypeMeta{Kind: "ControllerRevision", APIVersion: "apps/v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: m.Namespace, Name: revisionName(m.Name, hash), Labels: labels,
				OwnerReferences: []meta.OwnerReference{h.OwnerRef}},
			Data:     data,
			Revision: maxRev + 1,
		}
		created, err := h.Client.Create(ctx, rev)
		if !client.IsAlreadyExists(err) {
			return created, err
		}
		existing, gerr := h.Client.Get(ctx, m.Namespace, rev.Name)
		if gerr != nil {
			return nil, gerr
		}
		if jsonEqual(existing.Data, data) && meta.IsControlledBy(&existing.ObjectMeta, h.Owner) {
			return existing, nil
		}
		// A different revision holds the name: hash again with a higher collision count.
		next := Deref(collisionCount, 0) + 1
		*collisionCount = next
	}
}

func revisionName(owner, hash string) string {
	const max = 253 - 11
	if len(owner) > max {
		owner = owner[:max]
	}
	return owner + "-" + hash
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return SemanticEqual(x, y)
}

// Truncate deletes the oldest revisions beyond limit, sparing those in live (current,
// update, and those pods still run).
func (h *History) Truncate(ctx context.Context, limit int32, live map[string]bool) error {
	SortRevisions(h.Revisions)
	var old []*apps.ControllerRevision
	for _, r := range h.Revisions {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	excess := len(old) - int(limit)
	for i := 0; i < excess; i++ {
		uid := old[i].UID
		err := h.Client.Delete(ctx, old[i].Namespace, old[i].Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
		if err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return nil
}
