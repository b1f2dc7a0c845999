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

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
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

// ctrdContainer is what the node-agent fault tests read of a containerd container.
type ctrdContainer struct {
	id, pod, uid, kind, name string
	running                  bool
	state                    string // what containerd and the labels say, for reports
}

// nodeContainers lists the containers of a containerd node agent's namespace, with whether
// each one's task runs.
func nodeContainers(ctx context.Context, a *agentProc) ([]ctrdContainer, error) {
	cl, err := ctrd.New(filepath.Join(a.dataDir, "containerd", "containerd.sock"))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx = namespaces.WithNamespace(ctx, "skiff-"+a.name)
	cs, err := cl.Containers(ctx)
	if err != nil {
		return nil, err
	}
	var out []ctrdContainer
	for _, c := range cs {
		labels, err := c.Labels(ctx)
		if err != nil {
			continue // removed meanwhile
		}
		cc := ctrdContainer{id: c.ID(), pod: labels[runtime.LabelPodName], uid: labels[runtime.LabelPodUID], kind: labels[runtime.LabelKind], name: labels[runtime.LabelContainerName]}
		cc.state = fmt.Sprintf("%s:%s#%s exit=%q %s task=", cc.kind, cc.name, labels[runtime.LabelAttempt], labels["io.skiff.exit-code"], labels["io.skiff.message"])
		if task, err := c.Task(ctx, nil); err == nil {
			if st, err := task.Status(ctx); err == nil {
				cc.running = st.Status == ctrd.Running
				cc.state += string(st.Status)
			}
		} else {
			cc.state += "none"
		}
		out = append(out, cc)
	}
	return out, nil
}

