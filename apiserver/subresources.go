package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// The scale subresource reads and writes spec.replicas of any kind that has one
// (Deployment, ReplicaSet, StatefulSet) through an autoscaling/v1 Scale.

func replicasField(obj meta.Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName("Spec").FieldByName("Replicas")
}

func toScale(k *registry.Kind, obj meta.Object) *autoscaling.Scale {
	m := obj.GetObjectMeta()
	sc := &autoscaling.Scale{
		TypeMeta: meta.TypeMeta{Kind: "Scale", APIVersion: "autoscaling/v1"},
		ObjectMeta: meta.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp},
	}
	if k.Custom != nil {
		sc.Spec.Replicas, sc.Status.Replicas, sc.Status.Selector = customToScale(k, obj)
		return sc
	}
	if rf := replicasField(obj); rf.IsValid() && !rf.IsNil() {
		sc.Spec.Replicas = int32(rf.Elem().Int())
	}
	v := reflect.ValueOf(obj).Elem()
	if st := v.FieldByName("Status").FieldByName("Replicas"); st.IsValid() {
		sc.Status.Replicas = int32(st.Int())
	}
	switch sel := v.FieldByName("Spec").FieldByName("Selector").Interface().(type) {
	case *meta.LabelSelector:
		if s, err := labels.SelectorFromLabelSelector(sel); err == nil && sel != nil {
			sc.Status.Selector = s.String()
		}
	case map[string]string: // a ReplicationController's equality selector
		sc.Status.Selector = labels.SelectorFromSet(sel).String()
	}
	return sc
}

func (s *Server) serveScale(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	switch r.verb {
	case "get":
		obj := k.NewStored()
		if err := s.store.Get(req.Context(), k.Key(r.namespace, r.name), obj); err != nil {
			writeError(w, toAPIError(k, r.name, err))
			return
		}
		// The scale paths are the request version's: read them from the object in it.
		obj, aerr := s.toVersion(req.Context(), k, obj)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		writeAPIObject(w, http.StatusOK, toScale(k, obj))
	case "update", "patch":
		body, aerr := s.readBody(w, req)
		if aerr == nil && r.verb == "update" {
			body, aerr = toJSON(req, body)
		}
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		out, aerr := s.applyUpdate(req.Context(), req, r, func(cur meta.Object) (meta.Object, *apiError) {
			sc := toScale(k, cur)
			in := body
			if r.verb == "patch" {
				cj, _ := json.Marshal(sc)
				var aerr *apiError
				if in, aerr = applyPatch(req.Header.Get("Content-Type"), scaleKind, cj, body); aerr != nil {
					return nil, aerr
				}
			}
			var want autoscaling.Scale
			if err := json.Unmarshal(in, &want); err != nil {
				return nil, errBadRequest(decodeMessage(err))
			}
			if want.ResourceVersion != "" && want.ResourceVersion != cur.GetObjectMeta().ResourceVersion {
				return nil, errConflict(k, r.name, errModified)
			}
			if want.Spec.Replicas < 0 {
				return nil, errInvalid(k, r.name, field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), want.Spec.Replicas, "must be greater than or equal to 0")})
			}
			n := want.Spec.Replicas
			before := deepCopy(k, cur)
			if k.Custom != nil {
				customSetReplicas(k, cur, n)
			} else if rf := replicasField(cur); rf.IsValid() {
				rf.Set(reflect.ValueOf(&n))
			}
			cur.GetObjectMeta().Generation++
			s.trackUpdate(req, r, before, cur, nil) // the manager "with subresource scale" owns spec.replicas
			return cur, nil
		})
		if aerr == nil {
			out, aerr = s.toVersion(req.Context(), k, out)
		}
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		writeAPIObject(w, http.StatusOK, toScale(k, out))
	default:
		writeError(w, errMethodNotAllowed(r.verb+" is not supported on scale"))
	}
}

// scaleKind lets a Scale be patched strategically (its type has no list fields, so any kind works).
var scaleKind = &registry.Kind{Kind: "Scale", Type: reflect.TypeFor[autoscaling.Scale]()}

// bind assigns a pod to a node (pods/binding): it sets spec.nodeName, once.
func (s *Server) bind(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	body, aerr := s.readJSON(w, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var b core.Binding
	if err := json.Unmarshal(body, &b); err != nil {
		writeError(w, errBadRequest(decodeMessage(err)))
		return
	}
	if b.Target.Name == "" {
		writeError(w, errInvalid(k, r.name, field.ErrorList{field.Required(field.NewPath("target", "name"), "")}))
		return
	}
	_, aerr = s.applyUpdate(req.Context(), req, r, func(cur meta.Object) (meta.Object, *apiError) {
		p := cur.(*core.Pod)
		if b.UID != "" && b.UID != p.UID {
			return nil, errConflict(k, r.name, fmt.Sprintf("Precondition failed: UID in precondition: %s, UID in object meta: %s", b.UID, p.UID))
		}
		if p.DeletionTimestamp != nil {
			return nil, errConflict(k, r.name, "pod is being deleted, cannot be assigned to a host")
		}
		if p.Spec.NodeName != "" {
			return nil, errConflict(k, r.name, fmt.Sprintf("pod %s is already assigned to node %q", p.Name, p.Spec.NodeName))
		}
		p.Spec.NodeName = b.Target.Name
		for k, v := range b.Annotations {
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations[k] = v
		}
		setPodCondition(&p.Status, core.PodCondition{Type: core.PodScheduled, Status: core.ConditionTrue, LastTransitionTime: meta.Now()})
		return p, nil
	})
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeAPIObject(w, http.StatusCreated, &meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: meta.StatusSuccess, Code: http.StatusCreated})
}

func setPodCondition(st *core.PodStatus, c core.PodCondition) {
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
