package main

import (
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
)

// policyCost measures what one trivial ValidatingAdmissionPolicy costs a create: the policy
// (one CEL validation over the object's name) is bound for ConfigMaps in namespaces labelled
// policed=yes, and creates alternate, in rounds, between a namespace it takes and one it does
// not, on the same server in the same run.
func policyCost(hc *http.Client, base string) {
	benchapi.Check("apibench", benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"policy-none"}}`))
	benchapi.Check("apibench", benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"policy-one","labels":{"policed":"yes"}}}`))
	benchapi.Check("apibench", benchapi.Post(hc, base+"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies", `{
		"metadata":{"name":"bench-trivial"},
		"spec":{"matchConstraints":{"resourceRules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["configmaps"]}]},
			"validations":[{"expression":"!object.metadata.name.startsWith('denied-')","message":"denied"}]}}`))
	benchapi.Check("apibench", benchapi.Post(hc, base+"/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings", `{
		"metadata":{"name":"bench-trivial"},
		"spec":{"policyName":"bench-trivial","validationActions":["Deny"],"matchResources":{"namespaceSelector":{"matchLabels":{"policed":"yes"}}}}}`))
	// The plugin reads policies from the watch cache: wait until the policy refuses.
	for i := 0; ; i++ {
		err := benchapi.Do(hc, "POST", base+"/api/v1/namespaces/policy-one/configmaps?dryRun=All", `{"metadata":{"name":"denied-probe"}}`, http.StatusUnprocessableEntity)
		if err == nil {
			break
		}
		if i > 1000 {
			benchapi.Check("apibench", fmt.Errorf("the policy never took effect: %w", err))
		}
	}
	namespaces := []string{"policy-none", "policy-one"}
	creates := make([]result, len(namespaces))
	const rounds = 3
	per := *n / rounds
	for r := 0; r < rounds; r++ {
		for i, ns := range namespaces {
			res := run(per, *concurrency, func(j int) error {
				return benchapi.Post(hc, base+"/api/v1/namespaces/"+ns+"/configmaps", fmt.Sprintf(`{"metadata":{"name":"p-%d-%08d"},"data":{"v":"x"}}`, r, j))
			})
			creates[i] = merge(creates[i], res)
		}
	}
	fmt.Printf("\n## The cost of a ValidatingAdmissionPolicy (same run, same server, %d in flight)\n\n", *concurrency)
	fmt.Println("| creates | creates/s | p50 | p99 | errors | ÷ none |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, name := range []string{"no policy takes them", "one trivial ValidatingAdmissionPolicy takes them"} {
		fmt.Printf("| %s | %.0f | %s | %s | %d | %.2f |\n", name, creates[i].rate(), creates[i].pct(50), creates[i].pct(99),
			creates[i].errors, creates[i].rate()/creates[0].rate())
	}
}
