package robustness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skiff-sh/skiff/test/harness"
)

var (
	duration = flag.Duration("robustness.duration", 20*time.Second, "how long operations run while faults are injected (CI's short mode; longer by flag)")
	clients  = flag.Int("robustness.clients", 6, "concurrent clients")
	keys     = flag.Int("robustness.keys", 8, "ConfigMaps the clients share")
)

const configMaps = "/api/v1/namespaces/default/configmaps"

// TestFaultsKeepTheAPILinearizable runs clients creating, reading, compare-and-swapping and
// deleting a few shared ConfigMaps through skiff-apiserver on a 3-member etcd cluster, while
// a controller manager, a scheduler and simulated nodes run a Deployment and a ReplicaSet
// whose spec keeps changing. Faults, in turn: the API server, an etcd member, the
// controller manager, the scheduler and the node agent are SIGKILLed and restarted, and
// etcd's database is filled past its quota (writes refused with 507), then recovered by
// compaction, defragmentation and disarming the alarm. Then: the recorded history must be
// linearizable (every acknowledged write visible to the reads after it, no read of a value
// that was never written, was overwritten or was refused, no compare-and-swap succeeding on
// a stale value); a watch resumed across the API server's restarts must have delivered each
// acknowledged write exactly once, in revision order; and the controllers must converge
// exactly to the last spec (replica counts exact, no orphan or duplicate pods).
func TestFaultsKeepTheAPILinearizable(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection runs real etcd members and API servers")
	}
	etcd := startEtcdCluster(t, 3, "--quota-backend-bytes", strconv.Itoa(etcdQuota))
	api := harness.StartAPIServer(t, "--etcd-servers", etcd.clientURLs())
	rec := &recorder{start: time.Now()}
	createFillNamespace(t, api.HTTPClient(t), api.URL)
	disk := &fullDisk{hc: api.HTTPClient(t), base: api.URL, endpoints: etcd.spec.ClientURLs()}
	disk.hc.Timeout = 30 * time.Second

	// The control loops and what they must converge to.
	loops := startControlLoops(t, api.Kubeconfig)
	wl := &workload{hc: api.HTTPClient(t), base: api.URL, rnd: rand.New(rand.NewPCG(7, 42))}
	wl.hc.Timeout = 5 * time.Second
	wl.create(t)
	harness.Eventually(t, 2*time.Minute, "the workload running before the faults", wl.converged)

	// The watch starts from the current revision and resumes from the last event it saw.
	w := &watcher{events: map[string][]watchedEvent{}}
	var list struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	mustGetJSON(t, api.HTTPClient(t), api.URL+configMaps, &list)
	w.lastRV = list.Metadata.ResourceVersion
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); w.run(ctx, api.HTTPClient(t), api.URL) }()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		hc := api.HTTPClient(t)
		hc.Timeout = 5 * time.Second
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&worker{id: c, hc: hc, base: api.URL, rec: rec, rnd: rand.New(rand.NewPCG(uint64(c), 42))}).run(stop)
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); wl.run(stop) }()

	// Faults, in turn, each kind at least once however short the run: each process
	// SIGKILLed and restarted after a pause (etcd members take turns, so a third of the
	// etcd kills hit the leader), and the full database.
	kinds := []string{"apiserver", "etcd member", "controller-manager", "scheduler", "node agent", "etcd full"}
	faults := map[string]int{}
	var fills []string
	end := time.Now().Add(*duration)
	// At most 3 s apart, so that a long run has many faults, and each full-database fault's
	// compaction comes before the history alone fills the quota.
	gap := min(*duration/12, 3*time.Second)
	for i := 0; time.Now().Before(end) || i < len(kinds); i++ {
		time.Sleep(gap)
		kind := kinds[i%len(kinds)]
		switch kind {
		case "apiserver":
			api.Kill()
			time.Sleep(300 * time.Millisecond)
			api.Start(t)
		case "etcd member":
			m := faults[kind] % len(etcd.members)
			etcd.kill(m)
			time.Sleep(time.Second)
			etcd.restart(t, m)
		case "controller-manager", "scheduler", "node agent":
			p := map[string]*proc{"controller-manager": loops.cm, "scheduler": loops.sched, "node agent": loops.nodes}[kind]
			p.kill()
			time.Sleep(300 * time.Millisecond)
			p.start(t)
		case "etcd full":
			fillStart := time.Now()
			n := disk.fill(t)
			full := time.Now()
			// Hold it full until the history has run into it.
			rejectedBefore := rec.rejectedCount()
			for deadline := time.Now().Add(5 * time.Second); rec.rejectedCount()-rejectedBefore < 10 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			took := disk.recover(t)
			fills = append(fills, fmt.Sprintf("%d×%d KiB filled in %s, %d writes refused meanwhile, writes accepted %s after recovery began",
				n, fillSize>>10, full.Sub(fillStart).Round(100*time.Millisecond), rec.rejectedCount()-rejectedBefore, took.Round(100*time.Millisecond)))
		}
		faults[kind]++
	}
	close(stop)
	wg.Wait()
	faultsDone := time.Now()
	for _, f := range fills {
		t.Logf("etcd full: %s", f)
	}

	// Final reads of every key, after the faults, belong to the history too.
	final := &worker{id: *clients, hc: api.HTTPClient(t), base: api.URL, rec: rec}
	for k := 0; k < *keys; k++ {
		final.get(keyName(k))
	}
	history, acked := rec.snapshot()
	counts := map[result]int{}
	for _, op := range history {
		counts[op.Output.(output).Result]++
	}
	t.Logf("%d operations by %d clients on %d keys over %s, faults %v: %v",
		len(history), *clients, *keys, *duration, faults, counts)

	// The controllers converge to the last spec: one more rollout and scale after the
	// faults, from state the faults left, and how long it takes is the figure.
	if ok, _ := wl.converged(); ok {
		t.Logf("the workload had converged %s after the last fault", time.Since(faultsDone).Round(100*time.Millisecond))
	}
	wl.final(t)
	changed := time.Now()
	harness.Eventually(t, 3*time.Minute, "the controllers converged exactly to the last spec", wl.converged)
	t.Logf("workload: %s; the last rollout and scale converged in %s", wl, time.Since(changed).Round(100*time.Millisecond))

	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, history, 2*time.Minute)
	switch res {
	case porcupine.Illegal:
		path := filepath.Join(os.TempDir(), fmt.Sprintf("skiff-robustness-%d.html", time.Now().UnixNano()))
		porcupine.VisualizePath(model, info, path)
		t.Fatalf("the history is not linearizable; see %s", path)
	case porcupine.Unknown:
		t.Logf("linearizability check inconclusive after %s (history too large for the time limit)", time.Since(checkStart))
	default:
		t.Logf("history linearizable (checked in %s)", time.Since(checkStart).Round(time.Millisecond))
	}

	// The watch catches up with the last acknowledged write, then has every one once.
	var lastRV uint64
	for _, a := range acked {
		lastRV = max(lastRV, a.rv)
	}
	harness.Eventually(t, 30*time.Second, "the watch caught up with the last acknowledged write", func() (bool, string) {
		rv, _ := strconv.ParseUint(w.last(), 10, 64)
		return rv >= lastRV || w.isExpired(), fmt.Sprintf("watch at %d, last write %d", rv, lastRV)
	})
	cancel()
	<-watchDone
	if w.expired {
		t.Logf("the watch fell out of the history (410) and relisted: completeness not checked")
	}
	events := 0
	for key, evs := range w.events {
		seen := map[uint64]bool{}
		for i, ev := range evs {
			if seen[ev.rv] {
				t.Errorf("%s: event at revision %d delivered twice", key, ev.rv)
			}
			seen[ev.rv] = true
			if i > 0 && ev.rv <= evs[i-1].rv {
				t.Errorf("%s: event at revision %d after %d", key, ev.rv, evs[i-1].rv)
			}
		}
		events += len(evs)
	}
	missing := 0
	for _, a := range acked {
		found := false
		for _, ev := range w.events[a.key] {
			if ev.rv == a.rv {
				found = true
				if ev.value != a.value {
					t.Errorf("%s at revision %d: the watch saw %q, the write acknowledged %q", a.key, a.rv, ev.value, a.value)
				}
			}
		}
		if !found && !w.expired {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes never reached the watch", missing, len(acked))
	}
	t.Logf("watch: %d events over %d reconnects, %d acknowledged writes, each delivered once in order", events, w.reconnects, len(acked))
}

