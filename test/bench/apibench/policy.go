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
	compareCreates(hc, base, "a ValidatingAdmissionPolicy", "p",
		[2]string{"policy-none", "policy-one"}, [2]string{"no policy takes them", "one trivial ValidatingAdmissionPolicy takes them"})
}
