// Package flowcontrol is the API server's priority and fairness filter, as Kubernetes'
// API Priority and Fairness (APF): every request is classified by the FlowSchemas into a
// priority level and a flow; each limited level has its share of the server's
// concurrency, and requests beyond it wait in that level's queues — a flow's requests in
// the shortest of a few queues dealt to it by shuffle sharding, the queues served in turn
// — or are refused with 429 when the queues are full or the wait is too long. A noisy
// client so fills only its own queues: other flows, and other levels (the node agents'
// heartbeats, the controllers), keep their seats.
//
// A list takes more seats the more objects it goes through (ListSeats, Kubernetes' list work
// estimate), at most 15% of its level's seats and 10; every other request takes one.
// Levels lend idle seats (lendablePercent) and borrow them (borrowingLimitPercent), see
// Controller.fitsLocked.
//
// What skiff leaves out, and why: watch initialisation and mutating requests' extra width
// for their watchers are not estimated (one seat); long-running requests (watch, exec,
// logs, proxy) are classified but hold no seat, as Kubernetes holds one only while a watch
// initialises; every limited level gets at least one seat.
package flowcontrol

import (
	"slices"
	"strings"

	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

// Request is what classification looks at: who asks, and for what.
type Request struct {
	User   string
	Groups []string

	// ResourceRequest: Verb, APIGroup, Resource, Subresource and Namespace describe the
	// resource; otherwise Verb and Path the non-resource URL.
	ResourceRequest                                  bool
	Verb, APIGroup, Resource, Subresource, Namespace string
	Path                                             string

	// Seats is the request's estimated width (ListSeats for lists; 0 counts as 1). It is
	// capped at its level's maximum once classified.
	Seats int
}

// objectsPerSeat: a list takes one seat per 100 objects it goes through (Kubernetes' list
// work estimator, by object count).
const objectsPerSeat = 100

// ListSeats estimates a list request's width as Kubernetes' list work estimator does
// from the number of objects stored of its resource (stored < 0: unknown, which, as for
// Kubernetes' resources it has no count of, costs one seat): one seat per 100 objects the
// list goes through — all of them when it is served from the watch cache, two per item
// returned when paged from etcd (limit, or all stored), the stored ones plus those when a
// selector filters the pages; one object for a list of a single name.
func ListSeats(stored, limit int64, fromStorage, selector, singleName bool) int {
	if stored < 0 {
		return 1
	}
	n := stored
	if limit > 0 && limit < stored {
		n = limit
	}
	var objects int64
	switch {
	case singleName:
		objects = 1
	case !fromStorage:
		objects = stored
	case selector:
		objects = stored + n
	default:
		objects = 2 * n
	}
	return max(1, int((objects+objectsPerSeat-1)/objectsPerSeat))
}

// matches reports whether fs's rules cover r. A schema with no rules matches nothing.
func matches(fs *fc.FlowSchema, r Request) bool {
	for _, rule := range fs.Spec.Rules {
		if !slices.ContainsFunc(rule.Subjects, func(s fc.Subject) bool { return subjectMatches(s, r) }) {
			continue
		}
		if r.ResourceRequest {
			if slices.ContainsFunc(rule.ResourceRules, func(rr fc.ResourcePolicyRule) bool { return resourceRuleMatches(rr, r) }) {
				return true
			}
		} else if slices.ContainsFunc(rule.NonResourceRules, func(nr fc.NonResourcePolicyRule) bool { return nonResourceRuleMatches(nr, r) }) {
			return true
		}
	}
	return false
}

const serviceAccountPrefix = "system:serviceaccount:"

func subjectMatches(s fc.Subject, r Request) bool {
	switch s.Kind {
	case fc.SubjectKindUser:
		return s.User != nil && (s.User.Name == fc.NameAll || s.User.Name == r.User)
	case fc.SubjectKindGroup:
		return s.Group != nil && (s.Group.Name == fc.NameAll || slices.Contains(r.Groups, s.Group.Name))
	case fc.SubjectKindServiceAccount:
		if s.ServiceAccount == nil {
			return false
		}
		ns, name, ok := strings.Cut(strings.TrimPrefix(r.User, serviceAccountPrefix), ":")
		if !ok || !strings.HasPrefix(r.User, serviceAccountPrefix) || ns != s.ServiceAccount.Namespace {
			return false
		}
		return s.ServiceAccount.Name == fc.NameAll || s.ServiceAccount.Name == name
	}
	return false
}

func resourceRuleMatches(rr fc.ResourcePolicyRule, r Request) bool {
	if !listMatches(rr.Verbs, r.Verb, fc.VerbAll) || !listMatches(rr.APIGroups, r.APIGroup, fc.APIGroupAll) {
		return false
	}
	resource := r.Resource
	if r.Subresource != "" {
		resource += "/" + r.Subresource
	}
	if !listMatches(rr.Resources, resource, fc.ResourceAll) {
		return false
	}
	if r.Namespace == "" {
		return rr.ClusterScope
	}
	return listMatches(rr.Namespaces, r.Namespace, fc.NamespaceEvery)
}

func nonResourceRuleMatches(nr fc.NonResourcePolicyRule, r Request) bool {
	if !listMatches(nr.Verbs, r.Verb, fc.VerbAll) {
		return false
	}
	for _, u := range nr.NonResourceURLs {
		if u == fc.NonResourceAll || u == r.Path {
			return true
		}
		// "/apis/*" covers /apis and everything under it, as in Kubernetes.
		if prefix, ok := strings.CutSuffix(u, "*"); ok && strings.HasPrefix(r.Path, prefix) {
			return true
		}
		if prefix, ok := strings.CutSuffix(u, "/*"); ok && r.Path == prefix {
			return true
		}
	}
	return false
}

func listMatches(list []string, v, all string) bool {
	return slices.Contains(list, all) || slices.Contains(list, v)
}

// flowDistinguisher is the part of a flow's identity the schema's method picks.
func flowDistinguisher(fs *fc.FlowSchema, r Request) string {
	if fs.Spec.DistinguisherMethod == nil {
		return ""
	}
	switch fs.Spec.DistinguisherMethod.Type {
	case fc.FlowDistinguisherMethodByUserType:
		return r.User
	case fc.FlowDistinguisherMethodByNamespaceType:
		return r.Namespace
	}
	return ""
}
