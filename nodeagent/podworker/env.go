package podworker

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/fieldpath"
)

// Objects reads the config maps and secrets pods refer to.
type Objects interface {
	ConfigMap(ctx context.Context, namespace, name string) (*core.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*core.Secret, error)
}

// configError is a problem with a container's configuration that its status shows as
// CreateContainerConfigError (a missing config map, secret or key).
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// envContext is what a container's environment is made from.
type envContext struct {
	pod         *core.Pod
	podIP       string
	hostIP      string
	services    []*core.Service // the pod's namespace's, plus default/kubernetes
	objects     Objects
	allocatable core.ResourceList
}

// makeEnv resolves a container's environment as the kubelet does: service variables
// first, then envFrom sources in order, then env entries in order, each expanding
// $(VAR) references to variables defined before it. Later definitions win.
func makeEnv(ctx context.Context, ec *envContext, c *core.Container) ([]string, error) {
	env := map[string]string{}
	var order []string
	put := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	links := ec.pod.Spec.EnableServiceLinks == nil || *ec.pod.Spec.EnableServiceLinks
	for k, v := range serviceEnv(ec.services, ec.pod.Namespace, links) {
		put(k, v)
	}
	sort.Strings(order) // map order is random; keep the result stable
	for _, from := range c.EnvFrom {
		data, err := envFromData(ctx, ec, from)
		if err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := from.Prefix + k
			if !validEnvName(name) {
				continue // Kubernetes skips these too (with an event)
			}
			put(name, data[k])
		}
	}
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			put(e.Name, Expand(e.Value, lookup))
			continue
		}
		v, ok, err := envValueFrom(ctx, ec, c, e.ValueFrom)
		if err != nil {
			return nil, err
		}
		if ok {
			put(e.Name, v)
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

func envFromData(ctx context.Context, ec *envContext, from core.EnvFromSource) (map[string]string, error) {
	ns := ec.pod.Namespace
	switch {
	case from.ConfigMapRef != nil:
		ref := from.ConfigMapRef
		cm, err := ec.objects.ConfigMap(ctx, ns, ref.Name)
		if err != nil {
			if client.IsNotFound(err) {
				if isTrue(ref.Optional) {
					return nil, nil
				}
				return nil, configErrorf("configmap %q not found", ref.Name)
			}
			return nil, err
		}
		return cm.Data, nil
	case from.SecretRef != nil:
		ref := from.SecretRef
		s, err := ec.objects.Secret(ctx, ns, ref.Name)
		if err != nil {
			if client.IsNotFound(err) {
				if isTrue(ref.Optional) {
					return nil, nil
				}
				return nil, configErrorf("secret %q not found", ref.Name)
			}
			return nil, err
		}
		out := make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			out[k] = string(v)
		}
		return out, nil
	}
	return nil, nil
}

// envValueFrom resolves one valueFrom; ok is false for an optional value that is absent.
func envValueFrom(ctx context.Context, ec *envContext, c *core.Container, src *core.EnvVarSource) (string, bool, error) {
	ns := ec.pod.Namespace
	switch {
	case src.FieldRef != nil:
		v, err := fieldpath.PodField(ec.pod, src.FieldRef.FieldPath, ec.podIP, ec.hostIP)
		if err != nil {
			return "", false, configErrorf("%v", err)
		}
		return v, true, nil
	case src.ResourceFieldRef != nil:
		target := c
		if n := src.ResourceFieldRef.ContainerName; n != "" {
			if target = findContainer(ec.pod, n); target == nil {
				return "", false, configErrorf("container %q not found", n)
			}
		}
		v, err := fieldpath.ContainerResource(target, src.ResourceFieldRef, ec.allocatable)
		if err != nil {
			return "", false, configErrorf("%v", err)
		}
		return v, true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := ec.objects.ConfigMap(ctx, ns, ref.Name)
		if err != nil {
			if client.IsNotFound(err) {
				if isTrue(ref.Optional) {
					return "", false, nil
				}
				return "", false, configErrorf("configmap %q not found", ref.Name)
			}
			return "", false, err
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if b, isBin := cm.BinaryData[ref.Key]; isBin {
				return string(b), true, nil
			}
			if isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in ConfigMap %s/%s", ref.Key, ns, ref.Name)
		}
		return v, true, nil
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		s, err := ec.objects.Secret(ctx, ns, ref.Name)
		if err != nil {
			if client.IsNotFound(err) {
				if isTrue(ref.Optional) {
					return "", false, nil
				}
				return "", false, configErrorf("secret %q not found", ref.Name)
			}
			return "", false, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			if isTrue(ref.Optional) {
				return "", false, nil
			}
			return "", false, configErrorf("couldn't find key %s in Secret %s/%s", ref.Key, ns, ref.Name)
		}
		return string(v), true, nil
	}
	return "", false, nil
}

func findContainer(pod *core.Pod, name string) *core.Container {
	for _, list := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	if ec := findEphemeral(pod, name); ec != nil {
		return ephemeralAsContainer(ec)
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

// validEnvName is Kubernetes' rule for env var names: printable ASCII without '=',
// not starting with a digit.
func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if r < 32 || r > 126 || r == '=' {
			return false
		}
	}
	return true
}

// serviceEnv is the Docker-links-style variables of the services visible to a pod: the
// "kubernetes" service of the default namespace always (KUBERNETES_SERVICE_HOST and _PORT are
// how client-go's InClusterConfig finds the API server, so the kubelet sets them even with
// enableServiceLinks false), and, with links, those of the pod's namespace.
func serviceEnv(services []*core.Service, namespace string, links bool) map[string]string {
	env := map[string]string{}
	for _, svc := range services {
		master := svc.Namespace == core.NamespaceDefault && svc.Name == "kubernetes"
		if !master && !(links && svc.Namespace == namespace) {
			continue
		}
		ip := svc.Spec.ClusterIP
		if ip == "" || ip == "None" || len(svc.Spec.Ports) == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(svc.Name, "-", "_"))
		first := svc.Spec.Ports[0]
		env[name+"_SERVICE_HOST"] = ip
		env[name+"_SERVICE_PORT"] = strconv.Itoa(int(first.Port))
		for _, p := range svc.Spec.Ports {
			if p.Name != "" {
				env[name+"_SERVICE_PORT_"+strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))] = strconv.Itoa(int(p.Port))
			}
		}
		proto := strings.ToLower(string(first.Protocol))
		if proto == "" {
			proto = "tcp"
		}
		env[name+"_PORT"] = fmt.Sprintf("%s://%s:%d", proto, ip, first.Port)
		for _, p := range svc.Spec.Ports {
			pr := strings.ToLower(string(p.Protocol))
			if pr == "" {
				pr = "tcp"
			}
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(pr))
			env[prefix] = fmt.Sprintf("%s://%s:%d", pr, ip, p.Port)
			env[prefix+"_PROTO"] = pr
			env[prefix+"_PORT"] = strconv.Itoa(int(p.Port))
			env[prefix+"_ADDR"] = ip
		}
	}
	return env
}

// Expand replaces $(VAR) in s by the value lookup gives; an unknown reference is left as
// written and $$ escapes a $, as in Kubernetes.
func Expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envLookup makes a lookup over KEY=value pairs.
func envLookup(env []string) func(string) (string, bool) {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}
