package job

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
)

// indexSet is a set of completion indexes, written as Kubernetes writes
// status.completedIndexes: sorted, with runs of three or more as ranges ("0,2-5,7").
type indexSet map[int]struct{}

func parseIndexSet(s string, limit int) indexSet {
	out := indexSet{}
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b && i < limit; i++ {
			out[i] = struct{}{}
		}
	}
	return out
}

func (s indexSet) sorted() []int {
	out := make([]int, 0, len(s))
	for i := range s {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

func (s indexSet) String() string {
	idx := s.sorted()
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(idx[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(idx[i]), strconv.Itoa(idx[j]))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", idx[i], idx[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// completionIndex is a pod's completion index, -1 when it has none (or a bad one).
func completionIndex(p *core.Pod) int {
	v, ok := p.Annotations[batch.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = p.Labels[batch.JobCompletionIndexAnnotation]
	}
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// withIndex makes a template the pod of completion index i: the index as annotation and
// label, the JOB_COMPLETION_INDEX variable in every container, and a stable hostname.
func withIndex(t *core.PodTemplateSpec, jobName string, i int) {
	v := strconv.Itoa(i)
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	t.Annotations[batch.JobCompletionIndexAnnotation] = v
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[batch.JobCompletionIndexAnnotation] = v
	if t.Spec.Hostname == "" {
		t.Spec.Hostname = fmt.Sprintf("%s-%d", jobName, i)
	}
	env := core.EnvVar{Name: "JOB_COMPLETION_INDEX", ValueFrom: &core.EnvVarSource{FieldRef: &core.ObjectFieldSelector{
		APIVersion: "v1", FieldPath: fmt.Sprintf("metadata.annotations['%s']", batch.JobCompletionIndexAnnotation)}}}
	for _, cs := range [][]core.Container{t.Spec.InitContainers, t.Spec.Containers} {
		for k := range cs {
			has := false
			for _, e := range cs[k].Env {
				has = has || e.Name == env.Name
			}
			if !has {
				cs[k].Env = append(cs[k].Env, env)
			}
		}
	}
}
