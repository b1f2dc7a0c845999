package admissioncel

import (
	"errors"
	"reflect"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Kubernetes' CEL authorizer library (k8s.io/apiserver/pkg/cel/library/authz.go): an
// expression asks the API server's authorizer whether the request's user (or a service
// account) may do something, e.g.
//
//	authorizer.group('apps').resource('deployments').namespace('ns').check('delete').allowed()
//	authorizer.path('/healthz').check('get').reason()
//	authorizer.serviceAccount('ns', 'sa').group('').resource('pods').check('create').allowed()
//	authorizer.requestResource.check('delete').allowed()   // the resource of the request
//
// The types and function names are Kubernetes'.

// AuthzCheck is one question: a resource request (Group, Resource, Subresource, Namespace,
// Name) or a non-resource one (Path), with a verb, for the request's user or, when
// ServiceAccount is set, for that service account ("namespace/name").
type AuthzCheck struct {
	ServiceAccountNamespace, ServiceAccountName string // both empty: the request's user
	ResourceRequest                             bool
	Group, Resource, Subresource, Namespace     string
	Name, Path, Verb                            string
}

// AuthorizeFunc answers a check.
type AuthorizeFunc func(c AuthzCheck) (allowed bool, reason string, err error)

var (
	authorizerType    = types.NewOpaqueType("kubernetes.authorization.Authorizer")
	pathCheckType     = types.NewOpaqueType("kubernetes.authorization.PathCheck")
	groupCheckType    = types.NewOpaqueType("kubernetes.authorization.GroupCheck")
	resourceCheckType = types.NewOpaqueType("kubernetes.authorization.ResourceCheck")
	decisionType      = types.NewOpaqueType("kubernetes.authorization.Decision")
)

// The variable names the library declares.
const (
	Authorizer                = "authorizer"
	AuthorizerRequestResource = "authorizer.requestResource"
)

// authzVal is every value of the library: the authorizer, a check being built, or a
// decision.
type authzVal struct {
	typ      *types.Type
	authz    AuthorizeFunc
	check    AuthzCheck
	allowed  bool
	reason   string
	err      error
	resolved bool
}

func (v *authzVal) ConvertToNative(reflect.Type) (any, error) {
	return nil, errors.New("authorizer values do not convert")
}

func (v *authzVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return v.typ
	}
	return types.NewErr("type conversion error from '%s' to '%s'", v.typ, t)
}

func (v *authzVal) Equal(o ref.Val) ref.Val { return types.Bool(o == ref.Val(v)) }
func (v *authzVal) Type() ref.Type          { return v.typ }
func (v *authzVal) Value() any              { return v }

// AuthorizerValues are the activation values of the two authorizer variables, for a request
// on the given resource.
func AuthorizerValues(f AuthorizeFunc, request AuthzCheck) (authorizer, requestResource any) {
	request.ResourceRequest = true
	return &authzVal{typ: authorizerType, authz: f}, &authzVal{typ: resourceCheckType, authz: f, check: request}
}

// derive is v as a new value of type t with the check changed by set.
func derive(lhs ref.Val, t *types.Type, set func(*AuthzCheck)) ref.Val {
	v, ok := lhs.(*authzVal)
	if !ok {
		return types.MaybeNoSuchOverloadErr(lhs)
	}
	n := &authzVal{typ: t, authz: v.authz, check: v.check}
	set(&n.check)
	return n
}

func str(v ref.Val) string { s, _ := v.Value().(string); return s }

func check(lhs, verb ref.Val) ref.Val {
	v, ok := lhs.(*authzVal)
	if !ok || v.authz == nil {
		return types.MaybeNoSuchOverloadErr(lhs)
	}
	c := v.check
	c.Verb = str(verb)
	d := &authzVal{typ: decisionType, resolved: true}
	d.allowed, d.reason, d.err = v.authz(c)
	return d
}

