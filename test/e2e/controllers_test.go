package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/test/harness"
)

// component is a process this file started because `skiff up` did not.
type component struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (p *component) stop() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
}

func startComponent(t *testing.T, c *harness.Cluster, name string, args ...string) *component {
	t.Helper()
	return startProcess(t, c.Kubeconfig, c.DataDir, name, args...)
}

// startProcess runs a skiff binary against the API server of kubeconfig, logging into dir.
func startProcess(t *testing.T, kubeconfig, dir, name string, args ...string) *component {
	t.Helper()
	log := filepath.Join(dir, fmt.Sprintf("e2e-%s-%d.log", name, time.Now().UnixNano()))
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(harness.Binaries(t), name), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &component{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// leaseHeld reports whether the Lease kube-system/name has a holder (a component runs).
func leaseHeld(k *harness.Kubectl, name string) bool {
	out, _, err := k.Exec([]string{"get", "lease", "-n", "kube-system", name, "-o", "jsonpath={.spec.holderIdentity}"}, "")
	return err == nil && strings.TrimSpace(out) != ""
}

// ensureControlLoops makes sure the cluster has a controller manager, a scheduler and
// simulated nodes, starting what `skiff up` did not start itself. Pods run on the sim
// runtime: no images, no containerd, and Running/Ready within moments.
func ensureControlLoops(t *testing.T, c *harness.Cluster, nodes int) {
	t.Helper()
	k := c.Kubectl
	// Give a launcher that does start them a moment to take their leases.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !(leaseHeld(k, "kube-controller-manager") && leaseHeld(k, "kube-scheduler")) {
		time.Sleep(200 * time.Millisecond)
	}
	if !leaseHeld(k, "kube-controller-manager") {
		startComponent(t, c, "skiff-controller-manager", "--metrics-addr", "127.0.0.1:"+strconv.Itoa(harness.FreePort(t)))
	}
	if !leaseHeld(k, "kube-scheduler") {
		startComponent(t, c, "skiff-scheduler", "--metrics-addr", "127.0.0.1:"+strconv.Itoa(harness.FreePort(t)))
	}
	if strings.TrimSpace(k.Run(t, "get", "nodes", "-l", "type=sim", "-o", "name")) == "" {
		startComponent(t, c, "skiff-nodeagent", "--runtime", "sim", "--sim-nodes", strconv.Itoa(nodes), "--node-name", "sim",
			"--listen", "-", "--data-dir", filepath.Join(c.DataDir, "sim-nodes"))
	}
	harness.Eventually(t, 60*time.Second, "sim nodes Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "nodes", "-l", "type=sim", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`}, "")
		return strings.Count(out, "=True") >= nodes, out
	})
}

// jsonpath reads one field with kubectl get -o jsonpath ("" if the object is missing).
func jsonpath(k *harness.Kubectl, args ...string) string {
	out, _, err := k.Exec(append([]string{"get"}, args...), "")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	harness.Eventually(t, timeout, what, cond)
}

func rolloutStatus(t *testing.T, k *harness.Kubectl, ns, name string) {
	t.Helper()
	out := k.Run(t, "-n", ns, "rollout", "status", "deployment/"+name, "--timeout=120s")
	if !strings.Contains(out, "successfully rolled out") {
		t.Fatalf("rollout status: %s", out)
	}
}

