package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/test/harness"
)

// loopProc is a leader-elected control-loop process (controller manager or scheduler) whose
// metrics tell whether it leads.
type loopProc struct {
	bin     string
	args    []string
	metrics string
	cmd     *exec.Cmd
	done    chan struct{}
	log     string
}

func startLoop(t *testing.T, kubeconfig, dir, bin string, args ...string) *loopProc {
	t.Helper()
	port := harness.FreePort(t)
	p := &loopProc{bin: bin, metrics: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}),
		log: filepath.Join(dir, fmt.Sprintf("%s-%d.log", bin, port))}
	p.args = append([]string{"--kubeconfig", kubeconfig, "--metrics-addr", "127.0.0.1:" + strconv.Itoa(port),
		"--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "500ms"}, args...)
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(filepath.Join(harness.Binaries(t), bin), p.args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

func (p *loopProc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

var leadingRE = regexp.MustCompile(`(?m)^leader_election_master_status(\{[^}]*\})? 1$`)

func (p *loopProc) leading() bool {
	select {
	case <-p.done:
		return false
	default:
	}
	resp, err := http.Get(p.metrics + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return leadingRE.Match(b)
}

// loopPair is two replicas of one control loop competing for their Lease.
type loopPair struct {
	procs [2]*loopProc
}

// killLeader SIGKILLs the replica that leads (waiting for one to lead) and starts a new one
// in its place, which becomes the follower.
func (lp *loopPair) killLeader(t *testing.T, kubeconfig, dir string) {
	t.Helper()
	var leader int
	harness.Eventually(t, 60*time.Second, lp.procs[0].bin+" leader", func() (bool, string) {
		for i, p := range lp.procs {
			if p.leading() {
				leader = i
				return true, ""
			}
		}
		return false, "neither replica reports leading"
	})
	lp.procs[leader].kill()
	lp.procs[leader] = startLoop(t, kubeconfig, dir, lp.procs[leader].bin)
}

// TestControlLoopsConvergeThroughRepeatedKills: two controller managers and two schedulers
// (leader-elected) run Deployments, a ReplicaSet and Jobs on simulated nodes. Round after
// round the spec changes (a scale, a rollout, a new Job) and, at a random moment after it,
// the leading controller manager or scheduler is SIGKILLed and replaced: the follower takes
// the Lease over. After every kill the cluster must converge to exactly the desired state —
// each Deployment's replicas all on its newest ReplicaSet, no ReplicaSet twice for one
// template, none without its owner, each Job's succeeded count exactly its completions,
// every pod bound — and no pod is ever bound to a second node. Convergence times are logged
// (docs/PERFORMANCE.md), not asserted.
func TestControlLoopsConvergeThroughRepeatedKills(t *testing.T) {
	dir := t.TempDir()
	api := harness.StartAPIServer(t, "--data-dir", filepath.Join(dir, "etcd"))
	kc := api.Kubeconfig
	cms := &loopPair{[2]*loopProc{startLoop(t, kc, dir, "skiff-controller-manager"), startLoop(t, kc, dir, "skiff-controller-manager")}}
	scheds := &loopPair{[2]*loopProc{startLoop(t, kc, dir, "skiff-scheduler"), startLoop(t, kc, dir, "skiff-scheduler")}}
	startProcess(t, kc, dir, "skiff-nodeagent", "--runtime", "sim", "--sim-nodes", "4", "--node-name", "fault",
		"--listen", "-", "--data-dir", filepath.Join(dir, "nodes"), "--sim-exit-delay", "300ms")
	c, err := client.New(api.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	deps := client.For[apps.Deployment](c, client.Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true})
	sets := client.For[apps.ReplicaSet](c, client.Resource{Group: "apps", Version: "v1", Resource: "replicasets", Namespaced: true})
	jobs := client.For[batch.Job](c, client.Resource{Group: "batch", Version: "v1", Resource: "jobs", Namespaced: true})
	pods := client.For[core.Pod](c, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})

	template := func(app, image string, command ...string) core.PodTemplateSpec {
		return core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": app}},
			Spec: core.PodSpec{TerminationGracePeriodSeconds: ptr(int64(0)),
				Containers: []core.Container{{Name: "app", Image: image, Command: command}}}}
	}
	depNames := []string{"web", "api", "worker"}
	for _, name := range depNames {
		_, err := deps.Create(ctx, &apps.Deployment{TypeMeta: meta.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
			Spec: apps.DeploymentSpec{Replicas: ptr(int32(4)),
				Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{
					MaxSurge: ptr(intstr.FromInt(2)), MaxUnavailable: ptr(intstr.FromInt(1))}},
				Template: template(name, "busybox:0", "sleep", "infinity")}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sets.Create(ctx, &apps.ReplicaSet{TypeMeta: meta.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "plain"},
		Spec: apps.ReplicaSetSpec{Replicas: ptr(int32(5)), Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "plain"}},
			Template: template("plain", "busybox", "sleep", "infinity")}}); err != nil {
		t.Fatal(err)
	}

	// Bound twice: a pod's nodeName never changes once set.
	var mu sync.Mutex
	var violations []string
	podInf := informer.NewInformer(pods, "default", client.ListOptions{}, 0)
	podInf.AddEventHandler(informer.Handler[*core.Pod]{UpdateFunc: func(old, cur *core.Pod) {
		if old.Spec.NodeName != "" && cur.Spec.NodeName != old.Spec.NodeName {
			mu.Lock()
			violations = append(violations, fmt.Sprintf("pod %s moved from %s to %s", cur.Name, old.Spec.NodeName, cur.Spec.NodeName))
			mu.Unlock()
		}
	}})
	go podInf.Run(ctx)
	informer.WaitForCacheSync(ctx, podInf.HasSynced)

	// converged reports whether the cluster matches the desired state, and what it saw.
	converged := func(jobNames []string) (bool, string) {
		var seen []string
		pl, err := pods.List(ctx, "default", client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		live := map[string][]core.Pod{} // app → pods not finished nor terminating
		for _, p := range pl.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed {
				continue
			}
			if p.Spec.NodeName == "" || p.Status.Phase != core.PodRunning {
				seen = append(seen, fmt.Sprintf("pod %s on %q %s", p.Name, p.Spec.NodeName, p.Status.Phase))
			}
			live[p.Labels["app"]] = append(live[p.Labels["app"]], p)
		}
		rl, err := sets.List(ctx, "default", client.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, name := range depNames {
			d, err := deps.Get(ctx, "default", name)
			if err != nil {
				return false, err.Error()
			}
			want, s := *d.Spec.Replicas, d.Status
			if s.ObservedGeneration < d.Generation || s.Replicas != want || s.UpdatedReplicas != want || s.AvailableReplicas != want || s.ReadyReplicas != want {
				seen = append(seen, fmt.Sprintf("%s: gen %d/%d replicas %d updated %d ready %d available %d, want %d", name,
					s.ObservedGeneration, d.Generation, s.Replicas, s.UpdatedReplicas, s.ReadyReplicas, s.AvailableReplicas, want))
			}
			image := d.Spec.Template.Spec.Containers[0].Image
			images := map[string]string{}
			for _, rs := range rl.Items {
				ref := meta.GetControllerOf(&rs.ObjectMeta)
				if ref == nil || ref.Name != name {
					continue
				}
				if ref.UID != d.UID {
					seen = append(seen, fmt.Sprintf("replicaset %s owned by a %s that is gone", rs.Name, name))
				}
				img := rs.Spec.Template.Spec.Containers[0].Image
				if other, dup := images[img]; dup {
					seen = append(seen, fmt.Sprintf("replicasets %s and %s both run %s", other, rs.Name, img))
				}
				images[img] = rs.Name
				if (img == image) != (*rs.Spec.Replicas > 0) || (img == image && *rs.Spec.Replicas != want) {
					seen = append(seen, fmt.Sprintf("replicaset %s (%s) has %d replicas", rs.Name, img, *rs.Spec.Replicas))
				}
			}
			if len(images) == 0 || images[image] == "" {
				seen = append(seen, fmt.Sprintf("%s has no replicaset for %s", name, image))
			}
			if n := len(live[name]); n != int(want) {
				seen = append(seen, fmt.Sprintf("%s: %d pods, want %d", name, n, want))
			}
			for _, p := range live[name] {
				if p.Spec.Containers[0].Image != image {
					seen = append(seen, fmt.Sprintf("%s: pod %s still runs %s", name, p.Name, p.Spec.Containers[0].Image))
				}
			}
		}
		plain, err := sets.Get(ctx, "default", "plain")
		if err != nil {
			return false, err.Error()
		}
		if n := len(live["plain"]); n != int(*plain.Spec.Replicas) || plain.Status.ReadyReplicas != *plain.Spec.Replicas {
			seen = append(seen, fmt.Sprintf("plain: %d pods, %d ready, want %d", n, plain.Status.ReadyReplicas, *plain.Spec.Replicas))
		}
		for _, name := range jobNames {
			j, err := jobs.Get(ctx, "default", name)
			if err != nil {
				return false, err.Error()
			}
			complete := slices.ContainsFunc(j.Status.Conditions, func(c batch.JobCondition) bool {
				return c.Type == batch.JobComplete && c.Status == core.ConditionTrue
			})
			if !complete || j.Status.Succeeded != *j.Spec.Completions || j.Status.Active != 0 {
				seen = append(seen, fmt.Sprintf("job %s: complete %v succeeded %d active %d, want %d", name, complete, j.Status.Succeeded, j.Status.Active, *j.Spec.Completions))
			}
		}
		return len(seen) == 0, strings.Join(seen, "; ")
	}
	harness.Eventually(t, 120*time.Second, "the first state", func() (bool, string) { return converged(nil) })

	rounds := 6
	if testing.Short() {
		rounds = 4
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	var jobNames []string
	times := map[string][]time.Duration{}
	for r := 0; r < rounds; r++ {
		// The change: every Deployment scaled or rolled, the ReplicaSet scaled, a new Job.
		for i, name := range depNames {
			var patch string
			if (r+i)%2 == 0 {
				patch = fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:%d"}]}}}}`, r+1)
			} else {
				patch = fmt.Sprintf(`{"spec":{"replicas":%d}}`, 2+rng.Intn(6))
			}
			if _, err := deps.Patch(ctx, "default", name, client.StrategicMergePatchType, []byte(patch)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sets.Patch(ctx, "default", "plain", client.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, 2+rng.Intn(6)))); err != nil {
			t.Fatal(err)
		}
		job := fmt.Sprintf("job-%d", r)
		if _, err := jobs.Create(ctx, &batch.Job{TypeMeta: meta.TypeMeta{Kind: "Job", APIVersion: "batch/v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: job},
			Spec: batch.JobSpec{Completions: ptr(int32(6)), Parallelism: ptr(int32(3)),
				Template: func() core.PodTemplateSpec {
					tp := template(job, "busybox", "sh", "-c", "exit 0")
					tp.Spec.RestartPolicy = core.RestartPolicyNever
					return tp
				}()}}); err != nil {
			t.Fatal(err)
		}
		jobNames = append(jobNames, job)
		// The fault, at a random moment of the change.
		time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
		which, pair := "controller-manager", cms
		if r%2 == 1 {
			which, pair = "scheduler", scheds
		}
		pair.killLeader(t, kc, dir)
		killed := time.Now()
		harness.Eventually(t, 180*time.Second, fmt.Sprintf("convergence after round %d's %s kill", r, which), func() (bool, string) { return converged(jobNames) })
		took := time.Since(killed)
		times[which] = append(times[which], took)
		t.Logf("round %d: %s leader SIGKILLed, converged %s later", r, which, took.Round(10*time.Millisecond))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("%d pods bound twice, first: %s", len(violations), violations[0])
	}
	// No pod of a Job ran beyond its completions: Succeeded pods per Job ≤ completions.
	pl, err := pods.List(ctx, "default", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	succeeded := map[string]int{}
	for _, p := range pl.Items {
		if p.Status.Phase == core.PodSucceeded {
			succeeded[p.Labels["app"]]++
		}
	}
	for _, j := range jobNames {
		if succeeded[j] > 6 {
			t.Errorf("job %s: %d pods succeeded, want at most its 6 completions", j, succeeded[j])
		}
	}
	for which, ds := range times {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("%s kills: converged after %v (median %s)", which, ds, ds[len(ds)/2].Round(10*time.Millisecond))
	}
	t.Logf("load average at the end: %s", loadAvg())
}

// loadAvg is the machine's 1-minute load average (for measurements' context).
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
