// Package matchconditions compiles and evaluates the CEL expressions of admission webhooks'
// matchConditions, as Kubernetes' k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions
// does: an expression sees `object`, `oldObject` and `request` (the AdmissionRequest) and must
// evaluate to a bool. The same compiler decides at validation time whether a configuration's
// expressions are acceptable, so a configuration that was stored always compiles.
//
// Kubernetes' `authorizer` variable is not offered: an expression naming it fails to compile
// with CEL's "undeclared reference" error.
package matchconditions

import (
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// Vars are the values an expression is evaluated against: each is what encoding/json makes of
// the object (map[string]any), or nil where there is none (oldObject on create).
type Vars struct {
	Object, OldObject, Request any
}

// Program is one compiled expression.
type Program struct {
	Expression string
	prg        cel.Program
}

// Compiler compiles expressions in the matchConditions environment. It is safe for concurrent
// use.
type Compiler struct{ env *cel.Env }

// NewCompiler makes the environment (the three variables, all dynamically typed, and CEL's
// standard macros and extension-free library, as Kubernetes' base environment offers).
func NewCompiler() (*Compiler, error) {
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("oldObject", cel.DynType),
		cel.Variable("request", cel.DynType),
	)
	if err != nil {
		return nil, fmt.Errorf("matchconditions: CEL environment: %w", err)
	}
	return &Compiler{env: env}, nil
}

// ErrNotBool is returned for an expression whose type cannot be a bool.
var ErrNotBool = errors.New("must evaluate to bool")

// costLimit bounds an expression's evaluation cost (Kubernetes' per-expression limit for
// webhook match conditions is the same order: PerCallLimit 1,000,000).
const costLimit = 1_000_000

// Compile parses and type-checks expr. Its error is CEL's own message (a compilation error
// names the position) or ErrNotBool.
func (c *Compiler) Compile(expr string) (*Program, error) {
	ast, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("compilation failed: %w", iss.Err())
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, fmt.Errorf("%w, got %s", ErrNotBool, t)
	}
	prg, err := c.env.Program(ast, cel.CostLimit(costLimit))
	if err != nil {
		return nil, fmt.Errorf("program construction failed: %w", err)
	}
	return &Program{Expression: expr, prg: prg}, nil
}

// Eval runs the expression; an error is a runtime failure (no such key, wrong type, cost
// exceeded) or a non-bool result.
func (p *Program) Eval(v Vars) (bool, error) {
	out, _, err := p.prg.Eval(map[string]any{"object": v.Object, "oldObject": v.OldObject, "request": v.Request})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%w, got %s", ErrNotBool, out.Type())
	}
	return b, nil
}
