// Command storagebench measures the cost of storage on a running cluster of simulated nodes:
// claims bound per second (pre-provisioned volumes, and volumes provisioned by the default
// class's skiff.dev/local provisioner for pods), and a StatefulSet with volume claim
// templates reaching Ready against the same StatefulSet without them. Every measurement is
// set against a reference taken in the same run.
//
//	go build -o bin/ ./cmd/...
//	bin/skiff up --data-dir /tmp/sb --port 7300 --runtime sim --nodes 25 &
//	go run ./test/bench/storagebench --kubeconfig /tmp/sb/kubeconfig --claims 1000 --replicas 50
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
)

var (
	namespaces = client.Resource{Version: "v1", Resource: "namespaces"}
	pvcsR      = client.Resource{Version: "v1", Resource: "persistentvolumeclaims", Namespaced: true}
	pvsR       = client.Resource{Version: "v1", Resource: "persistentvolumes"}
	podsR      = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	classesR   = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "storageclasses"}
	setsR      = client.Resource{Group: "apps", Version: "v1", Resource: "statefulsets", Namespaced: true}
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	n := flag.Int("claims", 1000, "claims per binding phase")
	replicas := flag.Int("replicas", 50, "StatefulSet replicas")
	ns := flag.String("namespace", "storagebench", "namespace to work in (created, and deleted at the end)")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long per phase")
	flag.Parse()

	cfg, err := client.LoadKubeconfig(*kubeconfig, "")
	check(err)
	cfg.QPS = 0
	c, err := client.New(cfg)
	check(err)
	ctx := context.Background()
	_, err = client.For[core.Namespace](c, namespaces).Create(ctx, &core.Namespace{
		TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: *ns}})
	if err != nil && !client.IsAlreadyExists(err) {
		check(err)
	}
	pvcs := client.For[core.PersistentVolumeClaim](c, pvcsR)
	pvs := client.For[core.PersistentVolume](c, pvsR)
	pods := client.For[core.Pod](c, podsR)
	fmt.Printf("storage benchmark: %d claims, StatefulSet of %d\n", *n, *replicas)

	// Reference: claims of no class that nothing can bind, created by 16 clients: the API
	// server's ceiling for claim writes.
	start := time.Now()
	parallel(*n, 16, func(i int) error {
		_, err := pvcs.Create(ctx, claim(*ns, fmt.Sprintf("ref-%d", i), "bench-none"))
		return err
	})
	ref := report("raw claim creates (reference)", *n, time.Since(start), 0)

	// Pre-provisioned: n hostPath volumes of an Immediate class, then n claims of it.
	imm := storage.VolumeBindingImmediate
	_, err = client.For[storage.StorageClass](c, classesR).Create(ctx, &storage.StorageClass{
		TypeMeta:   meta.TypeMeta{Kind: "StorageClass", APIVersion: "storage.k8s.io/v1"},
		ObjectMeta: meta.ObjectMeta{Name: "bench-static"}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &imm})
	if err != nil && !client.IsAlreadyExists(err) {
		check(err)
	}
	parallel(*n, 16, func(i int) error {
		_, err := pvs.Create(ctx, volume(fmt.Sprintf("bench-pv-%d", i)))
		return err
	})
	start = time.Now()
	parallel(*n, 16, func(i int) error {
		_, err := pvcs.Create(ctx, claim(*ns, fmt.Sprintf("static-%d", i), "bench-static"))
		return err
	})
	waitBound(ctx, pvcs, *ns, "static-", *n, *timeout)
	report("pre-provisioned: create until Bound", *n, time.Since(start), ref)

	// Reference for dynamic: n pods without claims until Running on the sim nodes.
	start = time.Now()
	parallel(*n, 16, func(i int) error {
		_, err := pods.Create(ctx, pod(*ns, fmt.Sprintf("plain-%d", i), ""))
		return err
	})
	waitRunning(ctx, pods, *ns, "plain-", *n, *timeout)
	podRef := report("pods without claims until Running (reference)", *n, time.Since(start), 0)
	// Their room on the nodes is needed again.
	parallel(*n, 16, func(i int) error {
		zero := int64(0)
		return pods.Delete(ctx, *ns, fmt.Sprintf("plain-%d", i), &meta.DeleteOptions{GracePeriodSeconds: &zero})
	})
	poll(*timeout, "reference pods gone", func() (int, error) {
		list, err := pods.List(ctx, *ns, client.ListOptions{})
		if err != nil {
			return 0, err
		}
		return len(list.Items), nil
	})

	// Dynamic: n claims of the default class and a pod for each; the scheduler selects the
	// node, the PV controller provisions and binds.
	start = time.Now()
	parallel(*n, 16, func(i int) error {
		if _, err := pvcs.Create(ctx, claim(*ns, fmt.Sprintf("dyn-%d", i), storage.DefaultClassName)); err != nil {
			return err
		}
		_, err := pods.Create(ctx, pod(*ns, fmt.Sprintf("dyn-%d", i), fmt.Sprintf("dyn-%d", i)))
		return err
	})
	waitBound(ctx, pvcs, *ns, "dyn-", *n, *timeout)
	report("dynamic: claim+pod until Bound", *n, time.Since(start), podRef)
	waitRunning(ctx, pods, *ns, "dyn-", *n, *timeout)
	report("dynamic: claim+pod until Running", *n, time.Since(start), podRef)

	// StatefulSets: without claims (reference), then with one claim per pod.
	sets := client.For[apps.StatefulSet](c, setsR)
	for _, withClaims := range []bool{false, true} {
		name := "plain"
		if withClaims {
			name = "claims"
		}
		start = time.Now()
		_, err := sets.Create(ctx, statefulSet(*ns, name, int32(*replicas), withClaims))
		check(err)
		waitReady(ctx, sets, *ns, name, int32(*replicas), *timeout)
		el := time.Since(start)
		if !withClaims {
			ref = report("StatefulSet without claims until Ready (reference)", *replicas, el, 0)
		} else {
			report("StatefulSet with claims until Ready", *replicas, el, ref)
		}
	}
	check(client.For[core.Namespace](c, namespaces).Delete(ctx, "", *ns, nil))
	parallel(*n, 16, func(i int) error {
		err := pvs.Delete(ctx, "", fmt.Sprintf("bench-pv-%d", i), nil)
		if client.IsNotFound(err) {
			return nil
		}
		return err
	})
}

