package leaderelection

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// fakeLeases serves the leases of one namespace from memory, with the API server's
// optimistic concurrency: an update must carry the current resourceVersion.
type fakeLeases struct {
	mu     sync.Mutex
	rv     int
	leases map[string]coordination.Lease
	fail   bool // answer everything with 500
	writes []coordination.Lease
	reads  int // GETs answered, each one candidate's look at the lease
}

func newFake(t *testing.T) (*fakeLeases, *client.Client) {
	f := &fakeLeases{leases: map[string]coordination.Lease{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := client.New(&client.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func status(w http.ResponseWriter, code int, reason string) {
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status"}, Code: int32(code), Reason: reason, Message: reason})
}

func (f *fakeLeases) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, prefix), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail || !strings.HasPrefix(r.URL.Path, prefix) {
		status(w, 500, meta.ReasonInternalError)
		return
	}
	var in coordination.Lease
	if r.Body != nil {
		json.NewDecoder(r.Body).Decode(&in)
	}
	switch r.Method {
	case http.MethodGet:
		f.reads++
		l, ok := f.leases[name]
		if !ok {
			status(w, 404, meta.ReasonNotFound)
			return
		}
		json.NewEncoder(w).Encode(l)
	case http.MethodPost:
		if _, ok := f.leases[in.Name]; ok {
			status(w, 409, meta.ReasonAlreadyExists)
			return
		}
		f.store(w, in)
	case http.MethodPut:
		cur, ok := f.leases[name]
		if !ok {
			status(w, 404, meta.ReasonNotFound)
			return
		}
		if in.ResourceVersion != cur.ResourceVersion {
			status(w, 409, meta.ReasonConflict)
			return
		}
		f.store(w, in)
	}
}

func (f *fakeLeases) store(w http.ResponseWriter, l coordination.Lease) {
	f.rv++
	l.ResourceVersion = strconv.Itoa(f.rv)
	f.leases[l.Name] = l
	f.writes = append(f.writes, l)
	json.NewEncoder(w).Encode(l)
}

func (f *fakeLeases) get(name string) coordination.Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[name]
}

// progress is how many reads and writes the fake has answered: tests wait for the
// candidates to have taken a number of turns, rather than for a stretch of wall time.
func (f *fakeLeases) progress() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads + len(f.writes)
}

// firstWriteBy is the lease as holder id first wrote it.
func (f *fakeLeases) firstWriteBy(id string) *coordination.Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.writes {
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == id {
			return &l
		}
	}
	return nil
}

func (f *fakeLeases) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

// candidate runs an elector and records what happened to it.
type candidate struct {
	le      *LeaderElector
	cancel  context.CancelFunc
	done    chan struct{}
	leading chan context.Context // receives the leader ctx on OnStartedLeading
	stopped atomic.Int32
	mu      sync.Mutex
	leaders []string // OnNewLeader calls
}

func (c *candidate) seenLeaders() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.leaders...)
}

// fast durations: a lease of 1s (the minimum), renewals every 100ms.
func testConfig(id string) Config {
	return Config{
		Lock:          LeaseLock{Name: "controller", Identity: id},
		LeaseDuration: time.Second,
		RenewDeadline: 500 * time.Millisecond,
		RetryPeriod:   100 * time.Millisecond,
	}
}

func run(t *testing.T, c *client.Client, cfg Config) *candidate {
	t.Helper()
	cand := &candidate{done: make(chan struct{}), leading: make(chan context.Context, 1)}
	cfg.Callbacks = Callbacks{
		OnStartedLeading: func(ctx context.Context) {
			cand.leading <- ctx
			<-ctx.Done()
		},
		OnStoppedLeading: func() { cand.stopped.Add(1) },
		OnNewLeader: func(id string) {
			cand.mu.Lock()
			cand.leaders = append(cand.leaders, id)
			cand.mu.Unlock()
		},
	}
	le, err := New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cand.le = le
	ctx, cancel := context.WithCancel(context.Background())
	cand.cancel = cancel
	go func() {
		le.Run(ctx)
		close(cand.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-cand.done
	})
	return cand
}

func waitLeading(t *testing.T, c *candidate, within time.Duration) context.Context {
	t.Helper()
	select {
	case ctx := <-c.leading:
		return ctx
	case <-time.After(within):
		t.Fatalf("%s did not become leader within %v", c.le.cfg.Lock.Identity, within)
		return nil
	}
}

