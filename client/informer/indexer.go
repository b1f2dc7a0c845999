package informer

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
)

// Key is the store key of obj: "namespace/name", or "name" for cluster-scoped objects.
// It is also the usual workqueue key.
func Key(obj meta.Object) string {
	m := obj.GetObjectMeta()
	return NamespacedKey(m.Namespace, m.Name)
}

// NamespacedKey is the key of the object namespace/name ("" namespace: cluster-scoped).
func NamespacedKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// SplitKey undoes Key.
func SplitKey(key string) (namespace, name string) {
	if ns, n, ok := strings.Cut(key, "/"); ok {
		return ns, n
	}
	return "", key
}

// IndexFunc returns the values obj is indexed under (none, one or several).
type IndexFunc[PT any] func(obj PT) []string

// NamespaceIndex is the built-in index of objects by namespace.
const NamespaceIndex = "namespace"

// Indexer is the informer's thread-safe cache: objects by key, plus secondary indices.
//
// Objects in it are shared with every reader and every event handler: never mutate one;
// copy it first (a deep copy: maps and slices inside are shared too).
type Indexer[PT meta.Object] struct {
	mu       sync.RWMutex
	items    map[string]PT
	indexers map[string]IndexFunc[PT]
	indices  map[string]map[string]map[string]struct{} // index name → value → keys
}

func newIndexer[PT meta.Object]() *Indexer[PT] {
	s := &Indexer[PT]{
		items:    map[string]PT{},
		indexers: map[string]IndexFunc[PT]{},
		indices:  map[string]map[string]map[string]struct{}{},
	}
	_ = s.AddIndexers(map[string]IndexFunc[PT]{
		NamespaceIndex: func(obj PT) []string { return []string{obj.GetObjectMeta().Namespace} },
	})
	return s
}

// Get returns the object stored under key ("ns/name" or "name").
func (s *Indexer[PT]) Get(key string) (PT, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	obj, ok := s.items[key]
	return obj, ok
}

// GetByName returns the object namespace/name ("" namespace for cluster-scoped objects).
func (s *Indexer[PT]) GetByName(namespace, name string) (PT, bool) {
	return s.Get(NamespacedKey(namespace, name))
}

// List returns every object, in no particular order.
func (s *Indexer[PT]) List() []PT {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]PT, 0, len(s.items))
	for _, obj := range s.items {
		out = append(out, obj)
	}
	return out
}

// ListKeys returns every key, sorted.
func (s *Indexer[PT]) ListKeys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.items))
	for k := range s.items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Len is the number of objects.
func (s *Indexer[PT]) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.items)
}

// ByIndex returns the objects the named index files under value.
func (s *Indexer[PT]) ByIndex(index, value string) ([]PT, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.indexers[index]; !ok {
		return nil, fmt.Errorf("informer: no index %q", index)
	}
	keys := s.indices[index][value]
	out := make([]PT, 0, len(keys))
	for k := range keys {
		out = append(out, s.items[k])
	}
	return out, nil
}

// ListNamespace returns the objects of one namespace ("" = all objects).
func (s *Indexer[PT]) ListNamespace(namespace string) []PT {
	if namespace == "" {
		return s.List()
	}
	out, _ := s.ByIndex(NamespaceIndex, namespace)
	return out
}

// AddIndexers adds indices and builds them over the objects already stored. Adding an
// index name twice is an error.
func (s *Indexer[PT]) AddIndexers(indexers map[string]IndexFunc[PT]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range indexers {
		if _, ok := s.indexers[name]; ok {
			return fmt.Errorf("informer: index %q already exists", name)
		}
	}
	for name, fn := range indexers {
		s.indexers[name] = fn
		s.indices[name] = map[string]map[string]struct{}{}
		for key, obj := range s.items {
			s.indexOne(name, fn, key, obj)
		}
	}
	return nil
}

func (s *Indexer[PT]) indexOne(name string, fn IndexFunc[PT], key string, obj PT) {
	idx := s.indices[name]
	for _, v := range fn(obj) {
		set := idx[v]
		if set == nil {
			set = map[string]struct{}{}
			idx[v] = set
		}
		set[key] = struct{}{}
	}
}

func (s *Indexer[PT]) unindexOne(name string, fn IndexFunc[PT], key string, obj PT) {
	idx := s.indices[name]
	for _, v := range fn(obj) {
		delete(idx[v], key)
		if len(idx[v]) == 0 {
			delete(idx, v) // keep the index from growing with values long gone
		}
	}
}

// set stores obj under key and returns what it replaced.
func (s *Indexer[PT]) set(key string, obj PT) (old PT, existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed = s.items[key]
	for name, fn := range s.indexers {
		if existed {
			s.unindexOne(name, fn, key, old)
		}
		s.indexOne(name, fn, key, obj)
	}
	s.items[key] = obj
	return old, existed
}

// remove deletes key and returns what was stored.
func (s *Indexer[PT]) remove(key string) (old PT, existed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, existed = s.items[key]
	if !existed {
		return old, false
	}
	for name, fn := range s.indexers {
		s.unindexOne(name, fn, key, old)
	}
	delete(s.items, key)
	return old, true
}

// Add stores obj (replacing what its key held), without telling any handler: for tests and
// fakes that prepare a cache and then call a controller's sync directly, as Kubernetes'
// controller tests fill their informers' stores. An informer's own indexer is otherwise
// written by the informer alone.
func (s *Indexer[PT]) Add(obj PT) { s.set(Key(obj), obj) }

// Delete removes obj's key, without telling any handler (see Add).
func (s *Indexer[PT]) Delete(obj PT) { s.remove(Key(obj)) }
