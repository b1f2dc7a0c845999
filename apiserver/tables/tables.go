// Package tables renders objects as the Table that `kubectl get` prints (server-side printing):
// the columns and cells of Kubernetes' own printers (pkg/printers/internalversion), kind by
// kind, so `kubectl get pods` against skiff reads like it does against Kubernetes.
//
// What kubectl expects of the server:
//
//   - kubectl get asks for a table with
//     Accept: application/json;as=Table;v=v1;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json
//     and answers with an object of kind Table, apiVersion meta.k8s.io/v1 (or v1beta1 when
//     only that was acceptable); with plain JSON kubectl falls back to printing on the client;
//   - it sends includeObject=Object only with --sort-by (it sorts on fields of the object);
//     otherwise the parameter is absent and the server's default, Metadata, applies: each
//     row carries a PartialObjectMetadata, from which kubectl takes the namespace (-A), the
//     labels (--show-labels, -L) and the name (-o name);
//   - the server always renders the wide columns (priority 1); kubectl hides them unless
//     -o wide;
//   - a watch with the Table Accept header streams one Table of one row per event, and only
//     the first event carries columnDefinitions: later ones are built with noHeaders;
//   - AGE and the like are rendered by the server at the time of the response, which is why
//     rows take a "now".
package tables

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
)

// Printer renders one kind.
type Printer struct {
	// Columns are the column definitions; cells come in the same order.
	Columns []meta.TableColumnDefinition
	// Row renders one object of the kind (as a pointer, *core.Pod) into cells, as of now.
	Row func(obj meta.Object, now time.Time) meta.TableRow
}

// includeObject values (Kubernetes' IncludeObjectPolicy).
const (
	IncludeNone     = "None"
	IncludeMetadata = "Metadata"
	IncludeObject   = "Object"
)

// ParseIncludeObject checks the includeObject query parameter; "" means the default,
// Metadata. Kubernetes answers an unknown value with 400 Bad Request.
func ParseIncludeObject(s string) (string, error) {
	switch s {
	case "":
		return IncludeMetadata, nil
	case IncludeNone, IncludeMetadata, IncludeObject:
		return s, nil
	}
	return "", fmt.Errorf("unrecognized includeObject value: %q", s)
}

// For returns the printer of a kind; kinds without one of their own get NAME and AGE.
func For(group, kind string) Printer {
	if p, ok := printers[group+"/"+kind]; ok {
		return p
	}
	return defaultPrinter
}