func waitDone(t *testing.T, c *candidate, within time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		t.Fatalf("Run did not return within %v", within)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAcquireRenewRelease(t *testing.T) {
	f, c := newFake(t)
	cfg := testConfig("a")
	cfg.ReleaseOnCancel = true
	a := run(t, c, cfg)
	leaderCtx := waitLeading(t, a, 2*time.Second)

	first := *f.firstWriteBy("a")
	if *first.Spec.HolderIdentity != "a" || *first.Spec.LeaseDurationSeconds != 1 || *first.Spec.LeaseTransitions != 0 {
		t.Fatalf("lease after acquire: %+v", first.Spec)
	}
	if !first.Spec.AcquireTime.Equal(first.Spec.RenewTime.Time) {
		t.Errorf("a fresh lease has acquireTime = renewTime")
	}
	if first.Kind != "Lease" || first.APIVersion != "coordination.k8s.io/v1" {
		t.Errorf("created lease has kind %q apiVersion %q", first.Kind, first.APIVersion)
	}
	if !a.le.IsLeader() {
		t.Error("IsLeader = false")
	}

	// Renewals move renewTime, not acquireTime or the transition count.
	eventually(t, "a renewal", func() bool {
		l := f.get("controller")
		return l.Spec.RenewTime.After(first.Spec.RenewTime.Time)
	})
	renewed := f.get("controller")
	if !renewed.Spec.AcquireTime.Equal(first.Spec.AcquireTime.Time) || *renewed.Spec.LeaseTransitions != 0 {
		t.Errorf("renewal changed acquireTime or transitions: %+v", renewed.Spec)
	}
	eventually(t, "OnNewLeader(a)", func() bool { return len(a.seenLeaders()) == 1 })
	if l := a.seenLeaders(); l[0] != "a" {
		t.Errorf("OnNewLeader calls %v", l)
	}

	a.cancel()
	waitDone(t, a, 2*time.Second)
	if leaderCtx.Err() == nil {
		t.Error("the leader ctx was not cancelled")
	}
	if a.stopped.Load() != 1 {
		t.Errorf("OnStoppedLeading called %d times", a.stopped.Load())
	}
	released := f.get("controller")
	if *released.Spec.HolderIdentity != "" || *released.Spec.LeaseDurationSeconds != 1 {
		t.Errorf("lease after release: %+v", released.Spec)
	}
}

func TestFailoverAfterRelease(t *testing.T) {
	f, c := newFake(t)
	cfgA, cfgB := testConfig("a"), testConfig("b")
	cfgA.ReleaseOnCancel = true
	// A long lease, so that a takeover without the release would clearly take longer.
	cfgA.LeaseDuration, cfgB.LeaseDuration = 4*time.Second, 4*time.Second
	a := run(t, c, cfgA)
	waitLeading(t, a, 2*time.Second)
	b := run(t, c, cfgB)

	// b follows: it sees a as leader and does not lead while a renews — over many of b's
	// attempts and a's renewals, counted, not timed.
	eventually(t, "b to see a", func() bool { return b.le.Leader() == "a" })
	from := f.progress()
	eventually(t, "20 more lease reads and renewals", func() bool { return f.progress() >= from+20 })
	select {
	case <-b.leading:
		t.Fatal("b leads while a holds the lease")
	default:
	}

	// a steps down and releases: b takes over without waiting out the lease.
	a.cancel()
	waitDone(t, a, 2*time.Second)
	start := time.Now()
	waitLeading(t, b, 2*time.Second)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("takeover after release took %v; the lease was not released?", d)
	}
	l := f.get("controller")
	if *l.Spec.HolderIdentity != "b" || *l.Spec.LeaseTransitions != 1 {
		t.Errorf("lease after failover: holder %q transitions %d", *l.Spec.HolderIdentity, *l.Spec.LeaseTransitions)
	}
	eventually(t, "b to see itself lead", func() bool {
		ls := b.seenLeaders()
		return len(ls) == 2 && ls[0] == "a" && ls[1] == "b"
	})
	if b.stopped.Load() != 0 {
		t.Error("OnStoppedLeading called on a leader")
	}
}

func TestTakeoverAfterExpiry(t *testing.T) {
	f, c := newFake(t)
	a := run(t, c, testConfig("a")) // no release: as if a crashed
	waitLeading(t, a, 2*time.Second)
	a.cancel()
	waitDone(t, a, 2*time.Second)
	if h := *f.get("controller").Spec.HolderIdentity; h != "a" {
		t.Fatalf("holder %q after a stopped without release", h)
	}

	start := time.Now()
	b := run(t, c, testConfig("b"))
	waitLeading(t, b, 3*time.Second)
	// b had to see the lease unchanged for its whole duration first.
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("b took an unexpired lease after %v", d)
	}
	if l := f.firstWriteBy("b"); l == nil || *l.Spec.LeaseTransitions != 1 || !l.Spec.AcquireTime.Equal(l.Spec.RenewTime.Time) {
		t.Errorf("lease after takeover: %+v", l)
	}
}

