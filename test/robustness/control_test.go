package robustness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/test/harness"
)

// proc is a skiff component (controller manager, scheduler, node agent) the suite SIGKILLs
// and starts again, logging into one file across its lives.
type proc struct {
	name string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, args: args, log: filepath.Join(dir, name+".log")}
	p.start(t)
	t.Cleanup(p.kill)
	return p
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(harness.Binaries(t), p.name), p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *proc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// controlLoops are the processes that act on the API server's objects: a controller
// manager, a scheduler and a node agent simulating simNodes nodes. Leader election is off
// (one replica each): a restarted process must pick up where the killed one left, not wait
// for its Lease to expire.
type controlLoops struct {
	cm, sched, nodes *proc
}

const simNodes = 2

func startControlLoops(t *testing.T, kubeconfig string) *controlLoops {
	t.Helper()
	dir := t.TempDir()
	return &controlLoops{
		cm:    startProc(t, dir, "skiff-controller-manager", "--kubeconfig", kubeconfig, "--metrics-addr", "-", "--leader-elect=false"),
		sched: startProc(t, dir, "skiff-scheduler", "--kubeconfig", kubeconfig, "--metrics-addr", "", "--leader-elect=false"),
		nodes: startProc(t, dir, "skiff-nodeagent", "--kubeconfig", kubeconfig, "--runtime", "sim", "--sim-nodes", fmt.Sprint(simNodes),
			"--node-name", "rob", "--listen", "-", "--data-dir", filepath.Join(dir, "nodes"), "--heartbeat-interval", "2s"),
	}
}

// workload keeps changing what the controllers must converge to while faults happen: the
// Deployment "rob" is scaled (1–6) and, every third change, rolled out to a new template;
// the ReplicaSet "solo" is scaled (0–4). Changes go through the same faulty API server, so
// some are refused or lost; the final spec, read back at the end, is what must hold.
type workload struct {
	hc   *http.Client
	base string
	rnd  *rand.Rand

	mu                        sync.Mutex
	scales, rollouts, refused int
}

const (
	deployments = "/apis/apps/v1/namespaces/default/deployments"
	replicaSets = "/apis/apps/v1/namespaces/default/replicasets"
	pods        = "/api/v1/namespaces/default/pods"
)

func podTemplate(app string) map[string]any {
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]string{"app": app}},
		"spec": map[string]any{
			"terminationGracePeriodSeconds": 1,
			"containers":                    []any{map[string]any{"name": "app", "image": "busybox", "command": []string{"sleep", "3600"}}},
		},
	}
}

func (wl *workload) send(method, path, contentType string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, wl.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", contentType)
	resp, err := wl.hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (wl *workload) create(t *testing.T) {
	t.Helper()
	for path, obj := range map[string]any{
		deployments: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]string{"name": "rob"},
			"spec": map[string]any{"replicas": 3, "selector": map[string]any{"matchLabels": map[string]string{"app": "rob"}}, "template": podTemplate("rob")}},
		replicaSets: map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": map[string]string{"name": "solo"},
			"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]string{"app": "solo"}}, "template": podTemplate("solo")}},
	} {
		if code, err := wl.send("POST", path, "application/json", obj); err != nil || code != 201 {
			t.Fatalf("create %s: %d %v", path, code, err)
		}
	}
}

func (wl *workload) run(stop chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(700 * time.Millisecond):
		}
		spec := map[string]any{"replicas": 1 + wl.rnd.IntN(6)}
		if i%3 == 2 {
			spec["template"] = map[string]any{"metadata": map[string]any{"annotations": map[string]string{"round": fmt.Sprint(i)}}}
		}
		code, err := wl.send("PATCH", deployments+"/rob", "application/merge-patch+json", map[string]any{"spec": spec})
		wl.count(code, err, i%3 == 2)
		if i%2 == 1 {
			code, err = wl.send("PATCH", replicaSets+"/solo", "application/merge-patch+json",
				map[string]any{"spec": map[string]any{"replicas": wl.rnd.IntN(5)}})
			wl.count(code, err, false)
		}
	}
}

// final rolls the Deployment out once more and scales both, after the faults.
func (wl *workload) final(t *testing.T) {
	t.Helper()
	for path, patch := range map[string]any{
		deployments + "/rob": map[string]any{"spec": map[string]any{"replicas": 4,
			"template": map[string]any{"metadata": map[string]any{"annotations": map[string]string{"round": "final"}}}}},
		replicaSets + "/solo": map[string]any{"spec": map[string]any{"replicas": 3}},
	} {
		if code, err := wl.send("PATCH", path, "application/merge-patch+json", patch); err != nil || code != 200 {
			t.Fatalf("PATCH %s: %d %v", path, code, err)
		}
	}
}

