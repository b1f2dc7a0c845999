package apiserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"

func (a *api) getAccept(path, accept string) (string, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	req.Header.Set("Accept", accept)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		a.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
	return resp.Header.Get("Content-Type"), m
}

// describe flattens a legacy APIResource or an aggregated resource/subresource to one line.
func describe(gv, name, kind string, namespaced bool, verbs, shortNames, categories []any) string {
	str := func(l []any) string {
		s := make([]string, len(l))
		for i, v := range l {
			s[i] = v.(string)
		}
		slices.Sort(s)
		return strings.Join(s, ",")
	}
	return strings.Join([]string{gv, name, kind, map[bool]string{true: "ns", false: "cluster"}[namespaced], str(verbs), str(shortNames), str(categories)}, " ")
}

func list(v any) []any { l, _ := v.([]any); return l }

// TestAggregatedDiscovery: /api and /apis answer apidiscovery.k8s.io/v2 to clients that ask,
// with exactly the resources (scope, kind, verbs, short names, categories, subresources) the
// legacy per-group-version documents list, and a custom resource appears once served.
func TestAggregatedDiscovery(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, widgetCRD)

	legacy := map[string]bool{}
	addLegacy := func(gv string) {
		_, m := a.do("GET", map[bool]string{true: "/api/", false: "/apis/"}[gv == "v1"]+gv, "", nil)
		for _, r := range list(m["resources"]) {
			r := r.(map[string]any)
			rgv := gv
			if g, _ := r["group"].(string); g != "" || r["version"] != nil {
				rgv = strings.TrimPrefix(g+"/"+r["version"].(string), "/")
			}
			legacy[describe(gv, r["name"].(string), rgv+"/"+r["kind"].(string), r["namespaced"].(bool), list(r["verbs"]), list(r["shortNames"]), list(r["categories"]))] = true
		}
	}
	addLegacy("v1")
	_, groups := a.do("GET", "/apis", "", nil)
	for _, g := range list(groups["groups"]) {
		for _, v := range list(g.(map[string]any)["versions"]) {
			addLegacy(v.(map[string]any)["groupVersion"].(string))
		}
	}

	aggregated := map[string]bool{}
	for _, path := range []string{"/api", "/apis"} {
		ct, m := a.getAccept(path, aggregatedAccept)
		if ct != "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" || m["kind"] != "APIGroupDiscoveryList" || m["apiVersion"] != "apidiscovery.k8s.io/v2" {
			t.Fatalf("%s: content type %q, kind %v %v", path, ct, m["kind"], m["apiVersion"])
		}
		for _, item := range list(m["items"]) {
			item := item.(map[string]any)
			group, _ := get(item, "metadata", "name").(string)
			for _, v := range list(item["versions"]) {
				v := v.(map[string]any)
				gv := strings.TrimPrefix(group+"/"+v["version"].(string), "/")
				for _, r := range list(v["resources"]) {
					r := r.(map[string]any)
					rk := r["responseKind"].(map[string]any)
					kind := strings.TrimPrefix(rk["group"].(string)+"/"+rk["version"].(string), "/") + "/" + rk["kind"].(string)
					ns := r["scope"] == "Namespaced"
					aggregated[describe(gv, r["resource"].(string), kind, ns, list(r["verbs"]), list(r["shortNames"]), list(r["categories"]))] = true
					for _, sr := range list(r["subresources"]) {
						sr := sr.(map[string]any)
						sk := sr["responseKind"].(map[string]any)
						skind := strings.TrimPrefix(sk["group"].(string)+"/"+sk["version"].(string), "/") + "/" + sk["kind"].(string)
						aggregated[describe(gv, r["resource"].(string)+"/"+sr["subresource"].(string), skind, ns, list(sr["verbs"]), nil, nil)] = true
					}
				}
			}
		}
	}
	for l := range legacy {
		if !aggregated[l] {
			t.Errorf("in the legacy documents, not in aggregated discovery: %s", l)
		}
	}
	for g := range aggregated {
		if !legacy[g] {
			t.Errorf("in aggregated discovery, not in the legacy documents: %s", g)
		}
	}
	if !aggregated["example.com/v1 widgets example.com/v1/Widget ns create,delete,deletecollection,get,list,patch,update,watch wd gadgets"] {
		t.Errorf("the custom resource is missing from aggregated discovery")
	}
	// The "all" category is Kubernetes' (kubectl get all): workloads, pods, services,
	// autoscalers; nothing else.
	kubernetesAll := []string{"cronjobs", "daemonsets", "deployments", "horizontalpodautoscalers", "jobs", "pods", "replicasets", "replicationcontrollers", "services", "statefulsets"}
	var all, want []string
	served := map[string]bool{}
	for d := range aggregated {
		f := strings.Split(d, " ")
		served[f[1]] = true
		if slices.Contains(strings.Split(f[6], ","), "all") {
			all = append(all, f[1])
		}
	}
	for _, r := range kubernetesAll {
		if served[r] {
			want = append(want, r)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all) // a resource served at several versions (autoscaling v1 and v2) is in it once per version
	if got := strings.Join(all, " "); got != strings.Join(want, " ") {
		t.Errorf(`category "all" = %s, want %s`, got, strings.Join(want, " "))
	}
	// Without the aggregated type in Accept, the legacy document.
	if ct, m := a.getAccept("/apis", "application/json"); m["kind"] != "APIGroupList" || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("plain /apis: %q %v", ct, m["kind"])
	}
}
