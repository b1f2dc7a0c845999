package skifftest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

var (
	vaps        = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
	vapBindings = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}
	replicaSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	namespaces  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crds        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// vapPolicy is the conformance specs' policy builder: resources in group/version, only in
// namespaces labelled unique=true.
func vapPolicy(name, unique, group, resource string, variables []any, validations ...map[string]any) *unstructured.Unstructured {
	vs := make([]any, len(validations))
	for i, v := range validations {
		vs[i] = v
	}
	spec := map[string]any{
		"matchConstraints": map[string]any{
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{unique: "true"}},
			"resourceRules": []any{map[string]any{"operations": []any{"CREATE", "UPDATE"}, "apiGroups": []any{group},
				"apiVersions": []any{"v1"}, "resources": []any{resource}}},
		},
		"validations": vs,
	}
	if variables != nil {
		spec["variables"] = variables
	}
	return obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", name, spec)
}

func vapBinding(name, unique, policy string) *unstructured.Unstructured {
	return obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", name, map[string]any{
		"policyName":        policy,
		"matchResources":    map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{unique: "true"}}},
		"validationActions": []any{"Deny"},
	})
}

func basicWorkload(kind, name string, replicas int64) *unstructured.Unstructured {
	return obj("apps/v1", kind, name, map[string]any{
		"replicas": replicas,
		"selector": map[string]any{"matchLabels": map[string]any{"app": "nginx"}},
		"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "nginx"}},
			"spec": map[string]any{"containers": []any{map[string]any{"name": "nginx", "image": "nginx"}}}},
	})
}

