package protobuf

import (
	"reflect"
	"sync"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/registry"
)

// goTypes maps "apiVersion/Kind" to the struct type a body of that kind decodes into: every
// kind of the registry, its list, and the non-stored kinds that arrive as request bodies
// (a subresource's or an option's).
var goTypes = sync.OnceValue(func() map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for _, k := range registry.Default().Kinds() {
		m[k.APIVersion()+"/"+k.Kind] = k.Type
	}
	for key, t := range map[string]reflect.Type{
		"v1/Binding":                                reflect.TypeFor[core.Binding](),
		"policy/v1/Eviction":                        reflect.TypeFor[policy.Eviction](),
		"policy/v1/PodDisruptionBudget":             reflect.TypeFor[policy.PodDisruptionBudget](),
		"autoscaling/v1/Scale":                      reflect.TypeFor[autoscaling.Scale](),
		"v1/Status":                                 reflect.TypeFor[meta.Status](),
		authentication.APIVersion + "/TokenRequest": reflect.TypeFor[authentication.TokenRequest](),
	} {
		if _, ok := m[key]; !ok {
			m[key] = t
		}
	}
	return m
})

// NewObject returns a pointer to a new zero struct of the Go type for apiVersion and kind.
// DeleteOptions is known under every apiVersion, as client-go encodes it with the
// group version of the resource being deleted. List kinds are not known: no client sends one.
func NewObject(apiVersion, kind string) (any, bool) {
	if kind == "DeleteOptions" {
		return &meta.DeleteOptions{}, true
	}
	if t, ok := goTypes()[apiVersion+"/"+kind]; ok {
		return reflect.New(t).Interface(), true
	}
	return nil, false
}
