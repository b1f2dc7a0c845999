package resourcequota_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/resourcequota"
)

// TestMeasureQuota prints the numbers in docs/PERFORMANCE.md; it runs only with
// SKIFF_MEASURE=1 (it creates thousands of pods):
//
//	SKIFF_MEASURE=1 go test ./controllermanager/resourcequota -run TestMeasureQuota -v -count=1
func TestMeasureQuota(t *testing.T) {
	if os.Getenv("SKIFF_MEASURE") == "" {
		t.Skip("set SKIFF_MEASURE=1 to measure")
	}
	e := testenv.New(t)
	e.Start(t, resourcequota.New(e.CC, resourcequota.Options{}))
	nss := client.For[core.Namespace](e.Client, controller.Namespaces)
	for _, ns := range []string{"free", "quota", "race"} {
		if _, err := nss.Create(e.Ctx, &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	quotas := client.For[core.ResourceQuota](e.Client, resourcequota.ResourceQuotas)
	for ns, hard := range map[string]string{"quota": "1000000", "race": "500"} {
		if _, err := quotas.Create(e.Ctx, &core.ResourceQuota{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: "q"},
			Spec: core.ResourceQuotaSpec{Hard: rl("pods", hard, "requests.cpu", "100000", "count/configmaps", "100000")}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"quota", "race"} {
		testenv.Eventually(t, ns+" quota status", func() (bool, string) {
			q, err := quotas.Get(e.Ctx, ns, "q")
			return err == nil && len(q.Status.Used) > 0, fmt.Sprint(err)
		})
	}
	pods := client.For[core.Pod](e.Client, controller.Pods)
	create := func(ns string, n, workers int, round int) (time.Duration, int32) {
		var next, ok atomic.Int32
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if int(i) > n {
						return
					}
					p := pod(fmt.Sprintf("r%d-p%d", round, i), rl("cpu", "10m"))
					p.Namespace = ns
					if _, err := pods.Create(e.Ctx, p); err == nil {
						ok.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start), ok.Load()
	}
	// Alternating rounds, so that load on the machine weighs on both alike.
	var free, quota time.Duration
	const n, workers = 500, 16
	for round := range 4 {
		d, _ := create("free", n, workers, round)
		free += d
		d, _ = create("quota", n, workers, round)
		quota += d
	}
	fr, qr := float64(4*n)/free.Seconds(), float64(4*n)/quota.Seconds()
	t.Logf("pod creates/s, %d workers: without a quota %.0f, under a quota %.0f (ratio %.2f)", workers, fr, qr, qr/fr)

	// 1,000 creates from 200 concurrent clients racing a limit of 500 (1,000 clients at once
	// exhaust the test's TLS listener before they reach admission).
	_, created := create("race", 1000, 200, 0)
	stored, err := pods.List(e.Ctx, "race", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := quotas.Get(e.Ctx, "race", "q")
	if err != nil {
		t.Fatal(err)
	}
	used := q.Status.Used["pods"]
	t.Logf("1000 creates (200 at a time) against pods: 500: created %d, stored %d, status.used %s, overshoot %d", created, len(stored.Items), used.String(), len(stored.Items)-500)
	if len(stored.Items) != 500 || used.String() != "500" {
		t.Fatalf("overshoot: stored %d, used %s", len(stored.Items), used.String())
	}
}