func TestControllersWithKubectl(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	ensureControlLoops(t, c, 2)
	k := c.Kubectl

	t.Run("default service account in a new namespace", func(t *testing.T) {
		k.Run(t, "create", "namespace", "team")
		waitFor(t, "default service account", 30*time.Second, func() (bool, string) {
			got := jsonpath(k, "-n", "team", "serviceaccount", "default", "-o", "jsonpath={.metadata.name}")
			return got == "default", got
		})
	})

	t.Run("deployment rollout, history, undo, restart, pause and scale", func(t *testing.T) {
		k.Run(t, "create", "deployment", "web", "--image=busybox:1.36", "--replicas=2")
		rolloutStatus(t, k, "default", "web")
		k.Run(t, "scale", "deployment", "web", "--replicas=4")
		rolloutStatus(t, k, "default", "web")
		if got := jsonpath(k, "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"); got != "4" {
			t.Errorf("readyReplicas after scale: %q", got)
		}

		k.Run(t, "set", "image", "deployment/web", "busybox=busybox:1.37")
		rolloutStatus(t, k, "default", "web")
		hist := k.Run(t, "rollout", "history", "deployment/web")
		if !strings.Contains(hist, "1 ") || !strings.Contains(hist, "2 ") {
			t.Errorf("rollout history:\n%s", hist)
		}
		images := func() string {
			return jsonpath(k, "pods", "-l", "app=web", "-o", `jsonpath={range .items[*]}{.spec.containers[0].image} {end}`)
		}
		waitFor(t, "pods on busybox:1.37", 60*time.Second, func() (bool, string) {
			got := images()
			return strings.Count(got, "busybox:1.37") == 4 && !strings.Contains(got, "1.36"), got
		})

		k.Run(t, "rollout", "undo", "deployment/web")
		rolloutStatus(t, k, "default", "web")
		if got := jsonpath(k, "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "busybox:1.36" {
			t.Errorf("image after undo: %q", got)
		}
		waitFor(t, "pods back on busybox:1.36", 60*time.Second, func() (bool, string) {
			got := images()
			return !strings.Contains(got, "1.37") && strings.Count(got, "busybox:1.36") == 4, got
		})
		if n := len(strings.Fields(jsonpath(k, "rs", "-l", "app=web", "-o", "name"))); n != 2 {
			t.Errorf("%d replica sets after undo, want 2 (undo reuses the old one)", n)
		}

		k.Run(t, "rollout", "restart", "deployment/web")
		rolloutStatus(t, k, "default", "web")
		if got := jsonpath(k, "deployment", "web", "-o", `jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}`); got != "4" {
			t.Errorf("revision after restart: %q", got)
		}

		k.Run(t, "rollout", "pause", "deployment/web")
		k.Run(t, "set", "image", "deployment/web", "busybox=busybox:1.38")
		waitFor(t, "paused condition", 30*time.Second, func() (bool, string) {
			got := jsonpath(k, "deployment", "web", "-o", `jsonpath={.status.conditions[?(@.type=="Progressing")].reason}`)
			return got == "DeploymentPaused", got
		})
		if n := len(strings.Fields(jsonpath(k, "rs", "-l", "app=web", "-o", "name"))); n != 3 {
			t.Errorf("%d replica sets while paused, want 3 (no rollout)", n)
		}
		k.Run(t, "rollout", "resume", "deployment/web")
		rolloutStatus(t, k, "default", "web")

		k.Run(t, "scale", "deployment", "web", "--replicas=1")
		waitFor(t, "scaled down to one pod", 60*time.Second, func() (bool, string) {
			got := jsonpath(k, "pods", "-l", "app=web", "-o", `jsonpath={range .items[*]}{.metadata.name} {end}`)
			return len(strings.Fields(got)) == 1, got
		})
	})

	t.Run("deleting a deployment deletes its replica sets and pods", func(t *testing.T) {
		k.Run(t, "delete", "deployment", "web")
		waitFor(t, "replica sets and pods gone", 60*time.Second, func() (bool, string) {
			got := jsonpath(k, "rs,pods", "-l", "app=web", "-o", "name")
			return got == "", got
		})
	})

	t.Run("cascade orphan and foreground", func(t *testing.T) {
		k.Run(t, "create", "deployment", "keep", "--image=busybox", "--replicas=2")
		rolloutStatus(t, k, "default", "keep")
		k.Run(t, "delete", "deployment", "keep", "--cascade=orphan")
		waitFor(t, "orphaned replica set", 30*time.Second, func() (bool, string) {
			refs := jsonpath(k, "rs", "-l", "app=keep", "-o", "jsonpath={.items[*].metadata.ownerReferences}")
			pods := jsonpath(k, "pods", "-l", "app=keep", "-o", "name")
			return refs == "" && len(strings.Fields(pods)) == 2, fmt.Sprintf("owner refs %q, pods %q", refs, pods)
		})
		// Foreground: kubectl waits until the replica set is gone, and it goes only after its pods.
		k.Run(t, "delete", "rs", "-l", "app=keep", "--cascade=foreground", "--timeout=60s")
		if got := jsonpath(k, "rs,pods", "-l", "app=keep", "-o", "name"); got != "" {
			t.Errorf("left after a foreground delete: %s", got)
		}
	})

	t.Run("kubectl delete namespace removes everything in it", func(t *testing.T) {
		k.Run(t, "create", "namespace", "shop")
		k.Run(t, "-n", "shop", "create", "deployment", "api", "--image=busybox", "--replicas=2")
		k.Run(t, "-n", "shop", "create", "configmap", "settings", "--from-literal=a=b")
		k.Run(t, "-n", "shop", "create", "service", "clusterip", "api", "--tcp=80:8080")
		rolloutStatus(t, k, "shop", "api")
		// kubectl delete waits for the namespace to be gone.
		k.Run(t, "delete", "namespace", "shop", "--timeout=90s")
		if _, errOut, err := k.Exec([]string{"get", "namespace", "shop"}, ""); err == nil || !strings.Contains(errOut, "NotFound") {
			t.Errorf("namespace still there: %v %s", err, errOut)
		}
	})
}