func (wl *workload) count(code int, err error, rollout bool) {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	switch {
	case err == nil && code == 200 && rollout:
		wl.rollouts++
	case err == nil && code == 200:
		wl.scales++
	default:
		wl.refused++
	}
}

func (wl *workload) String() string {
	wl.mu.Lock()
	defer wl.mu.Unlock()
	return fmt.Sprintf("%d scales and %d rollouts acknowledged, %d refused or unanswered", wl.scales, wl.rollouts, wl.refused)
}

func getJSON(hc *http.Client, url string, out any) error {
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// converged reports whether the controllers have brought the cluster exactly to its spec,
// and if not, what differs: the Deployment's replicas all updated, ready and available on
// one ReplicaSet, its older ReplicaSets at 0, no two of them for one template; the solo
// ReplicaSet's pods exactly its replicas; no pod without a live owner (orphan), none beyond
// its ReplicaSet's count (duplicate), none stuck terminating; every pod bound and Running;
// every node Ready.
func (wl *workload) converged() (bool, string) {
	var d apps.Deployment
	var rss apps.ReplicaSetList
	var ps core.PodList
	var nodes core.NodeList
	for url, out := range map[string]any{deployments + "/rob": &d, replicaSets: &rss, pods: &ps, "/api/v1/nodes": &nodes} {
		if err := getJSON(wl.hc, wl.base+url, out); err != nil {
			return false, err.Error()
		}
	}
	var diffs []string
	want := *d.Spec.Replicas
	st := d.Status
	if st.ObservedGeneration != d.Generation || st.Replicas != want || st.UpdatedReplicas != want || st.ReadyReplicas != want || st.AvailableReplicas != want {
		diffs = append(diffs, fmt.Sprintf("deployment rob: generation %d observed %d, replicas %d: status %d/%d updated/%d ready/%d available",
			d.Generation, st.ObservedGeneration, want, st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas))
	}
	rsByUID := map[string]*apps.ReplicaSet{}
	hashes := map[string]string{}
	active := 0
	for i := range rss.Items {
		rs := &rss.Items[i]
		rsByUID[rs.UID] = rs
		n := *rs.Spec.Replicas
		if rs.Status.Replicas != n || rs.Status.ReadyReplicas != n || rs.Status.ObservedGeneration != rs.Generation {
			diffs = append(diffs, fmt.Sprintf("replicaset %s: replicas %d, status %d (%d ready), generation %d observed %d",
				rs.Name, n, rs.Status.Replicas, rs.Status.ReadyReplicas, rs.Generation, rs.Status.ObservedGeneration))
		}
		owner := meta.GetControllerOf(&rs.ObjectMeta)
		if rs.Name == "solo" {
			continue
		}
		if owner == nil || owner.UID != d.UID {
			diffs = append(diffs, fmt.Sprintf("replicaset %s: orphan (controller %v)", rs.Name, owner))
			continue
		}
		h := rs.Labels["pod-template-hash"]
		if other, dup := hashes[h]; dup {
			diffs = append(diffs, fmt.Sprintf("replicasets %s and %s: one template", other, rs.Name))
		}
		hashes[h] = rs.Name
		if n > 0 {
			active++
			if n != want {
				diffs = append(diffs, fmt.Sprintf("replicaset %s: %d replicas, the deployment %d", rs.Name, n, want))
			}
		}
	}
	if active != 1 && want > 0 {
		diffs = append(diffs, fmt.Sprintf("%d replicasets of rob with replicas", active))
	}
	perRS := map[string]int32{}
	for _, p := range ps.Items {
		owner := meta.GetControllerOf(&p.ObjectMeta)
		switch {
		case p.DeletionTimestamp != nil:
			diffs = append(diffs, fmt.Sprintf("pod %s still terminating", p.Name))
			continue
		case owner == nil || rsByUID[owner.UID] == nil:
			diffs = append(diffs, fmt.Sprintf("pod %s: orphan (controller %v)", p.Name, owner))
			continue
		case p.Spec.NodeName == "" || p.Status.Phase != core.PodRunning:
			diffs = append(diffs, fmt.Sprintf("pod %s: node %q, %s", p.Name, p.Spec.NodeName, p.Status.Phase))
		}
		perRS[owner.UID]++
	}
	for uid, rs := range rsByUID {
		if perRS[uid] != *rs.Spec.Replicas {
			diffs = append(diffs, fmt.Sprintf("replicaset %s: %d pods for %d replicas", rs.Name, perRS[uid], *rs.Spec.Replicas))
		}
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == core.NodeReady && c.Status == core.ConditionTrue {
				ready++
			}
		}
	}
	if ready != simNodes {
		diffs = append(diffs, fmt.Sprintf("%d of %d nodes Ready", ready, simNodes))
	}
	sort.Strings(diffs)
	return len(diffs) == 0, strings.Join(diffs, "; ")
}
