package robustness

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The checker tells linearizable histories from others (so the suite can fail).
func TestModelCheck(t *testing.T) {
	op := func(client int, call, ret int64, in input, out output) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Call: call, Return: ret, Input: in, Output: out}
	}
	create := func(v string) input { return input{Key: "k", Kind: opCreate, Value: v} }
	get := input{Key: "k", Kind: opGet}
	tests := []struct {
		name    string
		history []porcupine.Operation
		ok      bool
	}{
		{"a read sees the write before it", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resOK}),
			op(1, 20, 30, get, output{Result: resOK, Value: "a"}),
		}, true},
		{"a read misses an acknowledged write", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resOK}),
			op(1, 20, 30, get, output{Result: resNotFound}),
		}, false},
		{"an unknown write may have happened", []porcupine.Operation{
			op(0, 0, math.MaxInt64, create("a"), output{Result: resUnknown}),
			op(1, 20, 30, get, output{Result: resOK, Value: "a"}),
		}, true},
		{"an unknown write may not have happened", []porcupine.Operation{
			op(0, 0, math.MaxInt64, create("a"), output{Result: resUnknown}),
			op(1, 20, 30, get, output{Result: resNotFound}),
		}, true},
		{"a value never written", []porcupine.Operation{
			op(1, 20, 30, get, output{Result: resOK, Value: "b"}),
		}, false},
		{"a stale compare-and-swap succeeding", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resOK}),
			op(0, 11, 20, input{Key: "k", Kind: opUpdate, Expect: "a", Value: "b"}, output{Result: resOK}),
			op(1, 21, 30, input{Key: "k", Kind: opUpdate, Expect: "a", Value: "c"}, output{Result: resOK}),
		}, false},
		{"a lost delete", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resOK}),
			op(0, 11, 20, input{Key: "k", Kind: opDelete}, output{Result: resOK}),
			op(1, 21, 30, get, output{Result: resOK, Value: "a"}),
		}, false},
		{"a write refused for a full database stored nothing", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resRejected}),
			op(1, 20, 30, get, output{Result: resNotFound}),
		}, true},
		{"a write refused for a full database is read back", []porcupine.Operation{
			op(0, 0, 10, create("a"), output{Result: resRejected}),
			op(1, 20, 30, get, output{Result: resOK, Value: "a"}),
		}, false},
	}
	for _, tc := range tests {
		if got := porcupine.CheckOperations(model, tc.history); got != tc.ok {
			t.Errorf("%s: linearizable = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
