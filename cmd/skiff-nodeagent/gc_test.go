package main

import (
	"testing"

	"github.com/skiff-sh/skiff/nodeagent/gc"
)

func TestParseEviction(t *testing.T) {
	tests := []struct {
		in      string
		want    gc.Config
		wantErr bool
	}{
		{in: "nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%",
			want: gc.Config{NodeFsMinFreePercent: 10, ImageFsMinFreePercent: 15, InodesMinFreePercent: 5}},
		{in: " imagefs.available<2.5% ", want: gc.Config{ImageFsMinFreePercent: 2.5}},
		{in: "", want: gc.Config{}},
		{in: "memory.available<100Mi", wantErr: true},
		{in: "nodefs.available<1Gi", wantErr: true},
		{in: "nodefs.available=10%", wantErr: true},
		{in: "nodefs.available<0%", wantErr: true},
	}
	for _, tt := range tests {
		var got gc.Config
		err := parseEviction(tt.in, &got)
		same := got.NodeFsMinFreePercent == tt.want.NodeFsMinFreePercent && got.ImageFsMinFreePercent == tt.want.ImageFsMinFreePercent &&
			got.InodesMinFreePercent == tt.want.InodesMinFreePercent
		if (err != nil) != tt.wantErr || err == nil && !same {
			t.Errorf("parseEviction(%q) = %+v, %v; want %+v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
