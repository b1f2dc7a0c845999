package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/api/meta"
)

// EtcdOptions tunes NewEtcd. The zero value is fine.
type EtcdOptions struct {
	// MaxPageSize caps how many keys one etcd range reads while a filtered list looks for
	// Limit matching items (the page starts at Limit and doubles up to this). Default 10000.
	MaxPageSize int64
	// WatchBuffer is the capacity of the channel Watch returns. Default 100.
	WatchBuffer int
}

// etcdStore implements Interface on an etcd v3 client. It holds no state of its own:
// every method is one or a few etcd requests, so any number of API servers can share a cluster.
type etcdStore struct {
	client *clientv3.Client
	opts   EtcdOptions
}

// NewEtcd returns the etcd-backed Interface; it also implements ProgressRequester. The
// client stays owned by the caller.
func NewEtcd(client *clientv3.Client, opts EtcdOptions) Interface {
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 10000
	}
	if opts.WatchBuffer <= 0 {
		opts.WatchBuffer = 100
	}
	return &etcdStore{client: client, opts: opts}
}

func (s *etcdStore) Create(ctx context.Context, key string, obj meta.Object) error {
	// As in Kubernetes: a resourceVersion on a new object means the caller confused create
	// with update, and silently dropping it would hide that.
	if obj.GetObjectMeta().ResourceVersion != "" {
		return fmt.Errorf("create %s: resourceVersion must not be set on an object to be created", key)
	}
	data, err := encode(obj)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		if rev, ok := s.landedDespiteNoSpace(key, data, 0, err); ok {
			setResourceVersion(obj, rev)
			return nil
		}
		return etcdError("create", key, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("create %s: %w", key, ErrAlreadyExists)
	}
	setResourceVersion(obj, resp.Header.Revision)
	return nil
}

func (s *etcdStore) Get(ctx context.Context, key string, out meta.Object) error {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return etcdError("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	kv := resp.Kvs[0]
	if err := json.Unmarshal(kv.Value, out); err != nil {
		return fmt.Errorf("get %s: decoding: %w", key, err)
	}
	setResourceVersion(out, kv.ModRevision)
	return nil
}

func (s *etcdStore) GuaranteedUpdate(ctx context.Context, key string, newFunc NewFunc, tryUpdate UpdateFunc, opts ...UpdateOption) (meta.Object, error) {
	var o updateOptions
	for _, opt := range opts {
		opt(&o)
	}
	var kvs []*mvccpb.KeyValue
	// fromCache: the first attempt starts from the caller's cached copy instead of a read.
	// If it is stale the transaction fails and its Else branch reads the current state, so a
	// fresh cache saves a round trip and a stale one costs nothing extra.
	fromCache := false
	if o.cached != nil {
		rev, err := ParseResourceVersion(o.cached.GetObjectMeta().ResourceVersion)
		data, eerr := encode(o.cached)
		if err == nil && eerr == nil && rev > 0 {
			kvs, fromCache = []*mvccpb.KeyValue{{Key: []byte(key), Value: data, ModRevision: rev}}, true
		}
	}
	if !fromCache {
		resp, err := s.client.Get(ctx, key)
		if err != nil {
			return nil, etcdError("update", key, err)
		}
		kvs = resp.Kvs
	}
	for {
		if len(kvs) == 0 {
			return nil, fmt.Errorf("update %s: %w", key, ErrNotFound)
		}
		kv := kvs[0]
		// tryUpdate gets a freshly decoded object, so it may mutate and return it.
		current, err := decode(kv.Value, kv.ModRevision, newFunc)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		updated, err := tryUpdate(current)
		if err != nil && fromCache {
			// The cached copy may be what made tryUpdate fail (a resourceVersion precondition
			// against a stale copy): judge again against the real current state.
			resp, gerr := s.client.Get(ctx, key)
			if gerr != nil {
				return nil, etcdError("update", key, gerr)
			}
			kvs, fromCache = resp.Kvs, false
			continue
		}
		if err != nil {
			return nil, err
		}
		if updated == nil {
			return nil, fmt.Errorf("update %s: tryUpdate returned no object", key)
		}
		data, err := encode(updated)
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", key, err)
		}
		// A no-op update must not create a revision: it would wake every watcher for nothing.
		// Against a cached copy "no change" is only believed after a real read.
		if bytes.Equal(data, kv.Value) && fromCache {
			resp, err := s.client.Get(ctx, key)
			if err != nil {
				return nil, etcdError("update", key, err)
			}
			kvs, fromCache = resp.Kvs, false
			continue
		}
		if bytes.Equal(data, kv.Value) {
			setResourceVersion(updated, kv.ModRevision)
			return updated, nil
		}
		// The Else branch reads the object that beat us, saving a round trip on retry.
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, string(data))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			if rev, ok := s.landedDespiteNoSpace(key, data, kv.ModRevision, err); ok {
				setResourceVersion(updated, rev)
				return updated, nil
			}
			return nil, etcdError("update", key, err)
		}
		if txn.Succeeded {
			setResourceVersion(updated, txn.Header.Revision)
			return updated, nil
		}
		kvs, fromCache = txn.Responses[0].GetResponseRange().Kvs, false
	}
}

