// Package bootstrappolicy is the RBAC policy every skiff cluster starts with: Kubernetes'
// user-facing roles (cluster-admin, admin, edit, view), the roles of discovery and public
// information, and a least-privilege role for each of skiff's components. The API server
// reconciles it at start (apiserver/rbacbootstrap.go): missing objects are created, and
// those annotated rbac.authorization.kubernetes.io/autoupdate=true get missing rules and
// subjects added back.
//
// The component roles are derived from what each component does through the API (grep
// client.For and the verbs called in controllermanager/, scheduler/, proxy/); when a
// component starts using a new resource or verb, its role here must grow with it, and
// TestComponentRoles in this package shows what each may and may not do.
package bootstrappolicy

import (
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
)

// Well-known names.
const (
	ControllerManagerUser = "system:kube-controller-manager"
	SchedulerUser         = "system:kube-scheduler"
	ProxyUser             = "system:kube-proxy"
	IngressUser           = "system:skiff:ingress-controller"
	// ImageImporterRole may load image archives into every node (nodes/images).
	ImageImporterRole = "skiff:image-importer"

	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

func aggregated(name string, labels map[string]string, selectLabel string) *rbac.ClusterRole {
	r := clusterRole(name, labels)
	r.AggregationRule = &rbac.AggregationRule{ClusterRoleSelectors: []meta.LabelSelector{{MatchLabels: map[string]string{selectLabel: "true"}}}}
	return r
}

// ClusterRoles are the bootstrap ClusterRoles. admin, edit and view have aggregation rules
// and no rules of their own: the clusterrole-aggregation controller fills them from the
// system:aggregate-to-* roles (and from any role a user labels to aggregate into them).
func ClusterRoles() []*rbac.ClusterRole {
	return []*rbac.ClusterRole{
		clusterRole("cluster-admin", nil,
			verbs("*").groups("*").resources("*"),
			verbs("*").urls("*")),
		// Discovery and health: kubectl's first requests, and load balancers' probes.
		clusterRole("system:discovery", nil,
			verbs("get").urls("/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/")),
		clusterRole("system:public-info-viewer", nil,
			verbs("get").urls("/healthz", "/livez", "/readyz", "/version", "/version/")),
		// ServiceAccount issuer discovery: the keys that verify ServiceAccount tokens.
		clusterRole("system:service-account-issuer-discovery", nil,
			verbs("get").urls("/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/")),
		// Asking what one may do (kubectl auth can-i).
		clusterRole("system:basic-user", nil,
			verbs("create").groups(authorizationGroup).resources("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			verbs("create").groups(authenticationGrp).resources("selfsubjectreviews")),

		aggregated("admin", nil, aggregateToAdmin),
		aggregated("edit", map[string]string{aggregateToAdmin: "true"}, aggregateToEdit),
		aggregated("view", map[string]string{aggregateToEdit: "true"}, aggregateToView),
		clusterRole("system:aggregate-to-admin", map[string]string{aggregateToAdmin: "true"},
			verbs("create").groups(authorizationGroup).resources("localsubjectaccessreviews"),
			verbs(readWrite...).groups(rbac.GroupName).resources("roles", "rolebindings")),
		clusterRole("system:aggregate-to-edit", map[string]string{aggregateToEdit: "true"},
			// Reading what can escalate (exec, secrets) is edit's, not view's.
			verbs(read...).groups(legacyGroup).resources("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
			verbs("impersonate").groups(legacyGroup).resources("serviceaccounts"),
			verbs(write...).groups(legacyGroup).resources("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
			verbs("create").groups(legacyGroup).resources("pods/eviction"),
			verbs(write...).groups(legacyGroup).resources("replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"),
			verbs("create").groups(legacyGroup).resources("serviceaccounts/token"),
			verbs(write...).groups(appsGroup).resources("statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
				"deployments/rollback", "replicasets", "replicasets/scale"),
			verbs(write...).groups(autoscalingGroup).resources("horizontalpodautoscalers"),
			verbs(write...).groups(batchGroup).resources("jobs", "cronjobs"),
			verbs(write...).groups(policyGroup).resources("poddisruptionbudgets"),
			verbs(write...).groups(networkingGroup).resources("networkpolicies", "ingresses"),
			verbs(readWrite...).groups(coordinationGroup).resources("leases")),
		clusterRole("system:aggregate-to-view", map[string]string{aggregateToView: "true"},
			verbs(read...).groups(legacyGroup).resources("pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
				"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
			verbs(read...).groups(legacyGroup).resources("limitranges", "resourcequotas", "bindings", "events", "pods/status",
				"resourcequotas/status", "namespaces/status", "replicationcontrollers/status", "pods/log"),
			// Reading namespaces in a namespace means reading that namespace itself.
			verbs(read...).groups(legacyGroup).resources("namespaces"),
			verbs(read...).groups(discoveryGroup).resources("endpointslices"),
			verbs(read...).groups(appsGroup).resources("controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
				"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale", "replicasets",
				"replicasets/status", "replicasets/scale"),
			verbs(read...).groups(autoscalingGroup).resources("horizontalpodautoscalers", "horizontalpodautoscalers/status"),
			verbs(read...).groups(batchGroup).resources("jobs", "cronjobs", "cronjobs/status", "jobs/status"),
			verbs(read...).groups(policyGroup).resources("poddisruptionbudgets", "poddisruptionbudgets/status"),
			verbs(read...).groups(networkingGroup).resources("networkpolicies", "ingresses", "ingresses/status")),
		// metrics.k8s.io (served by the API server itself): as metrics-server's
		// system:aggregated-metrics-reader, aggregated into view, edit and admin, so whoever
		// may read pods in a namespace may `kubectl top` them.
		clusterRole("system:aggregated-metrics-reader", map[string]string{aggregateToView: "true", aggregateToEdit: "true", aggregateToAdmin: "true"},
			verbs(read...).groups("metrics.k8s.io").resources("pods", "nodes")),

		// Joining nodes: a bootstrap token may ask for a client certificate, and the CSR
		// approver approves node client requests of those bound to the subresource roles.
		clusterRole("system:node-bootstrapper", nil,
			verbs("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:nodeclient", nil,
			verbs("create").groups(certificatesGroup).resources("certificatesigningrequests/nodeclient")),
		clusterRole("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", nil,
			verbs("create").groups(certificatesGroup).resources("certificatesigningrequests/selfnodeclient")),

		// skiff's own: loading image archives into nodes (`skiff image import`,
		// apiserver/nodeimages.go). Not aggregated anywhere: bind it on purpose (a loaded
		// image replaces what pods that do not pull run).
		clusterRole(ImageImporterRole, nil,
			verbs("create").groups(legacyGroup).resources("nodes/images"),
			verbs("get", "list").groups(legacyGroup).resources("nodes")),

		controllerManagerRole(),
		schedulerRole(),
		proxierRole(),
		ingressControllerRole(),
		nodeRole(),
	}
}

// controllerManagerRole: skiff's controller manager runs every controller under the one
// identity system:kube-controller-manager (Kubernetes' --use-service-account-credentials=false).
//   - The garbage collector and the namespace controller act on objects of every kind through
//     their metadata (get, list, watch, patch and update of ownerReferences and finalizers,
//     delete, deletecollection): that is the first rule, as Kubernetes' generic-garbage-collector
//     and namespace-controller roles grant. Every status and finalize write of the other
//     controllers falls within it (resourcequotas/status for the resourcequota controller,
//     poddisruptionbudgets/status and the scale subresources for the disruption controller;
//     for the horizontal pod autoscaler: reading metrics.k8s.io pods and its targets' scale,
//     updating the scale and horizontalpodautoscalers/status).
//   - Creation is granted per kind, for what the controllers make: pods (replicaset, job,
//     daemonset, statefulset), replicasets (deployment), controllerrevisions (daemonset,
//     statefulset), jobs (cronjob), persistentvolumeclaims (statefulset, ephemeral volumes),
//     persistentvolumes (the PV controller's local provisioner), endpoints and
//     endpointslices (endpointslice), serviceaccounts (serviceaccount), configmaps
//     (root-ca-cert-publisher's kube-root-ca.crt), leases (leader election), events,
//     csistoragecapacities (storage-capacity, for the local provisioner).
//   - escalate on clusterroles, for the clusterrole-aggregation controller, as Kubernetes'
//     clusterrole-aggregation-controller role; approve and sign on the built-in signers and
//     SubjectAccessReviews for the CSR controllers (whose /approval and /status writes the
//     first rule covers), as Kubernetes' csrapproving and csrsigning roles.
func controllerManagerRole() *rbac.ClusterRole {
	return clusterRole("system:kube-controller-manager", nil, append([]ruleBuilder{
		verbs("get", "list", "watch", "patch", "update", "delete", "deletecollection").groups("*").resources("*"),
		verbs("create").groups(legacyGroup).resources("pods", "endpoints", "serviceaccounts", "persistentvolumeclaims", "persistentvolumes", "configmaps"),
		verbs("create").groups(appsGroup).resources("replicasets", "controllerrevisions"),
		verbs("create").groups(batchGroup).resources("jobs"),
		verbs("create").groups(discoveryGroup).resources("endpointslices"),
		verbs("create").groups(coordinationGroup).resources("leases"),
		verbs("create").groups(storageGroup).resources("csistoragecapacities"),
		// The clusterrole-aggregation controller writes rules it does not hold itself.
		verbs("escalate").groups(rbac.GroupName).resources("clusterroles"),
		// csrapproving asks whether a requester may have its node certificate, and approves
		// node client requests; csrsigning issues the built-in signers' certificates.
		verbs("create").groups(authorizationGroup).resources("subjectaccessreviews"),
		// kubelet-serving too: csrapproving approves a node's serving certificate for its
		// own name and reported addresses only (Kubernetes leaves those to an administrator;
		// without it a joined node's logs and exec fail TLS verification).
		verbs("approve").groups(certificatesGroup).resources("signers").names("kubernetes.io/kube-apiserver-client-kubelet",
			"kubernetes.io/kubelet-serving"),
		verbs("sign").groups(certificatesGroup).resources("signers").names("kubernetes.io/kube-apiserver-client-kubelet",
			"kubernetes.io/kube-apiserver-client", "kubernetes.io/kubelet-serving"),
	}, eventsRule()...)...)
}

// schedulerRole: the scheduler watches pods, nodes, namespaces, and for spreading services,
// replicasets and statefulsets; it binds pods, writes their status (nominatedNodeName,
// conditions), deletes preemption victims, holds its leader Lease and records events. For
// volume binding it reads claims, volumes and the storage.k8s.io kinds, and annotates claims
// with the node chosen for them (volume.kubernetes.io/selected-node), as Kubernetes' role.
func schedulerRole() *rbac.ClusterRole {
	return clusterRole("system:kube-scheduler", nil, append([]ruleBuilder{
		verbs("get", "list", "watch", "delete").groups(legacyGroup).resources("pods"),
		verbs("create").groups(legacyGroup).resources("pods/binding", "bindings"),
		verbs("patch", "update").groups(legacyGroup).resources("pods/status"),
		verbs(read...).groups(legacyGroup).resources("nodes", "namespaces", "services"),
		verbs(read...).groups(appsGroup).resources("replicasets", "statefulsets"),
		verbs("get", "list", "watch", "patch", "update").groups(legacyGroup).resources("persistentvolumeclaims"),
		verbs("get", "list", "watch", "update").groups(legacyGroup).resources("persistentvolumes"),
		verbs(read...).groups(storageGroup).resources("storageclasses", "csinodes", "csidrivers", "csistoragecapacities"),
		verbs("create").groups(coordinationGroup).resources("leases"),
		verbs("get", "update").groups(coordinationGroup).resources("leases").names("kube-scheduler"),
	}, eventsRule()...)...)
}

// proxierRole: the proxy watches Services and EndpointSlices (and, as Kubernetes' role
// allows, nodes). It also enforces NetworkPolicies, so it watches them and the pods and
// namespaces their selectors pick (what a CNI's policy agent reads in Kubernetes). It
// creates the kube-dns Service, which is granted by a Role in kube-system only (see
// NamespaceRoles).
func proxierRole() *rbac.ClusterRole {
	return clusterRole("system:node-proxier", nil, append([]ruleBuilder{
		verbs("list", "watch").groups(legacyGroup).resources("services", "endpoints"),
		verbs("list", "watch").groups(legacyGroup).resources("pods", "namespaces"),
		verbs("list", "watch").groups(networkingGroup).resources("networkpolicies"),
		verbs(read...).groups(legacyGroup).resources("nodes"),
		verbs("list", "watch").groups(discoveryGroup).resources("endpointslices"),
	}, eventsRule()...)...)
}

// ingressControllerRole: skiff-ingress (one per node) routes by Ingresses of its
// IngressClasses to the ready endpoints of their Services, terminates TLS with the
// certificates of kubernetes.io/tls Secrets named by any Ingress (so it reads Secrets in
// every namespace, as every hostNetwork ingress controller must), reports the nodes'
// addresses in ingresses/status and records events on Ingresses. It has its own identity so
// that the proxy, which runs on the same nodes, never needs to read Secrets.
func ingressControllerRole() *rbac.ClusterRole {
	return clusterRole(IngressUser, nil, append([]ruleBuilder{
		verbs(read...).groups(networkingGroup).resources("ingresses", "ingressclasses"),
		verbs("update", "patch").groups(networkingGroup).resources("ingresses/status"),
		verbs(read...).groups(legacyGroup).resources("services", "secrets", "nodes"),
		verbs(read...).groups(discoveryGroup).resources("endpointslices"),
	}, eventsRule()...)...)
}

// nodeRole is Kubernetes' system:node role, kept for reference and for tools that bind it:
// skiff authorizes node agents with the Node authorizer, which also limits each node to
// its own objects; no binding to this role is created.
func nodeRole() *rbac.ClusterRole {
	return clusterRole("system:node", nil, append([]ruleBuilder{
		verbs("create").groups(authenticationGrp).resources("tokenreviews"),
		verbs("create").groups(authorizationGroup).resources("subjectaccessreviews", "localsubjectaccessreviews"),
		verbs(read...).groups(legacyGroup).resources("services"),
		verbs("create", "get", "list", "watch", "delete", "patch", "update").groups(legacyGroup).resources("nodes"),
		verbs("patch", "update").groups(legacyGroup).resources("nodes/status"),
		verbs(read...).groups(legacyGroup).resources("pods"),
		verbs("create", "delete").groups(legacyGroup).resources("pods"),
		verbs("update", "patch").groups(legacyGroup).resources("pods/status"),
		verbs("create").groups(legacyGroup).resources("pods/eviction"),
		verbs("get", "list", "watch").groups(legacyGroup).resources("configmaps", "secrets"),
		verbs("get").groups(legacyGroup).resources("persistentvolumeclaims", "persistentvolumes", "endpoints"),
		verbs("get", "update", "patch").groups(legacyGroup).resources("persistentvolumeclaims/status"),
		verbs("create").groups(legacyGroup).resources("serviceaccounts/token"),
		verbs("create", "get", "list", "watch").groups(certificatesGroup).resources("certificatesigningrequests"),
		verbs("get", "create", "update", "patch", "delete").groups(coordinationGroup).resources("leases"),
		verbs(read...).groups(schedulingGroup).resources("priorityclasses"),
		verbs(read...).groups(nodeGroup).resources("runtimeclasses"),
	}, eventsRule()...)...)
}

// ClusterRoleBindings are the bootstrap ClusterRoleBindings.
//
// Difference from Kubernetes: system:discovery is bound to system:unauthenticated as well
// as system:authenticated, so anonymous clients may read discovery (/api, /apis, /openapi):
// skiff's issue asks for it (a teaching cluster's users point curl at it). Kubernetes binds
// it to authenticated users only since 1.14.
func ClusterRoleBindings() []*rbac.ClusterRoleBinding {
	return []*rbac.ClusterRoleBinding{
		clusterRoleBinding("cluster-admin", "cluster-admin", groups("system:masters")),
		clusterRoleBinding("system:discovery", "system:discovery", groups("system:authenticated", "system:unauthenticated")),
		clusterRoleBinding("system:public-info-viewer", "system:public-info-viewer", groups("system:authenticated", "system:unauthenticated")),
		clusterRoleBinding("system:basic-user", "system:basic-user", groups("system:authenticated")),
		clusterRoleBinding("system:service-account-issuer-discovery", "system:service-account-issuer-discovery", groups("system:serviceaccounts")),
		clusterRoleBinding("system:kube-controller-manager", "system:kube-controller-manager", users(ControllerManagerUser)),
		clusterRoleBinding("system:kube-scheduler", "system:kube-scheduler", users(SchedulerUser)),
		clusterRoleBinding("system:node-proxier", "system:node-proxier", users(ProxyUser)),
		clusterRoleBinding(IngressUser, IngressUser, users(IngressUser)),
	}
}

// NamespaceRoles are bootstrap Roles, by namespace.
func NamespaceRoles() []*rbac.Role {
	return []*rbac.Role{{
		TypeMeta:   meta.TypeMeta{Kind: "Role", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: objectMeta("kube-system", "system:skiff:kube-dns-service", nil),
		// skiff-proxy creates kube-system/kube-dns if it is missing (proxy.ensureDNSService).
		Rules: rules(verbs("get", "create").groups(legacyGroup).resources("services")),
	}}
}

// NamespaceRoleBindings are bootstrap RoleBindings, by namespace.
func NamespaceRoleBindings() []*rbac.RoleBinding {
	return []*rbac.RoleBinding{{
		TypeMeta:   meta.TypeMeta{Kind: "RoleBinding", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: objectMeta("kube-system", "system:skiff:kube-dns-service", nil),
		RoleRef:    rbac.RoleRef{APIGroup: rbac.GroupName, Kind: "Role", Name: "system:skiff:kube-dns-service"},
		Subjects:   users(ProxyUser),
	}}
}
