package core

import (
	"testing"

	"github.com/skiff-sh/skiff/api/resource"
)

func rl(kv ...string) ResourceList {
	out := ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func TestComputePodQOS(t *testing.T) {
	type res = ResourceRequirements
	tests := []struct {
		name string
		init []res
		ctrs []res
		want PodQOSClass
	}{
		{"nothing", nil, []res{{}}, PodQOSBestEffort},
		{"explicit zero request only", nil, []res{{Requests: rl("cpu", "0")}}, PodQOSBestEffort},
		{"explicit zero requests and limits", nil, []res{{Requests: rl("cpu", "0", "memory", "0"), Limits: rl("cpu", "0", "memory", "0")}}, PodQOSBestEffort},
		{"other resources only", nil, []res{{Requests: rl("ephemeral-storage", "1Gi"), Limits: rl("ephemeral-storage", "1Gi")}}, PodQOSBestEffort},
		{"zero cpu beside memory", nil, []res{{Requests: rl("cpu", "0", "memory", "1Gi")}}, PodQOSBurstable},
		{"limits only (requests default to them)", nil, []res{{Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSGuaranteed},
		{"requests equal limits", nil, []res{{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSGuaranteed},
		{"equal in another unit", nil, []res{{Requests: rl("cpu", "1000m", "memory", "1024Mi"), Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSGuaranteed},
		{"requests below limits", nil, []res{{Requests: rl("cpu", "500m"), Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSBurstable},
		{"cpu limit only", nil, []res{{Limits: rl("cpu", "1")}}, PodQOSBurstable},
		{"zero cpu limit", nil, []res{{Limits: rl("cpu", "0", "memory", "1Gi")}}, PodQOSBurstable},
		{"one container without", nil, []res{{Limits: rl("cpu", "1", "memory", "1Gi")}, {}}, PodQOSBurstable},
		{"init container counts", []res{{}}, []res{{Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSBurstable},
		{"all guaranteed with init", []res{{Limits: rl("cpu", "2", "memory", "1Gi")}}, []res{{Limits: rl("cpu", "1", "memory", "1Gi")}}, PodQOSGuaranteed},
		{"only an init container asks", []res{{Requests: rl("memory", "1Gi")}}, []res{{}}, PodQOSBurstable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Pod{}
			for _, r := range tc.init {
				p.Spec.InitContainers = append(p.Spec.InitContainers, Container{Resources: r})
			}
			for _, r := range tc.ctrs {
				p.Spec.Containers = append(p.Spec.Containers, Container{Resources: r})
			}
			if got := ComputePodQOS(p); got != tc.want {
				t.Errorf("ComputePodQOS = %s, want %s", got, tc.want)
			}
			if got := GetPodQOS(p); got != tc.want {
				t.Errorf("GetPodQOS without status = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestGetPodQOSPrefersStatus(t *testing.T) {
	p := &Pod{Status: PodStatus{QOSClass: PodQOSGuaranteed}}
	if got := GetPodQOS(p); got != PodQOSGuaranteed {
		t.Errorf("GetPodQOS = %s, want the recorded Guaranteed", got)
	}
}