func (s *etcdStore) Delete(ctx context.Context, key string, newFunc NewFunc, precondition func(meta.Object) error) (meta.Object, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return nil, etcdError("delete", key, err)
	}
	kvs := resp.Kvs
	for {
		if len(kvs) == 0 {
			return nil, fmt.Errorf("delete %s: %w", key, ErrNotFound)
		}
		kv := kvs[0]
		current, err := decode(kv.Value, kv.ModRevision, newFunc)
		if err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		if precondition != nil {
			if err := precondition(current); err != nil {
				return nil, err
			}
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpDelete(key)).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			return nil, etcdError("delete", key, err)
		}
		if txn.Succeeded {
			// The last state carries the deletion's revision, like the Deleted watch event.
			setResourceVersion(current, txn.Header.Revision)
			return current, nil
		}
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}

func (s *etcdStore) List(ctx context.Context, prefix string, newFunc NewFunc, opts ListOptions) (*ListResult, error) {
	rev := opts.ResourceVersion
	start := prefix
	if opts.Continue != "" {
		if opts.ResourceVersion != 0 {
			return nil, fmt.Errorf("list %s: %w: resourceVersion must not be set with continue", prefix, ErrInvalidContinue)
		}
		var err error
		if rev, start, err = decodeContinue(opts.Continue, prefix); err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, err)
		}
	}
	end := clientv3.GetPrefixRangeEnd(prefix)

	// Without a predicate one range of Limit keys is the page. With one, keep reading pages
	// (growing, to bound round trips on sparse matches) until Limit items matched.
	pageSize := opts.Limit
	if opts.Predicate != nil && pageSize > 0 && pageSize < 100 {
		pageSize = 100 // a tiny page on a sparse filter would take many round trips
	}
	result := &ListResult{Items: []meta.Object{}}
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(end)}
		if rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(rev))
		}
		if pageSize > 0 {
			getOpts = append(getOpts, clientv3.WithLimit(pageSize))
		}
		resp, err := s.client.Get(ctx, start, getOpts...)
		if err != nil {
			err = etcdError("list", prefix, err)
			if opts.Continue != "" && errors.Is(err, ErrExpired) {
				if token, terr := encodeContinue(start, prefix, latestRevision); terr == nil {
					return nil, &ContinueExpiredError{Continue: token, err: err}
				}
			}
			return nil, err
		}
		// Every later page is read at the first page's revision: one consistent snapshot.
		// (A read at an explicit revision answers with the current one in its header.)
		if rev == 0 {
			rev = resp.Header.Revision
		}
		result.ResourceVersion = rev

		for i, kv := range resp.Kvs {
			obj, err := decode(kv.Value, kv.ModRevision, newFunc)
			if err != nil {
				return nil, fmt.Errorf("list %s: key %s: %w", prefix, kv.Key, err)
			}
			if opts.Predicate != nil && !opts.Predicate(obj) {
				continue
			}
			result.Items = append(result.Items, obj)
			if opts.Limit > 0 && int64(len(result.Items)) == opts.Limit {
				if resp.More || s.anyMatch(resp.Kvs[i+1:], newFunc, opts.Predicate) {
					if result.Continue, err = encodeContinue(string(kv.Key)+"\x00", prefix, rev); err != nil {
						return nil, fmt.Errorf("list %s: %w", prefix, err)
					}
					if opts.Predicate == nil {
						remaining := resp.Count - int64(len(resp.Kvs))
						result.RemainingItemCount = &remaining
					}
				}
				return result, nil
			}
		}
		if !resp.More {
			return result, nil
		}
		// Only a filtered list gets here: it has not found Limit matches yet.
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		pageSize = min(pageSize*2, max(s.opts.MaxPageSize, opts.Limit))
	}
}

