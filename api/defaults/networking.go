package defaults

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/networking"
)

// NetworkPolicy defaults as Kubernetes' SetDefaults_NetworkPolicy{,Port}: every port's
// protocol to TCP, and policyTypes, when unset, to Ingress plus Egress if there are egress
// rules (a policy always isolates its pods for ingress).
func NetworkPolicy(np *networking.NetworkPolicy) {
	ports := func(ps []networking.NetworkPolicyPort) {
		for i := range ps {
			if ps[i].Protocol == nil {
				ps[i].Protocol = ptr(core.ProtocolTCP)
			}
		}
	}
	for i := range np.Spec.Ingress {
		ports(np.Spec.Ingress[i].Ports)
	}
	for i := range np.Spec.Egress {
		ports(np.Spec.Egress[i].Ports)
	}
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networking.PolicyType{networking.PolicyTypeIngress}
		if len(np.Spec.Egress) != 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networking.PolicyTypeEgress)
		}
	}
}
