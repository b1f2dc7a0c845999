package patch

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Small stand-ins for the API types, tagged as Kubernetes tags them.

type tTypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

type tTime struct{ s string } // like meta.Time: encodes itself

func (t tTime) MarshalJSON() ([]byte, error) { return json.Marshal(t.s) }

type tRaw struct{ raw []byte } // like runtime.RawExtension: an object, but atomic

func (r tRaw) MarshalJSON() ([]byte, error) { return r.raw, nil }

type tOwnerRef struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
}

type tObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty" patchStrategy:"merge"`
	OwnerReferences   []tOwnerRef       `json:"ownerReferences,omitempty" patchStrategy:"merge" patchMergeKey:"uid"`
	CreationTimestamp tTime             `json:"creationTimestamp,omitzero"`
}

type tPort struct {
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"`
}

type tEnv struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

type tContainer struct {
	Name      string             `json:"name"`
	Image     string             `json:"image,omitempty"`
	Args      []string           `json:"args,omitempty"`
	Ports     []tPort            `json:"ports,omitempty" patchStrategy:"merge" patchMergeKey:"containerPort"`
	Env       []tEnv             `json:"env,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	Resources map[string]tTime   `json:"resources,omitempty"`
	Limits    map[string]tEnv    `json:"limits,omitempty"`
	Extra     tRaw               `json:"extra,omitzero"`
	Probes    map[string]*tProbe `json:"probes,omitempty"`
}

type tProbe struct {
	Port    int32    `json:"port"`
	Command []string `json:"command,omitempty"`
}

type tVolumeSource struct {
	EmptyDir  *struct{}              `json:"emptyDir,omitempty"`
	ConfigMap *struct{ Name string } `json:"configMap,omitempty"`
}

type tVolume struct {
	Name          string `json:"name"`
	tVolumeSource `json:",inline" patchStrategy:"retainKeys"`
}

type tToleration struct {
	Key string `json:"key"`
}

type tAffinity struct {
	Zone string `json:"zone,omitempty"`
	Rack string `json:"rack,omitempty"`
}

type tPodSpec struct {
	Volumes        []tVolume         `json:"volumes,omitempty" patchStrategy:"merge,retainKeys" patchMergeKey:"name"`
	InitContainers []tContainer      `json:"initContainers,omitempty" patchStrategy:"merge" patchMergeKey:"name"`
	Containers     []tContainer      `json:"containers" patchStrategy:"merge" patchMergeKey:"name"`
	Tolerations    []tToleration     `json:"tolerations,omitempty"`
	Gates          []tToleration     `json:"gates,omitempty" patchStrategy:"merge"` // merge without a key
	NodeSelector   map[string]string `json:"nodeSelector,omitempty"`
	Affinity       *tAffinity        `json:"affinity,omitempty" patchStrategy:"replace"`
}

type tPod struct {
	tTypeMeta `json:",inline"`
	Metadata  tObjectMeta `json:"metadata"`
	Spec      tPodSpec    `json:"spec"`
}

type tStrategy struct {
	Type          string `json:"type,omitempty"`
	RollingUpdate *struct {
		MaxSurge string `json:"maxSurge"`
	} `json:"rollingUpdate,omitempty"`
}

type tDeployment struct {
	tTypeMeta
	tObjectMeta `json:"metadata"` // a named embedded struct is a field, not inlined
	Spec        struct {
		Replicas *int32    `json:"replicas,omitempty"`
		Strategy tStrategy `json:"strategy" patchStrategy:"retainKeys"`
		Template struct {
			Metadata tObjectMeta `json:"metadata"`
			Spec     tPodSpec    `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

var (
	podType        = reflect.TypeFor[tPod]()
	deploymentType = reflect.TypeFor[*tDeployment]() // pointers are accepted too
)

func TestStrategicMergePatch(t *testing.T) {
	const pod = `{"kind":"Pod","apiVersion":"v1",
		"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
		"spec":{"containers":[
			{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
			{"name":"sidecar","image":"envoy"}]}}`

	tests := []struct {
		name        string
		schema      reflect.Type
		original    string
		patch, want string
	}{
		// What kubectl sends.
		{"change an image by container name", podType, pod,
			`{"spec":{"containers":[{"name":"app","image":"nginx:1.25"}]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.25","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
				{"name":"sidecar","image":"envoy"}]}}`},
		{"apply adds an env var", podType, pod,
			`{"spec":{"$setElementOrder/containers":[{"name":"app"},{"name":"sidecar"}],
				"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"B"},{"name":"C"}],"env":[{"name":"C","value":"3"}],"name":"app"}]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"},{"name":"C","value":"3"}]},
				{"name":"sidecar","image":"envoy"}]}}`},
		{"remove a port with $patch: delete", podType, pod,
			`{"spec":{"containers":[{"name":"app","ports":[{"containerPort":8080,"$patch":"delete"}]}]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
				{"name":"sidecar","image":"envoy"}]}}`},
		{"labels: null deletes a key", podType, pod,
			`{"metadata":{"labels":{"tier":null,"env":"prod","gone":null}}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","env":"prod"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
				{"name":"sidecar","image":"envoy"}]}}`},
		{"$setElementOrder/containers reorders", podType, pod,
			`{"spec":{"$setElementOrder/containers":[{"name":"sidecar"},{"name":"app"}]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"sidecar","image":"envoy"},
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}`},
		{"$deleteFromPrimitiveList/finalizers", podType, pod,
			`{"metadata":{"$setElementOrder/finalizers":["a","c"],"$deleteFromPrimitiveList/finalizers":["b","zzz"]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
				{"name":"sidecar","image":"envoy"}]}}`},
		{"kubectl edit: add a container and delete another", podType, pod,
			`{"spec":{"$setElementOrder/containers":[{"name":"app"},{"name":"logger"}],
				"containers":[{"name":"logger","image":"fluentbit"},{"name":"sidecar","$patch":"delete"}]}}`,
			`{"kind":"Pod","apiVersion":"v1",
			"metadata":{"name":"web","labels":{"app":"web","tier":"fe"},"finalizers":["a","b","c"]},
			"spec":{"containers":[
				{"name":"app","image":"nginx:1.24","ports":[{"containerPort":80},{"containerPort":8080}],"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
				{"name":"logger","image":"fluentbit"}]}}`},

		// Maps.
		{"merge nested maps, null deletes", podType,
			`{"spec":{"nodeSelector":{"a":"1","b":"2"}}}`,
			`{"spec":{"nodeSelector":{"b":null,"c":"3"}}}`,
			`{"spec":{"nodeSelector":{"a":"1","c":"3"}}}`},
		{"null for an absent key is dropped", podType, `{}`,
			`{"metadata":{"labels":{"a":"1","b":null}},"x":null}`,
			`{"metadata":{"labels":{"a":"1"}}}`},
		{"$patch: replace on a map", podType,
			`{"metadata":{"labels":{"a":"1","b":"2"}}}`,
			`{"metadata":{"labels":{"$patch":"replace","c":"3"}}}`,
			`{"metadata":{"labels":{"c":"3"}}}`},
		{"$patch: replace at the top", podType,
			`{"kind":"Pod","metadata":{"name":"x"}}`,
			`{"$patch":"replace","kind":"Pod","spec":{"containers":[]}}`,
			`{"kind":"Pod","spec":{"containers":[]}}`},
		{"$patch: delete on a map empties it", podType,
			`{"metadata":{"labels":{"a":"1"}}}`,
			`{"metadata":{"labels":{"$patch":"delete"}}}`,
			`{"metadata":{"labels":{}}}`},
		{"$patch: delete on an absent map drops it", podType,
			`{"metadata":{}}`,
			`{"metadata":{"labels":{"$patch":"delete"}}}`,
			`{"metadata":{}}`},
		{"$patch: merge is the default", podType,
			`{"metadata":{"labels":{"a":"1"}}}`,
			`{"metadata":{"labels":{"$patch":"merge","b":"2"}}}`,
			`{"metadata":{"labels":{"a":"1","b":"2"}}}`},
		{"patchStrategy replace on a struct", podType,
			`{"spec":{"affinity":{"zone":"a","rack":"1"}}}`,
			`{"spec":{"affinity":{"zone":"b"}}}`,
			`{"spec":{"affinity":{"zone":"b"}}}`},
		{"map of structs merges values by their struct", podType,
			`{"spec":{"containers":[{"name":"app","probes":{"live":{"port":1,"command":["a"]}}}]}}`,
			`{"spec":{"containers":[{"name":"app","probes":{"live":{"port":2},"ready":{"port":3,"command":null}}}]}}`,
			`{"spec":{"containers":[{"name":"app","probes":{"live":{"port":2,"command":["a"]},"ready":{"port":3}}}]}}`},
		{"type change replaces", podType,
			`{"metadata":{"labels":"oops"}}`,
			`{"metadata":{"labels":{"a":"1","b":null}}}`,
			`{"metadata":{"labels":{"a":"1"}}}`},

		// Atomic values.
		{"custom MarshalJSON type is atomic", podType,
			`{"spec":{"containers":[{"name":"app","extra":{"a":1,"b":2}}]}}`,
			`{"spec":{"containers":[{"name":"app","extra":{"b":3}}]}}`,
			`{"spec":{"containers":[{"name":"app","extra":{"b":3}}]}}`},
		{"timestamps and quantities replace", podType,
			`{"metadata":{"creationTimestamp":"2024-01-01T00:00:00Z"},"spec":{"containers":[{"name":"app","resources":{"cpu":"1","memory":"1Gi"}}]}}`,
			`{"metadata":{"creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"containers":[{"name":"app","resources":{"cpu":"500m"}}]}}`,
			`{"metadata":{"creationTimestamp":"2025-01-01T00:00:00Z"},"spec":{"containers":[{"name":"app","resources":{"cpu":"500m","memory":"1Gi"}}]}}`},

		// Lists.
		{"list without strategy is replaced", podType,
			`{"spec":{"tolerations":[{"key":"a"},{"key":"b"}],"containers":[{"name":"app","args":["x","y"]}]}}`,
			`{"spec":{"tolerations":[{"key":"c"}],"containers":[{"name":"app","args":["z"]}]}}`,
			`{"spec":{"tolerations":[{"key":"c"}],"containers":[{"name":"app","args":["z"]}]}}`},
		{"merge strategy without merge key on objects replaces", podType,
			`{"spec":{"gates":[{"key":"a"}]}}`,
			`{"spec":{"gates":[{"key":"b"}]}}`,
			`{"spec":{"gates":[{"key":"b"}]}}`},
		{"new list element is cleaned of nulls", podType,
			`{"spec":{"containers":[{"name":"app"}]}}`,
			`{"spec":{"containers":[{"name":"app"},{"name":"new","image":null,"env":[{"name":"X","value":null}]}]}}`,
			`{"spec":{"containers":[{"name":"app"},{"name":"new","env":[{"name":"X"}]}]}}`},
		{"merged element keeps original position, new one precedes the rest", podType,
			`{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}}`,
			`{"spec":{"containers":[{"name":"b","image":"x"},{"name":"d"}]}}`,
			`{"spec":{"containers":[{"name":"a"},{"name":"b","image":"x"},{"name":"d"},{"name":"c"}]}}`},
		{"patch order wins for named elements", podType,
			`{"spec":{"containers":[{"name":"1"},{"name":"2","image":"b"},{"name":"3"}]}}`,
			`{"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`,
			`{"spec":{"containers":[{"name":"2","image":"b"},{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`},
		{"merge into an absent list", podType,
			`{"spec":{}}`,
			`{"spec":{"containers":[{"name":"a"},{"name":"b","$patch":"delete"}]}}`,
			`{"spec":{"containers":[{"name":"a"}]}}`},
		{"$patch: replace on a merged list", podType,
			`{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}`,
			`{"spec":{"containers":[{"name":"c"},{"$patch":"replace"}]}}`,
			`{"spec":{"containers":[{"name":"c"}]}}`},
		{"$patch: replace alone empties a merged list", podType,
			`{"spec":{"containers":[{"name":"a"},{"name":"b"}]}}`,
			`{"spec":{"containers":[{"$patch":"replace"}]}}`,
			`{"spec":{"containers":[]}}`},
		{"$patch: delete removes every duplicate", podType,
			`{"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"a"}]}}`,
			`{"spec":{"containers":[{"name":"a","$patch":"delete"},{"name":"zzz","$patch":"delete"}]}}`,
			`{"spec":{"containers":[{"name":"b"}]}}`},
		{"numeric merge key", podType,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":443}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":443,"protocol":"TCP"}]}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":80},{"containerPort":443,"protocol":"TCP"}]}]}}`},
		{"primitive set merge dedupes", podType,
			`{"metadata":{"finalizers":["a","b"]}}`,
			`{"metadata":{"finalizers":["b","c"]}}`,
			`{"metadata":{"finalizers":["a","b","c"]}}`},
		{"primitive set merge follows patch order", podType,
			`{"metadata":{"finalizers":["1","2","3"]}}`,
			`{"metadata":{"finalizers":["3","1"]}}`,
			`{"metadata":{"finalizers":["2","3","1"]}}`},
		{"$deleteFromPrimitiveList and add together", podType,
			`{"metadata":{"finalizers":["1","2","3","4"]}}`,
			`{"metadata":{"$setElementOrder/finalizers":["1","2","5"],"$deleteFromPrimitiveList/finalizers":["3"],"finalizers":["5"]}}`,
			// As in Kubernetes: a server-only element is never placed ahead of a new one.
			`{"metadata":{"finalizers":["1","2","5","4"]}}`},
		{"$deleteFromPrimitiveList on an absent list adds nothing", podType,
			`{"metadata":{}}`,
			`{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}`,
			`{"metadata":{}}`},
		{"$deleteFromPrimitiveList on a replaced list", podType,
			`{"spec":{"containers":[{"name":"a","args":["x","y","z"]}]}}`,
			`{"spec":{"containers":[{"name":"a","$deleteFromPrimitiveList/args":["y"]}]}}`,
			`{"spec":{"containers":[{"name":"a","args":["x","z"]}]}}`},
		{"$setElementOrder keeps server-only elements in place", podType,
			`{"spec":{"containers":[{"name":"C"},{"name":"B"},{"name":"D"},{"name":"A"},{"name":"E"}]}}`,
			`{"spec":{"$setElementOrder/containers":[{"name":"A"},{"name":"B"}],"containers":[{"name":"A","image":"a"},{"name":"B","image":"b"}]}}`,
			`{"spec":{"containers":[{"name":"C"},{"name":"D"},{"name":"A","image":"a"},{"name":"B","image":"b"},{"name":"E"}]}}`},
		{"$setElementOrder ignores names not in the list", podType,
			`{"spec":{"containers":[{"name":"1"},{"name":"3"}]}}`,
			`{"spec":{"$setElementOrder/containers":[{"name":"3"},{"name":"2"},{"name":"1"}],"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`,
			`{"spec":{"containers":[{"name":"3","image":"c"},{"name":"1","image":"a"}]}}`},
		{"$setElementOrder on a list new to the object", podType,
			`{"spec":{}}`,
			`{"spec":{"$setElementOrder/initContainers":[{"name":"b"},{"name":"a"}],"initContainers":[{"name":"b"},{"name":"a"}]}}`,
			`{"spec":{"initContainers":[{"name":"b"},{"name":"a"}]}}`},

		// $retainKeys.
		{"$retainKeys on a struct (Deployment strategy)", deploymentType,
			`{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}}}}`,
			`{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}`,
			`{"spec":{"strategy":{"type":"Recreate"}}}`},
		{"$retainKeys in a merged list element (volumes)", deploymentType,
			`{"spec":{"template":{"spec":{"volumes":[{"name":"v","emptyDir":{}},{"name":"w","emptyDir":{}}]}}}}`,
			`{"spec":{"template":{"spec":{"volumes":[{"$retainKeys":["configMap","name"],"name":"v","configMap":{"Name":"cm"}}]}}}}`,
			`{"spec":{"template":{"spec":{"volumes":[{"name":"v","configMap":{"Name":"cm"}},{"name":"w","emptyDir":{}}]}}}}`},
		{"$retainKeys allows nulls for unlisted keys", deploymentType,
			`{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}}}}`,
			`{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":null}}}`,
			`{"spec":{"strategy":{"type":"Recreate"}}}`},

		// Schema walking.
		{"named embedded struct is a field (metadata), inline one is flattened", deploymentType,
			`{"kind":"Deployment","metadata":{"finalizers":["a"]},"spec":{"replicas":1}}`,
			`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"finalizers":["b"]},"spec":{"replicas":3}}`,
			// Kubernetes puts a new element ahead of the server-only ones after it.
			`{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"finalizers":["b","a"]},"spec":{"replicas":3}}`},
		{"unknown fields: maps merge, lists replace", podType,
			`{"status":{"phase":"Pending","conditions":[{"type":"a"}]},"spec":{"containers":[{"name":"a","unknown":[1,2]}]}}`,
			`{"status":{"podIP":"10.0.0.1","conditions":[{"type":"b"}]},"spec":{"containers":[{"name":"a","unknown":[3]}]}}`,
			`{"status":{"phase":"Pending","podIP":"10.0.0.1","conditions":[{"type":"b"}]},"spec":{"containers":[{"name":"a","unknown":[3]}]}}`},
		{"nil schema: merge patch semantics plus directives", nil,
			`{"a":{"b":1,"c":2},"l":[1,2]}`,
			`{"a":{"c":null,"d":3},"l":[3],"m":{"$patch":"replace","x":1}}`,
			`{"a":{"b":1,"d":3},"l":[3],"m":{"x":1}}`},
		{"directives in a new subtree are resolved", deploymentType, `{}`,
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}],"containers":[{"name":"b","$deleteFromPrimitiveList/args":["q"]},{"name":"a","$setElementOrder/env":[{"name":"X"}],"env":[{"name":"X"}]},{"name":"c","$patch":"delete"}],"affinity":{"$patch":"delete"},"nodeSelector":{"$patch":"replace","k":"v"}}}}}`,
			`{"spec":{"template":{"spec":{"containers":[{"name":"b"},{"name":"a","env":[{"name":"X"}]}],"nodeSelector":{"k":"v"}}}}}`},
		{"$patch: delete at the top", podType, `{"kind":"Pod"}`, `{"$patch":"delete"}`, `{}`},
		{"large integers survive", podType,
			`{"metadata":{"annotations":{"x":"<&>"}},"n":9007199254740993}`,
			`{"m":12345678901234567890}`,
			`{"metadata":{"annotations":{"x":"<&>"}},"m":12345678901234567890,"n":9007199254740993}`},
	}
	for _, tt := range tests {
		got, err := StrategicMergePatch([]byte(tt.original), []byte(tt.patch), tt.schema)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != canonical(t, tt.want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, canonical(t, tt.want))
		}
	}
}

func TestStrategicMergePatchErrors(t *testing.T) {
	tests := []struct {
		name, original, patch string
		msg                   string // part of the message
		schema                reflect.Type
	}{
		{"patch not an object", `{}`, `[]`, "must be a JSON object", nil},
		{"patch not JSON", `{}`, `{`, "not valid JSON", nil},
		{"missing merge key", `{"spec":{"containers":[{"name":"a"}]}}`,
			`{"spec":{"containers":[{"image":"x"}]}}`, `at spec.containers: element {"image":"x"} does not contain merge key "name"`, podType},
		{"nested error names the element", `{"spec":{"containers":[{"name":"a"}]}}`,
			`{"spec":{"containers":[{"name":"a","ports":[{"protocol":"TCP"}]}]}}`, `at spec.containers[name="a"].ports`, podType},
		{"delete without merge key", `{"spec":{"containers":[{"name":"a"}]}}`,
			`{"spec":{"containers":[{"$patch":"delete"}]}}`, "without naming merge key", podType},
		{"merged element not an object", `{}`, `{"spec":{"containers":["a"]}}`, "is not an object", podType},
		{"unknown $patch in a map", `{}`, `{"metadata":{"$patch":"frob"}}`, "unknown directive", nil},
		{"unknown $patch in a list", `{}`, `{"spec":{"containers":[{"name":"a","$patch":"frob"}]}}`, "unknown directive", podType},
		{"$retainKeys not a list", `{}`, `{"spec":{"strategy":{"$retainKeys":"type"}}}`, "$retainKeys must be a list", nil},
		{"$retainKeys not strings", `{}`, `{"spec":{"strategy":{"$retainKeys":[1]}}}`, "$retainKeys must be a list", nil},
		{"patch sets a key outside $retainKeys", `{}`,
			`{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":{"maxSurge":"1"}}}}`, `"rollingUpdate" is set by the patch`, nil},
		{"$setElementOrder not a list", `{}`, `{"metadata":{"$setElementOrder/finalizers":"a"}}`, "must be a list", nil},
		{"$setElementOrder without a field", `{}`, `{"metadata":{"$setElementOrder":["a"]}}`, "must have the form", nil},
		{"$deleteFromPrimitiveList not a list", `{}`, `{"metadata":{"$deleteFromPrimitiveList/finalizers":{}}}`, "must be a list", nil},
		{"$setElementOrder contradicts the patch list",
			`{"spec":{"template":{"spec":{"containers":[{"name":"1"},{"name":"2"},{"name":"3"}]}}}}`,
			`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"1"},{"name":"2"},{"name":"3"}],"containers":[{"name":"3"},{"name":"1"}]}}}}`,
			"does not match $setElementOrder", nil},
		{"$setElementOrder misses a patch element", `{"metadata":{"finalizers":["a"]}}`,
			`{"metadata":{"$setElementOrder/finalizers":["a"],"finalizers":["b"]}}`, "does not match", nil},
	}
	for _, tt := range tests {
		schema := tt.schema
		if schema == nil {
			schema = deploymentType
		}
		_, err := StrategicMergePatch([]byte(tt.original), []byte(tt.patch), schema)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !errors.Is(err, ErrBadPatch) {
			t.Errorf("%s: %v does not wrap ErrBadPatch", tt.name, err)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.msg)
		}
	}
}