const workloads = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox
        command: ["sleep", "infinity"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  clusterIP: None
  selector: {app: web}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: web
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox
        command: ["sleep", "infinity"]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "@every 2s"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: tick
            image: busybox
            command: ["sh", "-c", "exit 0"]
`

func TestWorkloadControllersWithKubectl(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	ensureControlLoops(t, c, 2)
	k := c.Kubectl
	nodes := len(strings.Fields(k.Run(t, "get", "nodes", "-o", "name")))
	k.RunStdin(t, workloads, "apply", "-f", "-")

	t.Run("a job runs to completion", func(t *testing.T) {
		k.Run(t, "create", "job", "calc", "--image=busybox", "--", "sh", "-c", "exit 0")
		k.Run(t, "wait", "--for=condition=complete", "job/calc", "--timeout=60s")
		if got := jsonpath(k, "job", "calc", "-o", "jsonpath={.status.succeeded}"); got != "1" {
			t.Errorf("succeeded: %q", got)
		}
	})

	t.Run("a daemonset covers every node", func(t *testing.T) {
		out := k.Run(t, "rollout", "status", "daemonset/agent", "--timeout=60s")
		if !strings.Contains(out, "successfully rolled out") {
			t.Fatalf("rollout status: %s", out)
		}
		got := jsonpath(k, "pods", "-l", "app=agent", "-o", `jsonpath={range .items[*]}{.spec.nodeName} {end}`)
		if n := len(strings.Fields(got)); n != nodes {
			t.Errorf("daemon pods on %q, want one on each of %d nodes", got, nodes)
		}
	})

	t.Run("a statefulset creates web-0 then web-1", func(t *testing.T) {
		out := k.Run(t, "rollout", "status", "statefulset/web", "--timeout=60s")
		if !strings.Contains(out, "roll") {
			t.Fatalf("rollout status: %s", out)
		}
		ready0 := jsonpath(k, "pod", "web-0", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].lastTransitionTime}`)
		created1 := jsonpath(k, "pod", "web-1", "-o", "jsonpath={.metadata.creationTimestamp}")
		if ready0 == "" || created1 == "" || created1 < ready0 {
			t.Errorf("web-1 created at %q, before web-0 was ready at %q", created1, ready0)
		}
		if got := jsonpath(k, "pod", "web-1", "-o", "jsonpath={.spec.hostname}.{.spec.subdomain}"); got != "web-1.web" {
			t.Errorf("hostname.subdomain: %q", got)
		}
		// The headless Service's slices list both pods.
		waitFor(t, "endpoints of web", 30*time.Second, func() (bool, string) {
			got := jsonpath(k, "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", `jsonpath={range .items[*].endpoints[*]}{.targetRef.name} {end}`)
			return strings.Contains(got, "web-0") && strings.Contains(got, "web-1"), got
		})
	})

	t.Run("a cronjob fires", func(t *testing.T) {
		waitFor(t, "a job of the cronjob completes", 60*time.Second, func() (bool, string) {
			last := jsonpath(k, "cronjob", "tick", "-o", "jsonpath={.status.lastScheduleTime}")
			jobs := jsonpath(k, "jobs", "-o", `jsonpath={range .items[?(@.metadata.ownerReferences[0].name=="tick")]}{.metadata.name}={.status.succeeded} {end}`)
			return last != "" && strings.Contains(jobs, "=1"), fmt.Sprintf("lastScheduleTime %q jobs %q", last, jobs)
		})
		k.Run(t, "delete", "cronjob", "tick")
	})

	t.Run("a LoadBalancer service gets node addresses", func(t *testing.T) {
		k.Run(t, "create", "service", "loadbalancer", "lb", "--tcp=80:8080")
		waitFor(t, "ingress", 30*time.Second, func() (bool, string) {
			got := jsonpath(k, "service", "lb", "-o", "jsonpath={.status.loadBalancer.ingress[*].ip}")
			return got != "", got
		})
	})
}