func keyName(k int) string { return fmt.Sprintf("k%d", k) }

// recorder collects the history, timestamps from one monotonic clock.
type recorder struct {
	start    time.Time
	mu       sync.Mutex
	ops      []porcupine.Operation
	acked    []ackedWrite
	rejected int // writes refused with 507
}

type ackedWrite struct {
	key, value string
	rv         uint64
}

func (r *recorder) now() int64 { return int64(time.Since(r.start)) }

// add records an operation that was called at call. An unknown outcome may take effect
// at any later time: its return is the end of time.
func (r *recorder) add(client int, call int64, in input, out output) {
	ret := r.now()
	if out.Result == resUnknown {
		ret = math.MaxInt64
	}
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out})
	r.mu.Unlock()
}

func (r *recorder) rejectedCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

// rejected tells whether a write was refused because etcd's database is full (507 with
// etcd's message, as Kubernetes reports it): it stored nothing, and is recorded so.
func (r *recorder) isRejected(code int, body cmBody) bool {
	if code != http.StatusInsufficientStorage || body.Message != noSpaceMsg {
		return false
	}
	r.mu.Lock()
	r.rejected++
	r.mu.Unlock()
	return true
}

func (r *recorder) ack(key, value, rv string) {
	n, _ := strconv.ParseUint(rv, 10, 64)
	r.mu.Lock()
	r.acked = append(r.acked, ackedWrite{key, value, n})
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]porcupine.Operation, []ackedWrite) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...), append([]ackedWrite(nil), r.acked...)
}

