package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Keeping the embedded etcd's database bounded. Compaction (compactor.go) drops old
// revisions, but bbolt never gives the freed pages back to the file system: the file only
// shrinks when it is defragmented. And when the file reaches the backend quota, etcd raises
// the NOSPACE alarm and refuses every write until an operator compacts, defragments and
// disarms it. For the embedded etcd, skiff is that operator.

// MaintenanceOptions tune RunMaintenance.
type MaintenanceOptions struct {
	// Interval between checks (default 1 minute).
	Interval time.Duration
	// MinReclaimBytes: defragment when at least this much of the file is free pages
	// (default 64 MiB) and they are at least half the file.
	MinReclaimBytes int64
	// Quota is the backend quota (to judge whether the NOSPACE alarm can be disarmed).
	Quota int64
}

// RunMaintenance checks the member at endpoint every interval until ctx ends: it
// defragments when enough of the database is free, and recovers from the NOSPACE alarm by
// compacting all history, defragmenting and disarming the alarm once the live data fits in
// the quota again (watchers then resume with 410 Gone and relist, as after any
// compaction).
func RunMaintenance(ctx context.Context, client *clientv3.Client, endpoint string, o MaintenanceOptions) {
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.MinReclaimBytes <= 0 {
		o.MinReclaimBytes = 64 << 20
	}
	log := slog.Default().With("component", "etcd-maintenance")
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := MaintainOnce(ctx, client, endpoint, o, log); err != nil && ctx.Err() == nil {
			log.Warn("etcd maintenance failed", "err", err)
		}
	}
}

// MaintainOnce is one round of RunMaintenance.
func MaintainOnce(ctx context.Context, client *clientv3.Client, endpoint string, o MaintenanceOptions, log *slog.Logger) error {
	if o.MinReclaimBytes <= 0 {
		o.MinReclaimBytes = 64 << 20
	}
	st, err := client.Status(ctx, endpoint)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	alarms, err := client.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("alarm list: %w", err)
	}
	var noSpace []*etcdserverpb.AlarmMember
	for _, a := range alarms.Alarms {
		if a.Alarm == etcdserverpb.AlarmType_NOSPACE {
			noSpace = append(noSpace, a)
		}
	}
	if len(noSpace) > 0 {
		// Emergency: drop all history now (not just up to the previous interval) so that
		// every page not holding a live object can be reclaimed.
		// Physical: wait until the compaction has freed its pages, or the defragmentation
		// below may run before it (under load) and reclaim nothing.
		if _, err := client.Compact(ctx, st.Header.Revision, clientv3.WithCompactPhysical()); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
			return fmt.Errorf("compact: %w", err)
		}
	} else if free := st.DbSize - st.DbSizeInUse; free < o.MinReclaimBytes || free < st.DbSize/2 {
		return nil
	}
	if _, err := client.Defragment(ctx, endpoint); err != nil {
		return fmt.Errorf("defragment: %w", err)
	}
	after, err := client.Status(ctx, endpoint)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	log.Info("defragmented etcd", "before", st.DbSize, "after", after.DbSize, "inUse", after.DbSizeInUse)
	if len(noSpace) == 0 {
		return nil
	}
	// Disarm only with room to spare, or the next write raises the alarm again.
	if o.Quota > 0 && after.DbSize > o.Quota*9/10 {
		log.Warn("etcd is still full after compaction and defragmentation: delete objects to make room",
			"size", after.DbSize, "quota", o.Quota)
		return nil
	}
	for _, a := range noSpace {
		if _, err := client.AlarmDisarm(ctx, (*clientv3.AlarmMember)(a)); err != nil {
			return fmt.Errorf("disarm: %w", err)
		}
	}
	log.Info("disarmed etcd's NOSPACE alarm", "size", after.DbSize, "quota", o.Quota)
	return nil
}
