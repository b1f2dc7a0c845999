package schema

// CEL validation rules (x-kubernetes-validations), evaluated with github.com/google/cel-go as
// Kubernetes does: each rule sees the value of the field it is attached to as `self`;
// a rule that uses `oldSelf` is a transition rule, evaluated only on updates where the old
// object has a value at the same place (through object fields, map keys and the keys of
// listType=map lists; never through other lists). A failing rule reports the field path
// (plus the rule's fieldPath), the field's type and the rule's message — or its
// messageExpression's result, or "failed rule: <rule>".

import (
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// perCallCostLimit bounds one rule's evaluation, as Kubernetes' PerCallLimit does.
const perCallCostLimit = 1000000

// celRules mirrors the schema's shape, holding the compiled rules of each node.
type celRules struct {
	rules       []compiledRule
	props       map[string]*celRules
	items       *celRules
	additional  *celRules
	listType    string
	listMapKeys []string
	typ         string
}

type compiledRule struct {
	rule       apiextensions.ValidationRule
	prog       cel.Program
	msgProg    cel.Program // messageExpression, if any
	transition bool        // uses oldSelf
}

type celCompileError struct{ errs field.ErrorList }

func (e celCompileError) Error() string { return e.errs.ToAggregate().Error() }

func celEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("self", cel.DynType),
		cel.Variable("oldSelf", cel.DynType),
		cel.OptionalTypes(), ext.Strings(), ext.Sets(), ext.Lists(), ext.Math(), ext.Regex(),
		cel.CrossTypeNumericComparisons(true),
	)
}

// compileCEL compiles every rule of the schema; nil (and no error) when there is none.
// Compilation errors come back as a celCompileError naming each rule's path, relative to the
// schema's root (ValidateStructural prefixes it).
func compileCEL(props *apiextensions.JSONSchemaProps, base *field.Path) (*celRules, error) {
	if !anyRules(props) {
		return nil, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	var errs field.ErrorList
	root := compileNode(env, props, base, &errs)
	if len(errs) > 0 {
		return nil, celCompileError{errs}
	}
	return root, nil
}

func anyRules(s *apiextensions.JSONSchemaProps) bool {
	if s == nil {
		return false
	}
	if len(s.XValidations) > 0 {
		return true
	}
	for k := range s.Properties {
		p := s.Properties[k]
		if anyRules(&p) {
			return true
		}
	}
	if s.Items != nil && anyRules(s.Items.Schema) {
		return true
	}
	return s.AdditionalProperties != nil && anyRules(s.AdditionalProperties.Schema)
}

func compileNode(env *cel.Env, s *apiextensions.JSONSchemaProps, p *field.Path, errs *field.ErrorList) *celRules {
	if s == nil || !anyRules(s) {
		return nil
	}
	n := &celRules{typ: s.Type, listMapKeys: s.XListMapKeys}
	if s.XListType != nil {
		n.listType = *s.XListType
	}
	if s.XIntOrString {
		n.typ = "int-or-string"
	}
	for i, r := range s.XValidations {
		rp := child(p, "x-kubernetes-validations").Index(i)
		prog, transition, err := compileExpr(env, r.Rule, cel.BoolType)
		if err != nil {
			*errs = append(*errs, field.Invalid(rp.Child("rule"), r.Rule, err.Error()))
			continue
		}
		cr := compiledRule{rule: r, prog: prog, transition: transition}
		if r.MessageExpression != "" {
			mp, _, err := compileExpr(env, r.MessageExpression, cel.StringType)
			if err != nil {
				*errs = append(*errs, field.Invalid(rp.Child("messageExpression"), r.MessageExpression, err.Error()))
				continue
			}
			cr.msgProg = mp
		}
		if r.Reason != nil {
			switch *r.Reason {
			case apiextensions.FieldValueRequired, apiextensions.FieldValueDuplicate, apiextensions.FieldValueInvalid, apiextensions.FieldValueForbidden:
			default:
				*errs = append(*errs, field.NotSupported(rp.Child("reason"), *r.Reason, []string{"FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"}))
			}
		}
		n.rules = append(n.rules, cr)
	}
	for _, k := range sortedKeys(s.Properties) {
		ps := s.Properties[k]
		if c := compileNode(env, &ps, child(p, "properties").Key(k), errs); c != nil {
			if n.props == nil {
				n.props = map[string]*celRules{}
			}
			n.props[k] = c
		}
	}
	if s.Items != nil {
		n.items = compileNode(env, s.Items.Schema, child(p, "items"), errs)
	}
	if s.AdditionalProperties != nil {
		n.additional = compileNode(env, s.AdditionalProperties.Schema, child(p, "additionalProperties"), errs)
	}
	return n
}

func compileExpr(env *cel.Env, expr string, want *cel.Type) (cel.Program, bool, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, false, fmt.Errorf("compilation failed: %v", iss.Err())
	}
	if ast.OutputType() != want && ast.OutputType() != cel.DynType {
		return nil, false, fmt.Errorf("must evaluate to %s", strings.ToLower(want.String()))
	}
	transition := false
	for _, ref := range referencedVariables(ast) {
		if ref == "oldSelf" {
			transition = true
		}
	}
	prog, err := env.Program(ast, cel.CostLimit(perCallCostLimit))
	if err != nil {
		return nil, false, fmt.Errorf("program construction failed: %v", err)
	}
	return prog, transition, nil
}