func TestStrategicMergePatchServerErrors(t *testing.T) {
	// Problems that are not the client's fault must not look like a bad patch.
	tests := []struct {
		name     string
		original string
		schema   reflect.Type
	}{
		{"original not JSON", `{`, podType},
		{"original not an object", `[1]`, podType},
		{"schema not a struct", `{}`, reflect.TypeFor[map[string]any]()},
	}
	for _, tt := range tests {
		_, err := StrategicMergePatch([]byte(tt.original), []byte(`{}`), tt.schema)
		if err == nil || errors.Is(err, ErrBadPatch) {
			t.Errorf("%s: got %v, want an error that is not ErrBadPatch", tt.name, err)
		}
	}
}

func TestLookupField(t *testing.T) {
	tests := []struct {
		typ      reflect.Type
		name     string
		want     field
		wantType reflect.Type
	}{
		{podType, "kind", field{}, reflect.TypeFor[string]()}, // inline embedded
		{podType, "metadata", field{}, reflect.TypeFor[tObjectMeta]()},
		{deploymentType, "metadata", field{}, reflect.TypeFor[tObjectMeta]()}, // named embedded
		{deploymentType, "name", field{}, nil},                                // not flattened
		{deploymentType, "apiVersion", field{}, reflect.TypeFor[string]()},    // untagged embedded is flattened
		{reflect.TypeFor[tPodSpec](), "containers", field{merge: true, mergeKey: "name"}, reflect.TypeFor[[]tContainer]()},
		{reflect.TypeFor[tPodSpec](), "volumes", field{merge: true, mergeKey: "name"}, reflect.TypeFor[[]tVolume]()},
		{reflect.TypeFor[tPodSpec](), "affinity", field{replace: true}, reflect.TypeFor[*tAffinity]()},
		{reflect.TypeFor[tObjectMeta](), "finalizers", field{merge: true}, reflect.TypeFor[[]string]()},
		{reflect.TypeFor[tVolume](), "configMap", field{}, reflect.TypeFor[*struct{ Name string }]()},
		{reflect.TypeFor[map[string]tEnv](), "anything", field{}, reflect.TypeFor[tEnv]()},
		{reflect.TypeFor[tPodSpec](), "Containers", field{}, nil}, // json names only
		{nil, "x", field{}, nil},
	}
	for _, tt := range tests {
		got := lookupField(tt.typ, tt.name)
		if got.typ != tt.wantType {
			t.Errorf("lookupField(%v, %q).typ = %v, want %v", tt.typ, tt.name, got.typ, tt.wantType)
		}
		got.typ = nil
		if got != tt.want {
			t.Errorf("lookupField(%v, %q) = %+v, want %+v", tt.typ, tt.name, got, tt.want)
		}
	}
}

// BenchmarkStrategicMergePatchLongList guards against quadratic list merging: a single
// request may carry a very long list.
func BenchmarkStrategicMergePatchLongList(b *testing.B) {
	const n = 50000
	var orig, p strings.Builder
	orig.WriteString(`{"spec":{"containers":[`)
	p.WriteString(`{"spec":{"containers":[`)
	for i := range n {
		if i > 0 {
			orig.WriteByte(',')
			p.WriteByte(',')
		}
		fmt.Fprintf(&orig, `{"name":"c%d"}`, i)
		fmt.Fprintf(&p, `{"name":"c%d","image":"x"}`, n-i) // reversed, one new
	}
	orig.WriteString(`]}}`)
	p.WriteString(`]}}`)
	for b.Loop() {
		if _, err := StrategicMergePatch([]byte(orig.String()), []byte(p.String()), podType); err != nil {
			b.Fatal(err)
		}
	}
}
