package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	"github.com/skiff-sh/skiff/api/apiregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/test/harness"
)

const flunderDef = "com.example.wardle.v1alpha1.Flunder"

func httpGet(t *testing.T, hc *http.Client, url string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// openAPIState is what the API server's OpenAPI documents say of the wardle extension.
func openAPIState(t *testing.T, env *aggregationEnv) (v2, v2pb, v3 bool, seen string) {
	t.Helper()
	hc := env.s.HTTPClient(t)
	var doc struct {
		Paths       map[string]json.RawMessage `json:"paths"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	code, b := httpGet(t, hc, env.s.URL+"/openapi/v2", nil)
	if code != 200 || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("/openapi/v2: %d %.300s", code, b)
	}
	if doc.Definitions["io.k8s.api.core.v1.Pod"] == nil || doc.Paths["/api/v1/namespaces/{namespace}/pods"] == nil {
		t.Fatalf("/openapi/v2 lost the server's own Pod")
	}
	v2 = doc.Definitions[flunderDef] != nil && doc.Paths["/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders"] != nil

	// The protobuf form kubectl's validation downloads.
	code, b = httpGet(t, hc, env.s.URL+"/openapi/v2", map[string]string{"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
	var pb openapi_v2.Document
	if code != 200 || proto.Unmarshal(b, &pb) != nil {
		t.Fatalf("/openapi/v2 protobuf: %d (%d bytes)", code, len(b))
	}
	for _, d := range pb.GetDefinitions().GetAdditionalProperties() {
		v2pb = v2pb || d.GetName() == flunderDef
	}

	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	code, b = httpGet(t, hc, env.s.URL+"/openapi/v3", nil)
	if code != 200 || json.Unmarshal(b, &index) != nil || index.Paths["api/v1"].ServerRelativeURL == "" {
		t.Fatalf("/openapi/v3: %d %.300s", code, b)
	}
	if p, ok := index.Paths["apis/wardle.example.com/v1alpha1"]; ok {
		code, b = httpGet(t, hc, env.s.URL+p.ServerRelativeURL, nil)
		v3 = code == 200 && strings.Contains(string(b), "the name of another flunder") && strings.Contains(string(b), `"kind":"Flunder"`)
		if !v3 {
			t.Errorf("%s: %d %.300s", p.ServerRelativeURL, code, b)
		}
	}
	return v2, v2pb, v3, fmt.Sprintf("v2 JSON has Flunder: %v, protobuf: %v, v3 document: %v", v2, v2pb, v3)
}

// The extension's OpenAPI joins the API server's: its paths and definitions in /openapi/v2
// (JSON and protobuf), its v3 document listed in /openapi/v3 and served from there; it
// stays while the extension is down and goes with the APIService.
func TestAPIAggregationOpenAPI(t *testing.T) {
	env := setUpAggregation(t)
	ctx := context.Background()
	harness.Eventually(t, 15*time.Second, "the extension's OpenAPI merged", func() (bool, string) {
		v2, v2pb, v3, seen := openAPIState(t, env)
		return v2 && v2pb && v3, seen
	})

	// Down: the last documents stay.
	env.w.srv.Close()
	env.target.Store("127.0.0.1:1")
	env.available(apiregistration.ConditionFalse, "FailedDiscoveryCheck")
	if v2, v2pb, v3, seen := openAPIState(t, env); !v2 || !v2pb || !v3 {
		t.Errorf("extension down: %s; want its last documents kept", seen)
	}

	// The APIService is deleted: its documents go.
	if err := env.apisvcs.Delete(ctx, "", env.as.Name, nil); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 15*time.Second, "the extension's OpenAPI removed", func() (bool, string) {
		v2, v2pb, v3, seen := openAPIState(t, env)
		return !v2 && !v2pb && !v3, seen
	})
}

// Discovery orders aggregated groups by groupPriorityMinimum (then name) and a group's
// versions by versionPriority, the first preferred — in /apis, /apis/GROUP and aggregated
// discovery alike — after the server's own groups; the resource list of aggregated
// discovery comes from the last availability check.
func TestAPIAggregationDiscoveryOrder(t *testing.T) {
	env := setUpAggregation(t) // wardle.example.com/v1alpha1: group 1000, version 15
	ctx := context.Background()
	add := func(group, version string, groupPrio, versionPrio int32) {
		t.Helper()
		a := *env.as
		a.ObjectMeta = meta.ObjectMeta{Name: version + "." + group}
		a.Spec.Group, a.Spec.Version, a.Spec.GroupPriorityMinimum, a.Spec.VersionPriority = group, version, groupPrio, versionPrio
		if _, err := env.apisvcs.Create(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	add("wardle.example.com", "v1beta1", 100, 20) // preferred: a higher version priority
	add("wardle.example.com", "v2", 100, 10)      // after v1alpha1 despite being v2
	add("zeta.example.com", "v1", 2000, 15)       // first: the highest group priority
	add("alpha.example.com", "v1", 1000, 15)      // same priority as wardle: by name
	add("apps", "v1alpha9", 50, 1)                // a built-in group: after its own versions
	hc := env.s.HTTPClient(t)

	var list meta.APIGroupList
	code, b := httpGet(t, hc, env.s.URL+"/apis", nil)
	if code != 200 || json.Unmarshal(b, &list) != nil {
		t.Fatalf("/apis: %d %s", code, b)
	}
	var names []string
	var wardle, apps meta.APIGroup
	for _, g := range list.Groups {
		names = append(names, g.Name)
		switch g.Name {
		case "wardle.example.com":
			wardle = g
		case "apps":
			apps = g
		}
	}
	iz, ia, iw, iapps := slices.Index(names, "zeta.example.com"), slices.Index(names, "alpha.example.com"), slices.Index(names, "wardle.example.com"), slices.Index(names, "apps")
	if iapps < 0 || iz < iapps || ia < iz || iw < ia || iw != len(names)-1 {
		t.Errorf("/apis groups %v: want the server's own (apps among them), then zeta, alpha, wardle", names)
	}
	versions := func(g meta.APIGroup) []string {
		var out []string
		for _, v := range g.Versions {
			out = append(out, v.Version)
		}
		return out
	}
	if got := versions(wardle); !slices.Equal(got, []string{"v1beta1", "v1alpha1", "v2"}) || wardle.PreferredVersion.Version != "v1beta1" {
		t.Errorf("wardle versions %v preferred %q: want [v1beta1 v1alpha1 v2], v1beta1", got, wardle.PreferredVersion.Version)
	}
	if got := versions(apps); got[0] != "v1" || got[len(got)-1] != "v1alpha9" || apps.PreferredVersion.Version != "v1" {
		t.Errorf("apps versions %v preferred %q: want v1 first, the extension's v1alpha9 last", got, apps.PreferredVersion.Version)
	}
	var one meta.APIGroup
	code, b = httpGet(t, hc, env.s.URL+"/apis/wardle.example.com", nil)
	if code != 200 || json.Unmarshal(b, &one) != nil || !slices.Equal(versions(one), versions(wardle)) || one.PreferredVersion.Version != "v1beta1" {
		t.Errorf("/apis/wardle.example.com: %d %s", code, b)
	}

	// Aggregated discovery: same order; v1alpha1's resources (from the availability check).
	var agg struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Versions []struct {
				Version   string                      `json:"version"`
				Freshness string                      `json:"freshness"`
				Resources []struct{ Resource string } `json:"resources"`
			} `json:"versions"`
		} `json:"items"`
	}
	code, b = httpGet(t, hc, env.s.URL+"/apis", map[string]string{"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
	if code != 200 || json.Unmarshal(b, &agg) != nil {
		t.Fatalf("aggregated discovery: %d %s", code, b)
	}
	var aggNames, wardleVersions []string
	for _, g := range agg.Items {
		aggNames = append(aggNames, g.Metadata.Name)
		if g.Metadata.Name != "wardle.example.com" {
			continue
		}
		for _, v := range g.Versions {
			wardleVersions = append(wardleVersions, v.Version)
			if v.Version == "v1alpha1" && (len(v.Resources) != 1 || v.Resources[0].Resource != "flunders" || v.Freshness != "Current") {
				t.Errorf("aggregated discovery of wardle v1alpha1: %+v", v)
			}
		}
	}
	if !slices.Equal(aggNames, names) || !slices.Equal(wardleVersions, versions(wardle)) {
		t.Errorf("aggregated discovery groups %v wardle versions %v; legacy: %v %v", aggNames, wardleVersions, names, versions(wardle))
	}
}