// A node whose agent stops goes Unknown after the grace period, is tainted unreachable, and
// its pods are replaced on the other nodes.
func TestNodeFailureWithKubectl(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	k := c.Kubectl
	if !leaseHeld(k, "kube-controller-manager") {
		startComponent(t, c, "skiff-controller-manager", "--metrics-addr", "127.0.0.1:"+strconv.Itoa(harness.FreePort(t)),
			"--node-monitor-grace-period", "20s", "--node-monitor-period", "1s") // agents renew their Lease every 10s
	}
	ensureControlLoops(t, c, 2)
	t.Logf("control loops up")
	lonely := startComponent(t, c, "skiff-nodeagent", "--runtime", "sim", "--sim-nodes", "1", "--node-name", "lonely",
		"--listen", "-", "--data-dir", filepath.Join(c.DataDir, "lonely"))
	waitFor(t, "node lonely Ready", 60*time.Second, func() (bool, string) {
		got := jsonpath(k, "node", "lonely", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return got == "True", got
	})
	const spread = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: spread
spec:
  replicas: 3
  selector:
    matchLabels: {app: spread}
  template:
    metadata:
      labels: {app: spread}
    spec:
      affinity:
        nodeAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            preference:
              matchExpressions:
              - {key: kubernetes.io/hostname, operator: In, values: [lonely]}
      # Instead of the 300 s the API server gives by default: evicted 5 s after the taint.
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 5}
      containers:
      - name: app
        image: busybox
        command: ["sleep", "infinity"]
`
	k.RunStdin(t, spread, "apply", "-f", "-")
	rolloutStatus(t, k, "default", "spread")
	onLonely := func() int {
		got := jsonpath(k, "pods", "-l", "app=spread", "--field-selector", "spec.nodeName=lonely", "-o", "name")
		return len(strings.Fields(got))
	}
	if onLonely() == 0 {
		t.Fatalf("no pod landed on lonely: %s", k.Run(t, "get", "pods", "-o", "wide"))
	}

	start := time.Now()
	lonely.stop() // the agent dies: no more lease renewals, no status
	waitFor(t, "lonely unreachable and tainted", 120*time.Second, func() (bool, string) {
		ready := jsonpath(k, "node", "lonely", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		taints := jsonpath(k, "node", "lonely", "-o", `jsonpath={.spec.taints[*].key}`)
		return ready == "Unknown" && strings.Contains(taints, "node.kubernetes.io/unreachable"), "ready=" + ready + " taints=" + taints
	})
	t.Logf("lonely unreachable %s after its agent died", time.Since(start).Round(time.Second))
	waitFor(t, "replacements ready elsewhere", 120*time.Second, func() (bool, string) {
		got := jsonpath(k, "pods", "-l", "app=spread", "-o",
			`jsonpath={range .items[*]}{.metadata.name}@{.spec.nodeName}:{.status.conditions[?(@.type=="Ready")].status}:{.metadata.deletionTimestamp} {end}`)
		ready := 0
		for _, f := range strings.Fields(got) {
			if strings.HasSuffix(f, ":True:") && !strings.Contains(f, "@lonely:") {
				ready++
			}
		}
		return ready == 3, got
	})
	t.Logf("its pods replaced %s after its agent died", time.Since(start).Round(time.Second))
}

// The controller manager is killed with SIGKILL in the middle of a rolling update and
// started again: the rollout finishes, and at no moment do the ReplicaSets add up to more
// than replicas+maxSurge or fewer than replicas-maxUnavailable pods ready.
func TestControllerManagerSIGKILLMidRollout(t *testing.T) {
	dir := t.TempDir()
	api := harness.StartAPIServer(t, "--data-dir", filepath.Join(dir, "etcd"))
	cmArgs := []string{"--metrics-addr", "-", "--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "500ms"}
	cm := startProcess(t, api.Kubeconfig, dir, "skiff-controller-manager", cmArgs...)
	startProcess(t, api.Kubeconfig, dir, "skiff-scheduler", "--metrics-addr", "")
	startProcess(t, api.Kubeconfig, dir, "skiff-nodeagent", "--runtime", "sim", "--sim-nodes", "3", "--node-name", "sim",
		"--listen", "-", "--data-dir", filepath.Join(dir, "nodes"))
	c, err := client.New(api.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	deps := client.For[apps.Deployment](c, client.Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true})
	replicas := int32(12)
	_, err = deps.Create(ctx, &apps.Deployment{TypeMeta: meta.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "roll"},
		Spec: apps.DeploymentSpec{
			Replicas: &replicas,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "roll"}},
			Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType, RollingUpdate: &apps.RollingUpdateDeployment{
				MaxSurge: ptr(intstr.FromInt(3)), MaxUnavailable: ptr(intstr.FromInt(2))}},
			Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "roll"}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Image: "busybox:1", Command: []string{"sleep", "infinity"}}}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	rolledOut := func(image string) (bool, string) {
		d, err := deps.Get(ctx, "default", "roll")
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		return d.Spec.Template.Spec.Containers[0].Image == image && s.ObservedGeneration >= d.Generation &&
				s.UpdatedReplicas == replicas && s.Replicas == replicas && s.AvailableReplicas == replicas,
			fmt.Sprintf("updated %d replicas %d available %d", s.UpdatedReplicas, s.Replicas, s.AvailableReplicas)
	}
	waitFor(t, "first rollout", 90*time.Second, func() (bool, string) { return rolledOut("busybox:1") })

	// The watcher of the bounds, and the trigger of the kill: the new ReplicaSet's first replica.
	var mu sync.Mutex
	var violations []string
	started := make(chan struct{})
	var once sync.Once
	sets := informer.NewInformer(client.For[apps.ReplicaSet](c, client.Resource{Group: "apps", Version: "v1", Resource: "replicasets", Namespaced: true}),
		"default", client.ListOptions{LabelSelector: "app=roll"}, 0)
	pods := informer.NewInformer(client.For[core.Pod](c, client.Resource{Version: "v1", Resource: "pods", Namespaced: true}),
		"default", client.ListOptions{LabelSelector: "app=roll"}, 0)
	check := func() {
		var total int32
		for _, rs := range sets.Indexer().List() {
			total += *rs.Spec.Replicas
			if rs.Spec.Template.Spec.Containers[0].Image == "busybox:2" && *rs.Spec.Replicas > 0 {
				once.Do(func() { close(started) })
			}
		}
		ready := 0
		for _, p := range pods.Indexer().List() {
			if p.DeletionTimestamp != nil {
				continue
			}
			for _, cond := range p.Status.Conditions {
				if cond.Type == core.PodReady && cond.Status == core.ConditionTrue {
					ready++
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if total > replicas+3 {
			violations = append(violations, fmt.Sprintf("replica sets sum to %d > %d", total, replicas+3))
		}
		if pods.HasSynced() && ready < int(replicas)-2 {
			violations = append(violations, fmt.Sprintf("%d pods ready < %d", ready, replicas-2))
		}
	}
	sets.AddEventHandler(informer.Handler[*apps.ReplicaSet]{AddFunc: func(*apps.ReplicaSet) { check() }, UpdateFunc: func(_, _ *apps.ReplicaSet) { check() }})
	pods.AddEventHandler(informer.Handler[*core.Pod]{UpdateFunc: func(_, _ *core.Pod) { check() }, DeleteFunc: func(*core.Pod) { check() }})
	go sets.Run(ctx)
	go pods.Run(ctx)
	informer.WaitForCacheSync(ctx, sets.HasSynced, pods.HasSynced)

	if _, err := deps.Patch(ctx, "default", "roll", client.StrategicMergePatchType,
		[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:2"}]}}}}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatal("the rolling update did not start")
	}
	cm.stop() // SIGKILL, in the middle of the rollout
	if ok, _ := rolledOut("busybox:2"); ok {
		t.Log("the rollout finished before the kill landed; the restart is still checked")
	}
	startProcess(t, api.Kubeconfig, dir, "skiff-controller-manager", cmArgs...)
	waitFor(t, "rollout finished by the restarted controller manager", 90*time.Second, func() (bool, string) { return rolledOut("busybox:2") })
	mu.Lock()
	defer mu.Unlock()
	if len(violations) > 0 {
		t.Errorf("%d violations of the rollout's bounds, first: %s", len(violations), violations[0])
	}
}

func ptr[T any](v T) *T { return &v }
