// Package labels is Kubernetes' label selectors: the string grammar used by
// ?labelSelector= and kubectl -l ("app=web,tier in (a,b),!canary"), the structured
// meta.LabelSelector of specs, and the requirements the scheduler reuses for node affinity.
package labels

import (
	"slices"
	"strings"
)

// Labels is what a selector matches against.
type Labels interface {
	Has(label string) (exists bool)
	Get(label string) (value string)
}

// Set is a map of labels; it implements Labels.
type Set map[string]string

// String returns "k1=v1,k2=v2" sorted by key.
func (ls Set) String() string {
	pairs := make([]string, 0, len(ls))
	for k, v := range ls {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// Has reports whether the label exists.
func (ls Set) Has(label string) bool {
	_, ok := ls[label]
	return ok
}

// Get returns the label's value, or "".
func (ls Set) Get(label string) string { return ls[label] }

// AsSelector returns a selector matching exactly these labels.
func (ls Set) AsSelector() Selector { return SelectorFromSet(ls) }

// FormatLabels prints labels as kubectl does: "k=v,..." or "<none>".
func FormatLabels(labels map[string]string) string {
	if s := Set(labels).String(); s != "" {
		return s
	}
	return "<none>"
}