// TestNodeAgentSIGKILLContainerd: a containerd node agent is SIGKILLed while it starts pods —
// at the moment a pod has its sandbox and no app container yet — and started again, three
// times. After each restart every pod runs with exactly one sandbox and one app container in
// containerd (nothing started twice), the pods that ran before keep their containers
// (same IDs, no restart), and the statuses the restarted agent reports are right.
func TestNodeAgentSIGKILLContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-crash"
	a := startAgent(t, api, node, "10.244.36.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	podYAML := func(name string, initSleep bool) string {
		init := ""
		if initSleep {
			// An init container holds the pod between its sandbox and its app container a moment.
			init = `  initContainers:
  - {name: init, image: ` + busyboxImage + `, command: ["sleep", "1"]}
`
		}
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  nodeName: ` + node + `
  terminationGracePeriodSeconds: 1
` + init + `  containers:
  - {name: app, image: ` + busyboxImage + `, command: ["sleep", "3600"]}
---
`
	}
	running := func(p *podJSON) bool {
		return p != nil && p.Status.Phase == "Running" && condStatus(p, "Ready") == "True" &&
			len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	}
	var all []string
	var manifest strings.Builder
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("steady-%d", i)
		all = append(all, name)
		manifest.WriteString(podYAML(name, false))
	}
	firstStart := time.Now()
	k.RunStdin(t, manifest.String(), "apply", "-f", "-")
	ids := map[string]string{} // pod → its app container's ID, once it ran
	for _, name := range all {
		p := waitPod(t, k, name, "Running", running)
		ids[name] = p.Status.ContainerStatuses[0].ContainerID
	}
	// The reference for the measurement: three pods started on this node without a fault.
	reference := time.Since(firstStart)

	// check compares containerd with the pods' statuses: one sandbox and one running app
	// container per pod, the IDs the statuses report, unchanged for pods that ran before.
	check := func() (bool, string) {
		cs, err := nodeContainers(ctx, a)
		if err != nil {
			return false, err.Error()
		}
		byPod := map[string][]ctrdContainer{}
		for _, c := range cs {
			byPod[c.pod] = append(byPod[c.pod], c)
		}
		var seen []string
		for _, name := range all {
			var sandboxes, apps, inits int
			var appID string
			for _, c := range byPod[name] {
				switch {
				case c.kind == "sandbox":
					sandboxes++
				case c.name == "app":
					apps++
					appID = c.id
					if !c.running {
						seen = append(seen, name+": app container not running")
					}
				case c.name == "init":
					inits++
				}
			}
			if sandboxes != 1 || apps != 1 || inits > 1 {
				var states []string
				for _, c := range byPod[name] {
					states = append(states, c.state)
				}
				seen = append(seen, fmt.Sprintf("%s: %d sandboxes, %d app and %d init containers in containerd %v", name, sandboxes, apps, inits, states))
			}
			p, s := getPod(k, name)
			if !running(p) {
				seen = append(seen, name+": "+s)
				continue
			}
			st := p.Status.ContainerStatuses[0]
			if st.ContainerID != "containerd://"+appID || st.RestartCount != 0 {
				seen = append(seen, fmt.Sprintf("%s: status reports %s (restarts %d), containerd has %s", name, st.ContainerID, st.RestartCount, appID))
			}
			if prev := ids[name]; prev != "" && prev != st.ContainerID {
				seen = append(seen, fmt.Sprintf("%s: container %s replaced by %s", name, prev, st.ContainerID))
			}
		}
		return len(seen) == 0, strings.Join(seen, "; ")
	}

	var took []time.Duration
	for r := 0; r < 3; r++ {
		var round []string
		manifest.Reset()
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("r%d-%d", r, i)
			round = append(round, name)
			manifest.WriteString(podYAML(name, i%2 == 0))
		}
		all = append(all, round...)
		k.RunStdin(t, manifest.String(), "apply", "-f", "-")
		// Kill at the first moment a pod of the round has its sandbox and no app container.
		var caught string
		harness.Eventually(t, 90*time.Second, "a pod between its sandbox and its app container", func() (bool, string) {
			cs, err := nodeContainers(ctx, a)
			if err != nil {
				return false, err.Error()
			}
			state := map[string]string{}
			for _, c := range cs {
				if slices.Contains(round, c.pod) {
					state[c.pod] += c.kind + ":" + c.name + " "
				}
			}
			for pod, s := range state {
				if strings.Contains(s, "sandbox") && !strings.Contains(s, ":app") {
					caught = pod + " (" + strings.TrimSpace(s) + ")"
					return true, ""
				}
			}
			return false, fmt.Sprint(state)
		})
		a.kill()
		killed := time.Now()
		t.Logf("round %d: agent SIGKILLed with %s", r, caught)
		a.start(t)
		harness.Eventually(t, 120*time.Second, fmt.Sprintf("round %d: every pod running once after the restart", r), check)
		took = append(took, time.Since(killed))
		for _, name := range round {
			p, _ := getPod(k, name)
			ids[name] = p.Status.ContainerStatuses[0].ContainerID
		}
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	t.Logf("node agent kills: every pod running once again after %v (median %s; ÷ 3 pods started without a fault, %s: %.1f); load %s",
		took, median.Round(10*time.Millisecond), reference.Round(10*time.Millisecond), float64(median)/float64(reference), loadAvg())
}

// TestPartitionedNodeContainerd: a containerd node's agent is cut off from the API server —
// frozen with SIGSTOP, so it sends nothing and hears nothing while its containers run on —
// until its pods' tolerations of node.kubernetes.io/unreachable run out (partitionRound
// says what is then checked). TestNetworkPartitionedNodeContainerd cuts a real link instead.
func TestPartitionedNodeContainerd(t *testing.T) {
	needContainerd(t)
	dir := t.TempDir()
	api := harness.StartAPIServer(t, "--data-dir", filepath.Join(dir, "etcd"))
	const node = "e2e-part"
	startPartitionControlPlane(t, api, dir)
	a := startAgent(t, api, node, "10.244.38.0/24", "--node-labels", "e2e=part")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	partitionRound(t, k, a, node, "dep", "web", 0,
		func() {
			if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
		},
		func() { _ = a.cmd.Process.Signal(syscall.SIGCONT) })
}

// TestNetworkPartitionedNodeContainerd: a containerd node whose agent, containerd and pods
// run in a network namespace of their own, reaching the API server over a veth pair, as a
// machine of its own would. It is cut off twice, each time until its pods' tolerations run
// out: first by setting its link down (the host end of the veth pair), then by nftables
// rules in its namespace dropping everything to and from the control plane's address. The
// agent runs on throughout, its requests timing out, as on a real partition (unlike the
// frozen agent of TestPartitionedNodeContainerd, it keeps its timers and connections).
// Each round is checked as partitionRound says.
func TestNetworkPartitionedNodeContainerd(t *testing.T) {
	needContainerd(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nft (nftables) not installed")
	}
	// The node's pods, CNI bridge and shims are on this kernel like any containerd node's.
	harness.LockContainerdClusters(t)
	x := os.Getpid() % 250
	ns, hostIf, nsIf := fmt.Sprintf("skiffpart%d", x), fmt.Sprintf("sp%dh", x), fmt.Sprintf("sp%dn", x)
	hostIP, nodeIP := fmt.Sprintf("10.250.%d.1", x), fmt.Sprintf("10.250.%d.2", x)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run() // left over from an interrupted run
	exec.Command("ip", "link", "del", hostIf).Run()
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() }) // after the agent's cleanup
	run("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	run("ip", "link", "set", nsIf, "netns", ns)
	run("ip", "addr", "add", hostIP+"/30", "dev", hostIf)
	run("ip", "link", "set", hostIf, "up")
	run("ip", "netns", "exec", ns, "ip", "addr", "add", nodeIP+"/30", "dev", nsIf)
	run("ip", "netns", "exec", ns, "ip", "link", "set", nsIf, "up")
	run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

	dir := t.TempDir()
	// Bound to every address so that the node reaches it at hostIP while the test and the
	// control plane use loopback, which the partition does not touch.
	api := harness.StartAPIServerListening(t, "0.0.0.0", "--data-dir", filepath.Join(dir, "etcd"), "--advertise-address", hostIP)
	startPartitionControlPlane(t, api, dir)
	const node = "e2e-netpart"
	port := strings.TrimPrefix(api.URL[strings.LastIndex(api.URL, ":"):], ":")
	a := startAgentAt(t, api, agentPlace{dir: agentDir(t), netns: ns, apiURL: "https://" + hostIP + ":" + port},
		node, "10.244.39.0/24", "--node-labels", "e2e=part", "--node-ip", nodeIP)
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}

	// Round 1: the link goes down.
	linkDown := false
	setLink := func(state string) {
		run("ip", "link", "set", hostIf, state)
		linkDown = state == "down"
	}
	t.Cleanup(func() {
		if linkDown {
			setLink("up")
		}
	})
	partitionRound(t, k, a, node, "dep", "web", 0, func() { setLink("down") }, func() { setLink("up") })

	// Round 2: the firewall in the node's namespace drops all traffic with the control plane.
	nft := func(script string) {
		t.Helper()
		cmd := exec.Command("nsenter", "--net=/run/netns/"+ns, "--", "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("nft in %s: %v\n%s\n%s", ns, err, script, out)
		}
	}
	partitionRound(t, k, a, node, "dep2", "web2", 50*time.Second,
		func() {
			nft(`table inet skiffpartition {
  chain in { type filter hook input priority -10; policy accept; ip saddr ` + hostIP + ` drop; }
  chain out { type filter hook output priority -10; policy accept; ip daddr ` + hostIP + ` drop; }
}`)
		},
		func() { nft("delete table inet skiffpartition") })
}

// startPartitionControlPlane runs what the partition tests need besides the API server: a
// controller manager that declares a node unreachable 8 s after its last heartbeat, a
// scheduler, and a simulated node (heartbeats every 2 s) for the replacement pods.
func startPartitionControlPlane(t *testing.T, api *harness.APIServer, dir string) {
	t.Helper()
	kc := api.Kubeconfig
	startProcess(t, kc, dir, "skiff-controller-manager", "--metrics-addr", "-", "--node-monitor-period", "1s", "--node-monitor-grace-period", "8s")
	startProcess(t, kc, dir, "skiff-scheduler", "--metrics-addr", "")
	startProcess(t, kc, dir, "skiff-nodeagent", "--runtime", "sim", "--node-name", "part-sim", "--listen", "-", "--data-dir", filepath.Join(dir, "sim"),
		// Within the 8 s grace period: were every node unreachable, the node lifecycle
		// controller would see a full disruption and evict nothing, as Kubernetes' does.
		"--heartbeat-interval", "2s")
}

// partitionRound runs a Deployment (dep) and a StatefulSet (web) of one pod each on node,
// cuts the node off with cut, and checks: the node goes Unknown and gets the
// node.kubernetes.io/unreachable taints; past its pods' tolerationSeconds (3 s) the
// Deployment's pod is deleted and replaced on the simulated node, while the StatefulSet's
// pod stays Terminating and is not recreated (its container still runs on the cut-off node,
// checked in containerd: a StatefulSet must not run two copies). Then heal: the agent stops
// the containers of the pods deleted meanwhile and confirms their deletion; the
// StatefulSet's pod is recreated and runs; containerd holds no running container of a
// deleted pod and exactly one sandbox and one app container per live pod; the node is
// Ready without taints. At the end the round's workloads are deleted.
func partitionRound(t *testing.T, k *harness.Kubectl, a *agentProc, node, dep, web string, hold time.Duration, cut, heal func()) {
	t.Helper()
	harness.Eventually(t, 60*time.Second, "both nodes Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}/{.spec.taints[*].key} {end}`}, "")
		return strings.Contains(out, node+"=True/ ") && strings.Contains(out, "part-sim=True/ "), out
	})
	podSpec := `
      terminationGracePeriodSeconds: 1
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - {weight: 100, preference: {matchExpressions: [{key: e2e, operator: In, values: [part]}]}}
      containers:
      - {name: app, image: ` + busyboxImage + `, command: ["sleep", "3600"]}
`
	k.RunStdin(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: `+dep+`}
