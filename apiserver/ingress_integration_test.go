package apiserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// The Ingress API: skiff's default IngressClass exists from the start, an Ingress naming no
// class gets it (DefaultIngressClass), a named class or the deprecated annotation is kept,
// status is written through /status only, and bad input is refused with field errors.
func TestIngressAPI(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	class := a.must(200, "GET", "/apis/networking.k8s.io/v1/ingressclasses/skiff", "")
	if get(class, "spec", "controller") != "skiff.dev/ingress" ||
		get(class, "metadata", "annotations", "ingressclass.kubernetes.io/is-default-class") != "true" {
		t.Fatalf("default class: %v", class)
	}
	ings := "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
	ing := func(name, extra string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q%s},"spec":{"rules":[{"host":"a.example.com","http":{"paths":[
			{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}`, name, extra)
	}
	i := 0
	harness.Eventually(t, 5*time.Second, "an Ingress without a class to get skiff", func() (bool, string) {
		i++
		m := a.must(201, "POST", ings, ing(fmt.Sprintf("plain-%d", i), ""))
		return get(m, "spec", "ingressClassName") == "skiff", fmt.Sprint(m["spec"])
	})
	m := a.must(201, "POST", ings, strings.Replace(ing("named", ""), `"spec":{`, `"spec":{"ingressClassName":"other",`, 1))
	if get(m, "spec", "ingressClassName") != "other" {
		t.Fatalf("named class changed: %v", m["spec"])
	}
	m = a.must(201, "POST", ings, ing("annotated", `,"annotations":{"kubernetes.io/ingress.class":"nginx"}`))
	if get(m, "spec", "ingressClassName") != nil {
		t.Fatalf("class set despite the annotation: %v", m["spec"])
	}

	// Status: dropped on create and on spec writes, written through /status.
	m = a.must(201, "POST", ings, strings.Replace(ing("st", ""), `}]}}]}}`, `}]}}]},"status":{"loadBalancer":{"ingress":[{"ip":"1.2.3.4"}]}}}`, 1))
	if get(m, "status", "loadBalancer", "ingress") != nil {
		t.Fatalf("status kept on create: %v", m["status"])
	}
	m["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "10.250.0.11"}}}}
	a.must(200, "PUT", ings+"/st/status", toJSON(t, m))
	m = a.must(200, "GET", ings+"/st", "")
	if fmt.Sprint(get(m, "status", "loadBalancer", "ingress")) != "[map[ip:10.250.0.11]]" {
		t.Fatalf("status: %v", m["status"])
	}
	m["status"] = map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "10.250.0"}}}}
	st := a.must(422, "PUT", ings+"/st/status", toJSON(t, m))
	if !strings.Contains(fmt.Sprint(st["details"]), "status.loadBalancer.ingress[0].ip") {
		t.Fatalf("bad status IP: %v", st)
	}

	// Bad input: Kubernetes' field paths.
	st = a.must(422, "POST", ings, `{"metadata":{"name":"bad"},"spec":{"rules":[{"host":"*","http":{"paths":[
		{"path":"api","pathType":"Exact","backend":{"service":{"name":"web","port":{}}}}]}}]}}`)
	for _, f := range []string{"spec.rules[0].host", "spec.rules[0].http.paths[0].path", "spec.rules[0].http.paths[0].backend"} {
		if !strings.Contains(fmt.Sprint(st["details"]), "field:"+f+" ") {
			t.Errorf("no cause for %s: %v", f, st["details"])
		}
	}
	st = a.must(422, "POST", "/apis/networking.k8s.io/v1/ingressclasses", `{"metadata":{"name":"c"},"spec":{"controller":"nodomain"}}`)
	if !strings.Contains(fmt.Sprint(st["details"]), "field:spec.controller") {
		t.Fatalf("bad controller: %v", st)
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
