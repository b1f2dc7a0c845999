package testenv

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Kubelet plays the node agent for tests, where there is none: it moves new pods to
// Running (and Ready, unless told otherwise) through /status, as a node agent would, and
// confirms the deletion of bound pods (a delete with grace period 0).
type Kubelet struct {
	// Phase decides the phase a pod moves to (nil: Running).
	Phase func(p *core.Pod) core.PodPhase
	// Ready decides whether a running pod is ready (nil: always).
	Ready func(p *core.Pod) bool
	// Only, when set, limits the kubelet to the pods it returns true for.
	Only func(p *core.Pod) bool
	// ExitCode, when set, is what every container of a pod that ends Succeeded or Failed
	// exited with (its containerStatuses are reported terminated).
	ExitCode func(p *core.Pod) int32

	mu     sync.Mutex
	nextIP int
}

// RunKubelet starts k against the env's server until the test ends.
func (e *Env) RunKubelet(t testing.TB, k *Kubelet) {
	t.Helper()
	pods := client.For[core.Pod](e.Client, controller.Pods)
	inf := informer.NewInformer(pods, "", client.ListOptions{}, 0)
	work := make(chan *core.Pod, 10000)
	inf.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc:    func(p *core.Pod) { work <- p },
		UpdateFunc: func(_, p *core.Pod) { work <- p },
	})
	ctx, cancel := context.WithCancel(e.Ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); inf.Run(ctx) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-work:
				k.handle(ctx, pods, p)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func (k *Kubelet) handle(ctx context.Context, pods *client.Typed[core.Pod, *core.Pod], p *core.Pod) {
	if k.Only != nil && !k.Only(p) {
		return
	}
	if p.DeletionTimestamp != nil {
		if p.Spec.NodeName != "" {
			_ = pods.Delete(ctx, p.Namespace, p.Name, &meta.DeleteOptions{GracePeriodSeconds: controller.Ptr(int64(0)),
				Preconditions: &meta.Preconditions{UID: &p.UID}})
		}
		return
	}
	phase := core.PodRunning
	if k.Phase != nil {
		phase = k.Phase(p)
	}
	ready := phase == core.PodRunning && (k.Ready == nil || k.Ready(p))
	if p.Status.Phase == phase && p.IsReady() == ready && p.Status.PodIP != "" {
		return
	}
	n := controller.DeepCopy(p)
	if n.Status.PodIP == "" {
		k.mu.Lock()
		k.nextIP++
		ip := fmt.Sprintf("10.244.%d.%d", k.nextIP/250, k.nextIP%250+2)
		k.mu.Unlock()
		n.Status.PodIP = ip
		n.Status.PodIPs = []core.PodIP{{IP: ip}}
	}
	SetPodPhase(n, phase, ready)
	if k.ExitCode != nil && (phase == core.PodSucceeded || phase == core.PodFailed) {
		code := k.ExitCode(p)
		n.Status.ContainerStatuses = nil
		for _, c := range p.Spec.Containers {
			n.Status.ContainerStatuses = append(n.Status.ContainerStatuses, core.ContainerStatus{Name: c.Name,
				State: core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: code}}})
		}
	}
	_, _ = pods.UpdateStatus(ctx, n) // a conflict means a newer event is on its way
}

// SetPodPhase sets a pod's phase and its Ready and ContainersReady conditions, as a node
// agent reports them.
func SetPodPhase(p *core.Pod, phase core.PodPhase, ready bool) {
	now := meta.Now()
	p.Status.Phase = phase
	if p.Status.StartTime == nil {
		p.Status.StartTime = &now
	}
	status := core.ConditionFalse
	if ready {
		status = core.ConditionTrue
	}
	for _, t := range []core.PodConditionType{core.PodReady, core.ContainersReady} {
		c := p.Status.Condition(t)
		if c == nil {
			p.Status.Conditions = append(p.Status.Conditions, core.PodCondition{Type: t, Status: status, LastTransitionTime: now})
			continue
		}
		if c.Status != status {
			c.Status, c.LastTransitionTime = status, now
		}
	}
}

// UpdatePodStatus reads a pod, lets change edit its status and writes it through /status,
// retrying on conflicts.
func (e *Env) UpdatePodStatus(t testing.TB, ns, name string, change func(p *core.Pod)) {
	t.Helper()
	pods := client.For[core.Pod](e.Client, controller.Pods)
	for {
		p, err := pods.Get(e.Ctx, ns, name)
		if err != nil {
			t.Fatalf("get pod %s/%s: %v", ns, name, err)
		}
		change(p)
		updated, err := pods.UpdateStatus(e.Ctx, p)
		if client.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatalf("update status of pod %s/%s: %v", ns, name, err)
		}
		e.waitPodCached(t, updated)
		return
	}
}

// waitPodCached waits until the controllers' shared pod cache holds p's resourceVersion or a
// later one: a test that acts next on the change it just made (scales down, deletes, checks a
// count) must know the controllers have seen it, or it tests a race instead of the rule.
// Without a running shared pod informer there is nothing to wait for.
func (e *Env) waitPodCached(t testing.TB, p *core.Pod) {
	t.Helper()
	inf := controller.PodInformer(e.CC)
	if !inf.HasSynced() {
		return
	}
	want, err := strconv.ParseInt(p.ResourceVersion, 10, 64)
	if err != nil {
		return
	}
	Eventually(t, "the controllers' cache to see pod "+p.Namespace+"/"+p.Name+" at "+p.ResourceVersion, func() (bool, string) {
		cached, ok := inf.Indexer().Get(p.Namespace + "/" + p.Name)
		if !ok {
			return true, "" // deleted since
		}
		have, _ := strconv.ParseInt(cached.ResourceVersion, 10, 64)
		return have >= want, "cached at " + cached.ResourceVersion
	})
}

// RunBinder plays the scheduler for pods pinned to one node by a required node affinity on
// metadata.name (DaemonSet pods): it binds each to its node.
func (e *Env) RunBinder(t testing.TB) {
	t.Helper()
	pods := client.For[core.Pod](e.Client, controller.Pods)
	inf := informer.NewInformer(pods, "", client.ListOptions{}, 0)
	work := make(chan *core.Pod, 10000)
	inf.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc:    func(p *core.Pod) { work <- p },
		UpdateFunc: func(_, p *core.Pod) { work <- p },
	})
	ctx, cancel := context.WithCancel(e.Ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); inf.Run(ctx) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-work:
				node := pinnedNode(p)
				if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || node == "" {
					continue
				}
				b := &core.Binding{TypeMeta: meta.TypeMeta{Kind: "Binding", APIVersion: "v1"},
					ObjectMeta: meta.ObjectMeta{Namespace: p.Namespace, Name: p.Name},
					Target:     core.ObjectReference{Kind: "Node", Name: node}}
				_ = pods.CreateSubresource(ctx, p.Namespace, p.Name, "binding", b, nil)
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func pinnedNode(p *core.Pod) string {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, r := range term.MatchFields {
			if r.Key == "metadata.name" && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}