// What Kubernetes' conformance specs for ValidatingAdmissionPolicy (test/e2e/apimachinery/
// validatingadmissionpolicy.go, v1.33) exercise, through client-go against an envtest-like
// cluster: validating a Deployment, variables, type checking of built-in and custom kinds,
// and the API operations of both kinds and the policy's status.
func TestValidatingAdmissionPolicyConformance(t *testing.T) {
	t.Parallel()
	c := Start(t, Options{Nodes: NoNodes, NoScheduler: true, NoControllers: true})
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns, unique = "vap-e2e", "vap-e2e-unique"
	nsObj := obj("v1", "Namespace", ns, nil)
	nsObj.SetLabels(map[string]string{unique: "true"})
	if _, err := dc.Resource(namespaces).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustCreate := func(gvr schema.GroupVersionResource, namespace string, o *unstructured.Unstructured) *unstructured.Unstructured {
		t.Helper()
		got, err := dc.Resource(gvr).Namespace(namespace).Create(ctx, o, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s %s: %v", gvr.Resource, o.GetName(), err)
		}
		return got
	}
	// waitMarkerDenied: the conformance specs' wait for the policy to take effect.
	waitMarkerDenied := func() {
		t.Helper()
		eventually(t, 10*time.Second, "the marker Deployment to be denied", func() (bool, string) {
			_, err := dc.Resource(deployments).Namespace(ns).Create(ctx, basicWorkload("Deployment", "marker-deployment", 1), metav1.CreateOptions{})
			_ = dc.Resource(deployments).Namespace(ns).Delete(ctx, "marker-deployment", metav1.DeleteOptions{})
			return apierrors.IsInvalid(err), fmt.Sprint(err)
		})
	}
	allowed := func(gvr schema.GroupVersionResource, o *unstructured.Unstructured) {
		t.Helper()
		if _, err := dc.Resource(gvr).Namespace(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			t.Errorf("create %s %s: %v", o.GetKind(), o.GetName(), err)
		}
		_ = dc.Resource(gvr).Namespace(ns).Delete(ctx, o.GetName(), metav1.DeleteOptions{})
	}
	// typeChecking waits for the status controller and returns the warnings.
	typeChecking := func(name string) []any {
		t.Helper()
		var warnings []any
		eventually(t, 10*time.Second, "status.typeChecking of "+name, func() (bool, string) {
			p, err := dc.Resource(vaps).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			tc, found, _ := unstructured.NestedMap(p.Object, "status", "typeChecking")
			warnings, _, _ = unstructured.NestedSlice(tc, "expressionWarnings")
			return found, fmt.Sprint(p.Object["status"])
		})
		return warnings
	}
	checkWarning := func(w any, ref, substr string) {
		t.Helper()
		m, _ := w.(map[string]any)
		if m["fieldRef"] != ref || !strings.Contains(fmt.Sprint(m["warning"]), substr) {
			t.Errorf("warning %v, want %s containing %q", m, ref, substr)
		}
	}

	t.Run("should validate against a Deployment", func(t *testing.T) {
		mustCreate(vaps, "", vapPolicy("deploy.policy.example.com", unique, "apps", "deployments", nil,
			map[string]any{"expression": "object.spec.replicas > 1", "messageExpression": "'wants replicas > 1, got ' + string(object.spec.replicas)"},
			map[string]any{"expression": "namespaceObject.metadata.name == '" + ns + "'", "message": "Internal error! Other namespace should not be allowed."}))
		mustCreate(vapBindings, "", vapBinding("deploy.binding.example.com", unique, "deploy.policy.example.com"))
		waitMarkerDenied()
		_, err := dc.Resource(deployments).Namespace(ns).Create(ctx, basicWorkload("Deployment", "one", 1), metav1.CreateOptions{})
		if want := `deployments.apps "one" is forbidden: ValidatingAdmissionPolicy 'deploy.policy.example.com' with binding 'deploy.binding.example.com' denied request: wants replicas > 1, got 1`; err == nil || err.Error() != want {
			t.Errorf("denial: %v, want %s", err, want)
		}
		allowed(deployments, basicWorkload("Deployment", "replicated", 2))
		allowed(replicaSets, basicWorkload("ReplicaSet", "non-replicated", 1))
		_ = dc.Resource(vapBindings).Delete(ctx, "deploy.binding.example.com", metav1.DeleteOptions{})
		_ = dc.Resource(vaps).Delete(ctx, "deploy.policy.example.com", metav1.DeleteOptions{})
	})

	t.Run("should type check validation expressions", func(t *testing.T) {
		mustCreate(vaps, "", vapPolicy("correct.example.com", unique, "apps", "deployments", nil, map[string]any{"expression": "object.spec.replicas > 1"}))
		if w := typeChecking("correct.example.com"); len(w) != 0 {
			t.Errorf("warnings for a correct policy: %v", w)
		}
		mustCreate(vaps, "", vapPolicy("confused.example.com", unique, "apps", "deployments", nil, map[string]any{"expression": "object.spec.replicas > '1'",
			"messageExpression": "'wants replicas > 1, got ' + object.spec.replicas"}))
		w := typeChecking("confused.example.com")
		if len(w) != 2 {
			t.Fatalf("warnings %v, want 2", w)
		}
		checkWarning(w[0], "spec.validations[0].expression", "found no matching overload for '_>_' applied to '(int, string)'")
		checkWarning(w[1], "spec.validations[0].messageExpression", "found no matching overload for '_+_' applied to '(string, int)'")
	})

	t.Run("should allow expressions to refer variables", func(t *testing.T) {
		mustCreate(vaps, "", vapPolicy("vars.policy.example.com", unique, "apps", "deployments", []any{
			map[string]any{"name": "replicas", "expression": "object.spec.replicas"},
			map[string]any{"name": "oddReplicas", "expression": "variables.replicas % 2 == 1"},
		}, map[string]any{"expression": "variables.replicas > 1"}, map[string]any{"expression": "variables.oddReplicas"}))
		mustCreate(vapBindings, "", vapBinding("vars.binding.example.com", unique, "vars.policy.example.com"))
		waitMarkerDenied()
		allowed(deployments, basicWorkload("Deployment", "replicated", 3))
		allowed(replicaSets, basicWorkload("ReplicaSet", "non-replicated", 1))
		_ = dc.Resource(vapBindings).Delete(ctx, "vars.binding.example.com", metav1.DeleteOptions{})
	})

	t.Run("should type check a CRD", func(t *testing.T) {
		crd := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "crontabs.stable.vap-e2e"},
			"spec": map[string]any{"group": "stable.vap-e2e", "scope": "Namespaced",
				"names": map[string]any{"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": []any{"ct"}},
				"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true, "schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "properties": map[string]any{"spec": map[string]any{"type": "object", "properties": map[string]any{
						"cronSpec": map[string]any{"type": "string"}, "image": map[string]any{"type": "string"}, "replicas": map[string]any{"type": "integer"}}}}}}}}}}}
		mustCreate(crds, "", crd)
		eventually(t, 10*time.Second, "the CRD to be established", func() (bool, string) {
			_, err := dc.Resource(schema.GroupVersionResource{Group: "stable.vap-e2e", Version: "v1", Resource: "crontabs"}).Namespace(ns).List(ctx, metav1.ListOptions{})
			return err == nil, fmt.Sprint(err)
		})
		mustCreate(vaps, "", vapPolicy("correct-crd.example.com", unique, "stable.vap-e2e", "crontabs", nil, map[string]any{"expression": "object.spec.replicas > 1"}))
		if w := typeChecking("correct-crd.example.com"); len(w) != 0 {
			t.Errorf("warnings for a correct policy: %v", w)
		}
		mustCreate(vaps, "", vapPolicy("confused-crd.example.com", unique, "stable.vap-e2e", "crontabs", nil,
			map[string]any{"expression": "object.spec.replicas > '1'"}, map[string]any{"expression": "object.spec.maxRetries < 10"}))
		w := typeChecking("confused-crd.example.com")
		if len(w) != 2 {
			t.Fatalf("warnings %v, want 2", w)
		}
		checkWarning(w[0], "spec.validations[0].expression", "found no matching overload for '_>_' applied to '(int, string)'")
		checkWarning(w[1], "spec.validations[1].expression", "undefined field 'maxRetries'")
	})

	t.Run("should support ValidatingAdmissionPolicy API operations", func(t *testing.T) {
		hc, err := rest.HTTPClientFor(c.RESTConfig())
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(c.URL + "/apis/admissionregistration.k8s.io/v1")
		if err != nil {
			t.Fatal(err)
		}
		var res metav1.APIResourceList
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, r := range res.APIResources {
			found[r.Name] = true
		}
		for _, want := range []string{"validatingadmissionpolicies", "validatingadmissionpolicies/status", "validatingadmissionpolicybindings"} {
			if !found[want] {
				t.Errorf("discovery lacks %s: %v", want, found)
			}
		}
		client := dc.Resource(vaps)
		label := "example-e2e-vap-label=ops"
		template := vapPolicy("", unique, "apps", "deployments", nil, map[string]any{"expression": "object.spec.replicas <= 100"})
		template.SetName("")
		template.SetGenerateName("e2e-example-vap-")
		template.SetLabels(map[string]string{"example-e2e-vap-label": "ops"})
		var created *unstructured.Unstructured
		for range 3 {
			created = mustCreate(vaps, "", template)
		}
		if got, err := client.Get(ctx, created.GetName(), metav1.GetOptions{}); err != nil || got.GetUID() != created.GetUID() {
			t.Fatalf("get: %v", err)
		}
		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: label})
		if err != nil || len(list.Items) != 3 {
			t.Fatalf("list: %v %d", err, len(list.Items))
		}
		w, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion(), LabelSelector: label})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		patched, err := client.Patch(ctx, created.GetName(), types.MergePatchType, []byte(`{"metadata":{"annotations":{"patched":"true"}},"spec":{"failurePolicy":"Ignore"}}`), metav1.PatchOptions{})
		if fp, _, _ := unstructured.NestedString(patched.Object, "spec", "failurePolicy"); err != nil || fp != "Ignore" || patched.GetAnnotations()["patched"] != "true" {
			t.Fatalf("patch: %v %s", err, fp)
		}
		// The status controller writes the policy too (its generation changed): retry on
		// conflict, as the conformance spec does.
		retryOnConflict := func(what string, f func() error) {
			t.Helper()
			for i := 0; ; i++ {
				err := f()
				if err == nil {
					return
				}
				if !apierrors.IsConflict(err) || i == 10 {
					t.Fatalf("%s: %v", what, err)
				}
			}
		}
		retryOnConflict("update", func() error {
			cur, err := client.Get(ctx, created.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			_ = unstructured.SetNestedField(cur.Object, "Fail", "spec", "failurePolicy")
			cur.SetAnnotations(map[string]string{"patched": "true", "updated": "true"})
			_, err = client.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		deadline := time.After(10 * time.Second)
		for saw := false; !saw; {
			select {
			case ev := <-w.ResultChan():
				if ev.Type != watch.Modified {
					t.Fatalf("watch event %s, want MODIFIED", ev.Type)
				}
				saw = ev.Object.(*unstructured.Unstructured).GetAnnotations()["patched"] == "true"
			case <-deadline:
				t.Fatal("no watch event with the patched annotation")
			}
		}
		st, err := client.Get(ctx, created.GetName(), metav1.GetOptions{}, "status")
		if err != nil || st.GetKind() != "ValidatingAdmissionPolicy" || st.GetUID() != created.GetUID() {
			t.Fatalf("get status: %v %s", err, st.GetKind())
		}
		patched, err = client.Patch(ctx, created.GetName(), types.MergePatchType,
			[]byte(`{"status":{"conditions":[{"type":"StatusPatched","status":"True","reason":"E2E","message":"Set from e2e test","lastTransitionTime":"2024-01-01T00:00:00Z"}]}}`),
			metav1.PatchOptions{}, "status")
		if conds, _, _ := unstructured.NestedSlice(patched.Object, "status", "conditions"); err != nil || len(conds) != 1 {
			t.Fatalf("patch status: %v %v", err, conds)
		}
		var updated *unstructured.Unstructured
		retryOnConflict("update status", func() error {
			cur, err := client.Get(ctx, created.GetName(), metav1.GetOptions{}, "status")
			if err != nil {
				return err
			}
			_ = unstructured.SetNestedSlice(cur.Object, []any{map[string]any{"type": "StatusUpdated", "status": "True", "reason": "E2E",
				"message": "Set from e2e test", "lastTransitionTime": "2024-01-01T00:00:00Z"}}, "status", "conditions")
			updated, err = client.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if conds, _, _ := unstructured.NestedSlice(updated.Object, "status", "conditions"); len(conds) != 1 || conds[0].(map[string]any)["type"] != "StatusUpdated" {
			t.Fatalf("update status: %v", conds)
		}
		if err := client.Delete(ctx, created.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if list, _ := client.List(ctx, metav1.ListOptions{LabelSelector: label}); len(list.Items) != 2 {
			t.Errorf("after delete: %d", len(list.Items))
		}
		if err := client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: label}); err != nil {
			t.Fatal(err)
		}
		if list, _ := client.List(ctx, metav1.ListOptions{LabelSelector: label}); len(list.Items) != 0 {
			t.Errorf("after deletecollection: %d", len(list.Items))
		}
	})

	t.Run("should support ValidatingAdmissionPolicyBinding API operations", func(t *testing.T) {
		client := dc.Resource(vapBindings)
		label := "example-e2e-vapb-label=ops"
		template := vapBinding("", unique, "replicalimit-policy.example.com")
		template.SetGenerateName("e2e-example-vapb-")
		template.SetLabels(map[string]string{"example-e2e-vapb-label": "ops"})
		var created *unstructured.Unstructured
		for range 3 {
			created = mustCreate(vapBindings, "", template)
		}
		list, err := client.List(ctx, metav1.ListOptions{LabelSelector: label})
		if err != nil || len(list.Items) != 3 {
			t.Fatalf("list: %v", err)
		}
		patched, err := client.Patch(ctx, created.GetName(), types.MergePatchType, []byte(`{"metadata":{"annotations":{"patched":"true"}},"spec":{"validationActions":["Warn"]}}`), metav1.PatchOptions{})
		if a, _, _ := unstructured.NestedStringSlice(patched.Object, "spec", "validationActions"); err != nil || len(a) != 1 || a[0] != "Warn" {
			t.Fatalf("patch: %v %v", err, a)
		}
		if err := client.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: label}); err != nil {
			t.Fatal(err)
		}
		if list, _ := client.List(ctx, metav1.ListOptions{LabelSelector: label}); len(list.Items) != 0 {
			t.Errorf("after deletecollection: %d", len(list.Items))
		}
	})
}