// worker is one client: a random mix of reads, creates, compare-and-swaps and deletes.
type worker struct {
	id   int
	hc   *http.Client
	base string
	rec  *recorder
	rnd  *rand.Rand
	seq  int
}

func (w *worker) run(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		key := keyName(w.rnd.IntN(*keys))
		switch n := w.rnd.IntN(10); {
		case n < 2:
			w.get(key)
		case n < 4:
			w.create(key)
		case n < 8:
			// Read, then write back conditionally on what was read (as a controller does).
			if value, rv, ok := w.get(key); ok {
				w.update(key, value, rv)
			}
		default:
			w.delete(key)
		}
	}
}

func (w *worker) value() string {
	w.seq++
	return fmt.Sprintf("c%d-%d", w.id, w.seq)
}

type cmBody struct {
	Metadata struct {
		Name            string `json:"name"`
		ResourceVersion string `json:"resourceVersion,omitempty"`
	} `json:"metadata"`
	Data    map[string]string `json:"data,omitempty"`
	Reason  string            `json:"reason,omitempty"`  // on a Status
	Message string            `json:"message,omitempty"` // on a Status
}

// errNotSent: the request never reached a server (connection refused while the API server
// restarts), so it cannot have taken effect and is left out of the history.
var errNotSent = errors.New("not sent")

func (w *worker) do(method, path string, body any) (int, cmBody, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, w.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.hc.Do(req)
	if err != nil {
		time.Sleep(20 * time.Millisecond) // the server is away: do not spin
		if errors.Is(err, syscall.ECONNREFUSED) {
			return 0, cmBody{}, errNotSent
		}
		return 0, cmBody{}, err
	}
	defer resp.Body.Close()
	var out cmBody
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		// The answer was cut off (the server killed while writing it): the status line
		// alone does not say what was read, so the outcome is unknown. (Recording such a
		// 200 as a read of an empty value once made a linearizable history look illegal.)
		return 0, cmBody{}, fmt.Errorf("reading the answer to %s %s (status %d): %w", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, out, nil
}

func (w *worker) get(key string) (value, rv string, exists bool) {
	call := w.rec.now()
	code, cm, err := w.do("GET", configMaps+"/"+key, nil)
	switch {
	case err == nil && code == 200:
		w.rec.add(w.id, call, input{Key: key, Kind: opGet}, output{Result: resOK, Value: cm.Data["v"]})
		return cm.Data["v"], cm.Metadata.ResourceVersion, true
	case err == nil && code == 404:
		w.rec.add(w.id, call, input{Key: key, Kind: opGet}, output{Result: resNotFound})
	}
	// A read without an answer tells nothing: it is left out of the history.
	return "", "", false
}

func (w *worker) create(key string) {
	v := w.value()
	body := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]string{"name": key}, "data": map[string]string{"v": v}}
	call := w.rec.now()
	code, cm, err := w.do("POST", configMaps, body)
	in := input{Key: key, Kind: opCreate, Value: v}
	switch {
	case errors.Is(err, errNotSent):
	case err == nil && code == 201:
		w.rec.add(w.id, call, in, output{Result: resOK})
		w.rec.ack(key, v, cm.Metadata.ResourceVersion)
	case err == nil && code == 409 && cm.Reason == "AlreadyExists":
		w.rec.add(w.id, call, in, output{Result: resExists})
	case err == nil && w.rec.isRejected(code, cm):
		w.rec.add(w.id, call, in, output{Result: resRejected})
	default:
		w.rec.add(w.id, call, in, output{Result: resUnknown})
	}
}

