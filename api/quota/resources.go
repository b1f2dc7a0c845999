// Package quota is Kubernetes' quota arithmetic and usage evaluation (pkg/quota/v1 and its
// evaluators), written once for the API server's ResourceQuota admission plugin, which charges
// a quota before an object is stored, and the controller manager's resourcequota controller,
// which recalculates status.used from what is stored. Both must measure an object the same
// way, or admission and the controller would fight over status.used.
package quota

import (
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

// Add returns a + b (resources in either).
func Add(a, b core.ResourceList) core.ResourceList {
	out := core.ResourceList{}
	for k, v := range a {
		out[k] = v.DeepCopy()
	}
	for k, v := range b {
		q, ok := out[k]
		if !ok {
			out[k] = v.DeepCopy()
			continue
		}
		q.Add(v)
		out[k] = q
	}
	return out
}

// Subtract returns a - b (resources in either; may be negative).
func Subtract(a, b core.ResourceList) core.ResourceList {
	out := core.ResourceList{}
	for k, v := range a {
		out[k] = v.DeepCopy()
	}
	for k, v := range b {
		q, ok := out[k]
		if !ok {
			q = resource.Quantity{}
		}
		q.Sub(v)
		out[k] = q
	}
	return out
}

// SubtractWithNonNegativeResult is a - b with negative results replaced by zero (an update
// that lowers usage is not a credit at admission; the controller gives it back).
func SubtractWithNonNegativeResult(a, b core.ResourceList) core.ResourceList {
	out := Subtract(a, b)
	for k, v := range out {
		if v.Sign() < 0 {
			out[k] = resource.Quantity{}
		}
	}
	return out
}

// Mask keeps the resources of list named in names.
func Mask(list core.ResourceList, names []core.ResourceName) core.ResourceList {
	out := core.ResourceList{}
	for _, n := range names {
		if v, ok := list[n]; ok {
			out[n] = v.DeepCopy()
		}
	}
	return out
}

// LessThanOrEqual reports whether a[r] <= b[r] for every r in a that b names, and the
// resources that are not.
func LessThanOrEqual(a, b core.ResourceList) (bool, []core.ResourceName) {
	var exceeded []core.ResourceName
	for k, v := range a {
		if lim, ok := b[k]; ok && v.Cmp(lim) > 0 {
			exceeded = append(exceeded, k)
		}
	}
	sortNames(exceeded)
	return len(exceeded) == 0, exceeded
}

// Equals reports whether a and b hold the same resources with equal amounts.
func Equals(a, b core.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// RemoveZeros drops the zero amounts.
func RemoveZeros(list core.ResourceList) core.ResourceList {
	out := core.ResourceList{}
	for k, v := range list {
		if !v.IsZero() {
			out[k] = v
		}
	}
	return out
}

// IsNegative names the resources with a negative amount.
func IsNegative(list core.ResourceList) []core.ResourceName {
	var out []core.ResourceName
	for k, v := range list {
		if v.Sign() < 0 {
			out = append(out, k)
		}
	}
	sortNames(out)
	return out
}

// ResourceNames are the names in list, sorted.
func ResourceNames(list core.ResourceList) []core.ResourceName {
	out := make([]core.ResourceName, 0, len(list))
	for k := range list {
		out = append(out, k)
	}
	sortNames(out)
	return out
}

// Intersection is the names in both a and b, in a's order.
func Intersection(a, b []core.ResourceName) []core.ResourceName {
	var out []core.ResourceName
	for _, x := range a {
		for _, y := range b {
			if x == y {
				out = append(out, x)
				break
			}
		}
	}
	return out
}

// PrettyPrint is Kubernetes' "name=amount,name=amount" with names sorted, as quota refusals
// print them.
func PrettyPrint(list core.ResourceList) string {
	parts := make([]string, 0, len(list))
	for _, n := range ResourceNames(list) {
		q := list[n]
		parts = append(parts, string(n)+"="+q.String())
	}
	return strings.Join(parts, ",")
}

// PrettyPrintNames joins names with ",", sorted.
func PrettyPrintNames(names []core.ResourceName) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func sortNames(n []core.ResourceName) {
	sort.Slice(n, func(i, j int) bool { return n[i] < n[j] })
}
