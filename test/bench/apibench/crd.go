package main

import (
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"net/http"
	"time"
)

// benchCRD is a custom resource shaped like the ConfigMaps it is compared with (a string
// value and a label), with what a typical schema has: a required field, a pattern, bounds,
// a default and an unknown field to prune.
const benchCRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"benches.bench.skiff.dev"},
 "spec":{"group":"bench.skiff.dev","scope":"Namespaced","names":{"plural":"benches","kind":"Bench"},
  "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{
   "spec":{"type":"object","required":["v"],"properties":{
    "v":{"type":"string","maxLength":1000,"pattern":"^x+$"},
    "replicas":{"type":"integer","minimum":0,"default":1},
    "mode":{"type":"string","enum":["fast","slow"],"default":"fast"}}}}}}}]}}`

// crdCost measures custom resource creates against ConfigMap creates on the same server, in
// alternating rounds so both see the same machine load: the cost of decoding into an
// unstructured object, pruning, defaulting and schema validation.
func crdCost(hc *http.Client, base, value string, count int) {
	benchapi.Check("apibench", benchapi.Post(hc, base+"/apis/apiextensions.k8s.io/v1/customresourcedefinitions", benchCRD))
	deadline := time.Now().Add(30 * time.Second)
	for benchapi.GetOK(hc, base+"/apis/bench.skiff.dev/v1") != nil {
		if time.Now().After(deadline) {
			benchapi.Check("apibench", fmt.Errorf("the bench definition was not served within 30s"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"bench-crd"}}`)
	var cm, cr result
	const rounds = 4
	for r := 0; r < rounds; r++ {
		cm = merge(cm, run(count/rounds, *concurrency, func(i int) error {
			return benchapi.Post(hc, base+"/api/v1/namespaces/bench-crd/configmaps",
				fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d-%08d","labels":{"app":"bench"}},"data":{"v":%q}}`, r, i, value))
		}))
		cr = merge(cr, run(count/rounds, *concurrency, func(i int) error {
			return benchapi.Post(hc, base+"/apis/bench.skiff.dev/v1/namespaces/bench-crd/benches",
				fmt.Sprintf(`{"apiVersion":"bench.skiff.dev/v1","kind":"Bench","metadata":{"name":"cr-%d-%08d","labels":{"app":"bench"}},"spec":{"v":%q,"unknown":1}}`, r, i, value))
		}))
	}
	fmt.Printf("\n## custom resources (%d creates each, %d rounds, alternating)\n\n", count, rounds)
	fmt.Println("| operation | rate | p50 | p99 | errors |")
	fmt.Println("|---|---|---|---|---|")
	fmt.Printf("| create ConfigMap | %.0f/s | %s | %s | %d |\n", cm.rate(), cm.pct(50), cm.pct(99), cm.errors)
	fmt.Printf("| create custom resource (schema: required, pattern, bounds, 2 defaults, 1 field pruned) | %.0f/s | %s | %s | %d |\n", cr.rate(), cr.pct(50), cr.pct(99), cr.errors)
	fmt.Printf("\n**custom resource creates/s ÷ ConfigMap creates/s = %.2f**\n", cr.rate()/cm.rate())
}