// report prints a phase; the rate is per second, and against ref when there is one.
func report(name string, n int, el time.Duration, ref float64) float64 {
	rate := float64(n) / el.Seconds()
	if ref > 0 {
		fmt.Printf("%-52s %8.2fs %8.1f/s  %.2f of the reference\n", name, el.Seconds(), rate, rate/ref)
	} else {
		fmt.Printf("%-52s %8.2fs %8.1f/s\n", name, el.Seconds(), rate)
	}
	return rate
}

func claim(ns, name, class string) *core.PersistentVolumeClaim {
	return &core.PersistentVolumeClaim{TypeMeta: meta.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: core.PersistentVolumeClaimSpec{AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: &class,
			Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")}}}}
}

func volume(name string) *core.PersistentVolume {
	return &core.PersistentVolume{TypeMeta: meta.TypeMeta{Kind: "PersistentVolume", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name},
		Spec: core.PersistentVolumeSpec{Capacity: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: "bench-static",
			PersistentVolumeReclaimPolicy: core.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: "/tmp/" + name}}}}
}

func pod(ns, name, claimName string) *core.Pod {
	p := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Image: "busybox:1"}}}}
	if claimName != "" {
		p.Spec.Volumes = []core.Volume{{Name: "data", VolumeSource: core.VolumeSource{PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: claimName}}}}
	}
	return p
}

func statefulSet(ns, name string, replicas int32, withClaims bool) *apps.StatefulSet {
	s := &apps.StatefulSet{TypeMeta: meta.TypeMeta{Kind: "StatefulSet", APIVersion: "apps/v1"}, ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: apps.StatefulSetSpec{Replicas: &replicas, ServiceName: name,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"set": name}},
			Template: core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"set": name}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Image: "busybox:1"}}}}}}
	if withClaims {
		s.Spec.Template.Spec.Containers[0].VolumeMounts = []core.VolumeMount{{Name: "data", MountPath: "/data"}}
		s.Spec.VolumeClaimTemplates = []core.PersistentVolumeClaim{*claim("", "data", storage.DefaultClassName)}
	}
	return s
}

func waitBound(ctx context.Context, pvcs *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim], ns, prefix string, n int, timeout time.Duration) {
	poll(timeout, "claims "+prefix+" Bound", func() (int, error) {
		list, err := pvcs.List(ctx, ns, client.ListOptions{})
		if err != nil {
			return 0, err
		}
		bound := 0
		for _, c := range list.Items {
			if len(c.Name) > len(prefix) && c.Name[:len(prefix)] == prefix && c.Status.Phase == core.ClaimBound {
				bound++
			}
		}
		return n - bound, nil
	})
}

func waitRunning(ctx context.Context, pods *client.Typed[core.Pod, *core.Pod], ns, prefix string, n int, timeout time.Duration) {
	poll(timeout, "pods "+prefix+" Running", func() (int, error) {
		list, err := pods.List(ctx, ns, client.ListOptions{})
		if err != nil {
			return 0, err
		}
		running := 0
		for _, p := range list.Items {
			if len(p.Name) > len(prefix) && p.Name[:len(prefix)] == prefix && p.Status.Phase == core.PodRunning {
				running++
			}
		}
		return n - running, nil
	})
}

func waitReady(ctx context.Context, sets *client.Typed[apps.StatefulSet, *apps.StatefulSet], ns, name string, replicas int32, timeout time.Duration) {
	poll(timeout, "StatefulSet "+name+" Ready", func() (int, error) {
		s, err := sets.Get(ctx, ns, name)
		if err != nil {
			return 0, err
		}
		return int(replicas - s.Status.ReadyReplicas), nil
	})
}

// poll calls left until it reports nothing left, every 100 ms.
func poll(timeout time.Duration, what string, left func() (int, error)) {
	deadline := time.Now().Add(timeout)
	for {
		n, err := left()
		check(err)
		if n <= 0 {
			return
		}
		if time.Now().After(deadline) {
			check(fmt.Errorf("%s: %d left after %s", what, n, timeout))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parallel runs act(0..n-1) on workers goroutines.
func parallel(n, workers int, act func(i int) error) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				check(act(i))
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "storagebench:", err)
		os.Exit(1)
	}
}
