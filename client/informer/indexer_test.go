package informer

import (
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
)

func obj(ns, name string, labels map[string]string) *widget {
	return &widget{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

func keysOf(objs []*widget) []string {
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		keys = append(keys, Key(o))
	}
	slices.Sort(keys)
	return keys
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct{ ns, name, key string }{
		{"default", "web", "default/web"},
		{"", "node-1", "node-1"},
	} {
		if k := Key(obj(tc.ns, tc.name, nil)); k != tc.key {
			t.Errorf("Key = %q, want %q", k, tc.key)
		}
		if k := NamespacedKey(tc.ns, tc.name); k != tc.key {
			t.Errorf("NamespacedKey = %q, want %q", k, tc.key)
		}
		if ns, name := SplitKey(tc.key); ns != tc.ns || name != tc.name {
			t.Errorf("SplitKey(%q) = %q %q", tc.key, ns, name)
		}
	}
}

func TestIndexer(t *testing.T) {
	byApp := map[string]IndexFunc[*widget]{
		"app": func(w *widget) []string {
			if a, ok := w.Labels["app"]; ok {
				return []string{a}
			}
			return nil
		},
	}
	s := newIndexer[*widget]()
	s.set("a/1", obj("a", "1", map[string]string{"app": "web"}))
	s.set("a/2", obj("a", "2", map[string]string{"app": "db"}))
	// Indexers added after objects are stored index those objects too.
	if err := s.AddIndexers(byApp); err != nil {
		t.Fatal(err)
	}
	if err := s.AddIndexers(byApp); err == nil {
		t.Fatal("adding an index twice should fail")
	}
	s.set("b/3", obj("b", "3", map[string]string{"app": "web"}))
	s.set("4", obj("", "4", nil))

	type query struct{ index, value string }
	check := func(step string, want map[query][]string) {
		t.Helper()
		for q, keys := range want {
			got, err := s.ByIndex(q.index, q.value)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(keysOf(got), keys) {
				t.Errorf("%s: ByIndex(%s, %s) = %v, want %v", step, q.index, q.value, keysOf(got), keys)
			}
		}
	}
	check("initial", map[query][]string{
		{"app", "web"}:          {"a/1", "b/3"},
		{"app", "db"}:           {"a/2"},
		{NamespaceIndex, "a"}:   {"a/1", "a/2"},
		{NamespaceIndex, ""}:    {"4"},
		{NamespaceIndex, "zzz"}: {},
	})

	// An update moves the object between index values.
	old, existed := s.set("a/1", obj("a", "1", map[string]string{"app": "db"}))
	if !existed || old.Labels["app"] != "web" {
		t.Fatalf("set returned %+v %v", old, existed)
	}
	check("after update", map[query][]string{
		{"app", "web"}: {"b/3"},
		{"app", "db"}:  {"a/1", "a/2"},
	})

	// A delete removes it from every index.
	if _, ok := s.remove("a/2"); !ok {
		t.Fatal("remove a/2")
	}
	if _, ok := s.remove("a/2"); ok {
		t.Fatal("removing twice should report absence")
	}
	check("after delete", map[query][]string{
		{"app", "db"}:         {"a/1"},
		{NamespaceIndex, "a"}: {"a/1"},
	})
	if _, ok := s.indices["app"]["web"]; !ok {
		t.Error("web should still be indexed")
	}
	s.remove("b/3")
	if _, ok := s.indices["app"]["web"]; ok {
		t.Error("an index value with no objects left should be dropped")
	}

	if _, err := s.ByIndex("nope", "x"); err == nil {
		t.Error("ByIndex on an unknown index should fail")
	}
	if got := keysOf(s.ListNamespace("")); !slices.Equal(got, []string{"4", "a/1"}) {
		t.Errorf("ListNamespace(\"\") = %v", got)
	}
	if got, ok := s.Get("4"); !ok || got.Name != "4" {
		t.Errorf("Get(4) = %v %v", got, ok)
	}
	if s.Len() != 2 || !slices.Equal(s.ListKeys(), []string{"4", "a/1"}) {
		t.Errorf("Len %d keys %v", s.Len(), s.ListKeys())
	}
}

func TestBackoff(t *testing.T) {
	b := &backoff{base: 100, max: 1000}
	if d := b.next(); d != 0 {
		t.Fatalf("first retry waits %v, want 0", d)
	}
	for _, full := range []int64{100, 200, 400, 800, 1000, 1000} {
		d := int64(b.next())
		if d < full/2 || d > full {
			t.Fatalf("wait %d outside [%d, %d]", d, full/2, full)
		}
	}
	for range 100 { // far past the cap: no overflow
		if d := b.next(); d < 500 || d > 1000 {
			t.Fatalf("wait %v out of range", d)
		}
	}
	b.reset()
	if d := b.next(); d != 0 {
		t.Fatalf("after reset waits %v", d)
	}
}
