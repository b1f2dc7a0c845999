package podgc_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/podgc"
)

func pod(name, node string) *core.Pod {
	return &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec:       core.PodSpec{NodeName: node, Containers: []core.Container{{Name: "c", Image: "img"}}}}
}

func exists(t *testing.T, e *testenv.Env, names ...string) string {
	out := ""
	for _, n := range names {
		if testenv.Get[core.Pod](t, e, controller.Pods, "default", n) != nil {
			out += n + " "
		}
	}
	return out
}

func TestPodGC(t *testing.T) {
	e := testenv.New(t)
	testenv.Create(t, e, controller.Nodes, &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "real"}})
	// Four finished pods, oldest first (creation timestamps have second precision; ties are
	// broken by name, which grows with age here too).
	for i := range 4 {
		name := fmt.Sprintf("done-%d", i)
		testenv.Create(t, e, controller.Pods, pod(name, "real"))
		e.UpdatePodStatus(t, "default", name, func(p *core.Pod) { p.Status.Phase = core.PodSucceeded })
	}
	testenv.Create(t, e, controller.Pods, pod("running", "real"))
	testenv.Create(t, e, controller.Pods, pod("orphan", "ghost"))

	e.Start(t, podgc.New(e.CC, podgc.Options{TerminatedPodThreshold: 2, Period: 50 * time.Millisecond, Quarantine: 200 * time.Millisecond}))
	testenv.Eventually(t, "two oldest finished pods and the orphan gone", func() (bool, string) {
		got := exists(t, e, "done-0", "done-1", "done-2", "done-3", "running", "orphan")
		return got == "done-2 done-3 running ", got
	})
}