func (w *worker) update(key, expect, rv string) {
	v := w.value()
	body := map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]string{"name": key, "resourceVersion": rv}, "data": map[string]string{"v": v}}
	call := w.rec.now()
	code, cm, err := w.do("PUT", configMaps+"/"+key, body)
	in := input{Key: key, Kind: opUpdate, Value: v, Expect: expect}
	switch {
	case errors.Is(err, errNotSent):
	case err == nil && code == 200:
		w.rec.add(w.id, call, in, output{Result: resOK})
		w.rec.ack(key, v, cm.Metadata.ResourceVersion)
	case err == nil && code == 409 && cm.Reason == "Conflict":
		w.rec.add(w.id, call, in, output{Result: resConflict})
	case err == nil && w.rec.isRejected(code, cm):
		w.rec.add(w.id, call, in, output{Result: resRejected})
	case err == nil && code == 404:
		w.rec.add(w.id, call, in, output{Result: resNotFound})
	default:
		w.rec.add(w.id, call, in, output{Result: resUnknown})
	}
}

func (w *worker) delete(key string) {
	call := w.rec.now()
	code, cm, err := w.do("DELETE", configMaps+"/"+key, nil)
	in := input{Key: key, Kind: opDelete}
	switch {
	case errors.Is(err, errNotSent):
	case err == nil && w.rec.isRejected(code, cm):
		w.rec.add(w.id, call, in, output{Result: resRejected})
	case err == nil && code == 200:
		w.rec.add(w.id, call, in, output{Result: resOK})
	case err == nil && code == 404:
		w.rec.add(w.id, call, in, output{Result: resNotFound})
	default:
		w.rec.add(w.id, call, in, output{Result: resUnknown})
	}
}

// watcher follows the ConfigMaps and, whenever the stream breaks, resumes from the last
// resourceVersion it saw, as every informer does.
type watcher struct {
	mu         sync.Mutex
	events     map[string][]watchedEvent // by name, in arrival order
	lastRV     string
	expired    bool
	reconnects int
}

type watchedEvent struct {
	typ, value string
	rv         uint64
}

func (w *watcher) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastRV
}

func (w *watcher) isExpired() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}

func (w *watcher) run(ctx context.Context, hc *http.Client, base string) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+configMaps+"?watch=true&allowWatchBookmarks=true&resourceVersion="+w.last(), nil)
		resp, err := hc.Do(req)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				Type   string `json:"type"`
				Object cmBody `json:"object"`
			}
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			w.mu.Lock()
			switch ev.Type {
			case "ERROR":
				// 410: the history no longer reaches back to lastRV. Relist from now.
				w.expired = true
				w.lastRV = ""
			case "BOOKMARK":
				w.lastRV = ev.Object.Metadata.ResourceVersion
			default:
				rv, _ := strconv.ParseUint(ev.Object.Metadata.ResourceVersion, 10, 64)
				w.events[ev.Object.Metadata.Name] = append(w.events[ev.Object.Metadata.Name], watchedEvent{ev.Type, ev.Object.Data["v"], rv})
				w.lastRV = ev.Object.Metadata.ResourceVersion
			}
			w.mu.Unlock()
		}
		resp.Body.Close()
		w.mu.Lock()
		w.reconnects++
		w.mu.Unlock()
	}
}

func mustGetJSON(t *testing.T, hc *http.Client, url string, out any) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
