package scheduling

// DecisionAnnotation is skiff's own annotation (no Kubernetes kind has this): the scheduler
// puts on the pod, in the Binding it posts (pods/binding copies a Binding's annotations onto
// the pod, as in Kubernetes), why it chose the node: how many nodes the filters kept, why the
// others were rejected, and the best scores. It lives as long as the pod, costs no extra
// write, and leaves the Scheduled event's message exactly Kubernetes'
// ("Successfully assigned NS/NAME to NODE"), which tools parse.
const DecisionAnnotation = "scheduling.skiff.sh/decision"

// MaxDecisionScores bounds the scores a Decision lists, so the annotation stays small on a
// cluster of thousands of nodes.
const MaxDecisionScores = 5

// Decision is the JSON value of DecisionAnnotation.
type Decision struct {
	// Profile is the scheduler profile (spec.schedulerName) that placed the pod.
	Profile string `json:"profile"`
	// Node is the chosen node.
	Node string `json:"node"`
	// Nodes is how many nodes the scheduler knew; Evaluated how many the filters ran on
	// (fewer on large clusters: percentageOfNodesToScore); Feasible how many passed them.
	Nodes     int `json:"nodes"`
	Evaluated int `json:"evaluated"`
	Feasible  int `json:"feasible"`
	// Rejected counts the filter reasons of the nodes that failed (as FailedScheduling
	// words them: "Insufficient cpu", "node(s) had untolerated taint {...}"), most first.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Policy is set when the profile places pods by a teaching policy (RoundRobin, Random,
	// LeastPods) instead of scores.
	Policy string `json:"policy,omitempty"`
	// Scores are the best feasible nodes by total score, best first (at most
	// MaxDecisionScores); empty when one node was feasible or a policy chose.
	Scores []NodeScore `json:"scores,omitempty"`
	// Why says in a sentence how the node was chosen.
	Why string `json:"why"`
}

// Rejection is one filter reason and how many nodes it rejected.
type Rejection struct {
	Plugin string `json:"plugin"`
	Reason string `json:"reason"`
	Nodes  int    `json:"nodes"`
}

// NodeScore is a node's total score and each Score plugin's weighted, normalized share.
type NodeScore struct {
	Node    string           `json:"node"`
	Total   int64            `json:"total"`
	Plugins map[string]int64 `json:"plugins,omitempty"`
}
