// Package controller holds what every controller of the controller manager shares, in the
// shape of Kubernetes' pkg/controller: the Context a controller is built from, the worker
// loop over a workqueue with its metrics, pod helpers (active, ready, available, deletion
// ranking), owner references and adoption, pod creation from templates, expectations, and
// discovery of the served resources.
package controller

import (
	"log/slog"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
)

// EventRecorder records Events about objects (kubectl describe shows them). Its methods never
// fail: events are best effort.
type EventRecorder interface {
	Event(obj meta.Object, eventtype, reason, message string)
	Eventf(obj meta.Object, eventtype, reason, messageFmt string, args ...any)
}

// Context is what a controller is built from. One Context is shared by every controller of
// a controller manager, so that informers (and their caches) are shared too.
type Context struct {
	Client    *client.Client
	Informers *informer.Factory
	// Recorder returns the event recorder of one component ("replicaset-controller", ...),
	// the name Events show as their source.
	Recorder func(component string) EventRecorder
	Metrics  *Metrics
	Log      *slog.Logger
	// Workers is how many keys each controller reconciles at once (default 5).
	Workers int
}

// Logger is the log of one controller.
func (cc *Context) Logger(controller string) *slog.Logger {
	l := cc.Log
	if l == nil {
		l = slog.Default()
	}
	return l.With("controller", controller)
}

// WorkerCount is cc.Workers or its default.
func (cc *Context) WorkerCount() int {
	if cc.Workers > 0 {
		return cc.Workers
	}
	return 5
}

// The resources the controllers read and write.
var (
	Pods                   = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	Nodes                  = client.Resource{Version: "v1", Resource: "nodes"}
	Namespaces             = client.Resource{Version: "v1", Resource: "namespaces"}
	Services               = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	Endpoints              = client.Resource{Version: "v1", Resource: "endpoints", Namespaced: true}
	ServiceAccounts        = client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true}
	Secrets                = client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	PersistentVolumeClaims = client.Resource{Version: "v1", Resource: "persistentvolumeclaims", Namespaced: true}
	Events                 = client.Resource{Version: "v1", Resource: "events", Namespaced: true}
	ReplicationControllers = client.Resource{Version: "v1", Resource: "replicationcontrollers", Namespaced: true}
	ReplicaSets            = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "replicasets", Namespaced: true}
	Deployments            = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "deployments", Namespaced: true}
	StatefulSets           = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "statefulsets", Namespaced: true}
	DaemonSets             = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "daemonsets", Namespaced: true}
	ControllerRevisions    = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "controllerrevisions", Namespaced: true}
	Jobs                   = client.Resource{Group: "batch", Version: "v1", Resource: "jobs", Namespaced: true}
	CronJobs               = client.Resource{Group: "batch", Version: "v1", Resource: "cronjobs", Namespaced: true}
	Leases                 = client.Resource{Group: coordination.GroupName, Version: coordination.Version, Resource: "leases", Namespaced: true}
	EndpointSlices         = client.Resource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices", Namespaced: true}
	CSRs                   = client.Resource{Group: certificates.GroupName, Version: certificates.Version, Resource: "certificatesigningrequests"}
)

// Typed informers of the shared factory, one helper per kind so call sites stay short.

func PodInformer(cc *Context) *informer.Informer[core.Pod, *core.Pod] {
	return informer.For[core.Pod](cc.Informers, Pods)
}

func NodeInformer(cc *Context) *informer.Informer[core.Node, *core.Node] {
	return informer.For[core.Node](cc.Informers, Nodes)
}

func NamespaceInformer(cc *Context) *informer.Informer[core.Namespace, *core.Namespace] {
	return informer.For[core.Namespace](cc.Informers, Namespaces)
}

func ServiceInformer(cc *Context) *informer.Informer[core.Service, *core.Service] {
	return informer.For[core.Service](cc.Informers, Services)
}

func EndpointsInformer(cc *Context) *informer.Informer[core.Endpoints, *core.Endpoints] {
	return informer.For[core.Endpoints](cc.Informers, Endpoints)
}

func ServiceAccountInformer(cc *Context) *informer.Informer[core.ServiceAccount, *core.ServiceAccount] {
	return informer.For[core.ServiceAccount](cc.Informers, ServiceAccounts)
}

func PVCInformer(cc *Context) *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim] {
	return informer.For[core.PersistentVolumeClaim](cc.Informers, PersistentVolumeClaims)
}

func ReplicaSetInformer(cc *Context) *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet] {
	return informer.For[apps.ReplicaSet](cc.Informers, ReplicaSets)
}

func DeploymentInformer(cc *Context) *informer.Informer[apps.Deployment, *apps.Deployment] {
	return informer.For[apps.Deployment](cc.Informers, Deployments)
}

func StatefulSetInformer(cc *Context) *informer.Informer[apps.StatefulSet, *apps.StatefulSet] {
	return informer.For[apps.StatefulSet](cc.Informers, StatefulSets)
}

func DaemonSetInformer(cc *Context) *informer.Informer[apps.DaemonSet, *apps.DaemonSet] {
	return informer.For[apps.DaemonSet](cc.Informers, DaemonSets)
}

func ControllerRevisionInformer(cc *Context) *informer.Informer[apps.ControllerRevision, *apps.ControllerRevision] {
	return informer.For[apps.ControllerRevision](cc.Informers, ControllerRevisions)
}

func JobInformer(cc *Context) *informer.Informer[batch.Job, *batch.Job] {
	return informer.For[batch.Job](cc.Informers, Jobs)
}

func CronJobInformer(cc *Context) *informer.Informer[batch.CronJob, *batch.CronJob] {
	return informer.For[batch.CronJob](cc.Informers, CronJobs)
}

func LeaseInformer(cc *Context) *informer.Informer[coordination.Lease, *coordination.Lease] {
	return informer.For[coordination.Lease](cc.Informers, Leases)
}

func EndpointSliceInformer(cc *Context) *informer.Informer[discovery.EndpointSlice, *discovery.EndpointSlice] {
	return informer.For[discovery.EndpointSlice](cc.Informers, EndpointSlices)
}

func CSRInformer(cc *Context) *informer.Informer[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest] {
	return informer.For[certificates.CertificateSigningRequest](cc.Informers, CSRs)
}