// anyMatch says whether a list that filled its page still has a match among the keys it
// already read, sparing the client a last request that would return nothing.
func (s *etcdStore) anyMatch(kvs []*mvccpb.KeyValue, newFunc NewFunc, predicate func(meta.Object) bool) bool {
	if predicate == nil {
		return len(kvs) > 0
	}
	for _, kv := range kvs {
		// An undecodable object counts as a match: the next page will report it.
		if obj, err := decode(kv.Value, kv.ModRevision, newFunc); err != nil || predicate(obj) {
			return true
		}
	}
	return false
}

func (s *etcdStore) Watch(ctx context.Context, prefix string, newFunc NewFunc, fromRV int64) (<-chan Event, <-chan error, error) {
	if fromRV < 0 {
		return nil, nil, fmt.Errorf("watch %s: negative resourceVersion %d", prefix, fromRV)
	}
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
	if fromRV > 0 {
		// etcd reports a compacted start revision only after the watch is created, on the
		// channel. A read at fromRV (one key: no scan) fails the same way, so the common
		// case is an immediate ErrExpired; a compaction racing us still arrives on errc.
		// (A start just one revision behind the compaction is refused although etcd could
		// serve it: conservative, and the client simply relists.)
		_, err := s.client.Get(ctx, prefix, clientv3.WithRev(fromRV), clientv3.WithKeysOnly())
		if err != nil && !errors.Is(err, rpctypes.ErrFutureRev) {
			return nil, nil, etcdError("watch", prefix, err)
		}
		// From fromRV itself, not fromRV+1, and the events at fromRV dropped in pump: etcd
		// answers no progress request on a stream while one of its watches starts in the
		// future (fromRV+1 when nothing was written since), so one watch cache that listed
		// after the last write would hold back every other cache's bookmarks (and so its
		// consistent reads) until the next write.
		opts = append(opts, clientv3.WithRev(fromRV))
	}
	// RequireLeader makes a member cut off from the quorum end the watch instead of
	// silently delivering nothing; the same metadata puts every watch on one gRPC stream,
	// which RequestWatchProgress relies on.
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.client.Watch(ctx, prefix, opts...)

	events := make(chan Event, s.opts.WatchBuffer)
	errc := make(chan error, 1)
	go func() {
		defer close(events)
		defer cancel() // releases the etcd watch when we stop for any reason
		if err := pump(ctx, wch, newFunc, fromRV, events); err != nil && ctx.Err() == nil {
			errc <- fmt.Errorf("watch %s: %w", prefix, err)
		}
	}()
	return events, errc, nil
}

// pump turns etcd watch responses into Events until the watch ends; events at or before
// after (the caller has them) are skipped.
func pump(ctx context.Context, wch clientv3.WatchChan, newFunc NewFunc, after int64, out chan<- Event) error {
	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return fmt.Errorf("%w: compacted at %d", ErrExpired, resp.CompactRevision)
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			if !send(Event{Type: meta.Bookmark, ResourceVersion: resp.Header.Revision}) {
				return nil
			}
			continue
		}
		for _, ev := range resp.Events {
			if ev.Kv.ModRevision <= after {
				continue
			}
			e, err := convertEvent(ev, newFunc)
			if err != nil {
				return err
			}
			if !send(e) {
				return nil
			}
		}
	}
	// The etcd channel also closes when ctx ends; only otherwise (client closed) is it a failure.
	if ctx.Err() == nil {
		return errors.New("etcd watch channel closed")
	}
	return nil
}

