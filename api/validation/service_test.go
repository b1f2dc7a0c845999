package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
)

func validService() *core.Service {
	return &core.Service{
		ObjectMeta: objectMeta("web", "default"),
		Spec: core.ServiceSpec{
			Type:            core.ServiceTypeClusterIP,
			ClusterIP:       "10.96.0.20",
			ClusterIPs:      []string{"10.96.0.20"},
			Selector:        map[string]string{"app": "web"},
			SessionAffinity: core.ServiceAffinityNone,
			Ports: []core.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: core.ProtocolTCP},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt(9090), Protocol: core.ProtocolTCP},
			},
		},
	}
}

func asNodePort(s *core.Service) {
	s.Spec.Type = core.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = 30080
}

func TestValidateService(t *testing.T) {
	runCreateCases(t, validService, true, []objectCase[core.Service]{
		{name: "valid"},
		{name: "no cluster IP yet", mutate: func(s *core.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }},
		{name: "only clusterIP set", mutate: func(s *core.Service) { s.Spec.ClusterIPs = nil }},
		{name: "node port", mutate: asNodePort},
		{name: "headless without ports", mutate: func(s *core.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports = "None", []string{"None"}, nil
		}},
		{name: "external name", mutate: func(s *core.Service) {
			s.Spec = core.ServiceSpec{Type: core.ServiceTypeExternalName, ExternalName: "db.example.com."}
		}},
		{name: "name must be a DNS-1035 label", mutate: func(s *core.Service) { s.Name = "1web" }, want: []string{"metadata.name" + invalid}},
		{name: "ports required", mutate: func(s *core.Service) { s.Spec.Ports = nil }, want: []string{"spec.ports" + required}},
		{name: "port names required when several", mutate: func(s *core.Service) { s.Spec.Ports[1].Name = "" }, want: []string{"spec.ports[1].name" + required}},
		{name: "single port may be unnamed", mutate: func(s *core.Service) { s.Spec.Ports = s.Spec.Ports[:1]; s.Spec.Ports[0].Name = "" }},
		{name: "duplicate port names", mutate: func(s *core.Service) { s.Spec.Ports[1].Name = "http" }, want: []string{"spec.ports[1].name" + duplicate}},
		{name: "duplicate ports", mutate: func(s *core.Service) { s.Spec.Ports[1].Port = 80 }, want: []string{"spec.ports[1]" + duplicate}},
		{name: "port range", mutate: func(s *core.Service) { s.Spec.Ports[0].Port = 0 }, want: []string{"spec.ports[0].port" + invalid}},
		{name: "protocol", mutate: func(s *core.Service) { s.Spec.Ports[0].Protocol = "HTTP" }, want: []string{"spec.ports[0].protocol" + notSupported}},
		{name: "target port number", mutate: func(s *core.Service) { s.Spec.Ports[1].TargetPort = intstr.FromInt(70000) }, want: []string{"spec.ports[1].targetPort" + invalid}},
		{name: "target port name", mutate: func(s *core.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("not--valid") }, want: []string{"spec.ports[0].targetPort" + invalid}},
		{name: "type", mutate: func(s *core.Service) { s.Spec.Type = "Internal" }, want: []string{"spec.type" + notSupported}},
		{name: "node port on ClusterIP", mutate: func(s *core.Service) { s.Spec.Ports[0].NodePort = 30080 }, want: []string{"spec.ports[0].nodePort" + forbidden}},
		{name: "node port range", mutate: func(s *core.Service) { asNodePort(s); s.Spec.Ports[0].NodePort = 80 }, want: []string{"spec.ports[0].nodePort" + invalid}},
		{name: "duplicate node ports", mutate: func(s *core.Service) { asNodePort(s); s.Spec.Ports[1].NodePort = 30080 }, want: []string{"spec.ports[1].nodePort" + duplicate}},
		{name: "headless NodePort", mutate: func(s *core.Service) {
			asNodePort(s)
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"}
		}, want: []string{"spec.clusterIPs[0]" + invalid}},
		{name: "cluster IP syntax", mutate: func(s *core.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0", []string{"10.96.0"} }, want: []string{"spec.clusterIPs[0]" + invalid}},
		{name: "clusterIP and clusterIPs disagree", mutate: func(s *core.Service) { s.Spec.ClusterIPs = []string{"10.96.0.21"} }, want: []string{"spec.clusterIPs" + invalid}},
		{name: "selector", mutate: func(s *core.Service) { s.Spec.Selector["app"] = "web server" }, want: []string{"spec.selector" + invalid}},
		{name: "session affinity", mutate: func(s *core.Service) { s.Spec.SessionAffinity = "Cookie" }, want: []string{"spec.sessionAffinity" + notSupported}},
		{name: "external name needs a name", mutate: func(s *core.Service) {
			s.Spec = core.ServiceSpec{Type: core.ServiceTypeExternalName}
		}, want: []string{"spec.externalName" + required}},
		{name: "external name with cluster IP", mutate: func(s *core.Service) {
			s.Spec.Type, s.Spec.ExternalName = core.ServiceTypeExternalName, "db.example.com"
		}, want: []string{"spec.clusterIPs" + forbidden}},
		{name: "external IP", mutate: func(s *core.Service) { s.Spec.ExternalIPs = []string{"nope"} }, want: []string{"spec.externalIPs[0]" + invalid}},
		{name: "external traffic policy on ClusterIP", mutate: func(s *core.Service) {
			s.Spec.ExternalTrafficPolicy = core.ServiceExternalTrafficPolicyLocal
		}, want: []string{"spec.externalTrafficPolicy" + invalid}},
	})
}

func TestValidateServiceUpdate(t *testing.T) {
	runUpdateCases(t, validService, true, []updateCase[core.Service]{
		{name: "unchanged"},
		{name: "ports and selector", mutate: func(s *core.Service) {
			s.Spec.Ports = s.Spec.Ports[:1]
			s.Spec.Selector = map[string]string{"app": "web2"}
		}},
		{name: "to NodePort", mutate: asNodePort},
		{name: "change cluster IP", mutate: func(s *core.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.21", []string{"10.96.0.21"} }, want: []string{"spec.clusterIPs[0]" + invalid}},
		{name: "unset cluster IP", mutate: func(s *core.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil }, want: []string{"spec.clusterIPs[0]" + invalid}},
		{name: "to ExternalName releases the IP", mutate: func(s *core.Service) {
			s.Spec = core.ServiceSpec{Type: core.ServiceTypeExternalName, ExternalName: "db.example.com"}
		}},
	})

	// ...and an ExternalName service may take an IP when it turns into a ClusterIP one.
	old := validService()
	old.Spec = core.ServiceSpec{Type: core.ServiceTypeExternalName, ExternalName: "db.example.com"}
	wantErrs(t, ValidateUpdate(validService(), old, true))

	s, old := validService(), validService()
	s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.9", []string{"10.96.0.9"}
	got := ValidateUpdate(s, old, true).ToAggregate().Error()
	if want := `spec.clusterIPs[0]: Invalid value: ["10.96.0.9"]: may not change once set`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	s = validService()
	s.Spec.Type = core.ServiceTypeNodePort
	s.Spec.Ports[0].NodePort = 80
	if got := Validate(s, true).ToAggregate().Error(); !strings.Contains(got, "provided port is not in the valid range. The range of valid ports is 30000-32767") {
		t.Errorf("got %s", got)
	}
}
