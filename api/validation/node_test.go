package validation

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/resource"
)

func TestValidateRuntimeClass(t *testing.T) {
	valid := func() *node.RuntimeClass {
		return &node.RuntimeClass{ObjectMeta: objectMeta("sandboxed", ""), Handler: "runsc",
			Overhead:   &node.Overhead{PodFixed: core.ResourceList{core.ResourceCPU: resource.MustParse("250m")}},
			Scheduling: &node.Scheduling{NodeSelector: map[string]string{"runtime": "gvisor"}}}
	}
	tol := core.Toleration{Key: "sandbox", Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}
	runCreateCases(t, valid, false, []objectCase[node.RuntimeClass]{
		{name: "valid"},
		{name: "handler required", mutate: func(rc *node.RuntimeClass) { rc.Handler = "" }, want: []string{"handler" + invalid}},
		{name: "handler a DNS label", mutate: func(rc *node.RuntimeClass) { rc.Handler = "Run.SC" }, want: []string{"handler" + invalid}},
		{name: "negative overhead", mutate: func(rc *node.RuntimeClass) {
			rc.Overhead.PodFixed[core.ResourceMemory] = resource.MustParse("-1Mi")
		}, want: []string{"overhead.limits[memory]" + invalid}},
		{name: "bad node selector label", mutate: func(rc *node.RuntimeClass) { rc.Scheduling.NodeSelector["bad key!"] = "x" },
			want: []string{"scheduling.nodeSelector" + invalid}},
		{name: "duplicate toleration", mutate: func(rc *node.RuntimeClass) { rc.Scheduling.Tolerations = []core.Toleration{tol, tol} },
			want: []string{"scheduling.tolerations[1]" + duplicate}},
		{name: "cluster-scoped", mutate: func(rc *node.RuntimeClass) { rc.Namespace = "default" }, want: []string{"metadata.namespace" + forbidden}},
	})
	runUpdateCases(t, valid, false, []updateCase[node.RuntimeClass]{
		{name: "scheduling may change", mutate: func(rc *node.RuntimeClass) { rc.Scheduling.NodeSelector["zone"] = "a" }},
		{name: "handler fixed", mutate: func(rc *node.RuntimeClass) { rc.Handler = "runc" }, want: []string{"handler" + invalid}},
	})
}
