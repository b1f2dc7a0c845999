package fieldmanager

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Operations of a managedFields entry.
const (
	OperationApply  = "Apply"
	OperationUpdate = "Update"
)

// Entry is one metadata.managedFields entry (meta/v1 ManagedFieldsEntry; the field order is
// Kubernetes').
type Entry struct {
	Manager     string          `json:"manager,omitempty"`
	Operation   string          `json:"operation,omitempty"`
	APIVersion  string          `json:"apiVersion,omitempty"`
	Time        string          `json:"time,omitempty"`
	FieldsType  string          `json:"fieldsType,omitempty"`
	FieldsV1    json.RawMessage `json:"fieldsV1,omitempty"`
	Subresource string          `json:"subresource,omitempty"`
}

// managerID is what tells managers apart (Kubernetes' BuildManagerIdentifier): name,
// operation and subresource, and the apiVersion of an Update (an applier is the same
// manager whatever version it applies).
type managerID struct {
	Manager     string `json:"manager,omitempty"`
	Operation   string `json:"operation,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// String is the identifier's JSON, the order Kubernetes sorts managers in.
func (id managerID) String() string {
	b, _ := json.Marshal(id)
	return string(b)
}

// display is how Kubernetes names a manager in a conflict: "mgr", "mgr" with subresource
// "status", "mgr" using apps/v1.
func (id managerID) display() string {
	s := fmt.Sprintf("%q", id.Manager)
	if id.Subresource != "" {
		s += fmt.Sprintf(" with subresource %q", id.Subresource)
	}
	if id.Operation == OperationUpdate {
		s += " using " + id.APIVersion
	}
	return s
}

type versionedSet struct {
	apiVersion string
	set        *Set
	time       string
}

// managed is the decoded managedFields of an object.
type managed map[managerID]*versionedSet

func (m managed) clone() managed {
	out := make(managed, len(m))
	for id, vs := range m {
		c := *vs
		out[id] = &c
	}
	return out
}

// decodeManaged decodes managedFields, refusing what Kubernetes refuses.
func decodeManaged(raw []json.RawMessage) (managed, error) {
	m := make(managed, len(raw))
	for i, r := range raw {
		var e Entry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("managed fields entry %d: %w", i, err)
		}
		switch e.Operation {
		case OperationApply, OperationUpdate:
		default:
			return nil, fmt.Errorf("operation must be `Apply` or `Update`")
		}
		if e.APIVersion == "" {
			return nil, fmt.Errorf("apiVersion must not be empty")
		}
		switch e.FieldsType {
		case "FieldsV1":
		case "":
			return nil, fmt.Errorf("missing fieldsType in managed fields entry %d", i)
		default:
			return nil, fmt.Errorf("invalid fieldsType %q in managed fields entry %d", e.FieldsType, i)
		}
		s := &Set{}
		if len(e.FieldsV1) > 0 && string(e.FieldsV1) != "null" {
			if err := s.UnmarshalJSON(e.FieldsV1); err != nil {
				return nil, fmt.Errorf("managed fields entry %d: %w", i, err)
			}
		}
		id := managerID{Manager: e.Manager, Operation: e.Operation, APIVersion: e.APIVersion, Subresource: e.Subresource}
		if e.Operation == OperationApply {
			id.APIVersion = ""
		}
		m[id] = &versionedSet{apiVersion: e.APIVersion, set: s, time: e.Time}
	}
	return m, nil
}

// encode writes managedFields in Kubernetes' order: operation, time (to the second),
// manager, apiVersion, subresource.
func (m managed) encode() []json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	entries := make([]Entry, 0, len(m))
	for id, vs := range m {
		fields, _ := vs.set.MarshalJSON()
		entries = append(entries, Entry{Manager: id.Manager, Operation: id.Operation, APIVersion: vs.apiVersion,
			Time: vs.time, FieldsType: "FieldsV1", FieldsV1: fields, Subresource: id.Subresource})
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		if c := strings.Compare(a.Operation, b.Operation); c != 0 {
			return c
		}
		if c := unixSeconds(a.Time) - unixSeconds(b.Time); c != 0 {
			return sign(int(max(min(c, 1), -1)))
		}
		if c := strings.Compare(a.Manager, b.Manager); c != 0 {
			return c
		}
		if c := strings.Compare(a.APIVersion, b.APIVersion); c != 0 {
			return c
		}
		return strings.Compare(a.Subresource, b.Subresource)
	})
	out := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		out[i], _ = json.Marshal(e)
	}
	return out
}

func unixSeconds(t string) int64 {
	if t == "" {
		return 0
	}
	tt, err := time.Parse(time.RFC3339, t)
	if err != nil {
		return 0
	}
	return tt.Unix()
}

// isReset reports whether a request's managedFields ask to clear them: an empty list, or
// one empty entry.
func isReset(raw []any, present bool) bool {
	if !present || raw == nil {
		return false
	}
	if len(raw) == 0 {
		return true
	}
	if len(raw) == 1 {
		m, ok := raw[0].(map[string]any)
		return ok && len(m) == 0
	}
	return false
}
