package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// WaitForQuorum waits until the etcd cluster behind cli answers a linearizable read (it has
// a leader, so a quorum of members reach each other), for at most timeout (default 1
// minute), logging while it waits. An API server started with an external etcd that is not
// there yet (members still starting, as under systemd) waits for it; one that is not there at
// all stops with a message saying what to check, instead of hanging silently.
func WaitForQuorum(ctx context.Context, cli *clientv3.Client, endpoints []string, timeout time.Duration, log *slog.Logger) error {
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	nextLog := time.Now().Add(5 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := cli.Get(clientv3.WithRequireLeader(rctx), "/registry/health")
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd at %s did not answer with a leader within %s (%v): check that its members run and reach each other "+
				"(etcdctl --endpoints %s endpoint health) and that --etcd-servers lists their client URLs",
				strings.Join(endpoints, ","), timeout, err, strings.Join(endpoints, ","))
		}
		if time.Now().After(nextLog) {
			log.Warn("waiting for etcd to answer with a leader", "servers", endpoints, "err", err)
			nextLog = time.Now().Add(5 * time.Second)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
