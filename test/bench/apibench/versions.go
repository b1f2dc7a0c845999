package main

import (
	"fmt"
	"math/rand"
	"net/http"

	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
)

// versionsCost measures a converted version against the stored one on the same objects and
// server, in alternating rounds so both see the same load: autoscalers created, read and
// listed through autoscaling/v2 (the storage version: no conversion) and autoscaling/v1
// (converted on the way in and out, annotations included).
func versionsCost(hc *http.Client, base string, count int) {
	benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"bench-hpa"}}`)
	path := func(v string) string {
		return base + "/apis/autoscaling/" + v + "/namespaces/bench-hpa/horizontalpodautoscalers"
	}
	body := func(v, name string) string {
		if v == "v1" {
			return fmt.Sprintf(`{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":%q},
				"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":%q},"minReplicas":1,"maxReplicas":5,"targetCPUUtilizationPercentage":50}}`, name, name)
		}
		return fmt.Sprintf(`{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":%q},
			"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":%q},"minReplicas":1,"maxReplicas":5,
			"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}`, name, name)
	}
	const rounds = 4
	res := map[string]result{}
	names := []string{}
	for r := 0; r < rounds; r++ {
		for _, v := range []string{"v2", "v1"} {
			res["create "+v] = merge(res["create "+v], run(count/rounds, *concurrency, func(i int) error {
				return benchapi.Post(hc, path(v), body(v, fmt.Sprintf("%s-%d-%08d", v, r, i)))
			}))
			for i := 0; i < count/rounds; i++ {
				names = append(names, fmt.Sprintf("%s-%d-%08d", v, r, i))
			}
		}
	}
	for r := 0; r < rounds; r++ {
		for _, v := range []string{"v2", "v1"} {
			res["get "+v] = merge(res["get "+v], run(count/rounds, *concurrency, func(i int) error {
				return benchapi.GetOK(hc, path(v)+"/"+names[rand.Intn(len(names))])
			}))
			res["list "+v] = merge(res["list "+v], run(5, 1, func(i int) error { return benchapi.GetOK(hc, path(v)) }))
		}
	}
	fmt.Printf("\n## a converted version against the storage version (autoscaling/v1 vs v2 HorizontalPodAutoscalers; %d creates and gets each, lists of %d, %d rounds, alternating)\n\n", count, 2*count, rounds)
	fmt.Println("| operation | rate | p50 | p99 | errors |")
	fmt.Println("|---|---|---|---|---|")
	for _, op := range []string{"create v2", "create v1", "get v2", "get v1", "list v2", "list v1"} {
		r := res[op]
		fmt.Printf("| %s | %.0f/s | %s | %s | %d |\n", op, r.rate(), r.pct(50), r.pct(99), r.errors)
	}
	for _, op := range []string{"create", "get", "list"} {
		fmt.Printf("\n**%s v1/s ÷ %s v2/s = %.2f**\n", op, op, res[op+" v1"].rate()/res[op+" v2"].rate())
	}
}