// referencedVariables lists the variables an expression reads.
func referencedVariables(ast *cel.Ast) []string {
	var out []string
	checked, err := cel.AstToCheckedExpr(ast)
	if err != nil {
		return nil
	}
	for _, r := range checked.GetReferenceMap() {
		if r.GetName() != "" && len(r.GetOverloadId()) == 0 {
			out = append(out, r.GetName())
		}
	}
	return out
}

// validate evaluates the rules over obj (and old, nil on create).
func (n *celRules) validate(_ *apiextensions.JSONSchemaProps, obj, old any, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n.eval(obj, old, old != nil, p, &errs)
	return errs
}

func (n *celRules) eval(x, old any, hasOld bool, p *field.Path, errs *field.ErrorList) {
	if n == nil || x == nil {
		return
	}
	for _, r := range n.rules {
		if r.transition && !hasOld {
			continue
		}
		vars := map[string]any{"self": x}
		if hasOld {
			vars["oldSelf"] = old
		} else {
			vars["oldSelf"] = types.NullValue
		}
		out, _, err := r.prog.Eval(vars)
		fp := p
		if r.rule.FieldPath != "" {
			fp = appendFieldPath(p, r.rule.FieldPath)
		}
		if err != nil {
			if strings.Contains(err.Error(), "cost") {
				*errs = append(*errs, field.Invalid(fp, typeName(n.typ), "validation failed due to running out of cost budget, no further validation rules will be run"))
				return
			}
			*errs = append(*errs, field.Invalid(fp, typeName(n.typ), fmt.Sprintf("%s: %v", r.rule.Rule, err)))
			continue
		}
		if b, ok := out.Value().(bool); ok && b {
			continue
		}
		*errs = append(*errs, ruleError(r, fp, typeName(n.typ), vars))
	}
	switch t := x.(type) {
	case map[string]any:
		om, _ := old.(map[string]any)
		for _, k := range sortedKeys(t) {
			ov, ok := om[k]
			if c := n.props[k]; c != nil {
				c.eval(t[k], ov, hasOld && ok, child(p, k), errs)
			} else if n.additional != nil {
				n.additional.eval(t[k], ov, hasOld && ok, p.Key(k), errs)
			}
		}
	case []any:
		if n.items == nil {
			return
		}
		ol, _ := old.([]any)
		for i, e := range t {
			ov, ok := correlate(n, e, ol)
			n.items.eval(e, ov, hasOld && ok, p.Index(i), errs)
		}
	}
}

// correlate finds an item's old value in a listType=map list by its keys.
func correlate(n *celRules, item any, old []any) (any, bool) {
	if n.listType != "map" || len(n.listMapKeys) == 0 {
		return nil, false
	}
	m, ok := item.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, o := range old {
		om, ok := o.(map[string]any)
		if !ok {
			continue
		}
		same := true
		for _, k := range n.listMapKeys {
			if !equalValues(m[k], om[k]) {
				same = false
				break
			}
		}
		if same {
			return o, true
		}
	}
	return nil, false
}

func ruleError(r compiledRule, p *field.Path, typ string, vars map[string]any) *field.Error {
	msg := r.rule.Message
	if r.msgProg != nil {
		if out, _, err := r.msgProg.Eval(vars); err == nil {
			if s, ok := out.Value().(string); ok && strings.TrimSpace(s) != "" && !strings.Contains(s, "\n") {
				msg = s
			}
		}
	}
	if msg == "" {
		msg = "failed rule: " + r.rule.Rule
	}
	if r.rule.Reason != nil {
		switch *r.rule.Reason {
		case apiextensions.FieldValueForbidden:
			return field.Forbidden(p, msg)
		case apiextensions.FieldValueRequired:
			return field.Required(p, msg)
		case apiextensions.FieldValueDuplicate:
			return field.Duplicate(p, msg)
		}
	}
	return field.Invalid(p, typ, msg)
}

// appendFieldPath adds a rule's fieldPath (".spec.foo" or ".list[0]" / "['key']") to p.
func appendFieldPath(p *field.Path, fp string) *field.Path {
	for _, part := range strings.Split(strings.TrimPrefix(fp, "."), ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			p = child(p, name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			idx = strings.Trim(idx, `'"`)
			p = p.Key(idx)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p
}

func typeName(t string) string {
	if t == "" {
		return "object"
	}
	return t
}

var _ ref.Val = types.NullValue
