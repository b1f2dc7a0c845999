package kubectlcheck

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/tables"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"
)

func TestKubectlPrintsTable(t *testing.T) {
	now := time.Now()
	mk := func(name, ns string, phase core.PodPhase, st core.ContainerState, ready bool) *core.Pod {
		p := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}, CreationTimestamp: meta.NewTime(now.Add(-5 * time.Minute))}}
		p.Spec.Containers = []core.Container{{Name: "c", Image: "nginx"}}
		p.Spec.NodeName = "node-1"
		p.Status.Phase = phase
		p.Status.ContainerStatuses = []core.ContainerStatus{{Name: "c", State: st, Ready: ready, RestartCount: 2,
			LastTerminationState: core.ContainerState{Terminated: &core.ContainerStateTerminated{FinishedAt: meta.NewTime(now.Add(-3 * time.Minute))}}}}
		return p
	}
	objs := []meta.Object{
		mk("web", "default", core.PodRunning, core.ContainerState{Running: &core.ContainerStateRunning{}}, true),
		mk("db", "prod", core.PodRunning, core.ContainerState{Waiting: &core.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}, false),
	}
	for _, inc := range []string{tables.IncludeMetadata, tables.IncludeObject} {
		for _, opts := range []printers.PrintOptions{{}, {Wide: true, WithNamespace: true, ShowLabels: true}} {
			raw, _ := json.Marshal(tables.Build(tables.For("", "Pod"), objs, now, inc, false))
			u := &unstructured.Unstructured{}
			if err := json.Unmarshal(raw, &u.Object); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			p := &get.TablePrinter{Delegate: printers.NewTablePrinter(opts)}
			if err := p.PrintObj(u, &out); err != nil {
				t.Fatal(err)
			}
			t.Logf("includeObject=%s %+v:\n%s", inc, opts, out.String())
		}
	}
	// Watch: one printer; the first event has the column definitions, later ones do not.
	var out bytes.Buffer
	p := &get.TablePrinter{Delegate: printers.NewTablePrinter(printers.PrintOptions{})}
	for i, o := range objs {
		raw, _ := json.Marshal(tables.Build(tables.For("", "Pod"), []meta.Object{o}, now, tables.IncludeMetadata, i > 0))
		u := &unstructured.Unstructured{}
		json.Unmarshal(raw, &u.Object)
		if err := p.PrintObj(u, &out); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("watch event (noHeaders):\n%s", out.String())
}
