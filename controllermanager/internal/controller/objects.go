package controller

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// DeepCopy copies an object through JSON. Objects from an informer's cache are shared and
// must never be changed; a controller copies one before writing to it. (The API types carry
// no generated DeepCopy: JSON is exact for them, and cheap at the sizes involved.)
func DeepCopy[T any](in *T) *T {
	if in == nil {
		return nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		panic(fmt.Sprintf("controller: copy %T: %v", in, err)) // the API types always marshal
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("controller: copy %T: %v", in, err))
	}
	return out
}

// SemanticEqual compares two values as their JSON: what the API would store for them. Unlike
// reflect.DeepEqual, an empty map or slice equals a nil one, as Kubernetes'
// equality.Semantic does for the fields that matter here.
func SemanticEqual(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// Ptr returns a pointer to v.
func Ptr[T any](v T) *T { return &v }

// Deref returns *p, or def when p is nil.
func Deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// HasFinalizer reports whether m lists finalizer f.
func HasFinalizer(m *meta.ObjectMeta, f string) bool {
	for _, x := range m.Finalizers {
		if x == f {
			return true
		}
	}
	return false
}

// Without returns list without s (a new slice).
func Without(list []string, s string) []string {
	out := make([]string, 0, len(list))
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// PatchMetadata sends a JSON merge patch of metadata fields (ownerReferences, finalizers,
// labels, ...) conditional on resourceVersion rv (a stale rv fails with a Conflict), so that
// a read-modify-write of a list field never loses a concurrent change. A nil value deletes
// the field.
func PatchMetadata(ctx context.Context, c *client.Client, r client.Resource, namespace, name, rv string, fields map[string]any) error {
	md := map[string]any{}
	for k, v := range fields {
		md[k] = v
	}
	if rv != "" {
		md["resourceVersion"] = rv
	}
	body, err := json.Marshal(map[string]any{"metadata": md})
	if err != nil {
		return err
	}
	_, err = client.For[meta.PartialObjectMetadata](c, r).Patch(ctx, namespace, name, client.MergePatchType, body)
	return err
}

// OrNil turns an empty list into nil, so that a merge patch deletes the field instead of
// storing an empty list.
func OrNil[T any](list []T) any {
	if len(list) == 0 {
		return nil
	}
	return list
}

// ComputeHash is the hash Kubernetes' controllers name a template revision by (the
// pod-template-hash of a Deployment's ReplicaSets, the controller-revision-hash of a
// StatefulSet's or DaemonSet's revisions): FNV-32a over the object, plus the collision
// count when there is one, encoded in the safe alphabet of generated names.
func ComputeHash(obj any, collisionCount *int32) string {
	h := fnv.New32a()
	b, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("controller: hash %T: %v", obj, err))
	}
	h.Write(b)
	if collisionCount != nil {
		var buf [8]byte
		binary.LittleEndian.PutUint32(buf[:], uint32(*collisionCount))
		h.Write(buf[:])
	}
	return SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// SafeEncodeString maps each byte of s into an alphabet without vowels (no words) and
// without look-alike characters, as Kubernetes' rand.SafeEncodeString.
func SafeEncodeString(s string) string {
	const alphanums = "bcdfghjklmnpqrstvwxz2456789"
	r := make([]byte, len(s))
	for i, b := range []byte(s) {
		r[i] = alphanums[int(b)%len(alphanums)]
	}
	return string(r)
}