spec:
  replicas: 1
  selector: {matchLabels: {app: `+dep+`}}
  template:
    metadata: {labels: {app: `+dep+`}}
    spec:`+podSpec+`---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: `+web+`}
spec:
  replicas: 1
  serviceName: `+web+`
  selector: {matchLabels: {app: `+web+`}}
  template:
    metadata: {labels: {app: `+web+`}}
    spec:`+podSpec, "apply", "-f", "-")
	webPod := web + "-0"
	// pods: name → node|phase|deleting|uid
	pods := func() map[string]string {
		out, _, _ := k.Exec([]string{"get", "pods", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.spec.nodeName}|{.status.phase}|{.metadata.deletionTimestamp}|{.metadata.uid}{"\n"}{end}`}, "")
		m := map[string]string{}
		for _, l := range strings.Fields(out) {
			if name, v, ok := strings.Cut(l, "="); ok {
				m[name] = v
			}
		}
		return m
	}
	var depPod, depUID, webUID string
	harness.Eventually(t, 120*time.Second, "both pods running on "+node, func() (bool, string) {
		got := pods()
		ok := 0
		for name, v := range got {
			f := strings.Split(v, "|")
			if f[0] == node && f[1] == "Running" && f[2] == "" {
				if strings.HasPrefix(name, dep+"-") {
					depPod, depUID = name, f[3]
					ok++
				}
				if name == webPod {
					webUID = f[3]
					ok++
				}
			}
		}
		return ok == 2, fmt.Sprint(got)
	})

	// The partition.
	cut()
	start := time.Now()
	healed := false
	t.Cleanup(func() { // before the agent's own cleanup kills it
		if !healed {
			heal()
		}
	})
	harness.Eventually(t, 60*time.Second, node+" Unknown with the unreachable taint", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}`}, "")
		return strings.HasPrefix(out, "Unknown ") && strings.Contains(out, "node.kubernetes.io/unreachable"), out
	})
	t.Logf("%s unreachable %s after the partition", node, time.Since(start).Round(100*time.Millisecond))
	harness.Eventually(t, 90*time.Second, "the Deployment's pod replaced on part-sim, "+webPod+" Terminating and not replaced", func() (bool, string) {
		got := pods()
		replaced := false
		for name, v := range got {
			if strings.HasPrefix(name, dep+"-") && name != depPod && strings.HasPrefix(v, "part-sim|Running||") {
				replaced = true
			}
		}
		w := strings.Split(got[webPod]+"|||", "|")
		return replaced && w[3] == webUID && w[2] != "", fmt.Sprint(got)
	})
	t.Logf("replaced %s after the partition", time.Since(start).Round(100*time.Millisecond))
	// The old pods' containers still run on the cut-off node: nothing could stop them.
	running := func(uid string) int {
		cs, err := nodeContainers(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range cs {
			if c.kind == "container" && c.running && c.uid == uid {
				n++
			}
		}
		return n
	}
	if running(webUID) != 1 {
		t.Errorf("%s's container is not running on the cut-off node", webPod)
	}
	// A partition held longer than the client's HTTP/2 health check (a ping after 30 s of
	// silence, 15 s for its answer) has the agent's connections found dead and dialled again
	// (into the partition) before it heals; a short one has them resume.
	time.Sleep(time.Until(start.Add(hold)))

	// The partition heals.
	heal()
	healed = true
	healedAt := time.Now()
	harness.Eventually(t, 90*time.Second, webPod+" recreated and running, the deleted pods' containers stopped", func() (bool, string) {
		got := pods()
		w := strings.Split(got[webPod]+"|||", "|")
		_, oldDep := got[depPod]
		seen := fmt.Sprintf("%v; running containers of the old %s %d, of %s %d", got, webPod, running(webUID), depPod, running(depUID))
		return w[3] != webUID && w[1] == "Running" && !oldDep && running(webUID) == 0 && running(depUID) == 0, seen
	})
	t.Logf("healed: the deleted pods' containers stopped and %s recreated %s after the partition ended", webPod, time.Since(healedAt).Round(100*time.Millisecond))
	harness.Eventually(t, 60*time.Second, node+" Ready without the unreachable taint", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}`}, "")
		return out == "True ", out
	})
	// containerd agrees with the API: what runs there is exactly the live pods bound to
	// the node, one sandbox and one app container each.
	harness.Eventually(t, 60*time.Second, "containerd on "+node+" running exactly the node's live pods, once each", func() (bool, string) {
		live := map[string]string{} // uid → name
		for name, v := range pods() {
			if f := strings.Split(v, "|"); f[0] == node && f[2] == "" {
				live[f[3]] = name
			}
		}
		cs, err := nodeContainers(context.Background(), a)
		if err != nil {
			return false, err.Error()
		}
		sandboxes, apps := map[string]int{}, map[string]int{}
		var seen []string
		for _, c := range cs {
			if !c.running {
				continue
			}
			if live[c.uid] == "" {
				seen = append(seen, fmt.Sprintf("%s %s of deleted pod %s runs", c.kind, c.id, c.pod))
				continue
			}
			if c.kind == "sandbox" {
				sandboxes[c.uid]++
			} else {
				apps[c.uid]++
			}
		}
		for uid, name := range live {
			if sandboxes[uid] != 1 || apps[uid] != 1 {
				seen = append(seen, fmt.Sprintf("%s: %d sandboxes and %d app containers running", name, sandboxes[uid], apps[uid]))
			}
		}
		sort.Strings(seen)
		return len(seen) == 0, strings.Join(seen, "; ")
	})
	k.Run(t, "delete", "deployment/"+dep, "statefulset/"+web, "--wait=false")
	harness.Eventually(t, 90*time.Second, "the round's pods gone", func() (bool, string) {
		var left []string
		for name := range pods() {
			if strings.HasPrefix(name, dep+"-") || strings.HasPrefix(name, web+"-") {
				left = append(left, name)
			}
		}
		return len(left) == 0, fmt.Sprint(left)
	})
}

