package meta

import "testing"

type obj struct {
	TypeMeta
	ObjectMeta
}

func TestControllerRefs(t *testing.T) {
	yes, no := true, false
	owner := &obj{ObjectMeta: ObjectMeta{Name: "rs", UID: "u1"}}
	ref := NewControllerRef(owner, "apps/v1", "ReplicaSet")
	if ref.Name != "rs" || ref.UID != "u1" || ref.Kind != "ReplicaSet" || ref.APIVersion != "apps/v1" ||
		ref.Controller == nil || !*ref.Controller || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatalf("NewControllerRef = %+v", ref)
	}
	tests := []struct {
		name       string
		refs       []OwnerReference
		wantName   string
		controlled bool
	}{
		{"none", nil, "", false},
		{"owner but not controller", []OwnerReference{{Name: "rs", UID: "u1", Controller: &no}}, "", false},
		{"controller unset", []OwnerReference{{Name: "rs", UID: "u1"}}, "", false},
		{"controller", []OwnerReference{{Name: "x", UID: "u0"}, ref}, "rs", true},
		{"same name, other uid", []OwnerReference{{Name: "rs", UID: "u2", Controller: &yes}}, "rs", false},
	}
	for _, tc := range tests {
		m := &ObjectMeta{OwnerReferences: tc.refs}
		got := GetControllerOf(m)
		if (got == nil) != (tc.wantName == "") || (got != nil && got.Name != tc.wantName) {
			t.Errorf("%s: GetControllerOf = %+v, want name %q", tc.name, got, tc.wantName)
		}
		if c := IsControlledBy(m, owner); c != tc.controlled {
			t.Errorf("%s: IsControlledBy = %v, want %v", tc.name, c, tc.controlled)
		}
	}
}