func decision(lhs ref.Val) (*authzVal, bool) {
	v, ok := lhs.(*authzVal)
	return v, ok && v.resolved
}

// authorizerLibrary declares the variables and functions.
func authorizerLibrary() []cel.EnvOption {
	member := func(name, id string, recv *types.Type, args []*types.Type, out *types.Type, opt cel.OverloadOpt) cel.EnvOption {
		return cel.Function(name, cel.MemberOverload(id, append([]*types.Type{recv}, args...), out, opt))
	}
	s := types.StringType
	return []cel.EnvOption{
		cel.Variable(Authorizer, authorizerType),
		cel.Variable(AuthorizerRequestResource, resourceCheckType),
		member("path", "authorizer_path", authorizerType, []*types.Type{s}, pathCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, pathCheckType, func(c *AuthzCheck) { c.ResourceRequest, c.Path = false, str(r) })
		})),
		member("group", "authorizer_group", authorizerType, []*types.Type{s}, groupCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, groupCheckType, func(c *AuthzCheck) { c.ResourceRequest, c.Group = true, str(r) })
		})),
		member("serviceAccount", "authorizer_serviceaccount", authorizerType, []*types.Type{s, s}, authorizerType, cel.FunctionBinding(func(args ...ref.Val) ref.Val {
			return derive(args[0], authorizerType, func(c *AuthzCheck) {
				c.ServiceAccountNamespace, c.ServiceAccountName = str(args[1]), str(args[2])
			})
		})),
		member("resource", "groupcheck_resource", groupCheckType, []*types.Type{s}, resourceCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, resourceCheckType, func(c *AuthzCheck) { c.Resource = str(r) })
		})),
		member("subresource", "resourcecheck_subresource", resourceCheckType, []*types.Type{s}, resourceCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, resourceCheckType, func(c *AuthzCheck) { c.Subresource = str(r) })
		})),
		member("namespace", "resourcecheck_namespace", resourceCheckType, []*types.Type{s}, resourceCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, resourceCheckType, func(c *AuthzCheck) { c.Namespace = str(r) })
		})),
		member("name", "resourcecheck_name", resourceCheckType, []*types.Type{s}, resourceCheckType, cel.BinaryBinding(func(l, r ref.Val) ref.Val {
			return derive(l, resourceCheckType, func(c *AuthzCheck) { c.Name = str(r) })
		})),
		cel.Function("check",
			cel.MemberOverload("pathcheck_check", []*types.Type{pathCheckType, s}, decisionType, cel.BinaryBinding(check)),
			cel.MemberOverload("resourcecheck_check", []*types.Type{resourceCheckType, s}, decisionType, cel.BinaryBinding(check))),
		member("allowed", "decision_allowed", decisionType, nil, types.BoolType, cel.UnaryBinding(func(l ref.Val) ref.Val {
			d, ok := decision(l)
			if !ok {
				return types.MaybeNoSuchOverloadErr(l)
			}
			return types.Bool(d.allowed)
		})),
		member("reason", "decision_reason", decisionType, nil, s, cel.UnaryBinding(func(l ref.Val) ref.Val {
			d, ok := decision(l)
			if !ok {
				return types.MaybeNoSuchOverloadErr(l)
			}
			return types.String(d.reason)
		})),
		member("errored", "decision_errored", decisionType, nil, types.BoolType, cel.UnaryBinding(func(l ref.Val) ref.Val {
			d, ok := decision(l)
			if !ok {
				return types.MaybeNoSuchOverloadErr(l)
			}
			return types.Bool(d.err != nil)
		})),
		member("error", "decision_error", decisionType, nil, s, cel.UnaryBinding(func(l ref.Val) ref.Val {
			d, ok := decision(l)
			if !ok {
				return types.MaybeNoSuchOverloadErr(l)
			}
			if d.err == nil {
				return types.String("")
			}
			return types.String(d.err.Error())
		})),
	}
}
