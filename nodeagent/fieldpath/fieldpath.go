// Package fieldpath resolves the downward API: the pod fields and container resources
// that env vars (valueFrom.fieldRef, resourceFieldRef) and downwardAPI volumes expose.
package fieldpath

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

// PodField returns the value of a fieldRef path for pod. podIP and hostIP are passed in
// because the pod's status may not carry them yet when a container starts.
func PodField(pod *core.Pod, path, podIP, hostIP string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return pod.UID, nil
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok {
		return "", false
	}
	key, ok := strings.CutSuffix(rest, "']")
	return key, ok
}

// FormatMap renders labels or annotations as the downward API does: key="value" lines,
// sorted by key.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(k + "=" + strconv.Quote(m[k]))
	}
	return b.String()
}

// ContainerResource returns a resourceFieldRef's value for container c: the request or
// limit divided by the divisor, rounded up. A missing limit is the node's allocatable
// amount, as in Kubernetes.
func ContainerResource(c *core.Container, sel *core.ResourceFieldSelector, allocatable core.ResourceList) (string, error) {
	kind, name, ok := strings.Cut(sel.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resource %q", sel.Resource)
	}
	rn := core.ResourceName(name)
	var q resource.Quantity
	var found bool
	if kind == "limits" {
		if q, found = c.Resources.Limits[rn]; !found {
			q = allocatable[rn]
		}
	} else {
		q, found = c.Resources.Requests[rn]
		if !found {
			q = c.Resources.Limits[rn] // a request defaults to the limit; with neither it is 0
		}
	}
	divisor := sel.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch rn {
	case core.ResourceCPU:
		v := int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))
		return strconv.FormatInt(v, 10), nil
	case core.ResourceMemory, core.ResourceEphemeralStorage:
		v := int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("unsupported resource %q", sel.Resource)
}
