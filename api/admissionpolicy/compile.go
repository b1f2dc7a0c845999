// Package admissionpolicy compiles the CEL expressions of a ValidatingAdmissionPolicy: its
// matchConditions, variables, validations (expression and messageExpression) and
// auditAnnotations. Validation (api/validation) compiles a policy to refuse one whose
// expressions do not compile, the admission plugin (apiserver/admission/policy) compiles it to
// evaluate, and the type checker compiles it against the matched resources' types to report
// warnings in status.typeChecking: the same rules in all three places.
package admissionpolicy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/cel-go/cel"
	celtypes "github.com/google/cel-go/common/types"

	"github.com/skiff-sh/skiff/api/admissioncel"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Named is a compiled expression with the name it was given (a match condition's or a
// variable's).
type Named struct {
	Name    string
	Program *admissioncel.Program
}

// Validation is one compiled validation.
type Validation struct {
	Expression *admissioncel.Program
	Message    string
	// MessageExpression is nil when the validation has none.
	MessageExpression *admissioncel.Program
	Reason            string // "Invalid" when unset
}

// AuditAnnotation is one compiled audit annotation.
type AuditAnnotation struct {
	Key   string
	Value *admissioncel.Program
}

// Compiled is a policy's expressions, ready to evaluate.
type Compiled struct {
	HasParams        bool
	MatchConditions  []Named
	Variables        []Named // in order: each may read the ones before it
	Validations      []Validation
	AuditAnnotations []AuditAnnotation
}

var celIdentifier = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)

// celReserved are CEL's reserved words, which cannot name a variable.
var celReserved = map[string]bool{"true": true, "false": true, "null": true, "in": true, "as": true, "break": true,
	"const": true, "continue": true, "else": true, "for": true, "function": true, "if": true, "import": true,
	"let": true, "loop": true, "package": true, "namespace": true, "return": true, "var": true, "void": true, "while": true}

// Compile compiles every expression of spec. types nil compiles for evaluation (object,
// oldObject and params are dyn); otherwise the expressions are checked against those types.
// Each failing expression is one error naming its field under spec ("spec.validations[0].expression"),
// with Kubernetes' wording; the Compiled holds the expressions that did compile.
func Compile(spec *ar.ValidatingAdmissionPolicySpec, types *admissioncel.Types) (*Compiled, field.ErrorList) {
	p := field.NewPath("spec")
	c := &Compiled{HasParams: spec.ParamKind != nil}
	env, err := admissioncel.NewEnv(admissioncel.Options{Params: c.HasParams, NamespaceObject: true, Authorizer: true, Types: types})
	if err != nil {
		return c, field.ErrorList{field.InternalError(p, err)}
	}
	var errs field.ErrorList
	for i, v := range spec.Variables {
		vp := p.Child("variables").Index(i)
		if strings.TrimSpace(v.Name) == "" {
			errs = append(errs, field.Required(vp.Child("name"), "name is not specified"))
		} else if !celIdentifier.MatchString(v.Name) || celReserved[v.Name] {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, "name is not a valid CEL identifier"))
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
			continue
		}
		prg, err := env.Compile(v.Expression, nil)
		if err != nil {
			errs = append(errs, field.Invalid(vp.Child("expression"), v.Expression, err.Error()))
			continue
		}
		if v.Name != "" {
			if next, err := env.WithVariable(v.Name, prg.Type); err == nil {
				env = next
			}
		}
		c.Variables = append(c.Variables, Named{v.Name, prg})
	}
	for i, m := range spec.MatchConditions {
		expr := strings.TrimSpace(m.Expression)
		if expr == "" {
			continue // validation reports it
		}
		prg, err := env.Compile(expr, cel.BoolType)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("matchConditions").Index(i).Child("expression"), m.Expression, err.Error()))
			continue
		}
		c.MatchConditions = append(c.MatchConditions, Named{m.Name, prg})
	}
	for i, v := range spec.Validations {
		vp := p.Child("validations").Index(i)
		cv := Validation{Message: v.Message, Reason: "Invalid"}
		if v.Reason != nil && *v.Reason != "" {
			cv.Reason = *v.Reason
		}
		if strings.TrimSpace(v.Expression) == "" {
			errs = append(errs, field.Required(vp.Child("expression"), "expression is not specified"))
		} else if prg, err := env.Compile(v.Expression, cel.BoolType); err != nil {
			errs = append(errs, field.Invalid(vp.Child("expression"), v.Expression, err.Error()))
		} else {
			cv.Expression = prg
		}
		if strings.TrimSpace(v.MessageExpression) != "" {
			// The original text, not trimmed, so that an error's column is right.
			if prg, err := env.Compile(v.MessageExpression, cel.StringType); err != nil {
				errs = append(errs, field.Invalid(vp.Child("messageExpression"), v.MessageExpression, err.Error()))
			} else {
				cv.MessageExpression = prg
			}
		}
		if cv.Expression != nil {
			c.Validations = append(c.Validations, cv)
		}
	}
	for i, a := range spec.AuditAnnotations {
		expr := strings.TrimSpace(a.ValueExpression)
		if expr == "" {
			continue // validation reports it
		}
		// A string, or null for no annotation.
		prg, err := env.Compile(expr, nil)
		if err == nil && !prg.Type.IsExactType(celtypes.StringType) && !prg.Type.IsExactType(celtypes.NullType) && !prg.Type.IsExactType(celtypes.DynType) {
			err = fmt.Errorf("must evaluate to one of [string null_type]")
		}
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("auditAnnotations").Index(i).Child("valueExpression"), a.ValueExpression, err.Error()))
			continue
		}
		c.AuditAnnotations = append(c.AuditAnnotations, AuditAnnotation{a.Key, prg})
	}
	return c, errs
}

// String describes a compiled policy's size, for logs.
func (c *Compiled) String() string {
	return fmt.Sprintf("%d match conditions, %d variables, %d validations, %d audit annotations",
		len(c.MatchConditions), len(c.Variables), len(c.Validations), len(c.AuditAnnotations))
}
