package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/test/harness"
)

// etcdQuota is the members' backend quota (--quota-backend-bytes): small enough that the
// suite fills it in a few dozen writes, large enough that the history alone does not
// between two fills (each recovery compacts all history).
const etcdQuota = 32 << 20

// The fillers are large ConfigMaps in a namespace of their own, out of the recorded keys'
// way and out of the suite's watch.
const (
	fillNamespace = "fill"
	fillPath      = "/api/v1/namespaces/" + fillNamespace + "/configmaps"
	fillSize      = 700 << 10
	noSpaceMsg    = "etcdserver: mvcc: database space exceeded"
)

// fullDisk is the "full etcd disk" fault: fill the database past its quota through the
// API server, hold it full while the history runs into it, then recover as an operator
// does (etcd's documented procedure, which Kubernetes leaves to operators): delete what
// filled it, compact all history, defragment every member, disarm the NOSPACE alarm.
type fullDisk struct {
	hc        *http.Client
	base      string
	endpoints []string
	n         int // fillers written over all fills
}

func createFillNamespace(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]string{"name": fillNamespace}})
	resp, err := hc.Post(base+"/api/v1/namespaces", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create namespace %s: %s", fillNamespace, resp.Status)
	}
}

func (f *fullDisk) write(name string, size int) (int, string, error) {
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]string{"name": name},
		"data": map[string]string{"v": strings.Repeat("x", size)}})
	resp, err := f.hc.Post(f.base+fillPath, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var st struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&st)
	return resp.StatusCode, st.Message, nil
}

// fill writes fillers until the API server refuses one with 507 and etcd's message, and
// returns how many it wrote.
func (f *fullDisk) fill(t *testing.T) int {
	t.Helper()
	written := 0
	for i := 0; ; i++ {
		if i > 3*etcdQuota/fillSize {
			t.Fatalf("%d fillers of %d bytes written and no 507", written, fillSize)
		}
		code, msg, err := f.write(fmt.Sprintf("fill-%d", f.n), fillSize)
		switch {
		case err != nil:
			t.Fatalf("filler: %v", err)
		case code == 201:
			f.n++
			written++
		case code == http.StatusInsufficientStorage:
			if msg != noSpaceMsg {
				t.Errorf("507 with message %q, Kubernetes reports %q", msg, noSpaceMsg)
			}
			return written
		default:
			t.Fatalf("filler: %d %s", code, msg)
		}
	}
}

// recover is the operator's procedure, then waits until the API server takes a write
// again, and returns how long that took from the first step.
func (f *fullDisk) recover(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	// Deletes are allowed under the NOSPACE alarm (they cost no space).
	for i := 0; i < f.n; i++ {
		req, _ := http.NewRequest("DELETE", fmt.Sprintf("%s%s/fill-%d", f.base, fillPath, i), nil)
		resp, err := f.hc.Do(req)
		if err != nil {
			t.Fatalf("delete filler: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 404 {
			t.Fatalf("delete filler %d under the NOSPACE alarm: %s", i, resp.Status)
		}
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: f.endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	head, err := cli.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("etcd revision: %v", err)
	}
	if _, err := cli.Compact(ctx, head.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	for _, ep := range f.endpoints {
		if _, err := cli.Defragment(ctx, ep); err != nil {
			t.Fatalf("defragment %s: %v", ep, err)
		}
	}
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		t.Fatalf("alarm list: %v", err)
	}
	for _, a := range alarms.Alarms {
		if _, err := cli.AlarmDisarm(ctx, (*clientv3.AlarmMember)(a)); err != nil {
			t.Fatalf("alarm disarm: %v", err)
		}
	}
	var took time.Duration
	harness.Eventually(t, time.Minute, "the API server takes writes again after the NOSPACE alarm is disarmed", func() (bool, string) {
		code, msg, err := f.write("probe", 1)
		if code == 201 || code == 409 { // 409: an earlier attempt, unanswered, was stored
			took = time.Since(start)
			req, _ := http.NewRequest("DELETE", f.base+fillPath+"/probe", nil)
			if resp, err := f.hc.Do(req); err == nil {
				resp.Body.Close()
			}
			return true, ""
		}
		return false, fmt.Sprintf("%d %s %v", code, msg, err)
	})
	f.n = 0
	return took
}
