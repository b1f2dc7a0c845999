package main

import (
	"bytes"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"io"
	"net/http"
)

// ssaDeployment is a Deployment as a manifest declares it: what server-side apply merges and
// records ownership of (keyed containers, ports, env, a label selector).
func ssaDeployment(name string, round int) string {
	return fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q,"labels":{"app":%q}},
"spec":{"replicas":2,"selector":{"matchLabels":{"app":%q}},"template":{"metadata":{"labels":{"app":%q}},
"spec":{"containers":[{"name":"web","image":"nginx:1.%d","ports":[{"containerPort":80}],"env":[{"name":"MODE","value":"bench"}]},
{"name":"sidecar","image":"busybox","args":["sleep","infinity"]}]}}}}`, name, name, name, name, round)
}

// ssaCost measures server-side applies against merge patches of the same Deployments, in
// alternating rounds on the same server: each apply changes one container's image (a real
// write, ownership recomputed over the whole object), each merge patch changes a label (a
// real write whose managedFields are recorded too). The ratio is the cost of apply's merge
// and conflict detection over a patch that also tracks fields.
func ssaCost(hc *http.Client, base string, count int) {
	benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"bench-ssa"}}`)
	url := func(i int) string {
		return fmt.Sprintf("%s/apis/apps/v1/namespaces/bench-ssa/deployments/d-%06d", base, i)
	}
	benchapi.Check("apibench", errorsOf(run(count, *concurrency, func(i int) error {
		return patch(hc, url(i)+"?fieldManager=bench", "application/apply-patch+yaml", ssaDeployment(fmt.Sprintf("d-%06d", i), 0), http.StatusCreated)
	})))
	var apply, merged result
	const rounds = 4
	for r := 1; r <= rounds; r++ {
		apply = merge(apply, run(count, *concurrency, func(i int) error {
			return patch(hc, url(i)+"?fieldManager=bench", "application/apply-patch+yaml", ssaDeployment(fmt.Sprintf("d-%06d", i), r), http.StatusOK)
		}))
		merged = merge(merged, run(count, *concurrency, func(i int) error {
			return patch(hc, url(i)+"?fieldManager=patcher", "application/merge-patch+json", fmt.Sprintf(`{"metadata":{"labels":{"round":"r%d"}}}`, r), http.StatusOK)
		}))
	}
	fmt.Printf("\n## server-side apply (%d Deployments, %d rounds, alternating)\n\n", count, rounds)
	fmt.Println("| operation | rate | p50 | p99 | errors |")
	fmt.Println("|---|---|---|---|---|")
	fmt.Printf("| merge patch (a label) | %.0f/s | %s | %s | %d |\n", merged.rate(), merged.pct(50), merged.pct(99), merged.errors)
	fmt.Printf("| server-side apply (whole manifest, an image changed) | %.0f/s | %s | %s | %d |\n", apply.rate(), apply.pct(50), apply.pct(99), apply.errors)
	fmt.Printf("\n**applies/s ÷ merge patches/s = %.2f**\n", apply.rate()/merged.rate())
}

func errorsOf(r result) error {
	if r.errors > 0 {
		return fmt.Errorf("%d requests failed", r.errors)
	}
	return nil
}

func patch(hc *http.Client, url, contentType, body string, want int) error {
	req, _ := http.NewRequest("PATCH", url, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", contentType)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("PATCH %s: %d %s", url, resp.StatusCode, b)
	}
	return nil
}
