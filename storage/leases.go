package storage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// LeasedKeys keeps keys alive in etcd under a TTL lease: a key whose owner stops renewing it
// disappears by itself once the TTL passes. The API servers use it to say "I am alive at this
// address" (Kubernetes' /registry/masterleases/, the lease endpoint reconciler), so the
// kubernetes Service lists exactly the servers that are running, even after one was killed
// without the chance to remove itself.
type LeasedKeys struct {
	cli    *clientv3.Client
	prefix string // ends with "/"

	mu    sync.Mutex
	lease clientv3.LeaseID // 0: none granted yet, or lost
}

// NewLeasedKeys manages keys under prefix (e.g. "/registry/masterleases/").
func NewLeasedKeys(cli *clientv3.Client, prefix string) *LeasedKeys {
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &LeasedKeys{cli: cli, prefix: prefix}
}

// Renew writes prefix+name = value under a lease of ttl, renewing the lease it holds; a lease
// etcd no longer knows (expired while this process could not reach etcd) is replaced by a
// new one and the key written again.
func (l *LeasedKeys) Renew(ctx context.Context, name, value string, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lease != 0 {
		_, err := l.cli.KeepAliveOnce(ctx, l.lease)
		if err == nil {
			// The key may have been deleted by hand or by Remove: write it again under the
			// same lease (a put of the same value is cheap).
			if _, err := l.cli.Put(ctx, l.prefix+name, value, clientv3.WithLease(l.lease)); err != nil {
				return fmt.Errorf("write lease key %s: %w", name, err)
			}
			return nil
		}
		if err != rpctypes.ErrLeaseNotFound {
			return fmt.Errorf("renew lease of %s: %w", name, err)
		}
		l.lease = 0
	}
	secs := int64(ttl / time.Second)
	if secs < 1 {
		secs = 1
	}
	g, err := l.cli.Grant(ctx, secs)
	if err != nil {
		return fmt.Errorf("grant a lease for %s: %w", name, err)
	}
	if _, err := l.cli.Put(ctx, l.prefix+name, value, clientv3.WithLease(g.ID)); err != nil {
		return fmt.Errorf("write lease key %s: %w", name, err)
	}
	l.lease = g.ID
	return nil
}

// Remove deletes prefix+name and revokes the lease: what a process that stops cleanly does so
// that the others need not wait for the TTL.
func (l *LeasedKeys) Remove(ctx context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.cli.Delete(ctx, l.prefix+name); err != nil {
		return fmt.Errorf("remove lease key %s: %w", name, err)
	}
	if l.lease != 0 {
		_, _ = l.cli.Revoke(ctx, l.lease)
		l.lease = 0
	}
	return nil
}

// List returns the values of every live key under the prefix, sorted.
func (l *LeasedKeys) List(ctx context.Context) ([]string, error) {
	resp, err := l.cli.Get(ctx, l.prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.prefix, err)
	}
	out := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Value))
	}
	sort.Strings(out)
	return out, nil
}

// Changes is a channel that receives a value whenever a key under the prefix changes (a
// server came, left or its lease expired); closed when ctx ends.
func (l *LeasedKeys) Changes(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for ctx.Err() == nil {
			for range l.cli.Watch(clientv3.WithRequireLeader(ctx), l.prefix, clientv3.WithPrefix()) {
				select {
				case out <- struct{}{}:
				default:
				}
			}
			// The watch ended (no leader, connection lost): start another after a pause.
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return out
}
