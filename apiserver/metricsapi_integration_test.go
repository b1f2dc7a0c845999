package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/metrics"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/test/harness"
)

// TestMetricsAPI: metrics.k8s.io answers NodeMetrics and PodMetrics gathered from the sim
// nodes' /stats/summary (their synthetic usage from the pods' annotations), with label
// selectors and namespaces; a Ready node whose agent never answers is left out after the
// per-node timeout instead of holding the answer; the real kubectl's top works.
func TestMetricsAPI(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) { c.MetricsNodeTimeout = time.Second }})
	s.StartSimNodes(t, 300*time.Millisecond, "m-0", "m-1")
	ctx := context.Background()
	admin := s.Client(t)
	pods := client.For[core.Pod](admin, podsRes)
	for _, p := range []struct{ name, node, cpu, app string }{{"web-0", "m-0", "250m", "web"}, {"web-1", "m-1", "500m", "web"}, {"db-0", "m-0", "100m", "db"}} {
		pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: p.name, Namespace: "default", Labels: map[string]string{"app": p.app},
			Annotations: map[string]string{stats.SimCPUAnnotation: p.cpu, stats.SimMemoryAnnotation: "64Mi"}},
			Spec: core.PodSpec{NodeName: p.node, Containers: []core.Container{{Name: "app", Image: "busybox"}}}}
		if _, err := pods.Create(ctx, pod); err != nil {
			t.Fatal(err)
		}
	}
	// A node that is Ready but whose agent accepts connections and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	nodes := client.For[core.Node](admin, client.Resource{Version: "v1", Resource: "nodes"})
	stuck, err := nodes.Create(ctx, &core.Node{ObjectMeta: meta.ObjectMeta{Name: "stuck"}})
	if err != nil {
		t.Fatal(err)
	}
	stuck.Status.Addresses = []core.NodeAddress{{Type: core.NodeInternalIP, Address: "127.0.0.1"}}
	stuck.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(hang.Addr().(*net.TCPAddr).Port)
	stuck.Status.Conditions = []core.NodeCondition{{Type: core.NodeReady, Status: core.ConditionTrue}}
	if _, err := nodes.UpdateStatus(ctx, stuck); err != nil {
		t.Fatal(err)
	}
	lost, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "web-lost", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: core.PodSpec{NodeName: "stuck", Containers: []core.Container{{Name: "app", Image: "busybox"}}}})
	if err != nil {
		t.Fatal(err)
	}
	lost.Status.Phase = core.PodRunning
	if _, err := pods.UpdateStatus(ctx, lost); err != nil {
		t.Fatal(err)
	}

	hc := s.HTTPClient(t)
	get := func(path string, out any) int {
		t.Helper()
		resp, err := hc.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil && resp.StatusCode == 200 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v: %s", path, err, b)
			}
		}
		return resp.StatusCode
	}
	cpu := func(m metrics.PodMetrics) int64 {
		q := m.Containers[0].Usage[core.ResourceCPU]
		return q.MilliValue()
	}
	var web metrics.PodMetricsList
	harness.Eventually(t, 30*time.Second, "web pods' metrics", func() (bool, string) {
		web = metrics.PodMetricsList{}
		start := time.Now()
		code := get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb", &web)
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("the answer waited %v for the stuck node", took)
		}
		return code == 200 && len(web.Items) == 2, strings.TrimSpace(string(asJSON(web)))
	})
	for _, m := range web.Items {
		want := map[string]int64{"web-0": 250, "web-1": 500}[m.Name]
		if got := cpu(m); got != want || m.Labels["app"] != "web" || m.Kind != "PodMetrics" {
			t.Errorf("%s: cpu %dm (want %dm), labels %v, kind %q", m.Name, got, want, m.Labels, m.Kind)
		}
		if mem := m.Containers[0].Usage[core.ResourceMemory]; mem.Value() != 64<<20 {
			t.Errorf("%s: memory %s", m.Name, mem.String())
		}
	}
	var one metrics.PodMetrics
	if code := get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/db-0", &one); code != 200 || cpu(one) != 100 {
		t.Errorf("get db-0: %d %v", code, one)
	}
	if code := get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-lost", nil); code != 404 {
		t.Errorf("a pod on a node that does not answer: %d, want 404", code)
	}
	if code := get("/apis/metrics.k8s.io/v1beta1/namespaces/other/pods", &web); code != 200 || len(web.Items) != 0 {
		t.Errorf("another namespace: %d %d items", code, len(web.Items))
	}
	var nl metrics.NodeMetricsList
	harness.Eventually(t, 10*time.Second, "node metrics", func() (bool, string) {
		nl = metrics.NodeMetricsList{}
		return get("/apis/metrics.k8s.io/v1beta1/nodes", &nl) == 200 && len(nl.Items) == 2, string(asJSON(nl))
	})
	if nl.Items[0].Name != "m-0" || nl.Items[1].Name != "m-1" {
		t.Errorf("nodes: %s", asJSON(nl))
	}
	if q := nl.Items[0].Usage[core.ResourceCPU]; q.MilliValue() < 350 {
		t.Errorf("m-0 cpu %s, want at least its pods' 350m", q.String())
	}
	if code := get("/apis/metrics.k8s.io/v1beta1/nodes/stuck", nil); code != 404 {
		t.Errorf("the stuck node: %d, want 404", code)
	}

	// Only who may read metrics.k8s.io pods may: a user without a binding is refused.
	jane, err := client.New(s.UserConfig(t, "jane"))
	if err != nil {
		t.Fatal(err)
	}
	if err := jane.Do(ctx, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", nil, nil); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("jane: %v", err)
	}

	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	out := k.Run(t, "top", "pods", "--containers", "-l", "app=web")
	t.Logf("kubectl top pods --containers:\n%s", out)
	if !strings.Contains(out, "web-0") || !strings.Contains(out, "250m") || !strings.Contains(out, "64Mi") {
		t.Errorf("kubectl top pods:\n%s", out)
	}
	out = k.Run(t, "top", "nodes")
	if !strings.Contains(out, "m-0") || !strings.Contains(out, "m-1") {
		t.Errorf("kubectl top nodes:\n%s", out)
	}
	if out := k.Run(t, "top", "pods", "-A"); !strings.Contains(out, "db-0") || !strings.Contains(out, "NAMESPACE") {
		t.Errorf("kubectl top pods -A:\n%s", out)
	}
}

func asJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