// TestFullNodeDiskContainerd: a containerd node whose whole state (its data directory,
// containerd's images and snapshots, pods' emptyDirs and logs) is on a 300 MiB tmpfs, with
// the hard threshold nodefs.available<100Mi. A pod fills its disk-backed emptyDir: the node
// reports DiskPressure, the pod is evicted (Failed, Evicted, the kubelet's message), its
// space comes back, the condition clears after the transition period, a new pod starts, the
// quiet pod runs on — and the agent never exits (no crash loop on a full disk).
func TestFullNodeDiskContainerd(t *testing.T) {
	needContainerd(t)
	dir, err := os.MkdirTemp("", "skiff-df-") // short: containerd's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=300m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { // after the agent's cleanup (cleanups run last-first)
		out, _ := os.ReadFile("/proc/mounts")
		var under []string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
				under = append(under, f[1])
			}
		}
		sort.Sort(sort.Reverse(sort.StringSlice(under)))
		for _, m := range append(under, dir) {
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
		_ = os.RemoveAll(dir)
	})
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-disk"
	a := startAgentIn(t, api, dir, node, "10.244.39.0/24", "--eviction-hard", "memory.available<100Mi,nodefs.available<100Mi",
		"--stats-interval", "1s", "--eviction-pressure-transition-period", "10s")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	pod := func(name, command string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  nodeName: ` + node + `
  terminationGracePeriodSeconds: 1
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - {name: app, image: ` + busyboxImage + `, command: ["sh", "-c", "` + command + `"], volumeMounts: [{name: data, mountPath: /data}]}
`
	}
	k.RunStdin(t, pod("quiet", "exec sleep 3600"), "apply", "-f", "-")
	waitPod(t, k, "quiet", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	condition := func() string {
		out, _, _ := k.Exec([]string{"get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="DiskPressure")].status}`}, "")
		return out
	}
	if c := condition(); c != "False" {
		t.Fatalf("DiskPressure before the fill: %q", c)
	}
	k.RunStdin(t, pod("filler", "dd if=/dev/zero of=/data/fill bs=1M count=230; exec sleep 3600"), "apply", "-f", "-")
	var sawPressure bool
	var msg string
	harness.Eventually(t, 120*time.Second, "filler evicted", func() (bool, string) {
		if condition() == "True" {
			sawPressure = true
		}
		out, _, _ := k.Exec([]string{"get", "pod", "filler", "-o", "jsonpath={.status.phase}|{.status.reason}|{.status.message}"}, "")
		f := strings.SplitN(out, "|", 3)
		if len(f) == 3 && f[0] == "Failed" {
			msg = f[2]
			return f[1] == "Evicted", out
		}
		return false, out
	})
	if c := condition(); c == "True" {
		sawPressure = true
	}
	if !sawPressure {
		t.Errorf("the node never reported DiskPressure")
	}
	if !strings.HasPrefix(msg, "The node was low on resource: ephemeral-storage.") {
		t.Errorf("eviction message %q", msg)
	}
	harness.Eventually(t, 90*time.Second, "DiskPressure cleared once the space came back", func() (bool, string) {
		c := condition()
		taints, _, _ := k.Exec([]string{"get", "node", node, "-o", "jsonpath={.spec.taints[*].key}"}, "")
		return c == "False" && !strings.Contains(taints, "disk-pressure"), c + " " + taints
	})
	k.RunStdin(t, pod("after", "exec sleep 3600"), "apply", "-f", "-")
	waitPod(t, k, "after", "Running after the recovery", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	if out := k.Run(t, "get", "pod", "quiet", "-o", "jsonpath={.status.phase}"); out != "Running" {
		t.Errorf("the quiet pod: %q", out)
	}
	select {
	case <-a.done:
		b, _ := os.ReadFile(a.logPath)
		t.Fatalf("the agent exited on the full disk:\n%s", tail(string(b), 3000))
	default:
	}
	b, _ := os.ReadFile(a.logPath)
	if strings.Contains(string(b), "panic") {
		t.Errorf("the agent's log has a panic:\n%s", tail(string(b), 3000))
	}
	k.Run(t, "delete", "pod", "filler", "quiet", "after", "--wait=false")
}
