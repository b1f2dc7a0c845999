// Package admissioncel is the CEL environment of admission expressions: webhook
// matchConditions (api/matchconditions) and ValidatingAdmissionPolicy expressions
// (matchConditions, variables, validations, messageExpressions, auditAnnotations) compile and
// evaluate here, as Kubernetes' k8s.io/apiserver/pkg/admission/plugin/cel has one compiler for
// both. An expression sees `object`, `oldObject` and `request` (the AdmissionRequest); a
// policy's expressions also see `params` (when the policy has a paramKind), `namespaceObject`
// and `variables.<name>` (each variable declared before the expression's own).
//
// Policy expressions also see `authorizer` (Kubernetes' authorizer library, authorizer.go);
// webhook matchConditions do not: there an expression naming it fails to compile with CEL's
// "undeclared reference" error.
package admissioncel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
)

// The variable names expressions see.
const (
	Object          = "object"
	OldObject       = "oldObject"
	Request         = "request"
	Params          = "params"
	NamespaceObject = "namespaceObject"
	// VariablesPrefix qualifies a policy variable: `variables.replicas` is declared as one
	// qualified identifier, so a name that no variable has fails to compile.
	VariablesPrefix = "variables."
)

// PerCallCostLimit bounds one expression's evaluation, as Kubernetes' PerCallLimit does.
const PerCallCostLimit = 1_000_000

// Options says which variables besides object, oldObject and request an environment declares.
type Options struct {
	Params          bool // params (a policy with a paramKind; matchConditions of such a policy too)
	NamespaceObject bool // namespaceObject (policy expressions)
	// Authorizer declares `authorizer` and `authorizer.requestResource` (Kubernetes'
	// authorizer library, authorizer.go).
	Authorizer bool
	// Types, when set, declares object and oldObject (and params) with the types of the
	// resource instead of dyn, so that type errors show at compile time (a policy's type
	// checking). Evaluation always uses dyn environments.
	Types *Types
}

// Types are the declared types of a typed environment.
type Types struct {
	Provider types.Provider
	Object   *cel.Type // object and oldObject
	Params   *cel.Type // nil: dyn
}

// Env is a CEL environment; it is immutable and safe for concurrent use.
type Env struct{ env *cel.Env }

// library is what Kubernetes' base environment offers that cel-go has: optionals, the
// strings, sets, lists, math and regex extensions, and comparisons across numeric types.
func library() []cel.EnvOption {
	return []cel.EnvOption{
		cel.OptionalTypes(), ext.Strings(), ext.Sets(), ext.Lists(), ext.Math(), ext.Regex(),
		cel.CrossTypeNumericComparisons(true),
	}
}

// NewEnv makes an environment.
func NewEnv(o Options) (*Env, error) {
	objType, paramsType := cel.DynType, cel.DynType
	opts := library()
	if o.Types != nil {
		opts = append(opts, cel.CustomTypeProvider(o.Types.Provider))
		if o.Types.Object != nil {
			objType = o.Types.Object
		}
		if o.Types.Params != nil {
			paramsType = o.Types.Params
		}
	}
	opts = append(opts,
		cel.Variable(Object, objType),
		cel.Variable(OldObject, objType),
		cel.Variable(Request, cel.DynType),
	)
	if o.Params {
		opts = append(opts, cel.Variable(Params, paramsType))
	}
	if o.NamespaceObject {
		opts = append(opts, cel.Variable(NamespaceObject, cel.DynType))
	}
	if o.Authorizer {
		opts = append(opts, authorizerLibrary()...)
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	return &Env{env: env}, nil
}

// WithVariable is e with one more policy variable, `variables.<name>` of type t.
func (e *Env) WithVariable(name string, t *cel.Type) (*Env, error) {
	env, err := e.env.Extend(cel.Variable(VariablesPrefix+name, t))
	if err != nil {
		return nil, err
	}
	return &Env{env: env}, nil
}

// ErrWrongType is an expression whose result type cannot be the one asked for.
var ErrWrongType = errors.New("must evaluate to")

// Program is one compiled expression.
type Program struct {
	Expression string
	// Type is the expression's checked result type (dyn where the environment cannot tell).
	Type *cel.Type
	prg  cel.Program
}

// Check parses and type-checks expr without building a program. want nil accepts any result
// type. Errors are CEL's own messages ("compilation failed: ERROR: <input>:1:5: ...") or
// "must evaluate to bool".
func (e *Env) Check(expr string, want *cel.Type) (*cel.Type, error) {
	_, t, err := e.check(expr, want)
	return t, err
}

func (e *Env) check(expr string, want *cel.Type) (*cel.Ast, *cel.Type, error) {
	ast, iss := e.env.Compile(expr)
	if iss.Err() != nil {
		return nil, nil, fmt.Errorf("compilation failed: %w", iss.Err())
	}
	t := ast.OutputType()
	if want != nil && !t.IsExactType(want) && !t.IsExactType(types.DynType) {
		return nil, nil, fmt.Errorf("%w %s", ErrWrongType, typeName(want))
	}
	return ast, t, nil
}

// Compile checks expr and builds its program.
func (e *Env) Compile(expr string, want *cel.Type) (*Program, error) {
	ast, t, err := e.check(expr, want)
	if err != nil {
		return nil, err
	}
	prg, err := e.env.Program(ast, cel.CostLimit(PerCallCostLimit))
	if err != nil {
		return nil, fmt.Errorf("program construction failed: %w", err)
	}
	return &Program{Expression: expr, Type: t, prg: prg}, nil
}

func typeName(t *cel.Type) string {
	switch {
	case t.IsExactType(types.BoolType):
		return "bool"
	case t.IsExactType(types.StringType):
		return "string"
	}
	return t.String()
}

// Activation holds the values of one evaluation: plain values (what encoding/json makes of an
// object: map[string]any, or nil) and lazily computed ones (policy variables, evaluated at
// most once however many expressions read them).
type Activation map[string]any

// SetLazy binds name to the result of f, computed on first use and then remembered.
func (a Activation) SetLazy(name string, f func() ref.Val) {
	var v ref.Val
	a[name] = func() ref.Val {
		if v == nil {
			v = f()
		}
		return v
	}
}

// Eval runs the program. A runtime failure (no such key, wrong type, cost exceeded) is an
// error.
func (p *Program) Eval(act Activation) (ref.Val, error) {
	out, _, err := p.prg.Eval(map[string]any(act))
	if err != nil {
		return nil, err
	}
	if types.IsError(out) {
		return nil, fmt.Errorf("%v", out)
	}
	return out, nil
}

// EvalBool runs a program whose result must be a bool.
func (p *Program) EvalBool(act Activation) (bool, error) {
	out, err := p.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("%w bool, got %s", ErrWrongType, out.Type())
	}
	return b, nil
}

// DecodeJSON decodes a JSON document into the values expressions see: objects as
// map[string]any, arrays as []any, and numbers as int64 when integral (as Kubernetes'
// unstructured decoding gives them, so that `object.spec.replicas % 2` is integer
// arithmetic), else float64.
func DecodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