// Build renders objs as a Table (kind Table, apiVersion meta.k8s.io/v1; the caller changes
// the apiVersion for a v1beta1 request). includeObject says what each row's object holds:
// nothing (None), the object's metadata as a PartialObjectMetadata (Metadata, also for "" and
// unknown values; check them with ParseIncludeObject) or the whole object (Object, which must
// have its TypeMeta set: kubectl decodes it by its kind). noHeaders leaves the column
// definitions out, as on every watch event after the first.
func Build(p Printer, objs []meta.Object, now time.Time, includeObject string, noHeaders bool) *meta.Table {
	t := &meta.Table{
		TypeMeta: meta.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
		Rows:     make([]meta.TableRow, 0, len(objs)),
	}
	if !noHeaders {
		t.ColumnDefinitions = p.Columns
	}
	for _, obj := range objs {
		row := p.Row(obj, now)
		switch includeObject {
		case IncludeNone:
			row.Object = nil
		case IncludeObject:
			row.Object = marshal(obj)
		default:
			row.Object = marshal(&meta.PartialObjectMetadata{
				TypeMeta:   meta.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
				ObjectMeta: *obj.GetObjectMeta(),
			})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// marshal encodes an API object; they all encode, so a failure leaves the row without one.
func marshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// printer adapts a row function of one concrete kind. An object of another type (a caller's
// mistake) still gets a row that lines up with the columns: its name, the rest blank.
func printer[T any](columns []meta.TableColumnDefinition, row func(obj *T, now time.Time) meta.TableRow) Printer {
	return Printer{Columns: columns, Row: func(obj meta.Object, now time.Time) meta.TableRow {
		if o, ok := any(obj).(*T); ok {
			return row(o, now)
		}
		cells := make([]any, len(columns))
		for i, c := range columns {
			cells[i] = ""
			if c.Format == "name" {
				cells[i] = obj.GetObjectMeta().Name
			}
		}
		return meta.TableRow{Cells: cells}
	}}
}

// Column definitions, in Kubernetes' words.
func column(name, typ, desc string) meta.TableColumnDefinition {
	return meta.TableColumnDefinition{Name: name, Type: typ, Description: desc}
}

// wide is a column kubectl shows only with -o wide.
func wide(name, typ, desc string) meta.TableColumnDefinition {
	c := column(name, typ, desc)
	c.Priority = 1
	return c
}

var (
	nameColumn = meta.TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated."}
	ageColumn = column("Age", "string",
		"CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.")
	containersColumn = wide("Containers", "string", "Names of each container in the template.")
	imagesColumn     = wide("Images", "string", "Images referenced by each container in the template.")
)

// defaultPrinter is the table of a kind without a printer of its own. (Kubernetes' default
// has a "Created At" date column; kubectl users expect AGE.)
var defaultPrinter = Printer{
	Columns: []meta.TableColumnDefinition{nameColumn, ageColumn},
	Row: func(obj meta.Object, now time.Time) meta.TableRow {
		m := obj.GetObjectMeta()
		return meta.TableRow{Cells: []any{m.Name, age(m.CreationTimestamp, now)}}
	},
}

// printers holds the kinds with printers of their own, by "group/Kind".
var printers = map[string]Printer{
	"/Pod":                            podPrinter,
	"/PodTemplate":                    podTemplatePrinter,
	"/Namespace":                      namespacePrinter,
	"/Node":                           nodePrinter,
	"/Service":                        servicePrinter,
	"/Endpoints":                      endpointsPrinter,
	"/ConfigMap":                      configMapPrinter,
	"/Secret":                         secretPrinter,
	"/ServiceAccount":                 serviceAccountPrinter,
	"/Event":                          eventPrinter,
	"/PersistentVolume":               persistentVolumePrinter,
	"/PersistentVolumeClaim":          persistentVolumeClaimPrinter,
	"/ResourceQuota":                  resourceQuotaPrinter,
	"apps/Deployment":                 deploymentPrinter,
	"apps/ReplicaSet":                 replicaSetPrinter,
	"/ReplicationController":          replicationControllerPrinter,
	"apps/StatefulSet":                statefulSetPrinter,
	"apps/DaemonSet":                  daemonSetPrinter,
	"apps/ControllerRevision":         controllerRevisionPrinter,
	"batch/Job":                       jobPrinter,
	"batch/CronJob":                   cronJobPrinter,
	"coordination.k8s.io/Lease":       leasePrinter,
	"discovery.k8s.io/EndpointSlice":  endpointSlicePrinter,
	"scheduling.k8s.io/PriorityClass": priorityClassPrinter,
	"node.k8s.io/RuntimeClass":        runtimeClassPrinter,
	"flowcontrol.apiserver.k8s.io/FlowSchema":                 flowSchemaPrinter,
	"flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": priorityLevelPrinter,
	"storage.k8s.io/StorageClass":                             storageClassPrinter,
	"storage.k8s.io/VolumeAttachment":                         volumeAttachmentPrinter,
	"storage.k8s.io/CSINode":                                  csiNodePrinter,
	"storage.k8s.io/CSIDriver":                                csiDriverPrinter,
	"storage.k8s.io/CSIStorageCapacity":                       csiStorageCapacityPrinter,
	"policy/PodDisruptionBudget":                              podDisruptionBudgetPrinter,
	"autoscaling/HorizontalPodAutoscaler":                     horizontalPodAutoscalerPrinter,
	"networking.k8s.io/NetworkPolicy":                         networkPolicyPrinter,
	"networking.k8s.io/ServiceCIDR":                           serviceCIDRPrinter,
	"networking.k8s.io/IPAddress":                             ipAddressPrinter,
	"networking.k8s.io/Ingress":                               ingressPrinter,
	"networking.k8s.io/IngressClass":                          ingressClassPrinter,
	"certificates.k8s.io/CertificateSigningRequest":           certificateSigningRequestPrinter,
	"rbac.authorization.k8s.io/Role":                          rolePrinter,
	"rbac.authorization.k8s.io/ClusterRole":                   clusterRolePrinter,
	"rbac.authorization.k8s.io/RoleBinding":                   roleBindingPrinter,
	"rbac.authorization.k8s.io/ClusterRoleBinding":            clusterRoleBindingPrinter,

	// admissionregistration.k8s.io
	"admissionregistration.k8s.io/MutatingWebhookConfiguration":     mutatingWebhookConfigurationPrinter,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration":   validatingWebhookConfigurationPrinter,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy":        validatingAdmissionPolicyPrinter,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": validatingAdmissionPolicyBindingPrinter,
}

// age is the AGE cell of a timestamp: "<unknown>" when unset.
func age(t meta.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.Time))
}

func microAge(t meta.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return HumanDuration(now.Sub(t.Time))
}

// HumanDuration is Kubernetes' duration.HumanDuration: about two significant figures
// ("45s", "3m2s", "5h", "2d3h", "3y"). Up to a second in the future counts as now (clocks
// differ); further is "<invalid>".
func HumanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		if s := int(d/time.Second) % 60; s != 0 {
			return fmt.Sprintf("%dm%ds", minutes, s)
		}
		return fmt.Sprintf("%dm", minutes)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	if hours < 8 {
		if m := int(d/time.Minute) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", hours, m)
		}
		return fmt.Sprintf("%dh", hours)
	} else if hours < 48 {
		return fmt.Sprintf("%dh", hours)
	} else if hours < 24*8 {
		if h := hours % 24; h != 0 {
			return fmt.Sprintf("%dd%dh", hours/24, h)
		}
		return fmt.Sprintf("%dd", hours/24)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%dd", hours/24)
	} else if hours < 24*365*8 {
		if dy := hours / 24 % 365; dy != 0 {
			return fmt.Sprintf("%dy%dd", hours/24/365, dy)
		}
		return fmt.Sprintf("%dy", hours/24/365)
	}
	return fmt.Sprintf("%dy", hours/24/365)
}
