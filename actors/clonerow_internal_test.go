package actors

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"keel/store/storepb"
)

// benchRow is a load balancer row as a create stores it.
var benchRow = &storepb.LoadBalancer{
	Id: "4ad3c1f6-5b0e-4c55-9a9e-0a6f4b2f7d10", ProjectId: "e3cd678b11784734bc366148aa37580e", Name: "lb-1",
	Description: "bench", AdminStateUp: true, ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE",
	VipAddress: "127.1.0.7", VipPortId: "0b9bfa5e-8ac4-4f3b-9a3e-5b6f1a2c3d4e", VipSubnetId: "c0d3f2a1-7e6b-4c5d-8a9b-1e2f3a4b5c6d",
	VipNetworkId: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", Provider: "amphora", Topology: "SINGLE",
	Tags: []string{"a", "b"}, CreatedAt: 1764600000000000, UpdatedAt: 1764600000000000, Version: 3,
}

func TestCloneRowCopies(t *testing.T) {
	c := cloneRow(benchRow)
	if c == benchRow || !proto.Equal(c, benchRow) {
		t.Fatalf("cloneRow: same pointer or different row: %v", c)
	}
	c.Tags[0] = "changed"
	if benchRow.Tags[0] != "a" {
		t.Fatal("cloneRow shares the tags slice with the original")
	}
	var none *storepb.LoadBalancer
	if cloneRow(none) != nil {
		t.Fatal("cloneRow(nil) is not nil")
	}
}

// BenchmarkCloneRow: the generated copy against proto.Clone's reflection, for
// the row a create clones two or three times.
func BenchmarkCloneRow(b *testing.B) {
	b.Run("cloneRow", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = cloneRow(benchRow)
		}
	})
	b.Run("proto.Clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = proto.Clone(benchRow).(*storepb.LoadBalancer)
		}
	})
}