func convertEvent(ev *clientv3.Event, newFunc NewFunc) (Event, error) {
	var prev meta.Object
	if ev.PrevKv != nil {
		var err error
		if prev, err = decode(ev.PrevKv.Value, ev.PrevKv.ModRevision, newFunc); err != nil {
			return Event{}, fmt.Errorf("key %s: %w", ev.Kv.Key, err)
		}
	}
	rev := ev.Kv.ModRevision
	if ev.Type == clientv3.EventTypeDelete {
		if prev == nil {
			// Only when the previous value was compacted away before the watch read it.
			return Event{}, fmt.Errorf("key %s: deleted at %d without its previous value", ev.Kv.Key, rev)
		}
		return Event{Type: meta.Deleted, Object: WithResourceVersion(prev, rev), PrevObject: prev, ResourceVersion: rev, Size: len(ev.PrevKv.Value)}, nil
	}
	obj, err := decode(ev.Kv.Value, rev, newFunc)
	if err != nil {
		return Event{}, fmt.Errorf("key %s: %w", ev.Kv.Key, err)
	}
	typ := meta.Modified
	if ev.IsCreate() {
		typ = meta.Added
	}
	size := len(ev.Kv.Value)
	if ev.PrevKv != nil {
		size += len(ev.PrevKv.Value)
	}
	return Event{Type: typ, Object: obj, PrevObject: prev, ResourceVersion: rev, Size: size}, nil
}

// RequestWatchProgress asks etcd to tell every watch of this client how far it has got;
// each answers with a meta.Bookmark event. See ProgressRequester.
func (s *etcdStore) RequestWatchProgress(ctx context.Context) error {
	return s.client.RequestProgress(clientv3.WithRequireLeader(ctx))
}

func (s *etcdStore) CurrentRevision(ctx context.Context) (int64, error) {
	// Any key will do: a linearizable read's header carries the cluster's revision.
	resp, err := s.client.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdError("current revision", "/", err)
	}
	return resp.Header.Revision, nil
}

func (s *etcdStore) Count(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, etcdError("count", prefix, err)
	}
	return resp.Count, nil
}

// landedDespiteNoSpace tells whether a put that etcd answered with NOSPACE was stored all
// the same. etcd checks its quota twice: before proposing (nothing is written) and again
// when applying, where the write that crosses the quota is applied and *then* answered
// with NOSPACE. Reporting that write as failed would leave an object the client was told
// does not exist, so read the key back: the very bytes we wrote (they carry the object's
// uid) at a revision newer than the one we replaced mean the write landed.
func (s *etcdStore) landedDespiteNoSpace(key string, data []byte, prevRev int64, err error) (int64, bool) {
	if !errors.Is(err, rpctypes.ErrNoSpace) {
		return 0, false
	}
	// The caller's context may be what failed; the read-back gets its own short one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, gerr := s.client.Get(ctx, key)
	if gerr != nil || len(resp.Kvs) == 0 {
		return 0, false
	}
	kv := resp.Kvs[0]
	if kv.ModRevision <= prevRev || !bytes.Equal(kv.Value, data) {
		return 0, false
	}
	return kv.ModRevision, true
}

// etcdError maps etcd's revision errors onto our sentinels and keeps the original.
func etcdError(op, key string, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%s %s: %w: %w", op, key, ErrExpired, err)
	case errors.Is(err, rpctypes.ErrFutureRev):
		return fmt.Errorf("%s %s: %w: %w", op, key, ErrTooLargeResourceVersion, err)
	case errors.Is(err, rpctypes.ErrNoSpace):
		return fmt.Errorf("%s %s: %w: %w", op, key, ErrNoSpace, err)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// encode is the stored form: JSON without the resourceVersion, which etcd keeps for us.
// It encodes a shallow copy so the caller's object is never touched (it may be shared).
func encode(obj meta.Object) ([]byte, error) {
	if obj.GetObjectMeta().ResourceVersion != "" {
		obj = shallowCopy(obj)
		obj.GetObjectMeta().ResourceVersion = ""
	}
	return json.Marshal(obj)
}

func decode(data []byte, rev int64, newFunc NewFunc) (meta.Object, error) {
	obj := newFunc()
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	setResourceVersion(obj, rev)
	return obj, nil
}

func setResourceVersion(obj meta.Object, rev int64) {
	obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(rev, 10)
}

// ParseResourceVersion parses an object's resourceVersion ("" is 0).
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid resourceVersion %q", rv)
	}
	return n, nil
}

// WithResourceVersion returns a shallow copy of obj whose resourceVersion is rev. The copy
// shares maps, slices and pointers with obj, so neither may be mutated afterwards; it is
// how a shared object (a watch cache entry) gets a different resourceVersion cheaply.
// obj must be a pointer to a struct, as every API kind is.
func WithResourceVersion(obj meta.Object, rev int64) meta.Object {
	c := shallowCopy(obj)
	setResourceVersion(c, rev)
	return c
}

func shallowCopy(obj meta.Object) meta.Object {
	v := reflect.ValueOf(obj).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(meta.Object)
}
