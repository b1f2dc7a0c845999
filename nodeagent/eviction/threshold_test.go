package eviction

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      Flags
		want    []string // Threshold.String(), with " min R" for a minimum reclaim
		wantErr string
	}{
		{name: "defaults", in: Flags{Hard: DefaultHard}, want: []string{
			"imagefs.available<15%", "imagefs.inodesFree<5%", "memory.available<100Mi", "nodefs.available<10%",
			"nodefs.inodesFree<5%", "allocatableMemory.available<100Mi"}},
		{name: "kind's: 0% drops a threshold", in: Flags{Hard: "memory.available<100Mi,nodefs.available<0%,imagefs.available<0%,nodefs.inodesFree<0%"},
			want: []string{"memory.available<100Mi", "allocatableMemory.available<100Mi"}},
		{name: "quantities and percentages", in: Flags{Hard: " nodefs.available<1Gi , pid.available<2.5% "},
			want: []string{"nodefs.available<1Gi", "pid.available<2.5%"}},
		{name: "soft with grace and reclaim", in: Flags{Soft: "memory.available<1Gi", SoftGracePeriod: "memory.available=1m30s",
			MinimumReclaim: "memory.available=500Mi"}, want: []string{"memory.available<1Gi for 1m30s min 500Mi"}},
		{name: "none", in: Flags{}, want: []string{}},
		{name: "unknown signal", in: Flags{Hard: "cpu.available<1"}, wantErr: "--eviction-hard: unsupported eviction signal cpu.available"},
		{name: "allocatable is not given", in: Flags{Hard: "allocatableMemory.available<1Gi"}, wantErr: "unsupported eviction signal"},
		{name: "not a pair", in: Flags{Hard: "memory.available=1Gi"}, wantErr: `malformed pair "memory.available=1Gi", expect string<string`},
		{name: "zero quantity", in: Flags{Hard: "memory.available<0"}, wantErr: "eviction threshold memory.available must be positive: 0"},
		{name: "over 100%", in: Flags{Hard: "nodefs.available<101%"}, wantErr: "eviction percentage threshold nodefs.available must be <= 100%: 101%"},
		{name: "negative %", in: Flags{Hard: "nodefs.available<-1%"}, wantErr: "must be >= 0%"},
		{name: "bad quantity", in: Flags{Hard: "memory.available<lots"}, wantErr: "memory.available: quantities must match"},
		{name: "soft without grace", in: Flags{Soft: "memory.available<1Gi"}, wantErr: "grace period must be specified for the soft eviction threshold memory.available"},
		{name: "bad grace", in: Flags{Soft: "memory.available<1Gi", SoftGracePeriod: "memory.available=soon"}, wantErr: "--eviction-soft-grace-period"},
		{name: "negative reclaim", in: Flags{Hard: "memory.available<1Gi", MinimumReclaim: "memory.available=-1Mi"}, wantErr: "negative eviction minimum reclaim specified for memory.available"},
		{name: "twice", in: Flags{Hard: "memory.available<1Gi,memory.available<2Gi"}, wantErr: "signal memory.available given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, th := range ts {
				s := th.String()
				if th.MinReclaim != nil {
					s += " min " + th.MinReclaim.String()
				}
				got = append(got, s)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSoftGracePeriodParsed(t *testing.T) {
	ts, err := Parse(Flags{Soft: "nodefs.available<20%", SoftGracePeriod: "nodefs.available=2m"})
	if err != nil || len(ts) != 1 || ts[0].GracePeriod != 2*time.Minute || ts[0].Hard() {
		t.Fatalf("%+v, %v", ts, err)
	}
}

// Reserved: hard memory.available and nodefs.available come off allocatable, a
// percentage of capacity; soft thresholds and other signals do not.
func TestReserved(t *testing.T) {
	ts, err := Parse(Flags{Hard: "memory.available<100Mi,nodefs.available<10%,imagefs.available<15%", Soft: "memory.available<1Gi", SoftGracePeriod: "memory.available=1m"})
	if err != nil {
		t.Fatal(err)
	}
	r := Reserved(ts, core.ResourceList{core.ResourceMemory: resource.MustParse("4Gi"), core.ResourceEphemeralStorage: resource.MustParse("100Gi")})
	mem, disk := r[core.ResourceMemory], r[core.ResourceEphemeralStorage]
	// 10% as the kubelet computes it: float32(0.1) of the capacity.
	if mem.String() != "100Mi" || disk.Value() != 10737418400 || len(r) != 2 {
		t.Errorf("reserved %v", r)
	}
}