func TestOnlyOneLeads(t *testing.T) {
	f, c := newFake(t)
	var leaders atomic.Int32
	var maxLeaders atomic.Int32
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for i := range 5 {
		cfg := testConfig("c" + strconv.Itoa(i))
		cfg.Callbacks.OnStartedLeading = func(ctx context.Context) {
			n := leaders.Add(1)
			for {
				if m := maxLeaders.Load(); n <= m || maxLeaders.CompareAndSwap(m, n) {
					break
				}
			}
			<-ctx.Done()
			leaders.Add(-1)
		}
		le, err := New(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { le.Run(ctx) })
	}
	eventually(t, "a leader", func() bool { return leaders.Load() == 1 })
	// Let the followers try many times (counted at the fake, not timed) while one leads.
	from := f.progress()
	eventually(t, "50 more lease reads and writes", func() bool { return f.progress() >= from+50 })
	cancel()
	wg.Wait()
	if m := maxLeaders.Load(); m != 1 {
		t.Fatalf("%d candidates led at once", m)
	}
}

func TestLosesLeaseWhenRenewalsFail(t *testing.T) {
	f, c := newFake(t)
	cfg := testConfig("a")
	cfg.LeaseDuration = 2 * time.Second
	a := run(t, c, cfg)
	leaderCtx := waitLeading(t, a, 2*time.Second)
	f.setFail(true)
	failedAt := time.Now()
	waitDone(t, a, 3*time.Second)
	// It stopped within RenewDeadline (+ a retry period), before the lease could expire.
	if d := time.Since(failedAt); d > cfg.LeaseDuration {
		t.Errorf("stopped leading %v after renewals started failing", d)
	}
	if leaderCtx.Err() == nil || a.stopped.Load() != 1 {
		t.Errorf("leader ctx err %v, OnStoppedLeading calls %d", leaderCtx.Err(), a.stopped.Load())
	}
}

func TestLosesLeaseWhenTakenOver(t *testing.T) {
	f, c := newFake(t)
	a := run(t, c, testConfig("a"))
	waitLeading(t, a, 2*time.Second)

	// Someone else writes the lease (bumping its resourceVersion): a's next renewal
	// conflicts, a reads the lease, sees a valid holder that is not itself, and stops.
	f.mu.Lock()
	l := f.leases["controller"]
	thief, now := "thief", meta.NowMicro()
	l.Spec.HolderIdentity, l.Spec.RenewTime = &thief, &now
	f.rv++
	l.ResourceVersion = strconv.Itoa(f.rv)
	f.leases["controller"] = l
	f.mu.Unlock()

	waitDone(t, a, 2*time.Second)
	if h := *f.get("controller").Spec.HolderIdentity; h != "thief" {
		t.Errorf("holder %q: a overwrote the new holder", h)
	}
	eventually(t, "OnNewLeader(thief)", func() bool {
		ls := a.seenLeaders()
		return len(ls) == 2 && ls[1] == "thief"
	})
}

func TestConfigValidation(t *testing.T) {
	start := func(context.Context) {}
	ok := Config{Lock: LeaseLock{Name: "l", Identity: "i"}, Callbacks: Callbacks{OnStartedLeading: start}}
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no name", func(c *Config) { c.Lock.Name = "" }, "Name"},
		{"no identity", func(c *Config) { c.Lock.Identity = "" }, "Identity"},
		{"no callback", func(c *Config) { c.Callbacks.OnStartedLeading = nil }, "OnStartedLeading"},
		{"sub-second lease", func(c *Config) { c.LeaseDuration = 500 * time.Millisecond }, "at least 1s"},
		{"deadline not below lease", func(c *Config) { c.LeaseDuration, c.RenewDeadline = 10*time.Second, 10*time.Second }, "greater than RenewDeadline"},
		{"retry too close to deadline", func(c *Config) { c.RenewDeadline, c.RetryPeriod = 2*time.Second, 2*time.Second }, "RetryPeriod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			le, err := New(nil, cfg)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if le.cfg.LeaseDuration != 15*time.Second || le.cfg.RenewDeadline != 10*time.Second ||
					le.cfg.RetryPeriod != 2*time.Second || le.cfg.Lock.Namespace != "kube-system" {
					t.Errorf("defaults not applied: %+v", le.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}
