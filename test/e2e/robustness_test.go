package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

type watchEvent struct {
	Type   string `json:"type"`
	Object struct {
		Kind     string `json:"kind"`
		Code     int    `json:"code"`
		Metadata struct {
			Name            string `json:"name"`
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	} `json:"object"`
}

// resumingWatcher watches configmaps and, whenever the stream breaks, reconnects from the last
// resourceVersion it saw — what every informer does. It records every event.
type resumingWatcher struct {
	mu      sync.Mutex
	seen    map[string]int // "name@rv" → times seen
	added   map[string]bool
	lastRV  string
	expired bool
}

func (w *resumingWatcher) run(ctx context.Context, hc *http.Client, base string) {
	for ctx.Err() == nil {
		w.mu.Lock()
		url := base + "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=" + w.lastRV
		w.mu.Unlock()
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := hc.Do(req)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev watchEvent
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			w.mu.Lock()
			if ev.Type == "ERROR" {
				w.expired = true
			} else if ev.Type != "BOOKMARK" {
				key := ev.Object.Metadata.Name + "@" + ev.Object.Metadata.ResourceVersion
				w.seen[key]++
				if ev.Type == "ADDED" {
					w.added[ev.Object.Metadata.Name] = true
				}
			}
			if ev.Object.Metadata.ResourceVersion != "" {
				w.lastRV = ev.Object.Metadata.ResourceVersion
			}
			w.mu.Unlock()
		}
		resp.Body.Close()
	}
}

// TestAPIServerSIGKILLLosesNothing: under a steady stream of creates the API server is killed
// with SIGKILL and restarted; every acknowledged create survives, and a watcher resuming from
// its last resourceVersion sees every acknowledged create exactly once.
func TestAPIServerSIGKILLLosesNothing(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "etcd")
	a := harness.StartAPIServer(t, "--data-dir", dataDir)
	list := a.URL + "/api/v1/namespaces/default/configmaps"
	hc := a.HTTPClient(t)

	// Start the watcher from the current revision.
	resp, err := hc.Get(list)
	if err != nil {
		t.Fatal(err)
	}
	var l struct {
		Metadata struct{ ResourceVersion string } `json:"metadata"`
	}
	json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	w := &resumingWatcher{seen: map[string]int{}, added: map[string]bool{}, lastRV: l.Metadata.ResourceVersion}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.run(ctx, hc, a.URL)

	var mu sync.Mutex
	acked := map[string]string{} // name → resourceVersion of the acknowledged create
	var failed int
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c := a.HTTPClient(t)
		c.Timeout = 5 * time.Second
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("cm-%05d", i)
			body := fmt.Sprintf(`{"metadata":{"name":%q},"data":{"i":"%d"}}`, name, i)
			resp, err := c.Post(list, "application/json", bytes.NewBufferString(body))
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				continue
			}
			var obj watchEvent
			json.NewDecoder(resp.Body).Decode(&obj.Object)
			resp.Body.Close()
			if resp.StatusCode == 201 {
				mu.Lock()
				acked[name] = obj.Object.Metadata.ResourceVersion
				mu.Unlock()
			}
		}
	}()
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	harness.Eventually(t, 30*time.Second, "100 acknowledged creates", func() (bool, string) {
		return ackedCount() >= 100, fmt.Sprint(ackedCount())
	})
	a.Kill()
	before := ackedCount()
	a.Start(t)
	harness.Eventually(t, 30*time.Second, "100 more acknowledged creates after the restart", func() (bool, string) {
		return ackedCount() >= before+100, fmt.Sprint(ackedCount())
	})
	close(stop)
	<-writerDone

	// Every acknowledged create is stored.
	resp, err = hc.Get(list)
	if err != nil {
		t.Fatal(err)
	}
	var items struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
		} `json:"items"`
	}
	json.NewDecoder(resp.Body).Decode(&items)
	resp.Body.Close()
	stored := map[string]bool{}
	for _, it := range items.Items {
		stored[it.Metadata.Name] = true
	}
	mu.Lock()
	defer mu.Unlock()
	var lost []string
	for name := range acked {
		if !stored[name] {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged creates lost after SIGKILL: %v", len(lost), lost)
	}
	// The watcher sees each acknowledged create exactly once.
	harness.Eventually(t, 30*time.Second, "the watcher to see every acknowledged create", func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		var missing []string
		for name, rv := range acked {
			if w.seen[name+"@"+rv] == 0 {
				missing = append(missing, name+"@"+rv)
			}
		}
		slices.Sort(missing)
		// What it says when it fails is what the next person needs to find out why.
		return len(missing) == 0, fmt.Sprintf("%d of %d not seen yet %v (the watcher is at %s, an ERROR seen: %v; killed after %d acknowledged)",
			len(missing), len(acked), missing[:min(len(missing), 5)], w.lastRV, w.expired, before)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expired {
		t.Errorf("the resuming watcher was told its resourceVersion expired; it should have resumed")
	}
	var dup []string
	for key, n := range w.seen {
		if n > 1 {
			dup = append(dup, fmt.Sprintf("%s×%d", key, n))
		}
	}
	if len(dup) > 0 {
		t.Fatalf("events delivered more than once: %s", strings.Join(dup, ", "))
	}
	t.Logf("acknowledged %d creates (%d failed while the server was down); %d stored", len(acked), failed, len(stored))
}

// TestExternalEtcd: the API server works against a real etcd server, and its data survives an
// API server restart.
func TestExternalEtcd(t *testing.T) {
	e := harness.StartEtcd(t)
	a := harness.StartAPIServer(t, "--etcd-servers", e.ClientURL)
	k := &harness.Kubectl{Kubeconfig: a.Kubeconfig}
	k.Run(t, "create", "configmap", "ext", "--from-literal=a=b")
	k.Run(t, "create", "namespace", "ext-ns")
	a.Kill()
	a.Start(t)
	if got := k.Run(t, "get", "configmap", "ext", "-o", "jsonpath={.data.a}"); got != "b" {
		t.Fatalf("configmap after restart: %q", got)
	}
	out := k.Run(t, "get", "namespaces", "-o", "name")
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease", "ext-ns"} {
		if !strings.Contains(out, "namespace/"+ns) {
			t.Errorf("namespaces lack %s: %s", ns, out)
		}
	}
}
