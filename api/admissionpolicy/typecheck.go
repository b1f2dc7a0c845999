package admissionpolicy

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/common/types"

	"github.com/skiff-sh/skiff/api/admissioncel"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
)

// Resource is one kind a policy's expressions are type-checked against.
type Resource struct {
	GVK    string // "apps/v1, Kind=Deployment", as warnings name it
	Object *types.Type
}

// TypeCheck checks the validations' expressions and messageExpressions against the types of
// each resource (params typed as params, nil for dyn), as Kubernetes' policy type checker
// does: an expression that compiles with dyn objects but not with typed ones (a field that
// does not exist, an operator applied to the wrong types) gets a warning naming its field,
// with one line per resource it fails for. The policy itself is valid whatever the warnings.
func TypeCheck(spec *ar.ValidatingAdmissionPolicySpec, b *admissioncel.TypeBuilder, resources []Resource, params *types.Type) []ar.ExpressionWarning {
	issues := map[string][]string{}
	for _, r := range resources {
		_, errs := Compile(spec, b.Types(r.Object, params))
		for _, e := range errs {
			msg := strings.TrimPrefix(e.Detail, "compilation failed: ")
			issues[e.Field] = append(issues[e.Field], fmt.Sprintf("%s: %s\n", r.GVK, msg))
		}
	}
	var out []ar.ExpressionWarning
	add := func(ref string) {
		if msgs := issues[ref]; len(msgs) > 0 {
			out = append(out, ar.ExpressionWarning{FieldRef: ref, Warning: strings.Join(msgs, "\n")})
		}
	}
	for i := range spec.Validations {
		add(fmt.Sprintf("spec.validations[%d].expression", i))
		add(fmt.Sprintf("spec.validations[%d].messageExpression", i))
	}
	return out
}
