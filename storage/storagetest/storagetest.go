// Package storagetest starts an embedded etcd for tests and provides a small object kind
// to store in it, so storage, watch cache and API server tests share one setup.
package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

// Object is a minimal API kind: metadata plus one value to change.
type Object struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata,omitempty"`
	Value           string `json:"value,omitempty"`
}

// New is the storage.NewFunc for Object.
func New() meta.Object { return &Object{} }

// NewObject returns an Object in namespace ns (may be "") with the given labels (key, value, ...).
func NewObject(ns, name, value string, labels ...string) *Object {
	o := &Object{TypeMeta: meta.TypeMeta{Kind: "Test", APIVersion: "v1"}, Value: value}
	o.Name, o.Namespace = name, ns
	if len(labels) > 0 {
		o.Labels = map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			o.Labels[labels[i]] = labels[i+1]
		}
	}
	return o
}

// StartEtcd starts an embedded etcd in a temporary directory (without fsync, for speed)
// and stops it when the test ends.
func StartEtcd(t testing.TB) *storage.EmbeddedEtcd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := storage.StartEmbedded(ctx, t.TempDir(), storage.EmbeddedOptions{UnsafeNoFsync: true})
	if err != nil {
		t.Fatalf("starting etcd: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// NewStore starts an embedded etcd and returns a store on it.
func NewStore(t testing.TB) (storage.Interface, *storage.EmbeddedEtcd) {
	t.Helper()
	e := StartEtcd(t)
	return storage.NewEtcd(e.Client(), storage.EtcdOptions{}), e
}

// RV returns obj's resourceVersion as a number, failing the test if it is not one.
func RV(t testing.TB, obj meta.Object) int64 {
	t.Helper()
	rv, err := storage.ParseResourceVersion(obj.GetObjectMeta().ResourceVersion)
	if err != nil || rv == 0 {
		t.Fatalf("object %s has resourceVersion %q", obj.GetObjectMeta().Name, obj.GetObjectMeta().ResourceVersion)
	}
	return rv
}

// Eventually polls cond every 10ms until it is true or the deadline passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
