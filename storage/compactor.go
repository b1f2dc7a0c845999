package storage

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultCompactionInterval is how much history etcd keeps (at least): Kubernetes' default.
const DefaultCompactionInterval = 5 * time.Minute

// compactRevKey is where API servers sharing a cluster agree on who compacts (not under
// /registry, so no resource ever lists it).
const compactRevKey = "/skiff/compact-revision"

// RunCompactor compacts etcd's history every interval, up to the revision it saw one
// interval earlier, until ctx ends. So a watch or paginated list has at least one interval
// to resume from a resourceVersion before it gets ErrExpired, while the history (and the
// database) stay bounded.
//
// As in Kubernetes, several API servers may run it against one cluster: each round is a
// transaction on a shared key's version, and only the server that bumps it compacts, so
// the cluster is compacted once per interval, not once per server.
func RunCompactor(ctx context.Context, client *clientv3.Client, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultCompactionInterval
	}
	log := slog.Default().With("component", "etcd-compactor")
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var version, rev int64 // the shared key's version and etcd's revision, last round
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		v, r, err := compactRound(ctx, client, version, rev)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("compaction failed", "err", err)
			}
			continue
		}
		version, rev = v, r
	}
}

// compactRound claims this round if the shared key is still at version (nobody else took
// it meanwhile), compacts to rev, and returns the key's new version and the current
// revision, which the next round compacts to.
func compactRound(ctx context.Context, client *clientv3.Client, version, rev int64) (int64, int64, error) {
	resp, err := client.Txn(ctx).
		If(clientv3.Compare(clientv3.Version(compactRevKey), "=", version)).
		Then(clientv3.OpPut(compactRevKey, strconv.FormatInt(rev, 10))).
		Else(clientv3.OpGet(compactRevKey)).
		Commit()
	if err != nil {
		return version, rev, err
	}
	current := resp.Header.Revision
	if !resp.Succeeded {
		// Another server compacted this round; follow its count.
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 {
			return 0, current, nil
		}
		return kvs[0].Version, current, nil
	}
	if rev == 0 {
		return version + 1, current, nil // first round: nothing seen an interval ago
	}
	if _, err := client.Compact(ctx, rev); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return version + 1, current, err
	}
	return version + 1, current, nil
}
