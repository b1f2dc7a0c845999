// Package robustness is skiff's fault-injection suite: a history of concurrent operations
// against the API server, recorded while its processes and its etcd members are killed and
// restarted, then checked — linearizable (porcupine, as etcd's own robustness tests do),
// every acknowledged write present, every watch event delivered once in revision order.
package robustness

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// The model is one ConfigMap per key whose state is its value ("" when it does not exist).
// Every write writes a value never written before, so an update's resourceVersion
// precondition is the same as "the value is still the one read".
type opKind string

const (
	opCreate opKind = "create"
	opGet    opKind = "get"
	opUpdate opKind = "update" // compare-and-swap: expect is the value read before
	opDelete opKind = "delete"
)

type input struct {
	Key    string
	Kind   opKind
	Value  string // create, update: the value written
	Expect string // update: the value the precondition names
}

// result is an operation's answer as the client saw it.
type result string

const (
	resOK       result = "ok"
	resExists   result = "exists"    // create: 409 AlreadyExists
	resConflict result = "conflict"  // update: 409 Conflict
	resNotFound result = "not found" // update, delete, get: 404
	resUnknown  result = "unknown"   // no answer (connection lost, timeout, 5xx): may or may not have happened
	// resRejected: a write refused with 507 (etcd's NOSPACE alarm), which the API server
	// promises stored nothing. The model holds it to that: the state is unchanged, so a
	// later read of the refused value makes the history illegal.
	resRejected result = "rejected"
)

type output struct {
	Result result
	Value  string // get: the value read
}

// step is the model: the states after applying in to state with the outcome out (none:
// the outcome is impossible from that state). An unknown outcome leaves both the applied
// and the untouched state possible.
func step(state string, in input, out output) []any {
	if out.Result == resUnknown {
		next, _ := apply(state, in)
		return []any{state, next}
	}
	if out.Result == resRejected {
		if in.Kind == opGet {
			return nil
		}
		return []any{state}
	}
	next, res := apply(state, in)
	if res != out.Result {
		return nil
	}
	if in.Kind == opGet && out.Value != state {
		return nil
	}
	return []any{next}
}

// apply is what the operation does to state, and the answer it gives.
func apply(state string, in input) (string, result) {
	switch in.Kind {
	case opCreate:
		if state != "" {
			return state, resExists
		}
		return in.Value, resOK
	case opGet:
		if state == "" {
			return state, resNotFound
		}
		return state, resOK
	case opUpdate:
		switch state {
		case "":
			return state, resNotFound
		case in.Expect:
			return in.Value, resOK
		}
		return state, resConflict
	case opDelete:
		if state == "" {
			return state, resNotFound
		}
		return "", resOK
	}
	panic("unknown operation " + in.Kind)
}

var model = (&porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() []any { return []any{""} },
	Step: func(state, in, out any) []any { return step(state.(string), in.(input), out.(output)) },
	DescribeOperation: func(in, out any) string {
		i, o := in.(input), out.(output)
		switch i.Kind {
		case opGet:
			return fmt.Sprintf("get(%s) → %s %q", i.Key, o.Result, o.Value)
		case opUpdate:
			return fmt.Sprintf("update(%s, %q→%q) → %s", i.Key, i.Expect, i.Value, o.Result)
		}
		return fmt.Sprintf("%s(%s, %q) → %s", i.Kind, i.Key, i.Value, o.Result)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}).ToModel()
