// Package matchconditions compiles and evaluates the CEL expressions of admission webhooks'
// matchConditions, as Kubernetes' k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions
// does: an expression sees `object`, `oldObject` and `request` (the AdmissionRequest) and must
// evaluate to a bool. The same compiler decides at validation time whether a configuration's
// expressions are acceptable, so a configuration that was stored always compiles. The CEL
// environment is the one every admission expression shares (api/admissioncel).
//
// Kubernetes' `authorizer` variable is not offered: an expression naming it fails to compile
// with CEL's "undeclared reference" error.
package matchconditions

import (
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"

	"github.com/skiff-sh/skiff/api/admissioncel"
)

// Vars are the values an expression is evaluated against: each is what encoding/json makes of
// the object (map[string]any), or nil where there is none (oldObject on create).
type Vars struct {
	Object, OldObject, Request any
}

// Program is one compiled expression.
type Program struct {
	Expression string
	prg        *admissioncel.Program
}

// Compiler compiles expressions in the matchConditions environment. It is safe for concurrent
// use.
type Compiler struct{ env *admissioncel.Env }

// NewCompiler makes the environment (the three variables, all dynamically typed).
func NewCompiler() (*Compiler, error) {
	env, err := admissioncel.NewEnv(admissioncel.Options{})
	if err != nil {
		return nil, fmt.Errorf("matchconditions: %w", err)
	}
	return &Compiler{env: env}, nil
}

// ErrNotBool is returned for an expression whose type cannot be a bool.
var ErrNotBool = errors.New("must evaluate to bool")

// Compile parses and type-checks expr. Its error is CEL's own message (a compilation error
// names the position) or ErrNotBool.
func (c *Compiler) Compile(expr string) (*Program, error) {
	prg, err := c.env.Compile(expr, cel.BoolType)
	if errors.Is(err, admissioncel.ErrWrongType) {
		return nil, fmt.Errorf("%w, got %s", ErrNotBool, exprType(c.env, expr))
	}
	if err != nil {
		return nil, err
	}
	return &Program{Expression: expr, prg: prg}, nil
}

func exprType(env *admissioncel.Env, expr string) string {
	t, err := env.Check(expr, nil)
	if err != nil {
		return "?"
	}
	return t.String()
}

// Eval runs the expression; an error is a runtime failure (no such key, wrong type, cost
// exceeded) or a non-bool result.
func (p *Program) Eval(v Vars) (bool, error) {
	out, err := p.prg.Eval(admissioncel.Activation{admissioncel.Object: v.Object, admissioncel.OldObject: v.OldObject, admissioncel.Request: v.Request})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%w, got %s", ErrNotBool, out.Type())
	}
	return b, nil
}
