// Package defaulttolerationseconds is Kubernetes' DefaultTolerationSeconds admission plugin:
// a new pod tolerates the not-ready and unreachable NoExecute taints for 300 s unless it
// already says how long it tolerates them, so the node lifecycle controller evicts it five
// minutes after its node is lost.
package defaulttolerationseconds

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Seconds is how long a pod stays on a node that is not ready or unreachable.
const Seconds = 300

// Plugin adds the tolerations.
type Plugin struct{}

func (Plugin) Name() string { return "DefaultTolerationSeconds" }

// Admit adds the tolerations to pods being created.
func (Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	p, ok := a.Object.(*core.Pod)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	AddTolerations(p)
	return nil
}

// AddTolerations gives p the two tolerations it lacks.
func AddTolerations(p *core.Pod) {
	for _, key := range []string{core.TaintNodeNotReady, core.TaintNodeUnreachable} {
		covered := false
		for _, t := range p.Spec.Tolerations {
			if (t.Key == key || t.Key == "" && t.Operator == core.TolerationOpExists) &&
				(t.Effect == core.TaintEffectNoExecute || t.Effect == "") {
				covered = true
				break
			}
		}
		if !covered {
			secs := int64(Seconds)
			p.Spec.Tolerations = append(p.Spec.Tolerations, core.Toleration{Key: key, Operator: core.TolerationOpExists,
				Effect: core.TaintEffectNoExecute, TolerationSeconds: &secs})
		}
	}
}
