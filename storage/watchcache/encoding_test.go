package watchcache

import (
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

// TestObjectEncodedOnce: however many watchers ask, an object version is encoded once per
// Encoding; another Encoding has its own memo; an event from outside the cache has none.
func TestObjectEncodedOnce(t *testing.T) {
	obj := &meta.PartialObjectMetadata{ObjectMeta: meta.ObjectMeta{Name: "a"}}
	ent := &entry{obj: obj, rv: 1}
	ev := Event{Event: storage.Event{Type: meta.Added, Object: obj}, entry: ent}
	var mu sync.Mutex
	calls := map[string]int{}
	enc := func(name string) *Encoding {
		return &Encoding{Encode: func(o meta.Object) ([]byte, error) {
			mu.Lock()
			calls[name]++
			mu.Unlock()
			return []byte(name + ":" + o.GetObjectMeta().Name), nil
		}}
	}
	x, y := enc("x"), enc("y")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := string(ev.ObjectEncoded(x)); got != "x:a" {
				t.Errorf("x = %q", got)
			}
		}()
	}
	wg.Wait()
	if got := string(ev.ObjectEncoded(y)); got != "y:a" {
		t.Errorf("y = %q", got)
	}
	if calls["x"] != 1 || calls["y"] != 1 {
		t.Errorf("encoded %v times, want once each", calls)
	}
	if b := (Event{Event: storage.Event{Object: obj}}).ObjectEncoded(x); b != nil {
		t.Errorf("an event without a cache entry: %q", b)
	}
}
